// NlShaper: each TcOp becomes one libnl-route request (rtnl_link_add, rtnl_qdisc_add,
// rtnl_class_add, rtnl_cls_add); clear deletes tetherd's root and ingress qdiscs and its ifb.
#include "tether/system/nl_shaper.h"

#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/classifier.h>
#include <netlink/route/class.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/fifo.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/tc.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstdlib>

#include "tether/base/log.h"
#include "tether/system/nl_socket.h"

namespace tetherd {

namespace {

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using QdiscPtr = std::unique_ptr<rtnl_qdisc, Free<rtnl_qdisc, rtnl_qdisc_put>>;
using ClassPtr = std::unique_ptr<rtnl_class, Free<rtnl_class, rtnl_class_put>>;
using ClsPtr = std::unique_ptr<rtnl_cls, Free<rtnl_cls, rtnl_cls_put>>;
using LinkPtr = std::unique_ptr<rtnl_link, Free<rtnl_link, rtnl_link_put>>;
using CachePtr = std::unique_ptr<nl_cache, Free<nl_cache, nl_cache_free>>;

bool notFound(int err) { return std::abs(err) == NLE_OBJ_NOTFOUND || std::abs(err) == NLE_NODEV; }

Error fail(const std::string& what, int err) {
  return makeError(Errc::IfaceCfgError, what + ": " + nl_geterror(err));
}
Error kernel(int err) { return makeError(Errc::IfaceCfgError, nl_geterror(err)); }

}  // namespace

struct NlShaper::Impl {
  NlSocket socket{NETLINK_ROUTE, "netlink socket"};
  Status open() { return socket.open(); }
  Result<int> index(const std::string& dev) {
    rtnl_link* raw = nullptr;
    if (int err = rtnl_link_get_kernel(socket.get(), 0, dev.c_str(), &raw); err < 0 || !raw)
      return makeError(Errc::NotFound, dev + ": no such interface");
    LinkPtr link(raw);
    return rtnl_link_get_ifindex(link.get());
  }
  Status addIfb(const std::string& name) {
    LinkPtr link(rtnl_link_alloc());
    rtnl_link_set_name(link.get(), name.c_str());
    if (int err = rtnl_link_set_type(link.get(), "ifb"); err < 0) return kernel(err);
    rtnl_link_set_flags(link.get(), IFF_UP);
    if (int err = rtnl_link_add(socket.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) return kernel(err);
    return {};
  }
  Status deleteLink(const std::string& name) {
    LinkPtr link(rtnl_link_alloc());
    rtnl_link_set_name(link.get(), name.c_str());
    if (int err = rtnl_link_delete(socket.get(), link.get()); err < 0 && !notFound(err)) return fail("link delete " + name, err);
    return {};
  }
  Status addQdisc(const TcOp& op, int ifindex) {
    QdiscPtr q(rtnl_qdisc_alloc());
    auto* tc = TC_CAST(q.get());
    rtnl_tc_set_ifindex(tc, ifindex);
    switch (op.kind) {
      case TcOp::Kind::Ingress:
        rtnl_tc_set_kind(tc, "ingress");
        rtnl_tc_set_parent(tc, TC_H_INGRESS);
        rtnl_tc_set_handle(tc, op.handle);
        break;
      case TcOp::Kind::Htb:
        rtnl_tc_set_kind(tc, "htb");
        rtnl_tc_set_parent(tc, TC_H_ROOT);
        rtnl_tc_set_handle(tc, op.handle);
        rtnl_htb_set_defcls(q.get(), op.defaultMinor);
        break;
      default:  // Leaf
        rtnl_tc_set_kind(tc, op.fqCodel ? "fq_codel" : "pfifo");
        rtnl_tc_set_parent(tc, op.parent);
        rtnl_tc_set_handle(tc, op.handle);
        if (!op.fqCodel) rtnl_qdisc_fifo_set_limit(q.get(), static_cast<int>(kLeafPfifoLimit));
    }
    if (int err = rtnl_qdisc_add(socket.get(), q.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) return kernel(err);
    return {};
  }
  Status addClass(const TcOp& op, int ifindex) {
    ClassPtr c(rtnl_class_alloc());
    auto* tc = TC_CAST(c.get());
    rtnl_tc_set_ifindex(tc, ifindex);
    rtnl_tc_set_parent(tc, op.parent);
    rtnl_tc_set_handle(tc, op.handle);
    if (int err = rtnl_tc_set_kind(tc, "htb"); err < 0) return kernel(err);
    rtnl_htb_set_rate64(c.get(), op.rate / 8);
    rtnl_htb_set_ceil64(c.get(), op.ceil / 8);
    rtnl_htb_set_quantum(c.get(), op.quantum);
    if (int err = rtnl_class_add(socket.get(), c.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) return kernel(err);
    return {};
  }
  Status addFilter(const TcOp& op, int ifindex) {
    ClsPtr cls(rtnl_cls_alloc());
    auto* tc = TC_CAST(cls.get());
    rtnl_tc_set_ifindex(tc, ifindex);
    rtnl_tc_set_parent(tc, op.parent);
    if (int err = rtnl_tc_set_kind(tc, "u32"); err < 0) return kernel(err);
    rtnl_cls_set_prio(cls.get(), op.ip6 ? 2 : 1);  // a prio holds filters of one protocol
    if (op.kind == TcOp::Kind::Redirect) {
      rtnl_cls_set_protocol(cls.get(), ETH_P_ALL);
      auto target = index(op.target);
      if (!target) return target.error();
      rtnl_u32_add_key_uint32(cls.get(), 0, 0, 0, 0);
      rtnl_act* act = rtnl_act_alloc();
      if (!act) return makeError(Errc::IfaceCfgError, "out of memory");
      rtnl_tc_set_kind(TC_CAST(act), "mirred");
      rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
      rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
      rtnl_mirred_set_ifindex(act, static_cast<uint32_t>(*target));
      const int err = rtnl_u32_add_action(cls.get(), act);
      rtnl_act_put(act);  // the classifier holds its own reference
      if (err < 0) return kernel(err);
    } else if (op.ip6) {
      rtnl_cls_set_protocol(cls.get(), ETH_P_IPV6);
      // IPv6 header: source at byte 8, destination at 24; four 32-bit keys (host order).
      const auto& b = op.ip6->bytes;
      for (int i = 0; i < 4; ++i) {
        const uint32_t word = uint32_t{b[4 * i]} << 24 | uint32_t{b[4 * i + 1]} << 16 | uint32_t{b[4 * i + 2]} << 8 | b[4 * i + 3];
        rtnl_u32_add_key_uint32(cls.get(), word, 0xffffffffu, (op.matchSource ? 8 : 24) + 4 * i, 0);
      }
      rtnl_u32_set_classid(cls.get(), op.flowid);
    } else {
      rtnl_cls_set_protocol(cls.get(), ETH_P_IP);
      // IPv4 header: source at byte 12, destination at 16 (host order: libnl converts).
      rtnl_u32_add_key_uint32(cls.get(), op.ip.value, 0xffffffffu, op.matchSource ? 12 : 16, 0);
      rtnl_u32_set_classid(cls.get(), op.flowid);
    }
    // A match ends the search (tc sets it for a flowid or an action): else u32 looks for a link.
    rtnl_u32_set_cls_terminal(cls.get());
    if (int err = rtnl_cls_add(socket.get(), cls.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) return kernel(err);
    return {};
  }
  // The qdisc at `parent` on ifindex, deleted when `handle` is 0 or matches.
  Status deleteQdisc(const std::string& dev, int ifindex, uint32_t parent, uint32_t handle) {
    nl_cache* raw = nullptr;
    if (int err = rtnl_qdisc_alloc_cache(socket.get(), &raw); err < 0) return fail("qdisc list", err);
    CachePtr cache(raw);
    QdiscPtr q(rtnl_qdisc_get_by_parent(cache.get(), ifindex, parent));
    if (!q) return {};
    if (handle != 0 && rtnl_tc_get_handle(TC_CAST(q.get())) != handle) return {};
    if (int err = rtnl_qdisc_delete(socket.get(), q.get()); err < 0 && !notFound(err))
      return fail("qdisc delete dev " + dev + (parent == TC_H_INGRESS ? " ingress" : " root"), err);
    return {};
  }
};

NlShaper::NlShaper() : impl_(std::make_unique<Impl>()) {}
NlShaper::~NlShaper() = default;

bool NlShaper::fqCodel() {
  if (fqCodel_) return *fqCodel_;
  // Asked on an ifb of its own: fq_codel as its root qdisc either works or is unknown.
  const std::string probe = std::string(kIfbPrefix) + "probe";
  bool ok = false;
  if (impl_->open() && impl_->deleteLink(probe) && impl_->addIfb(probe)) {
    if (auto i = impl_->index(probe)) {
      QdiscPtr q(rtnl_qdisc_alloc());
      rtnl_tc_set_ifindex(TC_CAST(q.get()), *i);
      rtnl_tc_set_kind(TC_CAST(q.get()), "fq_codel");
      rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_ROOT);
      ok = rtnl_qdisc_add(impl_->socket.get(), q.get(), NLM_F_CREATE | NLM_F_EXCL) >= 0;
    }
    (void)impl_->deleteLink(probe);
  }
  fqCodel_ = ok;
  log::info("rate limits: the leaf queues are ", ok ? "fq_codel" : "pfifo (the kernel has no fq_codel)");
  return ok;
}

Status NlShaper::add(const TcOp& op) {
  if (auto st = impl_->open(); !st) return st;
  if (op.kind == TcOp::Kind::Ifb) return impl_->addIfb(op.dev);
  auto i = impl_->index(op.dev);
  if (!i) return makeError(Errc::NotFound, "no such interface");
  switch (op.kind) {
    case TcOp::Kind::Class: return impl_->addClass(op, *i);
    case TcOp::Kind::Filter:
    case TcOp::Kind::Redirect: return impl_->addFilter(op, *i);
    default: return impl_->addQdisc(op, *i);
  }
}

Status NlShaper::clear(const std::string& ifname, const std::string& ifb) {
  if (auto st = impl_->open(); !st) return st;
  Status first;
  if (auto i = impl_->index(ifname)) {
    if (auto st = impl_->deleteQdisc(ifname, *i, TC_H_INGRESS, 0); !st) first = st;
    if (auto st = impl_->deleteQdisc(ifname, *i, TC_H_ROOT, kShapingMajor << 16); !st && first) first = st;
  }
  if (auto st = impl_->deleteLink(ifb); !st && first) first = st;
  return first;
}

Result<int> NlShaper::removeIfbs() {
  if (auto st = impl_->open(); !st) return st.error();
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(impl_->socket.get(), AF_UNSPEC, &raw); err < 0) return fail("link list", err);
  CachePtr cache(raw);
  std::vector<std::string> names;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* link = reinterpret_cast<rtnl_link*>(o);
    const char* name = rtnl_link_get_name(link);
    const char* type = rtnl_link_get_type(link);
    if (name && type && std::string(type) == "ifb" && std::string(name).rfind(kIfbPrefix, 0) == 0) names.emplace_back(name);
  }
  int n = 0;
  for (const auto& name : names)
    if (impl_->deleteLink(name)) ++n;
  return n;
}

}  // namespace tetherd
