// Quotas (issue 14 point 3): sizes with units, the client-quotas file, the alert levels and
// their once-per-day announcements, the quota rules' exact text, the 601 event line.
#include <gtest/gtest.h>

#include "config/rate_values.h"
#include "tether/control/event_text.h"
#include "tether/core/client_quotas.h"
#include "tether/system/firewall.h"

using namespace tetherd;

namespace {
using Lines = std::vector<std::string>;

uint64_t size(const std::string& s) {
  uint64_t v = 0;
  EXPECT_EQ(parseSize(s, v), "") << s;
  return v;
}
std::string sizeError(const std::string& s) {
  uint64_t v = 0;
  return parseSize(s, v);
}
}  // namespace

TEST(QuotaSizes, UnitsAreDecimalOrBinaryAndAlwaysSaid) {
  EXPECT_EQ(size("5MB"), 5'000'000u);
  EXPECT_EQ(size("500kB"), 500'000u);
  EXPECT_EQ(size("500KB"), 500'000u);
  EXPECT_EQ(size("2GB"), 2'000'000'000u);
  EXPECT_EQ(size("1TB"), 1'000'000'000'000u);
  EXPECT_EQ(size("800B"), 800u);
  EXPECT_EQ(size("5MiB"), 5u << 20);
  EXPECT_EQ(size("1GiB"), 1u << 30);
  EXPECT_EQ(sizeError("5000"), "'5000' has no unit: say B, kB, MB, GB, TB or KiB, MiB, GiB, TiB");
  EXPECT_EQ(sizeError("5Mbit"), "'Mbit' is not a unit: say B, kB, MB, GB, TB or KiB, MiB, GiB, TiB");
  EXPECT_EQ(sizeError("MB"), "'MB' does not start with a number (like 5MB or 500kB)");
  EXPECT_EQ(sizeError("0MB"), "'0MB' is zero");
  EXPECT_EQ(sizeError("2000TB"), "'2000TB' is above the most, 1PB");
  EXPECT_EQ(sizeError(""), "empty: give a size like 5MB or 500kB");
  EXPECT_EQ(formatSize(5'000'000), "5MB");
  EXPECT_EQ(formatSize(500'000), "500kB");
  EXPECT_EQ(formatSize(1234), "1234B");
}

TEST(ClientQuotas, CheckNamesTheField) {
  auto q = checkClientQuota("02:AA:bb:cc:dd:ee", "5MB");
  ASSERT_TRUE(q);
  EXPECT_EQ(*q, std::make_pair(std::string("02:aa:bb:cc:dd:ee"), uint64_t{5'000'000}));
  auto off = checkClientQuota("02:aa:bb:cc:dd:ee", "off");
  ASSERT_TRUE(off);
  EXPECT_EQ(off->second, 0u);
  EXPECT_EQ(checkClientQuota("nope", "5MB").error().message, "mac: 'nope' is not a MAC address");
  EXPECT_EQ(checkClientQuota("01:00:5e:00:00:01", "5MB").error().message, "mac: 01:00:5e:00:00:01 is a multicast address");
  EXPECT_EQ(checkClientQuota("02:aa:bb:cc:dd:ee", "5").error().message,
            "quota: '5' has no unit: say B, kB, MB, GB, TB or KiB, MiB, GiB, TiB");
}

TEST(ClientQuotas, FileRoundTripsAndNamesBadLines) {
  ClientQuotas q{{"02:00:00:00:00:01", 5'000'000}, {"02:00:00:00:00:02", 2'000'000'000}};
  EXPECT_EQ(formatClientQuotas(q), "02:00:00:00:00:01 5000000\n02:00:00:00:00:02 2000000000\n");
  auto back = parseClientQuotas(formatClientQuotas(q), kMaxClientQuotas);
  EXPECT_EQ(back.quotas, q);
  EXPECT_TRUE(back.bad.empty());
  auto bad = parseClientQuotas("# c\n02:00:00:00:00:01 5MB\nx 5\n02:00:00:00:00:01 7\n02:00:00:00:00:03\n02:00:00:00:00:04 0\n", 10);
  EXPECT_EQ(bad.quotas, (ClientQuotas{{"02:00:00:00:00:01", 5'000'000}}));
  EXPECT_EQ(bad.bad, (std::vector<ClientQuotasFile::Bad>{{3, "mac: 'x' is not a MAC address"},
                                                         {4, "mac: 02:00:00:00:00:01 given twice"},
                                                         {5, "expected \"<mac> <bytes>\""},
                                                         {6, "quota: '0B' is zero"}}));
}

TEST(ClientQuotas, LevelsAndRemaining) {
  EXPECT_EQ(quotaLevel(5'000'000, 0), 0);
  EXPECT_EQ(quotaLevel(5'000'000, 3'999'999), 0);
  EXPECT_EQ(quotaLevel(5'000'000, 4'000'000), 1);
  EXPECT_EQ(quotaLevel(5'000'000, 4'934'464), 1);  // 65536 left: not yet
  EXPECT_EQ(quotaLevel(5'000'000, 4'934'465), 2);  // less than one 64 KiB aggregate left: cut off
  EXPECT_EQ(quotaLevel(5'000'000, 4'999'579), 2);  // where the lab's cut-off stopped counting
  EXPECT_EQ(quotaLevel(100'000, 94'999), 1);       // a small quota: 5 % of it is the slack
  EXPECT_EQ(quotaLevel(100'000, 95'001), 2);
  EXPECT_EQ(quotaLevel(5'000'000, 5'000'000), 2);
  EXPECT_EQ(quotaLevel(1'000'000'000'000'000ULL, 900'000'000'000'000ULL), 1);
  EXPECT_EQ(quotaRemaining(5'000'000, 1'000'000), 4'000'000u);
  EXPECT_EQ(quotaRemaining(5'000'000, 6'000'000), 0u);
}

TEST(ClientQuotas, AlertsOncePerLevelPerDay) {
  const std::string a = "02:00:00:00:00:01";
  ClientQuotas q{{a, 5'000'000}};
  QuotaAlertState st;
  EXPECT_TRUE(quotaAlerts(q, {{a, 1'000}}, 100, st).empty());
  EXPECT_EQ(quotaAlerts(q, {{a, 4'100'000}}, 100, st), (std::vector<QuotaAlert>{{a, 1, 4'100'000, 5'000'000}}));
  EXPECT_TRUE(quotaAlerts(q, {{a, 4'200'000}}, 100, st).empty());
  EXPECT_EQ(quotaAlerts(q, {{a, 5'000'000}}, 100, st), (std::vector<QuotaAlert>{{a, 2, 5'000'000, 5'000'000}}));
  EXPECT_TRUE(quotaAlerts(q, {{a, 5'000'000}}, 100, st).empty());
  // A new day: usage from zero, the alerts may come again; 0 -> over gives both at once.
  EXPECT_TRUE(quotaAlerts(q, {}, 101, st).empty());
  EXPECT_EQ(quotaAlerts(q, {{a, 6'000'000}}, 101, st),
            (std::vector<QuotaAlert>{{a, 1, 6'000'000, 5'000'000}, {a, 2, 6'000'000, 5'000'000}}));
  // The quota goes (off) and comes back: announced again.
  EXPECT_TRUE(quotaAlerts({}, {{a, 6'000'000}}, 101, st).empty());
  EXPECT_EQ(quotaAlerts(q, {{a, 6'000'000}}, 101, st).size(), 2u);
}

TEST(QuotaRules, AQuotaChainPerClientBeforeItsCountingRules) {
  FirewallState s{{"usb0"}, {{"usb0", "eth0"}}};
  s.clients = {{"usb0", {"192.168.42.10", "192.168.42.11"}}};
  s.quotaOf = {{"192.168.42.10", "02:00:00:00:00:01"}};
  s.quotaLeft = {{"02:00:00:00:00:01", 3'500'000}};
  auto rules = renderFirewallRules(s);
  EXPECT_EQ(rules["filter"], (Lines{
                                 "-N tetherd_FORWARD",
                                 "-N tetherd_acct_usb0",
                                 "-N tetherd_counters",
                                 "-N tetherd_quota_020000000001",
                                 "-A FORWARD -j tetherd_FORWARD",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -g tetherd_counters",
                                 "-A tetherd_FORWARD -i usb0 -j DROP",
                                 "-A tetherd_acct_usb0 -s 192.168.42.10/32 -j tetherd_quota_020000000001",
                                 "-A tetherd_acct_usb0 -d 192.168.42.10/32 -j tetherd_quota_020000000001",
                                 "-A tetherd_acct_usb0 -s 192.168.42.10/32 -j RETURN",
                                 "-A tetherd_acct_usb0 -d 192.168.42.10/32 -j RETURN",
                                 "-A tetherd_acct_usb0 -s 192.168.42.11/32 -j RETURN",
                                 "-A tetherd_acct_usb0 -d 192.168.42.11/32 -j RETURN",
                                 "-A tetherd_counters -i usb0 -j tetherd_acct_usb0",
                                 "-A tetherd_counters -o usb0 -j tetherd_acct_usb0",
                                 "-A tetherd_counters -i usb0 -o eth0 -j ACCEPT",
                                 "-A tetherd_counters -i eth0 -o usb0 -j ACCEPT",
                                 "-A tetherd_quota_020000000001 -m quota --quota 3500000 -j RETURN",
                                 "-A tetherd_quota_020000000001 -j DROP",
                             }));
  EXPECT_TRUE(fw::validate(s).ok());
  s.quotaLeft = {{"02:00:00:00:00:01", 0}};  // used up: every packet dropped
  EXPECT_EQ(renderFirewallRules(s)["filter"].end()[-2], "-A tetherd_quota_020000000001 -m quota --quota 0 -j RETURN");
  s.quotaOf = {{"192.168.42.10", "02:00:00:00:00:0X"}};
  EXPECT_EQ(fw::validate(s).error().message, "quota client '02:00:00:00:00:0X' of 192.168.42.10 is not a MAC address (aa:bb:cc:dd:ee:ff)");
}

TEST(QuotaEvents, LimitAlertLine) {
  auto line = control::formatEvent(Event{events::QuotaAlert{"02:00:00:00:00:01", 1, 4'100'000, 5'000'000}});
  EXPECT_EQ(line, (control::EventLine{601, "limit alert 02:00:00:00:00:01 warning used=4100000 quota=5000000"}));
  line = control::formatEvent(Event{events::QuotaAlert{"02:00:00:00:00:01", 2, 5'000'000, 5'000'000}});
  EXPECT_EQ(line, (control::EventLine{601, "limit alert 02:00:00:00:00:01 reached used=5000000 quota=5000000"}));
}
