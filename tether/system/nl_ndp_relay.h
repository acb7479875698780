// NdpRelay over rtnetlink: a socket of its own, each request acknowledged before the call
// returns (quick local kernel calls, like NlNetlink's); messages built by pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tether/system/ndp_relay.h"

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

class NlNdpRelay : public NdpRelay {
 public:
  NlNdpRelay() = default;
  ~NlNdpRelay() override;
  Status addAddress(const std::string& ifname, const Ipv6Prefix& p) override;
  Status addRoute(const std::string& ifname, const Ipv6Address& a) override;
  Status removeRoute(const std::string& ifname, const Ipv6Address& a) override;
  Status addProxy(const std::string& ifname, const Ipv6Address& a) override;
  Status removeProxy(const std::string& ifname, const Ipv6Address& a) override;
  Status resolve(const std::string& ifname, const Ipv6Address& a) override;

 private:
  Status request(const std::string& ifname, const std::function<std::vector<uint8_t>(int)>& build,
                 const std::string& operation, bool absentOk, bool existsOk);
  int fd_ = -1;
  uint32_t seq_ = 0;
};

}  // namespace tetherd
