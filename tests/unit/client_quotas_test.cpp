// Quotas (issue 14 point 3): sizes with units, the client-quotas file, the alert levels and
// their once-per-day announcements, the quota rules' exact text, the 601 event line.
#include <gtest/gtest.h>

#include "config/config.h"
#include "config/rate_values.h"
#include "tether/control/event_text.h"
#include "tether/core/clients/client_quotas.h"
#include "tether/core/clients/usage_history.h"
#include "tether/system/netfilter/firewall.h"

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
  EXPECT_EQ(*q, (QuotaRequest{"02:aa:bb:cc:dd:ee", 5'000'000, QuotaPeriod::Day, false}));
  auto off = checkClientQuota("02:aa:bb:cc:dd:ee", "off");
  ASSERT_TRUE(off);
  EXPECT_EQ(off->bytes, 0u);
  EXPECT_FALSE(off->reset);
  EXPECT_TRUE(checkClientQuota("02:aa:bb:cc:dd:ee", "reset")->reset);
  EXPECT_EQ(checkClientQuota("02:aa:bb:cc:dd:ee", "2GB", "month")->period, QuotaPeriod::Month);
  EXPECT_EQ(checkClientQuota("02:aa:bb:cc:dd:ee", "2GB", "monthly")->period, QuotaPeriod::Month);
  EXPECT_EQ(checkClientQuota("02:aa:bb:cc:dd:ee", "2GB", "total")->period, QuotaPeriod::Total);
  EXPECT_EQ(checkClientQuota("nope", "5MB").error().message, "mac: 'nope' is not a MAC address");
  EXPECT_EQ(checkClientQuota("01:00:5e:00:00:01", "5MB").error().message, "mac: 01:00:5e:00:00:01 is a multicast address");
  EXPECT_EQ(checkClientQuota("02:aa:bb:cc:dd:ee", "5").error().message,
            "quota: '5' has no unit: say B, kB, MB, GB, TB or KiB, MiB, GiB, TiB");
  EXPECT_EQ(checkClientQuota("02:aa:bb:cc:dd:ee", "5MB", "week").error().message, "period: 'week' is not day, month or total");
  EXPECT_EQ(checkClientQuota("02:aa:bb:cc:dd:ee", "off", "day").error().message, "period: not taken with off");
  EXPECT_EQ(checkDownstreamQuota("usb0", "10GB", "month")->key, "usb0");
  EXPECT_EQ(checkDownstreamQuota("bad/name", "10GB").error().message, "interface: 'bad/name' is not an interface name");
}

TEST(ClientQuotas, FileRoundTripsAndNamesBadLines) {
  Quotas q;
  q.clients = {{"02:00:00:00:00:01", {5'000'000}}, {"02:00:00:00:00:02", {2'000'000'000, QuotaPeriod::Month}}};
  q.clients["02:00:00:00:00:03"] = Quota{7'000, QuotaPeriod::Total, *parseDay("2026-12-01"), 1234};
  q.downstreams = {{"usb0", {10'000'000'000, QuotaPeriod::Month, *parseDay("2026-12-05"), 99}}};
  EXPECT_EQ(formatClientQuotas(q), "02:00:00:00:00:01 5000000 day\n"
                                   "02:00:00:00:00:02 2000000000 month\n"
                                   "02:00:00:00:00:03 7000 total since=2026-12-01+1234\n"
                                   "downstream usb0 10000000000 month since=2026-12-05+99\n");
  auto back = parseClientQuotas(formatClientQuotas(q), kMaxClientQuotas);
  EXPECT_EQ(back.quotas, q);
  EXPECT_TRUE(back.bad.empty());
  // The old form (a daily client quota) still reads.
  auto bad = parseClientQuotas("# c\n02:00:00:00:00:01 5MB\nx 5\n02:00:00:00:00:01 7\n02:00:00:00:00:03\n02:00:00:00:00:04 0\n"
                               "02:00:00:00:00:05 5MB week\n02:00:00:00:00:06 5MB day since=yesterday\ndownstream a/b 5MB day\n"
                               "downstream usb0 5MB day\ndownstream usb0 6MB day\n",
                               10);
  Quotas want;
  want.clients = {{"02:00:00:00:00:01", {5'000'000}}};
  want.downstreams = {{"usb0", {5'000'000}}};
  EXPECT_EQ(bad.quotas, want);
  EXPECT_EQ(bad.bad, (std::vector<ClientQuotasFile::Bad>{{3, "mac: 'x' is not a MAC address"},
                                                         {4, "mac: 02:00:00:00:00:01 given twice"},
                                                         {5, "expected \"<mac> <bytes> [<period>]\""},
                                                         {6, "quota: '0B' is zero"},
                                                         {7, "period: 'week' is not day, month or total"},
                                                         {8, "since: 'since=yesterday' is not since=<YYYY-MM-DD>+<bytes>"},
                                                         {9, "interface: 'a/b' is not an interface name"},
                                                         {11, "interface: usb0 given twice"}}));
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

namespace {
int day(const char* text) { return *parseDay(text); }
QuotaUse clientUse(const std::string& mac, uint64_t bytes) { return QuotaUse{{{mac, bytes}}, {}}; }
}  // namespace

TEST(ClientQuotas, AlertsOncePerLevelPerPeriod) {
  const std::string a = "02:00:00:00:00:01";
  Quotas q;
  q.clients = {{a, {5'000'000}}};
  QuotaAlertState st;
  const int d100 = day("2026-12-05"), d101 = d100 + 1;
  auto alerts = [&](const Quotas& qs, QuotaUse use, int today) { return quotaAlerts(qs, use, today, 1, st).alerts; };
  EXPECT_TRUE(alerts(q, clientUse(a, 1'000), d100).empty());
  EXPECT_EQ(alerts(q, clientUse(a, 4'100'000), d100), (std::vector<QuotaAlert>{{a, false, QuotaPeriod::Day, 1, 4'100'000, 5'000'000}}));
  EXPECT_TRUE(alerts(q, clientUse(a, 4'200'000), d100).empty());
  EXPECT_EQ(alerts(q, clientUse(a, 5'000'000), d100), (std::vector<QuotaAlert>{{a, false, QuotaPeriod::Day, 2, 5'000'000, 5'000'000}}));
  EXPECT_TRUE(alerts(q, clientUse(a, 5'000'000), d100).empty());
  // Saved and read back (a restart): nothing is told twice.
  st = parseQuotaAlertState(formatQuotaAlertState(st));
  EXPECT_EQ(formatQuotaAlertState(st), "02:00:00:00:00:01 2026-12-05 2\n");
  EXPECT_TRUE(alerts(q, clientUse(a, 5'000'000), d100).empty());
  // A new day: the period rolls (re-plan), usage from zero; 0 -> over gives both at once.
  auto rolled = quotaAlerts(q, {}, d101, 1, st);
  EXPECT_TRUE(rolled.rolled);
  EXPECT_TRUE(rolled.alerts.empty());
  EXPECT_FALSE(quotaAlerts(q, {}, d101, 1, st).rolled);
  EXPECT_EQ(alerts(q, clientUse(a, 6'000'000), d101).size(), 2u);
  // The quota goes (off) and comes back: told again.
  EXPECT_TRUE(alerts({}, clientUse(a, 6'000'000), d101).empty());
  EXPECT_EQ(alerts(q, clientUse(a, 6'000'000), d101).size(), 2u);
  // A downstream's quota is told under its name.
  Quotas dq;
  dq.downstreams = {{"usb0", {1'000'000, QuotaPeriod::Month}}};
  EXPECT_EQ(alerts(dq, QuotaUse{{}, {{"usb0", 900'000}}}, d101),
            (std::vector<QuotaAlert>{{"usb0", true, QuotaPeriod::Month, 1, 900'000, 1'000'000}}));
  EXPECT_EQ(formatQuotaAlertState(st), "downstream usb0 2026-12-01 1\n");
  int bad = 0;
  auto back = parseQuotaAlertState("downstream usb0 2026-12-01 1\nx 2026-12-01 1\n02:00:00:00:00:01 2026-12-01\n"
                                   "02:00:00:00:00:01 2026-12-01 7\ndownstream a/b 2026-12-01 1\n",
                                   &bad);
  EXPECT_EQ(bad, 4);
  EXPECT_EQ(back, st);
}

TEST(ClientQuotas, PeriodsStartAtMidnightOnTheMonthStartAndAtTheReset) {
  const Quota daily{1}, monthly{1, QuotaPeriod::Month}, total{1, QuotaPeriod::Total, day("2026-11-20"), 0};
  EXPECT_EQ(quotaPeriodStart(daily, day("2026-12-05"), 1), day("2026-12-05"));
  EXPECT_EQ(quotaPeriodEnd(daily, day("2026-12-05"), 1), day("2026-12-06"));
  EXPECT_EQ(quotaPeriodStart(monthly, day("2026-12-05"), 1), day("2026-12-01"));
  EXPECT_EQ(quotaPeriodEnd(monthly, day("2026-12-05"), 1), day("2027-01-01"));
  EXPECT_EQ(quotaPeriodStart(monthly, day("2026-12-05"), 15), day("2026-11-15"));
  EXPECT_EQ(quotaPeriodEnd(monthly, day("2026-12-05"), 15), day("2026-12-15"));
  EXPECT_EQ(quotaPeriodStart(monthly, day("2026-01-10"), 28), day("2025-12-28"));
  EXPECT_EQ(quotaPeriodEnd(monthly, day("2026-01-30"), 28), day("2026-02-28"));
  EXPECT_EQ(quotaPeriodStart(total, day("2026-12-05"), 1), day("2026-11-20"));
  EXPECT_EQ(quotaPeriodEnd(total, day("2026-12-05"), 1), 0);
  // A reset inside the month moves its start; one before the month does not.
  Quota reset = monthly;
  reset.since = day("2026-12-03");
  EXPECT_EQ(quotaPeriodStart(reset, day("2026-12-05"), 1), day("2026-12-03"));
  EXPECT_EQ(quotaPeriodStart(reset, day("2027-01-02"), 1), day("2027-01-01"));
}

TEST(ClientQuotas, UseSumsThePeriodLessWhatTheResetDayHadMoved) {
  UsageHistory h;
  const std::string a = "02:00:00:00:00:01", b = "02:00:00:00:00:02";
  h.add(day("2026-11-30"), a, "usb0", {1'000, 0});
  h.add(day("2026-12-01"), a, "usb0", {2'000, 100});
  h.add(day("2026-12-01"), a, "wlan0", {50, 0});
  h.add(day("2026-12-05"), a, "usb0", {4'000, 0});
  h.add(day("2026-12-05"), b, "usb0", {30'000, 0});
  Quotas q;
  q.clients = {{a, {1}}, {b, {1, QuotaPeriod::Month}}};
  q.downstreams = {{"usb0", {1, QuotaPeriod::Month}}, {"wlan0", {1, QuotaPeriod::Total, day("2026-11-01"), 0}}};
  const int today = day("2026-12-05");
  auto use = quotaUse(q, h, today, 1);
  EXPECT_EQ(use.clients, (std::map<std::string, uint64_t>{{a, 4'000}, {b, 30'000}}));
  EXPECT_EQ(use.downstreams, (std::map<std::string, uint64_t>{{"usb0", 36'100}, {"wlan0", 50}}));
  // Reset today after 3000 of a's 4000 bytes: 1000 count; the month of usb0 reset on the 1st.
  q.clients[a] = Quota{1, QuotaPeriod::Month, today, 3'000};
  q.downstreams["usb0"] = Quota{1, QuotaPeriod::Month, day("2026-12-01"), usedOnDay(h, day("2026-12-01"), "", "usb0") - 100};
  EXPECT_EQ(usedOnDay(h, today, a, ""), 4'000u);
  use = quotaUse(q, h, today, 1);
  EXPECT_EQ(use.clients[a], 1'000u);
  EXPECT_EQ(use.downstreams["usb0"], 100u + 4'000u + 30'000u);
  auto rows = quotaRows(q, use, today, 1);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].key + " " + describeQuotaRow(rows[0]), a + " quota=1 period=month used=1000 remaining=0 resets=2027-01-01");
  EXPECT_EQ(describeQuotaRow(rows[3]), "quota=1 period=total used=50 remaining=0 resets=never");
  EXPECT_TRUE(rows[3].downstream);
}

TEST(ClientQuotas, MonthStartIsADayFrom1To28) {
  EXPECT_EQ(defaultConfig().quotaMonthStart, 1);
  auto c = parseConfig("[tethering]\nquota_month_start = 15\n", "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->quotaMonthStart, 15);
  for (const char* bad : {"29", "0", "x", "-1", "1st"}) {
    c = parseConfig(std::string("[tethering]\nquota_month_start = ") + bad + "\n", "t.conf");
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().message.find("quota_month_start"), std::string::npos) << c.error().message;
    EXPECT_NE(c.error().message.find("is not a day of the month from 1 to 28"), std::string::npos) << c.error().message;
  }
}

TEST(QuotaRules, ADownstreamQuotaChainFirstInTheCounters) {
  FirewallState s{{"usb0"}, {{"usb0", "eth0"}}};
  s.clients = {{"usb0", {"192.168.42.10"}}};
  s.downstreamQuotaLeft = {{"usb0", 9'000'000}};
  auto rules = renderFirewallRules(s);
  EXPECT_EQ(rules["filter"], (Lines{
                                 "-N tetherd_FORWARD",
                                 "-N tetherd_acct_usb0",
                                 "-N tetherd_counters",
                                 "-N tetherd_dq_usb0",
                                 "-A FORWARD -j tetherd_FORWARD",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -g tetherd_counters",
                                 "-A tetherd_FORWARD -i usb0 -j DROP",
                                 "-A tetherd_acct_usb0 -s 192.168.42.10/32 -j RETURN",
                                 "-A tetherd_acct_usb0 -d 192.168.42.10/32 -j RETURN",
                                 "-A tetherd_counters -i usb0 -j tetherd_dq_usb0",
                                 "-A tetherd_counters -o usb0 -j tetherd_dq_usb0",
                                 "-A tetherd_counters -i usb0 -j tetherd_acct_usb0",
                                 "-A tetherd_counters -o usb0 -j tetherd_acct_usb0",
                                 "-A tetherd_counters -i usb0 -o eth0 -j ACCEPT",
                                 "-A tetherd_counters -i eth0 -o usb0 -j ACCEPT",
                                 "-A tetherd_dq_usb0 -m quota --quota 9000000 -j RETURN",
                                 "-A tetherd_dq_usb0 -j DROP",
                             }));
  EXPECT_TRUE(fw::validate(s).ok());
  s.downstreamQuotaLeft = {{"usb0 x", 1}};
  EXPECT_FALSE(fw::validate(s).ok());
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
  auto line = control::formatEvent(Event{events::QuotaAlert{"02:00:00:00:00:01", 1, 4'100'000, 5'000'000, "", "day"}});
  EXPECT_EQ(line, (control::EventLine{601, "limit alert 02:00:00:00:00:01 warning used=4100000 quota=5000000 period=day"}));
  line = control::formatEvent(Event{events::QuotaAlert{"02:00:00:00:00:01", 2, 5'000'000, 5'000'000, "", "day"}});
  EXPECT_EQ(line, (control::EventLine{601, "limit alert 02:00:00:00:00:01 reached used=5000000 quota=5000000 period=day"}));
  line = control::formatEvent(Event{events::QuotaAlert{"", 2, 9'000'000, 9'000'000, "usb0", "month"}});
  EXPECT_EQ(line, (control::EventLine{601, "limit alert downstream usb0 reached used=9000000 quota=9000000 period=month"}));
}
