#include "tether/system/ns_watch.h"

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tether/base/log.h"

namespace tetherd {

NsWatch::NsWatch(boost::asio::io_context& io, std::function<void(const Ipv6Address&)> onTarget)
    : fd_(io), onTarget_(std::move(onTarget)) {}

NsWatch::~NsWatch() { stop(); }
void NsWatch::stop() {
  if (boost::system::error_code ec; fd_.is_open()) fd_.close(ec);  // all-multicast goes with the socket
}

Status NsWatch::watch(const std::string& ifname, const Ipv6Prefix& prefix64) {
  stop();
  const unsigned index = ::if_nametoindex(ifname.c_str());
  if (index == 0) return makeError(Errc::UnknownIface, "neighbour solicitations: no interface " + ifname);
  const int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return systemError("neighbour solicitations on " + ifname + ": packet socket", errno);
  auto fail = [fd, &ifname](const char* what) {
    const int err = errno;
    return ::close(fd), systemError("neighbour solicitations on " + ifname + ": " + what, err);
  };
  // The filter first: nothing unfiltered is queued between bind and attach.
  auto program = nsFilter(prefix64);
  sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) < 0) return fail("attach filter");
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(index);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) return fail("bind");
  packet_mreq mreq{};
  mreq.mr_ifindex = static_cast<int>(index);
  mreq.mr_type = PACKET_MR_ALLMULTI;
  if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0) return fail("all-multicast");
  fd_.assign(fd);
  read();
  log::info("IPv6 relay: watching neighbour solicitations on ", ifname, " for ", prefix64.str());
  return {};
}

void NsWatch::read() {
  fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec) {
      if (ec != boost::asio::error::operation_aborted) log::warning("neighbour solicitations: ", ec.message());
      return;
    }
    for (int i = 0; i < 64; ++i) {  // a burst at most per wake-up: the loop stays responsive
      const ssize_t n = ::recv(fd_.native_handle(), buf_.data(), buf_.size(), MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;  // EAGAIN: drained
      if (auto target = solicitedTarget(buf_.data(), static_cast<size_t>(n)); target && onTarget_) onTarget_(*target);
      if (!fd_.is_open()) return;  // stopped by the callback
    }
    read();
  });
}

}  // namespace tetherd
