#include "tether/core/relay_plan.h"

#include <linux/if_addr.h>

namespace tetherd {

namespace {

// A global /64 address learnt from router advertisements (a tentative one counts: at boot auto
// would otherwise start in nat66 for DAD's second).
bool slaac64(const Addr6Info& a) {
  return a.prefix.length == 64 && (a.prefix.address.bytes[0] & 0xe0) == 0x20 &&
         (a.flags & (IFA_F_PERMANENT | IFA_F_DEPRECATED | IFA_F_DADFAILED)) == 0;
}

}  // namespace

bool hasSlaac64(const KernelView& kernel, const std::string& upstream) {
  for (const auto& a : kernel.addresses6Of(upstream))
    if (slaac64(a)) return true;
  return false;
}

std::optional<Ipv6Prefix> relayPrefix(const KernelView& kernel, const std::string& upstream,
                                      const std::optional<Ipv6Prefix>& held) {
  if (upstream.empty()) return std::nullopt;
  const bool route = kernel.hasDefaultRoute6(upstream);
  std::optional<Ipv6Prefix> best;
  for (const auto& a : kernel.addresses6Of(upstream)) {
    if (!slaac64(a)) continue;
    Ipv6Prefix net{a.prefix.network(), 64};
    if (!route && net == held) return held;
    if (!best || net < *best) best = net;
  }
  return route ? best : std::nullopt;
}

Ipv6Prefix relayRouterAddress(const Ipv6Prefix& prefix, uint16_t id) {
  Ipv6Prefix p{prefix.network(), 64};
  p.address.bytes[12] = 0xff;
  p.address.bytes[13] = 0xff;
  p.address.bytes[14] = static_cast<uint8_t>(id >> 8);
  p.address.bytes[15] = static_cast<uint8_t>(id & 0xff);
  return p;
}

}  // namespace tetherd
