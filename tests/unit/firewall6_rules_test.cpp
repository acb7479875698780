// The exact IPv6 rule text tetherd installs. The expected lines are what
// `ip6tables-legacy -S` prints for these rules (tests/root/ip6tc_firewall_test.cpp compares
// the kernel's tables with renderFirewallRules6()).
#include <gtest/gtest.h>

#include "tether/system/netfilter/firewall.h"

using namespace tetherd;

namespace {

using Lines = std::vector<std::string>;

FirewallState v6State() {
  FirewallState s{{"usb0"}, {{"usb0", "eth0"}}};
  s.ipv6 = true;
  s.nat66 = {"eth0"};
  return s;
}

}  // namespace

TEST(Firewall6Rules, OffMeansNoIpv6TablesAtAll) {
  FirewallState s{{"usb0"}, {{"usb0", "eth0"}}};
  EXPECT_TRUE(renderFirewallRules6(s).empty());
  EXPECT_TRUE(fw::buildTables6(s).empty());
}

TEST(Firewall6Rules, OnePairWithNat66) {
  auto rules = renderFirewallRules6(v6State());
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules["filter"], (Lines{
                                 "-N tetherd_FORWARD",
                                 "-N tetherd_counters",
                                 "-A FORWARD -j tetherd_FORWARD",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -p ipv6-icmp -m icmp6 --icmpv6-type 1 -j ACCEPT",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -p ipv6-icmp -m icmp6 --icmpv6-type 2 -j ACCEPT",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -p ipv6-icmp -m icmp6 --icmpv6-type 3/0 -j ACCEPT",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -p ipv6-icmp -m icmp6 --icmpv6-type 4/1 -j ACCEPT",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -p ipv6-icmp -m icmp6 --icmpv6-type 4/2 -j ACCEPT",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -g tetherd_counters",
                                 "-A tetherd_FORWARD -i usb0 -j DROP",
                                 "-A tetherd_FORWARD -o usb0 -j DROP",
                                 "-A tetherd_counters -i usb0 -o eth0 -j ACCEPT",
                                 "-A tetherd_counters -i eth0 -o usb0 -j ACCEPT",
                             }));
  EXPECT_EQ(rules["nat"], (Lines{
                              "-N tetherd_nat_POSTROUTING",
                              "-A POSTROUTING -j tetherd_nat_POSTROUTING",
                              "-A tetherd_nat_POSTROUTING -s fc00::/7 -o eth0 -j MASQUERADE",
                          }));
  EXPECT_EQ(rules["mangle"], (Lines{
                                 "-N tetherd_mangle_FORWARD",
                                 "-A FORWARD -j tetherd_mangle_FORWARD",
                                 "-A tetherd_mangle_FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
                             }));
}

TEST(Firewall6Rules, NoNat66MeansNoNatChain) {
  auto s = v6State();
  s.nat66.clear();
  auto tables = fw::buildTables6(s);
  ASSERT_EQ(tables.size(), 3u);
  EXPECT_EQ(tables[1].name, "nat");
  EXPECT_EQ(tables[1].family, 6);
  EXPECT_TRUE(tables[1].chains.empty());
  EXPECT_EQ(tables[1].absent, (std::vector<std::string>{"tetherd_nat_POSTROUTING"}));
  EXPECT_EQ(renderFirewallRules6(s)["nat"], Lines{});
}

TEST(Firewall6Rules, BlockedMacsAndAdminPortAsOnIpv4) {
  auto s = v6State();
  s.blockedMacs = {"02:00:00:00:00:09"};
  s.blockOn = {"usb0"};
  s.adminPorts = {8080};
  s.upstreams = {"eth0"};
  auto rules = renderFirewallRules6(s);
  const Lines& filter = rules["filter"];
  ASSERT_GE(filter.size(), 5u);
  EXPECT_EQ(filter[0], "-N tetherd_FORWARD");
  EXPECT_EQ(filter[1], "-N tetherd_INPUT");
  EXPECT_EQ(filter[3], "-A INPUT -j tetherd_INPUT");
  EXPECT_EQ(filter[4], "-A FORWARD -j tetherd_FORWARD");
  EXPECT_EQ(filter[5], "-A tetherd_FORWARD -i usb0 -m mac --mac-source 02:00:00:00:00:09 -j DROP");
  Lines input;
  for (const auto& l : filter)
    if (l.rfind("-A tetherd_INPUT ", 0) == 0) input.push_back(l);
  EXPECT_EQ(input, (Lines{"-A tetherd_INPUT -i usb0 -m mac --mac-source 02:00:00:00:00:09 -j DROP",
                          "-A tetherd_INPUT -i eth0 -p tcp -m tcp --dport 8080 -j DROP"}));
  // The IPv4 text does not change with IPv6 on.
  auto v4 = s;
  v4.ipv6 = false;
  v4.nat66.clear();
  EXPECT_EQ(renderFirewallRules(s), renderFirewallRules(v4));
}

TEST(Firewall6Rules, BadNat66UpstreamIsRefused) {
  auto s = v6State();
  s.nat66 = {"eth+"};
  auto st = fw::validate(s);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("nat66 upstream"), std::string::npos);
}
