// Per-upstream routing: the plan (pure: facts and intent in, every route and rule out, compared
// by their `ip route`/`ip rule` text) and the applier's order and difference (a fake port).
#include "tether/core/upstream_routing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>


using namespace tetherd;

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

Ipv4Prefix P(const char* s) { return *Ipv4Prefix::parse(s); }
Ipv4Address A(const char* s) { return *Ipv4Address::parse(s); }

constexpr int kEth0 = 2, kWwan0 = 3, kUsb0 = 4, kWlan0 = 5;

// The kernel prefers wwan0 (metric 100); the priority list says eth0 first.
Facts world() {
  Facts f;
  f.kernel.links[kEth0] = {kEth0, "eth0", true, true};
  f.kernel.links[kWwan0] = {kWwan0, "wwan0", true, true};
  f.kernel.links[kUsb0] = {kUsb0, "usb0", true, true};
  f.kernel.links[kWlan0] = {kWlan0, "wlan0", true, true};
  f.kernel.addrs = {{kEth0, "eth0", P("203.0.113.2/24")}, {kWwan0, "wwan0", P("100.64.0.2/24")},
                    {kUsb0, "usb0", P("192.168.42.1/24")}};
  f.kernel.routes = {{kEth0, "eth0", A("203.0.113.1"), 200}, {kWwan0, "wwan0", A("100.64.0.1"), 100}};
  return f;
}

Intent intent() {
  Intent i;
  i.config = defaultConfig();
  i.priority = {"eth0", "wwan0"};
  return i;
}

std::vector<std::string> text(const RoutingState& s) {
  std::vector<std::string> out;
  for (const auto& r : s.routes) out.push_back(r.str());
  for (const auto& r : s.rules) out.push_back(r.str());
  return out;
}

using Lines = std::vector<std::string>;

TEST(UpstreamRoutingPlan, EveryCandidateHasItsTableAndTetheredTrafficGoesToTheSelectedOne) {
  auto s = planRouting(world(), intent(), "eth0", {"usb0"});
  EXPECT_EQ(text(s), (Lines{
                         "table 9200 default via 203.0.113.1 dev eth0 metric 200",
                         "table 9200 203.0.113.0/24 dev eth0 scope link",
                         "table 9201 default via 100.64.0.1 dev wwan0 metric 100",
                         "table 9201 100.64.0.0/24 dev wwan0 scope link",
                         "9200: iif usb0 lookup main suppress_prefixlength 0",
                         "9201: iif usb0 lookup 9200",
                         "9202: oif eth0 lookup 9200",
                         "9202: oif wwan0 lookup 9201",
                     }));
}

TEST(UpstreamRoutingPlan, DnsmasqsQueriesFollowTheClientsTraffic) {
  Facts f = world();
  f.dnsmasqUid = 65534;
  Lines rules;
  for (const auto& r : planRouting(f, intent(), "wwan0", {"usb0"}).rules) rules.push_back(r.str());
  EXPECT_EQ(rules, (Lines{"9200: from all uidrange 65534-65534 lookup main suppress_prefixlength 0",
                          "9200: iif usb0 lookup main suppress_prefixlength 0",
                          "9201: from all uidrange 65534-65534 lookup 9201", "9201: iif usb0 lookup 9201",
                          "9202: oif eth0 lookup 9200", "9202: oif wwan0 lookup 9201"}));
  EXPECT_TRUE(planRouting(f, intent(), "wwan0", {}).rules.size() == 2);  // nobody forwards: no DNS rule
}

TEST(UpstreamRoutingPlan, ASwitchChangesOnlyTheDownstreamsTable) {
  auto before = planRouting(world(), intent(), "eth0", {"usb0", "wlan0"});
  auto after = planRouting(world(), intent(), "wwan0", {"usb0", "wlan0"});
  EXPECT_EQ(before.routes, after.routes);
  std::vector<std::string> gone, added;
  for (const auto& r : before.rules)
    if (!after.rules.count(r)) gone.push_back(r.str());
  for (const auto& r : after.rules)
    if (!before.rules.count(r)) added.push_back(r.str());
  EXPECT_EQ(gone, (Lines{"9201: iif usb0 lookup 9200", "9201: iif wlan0 lookup 9200"}));
  EXPECT_EQ(added, (Lines{"9201: iif usb0 lookup 9201", "9201: iif wlan0 lookup 9201"}));
}

TEST(UpstreamRoutingPlan, NoDownstreamRulesWithoutForwardingOrUpstream) {
  auto none = planRouting(world(), intent(), std::nullopt, {"usb0"});
  auto idle = planRouting(world(), intent(), "eth0", {});
  for (const auto* s : {&none, &idle}) {
    EXPECT_EQ(s->routes.size(), 4u);
    EXPECT_EQ(text(*s).back(), "9202: oif wwan0 lookup 9201");
    for (const auto& r : s->rules) EXPECT_TRUE(r.iif.empty()) << r.str();
  }
}

TEST(UpstreamRoutingPlan, ACandidateWithoutDefaultRouteOrLinkHasNoTable) {
  Facts f = world();
  f.kernel.routes.pop_back();                   // wwan0 lost its default route
  f.kernel.links[kEth0].lowerUp = false;        // eth0 lost its carrier
  EXPECT_TRUE(planRouting(f, intent(), std::nullopt, {"usb0"}).empty());
}

TEST(UpstreamRoutingPlan, ADefaultOnlyInAnotherTableIsMirroredAndMainWinsOverOtherTables) {
  Facts f = world();
  // wwan0's default only in a table of its own (a DHCP client's, NetworkManager's).
  f.kernel.routes = {{kEth0, "eth0", A("203.0.113.1"), 200}, {kWwan0, "wwan0", A("100.64.0.1"), 50, 100}};
  auto s = planRouting(f, intent(), "wwan0", {"usb0"});
  EXPECT_EQ(text(s), (Lines{
                         "table 9200 default via 203.0.113.1 dev eth0 metric 200",
                         "table 9200 203.0.113.0/24 dev eth0 scope link",
                         "table 9201 default via 100.64.0.1 dev wwan0 metric 50",
                         "table 9201 100.64.0.0/24 dev wwan0 scope link",
                         "9200: iif usb0 lookup main suppress_prefixlength 0",
                         "9201: iif usb0 lookup 9201",
                         "9202: oif eth0 lookup 9200",
                         "9202: oif wwan0 lookup 9201",
                     }));
  // Defaults in main and in other tables: main's alone (what the system itself uses).
  f.kernel.routes.push_back({kWwan0, "wwan0", A("100.64.0.1"), 200, kMainTable});
  f.kernel.routes.push_back({kEth0, "eth0", A("203.0.113.9"), 10, 100});
  s = planRouting(f, intent(), "wwan0", {"usb0"});
  EXPECT_TRUE(s.routes.count(TableRoute{9201, 4, Ipv4Prefix{}, A("100.64.0.1"), "wwan0", kWwan0, 200}));
  EXPECT_FALSE(s.routes.count(TableRoute{9201, 4, Ipv4Prefix{}, A("100.64.0.1"), "wwan0", kWwan0, 50}));
  EXPECT_FALSE(s.routes.count(TableRoute{9200, 4, Ipv4Prefix{}, A("203.0.113.9"), "eth0", kEth0, 10}));
  // Only in other tables: the lowest-numbered one's.
  f.kernel.routes = {{kWwan0, "wwan0", A("100.64.0.9"), 7, 300}, {kWwan0, "wwan0", A("100.64.0.1"), 50, 100}};
  Lines routes;
  for (const auto& r : planRouting(f, intent(), "wwan0", {"usb0"}).routes) routes.push_back(r.str());
  EXPECT_EQ(routes, (Lines{"table 9201 default via 100.64.0.1 dev wwan0 metric 50",
                           "table 9201 100.64.0.0/24 dev wwan0 scope link"}));
}

// An IPv4 multipath default (or two defaults at one metric) on a candidate: one copy, the
// lowest gateway (NlRouting adds IPv4 routes with replace: a second copy at the same metric
// would replace the first in the kernel while the plan held both).
TEST(UpstreamRoutingPlan, Ipv4OneDefaultPerMetricTheLowestGateway) {
  Facts f = world();
  f.kernel.routes = {{kEth0, "eth0", A("203.0.113.9"), 200}, {kEth0, "eth0", A("203.0.113.1"), 200},
                     {kEth0, "eth0", A("203.0.113.5"), 300}, {kWwan0, "wwan0", A("100.64.0.1"), 100}};
  Lines routes;
  for (const auto& r : planRouting(f, intent(), "eth0", {"usb0"}).routes) routes.push_back(r.str());
  EXPECT_EQ(routes, (Lines{"table 9200 default via 203.0.113.1 dev eth0 metric 200",
                           "table 9200 default via 203.0.113.5 dev eth0 metric 300",
                           "table 9200 203.0.113.0/24 dev eth0 scope link",
                           "table 9201 default via 100.64.0.1 dev wwan0 metric 100",
                           "table 9201 100.64.0.0/24 dev wwan0 scope link"}));
}

// IPv6 (issue 13 point 1 for both families): eth0 has an RA's default via its link-local
// router, wwan0 a static one at a better metric; the priority list says eth0.
Facts world6() {
  Facts f = world();
  f.ula48 = Ipv6Prefix::parse("fd12:3456:789a::/48");
  f.kernel.routes6 = {{kEth0, "eth0", *Ipv6Address::parse("fe80::1"), 1024},
                      {kWwan0, "wwan0", *Ipv6Address::parse("2001:db8:2::1"), 100}};
  return f;
}

Intent intent6() {
  Intent i = intent();
  i.config.ipv6 = Ipv6Mode::Auto;  // nat66 here (no delegation)
  return i;
}

TEST(UpstreamRoutingPlan, Ipv6DefaultsGoIntoTheSameTablesWithTheSameRules) {
  Facts f = world6();
  f.dnsmasqUid = 65534;
  EXPECT_EQ(text(planRouting(f, intent6(), "eth0", {"usb0"})),
            (Lines{
                "table 9200 default via 203.0.113.1 dev eth0 metric 200",
                "table 9200 203.0.113.0/24 dev eth0 scope link",
                "-6 table 9200 default via fe80::1 dev eth0 metric 1024",
                "table 9201 default via 100.64.0.1 dev wwan0 metric 100",
                "table 9201 100.64.0.0/24 dev wwan0 scope link",
                "-6 table 9201 default via 2001:db8:2::1 dev wwan0 metric 100",
                "9200: from all uidrange 65534-65534 lookup main suppress_prefixlength 0",
                "9200: iif usb0 lookup main suppress_prefixlength 0",
                "-6 9200: from all uidrange 65534-65534 lookup main suppress_prefixlength 0",
                "-6 9200: iif usb0 lookup main suppress_prefixlength 0",
                "9201: from all uidrange 65534-65534 lookup 9200",
                "9201: iif usb0 lookup 9200",
                "-6 9201: from all uidrange 65534-65534 lookup 9200",
                "-6 9201: iif usb0 lookup 9200",
                "9202: oif eth0 lookup 9200",
                "9202: oif wwan0 lookup 9201",
                "-6 9202: oif eth0 lookup 9200",
                "-6 9202: oif wwan0 lookup 9201",
            }));
}

TEST(UpstreamRoutingPlan, Ipv6OnlyWhileTheDownstreamsHaveIt) {
  Intent i = intent6();
  i.config.ipv6 = Ipv6Mode::Off;
  for (const auto& r : planRouting(world6(), i, "eth0", {"usb0"}).routes) EXPECT_EQ(r.family, 4) << r.str();
  Facts noUla = world6();
  noUla.ula48.reset();  // auto with neither a delegation nor the ULA: off
  for (const auto& r : planRouting(noUla, intent6(), "eth0", {"usb0"}).rules) EXPECT_EQ(r.family, 4) << r.str();
  // A delegation (pd) is IPv6 too.
  Facts pd = world6();
  pd.ula48.reset();
  pd.delegated = PdLease{*Ipv6Prefix::parse("2001:db8:100::/56")};
  EXPECT_TRUE(planRouting(pd, intent6(), "eth0", {"usb0"}).rules.count(PolicyRule{9201, 6, "usb0", "", 9200, false}));
}

TEST(UpstreamRoutingPlan, Ipv6ASwitchChangesOnlyTheDownstreamsTableAndOneRoutePerMetric) {
  Facts f = world6();
  // Two routers on eth0's link at the same metric: one copy (the kernel would let the second
  // replace the first); another metric is a second route.
  f.kernel.routes6.push_back({kEth0, "eth0", *Ipv6Address::parse("fe80::2"), 1024});
  f.kernel.routes6.push_back({kEth0, "eth0", *Ipv6Address::parse("fe80::3"), 2048});
  auto before = planRouting(f, intent6(), "eth0", {"usb0"});
  auto after = planRouting(f, intent6(), "wwan0", {"usb0"});
  Lines six;
  for (const auto& r : before.routes)
    if (r.family == 6 && r.table == 9200) six.push_back(r.str());
  EXPECT_EQ(six, (Lines{"-6 table 9200 default via fe80::1 dev eth0 metric 1024",
                        "-6 table 9200 default via fe80::3 dev eth0 metric 2048"}));
  EXPECT_EQ(before.routes, after.routes);
  Lines gone, added;
  for (const auto& r : before.rules)
    if (!after.rules.count(r)) gone.push_back(r.str());
  for (const auto& r : after.rules)
    if (!before.rules.count(r)) added.push_back(r.str());
  EXPECT_EQ(gone, (Lines{"9201: iif usb0 lookup 9200", "-6 9201: iif usb0 lookup 9200"}));
  EXPECT_EQ(added, (Lines{"9201: iif usb0 lookup 9201", "-6 9201: iif usb0 lookup 9201"}));
}

// A multipath default (issue 13: read as none before): every nexthop on the candidate goes
// into its table (the kernel makes the copies one multipath route again), whatever else the
// route has at that metric; a nexthop on another link stays out.
TEST(UpstreamRoutingPlan, Ipv6MultipathDefaultsAreMirroredNexthopByNexthop) {
  Facts f = world6();
  f.kernel.routes6 = {{kEth0, "eth0", *Ipv6Address::parse("fe80::2"), 1024, kMainTable, true},
                      {kEth0, "eth0", *Ipv6Address::parse("fe80::1"), 1024, kMainTable, true},
                      {kWwan0, "wwan0", *Ipv6Address::parse("fe80::9"), 1024, kMainTable, true},
                      {kEth0, "eth0", *Ipv6Address::parse("fe80::0"), 1024},  // a separate RA route: not copied
                      {kEth0, "eth0", *Ipv6Address::parse("fe80::3"), 2048}};
  Lines six;
  auto s = planRouting(f, intent6(), "eth0", {"usb0"});
  for (const auto& r : s.routes)
    if (r.family == 6) six.push_back(r.str());
  EXPECT_EQ(six, (Lines{"-6 table 9200 default via fe80::1 dev eth0 metric 1024",
                        "-6 table 9200 default via fe80::2 dev eth0 metric 1024",
                        "-6 table 9200 default via fe80::3 dev eth0 metric 2048",
                        "-6 table 9201 default via fe80::9 dev wwan0 metric 1024"}));
  EXPECT_TRUE(s.rules.count(PolicyRule{9201, 6, "usb0", "", 9200, false}));
}

// A candidate's on-link IPv6 prefixes go into its table before its defaults: the kernel
// refuses a default via a global gateway (static, 2001:db8:2::1) in a table where the gateway
// is reached by another route with a gateway (the lab's test_9d: a new priority list moved
// wwan0 into eth0's old table and the route was refused). /128s (DHCPv6) and candidates
// without an IPv6 default add none.
TEST(UpstreamRoutingPlan, Ipv6OnLinkPrefixesComeWithTheDefaults) {
  Facts f = world6();
  f.kernel.addrs6 = {{kWwan0, "wwan0", *Ipv6Prefix::parse("2001:db8:2::2/64")},
                     {kWwan0, "wwan0", *Ipv6Prefix::parse("2001:db8:9::7/128")},
                     {kUsb0, "usb0", *Ipv6Prefix::parse("fd00:42::1/64")}};
  Lines six;
  for (const auto& r : planRouting(f, intent6(), "wwan0", {"usb0"}).routes)
    if (r.family == 6) six.push_back(r.str());
  EXPECT_EQ(six, (Lines{"-6 table 9200 default via fe80::1 dev eth0 metric 1024",
                        "-6 table 9201 2001:db8:2::/64 dev wwan0",
                        "-6 table 9201 default via 2001:db8:2::1 dev wwan0 metric 100"}));
}

TEST(UpstreamRoutingPlan, Ipv6AnUpstreamWithoutAnIpv6DefaultGetsNoIpv6Rules) {
  Facts f = world6();
  f.kernel.routes6.erase(f.kernel.routes6.begin());  // eth0 has IPv4 only
  Lines six;
  for (const auto& r : planRouting(f, intent6(), "eth0", {"usb0"}).rules)
    if (r.family == 6) six.push_back(r.str());
  EXPECT_EQ(six, (Lines{"-6 9202: oif wwan0 lookup 9201"}));
  // And one in another table only (learnt there, issue 13): mirrored all the same.
  f.kernel.routes6.push_back({kEth0, "eth0", *Ipv6Address::parse("fe80::1"), 1024, 100});
  EXPECT_TRUE(planRouting(f, intent6(), "eth0", {"usb0"}).rules.count(PolicyRule{9201, 6, "usb0", "", 9200, false}));
}

TEST(UpstreamRoutingPlan, ConfiguredRangesAndOff) {
  Intent i = intent();
  i.config.routeTableFirst = i.config.routeTableLast = 500;  // room for the first candidate only
  i.config.rulePriorityFirst = 100;
  EXPECT_EQ(text(planRouting(world(), i, "wwan0", {"usb0"})),
            (Lines{"table 500 default via 203.0.113.1 dev eth0 metric 200", "table 500 203.0.113.0/24 dev eth0 scope link",
                   "102: oif eth0 lookup 500"}));
  EXPECT_EQ(upstreamTable(i, "wwan0"), std::nullopt);
  i.config.policyRouting = false;
  EXPECT_TRUE(planRouting(world(), i, "eth0", {"usb0"}).empty());
}

TEST(UpstreamRoutingPlan, IsPartOfThePlanAndEmptyWhenStopping) {
  Facts f = world();
  f.chains = true;
  f.stages["usb0"] = Stage::Forwarding;
  f.assigned["usb0"] = P("192.168.42.1/24");
  Intent i = intent();
  i.config.upstreamDns["eth0"] = {A("198.51.100.53")};
  i.config.upstreamDns["wwan0"] = {A("198.51.100.53")};
  i.config.kinds[static_cast<size_t>(IfaceKind::Usb)].pattern = "usb[0-9]+";
  i.config.kinds[static_cast<size_t>(IfaceKind::Usb)].regex = std::regex("usb[0-9]+");
  i.tethering = true;
  auto d = plan(f, i);
  ASSERT_EQ(d.upstream, "eth0");
  EXPECT_TRUE(d.routing.rules.count(PolicyRule{9201, 4, "usb0", "", 9200, false}));
  i.stopping = true;
  EXPECT_TRUE(plan(f, i).routing.empty());
}

// ---------------------------------------------------------------------------- the applier

class FakeRouting : public PolicyRouting {
 public:
  std::vector<std::string> ops;
  std::set<std::string> failing;  // str() of what fails
  Status result(const std::string& op, const std::string& what) {
    ops.push_back(op + " " + what);
    if (failing.count(what)) return makeError(Errc::IfaceCfgError, "Operation not permitted");
    return {};
  }
  Status addRoute(const TableRoute& r) override { return result("add route", r.str()); }
  Status deleteRoute(const TableRoute& r) override { return result("del route", r.str()); }
  Status addRule(const PolicyRule& r) override { return result("add rule", r.str()); }
  Status deleteRule(const PolicyRule& r) override { return result("del rule", r.str()); }
  Result<int> flush(const RoutingRange& r) override {
    ops.push_back("flush " + std::to_string(r.tableFirst) + "-" + std::to_string(r.tableLast) + " " +
                  std::to_string(r.priorityFirst) + "-" + std::to_string(r.priorityLast));
    return 0;
  }
};

TEST(RoutingApplier, AddsTheNewRuleBeforeRemovingTheOldAndDoesNothingTwice) {
  FakeRouting port;
  RoutingApplier a(&port);
  ASSERT_TRUE(a.apply(planRouting(world(), intent(), "eth0", {"usb0"})).ok());
  EXPECT_EQ(port.ops.size(), 8u);
  port.ops.clear();
  ASSERT_TRUE(a.apply(planRouting(world(), intent(), "eth0", {"usb0"})).ok());
  EXPECT_TRUE(port.ops.empty());
  ASSERT_TRUE(a.apply(planRouting(world(), intent(), "wwan0", {"usb0"})).ok());
  EXPECT_EQ(port.ops, (Lines{"add rule 9201: iif usb0 lookup 9201", "del rule 9201: iif usb0 lookup 9200"}));
}

TEST(RoutingApplier, RoutesBeforeRulesAndRulesBeforeRoutesOnTheWayOut) {
  FakeRouting port;
  RoutingApplier a(&port);
  Facts f = world();
  f.kernel.routes.pop_back();
  f.kernel.addrs.erase(f.kernel.addrs.begin() + 1);
  ASSERT_TRUE(a.apply(planRouting(f, intent(), "eth0", {"usb0"})).ok());
  EXPECT_EQ(port.ops, (Lines{"add route table 9200 default via 203.0.113.1 dev eth0 metric 200",
                             "add route table 9200 203.0.113.0/24 dev eth0 scope link",
                             "add rule 9200: iif usb0 lookup main suppress_prefixlength 0",
                             "add rule 9201: iif usb0 lookup 9200", "add rule 9202: oif eth0 lookup 9200"}));
  port.ops.clear();
  ASSERT_TRUE(a.apply(RoutingState{}).ok());
  EXPECT_EQ(port.ops, (Lines{"del rule 9200: iif usb0 lookup main suppress_prefixlength 0",
                             "del rule 9201: iif usb0 lookup 9200", "del rule 9202: oif eth0 lookup 9200",
                             "del route table 9200 default via 203.0.113.1 dev eth0 metric 200",
                             "del route table 9200 203.0.113.0/24 dev eth0 scope link"}));
  EXPECT_TRUE(a.applied().empty());
}

TEST(RoutingApplier, RecordsOnlyWhatSucceededAndTriesTheRestAgain) {
  FakeRouting port;
  RoutingApplier a(&port);
  port.failing.insert("9201: iif usb0 lookup 9200");
  auto want = planRouting(world(), intent(), "eth0", {"usb0"});
  auto st = a.apply(want);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(a.applied().rules.size(), want.rules.size() - 1);
  port.failing.clear();
  port.ops.clear();
  ASSERT_TRUE(a.apply(want).ok());
  EXPECT_EQ(port.ops, (Lines{"add rule 9201: iif usb0 lookup 9200"}));
}

TEST(RoutingApplier, ResetFlushesTheRangeAndForgets) {
  FakeRouting port;
  RoutingApplier a(&port);
  ASSERT_TRUE(a.apply(planRouting(world(), intent(), "eth0", {"usb0"})).ok());
  port.ops.clear();
  ASSERT_TRUE(a.reset(routingRange(intent().config)).ok());
  EXPECT_EQ(port.ops, (Lines{"flush 9200-9263 9200-9299"}));
  EXPECT_TRUE(a.applied().empty());
}

TEST(UpstreamRoutingConfig, RangesAreValidatedWithFileAndLine) {
  auto ok = parseConfig("[upstream]\npolicy_routing = no\nroute_tables = 100-163\nrule_priorities = 5000-5002\n", "t.conf");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_FALSE(ok->policyRouting);
  EXPECT_EQ(ok->routeTableFirst, 100u);
  EXPECT_EQ(ok->routeTableLast, 163u);
  EXPECT_EQ(ok->rulePriorityFirst, 5000u);
  auto main = parseConfig("[upstream]\n\nroute_tables = 250-260\n", "t.conf");
  ASSERT_FALSE(main.ok());
  EXPECT_NE(main.error().message.find("t.conf:3"), std::string::npos) << main.error().message;
  EXPECT_NE(main.error().message.find("253"), std::string::npos) << main.error().message;
  auto small = parseConfig("[upstream]\nrule_priorities = 7-8\n", "t.conf");
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("at least 3"), std::string::npos) << small.error().message;
  auto junk = parseConfig("[upstream]\nroute_tables = 9200\n", "t.conf");
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.error().message.find("route_tables"), std::string::npos) << junk.error().message;
}

}  // namespace
