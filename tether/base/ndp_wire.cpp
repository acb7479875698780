#include "tether/base/ndp_wire.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

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

namespace {

constexpr uint8_t kIcmpv6 = 58;
constexpr uint8_t kNeighbourSolicitation = 135;
constexpr size_t kNsSize = 40 + 24;  // IPv6 header, ICMPv6 header + reserved + target

uint32_t word(const Ipv6Address& a, size_t at) { return ntohl(*reinterpret_cast<const uint32_t*>(&a.bytes[at])); }

}  // namespace

std::vector<sock_filter> nsFilter(const Ipv6Prefix& prefix64) {
  const Ipv6Address net = prefix64.network();
  // Each test jumps to the last instruction (drop) on a mismatch: jf counts from the next one.
  return {
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),  // EtherType
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, 0, 11),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),  // next header
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kIcmpv6, 0, 9),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 7),  // hop limit
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 255, 0, 7),
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 40),  // ICMPv6 type and code
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, uint32_t{kNeighbourSolicitation} << 8, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 48),  // the target's first 32 bits
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, word(net, 0), 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 52),  // and the next 32
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, word(net, 4), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, kNsSize),  // pass the header and the target only
      BPF_STMT(BPF_RET | BPF_K, 0),        // drop
  };
}

std::optional<Ipv6Address> solicitedTarget(const uint8_t* p, size_t n) {
  if (n < kNsSize || (p[0] >> 4) != 6 || p[6] != kIcmpv6 || p[7] != 255 || p[40] != kNeighbourSolicitation || p[41] != 0)
    return std::nullopt;
  Ipv6Address target;
  std::memcpy(target.bytes.data(), p + 48, 16);
  return target;
}

}  // namespace tetherd
