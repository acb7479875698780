// The driver: every input (a kernel event, an operation, a timer, an answer) ends in
// reconcile(), which runs the machines' queued commands, re-plans from the facts and the
// intent, lets the machines decide on the plan (what to tether, what moved), applies the plan
// and answers the commands that waited for it. Level-triggered: it converges on the current
// facts whatever happened before, and does nothing when nothing changed.

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <sstream>

#include "tether/base/files.h"
#include "tether/base/heap.h"
#include "tether/base/log.h"
#include "tether/core/manager_impl.h"
#include "tether/core/ula_store.h"
#include "tether/system/dnsmasq.h"

namespace tetherd {

namespace asio = boost::asio;
using IState = TetherInterfaceMachine::State;
using MState = TetherMasterMachine::State;

TetherManager::Impl::Impl(ManagerDeps d, DhcpService& dh, const Config& c, EventSink ev)
    : deps(d), dhcp(dh), events(std::move(ev)), ipfwd(d.sysctl, c.runDir + "/ip_forward.orig"),
      sysctls(d.sysctl, c.runDir + "/sysctl.orig"), ports{d.netlink, d.firewall, dh, ipfwd, nullptr, &sysctls, d.routing, d.shaper, d.relay}, applier(ports, c.runDir + "/downstream-addresses"),
      offload(d.nft, d.conntrack, c.runDir + "/offload-table"),
      masterTimer(d.io), firewallRetry(d.io), master(*this, c.startTimeoutMs), dnsSources(d.io, [this] { reconcile(); }, d.watchFiles) {
  intent.config = c;
  intent.priority = c.upstreamPriority;
  if (d.prober)
    validator = std::make_unique<UpstreamValidator>(d.io, *d.prober, [this](const std::string& n, Validation v) {
      const auto& last = validator->entries().at(n).validation.last();
      emit(Event{events::UpstreamValidation{n, validationName(v), last ? last->portalUrl : "", last ? last->detail : ""}});
      reconcile();
    });
  if (d.pd) d.pd->onChange([this] { reconcile(); });
}

void TetherManager::Impl::emit(const Event& e) {
  if (events) events(e);
}

TetherManager::Impl::Downstream* TetherManager::Impl::find(const std::string& ifname) {
  auto it = downstreams.find(ifname);
  return it == downstreams.end() ? nullptr : it->second.get();
}

bool TetherManager::Impl::wanted(const std::string& ifname, IfaceKind kind) const {
  if (!intent.tethering || intent.stopping || !deps.kernel.exists(ifname)) return false;
  if (intent.requested.count(ifname)) return true;
  if (intent.unrequested.count(ifname)) return false;
  return intent.config.kind(kind).autoTether;
}

std::optional<Ipv6Prefix> TetherManager::Impl::ulaPrefix() const {
  if (intent.config.ipv6 == Ipv6Mode::Off || ula48) return ula48;
  auto p = loadUlaPrefix(intent.config.stateDir + "/ula-prefix");
  if (!p) {
    static std::string logged;  // once per cause, not at every reconcile
    if (logged != p.error().message) log::error("IPv6 off: ", logged = p.error().message);
    return std::nullopt;
  }
  ula48 = *p;
  return ula48;
}

Facts TetherManager::Impl::facts() const {
  Facts f;
  f.kernel = deps.kernel;
  for (auto& [name, servers] : upstreamDnsServers(intent.config, intent.priority, dnsSources.files())) {
    f.upstreamDns[name] = std::move(servers.v4);
    if (!servers.v6.empty()) f.upstreamDns6[name] = std::move(servers.v6);
  }
  f.stages = stages;
  f.assigned = applier.addresses();
  // The unexpired leases of every downstream with an address: counted per client (issue 14),
  // shaped when limited. LeaseWatch reconciles when a lease file changes.
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& [name, prefix] : f.assigned) {
    auto& out = f.clientLeases[name];
    for (auto& l : dhcp.leases(name))
      if (l.expiry == 0 || l.expiry > now) out.push_back(std::move(l));
  }
  f.quotaUse = currentQuotaUse();
  // (relay routes every address the table knows, a client without a DHCPv4 lease too)
  if (neighbours6 && intent.config.ipv6 != Ipv6Mode::Off)
    for (const auto& [name, leases] : f.clientLeases)
      if (!leases.empty() || intent.config.ipv6 == Ipv6Mode::Relay || intent.config.ipv6 == Ipv6Mode::Auto)
        f.clientAddrs6[name] = neighbours6(name);
  f.ula48 = ulaPrefix();
  if (applier.relay().upstream == (upstream ? *upstream : "")) f.relaying = applier.relay().prefix;
  f.netns = deps.netns;
  if (deps.pd && (intent.config.ipv6 == Ipv6Mode::Pd || intent.config.ipv6 == Ipv6Mode::Auto)) {
    f.delegated = deps.pd->lease();
    if (!pdSubnets) {
      auto loaded = loadPdSubnets(pdSubnetsFile());
      if (!loaded) log::error(loaded.error().message, " (starting from an empty assignment)");
      pdSubnets = loaded ? *loaded : PdSubnets{};
    }
    f.pdSubnets = *pdSubnets;
  }
  f.dnsmasqUid = dnsmasqUid();
  if (ap)
    for (const auto& [n, d] : downstreams)
      if (ap->isApInterface(n)) f.accessPoints.insert(n);
  if (validator && validator->enabled()) f.validation = validator->states();
  f.chains = chains;
  f.dns = dnsWanted;
  f.ipForwarding = ipForwarding;
  f.fqCodel = deps.shaper && deps.shaper->fqCodel();
  return f;
}

// dnsmasq runs as Debian's `dnsmasq` user when there is one, else as nobody (dnsmasqUser()).
std::optional<uint32_t> TetherManager::Impl::dnsmasqUid() { return dnsmasqUser().uid; }

// ---------------------------------------------------------------------------- reconcile

void TetherManager::Impl::reconcile(bool retryFailed) {
  if (reconciling) {  // an input while reconciling: the running loop takes it in
    again = true;
    retryFailedAgain |= retryFailed;
    return;
  }
  reconciling = true;
  for (int round = 0; round < 200; ++round) {
    again = false;
    runQueue();
    dnsSources.sync(intent.config);
    checkRpFilter();
    Facts f = facts();
    syncValidator(f);
    if (validator && validator->enabled()) f.validation = validator->states();
    Desired d = plan(f, intent);
    noteUpstream(d.upstream);
    syncMachines(d, retryFailed || retryFailedAgain);
    retryFailed = retryFailedAgain = false;
    if (!queue.empty()) continue;  // the machines decided something: take it in first
    last = applier.apply(d, deps.kernel);
    offload.apply(planOffload(f, intent, d));
    syncPd(d);
    syncRelay();
    flushOldNat(d.upstream);
    onFirewallOutcome();
    answer(d);
    if (queue.empty() && !again) break;
    if (round == 199) log::error("reconcile: no fixed point after 200 rounds (a bug): stopping here");
  }
  dropFinished();
  reconciling = false;
  if (deps.idleTimers) {
    const auto& fw = applier.firewall();
    deps.idleTimers(fw ? fw->idleTimers : std::map<std::string, IdleTimer>{});
  }
  trimHeap();  // the plans' and tables' copies are gone: do not stay resident at the busiest size
}

// The candidates to probe follow the kernel and the config (none while stopping).
void TetherManager::Impl::syncValidator(const Facts& f) {
  if (!validator) return;
  auto settings = validationSettings(intent.config);
  if (intent.stopping) settings.enabled = false;
  validator->update(probeTargets(f, intent), settings);
}

void TetherManager::Impl::runQueue() {
  while (!queue.empty()) {
    Command c = queue.front();
    queue.pop_front();
    execute(c);
  }
}

void TetherManager::Impl::execute(const Command& c) {
  using K = Command::Kind;
  switch (c.kind) {
    case K::Configure:
      stages[c.ifname] = Stage::Configured;
      awaitConfigure.insert(c.ifname);
      awaitForwarding.erase(c.ifname);
      return;
    case K::Unconfigure:
      stages.erase(c.ifname);
      awaitConfigure.erase(c.ifname);
      awaitForwarding.erase(c.ifname);
      return;
    case K::EnableForwarding:
      stages[c.ifname] = Stage::Forwarding;
      awaitForwarding.insert(c.ifname);
      return;
    case K::DisableForwarding:
      if (auto it = stages.find(c.ifname); it != stages.end() && it->second == Stage::Forwarding)
        it->second = Stage::Configured;
      awaitForwarding.erase(c.ifname);
      return;
    case K::IpForwardingOn:
      ipForwarding = true;
      masterAwait = c.kind;
      return;
    case K::IpForwardingOff:
      ipForwarding = false;
      masterAwait = c.kind;
      return;
    case K::ChainsUp:
      masterAwait = c.kind;
      for (const auto* dir : {&intent.config.runDir, &intent.config.stateDir}) {
        if (auto st = ensureDir(*dir, dir == &intent.config.runDir ? 0755 : 0750); !st) {
          masterFailedEarly = Error{Errc::ServiceUnavail, st.error().message};
          return;
        }
      }
      chains = true;
      return;
    case K::ChainsDown:
      chains = false;
      dnsWanted = false;
      masterAwait = c.kind;
      return;
    case K::SetDns:
      dnsWanted = true;
      masterAwait = c.kind;
      return;
    case K::UpstreamChanged:
      for (auto& [n, d] : downstreams) d->machine->upstreamChanged();
      return;
    case K::MasterError:
      for (auto& [n, d] : downstreams) d->machine->masterError(c.cause);
      return;
  }
}

void TetherManager::Impl::noteUpstream(const std::optional<std::string>& chosen) {
  if (chosen == upstream) return;
  log::notice("upstream: ", upstream.value_or("none"), " -> ", chosen.value_or("none"));
  upstream = chosen;
  emit({events::UpstreamChanged{upstream}});
  if (master.state() == MState::TetherModeAlive) master.upstreamChanged();
}

void TetherManager::Impl::syncMachines(const Desired& d, bool retryFailed) {
  // The master follows the intent: a request it could not take in a transitional state (a
  // `tether stop` while a held xtables lock kept it Starting) is made again once it settles.
  if (!intent.stopping) {
    const auto ms = master.state();
    if (intent.tethering && ms == MState::Initial) master.modeRequested();
    else if (!intent.tethering && ms == MState::TetherModeAlive) master.modeUnrequested();
  }
  // A record for every downstream candidate that exists; the others go once untethered.
  for (const auto& [name, kind] : d.tracked) {
    if (find(name)) continue;
    bool isAp = ap && ap->isApInterface(name);
    auto machine = std::make_unique<TetherInterfaceMachine>(name, *this, intent.config.startTimeoutMs, isAp);
    downstreams[name] = std::make_unique<Downstream>(kind, std::move(machine), deps.io);
  }
  for (auto& [name, rec] : downstreams) {
    auto s = rec->machine->state();
    if (!deps.kernel.exists(name)) {
      if (s != IState::Unavailable) rec->machine->interfaceRemoved();
      continue;
    }
    if (!d.tracked.count(name)) rec->dropped = true;
    bool want = !rec->dropped && d.wanted.count(name);
    if (want && (s == IState::Initial || (retryFailed && s == IState::Failed))) {
      if (master.state() == MState::TetherModeAlive) rec->machine->tetherRequested();
    } else if (!want && (s == IState::Starting || s == IState::Tethered || s == IState::Failed)) {
      rec->machine->tetherUnrequested();
    } else if (s == IState::Tethered) {
      // Placed elsewhere now (a new address overlaps its subnet): back through Starting.
      auto have = applier.address(name);
      auto p = d.configured.find(name);
      if (have && p != d.configured.end() && p->second.address != *have) {
        log::notice(name, ": subnet ", have->str(), " now overlaps another address, moving to ", p->second.address.str());
        rec->machine->addressConflict();
      }
    }
  }
}

void TetherManager::Impl::onFirewallOutcome() {
  const Status& st = last.firewall;
  if (st) {
    if (firewallRetries > 0) log::notice("firewall applied after ", firewallRetries, " retries");
    firewallRetries = 0;
    return;
  }
  if (st.error().code != Errc::Busy) {
    log::error("firewall: ", st.error().message);
    return;
  }
  // The xtables lock is held by someone else: converge when it is free, never block and never
  // give up (a later event would be the only other chance). At stop, resetAtStop waits.
  if (intent.stopping) return;
  if (firewallRetries++ % 50 == 0) log::warning("firewall busy (", st.error().message, "), retrying");
  firewallRetry.expires_after(std::chrono::milliseconds(100));
  firewallRetry.async_wait([this](boost::system::error_code ec) {
    if (!ec) reconcile();
  });
}

Status TetherManager::Impl::lastFirewallError() const {
  if (!last.firewall && last.firewall.error().code != Errc::Busy) return last.firewall;
  return {};
}

void TetherManager::Impl::answer(const Desired& d) {
  using K = Command::Kind;
  const bool busy = !last.firewall && last.firewall.error().code == Errc::Busy;
  // The master's step.
  if (masterAwait) {
    auto ipfwdResult = [&]() -> Status {
      auto it = last.ipfwd.find("tethering");
      return it == last.ipfwd.end() ? Status{} : it->second;
    };
    auto firewallResult = [&]() -> Status {
      if (last.firewall) return {};
      return makeError(Errc::ServiceUnavail, "firewall: " + last.firewall.error().message);
    };
    K step = *masterAwait;
    if (masterFailedEarly) {
      masterAwait.reset();
      Error e = *masterFailedEarly;
      masterFailedEarly.reset();
      again = true;
      master.tetheringStarted(e);
    } else if ((step == K::ChainsUp || step == K::ChainsDown) && busy) {
      // waits for the lock (the master's timer bounds it)
    } else {
      masterAwait.reset();
      again = true;  // the master moved on: the machines may decide anew
      switch (step) {
        case K::IpForwardingOn: {
          auto st = ipfwdResult();
          if (!st) ipForwarding = false;
          master.ipForwardingEnabled(st);
          break;
        }
        case K::ChainsUp: {
          auto st = firewallResult();
          if (!st) chains = false;
          master.tetheringStarted(st);
          break;
        }
        case K::SetDns: {
          if (!last.dns) dnsWanted = false;
          master.dnsForwardersSet(last.dns);
          break;
        }
        case K::ChainsDown: master.tetheringStopped(firewallResult()); break;
        case K::IpForwardingOff: {
          auto st = ipfwdResult();
          if (!st && st.error().code == Errc::NotFound) st = {};
          if (!st) ipForwarding = true;  // still on in the kernel
          master.ipForwardingDisabled(st);
          break;
        }
        default: break;
      }
    }
  }
  // The downstreams' configure and forwarding.
  for (const auto& name : std::set<std::string>(awaitConfigure)) {
    awaitConfigure.erase(name);
    auto* rec = find(name);
    if (!rec) continue;
    Status st;
    if (auto it = last.configured.find(name); it != last.configured.end()) st = it->second;
    else if (d.noSubnet.count(name)) st = makeError(Errc::IfaceCfgError, name + ": no free subnet for the downstream");
    else if (!deps.kernel.exists(name)) st = makeError(Errc::UnavailIface, name + " does not exist");
    else if (!d.configured.count(name)) st = makeError(Errc::UnknownIface, name + ": not a known downstream");
    rec->machine->configured(st);
    again = true;
  }
  if (busy) return;  // forwarding waits for the lock
  for (const auto& name : std::set<std::string>(awaitForwarding)) {
    awaitForwarding.erase(name);
    auto* rec = find(name);
    if (!rec) continue;
    Status st;
    if (!last.firewall) {
      st = makeError(Errc::EnableForwardingError, name + ": " + last.firewall.error().message);
      if (auto it = stages.find(name); it != stages.end()) it->second = Stage::Configured;
    }
    rec->machine->forwardingApplied(st);
    again = true;
  }
}

// Records of interfaces that are gone, or are no longer downstreams and are untethered.
void TetherManager::Impl::dropFinished() {
  for (auto it = downstreams.begin(); it != downstreams.end();) {
    auto s = it->second->machine->state();
    if (s == IState::Unavailable || (it->second->dropped && s == IState::Initial)) {
      stages.erase(it->first);
      it = downstreams.erase(it);
    } else {
      ++it;
    }
  }
}

// ---------------------------------------------------------------------------- machine actions

void TetherManager::Impl::armTimer(int timeoutMs) {
  masterTimer.expires_after(std::chrono::milliseconds(timeoutMs));
  masterTimer.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    master.timeout();
    reconcile();
  });
}

void TetherManager::Impl::stateChanged(int newState, const Error* error) {
  auto s = static_cast<MState>(newState);
  if (error) log::error("tethering: ", TetherMasterMachine::stateName(s), ": ", error->message);
  else log::info("tethering: ", TetherMasterMachine::stateName(s));
  emit({events::TetherStateChanged{std::nullopt, TetherMasterMachine::stateName(s),
                                   error ? std::optional<Error>(*error) : std::nullopt}});
}

void TetherManager::Impl::armTimer(const std::string& ifname, int timeoutMs) {
  auto* d = find(ifname);
  if (!d) return;
  d->timer.expires_after(std::chrono::milliseconds(timeoutMs));
  d->timer.async_wait([this, ifname](boost::system::error_code ec) {
    if (ec) return;
    if (auto* dd = find(ifname)) dd->machine->timeout();
    reconcile();
  });
}

void TetherManager::Impl::cancelTimer(const std::string& ifname) {
  if (auto* d = find(ifname)) d->timer.cancel();
}

void TetherManager::Impl::stateChanged(const std::string& ifname, int newState, const Error* error) {
  auto s = static_cast<IState>(newState);
  if (error) log::error(error->message, " (", errcName(error->code), ")");
  else log::info(ifname, ": ", TetherInterfaceMachine::stateName(s));
  emit({events::TetherStateChanged{ifname, TetherInterfaceMachine::stateName(s),
                                   error ? std::optional<Error>(*error) : std::nullopt}});
}

// ---------------------------------------------------------------------------- kernel events

void TetherManager::onNetEvent(const NetEvent& e) {
  Impl& m = *impl_;
  using T = NetEvent::Type;
  switch (e.type) {
    case T::LinkRemoved:
      m.emit({events::IfaceRemoved{e.link.name}});
      break;
    case T::LinkAdded:
    case T::LinkChanged: {
      const LinkInfo& l = e.link;
      const bool isNew = e.type == T::LinkAdded;
      if (!isNew && e.before.index == l.index && !e.before.name.empty() && e.before.name != l.name)
        m.emit({events::IfaceRemoved{e.before.name}});  // a rename
      const bool renamed = !isNew && e.before.name != l.name;
      const bool wasUp = !isNew && !renamed && e.before.adminUp && e.before.lowerUp;
      const bool nowUp = l.adminUp && l.lowerUp;
      if (isNew || renamed) m.emit({events::IfaceAdded{l.name}});
      if (isNew || renamed || wasUp != nowUp) m.emit({events::IfaceLinkState{l.name, nowUp}});
      if (auto* d = m.find(l.name); d && !isNew && !renamed && wasUp != nowUp) {
        if (nowUp) d->machine->interfaceUp();
        else d->machine->interfaceDown();
      }
      break;
    }
    case T::AddrAdded:
    case T::AddrRemoved: {
      bool added = e.type == T::AddrAdded;
      m.emit({events::AddressChanged{e.addr.ifname, e.addr.prefix, added}});
      break;
    }
    case T::RouteAdded:
    case T::RouteRemoved:
    case T::Routes6Changed:
    case T::Addrs6Changed: break;  // relay's /64 (auto) and its default route
    case T::Resync: log::warning("netlink: event overrun, the kernel's state was read again"); break;
  }
  m.reconcile();
}

void TetherManager::leasesChanged() { impl_->reconcile(); }

void TetherManager::setNeighbourSource(
    std::function<std::map<std::string, std::vector<Ipv6Address>>(const std::string& ifname)> source) {
  impl_->neighbours6 = std::move(source);
}

}  // namespace tetherd
