// IPv6 relay mode (issue 12 point 3): the planner's choice (auto -> relay), the whole desired
// state in relay (addresses, routes, proxy entries, proxy_ndp), dnsmasq's exact argv, the
// relay applier through a fake port and its crash record, the rtnetlink requests byte for
// byte, and the neighbour-solicitation filter and parser.
#include <gtest/gtest.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tether/base/files.h"
#include "tether/core/planner.h"
#include "tether/core/relay_applier.h"
#include "tether/system/dnsmasq.h"
#include "tether/system/nl_ndp_relay.h"
#include "tether/system/nl_parse.h"
#include "tether/system/ns_watch.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace tetherd;

namespace {

Ipv4Prefix P(const char* s) { return *Ipv4Prefix::parse(s); }
Ipv4Address A(const char* s) { return *Ipv4Address::parse(s); }
Ipv6Prefix P6(const char* s) { return *Ipv6Prefix::parse(s); }
Ipv6Address A6(const char* s) { return *Ipv6Address::parse(s); }

constexpr int kWwan0 = 3, kUsb0 = 4, kWlan0 = 5;

// wwan0, the only upstream candidate: IPv4, and a SLAAC /64 with an RA default route (a
// mobile network: no delegation). usb0 and wlan0 forward through it.
Facts mobile() {
  Facts f;
  f.kernel.links[kWwan0] = {kWwan0, "wwan0", true, true};
  f.kernel.links[kUsb0] = {kUsb0, "usb0", true, true};
  f.kernel.links[kWlan0] = {kWlan0, "wlan0", true, true};
  f.kernel.addrs = {{kWwan0, "wwan0", P("10.0.2.2/24")},
                    {kUsb0, "usb0", P("192.168.42.1/24")},
                    {kWlan0, "wlan0", P("192.168.43.1/24")}};
  f.kernel.routes = {{kWwan0, "wwan0", A("10.0.2.254"), 100}};
  // SLAAC (no IFA_F_PERMANENT) and a static one of another length, which does not count.
  f.kernel.addrs6 = {{kWwan0, "wwan0", P6("2001:db8:1:0:aa:bbff:fecc:1/64"), 0},
                     {kWwan0, "wwan0", P6("2001:db8:9::5/128"), IFA_F_PERMANENT}};
  f.kernel.routes6 = {{kWwan0, "wwan0", A6("fe80::1"), 1024}};
  f.upstreamDns = {{"wwan0", {A("10.0.2.1")}}};
  f.chains = f.dns = f.ipForwarding = true;
  f.ula48 = P6("fd12:3456:789a::/48");
  f.stages = {{"usb0", Stage::Forwarding}, {"wlan0", Stage::Forwarding}};
  f.assigned = {{"usb0", P("192.168.42.1/24")}, {"wlan0", P("192.168.43.1/24")}};
  // The neighbour table: a phone on usb0 (two addresses in the /64, a ULA it also has, and one
  // outside the /64), a laptop on wlan0 without a DHCPv4 lease.
  f.clientAddrs6 = {{"usb0", {{"02:00:00:00:00:01", {A6("2001:db8:1::a1"), A6("2001:db8:1::a2"), A6("2001:db8:7::1")}}}},
                    {"wlan0", {{"02:00:00:00:00:02", {A6("2001:db8:1::b1")}}}}};
  return f;
}

Intent tethering(Ipv6Mode mode) {
  Intent i;
  i.config = defaultConfig();
  i.config.upstreamPriority = i.priority = {"wwan0"};
  i.config.policyRouting = false;
  i.config.ipv6 = mode;
  i.tethering = true;
  return i;
}

Desired relayed() {
  const Ipv6Prefix net = P6("2001:db8:1::/64");
  return Desired{
      .upstream = "wwan0",
      .tracked = {{"usb0", IfaceKind::Usb}, {"wlan0", IfaceKind::Wifi}},
      .wanted = {"usb0", "wlan0"},
      .configured = {{"usb0", {.kind = IfaceKind::Usb, .address = P("192.168.42.1/24"), .ipv6 = Ipv6Mode::Relay,
                               .address6 = relayRouterAddress(net, subnetIdFor("usb0"))}},
                     {"wlan0", {.kind = IfaceKind::Wifi, .address = P("192.168.43.1/24"), .ipv6 = Ipv6Mode::Relay,
                                .address6 = relayRouterAddress(net, subnetIdFor("wlan0"))}}},
      .firewall = FirewallState{.downstreams = {"usb0", "wlan0"}, .pairs = {{"usb0", "wwan0"}, {"wlan0", "wwan0"}}, .ipv6 = true},
      .dns = std::vector<Ipv4Address>{A("10.0.2.1")},
      .ipfwdRequesters = {"tethering"},
      .sysctls = {{"net/ipv6/conf/all/forwarding", "1"},
                  {"net/ipv6/conf/usb0/accept_dad", "0"},
                  {"net/ipv6/conf/wlan0/accept_dad", "0"},
                  {"net/ipv6/conf/wwan0/accept_ra", "2"},
                  {"net/ipv6/conf/wwan0/proxy_ndp", "1"}},
      .relay = RelayState{.upstream = "wwan0",
                          .prefix = net,
                          .downstreams = {"usb0", "wlan0"},
                          .hosts = {{"usb0", A6("2001:db8:1::a1")}, {"usb0", A6("2001:db8:1::a2")}, {"wlan0", A6("2001:db8:1::b1")}}}};
}

std::string show(const Desired& d) {
  std::string s = "upstream " + d.upstream.value_or("-") + "\n";
  for (const auto& [n, p] : d.configured)
    s += "configured " + n + " " + ipv6ModeName(p.ipv6) + " " + (p.address6 ? p.address6->str() : "-") + "\n";
  for (const auto& [k, v] : d.sysctls) s += "sysctl " + k + "=" + v + "\n";
  s += "relay " + d.relay.upstream + " " + (d.relay.prefix ? d.relay.prefix->str() : "-") + "\n";
  for (const auto& n : d.relay.downstreams) s += "relay.downstream " + n + "\n";
  for (const auto& h : d.relay.hosts) s += "relay.host " + h.downstream + " " + h.address.str() + "\n";
  if (d.firewall) s += std::string("firewall ipv6=") + (d.firewall->ipv6 ? "1" : "0") + " nat66=" + std::to_string(d.firewall->nat66.size()) + "\n";
  return s;
}

}  // namespace

TEST(RelayPlan, TheUpstreamsSlaacSlashSixtyFourWithAnIpv6DefaultRoute) {
  Facts f = mobile();
  EXPECT_EQ(relayPrefix(f.kernel, "wwan0"), P6("2001:db8:1::/64"));
  EXPECT_EQ(relayPrefix(f.kernel, "usb0"), std::nullopt);
  Facts noRoute = f;
  noRoute.kernel.routes6.clear();  // no RA default route: nothing to relay
  EXPECT_EQ(relayPrefix(noRoute.kernel, "wwan0"), std::nullopt);
  // ... unless that /64 is relayed already: a flap of the default route keeps it.
  EXPECT_EQ(relayPrefix(noRoute.kernel, "wwan0", P6("2001:db8:1::/64")), P6("2001:db8:1::/64"));
  EXPECT_EQ(relayPrefix(noRoute.kernel, "wwan0", P6("2001:db8:2::/64")), std::nullopt);
  Facts held = noRoute;
  held.relaying = P6("2001:db8:1::/64");
  EXPECT_EQ(ipv6Mode(held, tethering(Ipv6Mode::Auto)), Ipv6Mode::Relay);
  Facts staticOnly = f;  // a configured (permanent) /64 is not learnt from RAs
  staticOnly.kernel.addrs6[0].flags = IFA_F_PERMANENT;
  EXPECT_EQ(relayPrefix(staticOnly.kernel, "wwan0"), std::nullopt);
  Facts deprecated = f;
  deprecated.kernel.addrs6[0].flags = IFA_F_DEPRECATED;
  EXPECT_EQ(relayPrefix(deprecated.kernel, "wwan0"), std::nullopt);
  Facts tentative = f;  // still in DAD: it counts (no nat66 for a second at boot); failed DAD does not
  tentative.kernel.addrs6[0].flags = IFA_F_TENTATIVE;
  EXPECT_EQ(relayPrefix(tentative.kernel, "wwan0"), P6("2001:db8:1::/64"));
  tentative.kernel.addrs6[0].flags = IFA_F_TENTATIVE | IFA_F_DADFAILED;
  EXPECT_EQ(relayPrefix(tentative.kernel, "wwan0"), std::nullopt);
  Facts ula = f;  // a ULA /64 is no way out
  ula.kernel.addrs6[0].prefix = P6("fd00:1::5/64");
  EXPECT_EQ(relayPrefix(ula.kernel, "wwan0"), std::nullopt);
  EXPECT_EQ(relayRouterAddress(P6("2001:db8:1::/64"), 0x1234).str(), "2001:db8:1::ffff:1234/64");
}

TEST(RelayPlan, AutoChoosesPdThenRelayThenNat66) {
  Facts f = mobile();
  EXPECT_EQ(ipv6Mode(f, tethering(Ipv6Mode::Auto)), Ipv6Mode::Relay);
  EXPECT_EQ(ipv6Mode(f, tethering(Ipv6Mode::Relay)), Ipv6Mode::Relay);
  EXPECT_EQ(ipv6Mode(f, tethering(Ipv6Mode::Nat66)), Ipv6Mode::Nat66);
  Facts pd = f;
  pd.delegated = pdLease(DelegatedPrefix{P6("2001:db8:100::/60"), 40, 60}, PdLease::Clock::time_point{});
  EXPECT_EQ(ipv6Mode(pd, tethering(Ipv6Mode::Auto)), Ipv6Mode::Pd);
  EXPECT_EQ(ipv6Mode(pd, tethering(Ipv6Mode::Relay)), Ipv6Mode::Relay);
  Facts none = f;
  none.kernel.routes6.clear();
  EXPECT_EQ(ipv6Mode(none, tethering(Ipv6Mode::Auto)), Ipv6Mode::Nat66);
  EXPECT_EQ(ipv6Mode(none, tethering(Ipv6Mode::Relay)), Ipv6Mode::Off);
}

TEST(RelayPlan, AutoRelaysTheSlashSixtyFourToEveryDownstream) {
  const Desired want = relayed();
  const Desired got = plan(mobile(), tethering(Ipv6Mode::Auto));
  EXPECT_TRUE(got == want) << "want:\n" << show(want) << "got:\n" << show(got);
  EXPECT_TRUE(plan(mobile(), tethering(Ipv6Mode::Relay)) == want);
  EXPECT_EQ(want.configured.at("usb0").address6->address.bytes[12], 0xff);
}

TEST(RelayPlan, NothingIsRelayedWhileNotForwardingOrWhenTheUpstreamLosesItsRoute) {
  Facts f = mobile();
  f.stages["wlan0"] = Stage::Configured;  // wlan0 configured, not forwarding: its address, no hosts
  Desired got = plan(f, tethering(Ipv6Mode::Relay));
  EXPECT_EQ(got.configured.at("wlan0").ipv6, Ipv6Mode::Relay);
  EXPECT_EQ(got.relay.downstreams, std::set<std::string>{"usb0"});
  EXPECT_EQ(got.relay.hosts.size(), 2u) << show(got);

  Facts noFwd = mobile();
  noFwd.ipForwarding = false;
  got = plan(noFwd, tethering(Ipv6Mode::Relay));
  EXPECT_TRUE(got.relay == RelayState{}) << show(got);
  EXPECT_EQ(got.sysctls.count("net/ipv6/conf/wwan0/proxy_ndp"), 0u);

  Facts lost = mobile();
  lost.kernel.routes6.clear();
  got = plan(lost, tethering(Ipv6Mode::Auto));  // auto falls back to nat66: no relay left
  EXPECT_TRUE(got.relay == RelayState{}) << show(got);
  EXPECT_EQ(got.configured.at("usb0").ipv6, Ipv6Mode::Nat66);
  EXPECT_EQ(got.sysctls.count("net/ipv6/conf/wwan0/proxy_ndp"), 0u);

  Intent stopping = tethering(Ipv6Mode::Relay);
  stopping.stopping = true;
  EXPECT_TRUE(plan(mobile(), stopping) == Desired{});
}

TEST(RelayPlan, AnAddressSeenOnTwoDownstreamsIsRelayedToOneAndTheRoutersOwnNever) {
  Facts f = mobile();
  const auto usb0Own = relayRouterAddress(P6("2001:db8:1::/64"), subnetIdFor("usb0")).address;
  f.clientAddrs6["wlan0"]["02:00:00:00:00:03"] = {A6("2001:db8:1::a1"), usb0Own};
  Desired got = plan(f, tethering(Ipv6Mode::Relay));
  EXPECT_EQ(got.relay.hosts, (std::set<RelayHost>{{"usb0", A6("2001:db8:1::a1")}, {"usb0", A6("2001:db8:1::a2")},
                                                  {"wlan0", A6("2001:db8:1::b1")}}));
}

TEST(RelayDnsmasq, TheUpstreamsSlashSixtyFourAnnouncedOffLinkAndStateless) {
  DnsmasqDownstream d{"wlan0", P("192.168.43.0/24"), A("192.168.43.1")};
  auto v4 = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(v4);
  d.address6 = P6("2001:db8:1::ffff:1234/64");
  d.offLink = true;
  d.dhcp6Stateful = true;  // ignored: no DHCPv6 addresses of the upstream's link
  auto argv = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(argv) << argv.error().message;
  std::vector<std::string> expected = *v4;
  expected.push_back("--enable-ra");
  expected.push_back("--dhcp-range=set:wlan0,::,constructor:wlan0,ra-stateless,off-link,64,1h");
  expected.push_back("--dhcp-option=tag:wlan0,option6:dns-server,[::]");
  expected.push_back("--dhcp-option=tag:wlan0,option6:domain-search,lan");
  EXPECT_EQ(*argv, expected);
}

namespace {

class FakeRelay : public NdpRelay {
 public:
  std::vector<std::string> ops;
  std::set<std::string> failing;  // "route <addr>" / "proxy <addr>": adding it fails
  Status addAddress(const std::string& i, const Ipv6Prefix& p) override { return op("addr " + i + " " + p.str()); }
  Status addRoute(const std::string& i, const Ipv6Address& a) override {
    if (failing.count("route " + a.str())) return makeError(Errc::IfaceCfgError, "add route " + a.str() + "/128 on " + i + ": No such device");
    return op("route+ " + i + " " + a.str());
  }
  Status removeRoute(const std::string& i, const Ipv6Address& a) override { return op("route- " + i + " " + a.str()); }
  Status addProxy(const std::string& i, const Ipv6Address& a) override {
    if (failing.count("proxy " + a.str())) return makeError(Errc::IfaceCfgError, "add proxy neighbour " + a.str() + " on " + i + ": Invalid argument");
    return op("proxy+ " + i + " " + a.str());
  }
  Status removeProxy(const std::string& i, const Ipv6Address& a) override { return op("proxy- " + i + " " + a.str()); }
  Status resolve(const std::string& i, const Ipv6Address& a) override { return op("resolve " + i + " " + a.str()); }

 private:
  Status op(std::string s) {
    ops.push_back(std::move(s));
    return {};
  }
};

std::string tempDir() {
  char tmpl[] = "/tmp/relay6_test_XXXXXX";
  return ::mkdtemp(tmpl);
}

}  // namespace

// A blocked client's addresses are neither routed back nor proxied: the upstream router is not
// answered for them (the firewall's drop alone would leave the appliance claiming them). Its
// block lifted, the next plan relays them again; other clients are untouched meanwhile.
TEST(RelayPlan, ABlockedClientsAddressesAreNotProxiedUntilItIsUnblocked) {
  Intent i = tethering(Ipv6Mode::Relay);
  i.blocked = {"02:00:00:00:00:01"};
  const Desired blocked = plan(mobile(), i);
  EXPECT_EQ(blocked.relay.hosts, (std::set<RelayHost>{{"wlan0", A6("2001:db8:1::b1")}})) << show(blocked);
  EXPECT_EQ(blocked.relay.downstreams, (std::set<std::string>{"usb0", "wlan0"}));
  EXPECT_EQ(blocked.configured.at("usb0").ipv6, Ipv6Mode::Relay) << "usb0 still relays (its other clients)";
  ASSERT_TRUE(blocked.firewall);
  EXPECT_EQ(blocked.firewall->blockedMacs, i.blocked);

  // Through the applier: the block takes the proxy entries and routes away at once, the
  // unblock puts them back.
  FakeRelay port;
  RelayApplier applier(&port, "");
  const Desired open = plan(mobile(), tethering(Ipv6Mode::Relay));
  ASSERT_TRUE(applier.apply(open.relay));
  port.ops.clear();
  ASSERT_TRUE(applier.apply(blocked.relay));
  EXPECT_EQ(port.ops, (std::vector<std::string>{"proxy- wwan0 2001:db8:1::a1", "route- usb0 2001:db8:1::a1",
                                                 "proxy- wwan0 2001:db8:1::a2", "route- usb0 2001:db8:1::a2"}));
  port.ops.clear();
  ASSERT_TRUE(applier.apply(plan(mobile(), tethering(Ipv6Mode::Relay)).relay));
  EXPECT_EQ(port.ops, (std::vector<std::string>{"route+ usb0 2001:db8:1::a1", "proxy+ wwan0 2001:db8:1::a1",
                                                 "route+ usb0 2001:db8:1::a2", "proxy+ wwan0 2001:db8:1::a2"}));
  EXPECT_TRUE(applier.applied() == open.relay);
}

TEST(RelayApplier, RoutesFirstThenProxiesOnlyTheDifferenceRecordedForACrash) {
  const std::string dir = tempDir(), record = dir + "/relay-hosts";
  FakeRelay port;
  RelayApplier applier(&port, record);
  RelayState want = relayed().relay;
  ASSERT_TRUE(applier.apply(want));
  EXPECT_EQ(port.ops, (std::vector<std::string>{"route+ usb0 2001:db8:1::a1", "proxy+ wwan0 2001:db8:1::a1",
                                                 "route+ usb0 2001:db8:1::a2", "proxy+ wwan0 2001:db8:1::a2",
                                                 "route+ wlan0 2001:db8:1::b1", "proxy+ wwan0 2001:db8:1::b1"}));
  EXPECT_EQ(*readFile(record, 4096), "usb0 wwan0 2001:db8:1::a1\nusb0 wwan0 2001:db8:1::a2\nwlan0 wwan0 2001:db8:1::b1\n");
  EXPECT_TRUE(applier.applied() == want);
  port.ops.clear();
  ASSERT_TRUE(applier.apply(want));  // the same: nothing
  EXPECT_TRUE(port.ops.empty());

  // One address gone (proxy first, then its route), one new.
  want.hosts.erase({"usb0", A6("2001:db8:1::a2")});
  want.hosts.insert({"wlan0", A6("2001:db8:1::b2")});
  ASSERT_TRUE(applier.apply(want));
  EXPECT_EQ(port.ops, (std::vector<std::string>{"proxy- wwan0 2001:db8:1::a2", "route- usb0 2001:db8:1::a2",
                                                 "route+ wlan0 2001:db8:1::b2", "proxy+ wwan0 2001:db8:1::b2"}));

  // A failed proxy entry takes its route back and is tried again at the next apply.
  port.ops.clear();
  port.failing = {"proxy 2001:db8:1::c1"};
  want.hosts.insert({"wlan0", A6("2001:db8:1::c1")});
  auto st = applier.apply(want);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "add proxy neighbour 2001:db8:1::c1 on wwan0: Invalid argument");
  EXPECT_EQ(port.ops, (std::vector<std::string>{"route+ wlan0 2001:db8:1::c1", "route- wlan0 2001:db8:1::c1"}));
  EXPECT_FALSE(applier.applied() == want);
  port.failing.clear();
  port.ops.clear();
  ASSERT_TRUE(applier.apply(want));
  EXPECT_EQ(port.ops, (std::vector<std::string>{"route+ wlan0 2001:db8:1::c1", "proxy+ wwan0 2001:db8:1::c1"}));

  // A crash: the next run's applier removes what the record names, and the record.
  RelayApplier next(&port, record);
  port.ops.clear();
  next.reset();
  EXPECT_EQ(port.ops, (std::vector<std::string>{"proxy- wwan0 2001:db8:1::a1", "route- usb0 2001:db8:1::a1",
                                                 "proxy- wwan0 2001:db8:1::b1", "route- wlan0 2001:db8:1::b1",
                                                 "proxy- wwan0 2001:db8:1::b2", "route- wlan0 2001:db8:1::b2",
                                                 "proxy- wwan0 2001:db8:1::c1", "route- wlan0 2001:db8:1::c1"}));
  EXPECT_FALSE(std::filesystem::exists(record));

  // Stop: nothing wanted, everything goes, no record left.
  port.ops.clear();
  ASSERT_TRUE(applier.apply(RelayState{}));
  EXPECT_EQ(port.ops.size(), 8u);
  EXPECT_TRUE(applier.applied() == RelayState{});
  EXPECT_FALSE(std::filesystem::exists(record));
  std::filesystem::remove_all(dir);
}

TEST(RelayApplier, AMovedUpstreamTakesEveryEntryOffTheOldOneFirst) {
  FakeRelay port;
  RelayApplier applier(&port, "");
  RelayState want{.upstream = "wwan0", .prefix = P6("2001:db8:1::/64"), .downstreams = {"usb0"}, .hosts = {{"usb0", A6("2001:db8:1::a1")}}};
  ASSERT_TRUE(applier.apply(want));
  port.ops.clear();
  want.upstream = "eth0";
  ASSERT_TRUE(applier.apply(want));
  EXPECT_EQ(port.ops, (std::vector<std::string>{"proxy- wwan0 2001:db8:1::a1", "route- usb0 2001:db8:1::a1",
                                                 "route+ usb0 2001:db8:1::a1", "proxy+ eth0 2001:db8:1::a1"}));
}

// The requests, byte for byte: header (length, type, flags; seq and pid 0), the fixed part,
// the attributes.
TEST(RelayNetlink, RequestsAreExactly) {
  auto hex = [](const std::vector<uint8_t>& b) {
    std::string s;
    for (auto c : b) s += "0123456789abcdef"[c >> 4], s += "0123456789abcdef"[c & 15];
    return s;
  };
  const auto a = A6("2001:db8:1::a1");
  // RTM_NEWROUTE(24) NLM_F_REQUEST|ACK|EXCL|CREATE (0x605); rtmsg: AF_INET6, dst 128, src 0,
  // tos 0, main table 254, RTPROT_STATIC 4, scope universe 0, unicast 1, flags 0; RTA_DST,
  // RTA_OIF 5, RTA_PRIORITY 1024.
  EXPECT_EQ(hex(relaynl::routeRequest(true, 5, a)),
            "40000000" "1800" "0506" "00000000" "00000000"
            "0a800000" "fe040001" "00000000"
            "14000100" "20010db80001000000000000000000a1"
            "08000400" "05000000"
            "08000600" "00040000");
  // RTM_DELROUTE(25), NLM_F_REQUEST|ACK (5).
  EXPECT_EQ(hex(relaynl::routeRequest(false, 5, a)).substr(0, 16), "4000000019000500");
  // RTM_NEWNEIGH(28) REQUEST|ACK|REPLACE|CREATE (0x505); ndmsg: AF_INET6, pad, ifindex 3,
  // state NUD_PERMANENT (0x80), flags NTF_PROXY (8), type 0; NDA_DST.
  EXPECT_EQ(hex(relaynl::proxyRequest(true, 3, a)),
            "30000000" "1c00" "0505" "00000000" "00000000"
            "0a000000" "03000000" "8000" "08" "00"
            "14000100" "20010db80001000000000000000000a1");
  EXPECT_EQ(hex(relaynl::proxyRequest(false, 3, a)).substr(0, 16), "300000001d000500");
  // NTF_USE (1), state NUD_NONE.
  EXPECT_EQ(hex(relaynl::resolveRequest(4, a)),
            "30000000" "1c00" "0505" "00000000" "00000000"
            "0a000000" "04000000" "0000" "01" "00"
            "14000100" "20010db80001000000000000000000a1");
  // RTM_NEWADDR(20); ifaddrmsg: AF_INET6, /64, IFA_F_NODAD (2), scope 0, index 4; IFA_LOCAL,
  // IFA_ADDRESS, IFA_FLAGS NODAD|NOPREFIXROUTE (0x202).
  EXPECT_EQ(hex(relaynl::addressRequest(4, P6("2001:db8:1::ffff:1/64"))),
            "48000000" "1400" "0505" "00000000" "00000000"
            "0a400200" "04000000"
            "14000200" "20010db80001000000000000ffff0001"
            "14000100" "20010db80001000000000000ffff0001"
            "08000800" "02020000");
}

TEST(RelayNsWatch, ParsesASolicitationsTargetAndNothingElse) {
  std::vector<uint8_t> ns(64, 0);
  ns[0] = 0x60;
  ns[6] = 58;
  ns[7] = 255;
  ns[40] = 135;
  const auto target = A6("2001:db8:1::a1");
  std::copy(target.bytes.begin(), target.bytes.end(), ns.begin() + 48);
  EXPECT_EQ(solicitedTarget(ns.data(), ns.size()), target);
  EXPECT_EQ(solicitedTarget(ns.data(), 63), std::nullopt);  // short
  auto other = ns;
  other[40] = 136;  // an advertisement
  EXPECT_EQ(solicitedTarget(other.data(), other.size()), std::nullopt);
  other = ns;
  other[7] = 64;  // not from the link
  EXPECT_EQ(solicitedTarget(other.data(), other.size()), std::nullopt);
  other = ns;
  other[6] = 0;  // an extension header first
  EXPECT_EQ(solicitedTarget(other.data(), other.size()), std::nullopt);
}

TEST(RelayNsWatch, TheKernelFilterPassesOnlySolicitationsForTheSlashSixtyFour) {
  auto f = nsFilter(P6("2001:db8:1::/64"));
  ASSERT_EQ(f.size(), 14u);
  // Each test's false branch lands on the last instruction (drop); the one before passes 64 bytes.
  for (size_t i : {1u, 3u, 5u, 7u, 9u, 11u}) EXPECT_EQ(i + 1 + f[i].jf, 13u) << i;
  EXPECT_EQ(f[1].k, 0x86ddu);  // the packet's EtherType (the socket sees every protocol)
  EXPECT_EQ(f[3].k, 58u);
  EXPECT_EQ(f[5].k, 255u);
  EXPECT_EQ(f[7].k, 135u << 8);
  EXPECT_EQ(f[9].k, 0x20010db8u);
  EXPECT_EQ(f[11].k, 0x00010000u);
  EXPECT_EQ(f[12].k, 64u);
  EXPECT_EQ(f[13].k, 0u);
}

// auto follows the upstream's /64: a new or removed global IPv6 address is an Addrs6Changed
// event (the manager re-plans); the same address again (a lifetime refresh at every RA) is not.
TEST(RelayKernelView, AGlobalIpv6AddressComingOrGoingIsAnEventARefreshIsNot) {
  KernelView view;
  view.links[3] = {3, "wwan0", true, true};
  auto msg = relaynl::addressRequest(3, P6("2001:db8:1::5/64"));
  auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
  std::vector<NetEvent> events;
  rtnl::translateEvent(h, view, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, NetEvent::Type::Addrs6Changed);
  ASSERT_EQ(view.addrs6.size(), 1u);
  EXPECT_EQ(view.addrs6[0].ifname, "wwan0");
  EXPECT_EQ(view.addrs6[0].flags, uint32_t{IFA_F_NODAD | IFA_F_NOPREFIXROUTE});  // IFA_FLAGS: not permanent
  events.clear();
  rtnl::translateEvent(h, view, events);
  EXPECT_TRUE(events.empty());
  h->nlmsg_type = RTM_DELADDR;
  rtnl::translateEvent(h, view, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(view.addrs6.empty());
  events.clear();
  rtnl::translateEvent(h, view, events);  // gone already: nothing
  EXPECT_TRUE(events.empty());
}
