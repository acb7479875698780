#include "tether/core/address_plan.h"

#include <gtest/gtest.h>

#include "tether/core/upstream.h"

using namespace tetherd;

namespace {
Ipv4Prefix P(const char* s) { return *Ipv4Prefix::parse(s); }
}  // namespace

TEST(AddressPlan, PreferredWhenFree) {
  EXPECT_EQ(chooseSubnet(P("192.168.42.0/24"), {P("10.0.1.2/24")}), P("192.168.42.0/24"));
  EXPECT_EQ(downstreamAddress(P("192.168.42.0/24")).str(), "192.168.42.1/24");
}

TEST(AddressPlan, MovesPastConflicts) {
  EXPECT_EQ(chooseSubnet(P("192.168.42.0/24"), {P("192.168.42.77/24")}), P("192.168.43.0/24"));
  EXPECT_EQ(chooseSubnet(P("192.168.42.0/24"), {P("192.168.42.0/23"), P("192.168.44.0/24")}), P("192.168.45.0/24"));
  // An upstream covering all of 192.168/16 pushes to 172.16/12.
  EXPECT_EQ(chooseSubnet(P("192.168.42.0/24"), {P("192.168.0.0/16")}), P("172.16.0.0/24"));
  EXPECT_FALSE(chooseSubnet(P("192.168.42.0/24"), {P("0.0.0.0/0")}));
}

TEST(Upstream, ChoosesFirstUsableInPriorityOrder) {
  std::map<std::string, UpstreamView> v;
  v["eth0"] = {"eth0", true, true, true, {*Ipv4Address::parse("1.1.1.1")}};
  v["wwan0"] = {"wwan0", true, true, true, {*Ipv4Address::parse("8.8.8.8")}};
  EXPECT_EQ(chooseUpstream({"eth0", "wwan0"}, v), "eth0");
  v["eth0"].up = false;
  EXPECT_EQ(chooseUpstream({"eth0", "wwan0"}, v), "wwan0");
  v["wwan0"].dns.clear();  // no DNS: not usable
  EXPECT_EQ(chooseUpstream({"eth0", "wwan0"}, v), std::nullopt);
}

TEST(Upstream, ParsesResolvConf) {
  auto s = parseResolvConf("# x\nnameserver 10.0.0.1\nnameserver 127.0.0.53\nnameserver  192.0.2.1 \nnameserverx 1.2.3.4\nsearch lan\n");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].str(), "10.0.0.1");
  EXPECT_EQ(s[1].str(), "192.0.2.1");
}

// 0.0.0.0 names the host's own resolver (libc sends to the host): skipped like 127/8, so
// dnsmasq is not given "server=0.0.0.0". At most 8 servers, CRLF lines read.
TEST(Upstream, ResolvConfSkipsThisHostAndKeepsEight) {
  auto s = parseResolvConf("nameserver 0.0.0.0\nnameserver 0.1.2.3\r\nnameserver 10.0.0.1\r\n");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].str(), "10.0.0.1");
  std::string many;
  for (int i = 1; i <= 10; ++i) many += "nameserver 10.0.0." + std::to_string(i) + "\n";
  auto m = parseResolvConf(many);
  ASSERT_EQ(m.size(), 8u);
  EXPECT_EQ(m[7].str(), "10.0.0.8");
}
