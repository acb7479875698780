#include "tether/core/planner.h"

#include <algorithm>
#include <iterator>

#include "tether/core/address_plan.h"
#include "tether/core/idle.h"
#include "tether/core/upstream.h"
#include "tether/core/upstream_routing.h"

namespace tetherd {

namespace {

bool isCandidate(const Intent& intent, const std::string& ifname) {
  return std::find(intent.priority.begin(), intent.priority.end(), ifname) != intent.priority.end();
}

Ipv4Prefix networkOf(const Ipv4Prefix& p) { return Ipv4Prefix{p.network(), p.length}; }

// Every subnet in use, but `except`'s own: the kernel's addresses and the downstreams placed
// so far in this plan.
std::vector<Ipv4Prefix> inUse(const Facts& facts, const std::map<std::string, DownstreamPlan>& placed,
                              const std::string& except) {
  std::vector<Ipv4Prefix> out;
  const LinkInfo* own = facts.kernel.link(except);
  for (const auto& a : facts.kernel.addrs)
    if (!own || a.index != own->index) out.push_back(networkOf(a.prefix));
  for (const auto& [n, p] : placed)
    if (n != except) out.push_back(p.subnet());
  return out;
}

bool overlapsAny(const Ipv4Prefix& p, const std::vector<Ipv4Prefix>& used) {
  return std::any_of(used.begin(), used.end(), [&](const Ipv4Prefix& u) { return u.overlaps(p); });
}

// The kind's preferred subnet, clear of the other kinds' preferred ones while there is room
// elsewhere (so that a moved downstream does not push the next one out of its own).
std::optional<Ipv4Prefix> place(const Intent& intent, IfaceKind kind, const std::vector<Ipv4Prefix>& used) {
  const auto& preferred = intent.config.kind(kind).subnet;
  auto avoid = used;
  for (int k = 0; k < kIfaceKindCount; ++k)
    if (static_cast<IfaceKind>(k) != kind) avoid.push_back(intent.config.kinds[static_cast<size_t>(k)].subnet);
  auto subnet = chooseSubnet(preferred, avoid);
  if (!subnet) subnet = chooseSubnet(preferred, used);
  if (!subnet) return std::nullopt;
  return downstreamAddress(*subnet);
}

}  // namespace

bool isTracked(const Intent& intent, const std::string& ifname, IfaceKind* kind) {
  if (isCandidate(intent, ifname)) return false;  // an upstream is never a downstream
  IfaceKind k = IfaceKind::Ethernet;
  bool matches = intent.config.kindOf(ifname, k);
  if (!matches && !intent.requested.count(ifname)) return false;
  if (kind) *kind = k;
  return true;
}

std::vector<Ipv4Address> upstreamServers(const Facts& facts, const Intent& intent, const std::string& ifname) {
  auto configured = intent.config.upstreamDns.find(ifname);
  if (configured != intent.config.upstreamDns.end() && !configured->second.empty()) return configured->second;
  auto it = facts.upstreamDns.find(ifname);
  return it == facts.upstreamDns.end() ? std::vector<Ipv4Address>{} : it->second;
}

std::optional<std::string> selectUpstream(const Facts& facts, const Intent& intent) {
  return chooseUpstream(intent.priority, upstreamViews(facts, intent), intent.config.ipv6 != Ipv6Mode::Off);
}

std::map<std::string, UpstreamView> upstreamViews(const Facts& facts, const Intent& intent) {
  std::map<std::string, UpstreamView> views;
  for (const auto& name : intent.priority) {
    UpstreamView v;
    v.ifname = name;
    v.exists = facts.kernel.exists(name);
    v.up = facts.kernel.up(name);
    v.defaultRoute = facts.kernel.hasDefaultRoute(name);
    v.dns = upstreamServers(facts, intent, name);
    v.defaultRoute6 = facts.kernel.hasDefaultRoute6(name);
    v.address6 = !facts.kernel.addresses6Of(name).empty();
    if (auto it = facts.upstreamDns6.find(name); it != facts.upstreamDns6.end()) v.dns6 = it->second;
    if (auto it = facts.validation.find(name); it != facts.validation.end()) v.validation = it->second;
    views[name] = v;
  }
  return views;
}

Ipv6Mode ipv6Mode(const Facts& facts, const Intent& intent) {
  const Ipv6Mode configured = intent.config.ipv6;
  if (configured == Ipv6Mode::Off) return Ipv6Mode::Off;
  if (configured == Ipv6Mode::Pd) return facts.delegated ? Ipv6Mode::Pd : Ipv6Mode::Off;
  if (configured == Ipv6Mode::Auto && facts.delegated) return Ipv6Mode::Pd;
  if (configured == Ipv6Mode::Auto || configured == Ipv6Mode::Relay) {
    auto up = selectUpstream(facts, intent);
    if (up && relayPrefix(facts.kernel, *up, facts.relaying)) return Ipv6Mode::Relay;
    if (configured == Ipv6Mode::Relay) return Ipv6Mode::Off;
  }
  if (!facts.ula48) return Ipv6Mode::Off;
  return Ipv6Mode::Nat66;
}

namespace {

// Each configured downstream's /64 of the ULA /48, in name order: the subnet ID its name
// hashes to, or the next free one.
void placeIpv6(const Facts& facts, std::map<std::string, DownstreamPlan>& configured) {
  std::set<uint16_t> taken;
  for (auto& [name, p] : configured) {
    if (p.ipv6 == Ipv6Mode::Pd || p.ipv6 == Ipv6Mode::Relay) continue;
    if (!facts.ula48) continue;
    uint16_t id = subnetIdFor(name);
    while (!taken.insert(id).second) ++id;
    p.ipv6 = Ipv6Mode::Nat66;
    p.address6 = subnet64Router(*facts.ula48, id);
  }
}

// The IPv6 addresses of each counted client (a lease's MAC in the neighbour table) join its
// IPv4 one: counted in the IPv6 tables, and held to the same quota (quotaOf by address).
void addClientAddresses6(const Facts& facts, FirewallState& fw) {
  for (auto& [name, addresses] : fw.clients) {
    auto neighbours = facts.clientAddrs6.find(name);
    auto leases = facts.clientLeases.find(name);
    if (neighbours == facts.clientAddrs6.end() || leases == facts.clientLeases.end()) continue;
    for (const auto& l : leases->second) {
      auto own = neighbours->second.find(l.mac);
      if (own == neighbours->second.end()) continue;
      auto quota = fw.quotaOf.find(l.ip.str());
      for (const auto& a : own->second) {
        addresses.insert(a.str());
        if (quota != fw.quotaOf.end()) fw.quotaOf[a.str()] = quota->second;
      }
    }
  }
}

// relay: every configured downstream gets an address in the upstream's /64 (<pfx>::ffff:<id>,
// the ID its name hashes to, or the next free one).
void placeRelay(const Ipv6Prefix& prefix, std::map<std::string, DownstreamPlan>& configured) {
  std::set<uint16_t> taken{0};
  for (auto& [name, p] : configured) {
    uint16_t id = subnetIdFor(name);
    while (!taken.insert(id).second) ++id;
    p.ipv6 = Ipv6Mode::Relay;
    p.address6 = relayRouterAddress(prefix, id);
  }
}

// relay: each forwarding downstream's clients' addresses in the /64 (any MAC the neighbour
// table knows there, with or without a DHCPv4 lease), routed back and proxied; a blocked MAC's
// never: the upstream router would be answered for it (the firewall drops its traffic anyway).
RelayState planRelay(const Facts& facts, const std::string& upstream, const Ipv6Prefix& prefix,
                     const std::map<std::string, DownstreamPlan>& configured, const std::set<std::string>& routed,
                     const std::set<std::string>& blocked) {
  RelayState r;
  std::set<Ipv6Address> seen;  // an address moved to another downstream: the first one keeps it
  r.upstream = upstream;
  r.prefix = prefix;
  for (const auto& name : routed) {
    auto p = configured.find(name);
    if (p == configured.end() || p->second.ipv6 != Ipv6Mode::Relay) continue;
    r.downstreams.insert(name);
    auto clients = facts.clientAddrs6.find(name);
    if (clients == facts.clientAddrs6.end()) continue;
    for (const auto& [mac, addresses] : clients->second) {
      if (blocked.count(mac)) continue;
      for (const auto& a : addresses) {
        bool own = false;
        for (const auto& [n, q] : configured) own = own || (q.address6 && q.address6->address == a);
        if (!prefix.contains(a) || own || r.hosts.size() >= kMaxRelayHosts || !seen.insert(a).second) continue;
        r.hosts.insert(RelayHost{name, a});
      }
    }
  }
  return r;
}

}  // namespace

Desired plan(const Facts& facts, const Intent& intent) {
  Desired d;
  if (intent.stopping) return d;  // nothing of tetherd's at all
  d.upstream = selectUpstream(facts, intent);

  // Which interfaces are downstreams, and which of them should be tethered.
  for (const auto& name : facts.kernel.names()) {
    IfaceKind kind;
    if (!isTracked(intent, name, &kind)) continue;
    d.tracked[name] = kind;
    bool want = intent.tethering && (intent.requested.count(name) ||
                                     (!intent.unrequested.count(name) && intent.config.kind(kind).autoTether));
    if (want) d.wanted.insert(name);
  }

  // Addresses: a downstream keeps the one it has while it overlaps nothing else; the others
  // are placed afterwards, in name order.
  std::vector<std::string> toPlace;
  for (const auto& [name, stage] : facts.stages) {
    if (stage == Stage::Idle || !d.tracked.count(name)) continue;
    DownstreamPlan p;
    p.kind = d.tracked[name];
    p.accessPoint = facts.accessPoints.count(name) > 0;
    auto have = facts.assigned.find(name);
    if (have != facts.assigned.end() && !overlapsAny(networkOf(have->second), inUse(facts, d.configured, name))) {
      p.address = have->second;
      d.configured[name] = p;
    } else {
      toPlace.push_back(name);
    }
  }
  for (const auto& name : toPlace) {
    auto address = place(intent, d.tracked[name], inUse(facts, d.configured, name));
    if (!address) {
      d.noSubnet.insert(name);
      continue;
    }
    DownstreamPlan p;
    p.kind = d.tracked[name];
    p.accessPoint = facts.accessPoints.count(name) > 0;
    p.address = *address;
    d.configured[name] = p;
  }

  const Ipv6Mode v6 = ipv6Mode(facts, intent);
  if (v6 == Ipv6Mode::Pd) {
    // A /64 of the delegation each, numbers kept in state_dir; the rest fall back to nat66.
    std::set<std::string> names;
    for (const auto& [name, p] : d.configured) names.insert(name);
    PdCarve carve = carvePdSubnets(facts.delegated->prefix, names, facts.pdSubnets);
    for (const auto& [name, router] : carve.routers) {
      d.configured[name].ipv6 = Ipv6Mode::Pd;
      d.configured[name].address6 = router;
      d.configured[name].lease6 = facts.delegated;
    }
    d.pdSubnets = std::move(carve.subnets);
    d.pdLeft = std::move(carve.left);
  }
  const auto relayed = v6 == Ipv6Mode::Relay && d.upstream ? relayPrefix(facts.kernel, *d.upstream, facts.relaying) : std::nullopt;
  if (relayed) placeRelay(*relayed, d.configured);
  if (v6 != Ipv6Mode::Off && v6 != Ipv6Mode::Relay) placeIpv6(facts, d.configured);
  for (auto& [name, p] : d.configured) p.localOnly = intent.config.localOnly(name, p.kind);
  bool anyNat66 = false;
  for (const auto& [name, p] : d.configured) anyNat66 = anyNat66 || p.ipv6 == Ipv6Mode::Nat66;

  // tetherd's chains: while the master has them set up, or anything else needs a rule.
  FirewallState fw;
  fw.ipv6 = v6 != Ipv6Mode::Off;
  for (const auto& [name, stage] : facts.stages) {
    if (stage != Stage::Forwarding || !d.configured.count(name)) continue;
    fw.downstreams.insert(name);
    const DownstreamPlan& p = d.configured[name];
    if (auto timeout = idleTimeoutSec(intent.config, p.kind, p.accessPoint))
      fw.idleTimers[name] = IdleTimer{fw::idleTimerLabel(facts.netns, name), static_cast<uint32_t>(*timeout)};
    if (p.localOnly) fw.localOnly.insert(name);
    else if (d.upstream) fw.pairs.insert(NatPair{name, *d.upstream});
  }
  for (const auto& p : intent.manualNat) fw.pairs.insert(p);
  for (const auto& name : fw.downstreams)
    if (auto it = facts.clientLeases.find(name); it != facts.clientLeases.end())
      for (const auto& l : it->second) {
        fw.clients[name].insert(l.ip.str());
        auto q = intent.quotas.clients.find(l.mac);
        if (q == intent.quotas.clients.end()) continue;
        auto used = facts.quotaUse.clients.find(l.mac);
        fw.quotaOf[l.ip.str()] = l.mac;
        fw.quotaLeft[l.mac] = quotaRemaining(q->second.bytes, used == facts.quotaUse.clients.end() ? 0 : used->second);
      }
  // A downstream's quota holds all it forwards, whoever the client.
  for (const auto& [name, q] : intent.quotas.downstreams) {
    if (!fw.downstreams.count(name) || fw.localOnly.count(name)) continue;
    auto used = facts.quotaUse.downstreams.find(name);
    fw.downstreamQuotaLeft[name] = quotaRemaining(q.bytes, used == facts.quotaUse.downstreams.end() ? 0 : used->second);
  }
  if (fw.ipv6) addClientAddresses6(facts, fw);
  if (v6 == Ipv6Mode::Nat66 || anyNat66)
    for (const auto& p : fw.pairs) fw.nat66.insert(p.upstream);
  const bool blocking = !intent.blocked.empty() && !d.configured.empty();
  if (blocking) {
    fw.blockedMacs = intent.blocked;
    for (const auto& [name, p] : d.configured) fw.blockOn.insert(name);
  }
  if (!intent.adminPorts.empty()) {
    fw.adminPorts = intent.adminPorts;
    for (const auto& u : intent.priority) fw.upstreams.insert(u);
    if (d.upstream) fw.upstreams.insert(*d.upstream);
    for (const auto& p : fw.pairs) fw.upstreams.insert(p.upstream);
  }
  std::set<std::string> routed;
  std::set_difference(fw.downstreams.begin(), fw.downstreams.end(), fw.localOnly.begin(), fw.localOnly.end(),
                      std::inserter(routed, routed.end()));
  d.routing = planRouting(facts, intent, d.upstream, routed);
  if (relayed && facts.ipForwarding) d.relay = planRelay(facts, *d.upstream, *relayed, d.configured, routed, intent.blocked);
  if (facts.chains || !fw.pairs.empty() || !fw.downstreams.empty() || !intent.adminPorts.empty() || blocking)
    d.firewall = fw;

  if (facts.dns) {
    if (!intent.dnsOverride.empty()) d.dns = intent.dnsOverride;
    // An IPv6-only upstream (selected without an IPv4 default) reaches no IPv4 server.
    else if (d.upstream && facts.kernel.hasDefaultRoute(*d.upstream)) d.dns = upstreamServers(facts, intent, *d.upstream);
    else d.dns = std::vector<Ipv4Address>{};
    if (auto it = d.upstream ? facts.upstreamDns6.find(*d.upstream) : facts.upstreamDns6.end();
        v6 != Ipv6Mode::Off && intent.dnsOverride.empty() && it != facts.upstreamDns6.end())
      d.dns6 = it->second;
  }
  d.ipfwdRequesters = intent.ipfwdRequesters;
  if (facts.ipForwarding) d.ipfwdRequesters.insert("tethering");
  // IPv6 forwarding with tethering's forwarding; the upstream keeps accepting RAs meanwhile
  // (a forwarding interface ignores them at accept_ra=1).
  if (v6 != Ipv6Mode::Off && facts.ipForwarding) {
    d.sysctls["net/ipv6/conf/all/forwarding"] = "1";
    if (d.upstream) d.sysctls["net/ipv6/conf/" + *d.upstream + "/accept_ra"] = "2";
    // relay: the kernel answers the upstream router's solicitations for the proxied addresses.
    if (!d.relay.upstream.empty()) d.sysctls["net/ipv6/conf/" + d.relay.upstream + "/proxy_ndp"] = "1";
  }
  // A downstream's link-local address skips duplicate address detection (set before the link
  // comes up): while it is tentative the router cannot answer a client's first router
  // solicitation, and the client asks again only 4 s later (bench/online6.py measured 7.6 s to a
  // first IPv6 fetch with DAD, 3.1 s without). tetherd owns the link the downstream serves.
  for (const auto& [name, p] : d.configured)
    if (p.address6) d.sysctls["net/ipv6/conf/" + name + "/accept_dad"] = "0";
  // Flowtable offload (offload.h): offloaded flows are counted from conntrack's accounting.
  if (intent.config.offload == OffloadMode::Software && facts.ipForwarding) d.sysctls["net/netfilter/nf_conntrack_acct"] = "1";
  if (anyLimits(intent.config, intent.clientLimits)) {
    std::map<std::string, ShapingSite> sites;
    for (const auto& [name, p] : d.configured) {
      auto it = facts.clientLeases.find(name);
      sites[name] = {p.kind, it != facts.clientLeases.end() ? it->second : std::vector<Lease>{}};
      if (auto a6 = facts.clientAddrs6.find(name); v6 != Ipv6Mode::Off && a6 != facts.clientAddrs6.end())
        sites[name].addrs6 = a6->second;
    }
    d.shaping = planShaping(intent.config, intent.clientLimits, sites, facts.fqCodel);
  }
  return d;
}

}  // namespace tetherd
