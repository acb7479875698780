// NdpRelay over rtnetlink: a socket of its own, each request acknowledged before the call
// returns (quick local kernel calls, like NlNetlink's); messages built by pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tether/base/ndp_wire.h"
#include "tether/system/ndp_relay.h"

namespace tetherd {


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
