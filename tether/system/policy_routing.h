// Per-upstream policy routing as plain values, and the narrow port that puts them in the
// kernel. Each upstream candidate gets a routing table of tetherd's own (a configured range of
// table numbers) holding a copy of its routes; policy rules (a configured range of rule
// priorities) send what arrives from tethered downstreams into the selected upstream's table,
// and what a socket bound to a candidate sends (its health probes) into that candidate's
// table. The appliance's own unbound traffic matches none of them and follows the main table.
//
// The same table number serves both address families; a rule or route names its family, so
// IPv6 adds its own routes and rules to the same tables. The pure planner decides the state
// (tether/core/upstream_routing.h); the real adapter is NlRouting (nl_routing.h).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "tether/base/ip.h"
#include "tether/base/ip6.h"
#include "tether/base/result.h"

namespace tetherd {

// The table numbers and rule priorities tetherd owns: everything in them is tetherd's, so a
// crash's leftovers can be found and removed without a record.
struct RoutingRange {
  uint32_t tableFirst = 0, tableLast = 0;
  uint32_t priorityFirst = 0, priorityLast = 0;
  bool ownsTable(uint32_t t) const { return t >= tableFirst && t <= tableLast; }
  bool ownsPriority(uint32_t p) const { return p >= priorityFirst && p <= priorityLast; }
  auto operator<=>(const RoutingRange&) const = default;
};

// One route in one of tetherd's tables: "<dst> [via <gateway>] dev <ifname> metric <m>".
// A route without a gateway is on-link (scope link). Family 6 uses dst6 and gateway6 (an RA's
// link-local router, or a static one) instead of dst and gateway.
struct TableRoute {
  uint32_t table = 0;
  int family = 4;  // 4 or 6
  Ipv4Prefix dst;
  Ipv4Address gateway;  // 0.0.0.0: on-link
  std::string ifname;
  int ifindex = 0;  // the link it was planned for: a re-created link gets its routes again
  uint32_t metric = 0;
  Ipv6Prefix dst6{};        // family 6: ::/0 is default
  Ipv6Address gateway6{};   // family 6: :: is on-link
  // Like `ip route`: "table 9200 default via 203.0.113.1 dev eth0 metric 100"; family 6
  // starts with "-6 ": "-6 table 9200 default via fe80::1 dev eth0 metric 1024".
  std::string str() const;
  auto operator<=>(const TableRoute&) const = default;
};

// One policy rule: "pref <p> [iif <if>] [oif <if>] lookup <table> [suppress_prefixlength 0]".
struct PolicyRule {
  uint32_t priority = 0;
  int family = 4;
  std::string iif;  // empty: any
  std::string oif;  // empty: any
  uint32_t table = 0;
  bool suppressDefault = false;  // suppress_prefixlength 0: only more specific routes than default
  std::optional<uint32_t> uid{};  // uidrange <uid>-<uid>: the sockets of one user (dnsmasq's)
  // Like `ip rule`: "9200: iif usb0 lookup main suppress_prefixlength 0"; family 6 starts with "-6 ".
  std::string str() const;
  auto operator<=>(const PolicyRule&) const = default;
};

constexpr uint32_t kMainTable = 254;

struct RoutingState {
  std::set<TableRoute> routes;
  std::set<PolicyRule> rules;
  bool operator==(const RoutingState&) const = default;
  bool empty() const { return routes.empty() && rules.empty(); }
};

// The port. Errors name the operation and the kernel's reason.
class PolicyRouting {
 public:
  virtual ~PolicyRouting() = default;
  // Creates the route. IPv4: replaces one with the same table, destination and metric. IPv6:
  // one there with another gateway stays, and the kernel makes both one multipath route (a
  // multipath route's nexthops are added one by one); the same route already there is success.
  virtual Status addRoute(const TableRoute& r) = 0;
  // A route that is not there (any more) is success.
  virtual Status deleteRoute(const TableRoute& r) = 0;
  // A rule already there is success.
  virtual Status addRule(const PolicyRule& r) = 0;
  // A rule that is not there is success.
  virtual Status deleteRule(const PolicyRule& r) = 0;
  // Removes every rule with a priority in the range and every route in a table of the range,
  // both families (a crash's leftovers, and at stop). Returns how many went.
  virtual Result<int> flush(const RoutingRange& range) = 0;
};

}  // namespace tetherd
