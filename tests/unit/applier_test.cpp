// The applier over the fakes (issue 11's acceptance): it performs only the difference from what
// it applied last, so the same desired state twice does nothing the second time; a failed
// step leaves what it records equal to what the fakes (the "kernel") hold, and the next apply
// does the rest; a moved downstream loses its old address before it gets the new one; the
// crash record names exactly the addresses that are on.
#include "tether/core/applier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "fakes.h"
#include "tether/base/files.h"

// The literals below name only the fields that are set; every other field is its default (empty,
// nullopt), which is what the comparison with == then checks. GCC 12 would flag each omission.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace tetherd;
using namespace tetherd::testing;
using Lines = std::vector<std::string>;
using Servers = std::vector<Ipv4Address>;

namespace {

Ipv4Prefix P(const char* s) { return *Ipv4Prefix::parse(s); }
Ipv4Address A(const char* s) { return *Ipv4Address::parse(s); }

DownstreamPlan usbAt(const char* address) { return {.kind = IfaceKind::Usb, .address = P(address)}; }
DownstreamPlan wifiAt(const char* address) { return {.kind = IfaceKind::Wifi, .address = P(address)}; }

// usb0 and wlan0 tethered through eth0, as the planner plans it.
Desired twoTethered() {
  return Desired{.upstream = "eth0",
                 .tracked = {{"usb0", IfaceKind::Usb}, {"wlan0", IfaceKind::Wifi}},
                 .wanted = {"usb0", "wlan0"},
                 .configured = {{"usb0", usbAt("192.168.42.1/24")}, {"wlan0", wifiAt("192.168.43.1/24")}},
                 .firewall = FirewallState{.downstreams = {"usb0", "wlan0"}, .pairs = {{"usb0", "eth0"}, {"wlan0", "eth0"}}},
                 .dns = Servers{A("10.0.1.1")},
                 .ipfwdRequesters = {"tethering"}};
}

Desired usb0At(const char* address) {
  return Desired{.upstream = "eth0",
                 .tracked = {{"usb0", IfaceKind::Usb}},
                 .wanted = {"usb0"},
                 .configured = {{"usb0", usbAt(address)}},
                 .firewall = FirewallState{.downstreams = {"usb0"}, .pairs = {{"usb0", "eth0"}}},
                 .dns = Servers{A("10.0.1.1")},
                 .ipfwdRequesters = {"tethering"}};
}

// Everything the applier can ask of its ports, counted.
struct Calls {
  size_t netlinkWrites;
  int firewall, dhcp, sysctl;
  bool operator==(const Calls&) const = default;
};

std::map<std::string, std::string> text(const std::map<std::string, Ipv4Prefix>& m) {
  std::map<std::string, std::string> out;
  for (const auto& [n, p] : m) out[n] = p.str();
  return out;
}

Lines after(const Lines& all, size_t from) { return Lines(all.begin() + static_cast<long>(from), all.end()); }

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* n : {"lo", "eth0", "wwan0", "usb0", "wlan0"}) nl.addLink(n);
    nl.syncView();
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  Calls calls() const { return {nl.ops.size(), fw.calls, dhcp.calls, sysctl.reads + sysctl.writes}; }

  std::string record() const {
    auto t = readFile(recordPath, 4096);
    return t ? *t : "(no record)";
  }

  // What the applier records as in place is what the fakes hold: the addresses exactly; the
  // firewall's content whenever it claims to know it (after a failed commit it knows only
  // that something may be installed, and rebuilds it at the next apply); the crash record.
  void expectRecordIsTheKernels() {
    std::map<std::string, std::string> kernel;
    for (const auto& [n, prefixes] : nl.onLink) {
      EXPECT_EQ(prefixes.size(), 1u) << n << " has more than one address of tetherd's";
      kernel[n] = prefixes.begin()->str();
    }
    EXPECT_EQ(text(applier.addresses()), kernel);
    if (applier.firewall()) {
      EXPECT_TRUE(applier.firewallInstalled());
      EXPECT_TRUE(fw.installed);
      EXPECT_TRUE(*applier.firewall() == fw.state) << "the recorded rules are not the installed ones";
    }
    if (!applier.firewallInstalled()) {
      EXPECT_FALSE(fw.installed) << "rules installed that the applier does not know of";
    }
    std::string lines;
    for (const auto& [n, p] : kernel) lines += n + " " + p + "\n";
    if (!kernel.empty() || std::filesystem::exists(recordPath)) {
      EXPECT_EQ(record(), lines);
    }
  }

  std::filesystem::path dir = freshTestDir("applier");
  std::string recordPath = (dir / "downstream-addresses").string();
  FakeNetlink nl;
  FakeFirewall fw;
  FakeDhcp dhcp;
  FakeSysctl sysctl;
  IpForwarding ipfwd{sysctl, (dir / "ip_forward.orig").string()};
  Applier applier{ApplierPorts{nl, fw, dhcp, ipfwd, nullptr}, recordPath};
};

// ---------------------------------------------------------------------------- idempotence

TEST_F(ApplierTest, SameDesiredStateTwiceDoesNothingTheSecondTime) {
  auto out = applier.apply(twoTethered(), nl.view);
  EXPECT_TRUE(out.firewall);
  EXPECT_TRUE(out.dns);
  ASSERT_EQ(out.configured.size(), 2u);
  EXPECT_TRUE(out.configured["usb0"]);
  EXPECT_TRUE(out.configured["wlan0"]);
  EXPECT_EQ(nl.ops, (Lines{"add usb0 192.168.42.1/24", "add wlan0 192.168.43.1/24", "up usb0", "up wlan0"}));
  EXPECT_EQ(dhcp.ops, (Lines{"start usb0 192.168.42.0/24 192.168.42.1", "start wlan0 192.168.43.0/24 192.168.43.1",
                             "servers 10.0.1.1"}));
  EXPECT_EQ(fw.applies, 1);
  EXPECT_TRUE(fw.state == *twoTethered().firewall);
  EXPECT_EQ(sysctl.values["net/ipv4/ip_forward"], "1");
  expectRecordIsTheKernels();

  const Calls before = calls();
  out = applier.apply(twoTethered(), nl.view);
  EXPECT_TRUE(calls() == before) << "netlink writes " << nl.ops.size() - before.netlinkWrites << ", firewall calls "
                                 << fw.calls - before.firewall << ", DHCP calls " << dhcp.calls - before.dhcp
                                 << ", sysctl calls " << sysctl.reads + sysctl.writes - before.sysctl;
  EXPECT_EQ(fw.applies + fw.resets, 1) << "no second firewall commit";
  EXPECT_TRUE(out.configured.empty());
  EXPECT_TRUE(out.ipfwd.empty());
  EXPECT_TRUE(out.firewall);
  EXPECT_TRUE(out.dns);
}

TEST_F(ApplierTest, NothingWantedTakesEverythingDownOnce) {
  (void)applier.apply(twoTethered(), nl.view);
  nl.ops.clear();
  dhcp.ops.clear();
  auto out = applier.apply(Desired{}, nl.view);
  EXPECT_EQ(nl.ops, (Lines{"del usb0 192.168.42.1/24", "del wlan0 192.168.43.1/24"}));
  EXPECT_EQ(dhcp.ops, (Lines{"stop usb0", "stop wlan0"}));
  EXPECT_EQ(fw.resets, 1);
  EXPECT_FALSE(fw.installed);
  EXPECT_FALSE(applier.firewallInstalled());
  EXPECT_EQ(sysctl.values["net/ipv4/ip_forward"], "0");
  ASSERT_EQ(out.ipfwd.count("tethering"), 1u);
  EXPECT_TRUE(out.ipfwd["tethering"]);
  EXPECT_EQ(record(), "(no record)");  // nothing to undo: no file left in run_dir
  expectRecordIsTheKernels();

  const Calls before = calls();
  (void)applier.apply(Desired{}, nl.view);
  EXPECT_TRUE(calls() == before);
}

// ---------------------------------------------------------------------------- failed steps

TEST_F(ApplierTest, FailedAddressAddLeavesTheRecordTheKernelsAndIsRetried) {
  nl.failAddressOn = {"wlan0"};
  auto out = applier.apply(twoTethered(), nl.view);
  EXPECT_TRUE(out.configured["usb0"]);
  ASSERT_FALSE(out.configured["wlan0"]);
  EXPECT_EQ(out.configured["wlan0"].error().code, Errc::IfaceCfgError);
  EXPECT_EQ(out.configured["wlan0"].error().message, "wlan0: set address 192.168.43.1/24: Operation not permitted");
  EXPECT_FALSE(dhcp.running("wlan0"));
  EXPECT_EQ(text(applier.addresses()), (std::map<std::string, std::string>{{"usb0", "192.168.42.1/24"}}));
  expectRecordIsTheKernels();

  nl.failAddressOn.clear();
  const size_t nlMark = nl.ops.size(), dhcpMark = dhcp.ops.size();
  const int fwMark = fw.calls;
  out = applier.apply(twoTethered(), nl.view);
  EXPECT_TRUE(out.configured["wlan0"]);
  EXPECT_EQ(out.configured.count("usb0"), 0u) << "usb0 was complete: not touched again";
  EXPECT_EQ(after(nl.ops, nlMark), (Lines{"add wlan0 192.168.43.1/24", "up wlan0"}));
  EXPECT_EQ(after(dhcp.ops, dhcpMark), (Lines{"start wlan0 192.168.43.0/24 192.168.43.1"}));
  EXPECT_EQ(fw.calls, fwMark) << "the firewall was already right";
  expectRecordIsTheKernels();
}

TEST_F(ApplierTest, FailedDhcpStartKeepsTheAddressRecordedAndIsRetried) {
  dhcp.failStart = true;
  auto out = applier.apply(usb0At("192.168.42.1/24"), nl.view);
  ASSERT_FALSE(out.configured["usb0"]);
  EXPECT_EQ(out.configured["usb0"].error().code, Errc::DhcpServerError);
  EXPECT_FALSE(dhcp.running("usb0"));
  expectRecordIsTheKernels();  // the address is on, and recorded
  EXPECT_EQ(record(), "usb0 192.168.42.1/24\n");

  dhcp.failStart = false;
  const size_t nlMark = nl.ops.size();
  out = applier.apply(usb0At("192.168.42.1/24"), nl.view);
  EXPECT_TRUE(out.configured["usb0"]);
  EXPECT_EQ(after(nl.ops, nlMark), (Lines{"up usb0"})) << "the address is not added again";
  EXPECT_TRUE(dhcp.running("usb0"));
  expectRecordIsTheKernels();
}

TEST_F(ApplierTest, FailedFirewallCommitIsRebuiltAtTheNextApply) {
  fw.fail = true;
  auto out = applier.apply(twoTethered(), nl.view);
  ASSERT_FALSE(out.firewall);
  EXPECT_EQ(out.firewall.error().code, Errc::SystemError);
  EXPECT_FALSE(applier.firewall().has_value()) << "content unknown after a failed commit";
  EXPECT_TRUE(dhcp.running("usb0")) << "no blocked clients: the downstreams need not wait";
  expectRecordIsTheKernels();

  fw.fail = false;
  const size_t nlMark = nl.ops.size(), dhcpMark = dhcp.ops.size();
  out = applier.apply(twoTethered(), nl.view);
  EXPECT_TRUE(out.firewall);
  EXPECT_EQ(fw.applies, 1);
  EXPECT_TRUE(fw.state == *twoTethered().firewall);
  EXPECT_EQ(after(nl.ops, nlMark), Lines{});
  EXPECT_EQ(after(dhcp.ops, dhcpMark), Lines{});
  expectRecordIsTheKernels();
}

// A blocked client must never get a lease: without its rules the DHCP servers do not start.
TEST_F(ApplierTest, FailedFirewallWithBlockedClientsHoldsTheDhcpServers) {
  Desired d = usb0At("192.168.42.1/24");
  d.firewall->blockedMacs = {"02:aa:bb:cc:dd:01"};
  d.firewall->blockOn = {"usb0"};
  fw.fail = true;
  auto out = applier.apply(d, nl.view);
  ASSERT_FALSE(out.configured["usb0"]);
  EXPECT_EQ(out.configured["usb0"].error().code, Errc::IfaceCfgError);
  EXPECT_FALSE(dhcp.running("usb0"));
  expectRecordIsTheKernels();

  fw.fail = false;
  out = applier.apply(d, nl.view);
  EXPECT_TRUE(out.configured["usb0"]);
  EXPECT_TRUE(dhcp.running("usb0"));
  EXPECT_TRUE(fw.state == *d.firewall);
  expectRecordIsTheKernels();
}

TEST_F(ApplierTest, BusyFirewallIsReportedAndCommittedAtTheNextApply) {
  fw.busyTimes = 1;
  auto out = applier.apply(twoTethered(), nl.view);
  ASSERT_FALSE(out.firewall);
  EXPECT_EQ(out.firewall.error().code, Errc::Busy);
  EXPECT_FALSE(fw.installed);
  EXPECT_TRUE(dhcp.running("usb0"));
  EXPECT_TRUE(dhcp.running("wlan0"));
  expectRecordIsTheKernels();

  const size_t nlMark = nl.ops.size();
  out = applier.apply(twoTethered(), nl.view);
  EXPECT_TRUE(out.firewall);
  EXPECT_TRUE(fw.state == *twoTethered().firewall);
  EXPECT_EQ(after(nl.ops, nlMark), Lines{});
  expectRecordIsTheKernels();
}

// ---------------------------------------------------------------------------- moves

TEST_F(ApplierTest, MoveRemovesTheOldAddressBeforeAddingTheNewAndRestartsDhcp) {
  (void)applier.apply(usb0At("192.168.42.1/24"), nl.view);
  nl.ops.clear();
  dhcp.ops.clear();
  const int fwMark = fw.calls;
  auto out = applier.apply(usb0At("192.168.46.1/24"), nl.view);
  EXPECT_TRUE(out.configured["usb0"]);
  EXPECT_EQ(nl.ops, (Lines{"del usb0 192.168.42.1/24", "add usb0 192.168.46.1/24", "up usb0"}));
  EXPECT_EQ(dhcp.ops, (Lines{"stop usb0", "start usb0 192.168.46.0/24 192.168.46.1"}));
  EXPECT_EQ(fw.calls, fwMark) << "same rules: no commit";
  EXPECT_EQ(record(), "usb0 192.168.46.1/24\n");
  expectRecordIsTheKernels();
}

TEST_F(ApplierTest, MoveWhoseOldAddressCannotBeRemovedWaitsForIt) {
  (void)applier.apply(usb0At("192.168.42.1/24"), nl.view);
  nl.failRemoveOn = {"usb0"};
  nl.ops.clear();
  auto out = applier.apply(usb0At("192.168.46.1/24"), nl.view);
  ASSERT_FALSE(out.configured["usb0"]);
  EXPECT_EQ(out.configured["usb0"].error().message, "usb0: 192.168.42.1/24 is still on it");
  EXPECT_EQ(nl.ops, Lines{}) << "never two subnets on one downstream";
  EXPECT_FALSE(dhcp.running("usb0"));
  expectRecordIsTheKernels();

  nl.failRemoveOn.clear();
  out = applier.apply(usb0At("192.168.46.1/24"), nl.view);
  EXPECT_TRUE(out.configured["usb0"]);
  EXPECT_EQ(nl.ops, (Lines{"del usb0 192.168.42.1/24", "add usb0 192.168.46.1/24", "up usb0"}));
  EXPECT_TRUE(dhcp.running("usb0"));
  expectRecordIsTheKernels();
}

// ---------------------------------------------------------------------------- the crash record

TEST_F(ApplierTest, CrashRecordListsExactlyWhatIsOn) {
  (void)applier.apply(twoTethered(), nl.view);
  EXPECT_EQ(record(), "usb0 192.168.42.1/24\nwlan0 192.168.43.1/24\n");
  (void)applier.apply(usb0At("192.168.42.1/24"), nl.view);
  EXPECT_EQ(record(), "usb0 192.168.42.1/24\n");
  (void)applier.apply(usb0At("192.168.46.1/24"), nl.view);
  EXPECT_EQ(record(), "usb0 192.168.46.1/24\n");
  (void)applier.apply(Desired{}, nl.view);
  EXPECT_EQ(record(), "(no record)");
  expectRecordIsTheKernels();
}

TEST_F(ApplierTest, RemoveLeftoversRemovesWhatTheRecordNames) {
  std::ofstream(recordPath) << "usb0 192.168.42.1/24\nwlan0 not-a-prefix\nrndis0 192.168.47.1/24\n";
  applier.removeLeftovers();
  EXPECT_EQ(nl.ops, (Lines{"del usb0 192.168.42.1/24", "del rndis0 192.168.47.1/24"}));
  EXPECT_FALSE(std::filesystem::exists(recordPath));
  applier.removeLeftovers();  // no record: nothing to do
  EXPECT_EQ(nl.ops.size(), 2u);
  EXPECT_TRUE(applier.addresses().empty());
}

}  // namespace

// ---------------------------------------------------------------------------- IPv6 (issue 12)

namespace {

Desired usb0Nat66() {
  Desired d = usb0At("192.168.42.1/24");
  d.configured["usb0"].ipv6 = Ipv6Mode::Nat66;
  d.configured["usb0"].address6 = Ipv6Prefix::parse("fd12:3456:789a:e0f5::1/64");
  d.firewall->ipv6 = true;
  d.firewall->nat66 = {"eth0"};
  d.sysctls = {{"net/ipv6/conf/all/forwarding", "1"}, {"net/ipv6/conf/eth0/accept_ra", "2"}};
  return d;
}

class ApplierIpv6Test : public ApplierTest {
 protected:
  void SetUp() override {
    ApplierTest::SetUp();
    sysctl.values["net/ipv6/conf/all/forwarding"] = "0";
    sysctl.values["net/ipv6/conf/eth0/accept_ra"] = "1";
  }
  std::string sysctlRecord() const {
    auto t = readFile((dir / "sysctl.orig").string(), 4096);
    return t ? *t : "(no record)";
  }
  SysctlOverrides overrides{sysctl, (dir / "sysctl.orig").string()};
  Applier applier6{ApplierPorts{nl, fw, dhcp, ipfwd, nullptr, &overrides}, recordPath};
};

}  // namespace

TEST_F(ApplierIpv6Test, Nat66DownstreamGetsItsAddressDhcpRaAndSysctlsOnceThenAllGoes) {
  auto out = applier6.apply(usb0Nat66(), nl.view);
  EXPECT_TRUE(out.configured["usb0"]);
  EXPECT_TRUE(out.sysctls);
  EXPECT_EQ(nl.ops, (Lines{"add usb0 192.168.42.1/24", "add6 usb0 fd12:3456:789a:e0f5::1/64", "up usb0"}));
  EXPECT_EQ(dhcp.ops, (Lines{"start usb0 192.168.42.0/24 192.168.42.1 fd12:3456:789a:e0f5::1/64", "servers 10.0.1.1"}));
  EXPECT_TRUE(fw.state == *usb0Nat66().firewall);
  EXPECT_EQ(sysctl.values["net/ipv6/conf/all/forwarding"], "1");
  EXPECT_EQ(sysctl.values["net/ipv6/conf/eth0/accept_ra"], "2");
  EXPECT_EQ(record(), "usb0 192.168.42.1/24\nusb0 fd12:3456:789a:e0f5::1/64\n");
  EXPECT_EQ(sysctlRecord(), "net/ipv6/conf/all/forwarding 0\nnet/ipv6/conf/eth0/accept_ra 1\n");
  EXPECT_EQ(applier6.addresses6().at("usb0").str(), "fd12:3456:789a:e0f5::1/64");

  const size_t ops = nl.ops.size(), writes = static_cast<size_t>(sysctl.writes);
  applier6.apply(usb0Nat66(), nl.view);
  EXPECT_EQ(nl.ops.size(), ops) << "nothing twice";
  EXPECT_EQ(static_cast<size_t>(sysctl.writes), writes);

  out = applier6.apply(Desired{}, nl.view);  // stop: everything goes, the originals come back
  EXPECT_EQ(after(nl.ops, ops), (Lines{"del6 usb0 fd12:3456:789a:e0f5::1/64", "del usb0 192.168.42.1/24"}));
  EXPECT_EQ(sysctl.values["net/ipv6/conf/all/forwarding"], "0");
  EXPECT_EQ(sysctl.values["net/ipv6/conf/eth0/accept_ra"], "1");
  EXPECT_FALSE(std::filesystem::exists(dir / "sysctl.orig"));
  EXPECT_FALSE(std::filesystem::exists(recordPath));
  EXPECT_TRUE(nl.onLink6.empty());
}

TEST_F(ApplierIpv6Test, Ipv6DnsServersChangeTheForwardersOnce) {
  Desired d = usb0Nat66();
  applier6.apply(d, nl.view);
  d.dns6 = {*Ipv6Address::parse("2001:db8::53")};
  applier6.apply(d, nl.view);
  applier6.apply(d, nl.view);
  EXPECT_EQ(dhcp.ops.back(), "servers 10.0.1.1 2001:db8::53");
  EXPECT_EQ(std::count(dhcp.ops.begin(), dhcp.ops.end(), "servers 10.0.1.1 2001:db8::53"), 1);
}

TEST_F(ApplierIpv6Test, AfterACrashTheNextRunPutsEverythingBack) {
  applier6.apply(usb0Nat66(), nl.view);
  // kill -9: a new run with fresh objects over the same files.
  SysctlOverrides next{sysctl, (dir / "sysctl.orig").string()};
  Applier fresh{ApplierPorts{nl, fw, dhcp, ipfwd, nullptr, &next}, recordPath};
  next.recoverFromPreviousRun();
  fresh.removeLeftovers();
  EXPECT_EQ(sysctl.values["net/ipv6/conf/all/forwarding"], "0");
  EXPECT_EQ(sysctl.values["net/ipv6/conf/eth0/accept_ra"], "1");
  EXPECT_TRUE(nl.onLink6.empty());
  EXPECT_TRUE(nl.onLink.empty());
  EXPECT_FALSE(std::filesystem::exists(dir / "sysctl.orig"));
}

TEST_F(ApplierIpv6Test, Ipv6TurnedOnForATetheredDownstreamRestartsItsDhcpWithRa) {
  applier6.apply(usb0At("192.168.42.1/24"), nl.view);
  const size_t ops = nl.ops.size();
  applier6.apply(usb0Nat66(), nl.view);
  EXPECT_EQ(after(nl.ops, ops), (Lines{"add6 usb0 fd12:3456:789a:e0f5::1/64", "up usb0"})) << "IPv4 untouched";
  EXPECT_EQ(dhcp.ops.back(), "start usb0 192.168.42.0/24 192.168.42.1 fd12:3456:789a:e0f5::1/64");
}

// ---------------------------------------------------------------------------- prefix delegation

namespace {

Desired usb0Pd(const char* router, const char* delegated, int preferred, int valid) {
  const auto now = PdLease::Clock::now();
  Desired d = usb0Nat66();
  d.configured["usb0"].ipv6 = Ipv6Mode::Pd;
  d.configured["usb0"].address6 = Ipv6Prefix::parse(router);
  d.configured["usb0"].lease6 =
      PdLease{*Ipv6Prefix::parse(delegated), now + std::chrono::seconds(preferred), now + std::chrono::seconds(valid)};
  d.firewall->nat66.clear();
  return d;
}

}  // namespace

TEST_F(ApplierIpv6Test, PdRouterAddressTakesTheLeaseLifetimesAndARenewalRefreshesThemOnly) {
  applier6.apply(usb0Pd("2001:db8:100:3::1/64", "2001:db8:100::/60", 40, 60), nl.view);
  EXPECT_EQ(nl.ops, (Lines{"add usb0 192.168.42.1/24", "life6 usb0 2001:db8:100:3::1/64 40/60", "up usb0"}));
  const size_t ops = nl.ops.size(), dhcpOps = dhcp.ops.size();
  applier6.apply(usb0Pd("2001:db8:100:3::1/64", "2001:db8:100::/60", 50, 90), nl.view);
  EXPECT_EQ(after(nl.ops, ops), (Lines{"life6 usb0 2001:db8:100:3::1/64 50/90"}));
  EXPECT_EQ(dhcp.ops.size(), dhcpOps) << "dnsmasq keeps running: it reads the lifetimes off the address";
}

TEST_F(ApplierIpv6Test, PdNewPrefixIsAnnouncedAtOnceAndTheOldDeprecatedUntilItsValidLifetimeEnds) {
  applier6.apply(usb0Pd("2001:db8:100:3::1/64", "2001:db8:100::/60", 40, 60), nl.view);
  const size_t ops = nl.ops.size(), dhcpOps = dhcp.ops.size();
  applier6.apply(usb0Pd("2001:db8:200:3::1/64", "2001:db8:200::/60", 40, 90), nl.view);
  EXPECT_EQ(after(nl.ops, ops),
            (Lines{"life6 usb0 2001:db8:200:3::1/64 40/90", "life6 usb0 2001:db8:100:3::1/64 0/60"}));
  EXPECT_EQ(dhcp.ops.size(), dhcpOps) << "no dnsmasq restart: a restarted one forgets the old prefix";
  EXPECT_EQ(record(), "usb0 192.168.42.1/24\nusb0 2001:db8:200:3::1/64\nusb0 2001:db8:100:3::1/64\n");
  EXPECT_EQ(applier6.addresses6().at("usb0").str(), "2001:db8:200:3::1/64");

  const size_t before = nl.ops.size();
  applier6.apply(Desired{}, nl.view);  // stop: both go
  EXPECT_EQ(after(nl.ops, before), (Lines{"del6 usb0 2001:db8:100:3::1/64", "del6 usb0 2001:db8:200:3::1/64",
                                          "del usb0 192.168.42.1/24"}));
  EXPECT_TRUE(nl.onLink6.empty());
}

TEST_F(ApplierIpv6Test, PdLostFallsBackToNat66InPlaceWithTheOldPrefixDeprecated) {
  applier6.apply(usb0Pd("2001:db8:100:3::1/64", "2001:db8:100::/60", 40, 60), nl.view);
  const size_t ops = nl.ops.size(), dhcpOps = dhcp.ops.size();
  applier6.apply(usb0Nat66(), nl.view);
  EXPECT_EQ(after(nl.ops, ops), (Lines{"add6 usb0 fd12:3456:789a:e0f5::1/64", "life6 usb0 2001:db8:100:3::1/64 0/60"}));
  EXPECT_EQ(dhcp.ops.size(), dhcpOps) << "dnsmasq keeps running: its argv does not name the prefix";
  EXPECT_TRUE(fw.state == *usb0Nat66().firewall) << "the masquerade for the ULA";
  const size_t before = nl.ops.size();
  applier6.apply(usb0Pd("2001:db8:100:3::1/64", "2001:db8:100::/60", 40, 60), nl.view);  // delegated again
  EXPECT_EQ(after(nl.ops, before), (Lines{"del6 usb0 2001:db8:100:3::1/64", "del6 usb0 fd12:3456:789a:e0f5::1/64",
                                          "life6 usb0 2001:db8:100:3::1/64 40/60", "up usb0"}))
      << "from nat66 to pd: the ULA goes and dnsmasq restarts";
}
