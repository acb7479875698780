// NlNdpRelay: relay mode's routes, proxy entries and address over a raw rtnetlink socket.
#include "tether/system/nl_ndp_relay.h"

#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

namespace tetherd {


NlNdpRelay::~NlNdpRelay() {
  if (fd_ >= 0) ::close(fd_);
}

// One request, answered by the kernel's acknowledgement (1 s at most: never hang the loop).
// absentOk: ENOENT/ESRCH/EADDRNOTAVAIL are success (removals); existsOk: EEXIST (additions).
Status NlNdpRelay::request(const std::string& ifname, const std::function<std::vector<uint8_t>(int)>& build,
                           const std::string& operation, bool absentOk, bool existsOk) {
  auto fail = [&](int err) { return makeError(Errc::IfaceCfgError, operation + " on " + ifname + ": " + std::strerror(err)); };
  const int index = static_cast<int>(::if_nametoindex(ifname.c_str()));
  if (index == 0) return absentOk ? Status{} : makeError(Errc::UnknownIface, "no interface " + ifname);
  if (fd_ < 0) {
    fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) return fail(errno);
    timeval tv{1, 0};
    (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  std::vector<uint8_t> msg = build(index);
  reinterpret_cast<nlmsghdr*>(msg.data())->nlmsg_seq = ++seq_;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return fail(errno);
  alignas(nlmsghdr) char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno);
    auto left = static_cast<unsigned>(n);
    for (auto* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, left); r = NLMSG_NEXT(r, left)) {
      if (r->nlmsg_seq != seq_ || r->nlmsg_type != NLMSG_ERROR) continue;
      const int err = -reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(r))->error;
      if (err == 0 || (absentOk && (err == ENOENT || err == ESRCH || err == EADDRNOTAVAIL)) || (existsOk && err == EEXIST))
        return {};
      return err == ENODEV ? makeError(Errc::UnknownIface, "no interface " + ifname) : fail(err);
    }
  }
}

Status NlNdpRelay::addAddress(const std::string& i, const Ipv6Prefix& p) {
  return request(i, [&](int x) { return relaynl::addressRequest(x, p); }, "add address " + p.str(), false, true);
}
Status NlNdpRelay::addRoute(const std::string& i, const Ipv6Address& a) {
  return request(i, [&](int x) { return relaynl::routeRequest(true, x, a); }, "add route " + a.str() + "/128", false, true);
}
Status NlNdpRelay::removeRoute(const std::string& i, const Ipv6Address& a) {
  return request(i, [&](int x) { return relaynl::routeRequest(false, x, a); }, "remove route " + a.str() + "/128", true, false);
}
Status NlNdpRelay::addProxy(const std::string& i, const Ipv6Address& a) {
  return request(i, [&](int x) { return relaynl::proxyRequest(true, x, a); }, "add proxy neighbour " + a.str(), false, true);
}
Status NlNdpRelay::removeProxy(const std::string& i, const Ipv6Address& a) {
  return request(i, [&](int x) { return relaynl::proxyRequest(false, x, a); }, "remove proxy neighbour " + a.str(), true, false);
}
Status NlNdpRelay::resolve(const std::string& i, const Ipv6Address& a) {
  return request(i, [&](int x) { return relaynl::resolveRequest(x, a); }, "resolve " + a.str(), false, true);
}

}  // namespace tetherd
