#include "tether/core/upstream_routing.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "tether/base/log.h"

namespace tetherd {

RoutingRange routingRange(const Config& c) {
  return RoutingRange{c.routeTableFirst, c.routeTableLast, c.rulePriorityFirst, c.rulePriorityLast};
}

std::optional<uint32_t> upstreamTable(const Intent& intent, const std::string& ifname) {
  auto it = std::find(intent.priority.begin(), intent.priority.end(), ifname);
  if (it == intent.priority.end()) return std::nullopt;
  const auto range = routingRange(intent.config);
  uint64_t table = uint64_t{range.tableFirst} + static_cast<uint64_t>(it - intent.priority.begin());
  if (table > range.tableLast) return std::nullopt;
  return static_cast<uint32_t>(table);
}

namespace {

// A candidate's default routes as mirrored: main's when it has any there (what the system
// itself uses, whatever else holds a copy), else those of the lowest-numbered table that has
// one (a DHCP client's or NetworkManager's table of its own).
template <class Route>
std::vector<Route> defaultsOf(const std::vector<Route>& routes, int index) {
  std::optional<uint32_t> table;
  for (const auto& r : routes) {
    if (r.index != index) continue;
    if (!table || r.table == kMainTable || (*table != kMainTable && r.table < *table)) table = r.table;
  }
  std::vector<Route> out;
  for (const auto& r : routes)
    if (r.index == index && r.table == table) out.push_back(r);
  return out;
}

// The candidate's IPv4 defaults and connected subnets into its table, and the rule for
// sockets bound to it; false when it has no default (then no table). One default per metric,
// the lowest gateway: IPv4 routes are added with NLM_F_REPLACE, so a second nexthop of a
// multipath default (or a second default at one metric) would silently replace the first in
// the kernel while the plan still held both; the copy uses one of its gateways instead.
bool mirror4(RoutingState& s, const Facts& facts, const RoutingRange& range, const std::string& name, int index,
             uint32_t table) {
  auto routes = defaultsOf(facts.kernel.routes, index);
  std::sort(routes.begin(), routes.end(),
            [](const DefaultRoute& a, const DefaultRoute& b) { return std::pair(a.metric, a.gateway.value) < std::pair(b.metric, b.gateway.value); });
  bool any = false;
  std::set<uint32_t> metrics;
  for (const auto& r : routes) {
    if (!metrics.insert(r.metric).second) continue;
    s.routes.insert(TableRoute{table, 4, Ipv4Prefix{}, r.gateway, name, index, r.metric});
    any = true;
  }
  if (!any) return false;  // nothing to reach the internet by: no table
  for (const auto& a : facts.kernel.addressesOf(name)) {
    if (a.prefix.length >= 32 || a.prefix.length == 0) continue;
    s.routes.insert(TableRoute{table, 4, Ipv4Prefix{a.prefix.network(), a.prefix.length}, Ipv4Address{}, name, index, 0});
  }
  s.rules.insert(PolicyRule{range.priorityFirst + 2, 4, "", name, table, false});
  return true;
}

// The same for IPv6: its defaults (an RA's link-local router, or a static one) into the same
// table. Separate routes at one metric (two routers' RAs) give one copy, the lowest gateway
// (the kernel keeps such routes apart and picks a reachable router; two static copies would
// be merged into a multipath route instead). A multipath route's nexthops on this candidate
// are all copied: the kernel merges copies of the same metric into one multipath route again
// (NlRouting adds IPv6 routes with NLM_F_APPEND). Its on-link prefixes (those of its global
// and unique local addresses) go in too, before the defaults (metric 0 sorts first): the kernel
// checks a global gateway (a static default via 2001:db8:2::1) by a lookup in the table the
// route goes into and, failing that, through the rules, where the candidate's own oif rule
// finds its old table's default route; either answer with a gateway refuses the route
// (EHOSTUNREACH), as it was when a new priority list moved a candidate to another table.
// Forwarded traffic still finds on-link destinations in main (the suppress_prefixlength rule).
bool mirror6(RoutingState& s, const Facts& facts, const RoutingRange& range, const std::string& name, int index,
             uint32_t table) {
  auto routes = defaultsOf(facts.kernel.routes6, index);
  // Multipath nexthops first at each metric, then by gateway.
  std::sort(routes.begin(), routes.end(), [](const DefaultRoute6& a, const DefaultRoute6& b) {
    return std::tuple(a.metric, !a.multipath, a.gateway) < std::tuple(b.metric, !b.multipath, b.gateway);
  });
  std::map<uint32_t, bool> metrics;  // metric -> mirrored from a multipath route
  for (const auto& r : routes) {
    auto [it, fresh] = metrics.emplace(r.metric, r.multipath);
    if (!fresh && !(it->second && r.multipath)) continue;
    s.routes.insert(TableRoute{table, 6, {}, {}, name, index, r.metric, Ipv6Prefix{}, r.gateway});
  }
  if (metrics.empty()) return false;
  for (const auto& a : facts.kernel.addresses6Of(name)) {
    if (a.prefix.length == 0 || a.prefix.length >= 128) continue;
    s.routes.insert(TableRoute{table, 6, {}, {}, name, index, 0, Ipv6Prefix{a.prefix.network(), a.prefix.length}, {}});
  }
  s.rules.insert(PolicyRule{range.priorityFirst + 2, 6, "", name, table, false});
  return true;
}

// What arrives from the forwarding downstreams (and dnsmasq's queries for their clients) into
// the selected upstream's table, local subnets first from main.
void steer(RoutingState& s, const Facts& facts, const RoutingRange& range, int family, uint32_t table,
           const std::set<std::string>& forwarding) {
  for (const auto& ds : forwarding) {
    s.rules.insert(PolicyRule{range.priorityFirst, family, ds, "", kMainTable, true});
    s.rules.insert(PolicyRule{range.priorityFirst + 1, family, ds, "", table, false});
  }
  // The clients' DNS: dnsmasq forwards their queries as its own user; they follow the
  // clients' traffic, not main's default.
  if (!forwarding.empty() && facts.dnsmasqUid) {
    s.rules.insert(PolicyRule{range.priorityFirst, family, "", "", kMainTable, true, facts.dnsmasqUid});
    s.rules.insert(PolicyRule{range.priorityFirst + 1, family, "", "", table, false, facts.dnsmasqUid});
  }
}

}  // namespace

RoutingState planRouting(const Facts& facts, const Intent& intent, const std::optional<std::string>& upstream,
                         const std::set<std::string>& forwarding) {
  RoutingState s;
  if (!intent.config.policyRouting) return s;
  const auto range = routingRange(intent.config);
  const bool v6 = ipv6Mode(facts, intent) != Ipv6Mode::Off;  // IPv6 only while the downstreams have it
  std::set<std::string> withRoutes, withRoutes6;
  for (const auto& name : intent.priority) {
    auto table = upstreamTable(intent, name);
    const LinkInfo* link = facts.kernel.link(name);
    if (!table || !link || !facts.kernel.up(name)) continue;
    if (mirror4(s, facts, range, name, link->index, *table)) withRoutes.insert(name);
    if (v6 && mirror6(s, facts, range, name, link->index, *table)) withRoutes6.insert(name);
  }
  if (!upstream) return s;
  if (withRoutes.count(*upstream)) steer(s, facts, range, 4, *upstreamTable(intent, *upstream), forwarding);
  if (withRoutes6.count(*upstream)) steer(s, facts, range, 6, *upstreamTable(intent, *upstream), forwarding);
  return s;
}

Status RoutingApplier::apply(const RoutingState& want) {
  if (!port_ || want == have_) return {};
  Status first;
  auto keep = [&](Status st) {
    if (!st && first) first = st;
    return st.ok();
  };
  for (const auto& r : want.routes)
    if (!have_.routes.count(r) && keep(port_->addRoute(r))) have_.routes.insert(r);
  for (const auto& r : want.rules)
    if (!have_.rules.count(r) && keep(port_->addRule(r))) have_.rules.insert(r);
  for (auto it = have_.rules.begin(); it != have_.rules.end();) {
    if (!want.rules.count(*it) && keep(port_->deleteRule(*it))) it = have_.rules.erase(it);
    else ++it;
  }
  for (auto it = have_.routes.begin(); it != have_.routes.end();) {
    if (!want.routes.count(*it) && keep(port_->deleteRoute(*it))) it = have_.routes.erase(it);
    else ++it;
  }
  if (!first) log::warning("policy routing: ", first.error().message);
  return first;
}

Status RoutingApplier::reset(const RoutingRange& range) {
  have_ = {};
  if (!port_) return {};
  auto n = port_->flush(range);
  if (!n) return n.error();
  if (*n > 0) log::notice("removed ", *n, " policy rule(s) and route(s) left in tetherd's tables");
  return {};
}

}  // namespace tetherd
