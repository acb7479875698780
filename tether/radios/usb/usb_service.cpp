#include "tether/radios/usb/usb_service.h"

#include <algorithm>
#include <tuple>

#include "tether/base/ip.h"
#include "tether/base/log.h"

namespace tetherd {

namespace asio = boost::asio;
using usb::Function;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

// The [usb] settings that make the gadget what it is: a change re-makes it.
auto usbKey(const Config& c) {
  return std::tie(c.usbGadget, c.usbUdc, c.usbVendorId, c.usbProductId, c.usbManufacturer, c.usbProduct, c.usbSerial,
                  c.usbGadgetName, c.usbHostAddr, c.usbDevAddr);
}

}  // namespace

Result<usb::GadgetSettings> gadgetSettingsFrom(const Config& config, const std::string& seed) {
  auto functions = usb::parseFunctions(config.usbGadget);
  if (!functions) return functions.error();
  usb::GadgetSettings s;
  s.name = config.usbGadgetName;
  s.functions = *functions;
  s.vendorId = static_cast<uint16_t>(config.usbVendorId);
  s.productId = static_cast<uint16_t>(config.usbProductId);
  s.manufacturer = config.usbManufacturer;
  s.product = config.usbProduct;
  s.serial = config.usbSerial.empty() ? usb::deriveSerial(seed) : config.usbSerial;
  for (size_t i = 0; i < s.functions.size(); ++i) {
    usb::FunctionAddrs a;
    if (!config.usbHostAddr.empty()) {
      a.host = usb::offsetMac(config.usbHostAddr, static_cast<unsigned>(i));
      a.dev = usb::offsetMac(config.usbDevAddr, static_cast<unsigned>(i));
    } else {
      const std::string label = s.name + "/" + std::to_string(i) + "/";
      a.host = usb::deriveMac(seed, label + "host");
      a.dev = usb::deriveMac(seed, label + "dev");
    }
    s.addrs.push_back(std::move(a));
  }
  if (auto st = usb::validate(s); !st) return st.error();
  return s;
}

// =========================================================================================
// EcmCarrierQuirk

EcmCarrierQuirk::EcmCarrierQuirk(asio::io_context& io, Netlink& netlink, std::chrono::milliseconds grace)
    : io_(io), netlink_(netlink), grace_(grace) {}

EcmCarrierQuirk::~EcmCarrierQuirk() { clear(); }

void EcmCarrierQuirk::watch(const std::vector<std::string>& ifnames) {
  for (const auto& n : ifnames) {
    if (n.empty()) continue;
    auto& w = watches_[n];
    if (!w.timer) w.timer = std::make_unique<asio::steady_timer>(io_);
    w.bounced = false;
    arm(n, w);  // fire() looks at the link as it is then
  }
}

void EcmCarrierQuirk::clear() {
  for (auto& [n, w] : watches_)
    if (w.timer) w.timer->cancel();
  watches_.clear();
}

std::vector<std::string> EcmCarrierQuirk::watched() const {
  std::vector<std::string> out;
  for (const auto& [n, w] : watches_) out.push_back(n);
  return out;
}

void EcmCarrierQuirk::onNetEvent(const NetEvent& e) {
  if (e.type != NetEvent::Type::LinkAdded && e.type != NetEvent::Type::LinkChanged && e.type != NetEvent::Type::LinkRemoved)
    return;
  auto it = watches_.find(e.link.name);
  if (it == watches_.end()) return;
  Watch& w = it->second;
  if (e.type == NetEvent::Type::LinkRemoved || e.link.lowerUp) {
    w.timer->cancel();
    w.armed = false;
    if (e.link.lowerUp) w.bounced = false;  // a later loss of carrier may be bounced again
    return;
  }
  if (e.link.adminUp && !w.bounced && !w.armed) arm(e.link.name, w);
}

void EcmCarrierQuirk::arm(const std::string& ifname, Watch& w) {
  w.armed = true;
  w.timer->expires_after(grace_);
  w.timer->async_wait([this, ifname](boost::system::error_code ec) {
    if (!ec) fire(ifname);
  });
}

void EcmCarrierQuirk::fire(const std::string& ifname) {
  auto it = watches_.find(ifname);
  if (it == watches_.end()) return;
  Watch& w = it->second;
  w.armed = false;
  if (w.bounced) return;
  auto links = netlink_.links();
  if (!links) {
    log::warning("usb gadget: ", ifname, ": cannot read its state: ", links.error().message);
    return;
  }
  auto l = std::find_if(links->begin(), links->end(), [&](const LinkInfo& x) { return x.name == ifname; });
  // Down (not tethered yet) or with carrier: nothing to do. Missing: not created yet.
  if (l == links->end() || !l->adminUp || l->lowerUp) return;
  log::notice("usb gadget: ", ifname, " (ECM) is up without carrier ", grace_.count(), " ms on: taking it down and up once");
  w.bounced = true;
  ++bounces_;
  if (auto st = netlink_.setLinkUp(ifname, false); !st) {
    log::warning("usb gadget: ", ifname, ": ", st.error().message);
    return;
  }
  if (auto st = netlink_.setLinkUp(ifname, true); !st) log::warning("usb gadget: ", ifname, ": ", st.error().message);
}

// =========================================================================================
// UsbGadgetService

const char* UsbGadgetService::stateName(State s) {
  switch (s) {
    case State::Off: return "off";
    case State::Failed: return "failed";
    case State::WaitingForUdc: return "waiting-for-udc";
    case State::Bound: return "bound";
    case State::Unbound: return "unbound";
  }
  return "?";
}

UsbGadgetService::UsbGadgetService(asio::io_context& io, Netlink& netlink, usb::GadgetFs& fs, const Config& config,
                                   UsbPaths paths, UsbTiming timing)
    : fs_(fs),
      config_(config),
      paths_(std::move(paths)),
      timing_(timing),
      retry_(io),
      quirk_(io, netlink, timing.carrierGrace) {}

UsbGadgetService::~UsbGadgetService() { retry_.cancel(); }

void UsbGadgetService::fail(const Error& e) {
  state_ = State::Failed;
  error_ = e.message;
  log::error(e.message);
}

Status UsbGadgetService::start() {
  retry_.cancel();
  error_.clear();
  const std::string dir = paths_.configfs + "/" + config_.usbGadgetName;
  // A previous run's gadget (a crash, or other settings): removed first, whatever it is.
  if (fs_.exists(dir)) {
    auto stale = usb::existingGadgetRemovalOps(fs_, paths_.configfs, config_.usbGadgetName);
    if (!stale) {
      fail(stale.error());
      return stale.error();
    }
    log::notice("usb gadget: removing the gadget a previous run left in ", dir);
    if (auto st = usb::applyAll(fs_, paths_.configfs, *stale); !st) {
      Error e{st.error().code, st.error().message + " (removing a previous run's gadget)"};
      fail(e);
      return e;
    }
  }
  if (config_.usbGadget == "none") {
    state_ = State::Off;
    return {};
  }
  if (auto st = create(); !st) {
    fail(st.error());
    return st;
  }
  (void)tryBind();  // no UDC yet is not a failure of start: retried
  return {};
}

Status UsbGadgetService::create() {
  if (!fs_.exists(paths_.configfs))
    return makeError(Errc::Unsupported, "usb gadget: " + paths_.configfs +
                                            " does not exist (configfs not mounted at /sys/kernel/config, or no "
                                            "libcomposite in this kernel)");
  std::string seed;
  if (auto id = fs_.read(paths_.machineId); id && !trim(*id).empty()) {
    seed = trim(*id);
  } else if (auto boot = fs_.read(paths_.bootId); boot && !trim(*boot).empty()) {
    seed = trim(*boot);
    if (config_.usbHostAddr.empty() || config_.usbSerial.empty())
      log::warning("usb gadget: no ", paths_.machineId, ": MAC addresses and serial number derived from this boot's id "
                   "change at reboot (set [usb] host_addr, dev_addr and serial to keep them)");
  } else {
    return makeError(Errc::NotFound, "usb gadget: neither " + paths_.machineId + " nor " + paths_.bootId +
                                         " can be read: set [usb] host_addr, dev_addr and serial");
  }
  auto settings = gadgetSettingsFrom(config_, seed);
  if (!settings) return makeError(settings.error().code, "usb gadget: " + settings.error().message);
  auto ops = usb::gadgetOps(*settings);
  if (!ops) return makeError(ops.error().code, "usb gadget: " + ops.error().message);
  if (auto st = usb::applyOps(fs_, paths_.configfs, *ops); !st) return st;
  settings_ = std::move(*settings);
  ops_ = std::move(*ops);
  ifnames_.assign(settings_.functions.size(), "");
  state_ = State::Unbound;
  log::info("usb gadget: created ", paths_.configfs, "/", settings_.name, " (", usb::functionsText(settings_.functions), ")");
  return {};
}

Status UsbGadgetService::tryBind() {
  auto udcs = usb::listUdcs(fs_, paths_.udcDir);
  Result<std::string> udc = udcs ? usb::chooseUdc(config_.usbUdc, *udcs) : Result<std::string>(udcs.error());
  Status st;
  if (udc) st = usb::applyOps(fs_, paths_.configfs, {usb::bindOp(settings_.name, *udc)});
  if (udc && st) {
    state_ = State::Bound;
    udc_ = *udc;
    error_.clear();
    log::notice("usb gadget: ", settings_.name, " bound to ", udc_);
    refreshInterfaces();
    std::vector<std::string> ecm;
    for (size_t i = 0; i < settings_.functions.size(); ++i)
      if (settings_.functions[i] == Function::Ecm) ecm.push_back(ifnames_[i]);
    quirk_.watch(ecm);
    return {};
  }
  Error e = udc ? st.error() : udc.error();
  if (e.message != error_) log::warning("usb gadget: cannot bind ", settings_.name, ": ", e.message, " (retrying)");
  error_ = e.message;
  state_ = State::WaitingForUdc;
  scheduleBindRetry();
  return e;
}

void UsbGadgetService::scheduleBindRetry() {
  retry_.expires_after(timing_.udcRetry);
  retry_.async_wait([this](boost::system::error_code ec) {
    if (!ec && state_ == State::WaitingForUdc) (void)tryBind();
  });
}

void UsbGadgetService::refreshInterfaces() {
  for (size_t i = 0; i < settings_.functions.size() && i < ifnames_.size(); ++i) {
    auto v = fs_.read(paths_.configfs + "/" + usb::functionDir(settings_, i) + "/ifname");
    std::string name = v ? trim(*v) : "";
    ifnames_[i] = validIfname(name) ? name : "";  // "(unnamed net_device)" before the first bind
  }
}

void UsbGadgetService::stop() {
  retry_.cancel();
  quirk_.clear();
  if (ops_.empty()) {
    state_ = State::Off;
    return;
  }
  std::vector<usb::Op> remove;
  if (state_ == State::Bound) remove.push_back(usb::unbindOp(settings_.name));
  for (auto& op : usb::removalOps(ops_)) remove.push_back(std::move(op));
  auto st = usb::applyAll(fs_, paths_.configfs, remove);
  if (!st) {
    // Someone changed the tree under us: remove whatever is there now.
    log::warning(st.error().message, ": removing what is there");
    if (auto again = usb::existingGadgetRemovalOps(fs_, paths_.configfs, settings_.name); again)
      if (auto st2 = usb::applyAll(fs_, paths_.configfs, *again); !st2) log::error(st2.error().message);
  } else {
    log::info("usb gadget: ", settings_.name, " unbound and removed");
  }
  ops_.clear();
  udc_.clear();
  ifnames_.clear();
  state_ = State::Off;
}

void UsbGadgetService::reconfigure(const Config& config) {
  if (usbKey(config) == usbKey(config_)) return;
  log::notice("usb gadget: [usb] settings changed: re-making the gadget");
  stop();
  config_ = config;
  if (auto st = start(); !st) log::error("usb gadget: ", st.error().message);
}

void UsbGadgetService::onNetEvent(const NetEvent& e) {
  if (state_ == State::Bound && e.type == NetEvent::Type::LinkAdded &&
      std::find(ifnames_.begin(), ifnames_.end(), "") != ifnames_.end()) {
    refreshInterfaces();
    std::vector<std::string> fresh;
    auto watched = quirk_.watched();
    for (size_t i = 0; i < settings_.functions.size(); ++i)
      if (settings_.functions[i] == Function::Ecm && !ifnames_[i].empty() &&
          std::find(watched.begin(), watched.end(), ifnames_[i]) == watched.end())
        fresh.push_back(ifnames_[i]);
    quirk_.watch(fresh);
  }
  quirk_.onNetEvent(e);
}

Status UsbGadgetService::bind() {
  if (state_ == State::Bound) return makeError(Errc::AlreadyExists, "usb gadget: already bound to " + udc_);
  if (state_ != State::Unbound && state_ != State::WaitingForUdc)
    return makeError(Errc::NotFound, std::string("usb gadget: no gadget to bind (state ") + stateName(state_) + ")");
  retry_.cancel();
  return tryBind();
}

Status UsbGadgetService::unbind() {
  if (state_ == State::WaitingForUdc) {
    retry_.cancel();
    state_ = State::Unbound;
    return {};
  }
  if (state_ != State::Bound) return makeError(Errc::NotFound, std::string("usb gadget: not bound (state ") + stateName(state_) + ")");
  if (auto st = usb::applyOps(fs_, paths_.configfs, {usb::unbindOp(settings_.name)}); !st) return st;
  quirk_.clear();
  log::notice("usb gadget: ", settings_.name, " unbound from ", udc_);
  udc_.clear();
  state_ = State::Unbound;
  return {};
}

Status UsbGadgetService::replug(std::chrono::milliseconds gap) {
  if (state_ != State::Bound) return makeError(Errc::NotFound, std::string("usb gadget: not bound (state ") + stateName(state_) + ")");
  if (auto st = unbind(); !st) return st;
  // The retry timer: a `usb bind` meanwhile, or a stop, cancels the rebind.
  retry_.expires_after(gap);
  retry_.async_wait([this](boost::system::error_code ec) {
    if (ec || state_ != State::Unbound) return;
    if (auto st = bind(); !st) log::warning("usb gadget: bind after replug: ", st.error().message);
  });
  return {};
}

UsbGadgetService::View UsbGadgetService::status() {
  if (state_ == State::Bound && std::find(ifnames_.begin(), ifnames_.end(), "") != ifnames_.end()) refreshInterfaces();
  View v;
  v.state = state_;
  v.functions = config_.usbGadget;
  v.name = config_.usbGadgetName;
  v.udc = udc_;
  v.vendorId = static_cast<uint16_t>(config_.usbVendorId);
  v.productId = static_cast<uint16_t>(config_.usbProductId);
  for (size_t i = 0; i < settings_.functions.size() && !ops_.empty(); ++i)
    v.interfaces.emplace_back(usb::functionName(settings_.functions[i]), i < ifnames_.size() ? ifnames_[i] : "");
  v.carrierBounces = quirk_.bounces();
  v.error = error_;
  return v;
}

}  // namespace tetherd
