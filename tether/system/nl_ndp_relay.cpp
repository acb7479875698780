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

namespace relaynl {

namespace {

// A request: header, the family's fixed part, then attributes (each 4-aligned).
struct Message {
  std::vector<uint8_t> bytes;
  Message(uint16_t type, uint16_t flags, const void* fixed, size_t size) {
    const nlmsghdr h{0, type, static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags), 0, 0};
    put(&h, sizeof h);
    put(fixed, size);
  }
  void put(const void* data, size_t size) {
    bytes.insert(bytes.end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
    bytes.resize((bytes.size() + 3) & ~size_t{3});
  }
  void attr(uint16_t type, const void* data, size_t size) {
    const rtattr a{static_cast<uint16_t>(RTA_LENGTH(size)), type};
    put(&a, sizeof a);
    put(data, size);
  }
  std::vector<uint8_t> done() {
    reinterpret_cast<nlmsghdr*>(bytes.data())->nlmsg_len = static_cast<uint32_t>(bytes.size());
    return std::move(bytes);
  }
};

}  // namespace

std::vector<uint8_t> routeRequest(bool add, int index, const Ipv6Address& a) {
  const rtmsg rtm{AF_INET6, 128, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0};
  Message m(add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0, &rtm, sizeof rtm);
  m.attr(RTA_DST, a.bytes.data(), 16);
  const uint32_t oif = static_cast<uint32_t>(index), metric = 1024;
  m.attr(RTA_OIF, &oif, 4);
  m.attr(RTA_PRIORITY, &metric, 4);
  return m.done();
}

namespace {
std::vector<uint8_t> neighRequest(uint16_t type, uint16_t flags, int index, uint16_t state, uint8_t ntf, const Ipv6Address& a) {
  const ndmsg nd{AF_INET6, 0, 0, index, state, ntf, 0};
  Message m(type, flags, &nd, sizeof nd);
  m.attr(NDA_DST, a.bytes.data(), 16);
  return m.done();
}
}  // namespace

std::vector<uint8_t> proxyRequest(bool add, int index, const Ipv6Address& a) {
  return neighRequest(add ? RTM_NEWNEIGH : RTM_DELNEIGH, add ? NLM_F_CREATE | NLM_F_REPLACE : 0, index, NUD_PERMANENT,
                      NTF_PROXY, a);
}

std::vector<uint8_t> resolveRequest(int index, const Ipv6Address& a) {
  return neighRequest(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, index, NUD_NONE, NTF_USE, a);
}

std::vector<uint8_t> addressRequest(int index, const Ipv6Prefix& p) {
  const ifaddrmsg ifa{AF_INET6, static_cast<uint8_t>(p.length), IFA_F_NODAD, RT_SCOPE_UNIVERSE, static_cast<uint32_t>(index)};
  Message m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof ifa);
  m.attr(IFA_LOCAL, p.address.bytes.data(), 16);
  m.attr(IFA_ADDRESS, p.address.bytes.data(), 16);
  const uint32_t flags = IFA_F_NODAD | IFA_F_NOPREFIXROUTE;
  m.attr(IFA_FLAGS, &flags, 4);
  return m.done();
}

}  // namespace relaynl

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
