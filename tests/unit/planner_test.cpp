// The planner, scenario by scenario (issue 11's acceptance): plain Facts and Intent values in,
// the WHOLE Desired out, compared with == against a literal. No mocks, no I/O: a scenario is
// a row of the table at the bottom. A failure prints the lines in which the two differ.
#include "tether/core/planner.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

// The literals below name only the fields that are set; every other field is its default (empty,
// nullopt), which is what the comparison with == then checks. GCC 12 would flag each omission.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace tetherd;

namespace {

Ipv4Prefix P(const char* s) { return *Ipv4Prefix::parse(s); }
Ipv4Address A(const char* s) { return *Ipv4Address::parse(s); }
using Servers = std::vector<Ipv4Address>;

// ---------------------------------------------------------------------------- the world

// Interface indexes, the same in every scenario.
constexpr int kLo = 1, kEth0 = 2, kWwan0 = 3, kUsb0 = 4, kWlan0 = 5, kLan0 = 6, kPpp0 = 7;

void addLink(Facts& f, int index, const char* name, bool up = true) { f.kernel.links[index] = {index, name, up, up}; }
void addAddr(Facts& f, int index, const char* name, const char* prefix) { f.kernel.addrs.push_back({index, name, P(prefix)}); }
void removeAddr(Facts& f, const char* prefix) { std::erase_if(f.kernel.addrs, [&](const AddrInfo& a) { return a.prefix == P(prefix); }); }
void removeLink(Facts& f, int index) {
  f.kernel.links.erase(index);
  std::erase_if(f.kernel.addrs, [&](const AddrInfo& a) { return a.index == index; });
  std::erase_if(f.kernel.routes, [&](const DefaultRoute& r) { return r.index == index; });
}
void removeRoute(Facts& f, int index) { std::erase_if(f.kernel.routes, [&](const DefaultRoute& r) { return r.index == index; }); }

// Two upstream candidates, both usable: eth0 (first in priority) and wwan0, each with an
// address, a default route and DNS servers (as resolv.conf or the config would give them).
Facts upstreamsOnly() {
  Facts f;
  addLink(f, kLo, "lo");
  addLink(f, kEth0, "eth0");
  addLink(f, kWwan0, "wwan0");
  addAddr(f, kLo, "lo", "127.0.0.1/8");
  addAddr(f, kEth0, "eth0", "10.0.1.2/24");
  addAddr(f, kWwan0, "wwan0", "10.0.2.2/24");
  f.kernel.routes = {{kEth0, "eth0", A("10.0.1.254"), 100}, {kWwan0, "wwan0", A("10.0.2.254"), 200}};
  f.upstreamDns = {{"eth0", {A("10.0.1.1")}}, {"wwan0", {A("10.0.2.1")}}};
  return f;
}

// The master is TetherModeAlive: it has asked for the chains, the DNS forwarders and IP forwarding.
Facts alive(Facts f) {
  f.chains = f.dns = f.ipForwarding = true;
  return f;
}

// A downstream whose machine has reached `stage`, with the address the applier put on it.
void served(Facts& f, int index, const char* name, Stage stage, const char* address) {
  f.stages[name] = stage;
  f.assigned[name] = P(address);
  addAddr(f, index, name, address);
}

// usb0 forwarding through eth0, as after tethering converged.
Facts usb0Tethered() {
  Facts f = alive(upstreamsOnly());
  addLink(f, kUsb0, "usb0");
  served(f, kUsb0, "usb0", Stage::Forwarding, "192.168.42.1/24");
  return f;
}

Intent idle() {
  Intent i;
  i.config = defaultConfig();
  i.config.upstreamPriority = i.priority = {"eth0", "wwan0"};
  i.config.policyRouting = false;  // the tables and rules: upstream_routing_test.cpp
  return i;
}

Intent tethering() {
  Intent i = idle();
  i.tethering = true;
  return i;
}

// ---------------------------------------------------------------------------- readable diff

std::vector<std::string> lines(const Desired& d) {
  std::vector<std::string> out;
  out.push_back("upstream " + d.upstream.value_or("(none)"));
  for (const auto& [n, k] : d.tracked) out.push_back("tracked " + n + " " + ifaceKindName(k));
  for (const auto& n : d.wanted) out.push_back("wanted " + n);
  for (const auto& [n, p] : d.configured)
    out.push_back("configured " + n + " " + p.address.str() + " " + ifaceKindName(p.kind) + (p.accessPoint ? " ap" : "") +
                  " ipv6 " + ipv6ModeName(p.ipv6) + (p.address6 ? " " + p.address6->str() : ""));
  for (const auto& n : d.noSubnet) out.push_back("noSubnet " + n);
  if (!d.firewall) {
    out.push_back("firewall (none)");
  } else {
    const FirewallState& fw = *d.firewall;
    out.push_back("firewall present");
    for (const auto& n : fw.downstreams) out.push_back("firewall.downstream " + n);
    for (const auto& p : fw.pairs) out.push_back("firewall.pair " + p.downstream + ">" + p.upstream);
    for (auto port : fw.adminPorts) out.push_back("firewall.adminPort " + std::to_string(port));
    for (const auto& n : fw.upstreams) out.push_back("firewall.upstream " + n);
    for (const auto& m : fw.blockedMacs) out.push_back("firewall.blockedMac " + m);
    for (const auto& n : fw.blockOn) out.push_back("firewall.blockOn " + n);
    if (fw.ipv6) out.push_back("firewall.ipv6");
    for (const auto& n : fw.nat66) out.push_back("firewall.nat66 " + n);
  }
  if (!d.dns) {
    out.push_back("dns (left alone)");
  } else {
    std::string s = "dns [";
    for (const auto& a : *d.dns) s += " " + a.str();
    out.push_back(s + " ]");
  }
  for (const auto& a : d.dns6) out.push_back("dns6 " + a.str());
  for (const auto& r : d.ipfwdRequesters) out.push_back("ipfwd " + r);
  for (const auto& [k, v] : d.sysctls) out.push_back("sysctl " + k + "=" + v);
  for (const auto& [n, k] : d.pdSubnets) out.push_back("pdSubnet " + n + " " + std::to_string(k));
  for (const auto& n : d.pdLeft) out.push_back("pdLeft " + n);
  return out;
}

// "- " the expected line missing, "+ " the line planned instead.
std::string diff(const Desired& want, const Desired& got) {
  auto w = lines(want), g = lines(got);
  std::string out;
  for (const auto& l : w)
    if (std::find(g.begin(), g.end(), l) == g.end()) out += "\n  - " + l;
  for (const auto& l : g)
    if (std::find(w.begin(), w.end(), l) == w.end()) out += "\n  + " + l;
  if (out.empty()) {  // same lines, other order: show both whole
    out += "\n  want:";
    for (const auto& l : w) out += "\n    " + l;
    out += "\n  got:";
    for (const auto& l : g) out += "\n    " + l;
  }
  return out;
}

// ---------------------------------------------------------------------------- the table

struct Scenario {
  std::string name;
  Facts facts;
  Intent intent;
  Desired want;
};

std::ostream& operator<<(std::ostream& os, const Scenario& s) { return os << s.name; }

const FirewallState kNoRules{};  // tetherd's chains set up, with nothing in them

std::vector<Scenario> usb0Appears() {
  std::vector<Scenario> rows;
  Facts f = upstreamsOnly();
  addLink(f, kUsb0, "usb0");
  rows.push_back({"Usb0Appears_0_TetheringOff_TrackedNotWanted", f, idle(),
                  Desired{.upstream = "eth0", .tracked = {{"usb0", IfaceKind::Usb}}}});

  f = alive(upstreamsOnly());
  rows.push_back({"Usb0Appears_1_TetheringOnNoUsb0Yet", f, tethering(),
                  Desired{.upstream = "eth0",
                          .firewall = kNoRules,
                          .dns = Servers{A("10.0.1.1")},
                          .ipfwdRequesters = {"tethering"}}});

  addLink(f, kUsb0, "usb0");
  rows.push_back({"Usb0Appears_2_TrackedAndWanted", f, tethering(),
                  Desired{.upstream = "eth0",
                          .tracked = {{"usb0", IfaceKind::Usb}},
                          .wanted = {"usb0"},
                          .firewall = kNoRules,
                          .dns = Servers{A("10.0.1.1")},
                          .ipfwdRequesters = {"tethering"}}});

  f.stages["usb0"] = Stage::Configured;
  rows.push_back({"Usb0Appears_3_ConfiguredGetsItsKindsSubnet", f, tethering(),
                  Desired{.upstream = "eth0",
                          .tracked = {{"usb0", IfaceKind::Usb}},
                          .wanted = {"usb0"},
                          .configured = {{"usb0", {.kind = IfaceKind::Usb, .address = P("192.168.42.1/24")}}},
                          .firewall = kNoRules,
                          .dns = Servers{A("10.0.1.1")},
                          .ipfwdRequesters = {"tethering"}}});

  served(f, kUsb0, "usb0", Stage::Forwarding, "192.168.42.1/24");
  rows.push_back({"Usb0Appears_4_ForwardingGetsItsPair", f, tethering(),
                  Desired{.upstream = "eth0",
                          .tracked = {{"usb0", IfaceKind::Usb}},
                          .wanted = {"usb0"},
                          .configured = {{"usb0", {.kind = IfaceKind::Usb, .address = P("192.168.42.1/24")}}},
                          .firewall = FirewallState{.downstreams = {"usb0"}, .pairs = {{"usb0", "eth0"}}},
                          .dns = Servers{A("10.0.1.1")},
                          .ipfwdRequesters = {"tethering"}}});
  return rows;
}

// usb0 tethered, the upstream `up` (nullopt: none) with these servers.
Desired usb0Through(std::optional<std::string> up, Servers dns) {
  FirewallState fw{.downstreams = {"usb0"}};
  if (up) fw.pairs = {{"usb0", *up}};
  return Desired{.upstream = up,
                 .tracked = {{"usb0", IfaceKind::Usb}},
                 .wanted = {"usb0"},
                 .configured = {{"usb0", {.kind = IfaceKind::Usb, .address = P("192.168.42.1/24")}}},
                 .firewall = fw,
                 .dns = dns,
                 .ipfwdRequesters = {"tethering"}};
}

std::vector<Scenario> failover() {
  std::vector<Scenario> rows;
  Facts f = usb0Tethered();
  f.kernel.links[kEth0].lowerUp = false;
  rows.push_back({"Failover_Eth0LosesCarrier", f, tethering(), usb0Through("wwan0", {A("10.0.2.1")})});

  f = usb0Tethered();
  removeRoute(f, kEth0);
  rows.push_back({"Failover_Eth0LosesItsDefaultRoute", f, tethering(), usb0Through("wwan0", {A("10.0.2.1")})});

  f = usb0Tethered();
  f.upstreamDns.erase("eth0");
  rows.push_back({"Failover_Eth0WithoutDnsServers", f, tethering(), usb0Through("wwan0", {A("10.0.2.1")})});

  removeRoute(f, kWwan0);
  rows.push_back({"Failover_NoUpstreamLeft_Usb0StaysIsolated", f, tethering(), usb0Through(std::nullopt, {})});

  f = usb0Tethered();
  Intent i = tethering();
  i.config.upstreamDns["eth0"] = {A("10.9.9.9")};  // [upstream.eth0] dns beats resolv.conf
  rows.push_back({"Failover_ConfiguredDnsOfTheUpstreamWins", f, i, usb0Through("eth0", {A("10.9.9.9")})});
  return rows;
}

std::vector<Scenario> subnetConflict() {
  std::vector<Scenario> rows;
  Facts f = usb0Tethered();
  addAddr(f, kWwan0, "wwan0", "192.168.42.77/24");  // the modem's network is now usb0's
  // Not 43, 44 or 45: those are the Wi-Fi, Bluetooth and Ethernet kinds' preferred subnets.
  Desired moved = usb0Through("eth0", {A("10.0.1.1")});
  moved.configured["usb0"].address = P("192.168.46.1/24");
  rows.push_back({"SubnetConflict_AppearsLater_Usb0PlacedElsewhere", f, tethering(), moved});

  removeAddr(f, "192.168.42.1/24");
  served(f, kUsb0, "usb0", Stage::Forwarding, "192.168.46.1/24");
  rows.push_back({"SubnetConflict_Moved_StaysPut", f, tethering(), moved});

  removeAddr(f, "192.168.42.77/24");
  rows.push_back({"SubnetConflict_Gone_NoMoveBack", f, tethering(), moved});
  return rows;
}

std::vector<Scenario> blockedClient() {
  std::vector<Scenario> rows;
  Intent i = idle();
  i.blocked = {"02:aa:bb:cc:dd:01"};
  Facts f = upstreamsOnly();
  addLink(f, kUsb0, "usb0");
  rows.push_back({"BlockedClient_NoneServed_NoFirewallAtAll", f, i,
                  Desired{.upstream = "eth0", .tracked = {{"usb0", IfaceKind::Usb}}}});

  i.tethering = true;
  f = alive(f);
  f.stages["usb0"] = Stage::Configured;  // before its DHCP server starts
  rows.push_back({"BlockedClient_DroppedOnAConfiguredDownstream", f, i,
                  Desired{.upstream = "eth0",
                          .tracked = {{"usb0", IfaceKind::Usb}},
                          .wanted = {"usb0"},
                          .configured = {{"usb0", {.kind = IfaceKind::Usb, .address = P("192.168.42.1/24")}}},
                          .firewall = FirewallState{.blockedMacs = {"02:aa:bb:cc:dd:01"}, .blockOn = {"usb0"}},
                          .dns = Servers{A("10.0.1.1")},
                          .ipfwdRequesters = {"tethering"}}});

  f = usb0Tethered();
  addLink(f, kWlan0, "wlan0");
  f.stages["wlan0"] = Stage::Configured;
  rows.push_back({"BlockedClient_DroppedOnEveryConfiguredDownstream", f, i,
                  Desired{.upstream = "eth0",
                          .tracked = {{"usb0", IfaceKind::Usb}, {"wlan0", IfaceKind::Wifi}},
                          .wanted = {"usb0", "wlan0"},
                          .configured = {{"usb0", {.kind = IfaceKind::Usb, .address = P("192.168.42.1/24")}},
                                         {"wlan0", {.kind = IfaceKind::Wifi, .address = P("192.168.43.1/24")}}},
                          .firewall = FirewallState{.downstreams = {"usb0"},
                                                    .pairs = {{"usb0", "eth0"}},
                                                    .blockedMacs = {"02:aa:bb:cc:dd:01"},
                                                    .blockOn = {"usb0", "wlan0"}},
                          .dns = Servers{A("10.0.1.1")},
                          .ipfwdRequesters = {"tethering"}}});
  return rows;
}

std::vector<Scenario> manualNat() {
  std::vector<Scenario> rows;
  Facts f = upstreamsOnly();
  addLink(f, kUsb0, "usb0");
  addLink(f, kLan0, "lan0");  // no kind's pattern: never a downstream of tetherd's
  Intent i = idle();
  i.manualNat = {{"lan0", "eth0"}};
  rows.push_back({"ManualNat_PairWithTetheringOff", f, i,
                  Desired{.upstream = "eth0",
                          .tracked = {{"usb0", IfaceKind::Usb}},
                          .firewall = FirewallState{.pairs = {{"lan0", "eth0"}}}}});

  f = usb0Tethered();
  addLink(f, kLan0, "lan0");
  i = tethering();
  i.manualNat = {{"lan0", "wwan0"}};
  rows.push_back({"ManualNat_PairBesideTethering", f, i,
                  Desired{.upstream = "eth0",
                          .tracked = {{"usb0", IfaceKind::Usb}},
                          .wanted = {"usb0"},
                          .configured = {{"usb0", {.kind = IfaceKind::Usb, .address = P("192.168.42.1/24")}}},
                          .firewall = FirewallState{.downstreams = {"usb0"}, .pairs = {{"lan0", "wwan0"}, {"usb0", "eth0"}}},
                          .dns = Servers{A("10.0.1.1")},
                          .ipfwdRequesters = {"tethering"}}});
  return rows;
}

std::vector<Scenario> twoDownstreams() {
  std::vector<Scenario> rows;
  Facts f = usb0Tethered();
  addLink(f, kWlan0, "wlan0");
  served(f, kWlan0, "wlan0", Stage::Forwarding, "192.168.43.1/24");
  f.accessPoints = {"wlan0"};
  rows.push_back({"TwoDownstreams_BothForwarding", f, tethering(),
                  Desired{.upstream = "eth0",
                          .tracked = {{"usb0", IfaceKind::Usb}, {"wlan0", IfaceKind::Wifi}},
                          .wanted = {"usb0", "wlan0"},
                          .configured = {{"usb0", {.kind = IfaceKind::Usb, .address = P("192.168.42.1/24")}},
                                         {"wlan0", {.kind = IfaceKind::Wifi, .address = P("192.168.43.1/24"), .accessPoint = true}}},
                          .firewall = FirewallState{.downstreams = {"usb0", "wlan0"},
                                                    .pairs = {{"usb0", "eth0"}, {"wlan0", "eth0"}}},
                          .dns = Servers{A("10.0.1.1")},
                          .ipfwdRequesters = {"tethering"}}});

  // Unplugged: its link (and address) gone from the kernel view; its machine and the
  // applier have not caught up yet (stage and assigned address still there).
  removeLink(f, kWlan0);
  rows.push_back({"TwoDownstreams_Wlan0Unplugged_Usb0Keeps", f, tethering(), usb0Through("eth0", {A("10.0.1.1")})});
  return rows;
}

std::vector<Scenario> intentAlone() {
  std::vector<Scenario> rows;
  {
    Facts f = usb0Tethered();
    addLink(f, kLan0, "lan0");
    Intent i = tethering();
    i.stopping = true;
    i.manualNat = {{"lan0", "eth0"}};
    i.adminPorts = {8080};
    i.blocked = {"02:aa:bb:cc:dd:01"};
    i.ipfwdRequesters = {"vpn"};
    i.dnsOverride = {A("9.9.9.9")};
    rows.push_back({"Stopping_NothingOfTetherdsAtAll", f, i, Desired{}});
  }
  {
    Intent i = tethering();
    i.dnsOverride = {A("9.9.9.9"), A("1.1.1.1")};
    rows.push_back({"DnsOverride_InsteadOfTheUpstreams", usb0Tethered(), i, usb0Through("eth0", {A("9.9.9.9"), A("1.1.1.1")})});
    Facts f = upstreamsOnly();  // the master has not asked for the forwarders yet
    rows.push_back({"DnsOverride_NotBeforeTheMasterAsks", f, i, Desired{.upstream = "eth0"}});
  }
  {
    Intent i = idle();
    i.adminPorts = {8080};
    rows.push_back({"AdminPorts_RefusedFromEveryUpstreamCandidate", upstreamsOnly(), i,
                    Desired{.upstream = "eth0", .firewall = FirewallState{.adminPorts = {8080}, .upstreams = {"eth0", "wwan0"}}}});
    Facts f = upstreamsOnly();
    addLink(f, kLan0, "lan0");
    addLink(f, kPpp0, "ppp0");
    i.manualNat = {{"lan0", "ppp0"}};
    rows.push_back({"AdminPorts_AndFromAManualPairsUpstream", f, i,
                    Desired{.upstream = "eth0",
                            .firewall = FirewallState{.pairs = {{"lan0", "ppp0"}},
                                                      .adminPorts = {8080},
                                                      .upstreams = {"eth0", "ppp0", "wwan0"}}}});
  }
  {
    Facts f = alive(upstreamsOnly());
    addLink(f, kUsb0, "usb0");
    addLink(f, kLan0, "lan0");
    for (const char* p : {"192.168.0.1/16", "172.16.0.1/12", "10.0.0.1/8"}) addAddr(f, kLan0, "lan0", p);
    f.stages["usb0"] = Stage::Forwarding;
    rows.push_back({"NoSubnet_EveryPrivateRangeInUse", f, tethering(),
                    Desired{.upstream = "eth0",
                            .tracked = {{"usb0", IfaceKind::Usb}},
                            .wanted = {"usb0"},
                            .noSubnet = {"usb0"},
                            .firewall = kNoRules,
                            .dns = Servers{A("10.0.1.1")},
                            .ipfwdRequesters = {"tethering"}}});
  }
  {
    Intent i = idle();
    i.ipfwdRequesters = {"vpn"};
    rows.push_back({"IpForwarding_ARequesterWithoutTethering", upstreamsOnly(), i,
                    Desired{.upstream = "eth0", .ipfwdRequesters = {"vpn"}}});
    Facts f = upstreamsOnly();
    f.ipForwarding = true;  // the master's own request
    rows.push_back({"IpForwarding_ARequesterAndTethering", f, i,
                    Desired{.upstream = "eth0", .ipfwdRequesters = {"tethering", "vpn"}}});
  }
  {
    Facts f = upstreamsOnly();
    addLink(f, kUsb0, "usb0");
    addLink(f, kLan0, "lan0");
    Intent i = tethering();
    i.requested = {"lan0"};    // `tether interface add lan0`: no kind matches, so Ethernet
    i.unrequested = {"usb0"};  // `tether interface remove usb0`
    rows.push_back({"Requests_AddedOneTetheredRemovedOneNot", f, i,
                    Desired{.upstream = "eth0",
                            .tracked = {{"lan0", IfaceKind::Ethernet}, {"usb0", IfaceKind::Usb}},
                            .wanted = {"lan0"}}});
    i = tethering();
    i.priority = {"eth0", "wwan0", "usb0"};
    rows.push_back({"Requests_AnUpstreamCandidateIsNeverADownstream", f, i, Desired{.upstream = "eth0"}});
  }
  return rows;
}

// IPv6 in nat66 mode (what `auto` is today): each configured downstream gets a /64 of the
// ULA /48 at the subnet ID its name hashes to; the firewall covers IPv6 and masquerades it;
// IPv6 forwarding and accept_ra=2 on the upstream are held while forwarding is.
const char* const kUla48 = "fd12:3456:789a::/48";

std::vector<Scenario> ipv6() {
  std::vector<Scenario> rows;
  Facts f = usb0Tethered();
  f.ula48 = Ipv6Prefix::parse(kUla48);
  Intent i = tethering();
  i.config.ipv6 = Ipv6Mode::Auto;
  Desired want = usb0Through("eth0", {A("10.0.1.1")});
  want.configured["usb0"].ipv6 = Ipv6Mode::Nat66;
  want.configured["usb0"].address6 = Ipv6Prefix::parse("fd12:3456:789a:e0f5::1/64");
  want.firewall->ipv6 = true;
  want.firewall->nat66 = {"eth0"};
  want.sysctls = {{"net/ipv6/conf/all/forwarding", "1"}, {"net/ipv6/conf/eth0/accept_ra", "2"},
                  {"net/ipv6/conf/usb0/accept_dad", "0"}};  // the router answers the first RS
  rows.push_back({"Ipv6_AutoIsNat66_Usb0GetsItsUlaSubnet", f, i, want});

  Facts failed = usb0Tethered();
  failed.kernel.links[kEth0].lowerUp = false;
  failed.ula48 = f.ula48;
  Desired moved = want;
  moved.upstream = "wwan0";
  moved.firewall->pairs = {{"usb0", "wwan0"}};
  moved.firewall->nat66 = {"wwan0"};
  moved.dns = Servers{A("10.0.2.1")};
  moved.sysctls = {{"net/ipv6/conf/all/forwarding", "1"}, {"net/ipv6/conf/wwan0/accept_ra", "2"},
                   {"net/ipv6/conf/usb0/accept_dad", "0"}};
  rows.push_back({"Ipv6_FailoverMovesNat66AndAcceptRa", failed, i, moved});

  Facts withDns6 = f;
  withDns6.upstreamDns6 = {{"eth0", {*Ipv6Address::parse("2001:db8::53")}}, {"wwan0", {*Ipv6Address::parse("2001:db8:2::53")}}};
  Desired dns6 = want;
  dns6.dns6 = {*Ipv6Address::parse("2001:db8::53")};
  rows.push_back({"Ipv6_TheUpstreamsIpv6DnsServersAreForwardedTo", withDns6, i, dns6});

  i.config.ipv6 = Ipv6Mode::Off;
  rows.push_back({"Ipv6_OffByConfig_NothingOfIpv6", f, i, usb0Through("eth0", {A("10.0.1.1")})});
  rows.push_back({"Ipv6_OffByConfig_NoIpv6DnsEither", withDns6, i, usb0Through("eth0", {A("10.0.1.1")})});

  i.config.ipv6 = Ipv6Mode::Nat66;
  f.ula48.reset();  // state_dir/ula-prefix could not be read or made
  rows.push_back({"Ipv6_NoUlaPrefix_NothingOfIpv6", f, i, usb0Through("eth0", {A("10.0.1.1")})});

  // Prefix delegation: auto with a delegated prefix routes a /64 of it to usb0, no nat66.
  Facts pd = usb0Tethered();
  pd.ula48 = Ipv6Prefix::parse(kUla48);
  pd.delegated = pdLease(DelegatedPrefix{*Ipv6Prefix::parse("2001:db8:100::/60"), 40, 60}, PdLease::Clock::time_point{});
  pd.pdSubnets = {{"usb0", 3}, {"wlan0", 0}};
  i.config.ipv6 = Ipv6Mode::Auto;
  Desired routed = want;
  routed.configured["usb0"].ipv6 = Ipv6Mode::Pd;
  routed.configured["usb0"].address6 = Ipv6Prefix::parse("2001:db8:100:3::1/64");
  routed.configured["usb0"].lease6 = pd.delegated;
  routed.firewall->nat66.clear();
  routed.pdSubnets = pd.pdSubnets;
  rows.push_back({"Ipv6_AutoWithADelegation_Usb0GetsItsKeptSubnet_NoNat66", pd, i, routed});

  // A /64 delegation whose only /64 was kept for wlan0 (not tethered now): the reservation
  // gives way to the tethered usb0.
  Facts tooSmall = pd;
  tooSmall.delegated = pdLease(DelegatedPrefix{*Ipv6Prefix::parse("2001:db8:100:7::/64"), 40, 60}, PdLease::Clock::time_point{});
  tooSmall.pdSubnets = {{"wlan0", 0}};
  Desired fallback = routed;
  fallback.configured["usb0"].address6 = Ipv6Prefix::parse("2001:db8:100:7::1/64");
  fallback.configured["usb0"].lease6 = tooSmall.delegated;
  fallback.pdSubnets = {{"usb0", 0}};
  rows.push_back({"Ipv6_ASingleSlashSixtyFourGoesToTheTetheredDownstream", tooSmall, i, fallback});

  // Two downstreams, one /64: usb0 (first by name) is routed, wlan0 falls back to nat66 and is
  // named for the log; the nat66 masquerade is there for it (ULA sources only: fw rules).
  Facts two = pd;
  addLink(two, kWlan0, "wlan0");
  served(two, kWlan0, "wlan0", Stage::Forwarding, "192.168.43.1/24");
  two.delegated = pdLease(DelegatedPrefix{*Ipv6Prefix::parse("2001:db8:100:7::/64"), 40, 60}, PdLease::Clock::time_point{});
  two.pdSubnets = {};
  Desired both{.upstream = "eth0",
               .tracked = {{"usb0", IfaceKind::Usb}, {"wlan0", IfaceKind::Wifi}},
               .wanted = {"usb0", "wlan0"},
               .configured = {{"usb0", {.kind = IfaceKind::Usb, .address = P("192.168.42.1/24"), .ipv6 = Ipv6Mode::Pd,
                                        .address6 = Ipv6Prefix::parse("2001:db8:100:7::1/64"),
                                        .lease6 = two.delegated}},
                              {"wlan0", {.kind = IfaceKind::Wifi, .address = P("192.168.43.1/24"), .ipv6 = Ipv6Mode::Nat66,
                                         .address6 = subnet64Router(*pd.ula48, subnetIdFor("wlan0"))}}},
               .firewall = FirewallState{.downstreams = {"usb0", "wlan0"},
                                         .pairs = {{"usb0", "eth0"}, {"wlan0", "eth0"}},
                                         .ipv6 = true,
                                         .nat66 = {"eth0"}},
               .dns = Servers{A("10.0.1.1")},
               .ipfwdRequesters = {"tethering"},
               .sysctls = {{"net/ipv6/conf/all/forwarding", "1"}, {"net/ipv6/conf/eth0/accept_ra", "2"},
                           {"net/ipv6/conf/usb0/accept_dad", "0"}, {"net/ipv6/conf/wlan0/accept_dad", "0"}},
               .pdSubnets = {{"usb0", 0}},
               .pdLeft = {"wlan0"}};
  rows.push_back({"Ipv6_TooSmallADelegation_TheSecondDownstreamUsesNat66", two, i, both});

  // pd by config: the same routed /64 with a delegation; without one (none yet, or expired)
  // no IPv6 at all (auto would fall back to nat66).
  Intent byPd = i;
  byPd.config.ipv6 = Ipv6Mode::Pd;
  rows.push_back({"Ipv6_PdByConfig_RoutesTheDelegation", pd, byPd, routed});
  Facts lost = pd;
  lost.delegated.reset();
  rows.push_back({"Ipv6_PdByConfigWithoutADelegation_NothingOfIpv6", lost, byPd, usb0Through("eth0", {A("10.0.1.1")})});

  // nat66 by config ignores a delegation.
  i.config.ipv6 = Ipv6Mode::Nat66;
  rows.push_back({"Ipv6_Nat66ByConfig_IgnoresTheDelegation", pd, i, want});
  return rows;
}

std::vector<Scenario> allScenarios() {
  std::vector<Scenario> all;
  for (auto part : {usb0Appears(), failover(), subnetConflict(), blockedClient(), manualNat(), twoDownstreams(), intentAlone(), ipv6()})
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

class PlannerScenario : public ::testing::TestWithParam<Scenario> {};

TEST_P(PlannerScenario, PlansTheWholeDesiredState) {
  const Scenario& s = GetParam();
  Desired got = plan(s.facts, s.intent);
  EXPECT_TRUE(got == s.want) << s.name << ":" << diff(s.want, got);
  // Pure: the same inputs give the same plan.
  EXPECT_TRUE(plan(s.facts, s.intent) == got);
}

INSTANTIATE_TEST_SUITE_P(Planner, PlannerScenario, ::testing::ValuesIn(allScenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& info) { return info.param.name; });

// The diff itself: a wrong expectation names the lines, not "the structs differ".
TEST(PlannerDiff, NamesTheLinesThatDiffer) {
  Desired a{.upstream = "eth0", .dns = Servers{A("10.0.1.1")}};
  Desired b{.upstream = "wwan0", .firewall = kNoRules, .dns = Servers{A("10.0.1.1")}};
  EXPECT_EQ(diff(a, b),
            "\n  - upstream eth0\n  - firewall (none)"
            "\n  + upstream wwan0\n  + firewall present");
}

// Issue 14: the leases' addresses are counted per client on forwarding downstreams only.
TEST(Planner, ClientAddressesAreCountedOnForwardingDownstreamsOnly) {
  Facts f = usb0Tethered();
  auto lease = [](const char* ip) {
    Lease l;
    l.mac = "02:00:00:00:00:01";
    l.ip = *Ipv4Address::parse(ip);
    return l;
  };
  f.clientLeases = {{"usb0", {lease("192.168.42.10"), lease("192.168.42.11")}}, {"wlan0", {lease("192.168.43.10")}}};
  auto d = plan(f, tethering());
  ASSERT_TRUE(d.firewall);
  EXPECT_EQ(d.firewall->clients, (std::map<std::string, std::set<std::string>>{{"usb0", {"192.168.42.10", "192.168.42.11"}}}));
  f.stages["usb0"] = Stage::Configured;  // no longer forwarding: nothing counted
  d = plan(f, tethering());
  EXPECT_TRUE(!d.firewall || d.firewall->clients.empty());
}

// Issue 14: a client with a quota gets today's remaining bytes in the plan (the kernel's
// quota match is recreated with them at each commit); used up: 0 left.
TEST(Planner, QuotaClientsCarryTodaysRemainingBytes) {
  Facts f = usb0Tethered();
  auto lease = [](const char* mac, const char* ip) {
    Lease l;
    l.mac = mac;
    l.ip = *Ipv4Address::parse(ip);
    return l;
  };
  f.clientLeases = {{"usb0", {lease("02:00:00:00:00:01", "192.168.42.10"), lease("02:00:00:00:00:02", "192.168.42.11")}}};
  f.quotaUse.clients = {{"02:00:00:00:00:01", 1'500'000}, {"02:00:00:00:00:02", 9'000'000}};
  f.quotaUse.downstreams = {{"usb0", 2'000'000}};
  Intent i = tethering();
  i.quotas.clients = {{"02:00:00:00:00:01", {5'000'000}}, {"02:00:00:00:00:03", {1'000}}};
  i.quotas.downstreams = {{"usb0", {3'000'000, QuotaPeriod::Month}}, {"usb9", {1'000}}};
  auto d = plan(f, i);
  ASSERT_TRUE(d.firewall);
  EXPECT_EQ(d.firewall->quotaOf, (std::map<std::string, std::string>{{"192.168.42.10", "02:00:00:00:00:01"}}));
  EXPECT_EQ(d.firewall->quotaLeft, (std::map<std::string, uint64_t>{{"02:00:00:00:00:01", 3'500'000}}));
  // A downstream's quota: only a forwarding downstream's.
  EXPECT_EQ(d.firewall->downstreamQuotaLeft, (std::map<std::string, uint64_t>{{"usb0", 1'000'000}}));
  f.quotaUse.clients["02:00:00:00:00:01"] = 6'000'000;
  d = plan(f, i);
  ASSERT_TRUE(d.firewall);
  EXPECT_EQ(d.firewall->quotaLeft, (std::map<std::string, uint64_t>{{"02:00:00:00:00:01", 0}}));
}

// Issue 14 with IPv6: a leased client's IPv6 addresses (the neighbour table's, by MAC) are
// counted with its lease's and held to the same quota; a MAC without a lease there is not.
TEST(Planner, LeasedClientsIpv6AddressesAreCountedAndHeldToTheirQuota) {
  Facts f = usb0Tethered();
  f.ula48 = Ipv6Prefix::parse(kUla48);
  auto lease = [](const char* mac, const char* ip) {
    Lease l;
    l.mac = mac;
    l.ip = *Ipv4Address::parse(ip);
    return l;
  };
  auto a6 = [](const char* a) { return *Ipv6Address::parse(a); };
  f.clientLeases = {{"usb0", {lease("02:00:00:00:00:01", "192.168.42.10"), lease("02:00:00:00:00:02", "192.168.42.11")}}};
  f.clientAddrs6 = {{"usb0",
                     {{"02:00:00:00:00:01", {a6("fd12:3456:789a:e0f5::10"), a6("2001:db8::10")}},
                      {"02:00:00:00:00:09", {a6("fd12:3456:789a:e0f5::99")}}}}};
  f.quotaUse.clients = {{"02:00:00:00:00:01", 1'500'000}};
  Intent i = tethering();
  i.config.ipv6 = Ipv6Mode::Nat66;
  i.quotas.clients = {{"02:00:00:00:00:01", {5'000'000}}};
  auto d = plan(f, i);
  ASSERT_TRUE(d.firewall);
  EXPECT_EQ(d.firewall->clients, (std::map<std::string, std::set<std::string>>{
                                     {"usb0", {"192.168.42.10", "192.168.42.11", "2001:db8::10", "fd12:3456:789a:e0f5::10"}}}));
  EXPECT_EQ(d.firewall->quotaOf, (std::map<std::string, std::string>{{"192.168.42.10", "02:00:00:00:00:01"},
                                                                     {"2001:db8::10", "02:00:00:00:00:01"},
                                                                     {"fd12:3456:789a:e0f5::10", "02:00:00:00:00:01"}}));
  EXPECT_EQ(d.firewall->quotaLeft, (std::map<std::string, uint64_t>{{"02:00:00:00:00:01", 3'500'000}}));
  i.config.ipv6 = Ipv6Mode::Off;  // no IPv6 tables: no IPv6 address either
  d = plan(f, i);
  ASSERT_TRUE(d.firewall);
  EXPECT_EQ(d.firewall->clients.at("usb0"), (std::set<std::string>{"192.168.42.10", "192.168.42.11"}));
}

// Issue 13: an IPv6-only upstream (no IPv4 default, an IPv6 default, address and servers) is
// selected when no candidate has IPv4, and the whole plan follows it: nat66 out of it, the
// downstreams' IPv6 rules into its table, dnsmasq forwarding to its IPv6 servers; no IPv4
// rule into a table it does not have. With IPv6 off it is no use and nothing is selected.
TEST(Planner, AnIpv6OnlyUpstreamIsSelectedWhenNoCandidateHasIpv4) {
  Facts f = usb0Tethered();
  f.ula48 = Ipv6Prefix::parse(kUla48);
  removeRoute(f, kEth0);
  removeRoute(f, kWwan0);
  f.kernel.addrs6 = {{kWwan0, "wwan0", *Ipv6Prefix::parse("2001:db8:2::2/64")}};
  f.kernel.routes6 = {{kWwan0, "wwan0", *Ipv6Address::parse("fe80::1"), 1024}};
  f.upstreamDns6 = {{"wwan0", {*Ipv6Address::parse("2001:db8:ffff::53")}}};
  Intent i = tethering();
  i.config.ipv6 = Ipv6Mode::Nat66;
  i.config.policyRouting = true;
  auto d = plan(f, i);
  ASSERT_EQ(d.upstream, "wwan0");
  ASSERT_TRUE(d.firewall);
  EXPECT_EQ(d.firewall->nat66, (std::set<std::string>{"wwan0"}));
  EXPECT_EQ(d.dns6, f.upstreamDns6["wwan0"]);
  EXPECT_EQ(d.dns, Servers{});
  std::vector<std::string> rules;
  for (const auto& r : d.routing.rules) rules.push_back(r.str());
  EXPECT_EQ(rules, (std::vector<std::string>{"-6 9200: iif usb0 lookup main suppress_prefixlength 0",
                                             "-6 9201: iif usb0 lookup 9201", "-6 9202: oif wwan0 lookup 9201"}));
  // eth0 gets its IPv4 default back: IPv4 first again.
  f.kernel.routes = {{kEth0, "eth0", A("10.0.1.254"), 100}};
  EXPECT_EQ(plan(f, i).upstream, "eth0");
  f.kernel.routes.clear();
  i.config.ipv6 = Ipv6Mode::Off;
  EXPECT_EQ(plan(f, i).upstream, std::nullopt);
}

}  // namespace
