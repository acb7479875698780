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
#include "tether/system/ct_requests.h"
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

namespace {

// An IPv4 entry of a dump that matches pred (on its two tuples).
template <class Pred>
auto entry4(Pred pred) {
  return [pred](nlmsghdr* h) {
    if (!nlmsg_valid_hdr(h, sizeof(nfgenmsg))) return false;
    nlattr* tb[CTA_MAX + 1] = {};
    if (nlmsg_parse(h, sizeof(nfgenmsg), tb, CTA_MAX, nullptr) < 0) return false;
    auto orig = parseCtTuple(tb[CTA_TUPLE_ORIG]);
    auto reply = parseCtTuple(tb[CTA_TUPLE_REPLY]);
    return orig && reply && pred(CtEntry{*orig, *reply});
  };
}

}  // namespace

Result<int> NlConntrack::removeNatedTo(Ipv4Address address) {
  return removeIf(AF_INET, entry4([address](const CtEntry& e) { return natedTo(e, address); }));
}

Result<int> NlConntrack::removeNatedTo6(const Ipv6Address& address) {
  return removeIf(AF_INET6, [&address](nlmsghdr* h) {
    auto e = ctnl::parseEntry6(h);
    return e && natedTo6(*e, address);
  });
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
  return removeIf(AF_INET, entry4([client](const CtEntry& e) { return flowOf(e, client); }));
}

template <class Pred>
Result<int> NlConntrack::removeIf(uint8_t family, Pred pred) {
  if (auto st = impl_->open(); !st) return st.error();
  nl_sock* sock = impl_->socket.get();
  std::vector<Raw> entries;
  auto dump = ctnl::dumpRequest(family);
  if (!dump) return makeError(Errc::IfaceCfgError, "conntrack dump: out of memory");
  nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, collect, &entries);
  int err = nl_send_auto(sock, dump.get());
  if (err >= 0) err = nl_recvmsgs_default(sock);
  nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);
  if (err < 0) {
    impl_->close();
    return makeError(Errc::IfaceCfgError, std::string("conntrack dump: ") + nl_geterror(err));
  }
  int removed = 0;
  for (auto& raw : entries) {
    auto* h = reinterpret_cast<nlmsghdr*>(raw.data());
    if (!pred(h)) continue;
    auto m = ctnl::deleteRequest(h);
    if (!m) return makeError(Errc::IfaceCfgError, "conntrack delete: out of memory");
    err = nl_send_auto(sock, m.get());
    if (err >= 0) err = nl_wait_for_ack(sock);
    if (err >= 0) ++removed;
    else if (std::abs(err) != NLE_OBJ_NOTFOUND) {  // gone meanwhile: fine
      impl_->close();
      return makeError(Errc::IfaceCfgError, std::string("conntrack delete: ") + nl_geterror(err));
    }
  }
  return removed;
}

}  // namespace tetherd
