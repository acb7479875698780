// Per-upstream routing, the plan and its application (policy_routing.h has the model).
//
// planRouting (pure, part of plan()): each upstream candidate (by its place in the priority
// list) gets table tableFirst + place, holding a copy of its default routes (from the kernel
// view: main's when it has one there, else those of the lowest-numbered other table that has
// one; never tetherd's own, which the view does not learn) and of its connected subnets.
// Rules, for each downstream that forwards while an upstream is selected:
//   priorityFirst     iif <downstream> lookup main suppress_prefixlength 0   (local subnets:
//                     the other downstreams, the upstreams' own; never main's default)
//   priorityFirst + 1 iif <downstream> lookup <selected upstream's table>
// and the same two for dnsmasq's user (uidrange): the clients' DNS queries, forwarded by
// dnsmasq, leave by the selected upstream too
// and for each candidate with routes:
//   priorityFirst + 2 oif <candidate> lookup <its table>   (a socket bound to it, e.g. its
//                     health probe, leaves through its own gateway, not main's)
// IPv6, while the downstreams have it (ipv6Mode is not off): each candidate's IPv6 defaults
// (an RA's via its link-local router, or static; one per metric, but every nexthop of a
// multipath route) go into the same table, and
// the same rules exist for family 6 (the oif rule for a candidate with an IPv6 default, the
// downstreams' and dnsmasq's for a selected upstream with one).
// The appliance's own unbound traffic matches none of them. A switch changes only the table
// of the priorityFirst + 1 rules; RoutingApplier adds before it removes, so there is no
// moment without a rule.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "tether/core/planner.h"
#include "tether/system/policy_routing.h"

namespace tetherd {

RoutingRange routingRange(const Config& config);
// The candidate's table, or none (not a candidate, or past the end of the range).
std::optional<uint32_t> upstreamTable(const Intent& intent, const std::string& ifname);

RoutingState planRouting(const Facts& facts, const Intent& intent, const std::optional<std::string>& upstream,
                         const std::set<std::string>& forwarding);

// Applies RoutingStates through the port, doing only the difference from the last one, in
// the order routes added, rules added, rules removed, routes removed. Records only what
// succeeded. Without a port (policy routing off, unit tests of other parts) it does nothing.
class RoutingApplier {
 public:
  explicit RoutingApplier(PolicyRouting* port) : port_(port) {}
  Status apply(const RoutingState& want);
  // Everything in the range goes (a crash's leftovers at start; at stop); forgets what it applied.
  Status reset(const RoutingRange& range);
  const RoutingState& applied() const { return have_; }

 private:
  PolicyRouting* port_;
  RoutingState have_;
};

}  // namespace tetherd
