// NlRouting: rule and route requests (RTM_NEWRULE/DELRULE, RTM_NEWROUTE/DELROUTE) and the
// flush of tetherd's ranges (a dump, then each owned entry sent back as a delete, as
// `ip rule flush` does).
#include "tether/system/nl_routing.h"

#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "tether/base/log.h"
#include "tether/system/nl_socket.h"

namespace tetherd {

namespace {

struct MsgFree {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgFree>;

uint32_t be32(Ipv4Address a) { return htonl(a.value); }

bool notFound(int err) { return std::abs(err) == NLE_OBJ_NOTFOUND; }
bool exists(int err) { return std::abs(err) == NLE_EXIST; }

using Raw = std::vector<char>;

int collect(nl_msg* msg, void* arg) {
  auto* out = static_cast<std::vector<Raw>*>(arg);
  nlmsghdr* h = nlmsg_hdr(msg);
  const char* p = reinterpret_cast<const char*>(h);
  out->emplace_back(p, p + h->nlmsg_len);
  return NL_OK;
}

}  // namespace

struct NlRouting::Impl {
  NlSocket socket{NETLINK_ROUTE, "netlink socket"};
  void close() { socket.close(); }
  Status open() { return socket.open(); }
  // Sends and waits for the kernel's answer: 0 or a (negative) libnl error.
  int request(nl_msg* m) {
    if (auto st = open(); !st) return -NLE_BAD_SOCK;
    int err = nl_send_auto(socket.get(), m);
    if (err >= 0) err = nl_wait_for_ack(socket.get());
    if (err < 0 && !notFound(err) && !exists(err) && std::abs(err) != NLE_INVAL && std::abs(err) != NLE_NODEV &&
        std::abs(err) != NLE_PERM)
      close();  // the socket may hold an unread answer: start again with a fresh one
    return err;
  }
  // Every message of a dump (type RTM_GETRULE or RTM_GETROUTE, both families).
  Result<std::vector<Raw>> dump(int type) {
    if (auto st = open(); !st) return st.error();
    std::vector<Raw> out;
    nl_socket_modify_cb(socket.get(), NL_CB_VALID, NL_CB_CUSTOM, collect, &out);
    rtmsg hdr{};  // fib_rule_hdr has the same size and family at the same place
    hdr.rtm_family = AF_UNSPEC;
    int err = nl_send_simple(socket.get(), type, NLM_F_DUMP, &hdr, sizeof hdr);
    if (err >= 0) err = nl_recvmsgs_default(socket.get());
    nl_socket_modify_cb(socket.get(), NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);
    if (err < 0) {
      close();
      return makeError(Errc::IfaceCfgError, std::string("netlink dump: ") + nl_geterror(err));
    }
    return out;
  }
};

NlRouting::NlRouting() : impl_(std::make_unique<Impl>()) {}
NlRouting::~NlRouting() = default;

namespace {

MsgPtr ruleMessage(int type, int flags, const PolicyRule& r) {
  MsgPtr m(nlmsg_alloc_simple(type, flags));
  if (!m) return m;
  fib_rule_hdr frh{};
  frh.family = r.family == 6 ? AF_INET6 : AF_INET;
  frh.action = FR_ACT_TO_TBL;
  frh.table = r.table < 256 ? static_cast<uint8_t>(r.table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
  fib_rule_uid_range uidRange{r.uid.value_or(0), r.uid.value_or(0)};
  if (nlmsg_append(m.get(), &frh, sizeof frh, NLMSG_ALIGNTO) < 0 || nla_put_u32(m.get(), FRA_PRIORITY, r.priority) < 0 ||
      nla_put_u32(m.get(), FRA_TABLE, r.table) < 0 ||
      (!r.iif.empty() && nla_put_string(m.get(), FRA_IIFNAME, r.iif.c_str()) < 0) ||
      (!r.oif.empty() && nla_put_string(m.get(), FRA_OIFNAME, r.oif.c_str()) < 0) ||
      (r.suppressDefault && nla_put_u32(m.get(), FRA_SUPPRESS_PREFIXLEN, 0) < 0) ||
      (r.uid && nla_put(m.get(), FRA_UID_RANGE, sizeof(fib_rule_uid_range), &uidRange) < 0))
    m.reset();
  return m;
}

MsgPtr routeMessage(int type, int flags, const TableRoute& r, int ifindex) {
  MsgPtr m(nlmsg_alloc_simple(type, flags));
  if (!m) return m;
  const bool v6 = r.family == 6;
  rtmsg rtm{};
  rtm.rtm_family = v6 ? AF_INET6 : AF_INET;
  rtm.rtm_dst_len = static_cast<unsigned char>(v6 ? r.dst6.length : r.dst.length);
  rtm.rtm_table = r.table < 256 ? static_cast<uint8_t>(r.table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
  rtm.rtm_type = RTN_UNICAST;
  if (type == RTM_NEWROUTE) {
    rtm.rtm_protocol = RTPROT_STATIC;
    rtm.rtm_scope = v6 || r.gateway.value != 0 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;  // IPv6: always universe
  } else {
    rtm.rtm_scope = RT_SCOPE_NOWHERE;  // any
  }
  bool ok = nlmsg_append(m.get(), &rtm, sizeof rtm, NLMSG_ALIGNTO) >= 0 && nla_put_u32(m.get(), RTA_TABLE, r.table) >= 0 &&
            nla_put_u32(m.get(), RTA_PRIORITY, r.metric) >= 0 && nla_put_u32(m.get(), RTA_OIF, static_cast<uint32_t>(ifindex)) >= 0;
  if (v6) {
    if (ok && r.dst6.length > 0) ok = nla_put(m.get(), RTA_DST, 16, r.dst6.address.bytes.data()) >= 0;
    if (ok && r.gateway6 != Ipv6Address{}) ok = nla_put(m.get(), RTA_GATEWAY, 16, r.gateway6.bytes.data()) >= 0;
    if (!ok) m.reset();
    return m;
  }
  if (ok && r.dst.length > 0) {
    uint32_t dst = be32(r.dst.network());
    ok = nla_put(m.get(), RTA_DST, 4, &dst) >= 0;
  }
  if (ok && r.gateway.value != 0) {
    uint32_t gw = be32(r.gateway);
    ok = nla_put(m.get(), RTA_GATEWAY, 4, &gw) >= 0;
  }
  if (!ok) m.reset();
  return m;
}

Error failed(const std::string& what, int err) {
  return makeError(Errc::IfaceCfgError, what + ": " + nl_geterror(err));
}

}  // namespace

Status NlRouting::addRoute(const TableRoute& r) {
  // IPv6: appended (`ip -6 route append`), so that a second gateway at the same metric (a
  // multipath route's next nexthop) joins the first as a sibling instead of replacing it;
  // the same route already there is EEXIST. IPv4: created or replaced.
  const bool v6 = r.family == 6;
  auto m = routeMessage(RTM_NEWROUTE, NLM_F_CREATE | (v6 ? NLM_F_APPEND : NLM_F_REPLACE), r, r.ifindex);
  if (!m) return makeError(Errc::IfaceCfgError, "add route " + r.str() + ": out of memory");
  if (int err = impl_->request(m.get()); err < 0 && !(v6 && exists(err))) return failed("add route " + r.str(), err);
  return {};
}

Status NlRouting::deleteRoute(const TableRoute& r) {
  auto m = routeMessage(RTM_DELROUTE, 0, r, r.ifindex);
  if (!m) return makeError(Errc::IfaceCfgError, "delete route " + r.str() + ": out of memory");
  // Not there, or its link gone (and the route with it): done.
  if (int err = impl_->request(m.get()); err < 0 && !notFound(err) && std::abs(err) != NLE_NODEV)
    return failed("delete route " + r.str(), err);
  return {};
}

Status NlRouting::addRule(const PolicyRule& r) {
  auto m = ruleMessage(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r);
  if (!m) return makeError(Errc::IfaceCfgError, "add rule " + r.str() + ": out of memory");
  if (int err = impl_->request(m.get()); err < 0 && !exists(err)) return failed("add rule " + r.str(), err);
  return {};
}

Status NlRouting::deleteRule(const PolicyRule& r) {
  auto m = ruleMessage(RTM_DELRULE, 0, r);
  if (!m) return makeError(Errc::IfaceCfgError, "delete rule " + r.str() + ": out of memory");
  if (int err = impl_->request(m.get()); err < 0 && !notFound(err)) return failed("delete rule " + r.str(), err);
  return {};
}

Result<int> NlRouting::flush(const RoutingRange& range) {
  int removed = 0;
  std::vector<Raw> doomed;
  auto rules = impl_->dump(RTM_GETRULE);
  if (!rules) return rules.error();
  for (auto& raw : *rules) {
    auto* h = reinterpret_cast<nlmsghdr*>(raw.data());
    if (h->nlmsg_type != RTM_NEWRULE || !nlmsg_valid_hdr(h, sizeof(fib_rule_hdr))) continue;
    nlattr* tb[FRA_MAX + 1] = {};
    if (nlmsg_parse(h, sizeof(fib_rule_hdr), tb, FRA_MAX, nullptr) < 0) continue;
    uint32_t prio = tb[FRA_PRIORITY] ? nla_get_u32(tb[FRA_PRIORITY]) : 0;
    if (range.ownsPriority(prio)) doomed.push_back(std::move(raw));
  }
  auto routes = impl_->dump(RTM_GETROUTE);
  if (!routes) return routes.error();
  for (auto& raw : *routes) {
    auto* h = reinterpret_cast<nlmsghdr*>(raw.data());
    if (h->nlmsg_type != RTM_NEWROUTE || !nlmsg_valid_hdr(h, sizeof(rtmsg))) continue;
    const auto* rtm = static_cast<const rtmsg*>(nlmsg_data(h));
    if (rtm->rtm_flags & RTM_F_CLONED) continue;
    nlattr* tb[RTA_MAX + 1] = {};
    if (nlmsg_parse(h, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) continue;
    uint32_t table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
    if (range.ownsTable(table)) doomed.push_back(std::move(raw));
  }
  for (auto& raw : doomed) {
    auto* h = reinterpret_cast<nlmsghdr*>(raw.data());
    h->nlmsg_type = h->nlmsg_type == RTM_NEWRULE ? RTM_DELRULE : RTM_DELROUTE;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = NL_AUTO_SEQ;
    h->nlmsg_pid = NL_AUTO_PORT;
    MsgPtr m(nlmsg_convert(h));
    if (!m) continue;
    int err = impl_->request(m.get());
    if (err >= 0) ++removed;
    else if (!notFound(err)) log::warning("removing a policy rule or route of tetherd's: ", nl_geterror(err));
  }
  return removed;
}

}  // namespace tetherd
