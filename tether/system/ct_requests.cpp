#include "tether/system/ct_requests.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <cstring>

namespace tetherd {

bool natedTo6(const CtEntry6& e, const Ipv6Address& address) { return e.replyDst == address && e.origSrc != address; }

namespace ctnl {

namespace {

constexpr int kCtType(int msg) { return (NFNL_SUBSYS_CTNETLINK << 8) | msg; }

MsgPtr withHeader(int type, int flags, uint8_t family) {
  MsgPtr m(nlmsg_alloc_simple(kCtType(type), flags));
  if (!m) return m;
  nfgenmsg hdr{};
  hdr.nfgen_family = family;
  hdr.version = NFNETLINK_V0;
  if (nlmsg_append(m.get(), &hdr, sizeof hdr, NLMSG_ALIGNTO) < 0) m.reset();
  return m;
}

// A ctnetlink message's family and attributes; nullopt when it is none (or not an entry).
std::optional<uint8_t> entryOf(nlmsghdr* h, nlattr** tb) {
  const int type = h->nlmsg_type & 0xff;
  if ((h->nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK || (type != IPCTNL_MSG_CT_NEW && type != IPCTNL_MSG_CT_DELETE))
    return std::nullopt;
  if (!nlmsg_valid_hdr(h, sizeof(nfgenmsg)) || nlmsg_parse(h, sizeof(nfgenmsg), tb, CTA_MAX, nullptr) < 0)
    return std::nullopt;
  return static_cast<const nfgenmsg*>(nlmsg_data(h))->nfgen_family;
}

// A CTA_TUPLE_* of an IPv6 entry: its two addresses and protocol.
bool tuple6(nlattr* attr, Ipv6Address& src, Ipv6Address& dst, uint8_t* proto) {
  nlattr* tb[CTA_TUPLE_MAX + 1] = {};
  if (!attr || nla_parse_nested(tb, CTA_TUPLE_MAX, attr, nullptr) < 0 || !tb[CTA_TUPLE_IP]) return false;
  nlattr* ip[CTA_IP_MAX + 1] = {};
  if (nla_parse_nested(ip, CTA_IP_MAX, tb[CTA_TUPLE_IP], nullptr) < 0 || !ip[CTA_IP_V6_SRC] || !ip[CTA_IP_V6_DST] ||
      nla_len(ip[CTA_IP_V6_SRC]) != 16 || nla_len(ip[CTA_IP_V6_DST]) != 16)
    return false;
  std::memcpy(src.bytes.data(), nla_data(ip[CTA_IP_V6_SRC]), 16);
  std::memcpy(dst.bytes.data(), nla_data(ip[CTA_IP_V6_DST]), 16);
  nlattr* pr[CTA_PROTO_MAX + 1] = {};
  if (proto && tb[CTA_TUPLE_PROTO] && nla_parse_nested(pr, CTA_PROTO_MAX, tb[CTA_TUPLE_PROTO], nullptr) >= 0 &&
      pr[CTA_PROTO_NUM] && nla_len(pr[CTA_PROTO_NUM]) >= 1)
    *proto = nla_get_u8(pr[CTA_PROTO_NUM]);
  return true;
}

}  // namespace

void MsgFree::operator()(nl_msg* m) const { nlmsg_free(m); }

MsgPtr dumpRequest(uint8_t family) { return withHeader(IPCTNL_MSG_CT_GET, NLM_F_DUMP, family); }

MsgPtr deleteRequest(nlmsghdr* entry) {
  nlattr* tb[CTA_MAX + 1] = {};
  auto family = entryOf(entry, tb);
  if (!family || !tb[CTA_TUPLE_ORIG]) return nullptr;
  MsgPtr m = withHeader(IPCTNL_MSG_CT_DELETE, NLM_F_ACK, *family);
  if (m && (nla_put(m.get(), CTA_TUPLE_ORIG | NLA_F_NESTED, nla_len(tb[CTA_TUPLE_ORIG]), nla_data(tb[CTA_TUPLE_ORIG])) < 0 ||
            (tb[CTA_ZONE] && nla_put(m.get(), CTA_ZONE, nla_len(tb[CTA_ZONE]), nla_data(tb[CTA_ZONE])) < 0)))
    m.reset();
  return m;
}

std::optional<CtEntry6> parseEntry6(nlmsghdr* h) {
  nlattr* tb[CTA_MAX + 1] = {};
  auto family = entryOf(h, tb);
  CtEntry6 e;
  if (family != AF_INET6 || !tuple6(tb[CTA_TUPLE_ORIG], e.origSrc, e.origDst, &e.proto) ||
      !tuple6(tb[CTA_TUPLE_REPLY], e.replySrc, e.replyDst, nullptr))
    return std::nullopt;
  return e;
}

}  // namespace ctnl
}  // namespace tetherd
