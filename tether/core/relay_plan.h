// IPv6 relay mode (issue 12 point 3), the pure part: whether the upstream has a /64 to share,
// the downstreams' own addresses in it, and the desired kernel state per client address.
//
// Relay shares the upstream's on-link /64 (SLAAC from its router advertisements, common on
// mobile networks, no delegated prefix) with every downstream, as odhcpd's relay mode and
// Android do (ipv6-facts.md section 4, verified in namespaces):
//   - each downstream gets <prefix>::ffff:<id>/64 without a prefix route, and its dnsmasq
//     announces the /64 off-link (L=0, A=1): clients make SLAAC addresses in it and send
//     everything, even to each other, through the router;
//   - per client address (the neighbour table, NeighbourWatch): a /128 route on its downstream
//     (the return path, main table; several downstreams work alike) and a proxy neighbour
//     entry on the upstream, answered by the kernel while proxy_ndp=1 there;
//   - the appliance keeps its own /64 on-link route and default route on the upstream.
#pragma once

#include <compare>
#include <optional>
#include <set>
#include <string>

#include "tether/base/ip6.h"
#include "tether/system/kernel_view.h"

namespace tetherd {

struct RelayHost {
  std::string downstream;  // where the client is (the /128 route's device)
  Ipv6Address address;     // the client's address in the relayed /64
  auto operator<=>(const RelayHost&) const = default;
};

struct RelayState {
  std::string upstream;             // "" while nothing is relayed (then no hosts)
  std::optional<Ipv6Prefix> prefix{};  // the relayed /64 (network)
  std::set<std::string> downstreams{};  // relaying downstreams that forward
  std::set<RelayHost> hosts{};      // a /128 route on downstream and a proxy entry on upstream each
  bool operator==(const RelayState&) const = default;
};

// At most this many client addresses are relayed (each costs a route and a proxy entry);
// the neighbour watch keeps at most 8 per client.
constexpr size_t kMaxRelayHosts = 1024;

// The /64 the upstream has on-link from router advertisements, or nullopt: the network of its
// lowest global (2000::/3) autoconfigured address (not IFA_F_PERMANENT, deprecated or failed
// DAD) of length 64, while it has an IPv6 default route. `held`, the /64 relayed now, is kept
// while the upstream still has such an address in it, even without the default route: the
// kernel drops and re-adds the RA default route now and then (seen in the lab right after the
// first relayed traffic), and each flap would restart the downstreams' dnsmasq.
std::optional<Ipv6Prefix> relayPrefix(const KernelView& kernel, const std::string& upstream,
                                      const std::optional<Ipv6Prefix>& held = std::nullopt);

// Whether the upstream has such an address (route or not): doctor's reason why not relayed.
bool hasSlaac64(const KernelView& kernel, const std::string& upstream);

// A downstream's own address in the relayed /64: <prefix>::ffff:<id>/64.
Ipv6Prefix relayRouterAddress(const Ipv6Prefix& prefix, uint16_t id);

}  // namespace tetherd
