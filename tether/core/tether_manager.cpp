#include "tether/core/tether_manager.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <sstream>

#include "tether/core/address_plan.h"
#include "tether/base/files.h"
#include "tether/base/log.h"

namespace tetherd {

namespace asio = boost::asio;
using IState = TetherInterfaceMachine::State;
using MState = TetherMasterMachine::State;

namespace {

struct Downstream {
  Downstream(const std::string& name, IfaceKind k, InterfaceActions& actions, const Config& cfg, asio::io_context& io,
             bool waitForReady)
      : ifname(name), kind(k), timer(io),
        machine(std::make_unique<TetherInterfaceMachine>(name, actions, cfg.startTimeoutMs, waitForReady)) {}
  std::string ifname;
  IfaceKind kind;
  asio::steady_timer timer;
  std::optional<Ipv4Prefix> address;  // configured address/len
  std::unique_ptr<TetherInterfaceMachine> machine;
};

}  // namespace

struct TetherManager::Impl : MasterActions, InterfaceActions {
  Impl(ManagerDeps d, DhcpService& dh, const Config& c, EventSink ev)
      : deps(d), dhcp(dh), config(c), events(std::move(ev)), ipfwd(d.sysctl, c.runDir + "/ip_forward.orig"),
        masterTimer(d.io), firewallRetry(d.io), master(*this, c.startTimeoutMs) {
    priority = config.upstreamPriority;
  }

  // ---------------------------------------------------------------- state
  ManagerDeps deps;
  DhcpService& dhcp;
  Config config;
  EventSink events;
  IpForwarding ipfwd;
  asio::steady_timer masterTimer;
  asio::steady_timer firewallRetry;
  int firewallRetries = 0;
  bool resetPending = false;  // a reset() the xtables lock refused: retried by applyFirewall()
  TetherMasterMachine master;
  bool enabled = false;
  bool stopping = false;
  std::map<std::string, std::unique_ptr<Downstream>> downstreams;
  std::set<std::string> requested;   // explicitly added (tether interface add), survives unplug
  std::set<std::string> unrequested; // explicitly removed auto-tether interfaces
  std::set<std::string> forwarding;  // downstreams whose NAT is on
  std::set<NatPair> manualNat;       // `nat enable <int> <ext>`
  std::map<std::string, LinkInfo> linksByName;
  std::vector<AddrInfo> addrs;
  std::vector<DefaultRoute> routes;
  std::optional<std::string> upstream;
  std::vector<std::string> priority;
  std::vector<Ipv4Address> dnsOverride;
  std::set<uint16_t> adminPorts;     // the web admin's port(s), dropped on upstreams
  std::set<std::string> blocked;     // blocked client MACs (state_dir/blocked-clients)
  AccessPoint* ap = nullptr;

  std::string addressStateFile() const { return config.runDir + "/downstream-addresses"; }
  std::string blockedFile() const { return config.stateDir + "/blocked-clients"; }

  // Blocked clients are dropped on every configured downstream (one with its address on).
  std::set<std::string> servedDownstreams() const {
    std::set<std::string> out;
    for (const auto& [n, d] : downstreams)
      if (d->address) out.insert(n);
    return out;
  }
  bool blockRulesNeeded() const { return !blocked.empty() && !servedDownstreams().empty(); }
  bool nothingWanted() const {
    return !enabled && manualNat.empty() && forwarding.empty() && adminPorts.empty() && !blockRulesNeeded();
  }
  // After the set of served downstreams changed: the block rules follow it (a no-op without
  // blocked clients).
  Status refreshBlocks() {
    if (blocked.empty() || stopping) return {};
    if (nothingWanted()) resetPending = true;  // the last served downstream went: rules go
    return applyFirewall();
  }

  void loadBlocked() {
    auto text = readFile(blockedFile(), 64 * 1024);
    if (!text) return;  // none yet
    std::istringstream in(*text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty() || line[0] == '#') continue;
      auto mac = normalizeMac(line);
      if (!mac) {
        log::warning(blockedFile(), ":", n, ": not a MAC address, ignored");
        continue;
      }
      blocked.insert(*mac);
    }
    if (!blocked.empty()) log::info(blocked.size(), " blocked client(s) from ", blockedFile());
  }
  static std::string formatBlocked(const std::set<std::string>& macs) {
    std::string text;
    for (const auto& mac : macs) text += mac + "\n";
    return text;
  }

  void emit(const Event& e) {
    if (events) events(e);
  }

  Downstream* find(const std::string& ifname) {
    auto it = downstreams.find(ifname);
    return it == downstreams.end() ? nullptr : it->second.get();
  }

  // ---------------------------------------------------------------- kernel view
  Status dumpKernel() {
    auto l = deps.netlink.links();
    if (!l) return l.error();
    auto a = deps.netlink.addresses();
    if (!a) return a.error();
    auto r = deps.netlink.defaultRoutes();
    if (!r) return r.error();
    linksByName.clear();
    for (auto& li : *l) linksByName[li.name] = li;
    addrs = std::move(*a);
    routes = std::move(*r);
    return {};
  }

  bool linkUp(const std::string& name) const {
    auto it = linksByName.find(name);
    return it != linksByName.end() && it->second.adminUp && it->second.lowerUp;
  }

  std::vector<Ipv4Address> upstreamDns(const std::string& ifname) const {
    auto it = config.upstreamDns.find(ifname);
    if (it != config.upstreamDns.end() && !it->second.empty()) return it->second;
    auto text = readFile(config.resolvFile, 64 * 1024);
    return text ? parseResolvConf(*text) : std::vector<Ipv4Address>{};
  }

  std::map<std::string, UpstreamView> upstreamViews() const {
    std::map<std::string, UpstreamView> views;
    for (const auto& name : priority) {
      UpstreamView v;
      v.ifname = name;
      v.exists = linksByName.count(name) > 0;
      v.up = linkUp(name);
      v.defaultRoute = std::any_of(routes.begin(), routes.end(), [&](const DefaultRoute& r) { return r.ifname == name; });
      v.dns = upstreamDns(name);
      views[name] = v;
    }
    return views;
  }

  void recomputeUpstream() {
    auto chosen = chooseUpstream(priority, upstreamViews());
    if (chosen == upstream) return;
    log::notice("upstream: ", upstream.value_or("none"), " -> ", chosen.value_or("none"));
    upstream = chosen;
    emit({events::UpstreamChanged{upstream}});
    if (master.state() == MState::TetherModeAlive) master.upstreamChanged();
    else (void)applyFirewall();
  }

  // ---------------------------------------------------------------- wanting and reconciling
  bool wanted(const Downstream& d) const {
    if (!enabled || stopping || !linksByName.count(d.ifname)) return false;
    if (requested.count(d.ifname)) return true;
    if (unrequested.count(d.ifname)) return false;
    return config.kind(d.kind).autoTether;
  }

  // A downstream record exists for every present interface that matches a kind pattern or
  // was asked for explicitly.
  void track(const std::string& ifname) {
    if (find(ifname)) return;
    IfaceKind kind = IfaceKind::Ethernet;
    bool matches = config.kindOf(ifname, kind);
    if (!matches && !requested.count(ifname)) return;
    if (std::find(priority.begin(), priority.end(), ifname) != priority.end()) return;  // an upstream
    bool isAp = ap && ap->isApInterface(ifname);
    downstreams[ifname] = std::make_unique<Downstream>(ifname, kind, *this, config, deps.io, isAp);
  }

  // retryFailed: also start again a downstream whose last attempt failed (on `tether start`,
  // after an explicit add); otherwise a failed one waits for its link to come back.
  void reconcile(Downstream& d, bool retryFailed = false) {
    auto s = d.machine->state();
    bool want = wanted(d);
    if (want && (s == IState::Initial || (retryFailed && s == IState::Failed))) {
      if (master.state() != MState::TetherModeAlive) return;  // waits for the master
      d.machine->tetherRequested();
    } else if (!want && (s == IState::Starting || s == IState::Tethered || s == IState::Failed)) {
      d.machine->tetherUnrequested();
    }
  }

  void reconcileAll(bool retryFailed = false) {
    std::vector<std::string> names;
    for (auto& [n, d] : downstreams) names.push_back(n);
    for (auto& n : names)
      if (auto* d = find(n)) reconcile(*d, retryFailed);
  }

  // The interface is gone: its machine goes Unavailable (terminal) and the record is dropped
  // after the current event has been handled.
  void forget(const std::string& ifname) {
    auto* d = find(ifname);
    if (!d) return;
    d->machine->interfaceRemoved();
    asio::post(deps.io, [this, ifname] {
      auto it = downstreams.find(ifname);
      if (it != downstreams.end() && it->second->machine->state() == IState::Unavailable) downstreams.erase(it);
    });
  }

  // ---------------------------------------------------------------- firewall
  FirewallState desiredFirewall() const {
    FirewallState s;
    for (const auto& f : forwarding) {
      s.downstreams.insert(f);
      if (upstream) s.pairs.insert(NatPair{f, *upstream});
    }
    for (const auto& p : manualNat) s.pairs.insert(p);
    if (!blocked.empty()) {
      s.blockedMacs = blocked;
      s.blockOn = servedDownstreams();
    }
    if (!adminPorts.empty()) {
      s.adminPorts = adminPorts;
      for (const auto& u : priority) s.upstreams.insert(u);
      if (upstream) s.upstreams.insert(*upstream);
      for (const auto& p : s.pairs) s.upstreams.insert(p.upstream);
    }
    return s;
  }

  Status applyFirewall() {
    if (stopping) return {};  // stop() removes everything itself
    // Nothing wanted: no rules at all, if a reset is still owed (the lock kept it from happening).
    const bool none = nothingWanted();
    if (none && !resetPending) return {};
    auto st = none ? deps.firewall.reset() : deps.firewall.apply(desiredFirewall());
    if (st) {
      if (firewallRetries > 0) log::notice("firewall applied after ", firewallRetries, " retries");
      firewallRetries = 0;
      resetPending = false;
      return st;
    }
    if (st.error().code == Errc::Busy) {
      // The xtables lock is held by someone else: converge when it is free, never block and
      // never give up (a later event would be the only other chance).
      resetPending = none;
      if (firewallRetries++ % 50 == 0) log::warning("firewall busy (", st.error().message, "), retrying");
      firewallRetry.expires_after(std::chrono::milliseconds(100));
      firewallRetry.async_wait([this](boost::system::error_code ec) {
        if (!ec) (void)applyFirewall();
      });
      return {};
    }
    log::error("firewall: ", st.error().message);
    return st;
  }

  // At daemon stop: the rules must not outlive tetherd, so a held lock is waited for (on the
  // loop, until `deadline`) while the children stop.
  void resetAtStop(std::chrono::steady_clock::time_point deadline, std::function<void()> finish) {
    firewallRetry.expires_after(std::chrono::milliseconds(100));
    firewallRetry.async_wait([this, deadline, finish](boost::system::error_code ec) {
      if (ec) return finish();
      auto st = deps.firewall.reset();
      if (!st && st.error().code == Errc::Busy && std::chrono::steady_clock::now() < deadline)
        return resetAtStop(deadline, finish);
      if (!st) log::warning("firewall reset at stop: ", st.error().message, " (removed at the next start)");
      finish();
    });
  }

  // ---------------------------------------------------------------- MasterActions
  Status enableIpForwarding() override { return ipfwd.enable("tethering"); }
  Status disableIpForwarding() override {
    auto st = ipfwd.disable("tethering");
    if (!st && st.error().code == Errc::NotFound) return {};
    return st;
  }
  Status startTethering() override {
    if (auto st = ensureDir(config.runDir, 0755); !st) return makeError(Errc::ServiceUnavail, st.error().message);
    if (auto st = ensureDir(config.stateDir, 0750); !st) return makeError(Errc::ServiceUnavail, st.error().message);
    if (auto st = deps.firewall.apply(desiredFirewall()); !st && st.error().code != Errc::Busy)
      return makeError(Errc::ServiceUnavail, "firewall: " + st.error().message);
    return {};
  }
  Status stopTethering() override {
    forwarding.clear();
    if (manualNat.empty() && adminPorts.empty() && !blockRulesNeeded()) {
      auto st = deps.firewall.reset();
      if (!st && st.error().code != Errc::Busy) return makeError(Errc::ServiceUnavail, "firewall: " + st.error().message);
      if (!st) {  // the lock is held: removed as soon as it is free
        resetPending = true;
        (void)applyFirewall();
      }
    } else if (auto st = applyFirewall(); !st) {
      return st;
    }
    return {};
  }
  Status setDnsForwarders() override {
    auto servers = currentDns();
    if (auto st = dhcp.setServers(servers); !st) return makeError(Errc::ServiceUnavail, st.error().message);
    return {};
  }
  std::vector<Ipv4Address> currentDns() const {
    if (!dnsOverride.empty()) return dnsOverride;
    return upstream ? upstreamDns(*upstream) : std::vector<Ipv4Address>{};
  }
  void notifyUpstreamChanged() override {
    for (auto& [n, d] : downstreams) d->machine->upstreamChanged();
    (void)applyFirewall();  // manual pairs and downstreams without a machine event
  }
  void notifyMasterError(Errc cause) override {
    for (auto& [n, d] : downstreams) d->machine->masterError(cause);
  }
  void armTimer(int timeoutMs) override {
    masterTimer.expires_after(std::chrono::milliseconds(timeoutMs));
    masterTimer.async_wait([this](boost::system::error_code ec) {
      if (!ec) master.timeout();
    });
  }
  void cancelTimer() override { masterTimer.cancel(); }
  void stateChanged(int newState, const Error* error) override {
    auto s = static_cast<MState>(newState);
    if (error) {
      log::error("tethering: ", TetherMasterMachine::stateName(s), ": ", error->message);
    } else {
      log::info("tethering: ", TetherMasterMachine::stateName(s));
    }
    emit({events::TetherStateChanged{std::nullopt, TetherMasterMachine::stateName(s),
                                     error ? std::optional<Error>(*error) : std::nullopt}});
  }

  // ---------------------------------------------------------------- InterfaceActions
  std::vector<Ipv4Prefix> prefixesInUse(const std::string& except) const {
    std::vector<Ipv4Prefix> out;
    for (const auto& a : addrs) {
      if (a.ifname == except) continue;
      out.push_back(Ipv4Prefix{a.prefix.network(), a.prefix.length});
    }
    for (const auto& [n, d] : downstreams)
      if (n != except && d->address) out.push_back(Ipv4Prefix{d->address->network(), d->address->length});
    return out;
  }

  Status configure(const std::string& ifname) override {
    Downstream* d = find(ifname);
    if (!d) return makeError(Errc::UnknownIface, ifname + ": not a known downstream");
    if (!linksByName.count(ifname)) return makeError(Errc::UnavailIface, ifname + " does not exist");
    // Stay clear of the other kinds' preferred subnets while there is room elsewhere, so that a
    // moved downstream does not push the next one to appear out of its own subnet.
    auto inUse = prefixesInUse(ifname);
    auto avoid = inUse;
    for (int k = 0; k < kIfaceKindCount; ++k)
      if (static_cast<IfaceKind>(k) != d->kind) avoid.push_back(config.kinds[static_cast<size_t>(k)].subnet);
    auto subnet = chooseSubnet(config.kind(d->kind).subnet, avoid);
    if (!subnet) subnet = chooseSubnet(config.kind(d->kind).subnet, inUse);
    if (!subnet) return makeError(Errc::IfaceCfgError, ifname + ": no free subnet for the downstream");
    Ipv4Prefix addr = downstreamAddress(*subnet);
    if (d->address && *d->address != addr) {
      auto st = deps.netlink.removeAddress(ifname, *d->address);
      (void)st;
    }
    if (auto st = deps.netlink.addAddress(ifname, addr); !st)
      return makeError(Errc::IfaceCfgError, ifname + ": set address " + addr.str() + ": " + st.error().message);
    d->address = addr;
    saveAddresses();
    // A blocked client must not get a lease: its drop rules go in before the DHCP server.
    if (auto st = refreshBlocks(); !st)
      return makeError(Errc::IfaceCfgError, ifname + ": blocked clients' rules: " + st.error().message);
    if (auto st = deps.netlink.setLinkUp(ifname, true); !st)
      return makeError(Errc::IfaceCfgError, ifname + ": bring up: " + st.error().message);
    if (*subnet != Ipv4Prefix{config.kind(d->kind).subnet.network(), config.kind(d->kind).subnet.length})
      log::notice(ifname, ": preferred subnet ", config.kind(d->kind).subnet.str(), " is in use, using ", subnet->str());
    auto st = dhcp.start(DhcpService::Downstream{ifname, *subnet, addr.address});
    if (!st) return makeError(Errc::DhcpServerError, ifname + ": DHCP server: " + st.error().message);
    if (ap && ap->isApInterface(ifname)) {
      if (auto a = ap->start(ifname); !a) return makeError(Errc::TetherIfaceError, ifname + ": soft AP: " + a.error().message);
    }
    return {};
  }

  void unconfigure(const std::string& ifname) override {
    Downstream* d = find(ifname);
    if (ap && ap->isApInterface(ifname)) ap->stop(ifname);
    dhcp.stop(ifname);
    forwarding.erase(ifname);
    if (d && d->address) {
      if (linksByName.count(ifname)) {
        auto st = deps.netlink.removeAddress(ifname, *d->address);
        if (!st && st.error().code != Errc::UnknownIface) log::warning(ifname, ": remove address: ", st.error().message);
      }
      d->address.reset();
      saveAddresses();
      (void)refreshBlocks();
    }
  }

  Status enableForwarding(const std::string& ifname) override {
    forwarding.insert(ifname);
    auto st = applyFirewall();
    if (!st) {
      forwarding.erase(ifname);
      (void)applyFirewall();
      return makeError(Errc::EnableForwardingError, ifname + ": " + st.error().message);
    }
    return {};
  }

  Status disableForwarding(const std::string& ifname) override {
    forwarding.erase(ifname);
    auto st = applyFirewall();
    if (!st) return makeError(Errc::DisableForwardingError, ifname + ": " + st.error().message);
    return {};
  }

  void armTimer(const std::string& ifname, int timeoutMs) override {
    Downstream* d = find(ifname);
    if (!d) return;
    d->timer.expires_after(std::chrono::milliseconds(timeoutMs));
    d->timer.async_wait([this, ifname](boost::system::error_code ec) {
      if (ec) return;
      if (auto* dd = find(ifname)) dd->machine->timeout();
    });
  }
  void cancelTimer(const std::string& ifname) override {
    if (auto* d = find(ifname)) d->timer.cancel();
  }

  void stateChanged(const std::string& ifname, int newState, const Error* error) override {
    auto s = static_cast<IState>(newState);
    if (error) {
      log::error(error->message, " (", errcName(error->code), ")");
    } else {
      log::info(ifname, ": ", TetherInterfaceMachine::stateName(s));
    }
    emit({events::TetherStateChanged{ifname, TetherInterfaceMachine::stateName(s),
                                     error ? std::optional<Error>(*error) : std::nullopt}});
  }

  // Which addresses this run put on downstreams, so that a run after a crash can take them off.
  void saveAddresses() {
    std::string text;
    for (const auto& [n, d] : downstreams)
      if (d->address) text += n + " " + d->address->str() + "\n";
    if (auto st = writeFileAtomic(addressStateFile(), text, 0644); !st) log::warning(st.error().message);
  }

  void removeLeftoverAddresses() {
    auto text = readFile(addressStateFile(), 64 * 1024);
    if (!text) return;
    std::istringstream in(*text);
    std::string ifname, prefix;
    while (in >> ifname >> prefix) {
      auto p = Ipv4Prefix::parse(prefix);
      if (!p || !validIfname(ifname)) continue;
      auto st = deps.netlink.removeAddress(ifname, *p);
      if (st) log::notice("removed ", p->str(), " from ", ifname, " left by a previous run");
    }
    ::unlink(addressStateFile().c_str());
  }

  // ---------------------------------------------------------------- events
  void onLink(const NetEvent& e) {
    const LinkInfo& l = e.link;
    if (e.type == NetEvent::Type::LinkRemoved) {
      linksByName.erase(l.name);
      emit({events::IfaceRemoved{l.name}});
      forget(l.name);
      recomputeUpstream();
      return;
    }
    bool isNew = linksByName.find(l.name) == linksByName.end();
    // A rename arrives as a change with a new name for the same index.
    for (auto it = linksByName.begin(); it != linksByName.end();) {
      if (it->second.index == l.index && it->first != l.name) {
        std::string old = it->first;
        it = linksByName.erase(it);
        emit({events::IfaceRemoved{old}});
        forget(old);
      } else {
        ++it;
      }
    }
    bool wasUp = !isNew && linkUp(l.name);
    linksByName[l.name] = l;
    bool nowUp = linkUp(l.name);
    if (isNew) emit({events::IfaceAdded{l.name}});
    if (isNew || wasUp != nowUp) emit({events::IfaceLinkState{l.name, nowUp}});
    track(l.name);
    if (auto* d = find(l.name)) {
      if (!isNew && wasUp != nowUp) {
        if (nowUp) d->machine->interfaceUp();
        else d->machine->interfaceDown();
      }
      reconcile(*d);
    }
    recomputeUpstream();
  }

  void onAddr(const NetEvent& e) {
    const AddrInfo& a = e.addr;
    auto same = [&](const AddrInfo& x) { return x.index == a.index && x.prefix == a.prefix; };
    addrs.erase(std::remove_if(addrs.begin(), addrs.end(), same), addrs.end());
    bool added = e.type == NetEvent::Type::AddrAdded;
    if (added) addrs.push_back(a);
    emit({events::AddressChanged{a.ifname, a.prefix, added}});
    if (!added) return;
    // A new address elsewhere that overlaps a downstream's subnet: move the downstream.
    for (auto& [n, d] : downstreams) {
      if (n == a.ifname || !d->address) continue;
      if (Ipv4Prefix{d->address->network(), d->address->length}.overlaps(a.prefix)) {
        log::notice(n, ": subnet ", d->address->str(), " now overlaps ", a.prefix.str(), " on ", a.ifname, ", moving");
        d->machine->addressConflict();
      }
    }
  }

  void onRoute(const NetEvent& e) {
    const DefaultRoute& r = e.route;
    auto same = [&](const DefaultRoute& x) { return x.index == r.index && x.gateway == r.gateway && x.metric == r.metric; };
    routes.erase(std::remove_if(routes.begin(), routes.end(), same), routes.end());
    if (e.type == NetEvent::Type::RouteAdded) routes.push_back(r);
    recomputeUpstream();
  }

  void onResync() {
    log::warning("netlink: event overrun, re-reading the kernel's state");
    auto before = linksByName;
    if (auto st = dumpKernel(); !st) {
      log::error("netlink resync failed: ", st.error().message);
      return;
    }
    for (const auto& [name, l] : before)
      if (!linksByName.count(name)) forget(name);
    for (const auto& [name, l] : linksByName) {
      track(name);
      if (auto* d = find(name)) reconcile(*d);
    }
    recomputeUpstream();
  }
};

// -------------------------------------------------------------------- public API

TetherManager::TetherManager(ManagerDeps deps, DhcpService& dhcp, const Config& config, EventSink events)
    : impl_(std::make_unique<Impl>(deps, dhcp, config, std::move(events))) {}
TetherManager::~TetherManager() = default;

Status TetherManager::start() {
  Impl& m = *impl_;
  if (auto st = ensureDir(m.config.runDir, 0755); !st) return st;
  if (auto st = ensureDir(m.config.stateDir, 0750); !st) return st;
  // Crash safety: what a previous run left goes first (rules, forwarding, addresses).
  if (auto st = m.deps.firewall.reset(); !st && st.error().code != Errc::Busy)
    log::warning("removing a previous run's rules: ", st.error().message);
  if (auto st = m.ipfwd.recoverFromPreviousRun(); !st) log::warning(st.error().message);
  if (auto st = m.dumpKernel(); !st) return st;
  m.removeLeftoverAddresses();
  m.loadBlocked();
  for (const auto& [name, l] : m.linksByName) m.track(name);
  m.recomputeUpstream();
  return {};
}

Status TetherManager::startTethering() {
  Impl& m = *impl_;
  if (m.enabled) return makeError(Errc::AlreadyExists, "tethering is already started");
  if (TetherMasterMachine::isError(m.master.state()))
    return makeError(Errc::MasterError, std::string("tethering is in ") + TetherMasterMachine::stateName(m.master.state()) +
                                            " (" + m.master.lastError().message + "); run 'tether clear-error'");
  m.enabled = true;
  m.stopping = false;
  m.master.modeRequested();
  if (m.master.state() != MState::TetherModeAlive) {
    m.enabled = false;
    return makeError(Errc::MasterError, m.master.lastError().message);
  }
  m.reconcileAll(true);
  return {};
}

Status TetherManager::stopTethering() {
  Impl& m = *impl_;
  if (!m.enabled) return makeError(Errc::NotFound, "tethering is not started");
  m.enabled = false;
  m.reconcileAll();  // every interface machine leaves Tethered/Starting
  m.master.modeUnrequested();
  if (TetherMasterMachine::isError(m.master.state())) return makeError(Errc::MasterError, m.master.lastError().message);
  return {};
}

void TetherManager::stop(std::function<void()> done) {
  Impl& m = *impl_;
  if (m.enabled) (void)stopTethering();
  m.stopping = true;
  if (TetherMasterMachine::isError(m.master.state())) m.master.clearError();
  m.manualNat.clear();
  m.firewallRetry.cancel();
  m.masterTimer.cancel();
  auto st = m.deps.firewall.reset();
  if (st || st.error().code != Errc::Busy) {
    if (!st) log::warning("firewall reset at stop: ", st.error().message);
    m.dhcp.stopAll(std::move(done));
    return;
  }
  log::warning("firewall busy at stop (", st.error().message, "): waiting for the lock");
  auto left = std::make_shared<int>(2);
  auto finish = [left, done = std::make_shared<std::function<void()>>(std::move(done))] {
    if (--*left == 0 && *done) (*done)();
  };
  m.dhcp.stopAll(finish);
  m.resetAtStop(std::chrono::steady_clock::now() + std::chrono::milliseconds(m.config.stopTimeoutMs), finish);
}

void TetherManager::reconfigure(const Config& config) {
  Impl& m = *impl_;
  // Interfaces whose kind changes or that no longer match are untethered and re-tracked.
  m.config = config;
  m.priority = config.upstreamPriority;
  for (auto it = m.downstreams.begin(); it != m.downstreams.end();) {
    IfaceKind k;
    bool matches = config.kindOf(it->first, k);
    if (!matches && !m.requested.count(it->first)) {
      if (it->second->machine->state() != IState::Initial) it->second->machine->tetherUnrequested();
      it = m.downstreams.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [name, l] : m.linksByName) m.track(name);
  m.recomputeUpstream();
  m.reconcileAll();
  if (!m.adminPorts.empty()) (void)m.applyFirewall();  // the upstream candidates may differ
}

void TetherManager::onNetEvent(const NetEvent& e) {
  switch (e.type) {
    case NetEvent::Type::LinkAdded:
    case NetEvent::Type::LinkChanged:
    case NetEvent::Type::LinkRemoved: impl_->onLink(e); break;
    case NetEvent::Type::AddrAdded:
    case NetEvent::Type::AddrRemoved: impl_->onAddr(e); break;
    case NetEvent::Type::RouteAdded:
    case NetEvent::Type::RouteRemoved: impl_->onRoute(e); break;
    case NetEvent::Type::Resync: impl_->onResync(); break;
  }
}

void TetherManager::setAccessPoint(AccessPoint* ap) { impl_->ap = ap; }

void TetherManager::apReady(const std::string& ifname) {
  Impl& m = *impl_;
  auto* d = m.find(ifname);
  if (!d) return;
  if (d->machine->state() == IState::Failed && m.wanted(*d)) {
    d->machine->tetherRequested();  // the AP came back after a failed start: try again
    return;
  }
  d->machine->ready();
}

void TetherManager::apLost(const std::string& ifname, const Error& why) {
  if (auto* d = impl_->find(ifname)) d->machine->readyLost(why);
}

Status TetherManager::addInterface(const std::string& ifname) {
  Impl& m = *impl_;
  if (!validIfname(ifname)) return makeError(Errc::InvalidArgument, "'" + ifname.substr(0, 32) + "' is not a valid interface name");
  if (!m.linksByName.count(ifname)) return makeError(Errc::UnknownIface, "interface " + ifname + " does not exist");
  if (std::find(m.priority.begin(), m.priority.end(), ifname) != m.priority.end())
    return makeError(Errc::UnavailIface, ifname + " is an upstream; it cannot also be a downstream");
  if (auto* d = m.find(ifname); d && (d->machine->state() == IState::Tethered || d->machine->state() == IState::Starting) &&
                                  m.requested.count(ifname))
    return makeError(Errc::AlreadyExists, ifname + " is already tethered");
  m.requested.insert(ifname);
  m.unrequested.erase(ifname);
  m.track(ifname);
  if (!m.enabled) return {};  // remembered; tethered when tethering starts
  auto* d = m.find(ifname);
  m.reconcile(*d, true);
  if (d->machine->state() == IState::Failed) return d->machine->lastError();
  return {};
}

Status TetherManager::removeInterface(const std::string& ifname) {
  Impl& m = *impl_;
  if (!validIfname(ifname)) return makeError(Errc::InvalidArgument, "'" + ifname.substr(0, 32) + "' is not a valid interface name");
  auto* d = m.find(ifname);
  if (!d) return makeError(Errc::UnknownIface, ifname + " is not a downstream");
  m.requested.erase(ifname);
  m.unrequested.insert(ifname);
  m.reconcile(*d);
  return {};
}

Status TetherManager::setDnsOverride(const std::vector<Ipv4Address>& servers) {
  Impl& m = *impl_;
  m.dnsOverride = servers;
  if (m.master.state() == MState::TetherModeAlive) m.master.upstreamChanged();
  if (TetherMasterMachine::isError(m.master.state())) return makeError(Errc::ServiceUnavail, m.master.lastError().message);
  return {};
}

Status TetherManager::enableNat(const std::string& in, const std::string& out) {
  Impl& m = *impl_;
  for (const auto* n : {&in, &out})
    if (!validIfname(*n)) return makeError(Errc::InvalidArgument, "'" + n->substr(0, 32) + "' is not a valid interface name");
  if (in == out) return makeError(Errc::InvalidArgument, "internal and external interface are both " + in);
  for (const auto* n : {&in, &out})
    if (!m.linksByName.count(*n)) return makeError(Errc::UnknownIface, "interface " + *n + " does not exist");
  NatPair p{in, out};
  if (m.manualNat.count(p)) return {};
  m.manualNat.insert(p);
  auto st = m.deps.firewall.apply(m.desiredFirewall());
  if (!st) {
    m.manualNat.erase(p);  // nothing half-applied
    return makeError(Errc::EnableForwardingError, st.error().message);
  }
  return {};
}

Status TetherManager::disableNat(const std::string& in, const std::string& out) {
  Impl& m = *impl_;
  NatPair p{in, out};
  if (!m.manualNat.count(p)) return makeError(Errc::NotFound, "no NAT from " + in + " to " + out);
  m.manualNat.erase(p);
  auto st = m.deps.firewall.apply(m.desiredFirewall());
  if (!st) {
    m.manualNat.insert(p);
    return makeError(Errc::DisableForwardingError, st.error().message);
  }
  return {};
}

Status TetherManager::ipfwdEnable(const std::string& requester) { return impl_->ipfwd.enable(requester); }
Status TetherManager::ipfwdDisable(const std::string& requester) { return impl_->ipfwd.disable(requester); }

Status TetherManager::clearError() {
  Impl& m = *impl_;
  if (!TetherMasterMachine::isError(m.master.state())) return makeError(Errc::NotFound, "tethering is not in an error state");
  m.enabled = false;
  m.master.clearError();
  return {};
}

Status TetherManager::setUpstreamPriority(const std::vector<std::string>& priority) {
  Impl& m = *impl_;
  std::set<std::string> seen;
  for (const auto& n : priority) {
    if (!validIfname(n)) return makeError(Errc::InvalidArgument, "'" + n.substr(0, 32) + "' is not a valid interface name");
    if (!seen.insert(n).second) return makeError(Errc::InvalidArgument, n + " is listed twice");
    if (auto* d = m.find(n); d && d->machine->state() != IState::Initial)
      return makeError(Errc::InvalidArgument, n + " is a tethered downstream");
  }
  m.priority = priority;
  for (const auto& n : priority) m.downstreams.erase(n);
  m.recomputeUpstream();
  if (!m.adminPorts.empty()) (void)m.applyFirewall();  // the upstream candidates changed
  return {};
}

Status TetherManager::setAdminPorts(const std::set<uint16_t>& ports) {
  Impl& m = *impl_;
  if (ports.count(0)) return makeError(Errc::InvalidArgument, "port 0 is not a port");
  if (ports == m.adminPorts) return {};
  auto before = m.adminPorts;
  m.adminPorts = ports;
  if (m.stopping) return {};
  if (ports.empty() && !m.enabled && m.manualNat.empty() && m.forwarding.empty() && !m.blockRulesNeeded()) {
    // Nothing else of tetherd's is installed: take the chains away again.
    if (auto st = m.deps.firewall.reset(); !st) return st;
    return {};
  }
  if (auto st = m.applyFirewall(); !st) {
    m.adminPorts = before;
    return st;
  }
  return {};
}

Status TetherManager::blockClient(const std::string& mac) {
  Impl& m = *impl_;
  auto n = normalizeMac(mac);
  if (!n) return makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 32) + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  if (isMulticastMac(*n))
    return makeError(Errc::InvalidArgument, "mac: " + *n + " is a multicast address, not a client");
  if (m.blocked.count(*n)) return {};
  if (m.blocked.size() >= kMaxBlockedClients)
    return makeError(Errc::InvalidArgument, "mac: already " + std::to_string(kMaxBlockedClients) + " blocked clients");
  auto next = m.blocked;
  next.insert(*n);
  // Saved first: a block that is in force is never lost at the next start.
  if (auto st = writeFileAtomic(m.blockedFile(), Impl::formatBlocked(next), 0600); !st) return st;
  auto before = std::move(m.blocked);
  m.blocked = std::move(next);
  if (auto st = m.refreshBlocks(); !st) {
    m.blocked = std::move(before);
    (void)writeFileAtomic(m.blockedFile(), Impl::formatBlocked(m.blocked), 0600);
    (void)m.applyFirewall();
    return st;
  }
  log::notice("client ", *n, " blocked");
  m.emit({events::ClientChanged{events::ClientChanged::Kind::Blocked, *n, std::nullopt}});
  return {};
}

Status TetherManager::unblockClient(const std::string& mac) {
  Impl& m = *impl_;
  auto n = normalizeMac(mac);
  if (!n) return makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 32) + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  if (!m.blocked.count(*n)) return makeError(Errc::NotFound, "mac: " + *n + " is not blocked");
  auto next = m.blocked;
  next.erase(*n);
  if (auto st = writeFileAtomic(m.blockedFile(), Impl::formatBlocked(next), 0600); !st) return st;
  const bool hadRules = m.blockRulesNeeded();
  auto before = std::move(m.blocked);
  m.blocked = std::move(next);
  if (hadRules && m.nothingWanted()) m.resetPending = true;
  if (auto st = m.applyFirewall(); !st) {
    m.blocked = std::move(before);
    (void)writeFileAtomic(m.blockedFile(), Impl::formatBlocked(m.blocked), 0600);
    return st;
  }
  log::notice("client ", *n, " unblocked");
  m.emit({events::ClientChanged{events::ClientChanged::Kind::Unblocked, *n, std::nullopt}});
  return {};
}

std::vector<std::string> TetherManager::blockedClients() const {
  return {impl_->blocked.begin(), impl_->blocked.end()};
}

bool TetherManager::tetheringStarted() const { return impl_->enabled; }
TetherMasterMachine::State TetherManager::masterState() const { return impl_->master.state(); }
const Error& TetherManager::masterError() const { return impl_->master.lastError(); }
std::optional<std::string> TetherManager::upstream() const { return impl_->upstream; }
std::vector<Ipv4Address> TetherManager::dnsForwarders() const { return impl_->currentDns(); }
std::vector<std::string> TetherManager::upstreamPriority() const { return impl_->priority; }

std::vector<TetherManager::DownstreamStatus> TetherManager::downstreams() const {
  std::vector<DownstreamStatus> out;
  for (const auto& [n, d] : impl_->downstreams) {
    DownstreamStatus s;
    s.ifname = n;
    s.kind = d->kind;
    s.state = d->machine->state();
    s.address = d->address;
    s.error = d->machine->lastError();
    s.requested = impl_->wanted(*d);
    s.dhcpRunning = impl_->dhcp.running(n);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<UpstreamView> TetherManager::upstreams() const {
  std::vector<UpstreamView> out;
  auto views = impl_->upstreamViews();
  for (const auto& n : impl_->priority) out.push_back(views[n]);
  return out;
}

Result<std::vector<TrafficCounter>> TetherManager::stats() { return impl_->deps.firewall.counters(); }

std::vector<LinkInfo> TetherManager::links() const {
  std::vector<LinkInfo> out;
  for (const auto& [n, l] : impl_->linksByName) out.push_back(l);
  return out;
}

std::vector<AddrInfo> TetherManager::addressesOf(const std::string& ifname) const {
  std::vector<AddrInfo> out;
  for (const auto& a : impl_->addrs)
    if (a.ifname == ifname) out.push_back(a);
  return out;
}

Result<bool> TetherManager::ipfwdKernelOn() { return impl_->ipfwd.kernelValue(); }
std::vector<std::string> TetherManager::ipfwdRequesters() const { return impl_->ipfwd.requesters(); }

}  // namespace tetherd
