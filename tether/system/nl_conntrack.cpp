#include "tether/system/nl_conntrack.h"

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "tether/system/ct_accounting.h"
#include "tether/system/nl_socket.h"

namespace tetherd {

bool natedTo(const CtEntry& e, Ipv4Address address) { return e.reply.dst == address && e.original.src != address; }
bool flowOf(const CtEntry& e, Ipv4Address client) { return e.original.src == client || e.reply.src == client; }

namespace {

using Raw = std::vector<char>;
constexpr int kCtType(int msg) { return (NFNL_SUBSYS_CTNETLINK << 8) | msg; }

int collect(nl_msg* msg, void* arg) {
  auto* out = static_cast<std::vector<Raw>*>(arg);
  nlmsghdr* h = nlmsg_hdr(msg);
  const char* p = reinterpret_cast<const char*>(h);
  out->emplace_back(p, p + h->nlmsg_len);
  return NL_OK;
}

}  // namespace

struct NlConntrack::Impl {
  NlSocket socket{NETLINK_NETFILTER, "ctnetlink socket"};
  void close() { socket.close(); }
  Status open() { return socket.open(); }
};

NlConntrack::NlConntrack() : impl_(std::make_unique<Impl>()) {}
NlConntrack::~NlConntrack() = default;

Result<int> NlConntrack::removeNatedTo(Ipv4Address address) {
  return removeIf([address](const CtEntry& e) { return natedTo(e, address); });
}

Result<std::vector<CtCounted>> NlConntrack::markedFlows(uint32_t mark) {
  if (auto st = impl_->open(); !st) return st.error();
  nl_sock* sock = impl_->socket.get();
  nl_msg* m = nlmsg_alloc_simple(kCtType(IPCTNL_MSG_CT_GET), NLM_F_DUMP);
  if (!m) return makeError(Errc::IfaceCfgError, "conntrack dump: out of memory");
  nfgenmsg hdr{};
  hdr.nfgen_family = AF_INET;
  hdr.version = NFNETLINK_V0;
  const bool ok = nlmsg_append(m, &hdr, sizeof hdr, NLMSG_ALIGNTO) >= 0 && nla_put_u32(m, CTA_MARK, htonl(mark)) >= 0 &&
                  nla_put_u32(m, CTA_MARK_MASK, htonl(mark)) >= 0;
  std::vector<Raw> raw;
  int err = ok ? nl_send_auto(sock, m) : -NLE_NOMEM;
  nlmsg_free(m);
  if (err >= 0) {
    nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, collect, &raw);
    err = nl_recvmsgs_default(sock);
    nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);
  }
  if (err < 0) {
    impl_->close();
    return makeError(Errc::IfaceCfgError, std::string("conntrack dump: ") + nl_geterror(err));
  }
  std::vector<CtCounted> out;
  for (auto& r : raw)
    if (auto c = parseCtCounted(reinterpret_cast<const nlmsghdr*>(r.data())); c && (c->mark & mark) == mark) out.push_back(*c);
  return out;
}

Result<int> NlConntrack::removeFlowsOf(Ipv4Address client) {
  return removeIf([client](const CtEntry& e) { return flowOf(e, client); });
}

template <class Pred>
Result<int> NlConntrack::removeIf(Pred pred) {
  if (auto st = impl_->open(); !st) return st.error();
  nl_sock* sock = impl_->socket.get();
  std::vector<Raw> entries;
  nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, collect, &entries);
  nfgenmsg hdr{};
  hdr.nfgen_family = AF_INET;
  hdr.version = NFNETLINK_V0;
  int err = nl_send_simple(sock, kCtType(IPCTNL_MSG_CT_GET), NLM_F_DUMP, &hdr, sizeof hdr);
  if (err >= 0) err = nl_recvmsgs_default(sock);
  nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);
  if (err < 0) {
    impl_->close();
    return makeError(Errc::IfaceCfgError, std::string("conntrack dump: ") + nl_geterror(err));
  }
  int removed = 0;
  for (auto& raw : entries) {
    auto* h = reinterpret_cast<nlmsghdr*>(raw.data());
    if (!nlmsg_valid_hdr(h, sizeof(nfgenmsg))) continue;
    nlattr* tb[CTA_MAX + 1] = {};
    if (nlmsg_parse(h, sizeof(nfgenmsg), tb, CTA_MAX, nullptr) < 0) continue;
    auto orig = parseCtTuple(tb[CTA_TUPLE_ORIG]);
    auto reply = parseCtTuple(tb[CTA_TUPLE_REPLY]);
    if (!orig || !reply || !pred(CtEntry{*orig, *reply})) continue;
    nl_msg* m = nlmsg_alloc_simple(kCtType(IPCTNL_MSG_CT_DELETE), NLM_F_ACK);
    if (!m) return makeError(Errc::IfaceCfgError, "conntrack delete: out of memory");
    bool ok = nlmsg_append(m, &hdr, sizeof hdr, NLMSG_ALIGNTO) >= 0 &&
              nla_put(m, CTA_TUPLE_ORIG | NLA_F_NESTED, nla_len(tb[CTA_TUPLE_ORIG]), nla_data(tb[CTA_TUPLE_ORIG])) >= 0 &&
              (!tb[CTA_ZONE] || nla_put(m, CTA_ZONE, nla_len(tb[CTA_ZONE]), nla_data(tb[CTA_ZONE])) >= 0);
    if (ok) {
      err = nl_send_auto(sock, m);
      if (err >= 0) err = nl_wait_for_ack(sock);
    }
    nlmsg_free(m);
    if (!ok) return makeError(Errc::IfaceCfgError, "conntrack delete: out of memory");
    if (err >= 0) ++removed;
    else if (std::abs(err) != NLE_OBJ_NOTFOUND) {  // gone meanwhile: fine
      impl_->close();
      return makeError(Errc::IfaceCfgError, std::string("conntrack delete: ") + nl_geterror(err));
    }
  }
  return removed;
}

}  // namespace tetherd
