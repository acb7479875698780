// Rate limits (issue 14 point 4): rate parsing, the config keys, the client-limits file, the
// plan (leases + limits -> LinkShaping), the exact tc steps, and the applier's differences.
#include <gtest/gtest.h>

#include "config/rate_values.h"
#include "tether/core/clients/rate_limits.h"
#include "tether/core/shaping_applier.h"
#include "tether/core/clients/tc_plan.h"

using namespace tetherd;

namespace {

uint64_t rate(const std::string& s) {
  uint64_t v = 0;
  auto cause = parseRate(s, v);
  EXPECT_EQ(cause, "") << s;
  return v;
}

std::string rateError(const std::string& s) {
  uint64_t v = 0;
  return parseRate(s, v);
}

Lease lease(const std::string& mac, const std::string& ip, long long expiry = 0) {
  Lease l;
  l.mac = mac;
  l.hwAddr = mac;
  l.ip = *Ipv4Address::parse(ip);
  l.expiry = expiry;
  return l;
}

std::vector<std::string> strs(const std::vector<TcOp>& ops) {
  std::vector<std::string> out;
  for (const auto& o : ops) out.push_back(tcText(o));
  return out;
}

const std::string kA = "02:00:00:00:00:0a", kB = "02:00:00:00:00:0b";

}  // namespace

TEST(Rate, UnitsOfBitsAndBytes) {
  EXPECT_EQ(rate("5Mbit"), 5'000'000u);
  EXPECT_EQ(rate("5mbit"), 5'000'000u);
  EXPECT_EQ(rate("500kbit"), 500'000u);
  EXPECT_EQ(rate("1Gbit"), 1'000'000'000u);
  EXPECT_EQ(rate("8000bit"), 8'000u);
  EXPECT_EQ(rate("2MB/s"), 16'000'000u);
  EXPECT_EQ(rate("250kB/s"), 2'000'000u);
  EXPECT_EQ(rate("1GB/s"), 8'000'000'000u);
}

TEST(Rate, RefusedWithTheCause) {
  EXPECT_EQ(rateError(""), "empty: give a rate like 5Mbit or 2MB/s");
  EXPECT_EQ(rateError("5"), "'5' has no unit: say bit, kbit, Mbit, Gbit or B/s, kB/s, MB/s, GB/s");
  EXPECT_EQ(rateError("5M"), "'M' is not a unit: say bit, kbit, Mbit, Gbit or B/s, kB/s, MB/s, GB/s");
  EXPECT_EQ(rateError("5mb/s"), "'mb/s' is not a unit: say bit, kbit, Mbit, Gbit or B/s, kB/s, MB/s, GB/s");
  EXPECT_EQ(rateError("fast"), "'fast' does not start with a number (like 5Mbit or 2MB/s)");
  EXPECT_EQ(rateError("-5Mbit"), "'-5Mbit' does not start with a number (like 5Mbit or 2MB/s)");
  EXPECT_EQ(rateError("100bit"), "'100bit' is below the least, 8kbit");
  EXPECT_EQ(rateError("11Gbit"), "'11Gbit' is above the most, 10Gbit");
  EXPECT_EQ(rateError("99999999999999999999999bit"), "'99999999999999999999999bit' is too large");
}

TEST(Rate, FormatIsShortestExact) {
  EXPECT_EQ(formatRate(5'000'000), "5Mbit");
  EXPECT_EQ(formatRate(500'000), "500kbit");
  EXPECT_EQ(formatRate(16'000'000), "16Mbit");
  EXPECT_EQ(formatRate(2'000'000'000), "2Gbit");
  EXPECT_EQ(formatRate(12'345), "12345bit");
}

TEST(Rate, ConfigKeysPerKindNameTheField) {
  auto c = parseConfig("[tethering]\nusb_download_limit = 5Mbit\nwifi_upload_limit = 2MB/s\nethernet_download_limit = off\n", "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->kind(IfaceKind::Usb).downloadLimit, 5'000'000u);
  EXPECT_EQ(c->kind(IfaceKind::Usb).uploadLimit, 0u);
  EXPECT_EQ(c->kind(IfaceKind::Wifi).uploadLimit, 16'000'000u);
  auto bad = parseConfig("[tethering]\nusb_download_limit = 5\n", "t.conf");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "t.conf:2: key 'usb_download_limit' in [tethering]: '5' has no unit: say bit, kbit, Mbit, Gbit or B/s, kB/s, MB/s, GB/s");
}

TEST(ClientLimitsFile, RoundTripAndBadLines) {
  auto f = parseClientLimits("# limits\n02:00:00:00:00:0A 5Mbit off\n02:00:00:00:00:0b off 1MB/s\nnonsense\n"
                             "02:00:00:00:00:0a 1Mbit 1Mbit\n03:00:00:00:00:01 1Mbit 1Mbit\n02:00:00:00:00:0c 5 off\n",
                             16);
  ASSERT_EQ(f.limits.size(), 2u);
  EXPECT_EQ(f.limits.at(kA), (ClientLimit{5'000'000, 0}));
  EXPECT_EQ(f.limits.at(kB), (ClientLimit{0, 8'000'000}));
  ASSERT_EQ(f.bad.size(), 4u);
  EXPECT_EQ(f.bad[0].line, 4);
  EXPECT_EQ(f.bad[0].cause, "not \"<mac> <download> <upload>\"");
  EXPECT_EQ(f.bad[1].cause, "a second line for 02:00:00:00:00:0a");
  EXPECT_EQ(f.bad[2].cause, "mac: 03:00:00:00:00:01 is a multicast address");
  EXPECT_EQ(f.bad[3].cause, "download: '5' has no unit: say bit, kbit, Mbit, Gbit or B/s, kB/s, MB/s, GB/s");
  EXPECT_EQ(formatClientLimits(f.limits), "02:00:00:00:00:0a 5Mbit off\n02:00:00:00:00:0b off 8Mbit\n");
  EXPECT_EQ(parseClientLimits(formatClientLimits(f.limits), 16).limits, f.limits);
  EXPECT_EQ(parseClientLimits("02:00:00:00:00:0a 1Mbit off\n02:00:00:00:00:0b 1Mbit off\n", 1).bad.at(0).cause,
            "more than 1 clients");
}

TEST(ClientLimitsFile, CheckNamesTheField) {
  EXPECT_EQ(checkClientLimit("zz", "1Mbit", "off").error().message, "mac: 'zz' is not a MAC address");
  EXPECT_EQ(checkClientLimit(kA, "1Mbit", "7").error().message,
            "upload: '7' has no unit: say bit, kbit, Mbit, Gbit or B/s, kB/s, MB/s, GB/s");
  auto ok = checkClientLimit("02:00:00:00:00:0A", "500kbit", "2MB/s");
  ASSERT_TRUE(ok);
  EXPECT_EQ(describeClientLimit(ok->first, ok->second), "02:00:00:00:00:0a 500kbit 16Mbit");
}

TEST(ShapingPlan, NothingWithoutLimits) {
  Config c;
  std::map<std::string, ShapingSite> sites{{"usb0", {IfaceKind::Usb, {lease(kA, "192.168.42.10")}}}};
  EXPECT_TRUE(planShaping(c, {}, sites, false).empty());
  EXPECT_FALSE(anyLimits(c, {}));
  // A limited MAC that has no lease on any downstream shapes nothing either.
  EXPECT_TRUE(planShaping(c, {{kB, {1'000'000, 0}}}, sites, false).empty());
}

TEST(ShapingPlan, ClientLimitsFollowTheLeaseAndKindLimitsTheDownstream) {
  Config c;
  c.kinds[static_cast<size_t>(IfaceKind::Wifi)].uploadLimit = 20'000'000;
  ClientLimits limits{{kA, {5'000'000, 0}}, {kB, {0, 1'000'000}}};
  std::map<std::string, ShapingSite> sites{
      {"usb0", {IfaceKind::Usb, {lease(kB, "192.168.42.20"), lease(kA, "192.168.42.10", 100), lease(kA, "192.168.42.11", 200)}}},
      {"wlan0", {IfaceKind::Wifi, {}}},
      {"eth1", {IfaceKind::Ethernet, {lease("02:00:00:00:00:99", "192.168.43.10")}}}};
  auto s = planShaping(c, limits, sites, true);
  ASSERT_EQ(s.size(), 2u);
  LinkShaping usb;
  usb.fqCodel = true;
  usb.clients = {{kA, *Ipv4Address::parse("192.168.42.11"), 5'000'000, 0}, {kB, *Ipv4Address::parse("192.168.42.20"), 0, 1'000'000}};
  EXPECT_EQ(s.at("usb0"), usb);
  EXPECT_TRUE(s.at("usb0").download());
  EXPECT_TRUE(s.at("usb0").upload());
  EXPECT_EQ(s.at("wlan0").up, 20'000'000u);
  EXPECT_FALSE(s.at("wlan0").download());
  EXPECT_TRUE(s.at("wlan0").upload());
}

TEST(TcPlan, DownloadForOneClientExact) {
  LinkShaping s;
  s.clients = {{kA, *Ipv4Address::parse("192.168.42.10"), 5'000'000, 0}};
  EXPECT_EQ(strs(tcPlan("usb0", s)),
            (std::vector<std::string>{
                "qdisc add dev usb0 root handle 7e: htb default 2",
                "class add dev usb0 parent 7e: classid 7e:1 htb rate 10000000000bit ceil 10000000000bit quantum 60000",
                "class add dev usb0 parent 7e:1 classid 7e:2 htb rate 9995000000bit ceil 10000000000bit quantum 60000",
                "qdisc add dev usb0 parent 7e:2 handle 102: pfifo limit 128",
                "class add dev usb0 parent 7e:1 classid 7e:10 htb rate 5000000bit ceil 5000000bit quantum 60000",
                "qdisc add dev usb0 parent 7e:10 handle 110: pfifo limit 128",
                "filter add dev usb0 parent 7e: protocol ip prio 1 u32 match ip dst 192.168.42.10/32 flowid 7e:10",
            }));
}

TEST(TcPlan, UploadThroughTheIfbWithADownstreamLimitExact) {
  LinkShaping s;
  s.up = 2'000'000;
  s.fqCodel = true;
  s.clients = {{kA, *Ipv4Address::parse("192.168.42.10"), 0, 500'000}, {kB, *Ipv4Address::parse("192.168.42.20"), 0, 8'000'000}};
  EXPECT_EQ(strs(tcPlan("wlan0", s)),
            (std::vector<std::string>{
                "link add tifb-wlan0 type ifb",
                "qdisc add dev tifb-wlan0 root handle 7e: htb default 2",
                "class add dev tifb-wlan0 parent 7e: classid 7e:1 htb rate 2000000bit ceil 2000000bit quantum 25000",
                // the clients' guarantees (0.5 + 2, capped at the downstream's) leave nothing: 1 % of it
                "class add dev tifb-wlan0 parent 7e:1 classid 7e:2 htb rate 20000bit ceil 2000000bit quantum 1600",
                "qdisc add dev tifb-wlan0 parent 7e:2 handle 102: fq_codel",
                "class add dev tifb-wlan0 parent 7e:1 classid 7e:10 htb rate 500000bit ceil 500000bit quantum 6250",
                "qdisc add dev tifb-wlan0 parent 7e:10 handle 110: fq_codel",
                "class add dev tifb-wlan0 parent 7e:1 classid 7e:11 htb rate 2000000bit ceil 2000000bit quantum 25000",
                "qdisc add dev tifb-wlan0 parent 7e:11 handle 111: fq_codel",
                "filter add dev tifb-wlan0 parent 7e: protocol ip prio 1 u32 match ip src 192.168.42.10/32 flowid 7e:10",
                "filter add dev tifb-wlan0 parent 7e: protocol ip prio 1 u32 match ip src 192.168.42.20/32 flowid 7e:11",
                "qdisc add dev wlan0 handle ffff: ingress",
                "filter add dev wlan0 parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev tifb-wlan0",
            }));
}

// IPv6 (issue 14 with 12): a limited client's IPv6 addresses get u32 filters on the IPv6
// header into the same class, after the IPv4 ones (prio 2: a prio holds one protocol).
TEST(TcPlan, ClientsIpv6AddressesShareItsClassExact) {
  LinkShaping s;
  s.clients = {{kA, *Ipv4Address::parse("192.168.42.10"), 5'000'000, 1'000'000,
                {*Ipv6Address::parse("fd00:1::10"), *Ipv6Address::parse("2001:db8::10")}}};
  auto ops = strs(tcPlan("usb0", s));
  std::vector<std::string> filters;
  for (const auto& o : ops)
    if (o.rfind("filter add dev", 0) == 0) filters.push_back(o);
  EXPECT_EQ(filters,
            (std::vector<std::string>{
                "filter add dev usb0 parent 7e: protocol ip prio 1 u32 match ip dst 192.168.42.10/32 flowid 7e:10",
                "filter add dev usb0 parent 7e: protocol ipv6 prio 2 u32 match ip6 dst fd00:1::10/128 flowid 7e:10",
                "filter add dev usb0 parent 7e: protocol ipv6 prio 2 u32 match ip6 dst 2001:db8::10/128 flowid 7e:10",
                "filter add dev tifb-usb0 parent 7e: protocol ip prio 1 u32 match ip src 192.168.42.10/32 flowid 7e:10",
                "filter add dev tifb-usb0 parent 7e: protocol ipv6 prio 2 u32 match ip6 src fd00:1::10/128 flowid 7e:10",
                "filter add dev tifb-usb0 parent 7e: protocol ipv6 prio 2 u32 match ip6 src 2001:db8::10/128 flowid 7e:10",
                "filter add dev usb0 parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev tifb-usb0",
            }));
}

TEST(ShapingPlan, ALimitedClientsIpv6AddressesComeFromItsMac) {
  Config c;
  ClientLimits limits{{kA, {5'000'000, 0}}};
  ShapingSite site{IfaceKind::Usb, {lease(kA, "192.168.42.10"), lease(kB, "192.168.42.20")}};
  site.addrs6 = {{kA, {*Ipv6Address::parse("fd00:1::10")}}, {kB, {*Ipv6Address::parse("fd00:1::20")}}};
  auto s = planShaping(c, limits, {{"usb0", site}}, false);
  ASSERT_EQ(s.at("usb0").clients.size(), 1u);
  EXPECT_EQ(s.at("usb0").clients[0].ip6, (std::vector<Ipv6Address>{*Ipv6Address::parse("fd00:1::10")}));
}

TEST(TcPlan, IfbNamesFitIfnamsiz) {
  EXPECT_EQ(ifbName("usb0"), "tifb-usb0");
  EXPECT_EQ(ifbName("enx0123456"), "tifb-enx0123456");
  const auto a = ifbName("enx00e04c680001"), b = ifbName("enx00e04c680002");
  EXPECT_EQ(a.size(), 15u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("tifb-enx00e", 0), 0u);
  EXPECT_TRUE(isIfbName(a));
  EXPECT_FALSE(isIfbName("ifb0"));
}

namespace {

struct FakeShaper : TrafficShaper {
  std::vector<std::string> calls;  // "clear <if>", and "install <dev> <steps>" per run of steps
  bool failInstall = false;
  bool fqCodel() override { return false; }
  Status add(const TcOp& op) override {
    const std::string& dev = op.dev;
    if (calls.empty() || calls.back().rfind("install " + dev + " ", 0) != 0) calls.push_back("install " + dev + " 0");
    auto& last = calls.back();
    const auto space = last.rfind(' ');
    last = last.substr(0, space + 1) + std::to_string(std::stoi(last.substr(space + 1)) + 1);
    if (failInstall && op.kind == TcOp::Kind::Class) return makeError(Errc::IfaceCfgError, "Object exists");
    return {};
  }
  Status clear(const std::string& ifname, const std::string& ifb) override {
    EXPECT_EQ(ifb, ifbName(ifname));
    calls.push_back("clear " + ifname);
    return {};
  }
  Result<int> removeIfbs() override {
    calls.push_back("removeIfbs");
    return 0;
  }
};

}  // namespace

TEST(ShapingApplier, OnlyTheDifferenceAndOnlyWhatSucceeded) {
  FakeShaper port;
  ShapingApplier a(&port, "");
  LinkShaping one;
  one.clients = {{kA, *Ipv4Address::parse("192.168.42.10"), 5'000'000, 0}};
  ShapingState want{{"usb0", one}};
  ASSERT_TRUE(a.apply(want));
  ASSERT_TRUE(a.apply(want));  // the same again: nothing
  EXPECT_EQ(port.calls, (std::vector<std::string>{"install usb0 7"}));
  // A second client: the link is cleared and installed anew.
  want["usb0"].clients.push_back({kB, *Ipv4Address::parse("192.168.42.20"), 1'000'000, 0});
  port.failInstall = true;
  auto failed = a.apply(want);
  ASSERT_FALSE(failed);
  // The step is named, then the kernel's reason.
  EXPECT_EQ(failed.error().message,
            "class add dev usb0 parent 7e: classid 7e:1 htb rate 10000000000bit ceil 10000000000bit quantum 60000: Object exists");
  EXPECT_TRUE(a.applied().empty());  // the failed one is not recorded (and cleared again)
  port.failInstall = false;
  ASSERT_TRUE(a.apply(want));
  EXPECT_EQ(a.applied(), want);
  ASSERT_TRUE(a.apply({}));
  EXPECT_EQ(port.calls, (std::vector<std::string>{"install usb0 7", "clear usb0", "install usb0 2", "clear usb0",
                                                  "install usb0 10", "clear usb0"}));
  a.reset();
  EXPECT_EQ(port.calls.back(), "removeIfbs");
}
