#include "tether/system/nl_parse.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace tetherd::rtnl {

namespace {

// ---------------------------------------------------------------------------------------
// Parsing rtnetlink messages. The same code reads dumps and events, so that both give the
// same view. Raw messages rather than libnl objects: the pitfalls (family of a message,
// table, multipath) are decided on the message itself.

std::optional<uint32_t> attrU32(const nlattr* a) {
  if (a == nullptr || nla_len(a) < static_cast<int>(sizeof(uint32_t))) return std::nullopt;
  return nla_get_u32(a);
}

std::optional<Ipv4Address> attrV4(const nlattr* a) {
  if (a == nullptr || nla_len(a) != 4) return std::nullopt;
  uint32_t be = 0;
  std::memcpy(&be, nla_data(a), sizeof be);
  return Ipv4Address{ntohl(be)};
}

// Calls f(ifindex, attributes or nullptr) for each nexthop of an RTA_MULTIPATH attribute (a
// run of rtnexthop headers, each followed by its own attributes: RTA_GATEWAY, ...); stops at
// the first malformed one.
template <class F>
void forEachNexthop(const nlattr* multipath, F&& f) {
  const char* p = static_cast<const char*>(nla_data(multipath));
  int remaining = nla_len(multipath);
  const int headerLen = static_cast<int>(RTNH_ALIGN(sizeof(rtnexthop)));
  while (remaining >= static_cast<int>(sizeof(rtnexthop))) {
    rtnexthop nh;
    std::memcpy(&nh, p, sizeof nh);
    if (nh.rtnh_len < sizeof(rtnexthop) || nh.rtnh_len > remaining) break;
    nlattr* nhtb[RTA_MAX + 1] = {};
    bool attrs = false;
    if (nh.rtnh_len > headerLen) {
      auto* first = reinterpret_cast<nlattr*>(const_cast<char*>(p) + headerLen);
      attrs = nla_parse(nhtb, RTA_MAX, first, nh.rtnh_len - headerLen, nullptr) >= 0;
    }
    f(nh.rtnh_ifindex, attrs ? nhtb : nullptr);
    const int step = static_cast<int>(RTNH_ALIGN(nh.rtnh_len));
    if (step >= remaining) break;
    p += step;
    remaining -= step;
  }
}

std::string attrString(const nlattr* a) {
  if (a == nullptr) return {};
  const char* p = static_cast<const char*>(nla_data(a));
  return std::string(p, ::strnlen(p, static_cast<size_t>(nla_len(a))));
}

}  // namespace

// RTM_NEWLINK / RTM_DELLINK. Only family AF_UNSPEC describes the link itself: the bridge
// sends AF_BRIDGE messages about its ports (RTM_DELLINK when a port leaves the bridge,
// while the device lives on).
std::optional<LinkInfo> parseLink(nlmsghdr* h) {
  if (!nlmsg_valid_hdr(h, sizeof(ifinfomsg))) return std::nullopt;
  const auto* ifi = static_cast<const ifinfomsg*>(nlmsg_data(h));
  if (ifi->ifi_family != AF_UNSPEC || ifi->ifi_index <= 0) return std::nullopt;
  nlattr* tb[IFLA_MAX + 1] = {};
  if (nlmsg_parse(h, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0) return std::nullopt;
  LinkInfo link;
  link.index = ifi->ifi_index;
  link.name = attrString(tb[IFLA_IFNAME]);
  link.adminUp = (ifi->ifi_flags & IFF_UP) != 0;
  link.lowerUp = (ifi->ifi_flags & IFF_LOWER_UP) != 0;
  return link;
}

// RTM_NEWADDR / RTM_DELADDR, IPv4 only. ifname is the address label with any alias suffix
// (":1") removed; callers that know the link's name put that instead.
std::optional<AddrInfo> parseAddr(nlmsghdr* h) {
  if (!nlmsg_valid_hdr(h, sizeof(ifaddrmsg))) return std::nullopt;
  const auto* ifa = static_cast<const ifaddrmsg*>(nlmsg_data(h));
  if (ifa->ifa_family != AF_INET || ifa->ifa_prefixlen > 32) return std::nullopt;
  nlattr* tb[IFA_MAX + 1] = {};
  if (nlmsg_parse(h, sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0) return std::nullopt;
  auto local = attrV4(tb[IFA_LOCAL]);
  if (!local) local = attrV4(tb[IFA_ADDRESS]);
  if (!local) return std::nullopt;
  AddrInfo addr;
  addr.index = static_cast<int>(ifa->ifa_index);
  addr.prefix = Ipv4Prefix{*local, ifa->ifa_prefixlen};
  addr.ifname = attrString(tb[IFA_LABEL]);
  if (auto colon = addr.ifname.find(':'); colon != std::string::npos) addr.ifname.resize(colon);
  return addr;
}

// RTM_NEWROUTE / RTM_DELROUTE: the IPv4 unicast default routes of a learnt table in the
// message, one per nexthop; empty for any other route. ifname is left empty.
std::vector<DefaultRoute> parseDefaultRoutes(nlmsghdr* h, const LearntTables& tables) {
  std::vector<DefaultRoute> out;
  if (!nlmsg_valid_hdr(h, sizeof(rtmsg))) return out;
  const auto* rtm = static_cast<const rtmsg*>(nlmsg_data(h));
  if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST ||
      (rtm->rtm_flags & RTM_F_CLONED) != 0) {
    return out;
  }
  nlattr* tb[RTA_MAX + 1] = {};
  if (nlmsg_parse(h, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) return out;
  uint32_t table = attrU32(tb[RTA_TABLE]).value_or(rtm->rtm_table);
  if (!tables.learns(table)) return out;
  uint32_t metric = attrU32(tb[RTA_PRIORITY]).value_or(0);

  if (tb[RTA_MULTIPATH] != nullptr) {
    forEachNexthop(tb[RTA_MULTIPATH], [&](int index, nlattr** nhtb) {
      DefaultRoute route;
      route.index = index;
      route.metric = metric;
      route.table = table;
      if (nhtb != nullptr) route.gateway = attrV4(nhtb[RTA_GATEWAY]).value_or(Ipv4Address{});
      out.push_back(std::move(route));
    });
    return out;
  }

  DefaultRoute route;
  route.index = static_cast<int>(attrU32(tb[RTA_OIF]).value_or(0));
  route.gateway = attrV4(tb[RTA_GATEWAY]).value_or(Ipv4Address{});
  route.metric = metric;
  route.table = table;
  out.push_back(std::move(route));
  return out;
}

std::optional<Neighbour6> parseNeighbour6(nlmsghdr* h) {
  if (h->nlmsg_type != RTM_NEWNEIGH || !nlmsg_valid_hdr(h, sizeof(ndmsg))) return std::nullopt;
  const auto* nd = static_cast<const ndmsg*>(nlmsg_data(h));
  if (nd->ndm_family != AF_INET6 || (nd->ndm_state & (NUD_FAILED | NUD_INCOMPLETE | NUD_NOARP)) != 0) return std::nullopt;
  nlattr* tb[NDA_MAX + 1] = {};
  if (nlmsg_parse(h, sizeof(ndmsg), tb, NDA_MAX, nullptr) < 0) return std::nullopt;
  if (tb[NDA_DST] == nullptr || nla_len(tb[NDA_DST]) != 16 || tb[NDA_LLADDR] == nullptr || nla_len(tb[NDA_LLADDR]) != 6)
    return std::nullopt;
  Neighbour6 n;
  n.index = nd->ndm_ifindex;
  std::memcpy(n.address.bytes.data(), nla_data(tb[NDA_DST]), 16);
  const auto* mac = static_cast<const unsigned char*>(nla_data(tb[NDA_LLADDR]));
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 6; ++i) {
    if (i) n.mac += ':';
    n.mac += kHex[mac[i] >> 4];
    n.mac += kHex[mac[i] & 15];
  }
  return n;
}

std::optional<Addr6Info> parseAddr6(nlmsghdr* h) {
  if (!nlmsg_valid_hdr(h, sizeof(ifaddrmsg))) return std::nullopt;
  const auto* ifa = static_cast<const ifaddrmsg*>(nlmsg_data(h));
  if (ifa->ifa_family != AF_INET6 || ifa->ifa_prefixlen > 128 || ifa->ifa_scope != RT_SCOPE_UNIVERSE) return std::nullopt;
  nlattr* tb[IFA_MAX + 1] = {};
  if (nlmsg_parse(h, sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0) return std::nullopt;
  nlattr* a = tb[IFA_LOCAL] != nullptr ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (a == nullptr || nla_len(a) != 16) return std::nullopt;
  Addr6Info out;
  out.index = static_cast<int>(ifa->ifa_index);
  std::memcpy(out.prefix.address.bytes.data(), nla_data(a), 16);
  out.prefix.length = ifa->ifa_prefixlen;
  out.flags = attrU32(tb[IFA_FLAGS]).value_or(ifa->ifa_flags);
  return out;
}

std::vector<DefaultRoute6> parseDefaultRoutes6(nlmsghdr* h, const LearntTables& tables) {
  std::vector<DefaultRoute6> out;
  if (!nlmsg_valid_hdr(h, sizeof(rtmsg))) return out;
  const auto* rtm = static_cast<const rtmsg*>(nlmsg_data(h));
  if (rtm->rtm_family != AF_INET6 || rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST ||
      (rtm->rtm_flags & RTM_F_CLONED) != 0) {
    return out;
  }
  nlattr* tb[RTA_MAX + 1] = {};
  if (nlmsg_parse(h, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) return out;
  const uint32_t table = attrU32(tb[RTA_TABLE]).value_or(rtm->rtm_table);
  if (!tables.learns(table)) return out;
  const uint32_t metric = attrU32(tb[RTA_PRIORITY]).value_or(0);
  auto add = [&](int index, nlattr* gateway) {
    DefaultRoute6 route;
    route.table = table;
    route.multipath = tb[RTA_MULTIPATH] != nullptr;
    route.index = index;
    route.metric = metric;
    if (gateway != nullptr && nla_len(gateway) == 16) std::memcpy(route.gateway.bytes.data(), nla_data(gateway), 16);
    if (route.index > 0) out.push_back(route);
  };
  // The kernel reports routes with the same destination and metric whose gateways make them
  // siblings (static ones; `ip -6 route add default nexthop via ... nexthop via ...`) as one
  // message with a nexthop each in RTA_MULTIPATH, and no RTA_OIF or RTA_GATEWAY of its own.
  if (tb[RTA_MULTIPATH] != nullptr) {
    forEachNexthop(tb[RTA_MULTIPATH], [&](int index, nlattr** nhtb) { add(index, nhtb ? nhtb[RTA_GATEWAY] : nullptr); });
    return out;
  }
  add(static_cast<int>(attrU32(tb[RTA_OIF]).value_or(0)), tb[RTA_GATEWAY]);
  return out;
}

// The identity of a default route for the kernel: which route an event talks about.
bool sameRoute(const DefaultRoute& a, const DefaultRoute& b) {
  return a.index == b.index && a.gateway == b.gateway && a.metric == b.metric && a.table == b.table;
}

namespace {

std::string nameOf(const std::map<int, LinkInfo>& links, int index) {
  auto it = links.find(index);
  return it == links.end() ? std::string() : it->second.name;
}

void emit(std::vector<NetEvent>& events, NetEvent::Type type, const LinkInfo* link, const AddrInfo* addr,
          const DefaultRoute* route) {
  NetEvent event;
  event.type = type;
  if (link != nullptr) event.link = *link;
  if (addr != nullptr) event.addr = *addr;
  if (route != nullptr) event.route = *route;
  events.push_back(std::move(event));
}

}  // namespace

bool translateEvent(nlmsghdr* h, KernelView& view, std::vector<NetEvent>& events) {
  auto& links = view.links;
  auto& routes = view.routes;
  bool reconcile = false;
  switch (h->nlmsg_type) {
    case RTM_NEWLINK: {
      auto link = parseLink(h);  // nullopt for AF_BRIDGE port messages
      if (!link) return reconcile;
      auto it = links.find(link->index);
      if (it == links.end()) {
        links.emplace(link->index, *link);
        emit(events, NetEvent::Type::LinkAdded, &*link, nullptr, nullptr);
        return reconcile;
      }
      if (it->second == *link) return reconcile;  // a change the owner cannot see (mtu, master, ...)
      const LinkInfo before = it->second;
      it->second = *link;
      for (auto& r : routes) {
        if (r.index == link->index) {
          r.ifname = link->name;
          reconcile = true;  // down: the kernel flushes its IPv4 routes without a message
        }
      }
      // Set down, the kernel flushes the link's IPv6 routes without a message (the
      // LinkChanged below tells readers).
      if (before.adminUp && !link->adminUp)
        std::erase_if(view.routes6, [&](const DefaultRoute6& r) { return r.index == link->index; });
      for (auto& r : view.routes6)
        if (r.index == link->index) r.ifname = link->name;
      emit(events, NetEvent::Type::LinkChanged, &*link, nullptr, nullptr);
      events.back().before = before;
      return reconcile;
    }
    case RTM_DELLINK: {
      // A bridge port leaving its bridge is RTM_DELLINK with family AF_BRIDGE for a device
      // that still exists: parseLink() refuses every family but AF_UNSPEC.
      auto link = parseLink(h);
      if (!link) return reconcile;
      auto it = links.find(link->index);
      if (it == links.end()) return reconcile;
      if (link->name.empty()) link->name = it->second.name;
      links.erase(it);
      std::erase_if(view.addrs, [&](const AddrInfo& a) { return a.index == link->index; });
      std::erase_if(view.addrs6, [&](const Addr6Info& a) { return a.index == link->index; });
      std::erase_if(view.routes6, [&](const DefaultRoute6& r) { return r.index == link->index; });
      for (const auto& r : routes) {
        if (r.index == link->index) reconcile = true;
      }
      emit(events, NetEvent::Type::LinkRemoved, &*link, nullptr, nullptr);
      return reconcile;
    }
    case RTM_NEWADDR:
    case RTM_DELADDR: {
      if (auto a6 = parseAddr6(h)) {  // IPv6: the view only (see kernel_view.h)
        a6->ifname = nameOf(links, a6->index);
        // A lifetime refresh (every router advertisement) changes nothing the owner plans on.
        const bool same = h->nlmsg_type == RTM_NEWADDR &&
                          std::find(view.addrs6.begin(), view.addrs6.end(), *a6) != view.addrs6.end();
        const auto gone = std::erase_if(view.addrs6, [&](const Addr6Info& a) { return a.index == a6->index && a.prefix == a6->prefix; });
        if (h->nlmsg_type == RTM_NEWADDR) view.addrs6.push_back(*a6);
        if (!same && (h->nlmsg_type == RTM_NEWADDR || gone > 0)) emit(events, NetEvent::Type::Addrs6Changed, nullptr, nullptr, nullptr);
        return reconcile;
      }
      auto addr = parseAddr(h);
      if (!addr) return reconcile;
      if (auto name = nameOf(links, addr->index); !name.empty()) addr->ifname = name;
      auto same = [&](const AddrInfo& a) { return a.index == addr->index && a.prefix == addr->prefix; };
      std::erase_if(view.addrs, same);
      if (h->nlmsg_type == RTM_NEWADDR) {
        view.addrs.push_back(*addr);
        emit(events, NetEvent::Type::AddrAdded, nullptr, &*addr, nullptr);
      } else {
        // Losing an address can flush routes silently (the last one on the link, or a
        // route's preferred source).
        if (!routes.empty()) reconcile = true;
        emit(events, NetEvent::Type::AddrRemoved, nullptr, &*addr, nullptr);
      }
      return reconcile;
    }
    case RTM_NEWROUTE:
    case RTM_DELROUTE: {
      bool changed6 = false;  // an RA refreshing a route it made changes nothing
      for (auto& r6 : parseDefaultRoutes6(h, view.tables)) {
        r6.ifname = nameOf(links, r6.index);
        const bool had = std::erase_if(view.routes6, [&](const DefaultRoute6& r) {
                           return r.index == r6.index && r.gateway == r6.gateway && r.metric == r6.metric &&
                                  r.table == r6.table;
                         }) > 0;
        if (h->nlmsg_type == RTM_NEWROUTE) view.routes6.push_back(r6);
        changed6 = changed6 || had != (h->nlmsg_type == RTM_NEWROUTE);
      }
      if (changed6) emit(events, NetEvent::Type::Routes6Changed, nullptr, nullptr, nullptr);
      auto parsed = parseDefaultRoutes(h, view.tables);
      if (parsed.empty()) return reconcile;
      // `ip route replace` says only what the new route is: find out what went.
      if (h->nlmsg_type == RTM_NEWROUTE && (h->nlmsg_flags & NLM_F_REPLACE) != 0) reconcile = true;
      for (auto& route : parsed) {
        route.ifname = nameOf(links, route.index);
        auto it = std::find_if(routes.begin(), routes.end(),
                               [&](const DefaultRoute& r) { return sameRoute(r, route); });
        if (h->nlmsg_type == RTM_NEWROUTE) {
          if (it != routes.end()) continue;
          routes.push_back(route);
          emit(events, NetEvent::Type::RouteAdded, nullptr, nullptr, &route);
        } else {
          if (it == routes.end()) continue;
          routes.erase(it);
          emit(events, NetEvent::Type::RouteRemoved, nullptr, nullptr, &route);
        }
      }
      return reconcile;
    }
    default:
      return reconcile;
  }
}

}  // namespace tetherd::rtnl
