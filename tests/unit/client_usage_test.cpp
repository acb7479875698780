// Per-client accounting (issue 14): the counter rules' exact text, and the usage history's
// file format, parser, corrupt-file handling and bounds.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <algorithm>

#include <boost/asio/io_context.hpp>

#include "fakes.h"
#include "tether/base/files.h"
#include "tether/core/client_usage.h"
#include "tether/core/clients/usage_history.h"
#include "tether/system/netfilter/firewall.h"

using namespace tetherd;

namespace {
using Lines = std::vector<std::string>;

// Per-client counters as the firewall would read them: none until the rules are there.
struct CountingFirewall : tetherd::testing::FakeFirewall {
  std::vector<ClientCounter> counted;
  Result<std::vector<ClientCounter>> clientCounters() override { return counted; }
};
}  // namespace

// The read that takes a lease change's last bytes runs before the rules follow the change:
// for the first clients it sees none and does not arm the minute's read. leasesChanged()
// (after the rules followed) arms it, start() too (leases from before a restart), and a read
// that finds no client counted any more lets it lapse: no wake-up while nobody is counted.
TEST(ClientUsage, TheMinutesReadIsArmedOnceTheFirstClientsAreCounted) {
  boost::asio::io_context io;
  CountingFirewall fw;
  tetherd::testing::FakeDhcp dhcp;
  const std::string dir = std::filesystem::temp_directory_path() / ("usage-arm-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    ClientUsage usage(io, fw, dhcp, dir + "/client-usage");
    usage.sample();  // before the first lease's rules
    EXPECT_FALSE(usage.armed());
    usage.leasesChanged();  // the rules followed
    EXPECT_TRUE(usage.armed());
  }
  {
    ClientUsage usage(io, fw, dhcp, dir + "/client-usage");
    usage.start();
    EXPECT_TRUE(usage.armed());
    usage.stop();
    EXPECT_FALSE(usage.armed());
  }
  std::filesystem::remove_all(dir);
}

TEST(ClientCounterRules, OneChainPerDownstreamTwoRulesPerAddress) {
  FirewallState s{{"usb0", "wlan0"}, {{"usb0", "eth0"}, {"wlan0", "eth0"}}};
  s.clients = {{"usb0", {"192.168.42.10", "192.168.42.11"}}, {"wlan0", {}}, {"gone0", {"10.0.0.1"}}};
  auto rules = renderFirewallRules(s);
  EXPECT_EQ(rules["filter"], (Lines{
                                 "-N tetherd_FORWARD",
                                 "-N tetherd_acct_usb0",
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
                                 "-A tetherd_acct_usb0 -s 192.168.42.10/32 -j RETURN",
                                 "-A tetherd_acct_usb0 -d 192.168.42.10/32 -j RETURN",
                                 "-A tetherd_acct_usb0 -s 192.168.42.11/32 -j RETURN",
                                 "-A tetherd_acct_usb0 -d 192.168.42.11/32 -j RETURN",
                                 "-A tetherd_counters -i usb0 -j tetherd_acct_usb0",
                                 "-A tetherd_counters -o usb0 -j tetherd_acct_usb0",
                                 "-A tetherd_counters -i usb0 -o eth0 -j ACCEPT",
                                 "-A tetherd_counters -i eth0 -o usb0 -j ACCEPT",
                                 "-A tetherd_counters -i wlan0 -o eth0 -j ACCEPT",
                                 "-A tetherd_counters -i eth0 -o wlan0 -j ACCEPT",
                             }));
  EXPECT_TRUE(fw::validate(s).ok());
}

TEST(ClientCounterRules, Ipv6AddressesGoToTheIpv6TablesOnly) {
  FirewallState s{{"usb0"}, {{"usb0", "eth0"}}};
  s.ipv6 = true;
  s.clients = {{"usb0", {"192.168.42.10", "fd00:1::10"}}};
  auto v4 = renderFirewallRules(s)["filter"];
  auto v6 = renderFirewallRules6(s)["filter"];
  EXPECT_NE(std::find(v4.begin(), v4.end(), "-A tetherd_acct_usb0 -s 192.168.42.10/32 -j RETURN"), v4.end());
  EXPECT_EQ(std::count_if(v4.begin(), v4.end(), [](const auto& l) { return l.find("fd00") != std::string::npos; }), 0);
  EXPECT_NE(std::find(v6.begin(), v6.end(), "-A tetherd_acct_usb0 -d fd00:1::10/128 -j RETURN"), v6.end());
}

TEST(ClientCounterRules, BadAddressesAreRefusedNamingThem) {
  FirewallState s{{"usb0"}, {{"usb0", "eth0"}}};
  s.clients = {{"usb0", {"192.168.42.300"}}};
  auto st = fw::validate(s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "client address '192.168.42.300' on usb0 is not an IP address");
  s.clients = {{"usb0", {"192.168.042.1"}}};  // not canonical: its rule text would differ
  EXPECT_FALSE(fw::validate(s).ok());
}

TEST(UsageHistory, DaysRoundTrip) {
  EXPECT_EQ(dayText(0), "1970-01-01");
  EXPECT_EQ(parseDay("2026-12-05"), 20792);
  EXPECT_EQ(dayText(20792), "2026-12-05");
  EXPECT_EQ(parseDay("2024-02-29").value_or(-1), parseDay("2024-03-01").value() - 1);
  EXPECT_FALSE(parseDay("2026-02-30"));
  EXPECT_FALSE(parseDay("2026-1-05"));
  EXPECT_FALSE(parseDay("yesterday!"));
}

TEST(UsageHistory, FormatIsExactAndParsesBack) {
  UsageHistory h;
  h.add(20792, "02:00:00:00:00:01", "usb0", {1000, 20});
  h.add(20792, "02:00:00:00:00:01", "usb0", {24, 1});
  h.add(20791, "02:00:00:00:00:02", "wlan0", {5, 6});
  EXPECT_EQ(h.format(),
            "tetherd-usage 1\n"
            "2026-12-04 02:00:00:00:00:02 wlan0 5 6\n"
            "2026-12-05 02:00:00:00:00:01 usb0 1024 21\n");
  auto back = UsageHistory::parse(h.format());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->records(), h.records());
  EXPECT_EQ(h.dayTotals(20792).at("02:00:00:00:00:01"), (UsageBytes{1024, 21}));
}

TEST(UsageHistory, ParseNamesTheLineAndTheCause) {
  auto err = [](std::string_view text) { return UsageHistory::parse(text).error().message; };
  EXPECT_EQ(err("hello\n"), "line 1: not a tetherd usage file (expected 'tetherd-usage 1')");
  EXPECT_EQ(err("tetherd-usage 1\n2026-12-05 02:00:00:00:00:01 usb0 1\n"),
            "line 2: expected 5 fields (day mac downstream rx tx), got 4");
  EXPECT_EQ(err("tetherd-usage 1\n2026-13-05 02:00:00:00:00:01 usb0 1 2\n"),
            "line 2: day '2026-13-05' is not a date (YYYY-MM-DD)");
  EXPECT_EQ(err("tetherd-usage 1\n2026-12-05 02:00:00:00:00:0x usb0 1 2\n"),
            "line 2: '02:00:00:00:00:0x' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  EXPECT_EQ(err("tetherd-usage 1\n2026-12-05 02:00:00:00:00:01 usb0 -1 2\n"), "line 2: byte counts must be unsigned integers");
  EXPECT_EQ(err("tetherd-usage 1\n2026-12-05 02:00:00:00:00:01 usb0 1 2"), "line 2: no newline at the end (a truncated file)");
  EXPECT_EQ(err("tetherd-usage 1\n2026-12-05 02:00:00:00:00:01 usb0 1 2\n2026-12-05 02:00:00:00:00:01 usb0 1 2\n"),
            "line 3: duplicate record for 2026-12-05 02:00:00:00:00:01 usb0");
  EXPECT_EQ(err(""), "empty file");
}

TEST(UsageHistory, KeepsAtMost400DaysAndBoundedRecords) {
  UsageHistory h;
  for (int day = 0; day < 410; ++day) h.add(day, "02:00:00:00:00:01", "usb0", {1, 1});
  EXPECT_EQ(h.records().size(), static_cast<size_t>(UsageHistory::kMaxDays));
  EXPECT_EQ(h.records().begin()->first.day, 10);
  UsageHistory many;
  char mac[32];
  for (size_t i = 0; i < UsageHistory::kMaxRecords + 10; ++i) {
    std::snprintf(mac, sizeof(mac), "02:00:00:%02zx:%02zx:%02zx", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
    many.add(i < 100 ? 1 : 2, mac, "usb0", {1, 1});
  }
  EXPECT_LE(many.records().size(), UsageHistory::kMaxRecords);
  EXPECT_EQ(many.records().begin()->first.day, 2) << "the oldest day goes first";
}

TEST(UsageHistory, ACorruptFileIsSetAsideAndReported) {
  const std::string dir = std::filesystem::temp_directory_path() / ("usage-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/client-usage";
  std::string report;
  EXPECT_TRUE(UsageHistory::load(path, &report).empty()) << "missing: empty";
  EXPECT_EQ(report, "");
  ASSERT_TRUE(writeFileAtomic(path, "tetherd-usage 1\n2026-12-05 garbage\n", 0600).ok());
  EXPECT_TRUE(UsageHistory::load(path, &report).empty());
  EXPECT_EQ(report, "usage history " + path + ": line 2: expected 5 fields (day mac downstream rx tx), got 2; set aside as " +
                        path + ".corrupt, starting a new history");
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::exists(path + ".corrupt"));
  UsageHistory h;
  h.add(20792, "02:00:00:00:00:01", "usb0", {7, 8});
  ASSERT_TRUE(h.save(path).ok());
  EXPECT_EQ(UsageHistory::load(path).records(), h.records());
  std::filesystem::remove_all(dir);
}
