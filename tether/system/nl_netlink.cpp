// NlNetlink: requests on a netlink socket of its own (links, addresses, default routes).
#include "tether/system/nl_netlink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "tether/base/log.h"
#include "tether/system/nl_parse.h"

namespace tetherd {

namespace {

// ---------------------------------------------------------------------------------------
// Small helpers around libnl.

struct LinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrPut {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct NlAddrPut {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkPut>;
using RtAddrPtr = std::unique_ptr<rtnl_addr, AddrPut>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrPut>;

std::string nlReason(int err) { return nl_geterror(err); }

bool isNoDevice(int err) {
  err = std::abs(err);
  return err == NLE_NODEV || err == NLE_OBJ_NOTFOUND;
}

// Errors after which the request socket may hold unread or out-of-sequence data: start
// again with a fresh socket rather than trust it.
bool isTransportError(int err) {
  switch (std::abs(err)) {
    case NLE_BAD_SOCK:
    case NLE_SEQ_MISMATCH:
    case NLE_MSG_TRUNC:
    case NLE_MSG_OVERFLOW:
    case NLE_MSG_TOOSHORT:
    case NLE_NOMEM:
    case NLE_AGAIN:
    case NLE_INTR:
    case NLE_DUMP_INTR:
    case NLE_FAILURE:
      return true;
    default:
      return false;
  }
}

Error unknownIface(const std::string& ifname) {
  return makeError(Errc::UnknownIface, "unknown interface '" + ifname + "'");
}

Error cfgError(const std::string& operation, const std::string& ifname, int err) {
  std::string what = operation;
  if (!ifname.empty()) what += " on " + ifname;
  return makeError(Errc::IfaceCfgError, what + ": " + nlReason(err));
}

NlAddrPtr buildV4(Ipv4Address a, int prefixLength) {
  uint32_t be = htonl(a.value);
  NlAddrPtr out(nl_addr_build(AF_INET, &be, sizeof be));
  if (out) nl_addr_set_prefixlen(out.get(), prefixLength);
  return out;
}

// Parsing rtnetlink messages (dumps and events alike): tether/nl_parse.cpp.
using rtnl::parseAddr;
using rtnl::parseDefaultRoutes;
using rtnl::parseLink;

// ---------------------------------------------------------------------------------------
// Dumps on a blocking request socket.

struct DumpContext {
  const std::function<void(nlmsghdr*)>* onMessage = nullptr;
  bool interrupted = false;
  bool failed = false;
};

int onDumpMessage(nl_msg* msg, void* arg) {
  auto* ctx = static_cast<DumpContext*>(arg);
  nlmsghdr* h = nlmsg_hdr(msg);
  if ((h->nlmsg_flags & NLM_F_DUMP_INTR) != 0) ctx->interrupted = true;
  try {
    (*ctx->onMessage)(h);
  } catch (...) {  // never let an exception cross libnl's C frames
    ctx->failed = true;
    return NL_STOP;
  }
  return NL_OK;
}

// An IPv6 address object for rtnl_addr_add/delete (no broadcast in IPv6).
RtAddrPtr addr6Object(int index, const Ipv6Prefix& p) {
  RtAddrPtr addr(rtnl_addr_alloc());
  if (!addr) return nullptr;
  rtnl_addr_set_ifindex(addr.get(), index);
  rtnl_addr_set_family(addr.get(), AF_INET6);
  NlAddrPtr local(nl_addr_build(AF_INET6, p.address.bytes.data(), p.address.bytes.size()));
  if (!local) return nullptr;
  nl_addr_set_prefixlen(local.get(), p.length);
  if (rtnl_addr_set_local(addr.get(), local.get()) < 0) return nullptr;
  rtnl_addr_set_prefixlen(addr.get(), p.length);
  return addr;
}

}  // namespace

// =========================================================================================
// NlNetlink

struct NlNetlink::Impl {
  nl_sock* sk = nullptr;

  ~Impl() { reset(); }

  void reset() {
    if (sk != nullptr) nl_socket_free(sk);
    sk = nullptr;
  }

  // 0 or a negative libnl error.
  int connect() {
    if (sk != nullptr) return 0;
    sk = nl_socket_alloc();
    if (sk == nullptr) return -NLE_NOMEM;
    int err = nl_connect(sk, NETLINK_ROUTE);
    if (err < 0) reset();
    return err;
  }

  int noteResult(int err) {
    if (err < 0 && isTransportError(err)) reset();
    return err;
  }

  // One dump request; onMessage sees every answer message. Retried when the kernel says
  // the dump was inconsistent (the table changed under it); `restart` clears partial output.
  int dump(int type, const void* request, size_t requestLen, const std::function<void(nlmsghdr*)>& onMessage,
           const std::function<void()>& restart) {
    constexpr int kAttempts = 5;
    int err = 0;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      restart();
      if ((err = connect()) < 0) return err;
      // nl_send_simple takes a non-const buffer; give it a copy.
      std::vector<unsigned char> buf(static_cast<const unsigned char*>(request),
                                     static_cast<const unsigned char*>(request) + requestLen);
      err = nl_send_simple(sk, type, NLM_F_DUMP, buf.data(), buf.size());
      if (err < 0) return noteResult(err);
      nl_cb* base = nl_socket_get_cb(sk);  // takes a reference
      nl_cb* cb = base != nullptr ? nl_cb_clone(base) : nullptr;
      if (base != nullptr) nl_cb_put(base);
      if (cb == nullptr) {
        reset();
        return -NLE_NOMEM;
      }
      DumpContext ctx;
      ctx.onMessage = &onMessage;
      nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, onDumpMessage, &ctx);
      err = nl_recvmsgs(sk, cb);
      nl_cb_put(cb);
      if (ctx.failed) {
        reset();
        return -NLE_NOMEM;
      }
      if (err == -NLE_DUMP_INTR || (err >= 0 && ctx.interrupted)) {
        reset();  // drop whatever is left of the interrupted dump
        err = -NLE_DUMP_INTR;
        continue;
      }
      if (err < 0) return noteResult(err);
      return 0;
    }
    return err;
  }

  int dumpLinks(std::vector<LinkInfo>& out) {
    ifinfomsg req{};
    req.ifi_family = AF_UNSPEC;
    return dump(
        RTM_GETLINK, &req, sizeof req,
        [&](nlmsghdr* h) {
          if (h->nlmsg_type != RTM_NEWLINK) return;
          if (auto link = parseLink(h)) out.push_back(std::move(*link));
        },
        [&] { out.clear(); });
  }

  // The index of a link by name: UnknownIface when there is none.
  Result<int> ifindex(const std::string& ifname, const std::string& operation) {
    if (!validIfname(ifname)) return unknownIface(ifname);
    if (int err = connect(); err < 0) return cfgError(operation, ifname, err);
    rtnl_link* raw = nullptr;
    int err = rtnl_link_get_kernel(sk, 0, ifname.c_str(), &raw);
    LinkPtr link(raw);
    if (err < 0) {
      noteResult(err);
      if (isNoDevice(err)) return unknownIface(ifname);
      return cfgError(operation, ifname, err);
    }
    int index = rtnl_link_get_ifindex(link.get());
    if (index <= 0) return unknownIface(ifname);
    return index;
  }

  // An IPv4 address object for ifindex: local address with prefix length.
  static RtAddrPtr addrObject(int index, const Ipv4Prefix& p, bool withBroadcast) {
    RtAddrPtr addr(rtnl_addr_alloc());
    if (!addr) return nullptr;
    rtnl_addr_set_ifindex(addr.get(), index);
    rtnl_addr_set_family(addr.get(), AF_INET);
    NlAddrPtr local = buildV4(p.address, p.length);
    if (!local || rtnl_addr_set_local(addr.get(), local.get()) < 0) return nullptr;
    rtnl_addr_set_prefixlen(addr.get(), p.length);
    if (withBroadcast && p.length <= 30) {
      NlAddrPtr brd = buildV4(Ipv4Address{p.network().value | ~p.mask()}, 32);
      if (!brd || rtnl_addr_set_broadcast(addr.get(), brd.get()) < 0) return nullptr;
    }
    return addr;
  }
};

NlNetlink::NlNetlink() : impl_(std::make_unique<Impl>()) {}
NlNetlink::~NlNetlink() = default;

Status NlNetlink::open() {
  if (int err = impl_->connect(); err < 0) return cfgError("netlink: open socket", "", err);
  return {};
}

Result<std::vector<LinkInfo>> NlNetlink::links() {
  std::vector<LinkInfo> out;
  if (int err = impl_->dumpLinks(out); err < 0) return cfgError("netlink: list links", "", err);
  return out;
}

Result<std::vector<AddrInfo>> NlNetlink::addresses() {
  std::vector<LinkInfo> links;
  if (int err = impl_->dumpLinks(links); err < 0) return cfgError("netlink: list links", "", err);
  std::map<int, std::string> names;
  for (auto& l : links) names[l.index] = l.name;

  std::vector<AddrInfo> out;
  ifaddrmsg req{};
  req.ifa_family = AF_INET;
  int err = impl_->dump(
      RTM_GETADDR, &req, sizeof req,
      [&](nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWADDR) return;
        auto addr = parseAddr(h);
        if (!addr) return;
        if (auto it = names.find(addr->index); it != names.end()) addr->ifname = it->second;
        out.push_back(std::move(*addr));
      },
      [&] { out.clear(); });
  if (err < 0) return cfgError("netlink: list IPv4 addresses", "", err);
  return out;
}

Result<std::vector<DefaultRoute>> NlNetlink::defaultRoutes() {
  std::vector<LinkInfo> links;
  if (int err = impl_->dumpLinks(links); err < 0) return cfgError("netlink: list links", "", err);
  std::map<int, std::string> names;
  for (auto& l : links) names[l.index] = l.name;

  std::vector<DefaultRoute> out;
  rtmsg req{};
  req.rtm_family = AF_INET;
  int err = impl_->dump(
      RTM_GETROUTE, &req, sizeof req,
      [&](nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWROUTE) return;
        for (auto& r : parseDefaultRoutes(h, tables_)) {
          if (auto it = names.find(r.index); it != names.end()) r.ifname = it->second;
          out.push_back(std::move(r));
        }
      },
      [&] { out.clear(); });
  if (err < 0) return cfgError("netlink: list IPv4 routes", "", err);
  return out;
}

Status NlNetlink::setLinkUp(const std::string& ifname, bool up) {
  const std::string operation = up ? "set link up" : "set link down";
  auto index = impl_->ifindex(ifname, operation);
  if (!index) return index.error();
  // A fresh "orig" carrying only the index: the request then has family AF_UNSPEC and
  // ifi_change = IFF_UP, whatever libnl would make of the device (bridges come back from
  // the kernel looking like AF_BRIDGE objects).
  LinkPtr orig(rtnl_link_alloc());
  LinkPtr change(rtnl_link_alloc());
  if (!orig || !change) return cfgError(operation, ifname, -NLE_NOMEM);
  rtnl_link_set_ifindex(orig.get(), *index);
  if (up) {
    rtnl_link_set_flags(change.get(), IFF_UP);
  } else {
    rtnl_link_unset_flags(change.get(), IFF_UP);
  }
  int err = impl_->noteResult(rtnl_link_change(impl_->sk, orig.get(), change.get(), 0));
  if (err < 0) {
    if (isNoDevice(err)) return unknownIface(ifname);
    return cfgError(operation, ifname, err);
  }
  return {};
}

Status NlNetlink::addAddress(const std::string& ifname, const Ipv4Prefix& p) {
  const std::string operation = "add address " + p.str();
  if (p.length < 0 || p.length > 32) {
    return makeError(Errc::InvalidArgument, operation + " on " + ifname + ": bad prefix length");
  }
  auto index = impl_->ifindex(ifname, operation);
  if (!index) return index.error();
  RtAddrPtr addr = Impl::addrObject(*index, p, /*withBroadcast=*/true);
  if (!addr) return cfgError(operation, ifname, -NLE_NOMEM);
  int err = impl_->noteResult(rtnl_addr_add(impl_->sk, addr.get(), 0));
  if (err == -NLE_EXIST) return {};  // already there: the same address and prefix length
  if (err < 0) {
    if (isNoDevice(err)) return unknownIface(ifname);
    return cfgError(operation, ifname, err);
  }
  return {};
}

Status NlNetlink::removeAddress(const std::string& ifname, const Ipv4Prefix& p) {
  const std::string operation = "remove address " + p.str();
  if (p.length < 0 || p.length > 32) {
    return makeError(Errc::InvalidArgument, operation + " on " + ifname + ": bad prefix length");
  }
  auto index = impl_->ifindex(ifname, operation);
  if (!index) return index.error();
  RtAddrPtr addr = Impl::addrObject(*index, p, /*withBroadcast=*/false);
  if (!addr) return cfgError(operation, ifname, -NLE_NOMEM);
  int err = impl_->noteResult(rtnl_addr_delete(impl_->sk, addr.get(), 0));
  if (err == -NLE_NOADDR) return {};  // EADDRNOTAVAIL: not there
  if (err < 0) {
    if (isNoDevice(err)) {
      // ENODEV also means "no IPv4 configuration on this device": then nothing to remove.
      auto again = impl_->ifindex(ifname, operation);
      if (again && *again == *index) return {};
      return unknownIface(ifname);
    }
    return cfgError(operation, ifname, err);
  }
  return {};
}

Status NlNetlink::readIpv6(std::vector<Addr6Info>& addrs, std::vector<DefaultRoute6>& routes) {
  std::vector<LinkInfo> links;
  if (int err = impl_->dumpLinks(links); err < 0) return cfgError("netlink: list links", "", err);
  std::map<int, std::string> names;
  for (auto& l : links) names[l.index] = l.name;
  auto name = [&names](int index) {
    auto it = names.find(index);
    return it == names.end() ? std::string() : it->second;
  };
  ifaddrmsg areq{};
  areq.ifa_family = AF_INET6;
  int err = impl_->dump(
      RTM_GETADDR, &areq, sizeof areq,
      [&](nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWADDR) return;
        if (auto a = rtnl::parseAddr6(h)) {
          a->ifname = name(a->index);
          addrs.push_back(std::move(*a));
        }
      },
      [&] { addrs.clear(); });
  if (err < 0) return cfgError("netlink: list IPv6 addresses", "", err);
  rtmsg rreq{};
  rreq.rtm_family = AF_INET6;
  err = impl_->dump(
      RTM_GETROUTE, &rreq, sizeof rreq,
      [&](nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWROUTE) return;
        for (auto& r : rtnl::parseDefaultRoutes6(h, tables_)) {
          r.ifname = name(r.index);
          routes.push_back(std::move(r));
        }
      },
      [&] { routes.clear(); });
  if (err < 0) return cfgError("netlink: list IPv6 routes", "", err);
  return {};
}

Result<std::vector<Neighbour6>> NlNetlink::neighbours6(const std::string& ifname) {
  auto index = impl_->ifindex(ifname, "list neighbours");
  if (!index) return index.error();
  std::vector<Neighbour6> out;
  ndmsg req{};
  req.ndm_family = AF_INET6;
  int err = impl_->dump(
      RTM_GETNEIGH, &req, sizeof req,
      [&](nlmsghdr* h) {
        if (auto n = rtnl::parseNeighbour6(h); n && n->index == *index) out.push_back(std::move(*n));
      },
      [&] { out.clear(); });
  if (err < 0) return cfgError("netlink: list IPv6 neighbours", ifname, err);
  return out;
}

Status NlNetlink::addAddress6(const std::string& ifname, const Ipv6Prefix& p) { return setAddress6Lifetimes(ifname, p, ~0U, ~0U); }

Status NlNetlink::setAddress6Lifetimes(const std::string& ifname, const Ipv6Prefix& p, uint32_t preferredSec, uint32_t validSec) {
  const bool forever = preferredSec == 0xffffffffU && validSec == 0xffffffffU;  // addAddress6: idempotent
  const std::string operation = (forever ? "add address " : "set lifetimes of ") + p.str();
  auto index = impl_->ifindex(ifname, operation);
  if (!index) return index.error();
  RtAddrPtr addr = addr6Object(*index, p);
  if (!addr) return cfgError(operation, ifname, -NLE_NOMEM);
  rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  if (!forever) rtnl_addr_set_valid_lifetime(addr.get(), validSec);
  if (!forever) rtnl_addr_set_preferred_lifetime(addr.get(), std::min(preferredSec, validSec));
  int err = impl_->noteResult(rtnl_addr_add(impl_->sk, addr.get(), forever ? 0 : NLM_F_REPLACE));
  if (err < 0 && !(err == -NLE_EXIST && forever)) return isNoDevice(err) ? unknownIface(ifname) : cfgError(operation, ifname, err);
  return {};
}

Status NlNetlink::removeAddress6(const std::string& ifname, const Ipv6Prefix& p) {
  const std::string operation = "remove address " + p.str();
  auto index = impl_->ifindex(ifname, operation);
  if (!index) return index.error();
  RtAddrPtr addr = addr6Object(*index, p);
  if (!addr) return cfgError(operation, ifname, -NLE_NOMEM);
  int err = impl_->noteResult(rtnl_addr_delete(impl_->sk, addr.get(), 0));
  if (err == -NLE_NOADDR) return {};
  if (err < 0) return isNoDevice(err) ? unknownIface(ifname) : cfgError(operation, ifname, err);
  return {};
}

Status NlNetlink::createBridge(const std::string& name) {
  const std::string operation = "create bridge";
  if (!validIfname(name)) return makeError(Errc::InvalidArgument, "create bridge: '" + name + "' is not a valid interface name");
  if (int err = impl_->connect(); err < 0) return cfgError(operation, name, err);
  LinkPtr link(rtnl_link_alloc());
  if (!link) return cfgError(operation, name, -NLE_NOMEM);
  rtnl_link_set_name(link.get(), name.c_str());
  if (int err = rtnl_link_set_type(link.get(), "bridge"); err < 0) return cfgError(operation, name, err);
  int err = impl_->noteResult(rtnl_link_add(impl_->sk, link.get(), NLM_F_CREATE | NLM_F_EXCL));
  if (err == -NLE_EXIST) {
    // Already there (a previous run's, or made by hand): fine if it is a bridge.
    rtnl_link* raw = nullptr;
    int gerr = impl_->noteResult(rtnl_link_get_kernel(impl_->sk, 0, name.c_str(), &raw));
    LinkPtr existing(raw);
    if (gerr < 0) return cfgError(operation, name, gerr);
    const char* kind = rtnl_link_get_type(existing.get());
    if (kind != nullptr && std::strcmp(kind, "bridge") == 0) return {};
    return makeError(Errc::AlreadyExists, "create bridge " + name + ": a link of that name exists and is not a bridge (" +
                                              (kind != nullptr ? kind : "no kind") + ")");
  }
  if (err < 0) return cfgError(operation, name, err);
  return {};
}

Status NlNetlink::deleteLink(const std::string& name) {
  const std::string operation = "delete link";
  if (!validIfname(name)) return makeError(Errc::InvalidArgument, "delete link: '" + name + "' is not a valid interface name");
  auto index = impl_->ifindex(name, operation);
  if (!index) return index.error().code == Errc::UnknownIface ? Status{} : Status{index.error()};
  LinkPtr link(rtnl_link_alloc());
  if (!link) return cfgError(operation, name, -NLE_NOMEM);
  rtnl_link_set_ifindex(link.get(), *index);
  int err = impl_->noteResult(rtnl_link_delete(impl_->sk, link.get()));
  if (err < 0 && !isNoDevice(err)) return cfgError(operation, name, err);
  return {};
}

}  // namespace tetherd
