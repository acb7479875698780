// The exact rule text tetherd installs. The expected lines are what `iptables-legacy -S`
// prints for these rules (checked against the real tool; tests/root/iptc_firewall_test.cpp
// compares the kernel's tables with renderFirewallRules()).
#include "tether/system/netfilter/firewall.h"

#include <gtest/gtest.h>

using namespace tetherd;

namespace {

using Lines = std::vector<std::string>;

FirewallState state(std::set<std::string> downstreams, std::set<NatPair> pairs) {
  return FirewallState{std::move(downstreams), std::move(pairs)};
}

}  // namespace

TEST(FirewallRules, EmptyStateHasChainsAndJumpsOnly) {
  auto rules = renderFirewallRules(FirewallState{});
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules["filter"], (Lines{
                                 "-N tetherd_FORWARD",
                                 "-N tetherd_counters",
                                 "-A FORWARD -j tetherd_FORWARD",
                             }));
  EXPECT_EQ(rules["nat"], (Lines{
                              "-N tetherd_nat_POSTROUTING",
                              "-A POSTROUTING -j tetherd_nat_POSTROUTING",
                          }));
  EXPECT_EQ(rules["mangle"], (Lines{
                                 "-N tetherd_mangle_FORWARD",
                                 "-A FORWARD -j tetherd_mangle_FORWARD",
                             }));
}

TEST(FirewallRules, OnePair) {
  auto rules = renderFirewallRules(state({"wlan0"}, {{"wlan0", "eth0"}}));
  EXPECT_EQ(rules["filter"], (Lines{
                                 "-N tetherd_FORWARD",
                                 "-N tetherd_counters",
                                 "-A FORWARD -j tetherd_FORWARD",
                                 "-A tetherd_FORWARD -i eth0 -o wlan0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
                                 "-A tetherd_FORWARD -i wlan0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
                                 "-A tetherd_FORWARD -i wlan0 -o eth0 -g tetherd_counters",
                                 "-A tetherd_FORWARD -i wlan0 -j DROP",
                                 "-A tetherd_counters -i wlan0 -o eth0 -j ACCEPT",
                                 "-A tetherd_counters -i eth0 -o wlan0 -j ACCEPT",
                             }));
  EXPECT_EQ(rules["nat"], (Lines{
                              "-N tetherd_nat_POSTROUTING",
                              "-A POSTROUTING -j tetherd_nat_POSTROUTING",
                              "-A tetherd_nat_POSTROUTING -o eth0 -j MASQUERADE",
                          }));
  EXPECT_EQ(rules["mangle"], (Lines{
                                 "-N tetherd_mangle_FORWARD",
                                 "-A FORWARD -j tetherd_mangle_FORWARD",
                                 "-A tetherd_mangle_FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
                             }));
}

TEST(FirewallRules, TwoDownstreamsShareOneUpstreamMasqueradeOnce) {
  auto rules = renderFirewallRules(state({"usb0", "wlan0"}, {{"usb0", "eth0"}, {"wlan0", "eth0"}}));
  EXPECT_EQ(rules["filter"], (Lines{
                                 "-N tetherd_FORWARD",
                                 "-N tetherd_counters",
                                 "-A FORWARD -j tetherd_FORWARD",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -g tetherd_counters",
                                 "-A tetherd_FORWARD -i eth0 -o wlan0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
                                 "-A tetherd_FORWARD -i wlan0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
                                 "-A tetherd_FORWARD -i wlan0 -o eth0 -g tetherd_counters",
                                 "-A tetherd_FORWARD -i usb0 -j DROP",
                                 "-A tetherd_FORWARD -i wlan0 -j DROP",
                                 "-A tetherd_counters -i usb0 -o eth0 -j ACCEPT",
                                 "-A tetherd_counters -i eth0 -o usb0 -j ACCEPT",
                                 "-A tetherd_counters -i wlan0 -o eth0 -j ACCEPT",
                                 "-A tetherd_counters -i eth0 -o wlan0 -j ACCEPT",
                             }));
  EXPECT_EQ(rules["nat"], (Lines{
                              "-N tetherd_nat_POSTROUTING",
                              "-A POSTROUTING -j tetherd_nat_POSTROUTING",
                              "-A tetherd_nat_POSTROUTING -o eth0 -j MASQUERADE",
                          }));
  // One clamp rule, however many pairs.
  EXPECT_EQ(rules["mangle"].size(), 3u);
}

TEST(FirewallRules, TwoUpstreams) {
  auto rules = renderFirewallRules(state({"wlan0"}, {{"wlan0", "rmnet0"}, {"wlan0", "eth0"}}));
  // Pairs in set order: (wlan0, eth0) before (wlan0, rmnet0).
  EXPECT_EQ(rules["filter"], (Lines{
                                 "-N tetherd_FORWARD",
                                 "-N tetherd_counters",
                                 "-A FORWARD -j tetherd_FORWARD",
                                 "-A tetherd_FORWARD -i eth0 -o wlan0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
                                 "-A tetherd_FORWARD -i wlan0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
                                 "-A tetherd_FORWARD -i wlan0 -o eth0 -g tetherd_counters",
                                 "-A tetherd_FORWARD -i rmnet0 -o wlan0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
                                 "-A tetherd_FORWARD -i wlan0 -o rmnet0 -m conntrack --ctstate INVALID -j DROP",
                                 "-A tetherd_FORWARD -i wlan0 -o rmnet0 -g tetherd_counters",
                                 "-A tetherd_FORWARD -i wlan0 -j DROP",
                                 "-A tetherd_counters -i wlan0 -o eth0 -j ACCEPT",
                                 "-A tetherd_counters -i eth0 -o wlan0 -j ACCEPT",
                                 "-A tetherd_counters -i wlan0 -o rmnet0 -j ACCEPT",
                                 "-A tetherd_counters -i rmnet0 -o wlan0 -j ACCEPT",
                             }));
  EXPECT_EQ(rules["nat"], (Lines{
                              "-N tetherd_nat_POSTROUTING",
                              "-A POSTROUTING -j tetherd_nat_POSTROUTING",
                              "-A tetherd_nat_POSTROUTING -o eth0 -j MASQUERADE",
                              "-A tetherd_nat_POSTROUTING -o rmnet0 -j MASQUERADE",
                          }));
  EXPECT_EQ(rules["mangle"].size(), 3u);
}

TEST(FirewallRules, DownstreamWithoutPairIsOnlyDropped) {
  auto rules = renderFirewallRules(state({"usb0", "wlan0"}, {{"wlan0", "eth0"}}));
  const Lines expectedFilter{
      "-N tetherd_FORWARD",
      "-N tetherd_counters",
      "-A FORWARD -j tetherd_FORWARD",
      "-A tetherd_FORWARD -i eth0 -o wlan0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
      "-A tetherd_FORWARD -i wlan0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
      "-A tetherd_FORWARD -i wlan0 -o eth0 -g tetherd_counters",
      "-A tetherd_FORWARD -i usb0 -j DROP",
      "-A tetherd_FORWARD -i wlan0 -j DROP",
      "-A tetherd_counters -i wlan0 -o eth0 -j ACCEPT",
      "-A tetherd_counters -i eth0 -o wlan0 -j ACCEPT",
  };
  EXPECT_EQ(rules["filter"], expectedFilter);

  // A downstream alone: dropped, nothing forwarded, no NAT, no clamp.
  auto alone = renderFirewallRules(state({"usb0"}, {}));
  EXPECT_EQ(alone["filter"], (Lines{
                                 "-N tetherd_FORWARD",
                                 "-N tetherd_counters",
                                 "-A FORWARD -j tetherd_FORWARD",
                                 "-A tetherd_FORWARD -i usb0 -j DROP",
                             }));
  EXPECT_EQ(alone["nat"].size(), 2u);
  EXPECT_EQ(alone["mangle"].size(), 2u);
}

TEST(FirewallRules, ChainsAreSortedAndHookedOnce) {
  for (const auto& table : fw::buildTables(state({"wlan0"}, {{"wlan0", "eth0"}}))) {
    for (size_t i = 1; i < table.chains.size(); ++i) EXPECT_LT(table.chains[i - 1].name, table.chains[i].name);
    for (const auto& chain : table.chains) EXPECT_TRUE(fw::isOwnChain(chain.name)) << chain.name;
  }
}

TEST(FirewallValidate, RejectsBadNames) {
  EXPECT_TRUE(fw::validate(state({"wlan0"}, {{"wlan0", "eth0"}})).ok());
  EXPECT_EQ(fw::validate(state({"bad name"}, {})).error().code, Errc::InvalidArgument);
  EXPECT_EQ(fw::validate(state({}, {{"wlan0", "0123456789abcdef"}})).error().code, Errc::InvalidArgument);
  EXPECT_EQ(fw::validate(state({}, {{"", "eth0"}})).error().code, Errc::InvalidArgument);
  EXPECT_EQ(fw::validate(state({}, {{"eth0", "eth0"}})).error().code, Errc::InvalidArgument);
  EXPECT_EQ(fw::validate(state({"ppp+"}, {})).error().code, Errc::InvalidArgument);
}

// The admin page's port: tetherd_INPUT hooked into INPUT drops it on every upstream.
TEST(FirewallRules, AdminPortIsDroppedOnUpstreams) {
  FirewallState s = state({"usb0"}, {{"usb0", "eth0"}});
  s.adminPorts = {8080};
  s.upstreams = {"eth0", "wwan0"};
  auto rules = renderFirewallRules(s);
  EXPECT_EQ(rules["filter"], (Lines{
                                 "-N tetherd_FORWARD",
                                 "-N tetherd_INPUT",
                                 "-N tetherd_counters",
                                 "-A INPUT -j tetherd_INPUT",
                                 "-A FORWARD -j tetherd_FORWARD",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -g tetherd_counters",
                                 "-A tetherd_FORWARD -i usb0 -j DROP",
                                 "-A tetherd_INPUT -i eth0 -p tcp -m tcp --dport 8080 -j DROP",
                                 "-A tetherd_INPUT -i wwan0 -p tcp -m tcp --dport 8080 -j DROP",
                                 "-A tetherd_counters -i usb0 -o eth0 -j ACCEPT",
                                 "-A tetherd_counters -i eth0 -o usb0 -j ACCEPT",
                             }));
  // nat and mangle are as without an admin port.
  EXPECT_EQ(rules["nat"], renderFirewallRules(state({"usb0"}, {{"usb0", "eth0"}}))["nat"]);
  EXPECT_EQ(rules["mangle"], renderFirewallRules(state({"usb0"}, {{"usb0", "eth0"}}))["mangle"]);
}

TEST(FirewallRules, AdminPortWithoutUpstreamKeepsAnEmptyInputChain) {
  FirewallState s;
  s.adminPorts = {8080};
  EXPECT_EQ(renderFirewallRules(s)["filter"], (Lines{
                                                  "-N tetherd_FORWARD",
                                                  "-N tetherd_INPUT",
                                                  "-N tetherd_counters",
                                                  "-A INPUT -j tetherd_INPUT",
                                                  "-A FORWARD -j tetherd_FORWARD",
                                              }));
}

TEST(FirewallRules, WithoutAdminPortsTheInputChainIsDeclaredAbsent) {
  auto tables = fw::buildTables(state({"usb0"}, {}));
  ASSERT_EQ(tables.front().name, "filter");
  EXPECT_EQ(tables.front().absent, (Lines{"tetherd_INPUT"}));
  FirewallState s;
  s.adminPorts = {8080};
  EXPECT_TRUE(fw::buildTables(s).front().absent.empty());
}

TEST(FirewallRules, PortAndSynMatchesPrintInIptablesOrder) {
  fw::Rule r;
  r.chain = "x";
  r.dport = 443;
  r.tcpSyn = true;
  r.target = fw::Rule::Target::Accept;
  EXPECT_EQ(r.toString(), "-A x -p tcp -m tcp --dport 443 --tcp-flags SYN,RST SYN -j ACCEPT");
}

TEST(FirewallValidate, RejectsBadUpstreamsAndPortZero) {
  FirewallState s;
  s.adminPorts = {8080};
  s.upstreams = {"eth0"};
  EXPECT_TRUE(fw::validate(s).ok());
  s.upstreams = {"bad name"};
  EXPECT_EQ(fw::validate(s).error().code, Errc::InvalidArgument);
  s.upstreams = {"eth0"};
  s.adminPorts = {0};
  EXPECT_EQ(fw::validate(s).error().code, Errc::InvalidArgument);
}

// Blocked clients: their frames are dropped first in FORWARD and in INPUT, on each downstream
// they could arrive on; tetherd_INPUT exists for them even without an admin port.
TEST(FirewallRules, BlockedMacsAreDroppedFirstOnEveryDownstream) {
  FirewallState s = state({"usb0"}, {{"usb0", "eth0"}});
  s.blockedMacs = {"02:00:00:00:00:01", "0a:bb:cc:dd:ee:ff"};
  s.blockOn = {"bt-pan", "usb0"};
  EXPECT_EQ(renderFirewallRules(s)["filter"],
            (Lines{
                "-N tetherd_FORWARD",
                "-N tetherd_INPUT",
                "-N tetherd_counters",
                "-A INPUT -j tetherd_INPUT",
                "-A FORWARD -j tetherd_FORWARD",
                "-A tetherd_FORWARD -i bt-pan -m mac --mac-source 02:00:00:00:00:01 -j DROP",
                "-A tetherd_FORWARD -i bt-pan -m mac --mac-source 0a:bb:cc:dd:ee:ff -j DROP",
                "-A tetherd_FORWARD -i usb0 -m mac --mac-source 02:00:00:00:00:01 -j DROP",
                "-A tetherd_FORWARD -i usb0 -m mac --mac-source 0a:bb:cc:dd:ee:ff -j DROP",
                "-A tetherd_FORWARD -i eth0 -o usb0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
                "-A tetherd_FORWARD -i usb0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
                "-A tetherd_FORWARD -i usb0 -o eth0 -g tetherd_counters",
                "-A tetherd_FORWARD -i usb0 -j DROP",
                "-A tetherd_INPUT -i bt-pan -m mac --mac-source 02:00:00:00:00:01 -j DROP",
                "-A tetherd_INPUT -i bt-pan -m mac --mac-source 0a:bb:cc:dd:ee:ff -j DROP",
                "-A tetherd_INPUT -i usb0 -m mac --mac-source 02:00:00:00:00:01 -j DROP",
                "-A tetherd_INPUT -i usb0 -m mac --mac-source 0a:bb:cc:dd:ee:ff -j DROP",
                "-A tetherd_counters -i usb0 -o eth0 -j ACCEPT",
                "-A tetherd_counters -i eth0 -o usb0 -j ACCEPT",
            }));
}

TEST(FirewallRules, BlockedMacsWithoutDownstreamsAddNothing) {
  FirewallState s;
  s.blockedMacs = {"02:00:00:00:00:01"};
  EXPECT_EQ(fw::buildTables(s).front().absent, (Lines{"tetherd_INPUT"}));
  EXPECT_EQ(renderFirewallRules(s)["filter"], renderFirewallRules(FirewallState{})["filter"]);
}

TEST(FirewallValidate, RejectsBadBlockedMacs) {
  FirewallState s;
  s.blockOn = {"usb0"};
  s.blockedMacs = {"02:00:00:00:00:01"};
  EXPECT_TRUE(fw::validate(s).ok());
  for (const char* bad : {"02:00:00:00:00:0G", "02-00-00-00-00-01", "02:00:00:00:00:01 -j ACCEPT", "",
                          "02:00:00:00:00:AB", "01:00:5e:00:00:01"}) {
    s.blockedMacs = {bad};
    auto st = fw::validate(s);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, Errc::InvalidArgument) << bad;
    EXPECT_NE(st.error().message.find("blocked client"), std::string::npos) << st.error().message;
  }
  s.blockedMacs = {"02:00:00:00:00:01"};
  s.blockOn = {"bad name"};
  EXPECT_EQ(fw::validate(s).error().code, Errc::InvalidArgument);
}
