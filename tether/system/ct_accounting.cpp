#include "tether/system/ct_accounting.h"

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <endian.h>

#include "tether/base/log.h"

namespace tetherd {

namespace {

void countersOf(nlattr* attr, uint64_t& bytes, uint64_t& packets) {
  nlattr* tb[CTA_COUNTERS_MAX + 1] = {};
  if (!attr || nla_parse_nested(tb, CTA_COUNTERS_MAX, attr, nullptr) < 0) return;
  if (tb[CTA_COUNTERS_BYTES] && nla_len(tb[CTA_COUNTERS_BYTES]) == 8) bytes = be64toh(nla_get_u64(tb[CTA_COUNTERS_BYTES]));
  if (tb[CTA_COUNTERS_PACKETS] && nla_len(tb[CTA_COUNTERS_PACKETS]) == 8)
    packets = be64toh(nla_get_u64(tb[CTA_COUNTERS_PACKETS]));
}

}  // namespace

std::optional<CtTuple> parseCtTuple(nlattr* attr) {
  nlattr* tb[CTA_TUPLE_MAX + 1] = {};
  if (!attr || nla_parse_nested(tb, CTA_TUPLE_MAX, attr, nullptr) < 0 || !tb[CTA_TUPLE_IP]) return std::nullopt;
  nlattr* ip[CTA_IP_MAX + 1] = {};
  if (nla_parse_nested(ip, CTA_IP_MAX, tb[CTA_TUPLE_IP], nullptr) < 0 || !ip[CTA_IP_V4_SRC] || !ip[CTA_IP_V4_DST] ||
      nla_len(ip[CTA_IP_V4_SRC]) != 4 || nla_len(ip[CTA_IP_V4_DST]) != 4)
    return std::nullopt;
  CtTuple t;
  t.src = Ipv4Address{ntohl(nla_get_u32(ip[CTA_IP_V4_SRC]))};
  t.dst = Ipv4Address{ntohl(nla_get_u32(ip[CTA_IP_V4_DST]))};
  nlattr* proto[CTA_PROTO_MAX + 1] = {};
  if (tb[CTA_TUPLE_PROTO] && nla_parse_nested(proto, CTA_PROTO_MAX, tb[CTA_TUPLE_PROTO], nullptr) >= 0) {
    if (proto[CTA_PROTO_NUM]) t.proto = nla_get_u8(proto[CTA_PROTO_NUM]);
    if (proto[CTA_PROTO_SRC_PORT]) t.srcPort = ntohs(nla_get_u16(proto[CTA_PROTO_SRC_PORT]));
    if (proto[CTA_PROTO_DST_PORT]) t.dstPort = ntohs(nla_get_u16(proto[CTA_PROTO_DST_PORT]));
  }
  return t;
}

std::optional<CtCounted> parseCtCounted(const nlmsghdr* hc) {
  auto* h = const_cast<nlmsghdr*>(hc);
  const int type = h->nlmsg_type & 0xff;
  if ((h->nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK || (type != IPCTNL_MSG_CT_NEW && type != IPCTNL_MSG_CT_DELETE))
    return std::nullopt;
  if (!nlmsg_valid_hdr(h, sizeof(nfgenmsg))) return std::nullopt;
  const auto* g = static_cast<const nfgenmsg*>(nlmsg_data(h));
  if (g->nfgen_family != AF_INET) return std::nullopt;
  nlattr* tb[CTA_MAX + 1] = {};
  if (nlmsg_parse(h, sizeof(nfgenmsg), tb, CTA_MAX, nullptr) < 0) return std::nullopt;
  auto orig = parseCtTuple(tb[CTA_TUPLE_ORIG]);
  auto reply = parseCtTuple(tb[CTA_TUPLE_REPLY]);
  if (!orig || !reply) return std::nullopt;
  CtCounted c;
  c.entry = CtEntry{*orig, *reply};
  if (tb[CTA_ID] && nla_len(tb[CTA_ID]) == 4) c.id = ntohl(nla_get_u32(tb[CTA_ID]));
  if (tb[CTA_MARK] && nla_len(tb[CTA_MARK]) == 4) c.mark = ntohl(nla_get_u32(tb[CTA_MARK]));
  countersOf(tb[CTA_COUNTERS_ORIG], c.origBytes, c.origPackets);
  countersOf(tb[CTA_COUNTERS_REPLY], c.replyBytes, c.replyPackets);
  return c;
}

CtDestroyWatch::CtDestroyWatch(boost::asio::io_context& io, uint32_t mark, std::function<void(const CtCounted&)> ended)
    : fd_(io), mark_(mark), ended_(std::move(ended)) {}

Status CtDestroyWatch::start() {
  if (fd_.is_open()) return {};
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return systemError("conntrack events: socket", errno);
  const int size = 4 << 20;  // ~15000 events: a minute of flows ending on a busy small router
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = NF_NETLINK_CONNTRACK_DESTROY;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    const int err = errno;
    ::close(fd);
    return systemError("conntrack events: bind NFNLGRP_CONNTRACK_DESTROY", err);
  }
  fd_.assign(fd);
  read();
  return {};
}

void CtDestroyWatch::stop() {
  boost::system::error_code ec;
  fd_.close(ec);
}

void CtDestroyWatch::drain() {
  if (fd_.is_open()) take();
}

void CtDestroyWatch::take() {
  for (;;) {
    const ssize_t n = ::recv(fd_.native_handle(), buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        log::warning("conntrack events: overrun, the last bytes of some offloaded flows are not counted");
        continue;
      }
      return;  // EAGAIN: drained
    }
    for (size_t off = 0; off + sizeof(nlmsghdr) <= static_cast<size_t>(n);) {
      auto* h = reinterpret_cast<nlmsghdr*>(buf_.data() + off);
      if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > static_cast<size_t>(n) - off) break;
      if (auto c = parseCtCounted(h); c && (c->mark & mark_) == mark_) ended_(*c);
      off += NLMSG_ALIGN(h->nlmsg_len);
    }
  }
}

void CtDestroyWatch::read() {
  fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec) {
      if (ec != boost::asio::error::operation_aborted) log::warning("conntrack events: ", ec.message());
      return;
    }
    take();
    read();
  });
}

}  // namespace tetherd
