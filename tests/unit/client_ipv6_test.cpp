// Per-client control over IPv6 (issue 14 with issue 12): the clients' IPv6 addresses from the
// neighbour table (the bounded book and its event parser) and the exact ip6tables text (the
// plan is in planner_test.cpp).
#include <gtest/gtest.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include <algorithm>
#include "tether/system/netfilter/firewall.h"
#include "tether/system/neighbour_watch.h"

using namespace tetherd;

namespace {

using Lines = std::vector<std::string>;

Ipv6Address A6(const char* text) { return *Ipv6Address::parse(text); }

Neighbour6 n6(int index, const char* mac, const char* address) { return Neighbour6{index, mac, A6(address)}; }

}  // namespace

TEST(NeighbourBook, KeepsRoutableAddressesPerMacMostRecentLastBounded) {
  NeighbourBook book;
  EXPECT_FALSE(book.update(n6(3, "02:00:00:00:00:01", "fe80::1"), true)) << "link-local: never forwarded";
  EXPECT_FALSE(book.update(n6(3, "02:00:00:00:00:01", "ff02::1"), true));
  EXPECT_TRUE(book.update(n6(3, "02:00:00:00:00:01", "fd00:1::10"), true));
  EXPECT_FALSE(book.update(n6(3, "02:00:00:00:00:01", "fd00:1::10"), true)) << "REACHABLE <-> STALE changes nothing";
  EXPECT_TRUE(book.update(n6(3, "02:00:00:00:00:01", "2001:db8::10"), true));
  EXPECT_EQ(book.on(3), (std::map<std::string, std::vector<Ipv6Address>>{
                            {"02:00:00:00:00:01", {A6("2001:db8::10"), A6("fd00:1::10")}}}));  // sorted
  EXPECT_EQ(book.owners(3), (std::map<std::string, std::string>{{"2001:db8::10", "02:00:00:00:00:01"},
                                                                {"fd00:1::10", "02:00:00:00:00:01"}}));
  EXPECT_TRUE(book.on(4).empty());
  // Privacy addresses pile up: the kMaxPerClient most recently seen stay. fd00:1::10 is seen
  // again meanwhile (an event about it): it stays, the least recent ones go.
  for (int i = 0; i < 10; ++i) {
    const std::string a = "2001:db8::1:" + std::to_string(i);
    EXPECT_TRUE(book.update(Neighbour6{3, "02:00:00:00:00:01", A6(a.c_str())}, true));
    if (i == 5) {
      EXPECT_FALSE(book.update(n6(3, "02:00:00:00:00:01", "fd00:1::10"), true)) << "the same set";
    }
  }
  auto kept = book.on(3).at("02:00:00:00:00:01");
  ASSERT_EQ(kept.size(), NeighbourBook::kMaxPerClient);
  EXPECT_EQ(kept, (std::vector<Ipv6Address>{A6("2001:db8::1:3"), A6("2001:db8::1:4"), A6("2001:db8::1:5"),
                                            A6("2001:db8::1:6"), A6("2001:db8::1:7"), A6("2001:db8::1:8"),
                                            A6("2001:db8::1:9"), A6("fd00:1::10")}));
  // Gone (deleted or FAILED, the MAC maybe unknown): forgotten; the last one takes the MAC away.
  EXPECT_TRUE(book.update(Neighbour6{3, "", A6("2001:db8::1:9")}, false));
  EXPECT_FALSE(book.update(Neighbour6{3, "", A6("2001:db8::1:9")}, false));
  EXPECT_EQ(book.on(3).at("02:00:00:00:00:01").size(), NeighbourBook::kMaxPerClient - 1);
  // An address that turns up with another MAC moves to it.
  EXPECT_TRUE(book.update(n6(3, "02:00:00:00:00:02", "2001:db8::1:8"), true));
  EXPECT_EQ(book.owners(3).at("2001:db8::1:8"), "02:00:00:00:00:02");
  EXPECT_EQ(book.on(3).at("02:00:00:00:00:01").size(), NeighbourBook::kMaxPerClient - 2);
}

namespace {

// An rtnetlink neighbour message as the kernel sends it.
struct NeighMsg {
  alignas(4) unsigned char buf[256] = {};
  nlmsghdr* h() { return reinterpret_cast<nlmsghdr*>(buf); }
  NeighMsg(uint16_t type, uint8_t family, uint16_t state, const char* address, bool withMac) {
    h()->nlmsg_type = type;
    h()->nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
    auto* nd = static_cast<ndmsg*>(NLMSG_DATA(h()));
    nd->ndm_family = family;
    nd->ndm_ifindex = 7;
    nd->ndm_state = state;
    auto a = A6(address);
    add(NDA_DST, a.bytes.data(), 16);
    const unsigned char mac[6] = {0x02, 0, 0, 0, 0, 0x0a};
    if (withMac) add(NDA_LLADDR, mac, 6);
  }
  void add(uint16_t type, const void* data, size_t len) {
    auto* rta = reinterpret_cast<rtattr*>(buf + NLMSG_ALIGN(h()->nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    std::memcpy(RTA_DATA(rta), data, len);
    h()->nlmsg_len = NLMSG_ALIGN(h()->nlmsg_len) + RTA_ALIGN(rta->rta_len);
  }
};

}  // namespace

TEST(NeighbourEvents, NewDeletedAndFailedEntries) {
  NeighMsg reachable(RTM_NEWNEIGH, AF_INET6, NUD_REACHABLE, "fd00:1::10", true);
  auto e = parseNeighbourEvent(reachable.h());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->first, (Neighbour6{7, "02:00:00:00:00:0a", A6("fd00:1::10")}));
  EXPECT_TRUE(e->second);
  NeighMsg failed(RTM_NEWNEIGH, AF_INET6, NUD_FAILED, "fd00:1::10", false);
  e = parseNeighbourEvent(failed.h());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->first, (Neighbour6{7, "", A6("fd00:1::10")}));
  EXPECT_FALSE(e->second);
  NeighMsg deleted(RTM_DELNEIGH, AF_INET6, NUD_STALE, "fd00:1::10", true);
  e = parseNeighbourEvent(deleted.h());
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->second);
  NeighMsg incomplete(RTM_NEWNEIGH, AF_INET6, NUD_INCOMPLETE, "fd00:1::10", false);
  EXPECT_FALSE(parseNeighbourEvent(incomplete.h())) << "not known to be there yet";
  NeighMsg ipv4(RTM_NEWNEIGH, AF_INET, NUD_REACHABLE, "fd00:1::10", true);
  EXPECT_FALSE(parseNeighbourEvent(ipv4.h()));
  NeighMsg truncated(RTM_NEWNEIGH, AF_INET6, NUD_REACHABLE, "fd00:1::10", true);
  truncated.h()->nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg) - 1);
  EXPECT_FALSE(parseNeighbourEvent(truncated.h()));
}

// The exact ip6tables text of a client counted over both families with a quota: the same
// chain names, jumps and quota figure as IPv4's, with the /128 hosts.
TEST(ClientIpv6Rules, CountingAndQuotaChainsInIp6tables) {
  FirewallState s{{"usb0"}, {{"usb0", "eth0"}}};
  s.ipv6 = true;
  s.clients = {{"usb0", {"192.168.42.10", "2001:db8::10", "fd00:1::10", "fd00:1::11"}}};
  s.quotaOf = {{"192.168.42.10", "02:00:00:00:00:01"}, {"2001:db8::10", "02:00:00:00:00:01"}, {"fd00:1::10", "02:00:00:00:00:01"}};
  s.quotaLeft = {{"02:00:00:00:00:01", 3'500'000}};
  ASSERT_TRUE(fw::validate(s).ok());
  auto filter = renderFirewallRules6(s)["filter"];
  Lines acct;
  for (const auto& l : filter)
    if (l.find("tetherd_acct_") != std::string::npos || l.find("tetherd_quota_") != std::string::npos) acct.push_back(l);
  EXPECT_EQ(acct, (Lines{
                      "-N tetherd_acct_usb0",
                      "-N tetherd_quota_020000000001",
                      "-A tetherd_acct_usb0 -s 2001:db8::10/128 -j tetherd_quota_020000000001",
                      "-A tetherd_acct_usb0 -d 2001:db8::10/128 -j tetherd_quota_020000000001",
                      "-A tetherd_acct_usb0 -s 2001:db8::10/128 -j RETURN",
                      "-A tetherd_acct_usb0 -d 2001:db8::10/128 -j RETURN",
                      "-A tetherd_acct_usb0 -s fd00:1::10/128 -j tetherd_quota_020000000001",
                      "-A tetherd_acct_usb0 -d fd00:1::10/128 -j tetherd_quota_020000000001",
                      "-A tetherd_acct_usb0 -s fd00:1::10/128 -j RETURN",
                      "-A tetherd_acct_usb0 -d fd00:1::10/128 -j RETURN",
                      "-A tetherd_acct_usb0 -s fd00:1::11/128 -j RETURN",
                      "-A tetherd_acct_usb0 -d fd00:1::11/128 -j RETURN",
                      "-A tetherd_counters -i usb0 -j tetherd_acct_usb0",
                      "-A tetherd_counters -o usb0 -j tetherd_acct_usb0",
                      "-A tetherd_quota_020000000001 -m quota --quota 3500000 -j RETURN",
                      "-A tetherd_quota_020000000001 -j DROP",
                  }));
  // The IPv4 table has the same quota chain with the same figure, and no IPv6 host.
  auto v4 = renderFirewallRules(s)["filter"];
  EXPECT_NE(std::find(v4.begin(), v4.end(), "-A tetherd_quota_020000000001 -m quota --quota 3500000 -j RETURN"), v4.end());
  for (const auto& l : v4) EXPECT_EQ(l.find("/128"), std::string::npos) << l;
}
