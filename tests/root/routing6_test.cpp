// Issue 13's IPv6 gaps against the real kernel, inside the private network namespace made by
// root/main.cpp (set up and observed with ip and nft; the adapters never run them):
// - a multipath IPv6 default (`ip -6 route add default nexthop via .. nexthop via ..`) is
//   read as one default per nexthop, and NlRouting's copies of them in tetherd's table become
//   one multipath route again, removed nexthop by nexthop and by the flush;
// - NlConntrack removes the IPv6 flows source-NATed to an address (nat66) and no others.
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/root/shell.h"

#include "tether/system/nl_conntrack.h"
#include "tether/system/nl_netlink.h"
#include "tether/system/nl_routing.h"

using namespace tetherd;

namespace {

using roottest::capture;
using roottest::sh;

int indexOf(const std::string& ifname) { return static_cast<int>(::if_nametoindex(ifname.c_str())); }

Ipv6Address A(const char* s) { return *Ipv6Address::parse(s); }

TEST(Routing6Test, AMultipathDefaultIsReadPerNexthopAndMirroredAsOneAgain) {
  ASSERT_EQ(sh("ip link add rt6a type veth peer name rt6b && ip link set rt6a up && ip link set rt6b up"), 0);
  ASSERT_EQ(sh("ip -6 route add default metric 1024 nexthop via fe80::1 dev rt6a nexthop via fe80::2 dev rt6a"), 0);
  const int index = indexOf("rt6a");
  NlNetlink nl;
  nl.learnTables(LearntTables{9200, 9263});
  std::vector<Addr6Info> addrs;
  std::vector<DefaultRoute6> routes;
  ASSERT_TRUE(nl.readIpv6(addrs, routes));
  std::erase_if(routes, [&](const DefaultRoute6& r) { return r.index != index; });
  std::sort(routes.begin(), routes.end(), [](const auto& a, const auto& b) { return a.gateway < b.gateway; });
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].gateway, A("fe80::1"));
  EXPECT_EQ(routes[1].gateway, A("fe80::2"));
  EXPECT_EQ(routes[0].metric, 1024u);
  EXPECT_TRUE(routes[0].multipath && routes[1].multipath);

  // The copies, added one by one as RoutingApplier does: one multipath route in table 9200.
  NlRouting routing;
  TableRoute first{9200, 6, {}, {}, "rt6a", index, 1024, Ipv6Prefix{}, A("fe80::1")};
  TableRoute second = first;
  second.gateway6 = A("fe80::2");
  ASSERT_TRUE(routing.addRoute(first));
  ASSERT_TRUE(routing.addRoute(second));
  ASSERT_TRUE(routing.addRoute(second));  // already there: success, nothing added
  std::string table = capture("ip -6 route show table 9200");
  EXPECT_NE(table.find("nexthop via fe80::1 dev rt6a"), std::string::npos) << table;
  EXPECT_NE(table.find("nexthop via fe80::2 dev rt6a"), std::string::npos) << table;
  // One nexthop goes: the other stays.
  ASSERT_TRUE(routing.deleteRoute(first));
  table = capture("ip -6 route show table 9200");
  EXPECT_EQ(table.find("fe80::1"), std::string::npos) << table;
  EXPECT_NE(table.find("default via fe80::2 dev rt6a"), std::string::npos) << table;
  // And the flush takes a multipath route whole.
  ASSERT_TRUE(routing.addRoute(first));
  auto n = routing.flush(RoutingRange{9200, 9263, 9200, 9263});
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(capture("ip -6 route show table 9200 2>/dev/null"), "");
  sh("ip link del rt6a");
}

// One UDP datagram from `from` (bound to it) to `to`: a conntrack entry.
void sendUdp(const char* from, uint16_t port, const char* to, uint16_t toPort = 53) {
  int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  std::copy_n(A(from).bytes.begin(), 16, a.sin6_addr.s6_addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  sockaddr_in6 b{};
  b.sin6_family = AF_INET6;
  b.sin6_port = htons(toPort);
  std::copy_n(A(to).bytes.begin(), 16, b.sin6_addr.s6_addr);
  ASSERT_EQ(::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&b), sizeof b), 1);
  ::close(fd);
}

std::string flows() { return capture("cat /proc/net/nf_conntrack 2>/dev/null | grep ipv6 | grep udp"); }

TEST(Routing6Test, TheIpv6FlowsNatedToAnAddressAreRemoved) {
  ASSERT_EQ(sh("ip link add ct6a type veth peer name ct6b && ip link set ct6a up && ip link set ct6b up"), 0);
  ASSERT_EQ(sh("ip -6 addr add fd00:1::1/64 dev ct6a nodad && ip -6 addr add fd00:1::77/64 dev ct6a nodad && "
               "ip -6 route add fd00:2::/64 dev ct6a"), 0);
  // nat66's masquerade stands in as a snat to fd00:1::77 of what leaves from fd00:1::1 to port 53.
  ASSERT_EQ(sh("nft add table ip6 up13 && nft 'add chain ip6 up13 post { type nat hook postrouting priority 100; }' && "
               "nft add rule ip6 up13 post ip6 saddr fd00:1::1 udp dport 53 snat to fd00:1::77"), 0);
  sendUdp("fd00:1::1", 40001, "fd00:2::9");   // NATed to fd00:1::77
  sendUdp("fd00:1::77", 40002, "fd00:2::9");  // the appliance's own from that address
  sendUdp("fd00:1::1", 40003, "fd00:2::9", 5353);  // not NATed
  const std::string before = flows();
  ASSERT_NE(before.find("sport=40001"), std::string::npos) << before;
  NlConntrack ct;
  auto n = ct.removeNatedTo6(A("fd00:1::77"));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1);
  const std::string after = flows();
  EXPECT_EQ(after.find("sport=40001"), std::string::npos) << after;
  EXPECT_NE(after.find("sport=40002"), std::string::npos) << after;  // its own flow stays
  EXPECT_NE(after.find("sport=40003"), std::string::npos) << after;  // not NATed: stays
  EXPECT_EQ(*ct.removeNatedTo6(A("fd00:1::77")), 0);
  sh("nft delete table ip6 up13; ip link del ct6a");
}

}  // namespace
