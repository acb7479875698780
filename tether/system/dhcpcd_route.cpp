#include "tether/system/dhcpcd_route.h"

#include <linux/rtnetlink.h>
#include <netlink/route/route.h>
#include <sys/socket.h>

#include <memory>

namespace tetherd {

namespace {
struct SockDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct RouteDeleter {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct AddrDeleter {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
}  // namespace

Status removeDhcpUnreachable6(const Ipv6Prefix& delegated) {
  const std::string what = "remove dhcpcd's unreachable route " + delegated.str();
  std::unique_ptr<nl_sock, SockDeleter> sk(nl_socket_alloc());
  if (!sk) return makeError(Errc::SystemError, what + ": out of memory");
  if (int e = nl_connect(sk.get(), NETLINK_ROUTE); e < 0) return makeError(Errc::SystemError, what + ": " + nl_geterror(e));
  std::unique_ptr<rtnl_route, RouteDeleter> route(rtnl_route_alloc());
  std::unique_ptr<nl_addr, AddrDeleter> dst(nl_addr_build(AF_INET6, delegated.network().bytes.data(), 16));
  if (!route || !dst) return makeError(Errc::SystemError, what + ": out of memory");
  nl_addr_set_prefixlen(dst.get(), delegated.length);
  rtnl_route_set_family(route.get(), AF_INET6);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_type(route.get(), RTN_UNREACHABLE);
  rtnl_route_set_protocol(route.get(), RTPROT_DHCP);
  if (int e = rtnl_route_set_dst(route.get(), dst.get()); e < 0) return makeError(Errc::SystemError, what + ": " + nl_geterror(e));
  int e = rtnl_route_delete(sk.get(), route.get(), 0);
  if (e == -NLE_OBJ_NOTFOUND || e == -NLE_NOADDR) return {};
  if (e < 0) return makeError(Errc::SystemError, what + ": " + nl_geterror(e));
  return {};
}

}  // namespace tetherd
