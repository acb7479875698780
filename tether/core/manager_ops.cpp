// TetherManager's operations (control socket, web page) and views. Each operation validates,
// changes the intent, and reconciles; one that cannot be applied is taken back whole.
#include <algorithm>

#include "tether/base/files.h"
#include "tether/base/log.h"
#include "tether/core/clients/blocked_clients.h"
#include "tether/core/clients/pinned_clients.h"
#include "tether/core/manager_impl.h"
#include "tether/core/upstream_routing.h"

namespace tetherd {

using IState = TetherInterfaceMachine::State;
using MState = TetherMasterMachine::State;

namespace {

Error badIfname(const std::string& name) {
  return makeError(Errc::InvalidArgument, "'" + name.substr(0, 32) + "' is not a valid interface name");
}

}  // namespace

TetherManager::TetherManager(ManagerDeps deps, DhcpService& dhcp, const Config& config, EventSink events)
    : impl_(std::make_unique<Impl>(deps, dhcp, config, std::move(events))) {}
TetherManager::~TetherManager() = default;

void TetherManager::Impl::loadBlocked() {
  auto text = readFile(blockedFile(), 64 * 1024);
  if (!text) {
    // Not there yet: nothing blocked. Any other failure is said: the clients it names are not
    // blocked in this run, and the next block or unblock writes the file anew.
    if (text.error().code != Errc::NotFound)
      log::error(text.error().message, ": the blocked clients it lists are NOT blocked");
    return;
  }
  auto file = parseBlockedClients(*text, kMaxBlockedClients);
  for (size_t i = 0; i < file.bad.size() && i < 5; ++i)
    log::warning(blockedFile(), ":", file.bad[i].line, ": ", file.bad[i].cause, ", ignored");
  if (file.bad.size() > 5) log::warning(blockedFile(), ": ", file.bad.size() - 5, " more line(s) ignored");
  intent.blocked = std::move(file.macs);
  if (!intent.blocked.empty()) log::info(intent.blocked.size(), " blocked client(s) from ", blockedFile());
}

namespace {
std::vector<StaticLease> pinList(const std::map<std::string, StaticLease>& pins) {
  std::vector<StaticLease> out;
  for (const auto& [mac, p] : pins) out.push_back(p);
  return out;
}
}  // namespace

void TetherManager::Impl::loadPins() {
  auto text = readFile(pinnedFile(), 64 * 1024);
  if (!text) {
    if (text.error().code != Errc::NotFound) log::error(text.error().message, ": the clients it pins are NOT pinned");
    return;
  }
  auto file = parsePinnedClients(*text, kMaxPins);
  for (size_t i = 0; i < file.bad.size() && i < 5; ++i)
    log::warning(pinnedFile(), ":", file.bad[i].line, ": ", file.bad[i].cause, ", ignored");
  if (file.bad.size() > 5) log::warning(pinnedFile(), ": ", file.bad.size() - 5, " more line(s) ignored");
  pins = std::move(file.pins);
  if (!pins.empty()) log::info(pins.size(), " pinned client(s) from ", pinnedFile());
  if (auto st = dhcp.setStaticLeases(pinList(pins)); !st) log::error("static leases: ", st.error().message);
}

Status TetherManager::setPinnedClients(std::map<std::string, StaticLease> next) {
  Impl& m = *impl_;
  if (next.size() > kMaxPins) return makeError(Errc::InvalidArgument, "mac: already " + std::to_string(kMaxPins) + " pinned clients");
  if (auto st = writeFileAtomic(m.pinnedFile(), formatPinnedClients(next), 0600); !st) return st;
  if (auto st = m.dhcp.setStaticLeases(pinList(next)); !st) {
    (void)writeFileAtomic(m.pinnedFile(), formatPinnedClients(m.pins), 0600);
    (void)m.dhcp.setStaticLeases(pinList(m.pins));
    return st;
  }
  m.pins = std::move(next);
  return {};
}

const std::map<std::string, StaticLease>& TetherManager::pinnedClients() const { return impl_->pins; }

Status TetherManager::start() {
  Impl& m = *impl_;
  if (auto st = ensureDir(m.intent.config.runDir, 0755); !st) return st;
  if (auto st = ensureDir(m.intent.config.stateDir, 0750); !st) return st;
  // Crash safety: what a previous run left goes first (rules, forwarding, addresses).
  if (auto st = m.applier.resetFirewall(); !st && st.error().code != Errc::Busy)
    log::warning("removing a previous run's rules: ", st.error().message);
  if (auto st = m.ipfwd.recoverFromPreviousRun(); !st) log::warning(st.error().message);
  m.sysctls.recoverFromPreviousRun();
  m.applier.removeLeftovers();
  m.applier.loadAnnounced(m.intent.config.stateDir + "/pd-announced");  // announced deprecated again
  if (auto st = m.applier.resetRouting(routingRange(m.intent.config)); !st)
    log::warning("removing a previous run's policy rules and routes: ", st.error().message);
  m.applier.resetShaping();
  m.applier.resetRelay();
  m.offload.reset();
  m.loadBlocked();
  m.loadPins();
  m.loadLimits();
  m.loadQuotas();
  m.reconcile();
  return {};
}

void TetherManager::stop(std::function<void()> done) {
  Impl& m = *impl_;
  if (m.intent.tethering) (void)stopTethering();
  if (TetherMasterMachine::isError(m.master.state())) m.master.clearError();
  m.intent.stopping = true;
  m.intent.manualNat.clear();
  m.firewallRetry.cancel();
  m.masterTimer.cancel();
  m.reconcile();  // nothing is wanted: downstreams taken down, rules removed, forwarding restored
  m.offload.reset();
  if (m.deps.pd)  // dhcpcd too has exited when done() is called
    done = [pd = m.deps.pd, done = std::move(done)]() mutable { pd->stop(std::move(done)); };
  if (auto st = m.applier.resetRouting(routingRange(m.intent.config)); !st)
    log::warning("policy rules and routes at stop: ", st.error().message);
  if (!m.applier.firewallInstalled()) {
    m.dhcp.stopAll(std::move(done));
    return;
  }
  log::warning("firewall busy at stop: waiting for the lock");
  auto left = std::make_shared<int>(2);
  auto finish = [left, done = std::make_shared<std::function<void()>>(std::move(done))] {
    if (--*left == 0 && *done) (*done)();
  };
  m.dhcp.stopAll(finish);
  m.resetAtStop(std::chrono::steady_clock::now() + std::chrono::milliseconds(m.intent.config.stopTimeoutMs), finish);
}

// At daemon stop: the rules must not outlive tetherd, so a held lock is waited for (on the
// loop, until `deadline`) while the children stop.
void TetherManager::Impl::resetAtStop(std::chrono::steady_clock::time_point deadline, std::function<void()> finish) {
  firewallRetry.expires_after(std::chrono::milliseconds(100));
  firewallRetry.async_wait([this, deadline, finish](boost::system::error_code ec) {
    if (ec) return finish();
    auto st = applier.resetFirewall();
    if (!st && st.error().code == Errc::Busy && std::chrono::steady_clock::now() < deadline)
      return resetAtStop(deadline, finish);
    if (!st) log::warning("firewall reset at stop: ", st.error().message, " (removed at the next start)");
    finish();
  });
}

void TetherManager::reconfigure(const Config& config) {
  Impl& m = *impl_;
  m.intent.config = config;
  m.intent.priority = config.upstreamPriority;
  m.reconcile();
}

void TetherManager::setAccessPoint(AccessPoint* ap) {
  impl_->ap = ap;
  impl_->applier.setAccessPoint(ap);
}

void TetherManager::apReady(const std::string& ifname) {
  Impl& m = *impl_;
  auto* d = m.find(ifname);
  if (!d) return;
  if (d->machine->state() == IState::Failed && m.wanted(ifname, d->kind)) d->machine->tetherRequested();
  else d->machine->ready();
  m.reconcile();
}

void TetherManager::apLost(const std::string& ifname, const Error& why) {
  if (auto* d = impl_->find(ifname)) d->machine->readyLost(why);
  impl_->reconcile();
}

Status TetherManager::startTethering() {
  Impl& m = *impl_;
  if (m.intent.tethering) return makeError(Errc::AlreadyExists, "tethering is already started");
  if (TetherMasterMachine::isError(m.master.state()))
    return makeError(Errc::MasterError, std::string("tethering is in ") + TetherMasterMachine::stateName(m.master.state()) +
                                            " (" + m.master.lastError().message + "); run 'tether clear-error'");
  m.intent.tethering = true;
  m.intent.stopping = false;
  m.master.modeRequested();
  m.reconcile(true);
  if (TetherMasterMachine::isError(m.master.state())) {
    m.intent.tethering = false;
    m.reconcile();
    return makeError(Errc::MasterError, m.master.lastError().message);
  }
  return {};
}

Status TetherManager::stopTethering() {
  Impl& m = *impl_;
  if (!m.intent.tethering) return makeError(Errc::NotFound, "tethering is not started");
  m.intent.tethering = false;
  m.reconcile();  // every interface machine leaves Tethered/Starting
  m.master.modeUnrequested();
  m.reconcile();
  if (TetherMasterMachine::isError(m.master.state())) return makeError(Errc::MasterError, m.master.lastError().message);
  return {};
}

Status TetherManager::addInterface(const std::string& ifname) {
  Impl& m = *impl_;
  if (!validIfname(ifname)) return badIfname(ifname);
  if (!m.deps.kernel.exists(ifname)) return makeError(Errc::UnknownIface, "interface " + ifname + " does not exist");
  if (std::find(m.intent.priority.begin(), m.intent.priority.end(), ifname) != m.intent.priority.end())
    return makeError(Errc::UnavailIface, ifname + " is an upstream; it cannot also be a downstream");
  if (auto* d = m.find(ifname); d && m.intent.requested.count(ifname) &&
                                  (d->machine->state() == IState::Tethered || d->machine->state() == IState::Starting))
    return makeError(Errc::AlreadyExists, ifname + " is already tethered");
  m.intent.requested.insert(ifname);
  m.intent.unrequested.erase(ifname);
  m.reconcile(m.intent.tethering);  // without tethering: remembered, tethered when it starts
  if (auto* d = m.find(ifname); d && m.intent.tethering && d->machine->state() == IState::Failed)
    return d->machine->lastError();
  return {};
}

Status TetherManager::removeInterface(const std::string& ifname) {
  Impl& m = *impl_;
  if (!validIfname(ifname)) return badIfname(ifname);
  if (!m.find(ifname)) return makeError(Errc::UnknownIface, ifname + " is not a downstream");
  m.intent.requested.erase(ifname);
  m.intent.unrequested.insert(ifname);
  m.reconcile();
  return {};
}

Status TetherManager::setDnsOverride(const std::vector<Ipv4Address>& servers) {
  Impl& m = *impl_;
  m.intent.dnsOverride = servers;
  if (m.master.state() == MState::TetherModeAlive) m.master.upstreamChanged();
  m.reconcile();
  if (TetherMasterMachine::isError(m.master.state())) return makeError(Errc::ServiceUnavail, m.master.lastError().message);
  return {};
}

Status TetherManager::enableNat(const std::string& in, const std::string& out) {
  Impl& m = *impl_;
  for (const auto* n : {&in, &out})
    if (!validIfname(*n)) return badIfname(*n);
  if (in == out) return makeError(Errc::InvalidArgument, "internal and external interface are both " + in);
  for (const auto* n : {&in, &out})
    if (!m.deps.kernel.exists(*n)) return makeError(Errc::UnknownIface, "interface " + *n + " does not exist");
  NatPair p{in, out};
  if (m.intent.manualNat.count(p)) return {};
  m.intent.manualNat.insert(p);
  m.reconcile();
  if (auto st = m.lastFirewallError(); !st) {
    m.intent.manualNat.erase(p);  // nothing half-applied
    m.reconcile();
    return makeError(Errc::EnableForwardingError, st.error().message);
  }
  return {};
}

Status TetherManager::disableNat(const std::string& in, const std::string& out) {
  Impl& m = *impl_;
  NatPair p{in, out};
  if (!m.intent.manualNat.count(p)) return makeError(Errc::NotFound, "no NAT from " + in + " to " + out);
  m.intent.manualNat.erase(p);
  m.reconcile();
  if (auto st = m.lastFirewallError(); !st) {
    m.intent.manualNat.insert(p);
    m.reconcile();
    return makeError(Errc::DisableForwardingError, st.error().message);
  }
  return {};
}

Status TetherManager::ipfwdEnable(const std::string& requester) {
  Impl& m = *impl_;
  if (m.intent.ipfwdRequesters.count(requester)) return {};
  m.intent.ipfwdRequesters.insert(requester);
  m.reconcile();
  if (auto it = m.last.ipfwd.find(requester); it != m.last.ipfwd.end() && !it->second) {
    m.intent.ipfwdRequesters.erase(requester);
    return it->second;
  }
  return {};
}

Status TetherManager::ipfwdDisable(const std::string& requester) {
  Impl& m = *impl_;
  if (!m.intent.ipfwdRequesters.count(requester))
    return makeError(Errc::NotFound, "'" + requester + "' has not requested forwarding");
  m.intent.ipfwdRequesters.erase(requester);
  m.reconcile();
  if (auto it = m.last.ipfwd.find(requester); it != m.last.ipfwd.end() && !it->second) {
    m.intent.ipfwdRequesters.insert(requester);
    return it->second;
  }
  return {};
}

Status TetherManager::clearError() {
  Impl& m = *impl_;
  if (!TetherMasterMachine::isError(m.master.state())) return makeError(Errc::NotFound, "tethering is not in an error state");
  m.intent.tethering = false;
  m.master.clearError();
  m.reconcile();
  return {};
}

Status TetherManager::setUpstreamPriority(const std::vector<std::string>& priority) {
  Impl& m = *impl_;
  std::set<std::string> seen;
  for (const auto& n : priority) {
    if (!validIfname(n)) return badIfname(n);
    if (!seen.insert(n).second) return makeError(Errc::InvalidArgument, n + " is listed twice");
    if (auto* d = m.find(n); d && d->machine->state() != IState::Initial)
      return makeError(Errc::InvalidArgument, n + " is a tethered downstream");
  }
  m.intent.priority = priority;
  m.reconcile();
  return {};
}

Status TetherManager::setAdminPorts(const std::set<uint16_t>& ports) {
  Impl& m = *impl_;
  if (ports.count(0)) return makeError(Errc::InvalidArgument, "port 0 is not a port");
  if (ports == m.intent.adminPorts) return {};
  auto before = m.intent.adminPorts;
  m.intent.adminPorts = ports;
  if (m.intent.stopping) return {};
  m.reconcile();
  if (auto st = m.lastFirewallError(); !st) {
    m.intent.adminPorts = before;
    m.reconcile();
    return st;
  }
  return {};
}

// The blocked list becomes `next`: saved first (a block in force is never lost at the next
// start), then applied; a firewall that refuses it puts the old list back, file included.
Status TetherManager::Impl::changeBlocked(std::set<std::string> next, const std::string& mac, bool blocking) {
  if (auto st = writeFileAtomic(blockedFile(), formatBlockedClients(next), 0600); !st) return st;
  auto before = std::move(intent.blocked);
  intent.blocked = std::move(next);
  reconcile();
  if (auto st = lastFirewallError(); !st) {
    intent.blocked = std::move(before);
    (void)writeFileAtomic(blockedFile(), formatBlockedClients(intent.blocked), 0600);
    reconcile();
    return st;
  }
  log::notice("client ", mac, blocking ? " blocked" : " unblocked");
  using Kind = events::ClientChanged::Kind;
  emit({events::ClientChanged{blocking ? Kind::Blocked : Kind::Unblocked, mac, std::nullopt}});
  return {};
}

Status TetherManager::blockClient(const std::string& mac) {
  Impl& m = *impl_;
  auto n = normalizeMac(mac);
  if (!n) return makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 32) + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  if (isMulticastMac(*n)) return makeError(Errc::InvalidArgument, "mac: " + *n + " is a multicast address, not a client");
  if (m.intent.blocked.count(*n)) return {};
  if (m.intent.blocked.size() >= kMaxBlockedClients)
    return makeError(Errc::InvalidArgument, "mac: already " + std::to_string(kMaxBlockedClients) + " blocked clients");
  auto next = m.intent.blocked;
  next.insert(*n);
  return m.changeBlocked(std::move(next), *n, true);
}

Status TetherManager::unblockClient(const std::string& mac) {
  Impl& m = *impl_;
  auto n = normalizeMac(mac);
  if (!n) return makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 32) + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  if (!m.intent.blocked.count(*n)) return makeError(Errc::NotFound, "mac: " + *n + " is not blocked");
  auto next = m.intent.blocked;
  next.erase(*n);
  return m.changeBlocked(std::move(next), *n, false);
}

// ---------------------------------------------------------------------------- views

std::vector<std::string> TetherManager::blockedClients() const {
  return {impl_->intent.blocked.begin(), impl_->intent.blocked.end()};
}
bool TetherManager::tetheringStarted() const { return impl_->intent.tethering; }
TetherMasterMachine::State TetherManager::masterState() const { return impl_->master.state(); }
const Error& TetherManager::masterError() const { return impl_->master.lastError(); }
std::optional<std::string> TetherManager::upstream() const { return impl_->upstream; }
std::vector<std::string> TetherManager::upstreamPriority() const { return impl_->intent.priority; }

std::vector<Ipv4Address> TetherManager::dnsForwarders() const {
  const Impl& m = *impl_;
  if (!m.intent.dnsOverride.empty()) return m.intent.dnsOverride;
  return m.upstream ? upstreamServers(m.facts(), m.intent, *m.upstream) : std::vector<Ipv4Address>{};
}

std::vector<TetherManager::DownstreamStatus> TetherManager::downstreams() const {
  std::vector<DownstreamStatus> out;
  for (const auto& [n, d] : impl_->downstreams) {
    DownstreamStatus s;
    s.ifname = n;
    s.kind = d->kind;
    s.state = d->machine->state();
    s.address = impl_->applier.address(n);
    s.error = d->machine->lastError();
    s.requested = impl_->wanted(n, d->kind);
    s.dhcpRunning = impl_->dhcp.running(n);
    if (auto a6 = impl_->applier.addresses6(); a6.count(n)) {
      s.ipv6 = ipv6Mode(impl_->facts(), impl_->intent);
      // pd with too small a delegation: the downstreams left without a /64 use nat66
      if (std::find(impl_->pdLeft.begin(), impl_->pdLeft.end(), n) != impl_->pdLeft.end()) s.ipv6 = Ipv6Mode::Nat66;
      s.ipv6Prefix = Ipv6Prefix{a6.at(n).network(), a6.at(n).length};
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<UpstreamView> TetherManager::upstreams() const {
  std::vector<UpstreamView> out;
  auto views = upstreamViews(impl_->facts(), impl_->intent);
  const auto now = CandidateValidation::Clock::now();
  if (const auto& v = impl_->validator; v && v->enabled()) {
    for (const auto& [n, e] : v->entries()) {
      auto it = views.find(n);
      if (it == views.end()) continue;
      if (auto at = e.validation.lastProbe())
        it->second.lastProbeAgoMs = std::chrono::duration_cast<std::chrono::milliseconds>(now - *at).count();
      if (const auto& last = e.validation.last()) {
        it->second.rttMs = last->rttMs;
        it->second.portalUrl = last->portalUrl;
        it->second.detail = last->detail;
      }
    }
  }
  for (const auto& n : impl_->intent.priority) out.push_back(views[n]);
  return out;
}

std::string TetherManager::upstreamReason() const {
  const bool validating = impl_->validator && impl_->validator->enabled();
  return selectionReason(impl_->intent.priority, upstreamViews(impl_->facts(), impl_->intent), impl_->upstream, validating);
}

Result<std::vector<TrafficCounter>> TetherManager::stats() { return impl_->deps.firewall.counters(); }

std::vector<LinkInfo> TetherManager::links() const {
  std::vector<LinkInfo> out;
  for (const auto& [i, l] : impl_->deps.kernel.links) out.push_back(l);
  std::sort(out.begin(), out.end(), [](const LinkInfo& a, const LinkInfo& b) { return a.name < b.name; });
  return out;
}

std::vector<AddrInfo> TetherManager::addressesOf(const std::string& ifname) const {
  return impl_->deps.kernel.addressesOf(ifname);
}

Result<bool> TetherManager::ipfwdKernelOn() { return impl_->ipfwd.kernelValue(); }
std::vector<std::string> TetherManager::ipfwdRequesters() const { return impl_->ipfwd.requesters(); }

}  // namespace tetherd
