// The kernel side of IPv6 relay (issue 12, tether/core/relay_plan.h): per client address a
// /128 route on its downstream and a proxy neighbour entry on the upstream. Real adapter:
// NlNdpRelay. Errors: Errc::UnknownIface for a missing interface, else Errc::IfaceCfgError
// naming the operation, the interface and the kernel's reason.
#pragma once

#include <string>

#include "tether/base/ip6.h"
#include "tether/base/result.h"

namespace tetherd {

class NdpRelay {
 public:
  virtual ~NdpRelay() = default;
  // The downstream's own address in the relayed /64, without the /64 prefix route (the
  // upstream's on-link route stays the only one) and without DAD. Idempotent.
  virtual Status addAddress(const std::string& ifname, const Ipv6Prefix& p) = 0;
  // <a>/128 dev ifname in the main table. Idempotent; removing one that is not there is success.
  virtual Status addRoute(const std::string& ifname, const Ipv6Address& a) = 0;
  virtual Status removeRoute(const std::string& ifname, const Ipv6Address& a) = 0;
  // A proxy neighbour entry (NTF_PROXY) for a on ifname. Idempotent both ways.
  virtual Status addProxy(const std::string& ifname, const Ipv6Address& a) = 0;
  virtual Status removeProxy(const std::string& ifname, const Ipv6Address& a) = 0;
  // Asks the kernel to resolve a on ifname (NTF_USE: a neighbour solicitation goes out now;
  // an answer makes a neighbour entry, which the neighbour watch sees). No route needed.
  virtual Status resolve(const std::string& ifname, const Ipv6Address& a) = 0;
};

}  // namespace tetherd
