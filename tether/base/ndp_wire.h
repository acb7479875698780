// IPv6 relay's wire formats (issue 12), pure: the rtnetlink requests NlNdpRelay sends, and the
// classic BPF filter and parser NsWatch uses for neighbour solicitations. Tested byte for byte.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "tether/base/ip6.h"

namespace tetherd {

namespace relaynl {
// The rtnetlink requests, without the sequence number (0): RTM_NEWROUTE / RTM_DELROUTE of
// <a>/128 dev index (main table, RTPROT_STATIC, metric 1024); RTM_NEWNEIGH / RTM_DELNEIGH of a
// proxy entry; RTM_NEWNEIGH with NTF_USE (resolve); RTM_NEWADDR with IFA_F_NODAD |
// IFA_F_NOPREFIXROUTE.
std::vector<uint8_t> routeRequest(bool add, int index, const Ipv6Address& a);
std::vector<uint8_t> proxyRequest(bool add, int index, const Ipv6Address& a);
std::vector<uint8_t> resolveRequest(int index, const Ipv6Address& a);
std::vector<uint8_t> addressRequest(int index, const Ipv6Prefix& p);
}  // namespace relaynl

// The filter (offsets from the IPv6 header): an IPv6 packet, next header 58, hop limit 255, ICMPv6 135 code 0,
// the target's first 64 bits equal to the /64's; and the target of a solicitation it passed.
std::vector<sock_filter> nsFilter(const Ipv6Prefix& prefix64);
std::optional<Ipv6Address> solicitedTarget(const uint8_t* packet, size_t size);

}  // namespace tetherd
