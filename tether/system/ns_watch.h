// NsWatch (IPv6 relay, issue 12): the neighbour solicitations on one link (the relaying
// upstream), in and out, whose target is in one /64, reported by target (manager_relay.cpp).
// The upstream router solicits a client's address (to its solicited-node group, not joined
// for unknown addresses) before forwarding to it, and the appliance solicits it there when it
// answers the client itself (DNS): a cooked AF_PACKET socket on that link (ETH_P_ALL: a socket
// of one protocol sees no outgoing packets), in all-multicast mode (PACKET_MR_ALLMULTI, released with the socket), with a classic
// BPF filter passing only ICMPv6 135/0, hop limit 255, target in the /64 (no extension headers).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tether/base/ip6.h"
#include "tether/base/ndp_wire.h"
#include "tether/base/result.h"

namespace tetherd {

class NsWatch {
 public:
  NsWatch(boost::asio::io_context& io, std::function<void(const Ipv6Address&)> onTarget);
  ~NsWatch();
  Status watch(const std::string& ifname, const Ipv6Prefix& prefix64);  // replaces what was watched
  void stop();

 private:
  void read();
  boost::asio::posix::stream_descriptor fd_;
  std::function<void(const Ipv6Address&)> onTarget_;
  alignas(8) std::array<uint8_t, 256> buf_{};
};

}  // namespace tetherd
