// IptcFirewall's IPv6 tables (libip6tc) against the real legacy x_tables of the test's private
// network namespace, checked with ip6tables-legacy and ip6tables-legacy-save, as
// iptc_firewall_test.cpp does for IPv4.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tether/system/netfilter/iptc_firewall.h"

using namespace tetherd;

namespace {

using Lines = std::vector<std::string>;
const char* const kTables6[] = {"filter", "nat", "mangle"};

std::string run(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  if (status != nullptr) *status = st;
  return out;
}

std::string must(const std::string& command) {
  int status = -1;
  std::string out = run(command, &status);
  EXPECT_EQ(status, 0) << command << "\n" << out;
  return out;
}

Lines tetherdLines(const std::string& tool, const std::string& table) {
  Lines out;
  std::istringstream in(must(tool + " -t " + table + " -S"));
  for (std::string line; std::getline(in, line);)
    if (line.find("tetherd_") != std::string::npos) out.push_back(line);
  return out;
}

// ip6tables-legacy-save's own text: its "-A" lines of tetherd's chains and jumps.
Lines savedLines(const std::string& table) {
  Lines out;
  std::istringstream in(must("ip6tables-legacy-save -t " + table));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("-A ", 0) == 0 && line.find("tetherd_") != std::string::npos) out.push_back(line);
  return out;
}

Lines appendLines(const Lines& rendered) {
  Lines out;
  for (const auto& l : rendered)
    if (l.rfind("-A ", 0) == 0) out.push_back(l);
  return out;
}

FirewallState v6State() {
  FirewallState s{{"usb0", "wlan0"}, {{"usb0", "rmnet0"}, {"wlan0", "eth0"}}};
  s.ipv6 = true;
  s.nat66 = {"rmnet0", "eth0"};
  s.blockedMacs = {"02:00:00:00:00:09"};
  s.blockOn = {"usb0", "wlan0"};
  s.adminPorts = {8080};
  s.upstreams = {"eth0", "rmnet0"};
  return s;
}

class Ip6tcFirewallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/tetherd-xtables-lock-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    lockPath_ = path;
    ::setenv("XTABLES_LOCKFILE", path, 1);
    flushAll();
  }
  void TearDown() override {
    flushAll();
    ::unsetenv("XTABLES_LOCKFILE");
    ::unlink(lockPath_.c_str());
  }
  static void flushAll() {
    for (const char* t : kTables6) {
      must(std::string("ip6tables-legacy -t ") + t + " -F && ip6tables-legacy -t " + t + " -X");
      must(std::string("iptables-legacy -t ") + t + " -F && iptables-legacy -t " + t + " -X");
    }
  }
  static void expectInstalled(const FirewallState& s) {
    auto expected = renderFirewallRules6(s);
    for (const char* t : kTables6) {
      EXPECT_EQ(tetherdLines("ip6tables-legacy", t), expected[t]) << "table " << t;
      EXPECT_EQ(savedLines(t), appendLines(expected[t])) << "ip6tables-legacy-save, table " << t;
    }
  }
  static void expectNothingOfTetherd() {
    for (const char* t : kTables6) {
      EXPECT_EQ(tetherdLines("ip6tables-legacy", t), Lines{}) << "table " << t;
      EXPECT_EQ(must(std::string("ip6tables-legacy-save -t ") + t).find("tetherd_"), std::string::npos);
    }
  }
  std::string lockPath_;
};

}  // namespace

TEST_F(Ip6tcFirewallTest, ApplyInstallsExactlyTheRenderedRulesInBothFamilies) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(v6State()).ok());
  expectInstalled(v6State());
  auto v4 = renderFirewallRules(v6State());
  for (const char* t : kTables6) EXPECT_EQ(tetherdLines("iptables-legacy", t), v4[t]) << "IPv4 table " << t;
  EXPECT_EQ(fw.commitCount(), 6u) << "one commit per table and family";
  ASSERT_TRUE(fw.apply(v6State()).ok());
  EXPECT_EQ(fw.commitCount(), 6u) << "unchanged tables are not committed again";
}

TEST_F(Ip6tcFirewallTest, RulesMadeByIp6tablesAreRecognisedAsTheSame) {
  for (const auto& [table, lines] : renderFirewallRules6(v6State())) {
    for (const auto& line : lines) must("ip6tables-legacy -t " + table + " " + line);
  }
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(v6State()).ok());
  EXPECT_EQ(fw.commitCount("ip6:filter"), 0u) << "the hand-built entries must be those ip6tables builds";
  EXPECT_EQ(fw.commitCount("ip6:nat"), 0u);
  EXPECT_EQ(fw.commitCount("ip6:mangle"), 0u);
  expectInstalled(v6State());
}

TEST_F(Ip6tcFirewallTest, Nat66OffRemovesTheNatChainAndIpv6OffRemovesEverything) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(v6State()).ok());
  auto noNat = v6State();
  noNat.nat66.clear();
  ASSERT_TRUE(fw.apply(noNat).ok());
  expectInstalled(noNat);
  EXPECT_EQ(tetherdLines("ip6tables-legacy", "nat"), Lines{});
  auto off = v6State();
  off.ipv6 = false;
  off.nat66.clear();
  ASSERT_TRUE(fw.apply(off).ok());
  expectNothingOfTetherd();
  EXPECT_FALSE(tetherdLines("iptables-legacy", "filter").empty()) << "IPv4 stays";
}

TEST_F(Ip6tcFirewallTest, ResetRemovesEverythingOfBothFamilies) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(v6State()).ok());
  must("ip6tables-legacy -A FORWARD -i lo -j ACCEPT");  // foreign: stays
  IptcFirewall next;  // a new run after a crash
  ASSERT_TRUE(next.reset().ok());
  expectNothingOfTetherd();
  for (const char* t : kTables6) EXPECT_EQ(tetherdLines("iptables-legacy", t), Lines{});
  EXPECT_NE(must("ip6tables-legacy -S FORWARD").find("-A FORWARD -i lo -j ACCEPT"), std::string::npos);
}

// Issue 14 with IPv6: the clients' IPv6 counting rules, their quota chain and the IPv6 idle
// timer (same label as IPv4's: one kernel timer) are byte for byte what ip6tables builds and
// prints; clientCounters() reads both families, IPv4 first; the IPv6 rules go with IPv6.
FirewallState withClients6() {
  FirewallState s = v6State();
  s.clients = {{"usb0", {"192.168.42.10", "2001:db8::10", "fd00:1::10"}}, {"wlan0", {"fd00:2::20"}}};
  s.quotaOf = {{"192.168.42.10", "02:00:00:00:00:01"}, {"2001:db8::10", "02:00:00:00:00:01"}, {"fd00:1::10", "02:00:00:00:00:01"}};
  s.quotaLeft = {{"02:00:00:00:00:01", 5'000'000}};
  s.idleTimers["usb0"] = IdleTimer{"tv6root_usb0", 600};
  return s;
}

TEST_F(Ip6tcFirewallTest, ClientRulesQuotaAndIdleTimerMadeByIp6tablesAreRecognisedAsTheSame) {
  for (const auto& [table, lines] : renderFirewallRules6(withClients6())) {
    for (const auto& line : lines) must("ip6tables-legacy -t " + table + " " + line);
  }
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(withClients6()).ok());
  EXPECT_EQ(fw.commitCount("ip6:filter"), 0u) << "the hand-built entries must be those ip6tables builds";
  EXPECT_EQ(fw.commitCount("ip6:mangle"), 0u) << "the hand-built IDLETIMER entry must be the one ip6tables builds";
  expectInstalled(withClients6());
}

TEST_F(Ip6tcFirewallTest, ClientRulesInstallAsRenderedAreReadAndGoWithIpv6) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(withClients6()).ok());
  expectInstalled(withClients6());
  EXPECT_EQ(::access("/sys/class/xt_idletimer/timers/tv6root_usb0", R_OK), 0);
  auto counters = fw.clientCounters();
  ASSERT_TRUE(counters.ok()) << counters.error().message;
  EXPECT_EQ(*counters, (std::vector<ClientCounter>{
                           {"usb0", "192.168.42.10"}, {"usb0", "2001:db8::10"}, {"usb0", "fd00:1::10"}, {"wlan0", "fd00:2::20"}}));
  auto fewer = withClients6();
  fewer.clients.erase("wlan0");
  ASSERT_TRUE(fw.apply(fewer).ok());
  expectInstalled(fewer);
  counters = fw.clientCounters();
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(counters->size(), 3u);
  auto off = fewer;
  off.ipv6 = false;
  off.nat66.clear();
  ASSERT_TRUE(fw.apply(off).ok());
  expectNothingOfTetherd();
  counters = fw.clientCounters();
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(*counters, (std::vector<ClientCounter>{{"usb0", "192.168.42.10"}}));
}
