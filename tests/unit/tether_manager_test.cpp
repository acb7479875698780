// The policy layer end to end over fakes: what it asks of the kernel, the firewall and the
// DHCP service, as exact text, through start, failover, unplug, conflicts, errors and stop.
#include "tether/core/tether_manager.h"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "fakes.h"
#include "tether/base/files.h"
#include "tether/control/event_text.h"

using namespace tetherd;
using namespace tetherd::testing;
using IState = TetherInterfaceMachine::State;
using MState = TetherMasterMachine::State;
using Lines = std::vector<std::string>;

namespace {

class TetherManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = freshTestDir("mgr");
    config = testConfig(dir, {"eth0", "wwan0"});
    config.upstreamDns["eth0"] = {*Ipv4Address::parse("10.0.1.1")};
    config.upstreamDns["wwan0"] = {*Ipv4Address::parse("10.0.2.1")};
    nl.addLink("lo");
    nl.addLink("eth0");
    nl.addLink("wwan0");
    nl.addLink("usb0");
    route("eth0", "10.0.1.254", 100);
    route("wwan0", "10.0.2.254", 200);
    nl.addrList.push_back(AddrInfo{nl.indexOf("eth0"), "eth0", *Ipv4Prefix::parse("10.0.1.2/24")});
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  void route(const std::string& ifname, const char* gw, uint32_t metric) {
    nl.routeList.push_back(DefaultRoute{nl.indexOf(ifname), ifname, *Ipv4Address::parse(gw), metric});
  }
  std::unique_ptr<TetherManager> make() {
    auto m = std::make_unique<TetherManager>(ManagerDeps{io, nl, fw, sysctl, nl.syncView()}, dhcp, config,
                                             [this](const Event& e) {
                                               // As the control socket shows them: the 6xx text.
                                               auto line = control::formatEvent(e);
                                               events.push_back(std::to_string(line.code) + " " + line.text);
                                             });
    EXPECT_TRUE(m->start());
    return m;
  }
  IState stateOf(TetherManager& m, const std::string& ifname) {
    for (const auto& d : m.downstreams())
      if (d.ifname == ifname) return d.state;
    return IState::Unavailable;
  }
  void linkEvent(NetEvent::Type t, const std::string& name, bool up = true) {
    NetEvent e;
    e.type = t;
    if (t == NetEvent::Type::LinkAdded && !nl.indexOf(name)) nl.addLink(name, up);
    e.link = LinkInfo{nl.indexOf(name), name, up, up};
    nl.view.apply(e);
    mgr->onNetEvent(e);
  }
  void routeEvent(NetEvent::Type t, const std::string& ifname, const char* gw, uint32_t metric) {
    NetEvent e;
    e.type = t;
    e.route = DefaultRoute{nl.indexOf(ifname), ifname, *Ipv4Address::parse(gw), metric};
    nl.view.apply(e);
    mgr->onNetEvent(e);
  }

  std::filesystem::path dir;
  boost::asio::io_context io;
  Config config;
  FakeNetlink nl;
  FakeFirewall fw;
  FakeSysctl sysctl;
  FakeDhcp dhcp;
  std::vector<std::string> events;
  std::unique_ptr<TetherManager> mgr;
};

const Lines kUsbViaEth0 = {
    "filter -N tetherd_FORWARD",
    "filter -N tetherd_counters",
    "filter -A FORWARD -j tetherd_FORWARD",
    "filter -A tetherd_FORWARD -i eth0 -o usb0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
    "filter -A tetherd_FORWARD -i usb0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
    "filter -A tetherd_FORWARD -i usb0 -o eth0 -g tetherd_counters",
    "filter -A tetherd_FORWARD -i usb0 -j DROP",
    "filter -A tetherd_counters -i usb0 -o eth0 -j ACCEPT",
    "filter -A tetherd_counters -i eth0 -o usb0 -j ACCEPT",
    "mangle -N tetherd_mangle_FORWARD",
    "mangle -A FORWARD -j tetherd_mangle_FORWARD",
    "mangle -A tetherd_mangle_FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
    "nat -N tetherd_nat_POSTROUTING",
    "nat -A POSTROUTING -j tetherd_nat_POSTROUTING",
    "nat -A tetherd_nat_POSTROUTING -o eth0 -j MASQUERADE",
};

TEST_F(TetherManagerTest, StartTethersUsbThroughTheBestUpstream) {
  mgr = make();
  EXPECT_EQ(mgr->upstream(), "eth0");
  ASSERT_TRUE(mgr->startTethering());
  EXPECT_EQ(mgr->masterState(), MState::TetherModeAlive);
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Tethered);
  EXPECT_EQ(sysctl.values["net/ipv4/ip_forward"], "1");
  EXPECT_EQ(nl.ops, (Lines{"add usb0 192.168.42.1/24", "up usb0"}));
  EXPECT_EQ(dhcp.ops, (Lines{"servers 10.0.1.1", "start usb0 192.168.42.0/24 192.168.42.1"}));
  EXPECT_EQ(fw.rules(), kUsbViaEth0);
  // Upstreams are never treated as downstreams.
  for (const auto& d : mgr->downstreams()) EXPECT_NE(d.ifname, "eth0");
  auto second = mgr->startTethering();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::AlreadyExists);
}

TEST_F(TetherManagerTest, FailoverAndFallBackRepointNatAndDns) {
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  dhcp.ops.clear();
  events.clear();
  linkEvent(NetEvent::Type::LinkChanged, "eth0", false);
  EXPECT_EQ(mgr->upstream(), "wwan0");
  EXPECT_TRUE(fw.state.pairs.count(NatPair{"usb0", "wwan0"}));
  EXPECT_FALSE(fw.state.pairs.count(NatPair{"usb0", "eth0"}));
  EXPECT_EQ(dhcp.ops, (Lines{"servers 10.0.2.1"}));
  EXPECT_EQ(events.front(), "600 Iface linkstate eth0 down");
  EXPECT_NE(std::find(events.begin(), events.end(), "611 Upstream wwan0"), events.end());
  linkEvent(NetEvent::Type::LinkChanged, "eth0", true);
  EXPECT_EQ(mgr->upstream(), "eth0");
  EXPECT_EQ(fw.rules(), kUsbViaEth0);
  // A lost default route counts as down too.
  routeEvent(NetEvent::Type::RouteRemoved, "eth0", "10.0.1.254", 100);
  EXPECT_EQ(mgr->upstream(), "wwan0");
  routeEvent(NetEvent::Type::RouteRemoved, "wwan0", "10.0.2.254", 200);
  EXPECT_EQ(mgr->upstream(), std::nullopt);
  EXPECT_TRUE(fw.state.pairs.empty());
  EXPECT_EQ(fw.state.downstreams, (std::set<std::string>{"usb0"}));  // still isolated: no leak
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Tethered);
}

TEST_F(TetherManagerTest, UnplugUntethersAndReplugRetethers) {
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  nl.ops.clear();
  dhcp.ops.clear();
  linkEvent(NetEvent::Type::LinkRemoved, "usb0");
  io.poll();
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Unavailable);  // record dropped
  EXPECT_TRUE(fw.state.pairs.empty());
  EXPECT_EQ(dhcp.ops, (Lines{"stop usb0"}));
  dhcp.ops.clear();
  linkEvent(NetEvent::Type::LinkAdded, "usb0");
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Tethered);
  EXPECT_EQ(dhcp.ops, (Lines{"start usb0 192.168.42.0/24 192.168.42.1"}));
  EXPECT_EQ(fw.rules(), kUsbViaEth0);
}

TEST_F(TetherManagerTest, TwoDownstreamsRemovingOneLeavesTheOther) {
  nl.addLink("wlan0");
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  EXPECT_EQ(stateOf(*mgr, "wlan0"), IState::Tethered);
  EXPECT_TRUE(dhcp.running("wlan0"));
  EXPECT_EQ(dhcp.running_["wlan0"].subnet.str(), "192.168.43.0/24");
  ASSERT_TRUE(mgr->removeInterface("wlan0"));
  EXPECT_EQ(stateOf(*mgr, "wlan0"), IState::Initial);
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Tethered);
  EXPECT_TRUE(dhcp.running("usb0"));
  EXPECT_FALSE(dhcp.running("wlan0"));
  EXPECT_EQ(fw.rules(), kUsbViaEth0);
}

TEST_F(TetherManagerTest, UpstreamInsideTheUsbSubnetMovesIt) {
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  dhcp.ops.clear();
  NetEvent e;
  e.type = NetEvent::Type::AddrAdded;
  e.addr = AddrInfo{nl.indexOf("wwan0"), "wwan0", *Ipv4Prefix::parse("192.168.42.77/24")};
  nl.addrList.push_back(e.addr);
  nl.view.apply(e);
  mgr->onNetEvent(e);
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Tethered);
  // Not 43, 44 or 45: those are the Wi-Fi, Bluetooth and Ethernet kinds' own.
  EXPECT_EQ(dhcp.ops, (Lines{"stop usb0", "start usb0 192.168.46.0/24 192.168.46.1"}));
  EXPECT_NE(std::find(nl.ops.begin(), nl.ops.end(), "del usb0 192.168.42.1/24"), nl.ops.end());
  EXPECT_EQ(nl.ops.back(), "up usb0");
}

TEST_F(TetherManagerTest, BadInputIsTypedAndNothingHalfApplied) {
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  auto rulesBefore = fw.rules();
  auto r1 = mgr->addInterface("nosuch0");
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().code, Errc::UnknownIface);
  auto r2 = mgr->enableNat("usb0", "usb0");
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, Errc::InvalidArgument);
  auto r3 = mgr->addInterface("bad/name");
  EXPECT_EQ(r3.error().code, Errc::InvalidArgument);
  auto r4 = mgr->addInterface("eth0");
  EXPECT_EQ(r4.error().code, Errc::UnavailIface);
  fw.fail = true;
  auto r5 = mgr->enableNat("usb0", "wwan0");
  ASSERT_FALSE(r5);
  EXPECT_EQ(r5.error().code, Errc::EnableForwardingError);
  fw.fail = false;
  ASSERT_TRUE(mgr->disableNat("usb0", "eth0").error().code == Errc::NotFound);
  ASSERT_TRUE(mgr->setDnsOverride({}));
  EXPECT_EQ(fw.rules(), rulesBefore);
}

TEST_F(TetherManagerTest, ManualNatPairs) {
  nl.addLink("lan0");
  mgr = make();
  ASSERT_TRUE(mgr->enableNat("lan0", "eth0"));
  EXPECT_TRUE(fw.state.pairs.count(NatPair{"lan0", "eth0"}));
  ASSERT_TRUE(mgr->disableNat("lan0", "eth0"));
  EXPECT_TRUE(fw.state.pairs.empty());
}

TEST_F(TetherManagerTest, StopRemovesEverythingAndRestoresForwarding) {
  sysctl.values["net/ipv4/ip_forward"] = "0";
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  ASSERT_TRUE(mgr->stopTethering());
  EXPECT_EQ(sysctl.values["net/ipv4/ip_forward"], "0");
  EXPECT_TRUE(fw.rules().empty());
  EXPECT_TRUE(dhcp.running_.empty());
  EXPECT_NE(std::find(nl.ops.begin(), nl.ops.end(), "del usb0 192.168.42.1/24"), nl.ops.end());
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Initial);
  EXPECT_EQ(mgr->masterState(), MState::Initial);
  EXPECT_EQ(mgr->stopTethering().error().code, Errc::NotFound);
  // A forwarding value of 1 set by the admin is kept.
  sysctl.values["net/ipv4/ip_forward"] = "1";
  ASSERT_TRUE(mgr->startTethering());
  ASSERT_TRUE(mgr->stopTethering());
  EXPECT_EQ(sysctl.values["net/ipv4/ip_forward"], "1");
}

TEST_F(TetherManagerTest, MasterErrorIsReportedAndClears) {
  sysctl.failWrites = true;
  mgr = make();
  auto st = mgr->startTethering();
  ASSERT_FALSE(st);
  EXPECT_EQ(mgr->masterState(), MState::SetIpForwardingEnabledError);
  EXPECT_NE(mgr->masterError().message.find("Read-only file system"), std::string::npos);
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Initial);
  auto again = mgr->startTethering();
  EXPECT_EQ(again.error().code, Errc::MasterError);
  sysctl.failWrites = false;
  ASSERT_TRUE(mgr->clearError());
  EXPECT_EQ(mgr->masterState(), MState::Initial);
  ASSERT_TRUE(mgr->startTethering());
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Tethered);
}

TEST_F(TetherManagerTest, DhcpFailureIsATypedInterfaceError) {
  dhcp.failStart = true;
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  auto ds = mgr->downstreams();
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].state, IState::Failed);
  EXPECT_EQ(ds[0].error.code, Errc::DhcpServerError);
  EXPECT_TRUE(std::find_if(events.begin(), events.end(), [](const std::string& e) {
                return e.find("610 Tether usb0 failed dhcp-server-error") == 0;
              }) != events.end());
  EXPECT_NE(std::find(nl.ops.begin(), nl.ops.end(), "del usb0 192.168.42.1/24"), nl.ops.end());  // rolled back
  dhcp.failStart = false;
  ASSERT_TRUE(mgr->addInterface("usb0"));
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Tethered);
}

TEST_F(TetherManagerTest, BusyFirewallConvergesLater) {
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  fw.busyTimes = 3;
  linkEvent(NetEvent::Type::LinkChanged, "eth0", false);
  EXPECT_EQ(mgr->upstream(), "wwan0");
  EXPECT_FALSE(fw.state.pairs.count(NatPair{"usb0", "wwan0"}));
  io.run_for(std::chrono::seconds(2));
  EXPECT_TRUE(fw.state.pairs.count(NatPair{"usb0", "wwan0"}));
}

// Found by the fault suite: after 50 busy retries (5 s of someone else holding the xtables
// lock) the manager gave up, and the rules stayed those of the old upstream.
TEST_F(TetherManagerTest, BusyFirewallNeverGivesUp) {
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  fw.busyTimes = 51;
  linkEvent(NetEvent::Type::LinkChanged, "eth0", false);
  io.run_for(std::chrono::seconds(8));
  EXPECT_EQ(fw.busyTimes, 0);
  EXPECT_TRUE(fw.state.pairs.count(NatPair{"usb0", "wwan0"}));
}

// Found by the fault suite: a stop while the lock was held left every rule behind (tetherd's
// FORWARD jump then drops the downstream's traffic for good).
TEST_F(TetherManagerTest, StopsRemoveTheRulesOnceTheLockIsFree) {
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  fw.busyResets = 2;
  ASSERT_TRUE(mgr->stopTethering());  // not an error: the rules go once the lock is free
  // The master waits in Stopping for the lock (its timer bounds the wait), then is Initial.
  EXPECT_EQ(mgr->masterState(), MState::Stopping);
  EXPECT_FALSE(fw.rules().empty());
  io.run_for(std::chrono::seconds(2));
  EXPECT_TRUE(fw.rules().empty());
  EXPECT_EQ(mgr->masterState(), MState::Initial);

  ASSERT_TRUE(mgr->startTethering());
  io.restart();
  fw.busyResets = 4;
  bool done = false;
  mgr->stop([&] { done = true; });
  EXPECT_FALSE(done);
  io.run_for(std::chrono::seconds(3));
  EXPECT_TRUE(done);
  EXPECT_TRUE(fw.rules().empty());
  EXPECT_EQ(fw.busyResets, 0);
}

// A `tether stop` while the xtables lock keeps the master in Starting: once the lock is free the
// master finishes starting and then stops, as asked; nothing of tetherd's is left.
TEST_F(TetherManagerTest, StopDuringAStartHeldByTheLockIsCarriedOut) {
  mgr = make();
  fw.busyTimes = 1000;
  ASSERT_TRUE(mgr->startTethering());
  EXPECT_EQ(mgr->masterState(), MState::Starting);
  ASSERT_TRUE(mgr->stopTethering());
  EXPECT_EQ(mgr->masterState(), MState::Starting);  // still waiting for the lock
  fw.busyTimes = 0;
  io.run_for(std::chrono::milliseconds(500));
  EXPECT_EQ(mgr->masterState(), MState::Initial);
  EXPECT_FALSE(mgr->tetheringStarted());
  EXPECT_TRUE(fw.rules().empty());
  EXPECT_EQ(sysctl.values["net/ipv4/ip_forward"], "0");
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Initial);
}

TEST_F(TetherManagerTest, CrashLeftoversAreUndoneAtStart) {
  std::filesystem::create_directories(config.runDir);
  std::ofstream(config.runDir + "/ip_forward.orig") << "0\n";
  std::ofstream(config.runDir + "/downstream-addresses") << "usb0 192.168.42.1/24\n";
  sysctl.values["net/ipv4/ip_forward"] = "1";  // left on by the crashed run
  config.autostart = false;
  mgr = make();
  EXPECT_EQ(sysctl.values["net/ipv4/ip_forward"], "0");
  EXPECT_EQ(fw.resets, 1);
  EXPECT_EQ(nl.ops, (Lines{"del usb0 192.168.42.1/24"}));
  EXPECT_FALSE(std::filesystem::exists(config.runDir + "/ip_forward.orig"));
}

TEST_F(TetherManagerTest, AutoTetherFollowsKindsAndExplicitRequests) {
  config.kinds[static_cast<size_t>(IfaceKind::Usb)].autoTether = false;
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Initial);
  ASSERT_TRUE(mgr->addInterface("usb0"));
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Tethered);
  // An explicitly requested interface comes back after an unplug.
  linkEvent(NetEvent::Type::LinkRemoved, "usb0");
  io.poll();
  linkEvent(NetEvent::Type::LinkAdded, "usb0");
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Tethered);
  linkEvent(NetEvent::Type::LinkAdded, "rndis0");
  EXPECT_EQ(stateOf(*mgr, "rndis0"), IState::Initial);
}

TEST_F(TetherManagerTest, DnsOverride) {
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  ASSERT_TRUE(mgr->setDnsOverride({*Ipv4Address::parse("9.9.9.9")}));
  EXPECT_EQ(dhcp.servers, (std::vector<Ipv4Address>{*Ipv4Address::parse("9.9.9.9")}));
  ASSERT_TRUE(mgr->setDnsOverride({}));
  EXPECT_EQ(dhcp.servers, (std::vector<Ipv4Address>{*Ipv4Address::parse("10.0.1.1")}));
}


// A blocked client is dropped on every configured downstream, before its DHCP server starts,
// whatever kind the downstream is; the list survives a restart; bad MACs are refused by name.
TEST_F(TetherManagerTest, BlockedClientsAreDroppedOnServedDownstreamsAndKept) {
  mgr = make();
  ASSERT_TRUE(mgr->blockClient("02:AA:BB:CC:DD:01"));
  EXPECT_FALSE(fw.installed) << "nothing served yet: no rules needed";
  EXPECT_EQ(mgr->blockedClients(), (Lines{"02:aa:bb:cc:dd:01"}));
  bool blockedBeforeDhcp = false;
  dhcp.beforeStart = [&](const DhcpService::Downstream& d) {
    blockedBeforeDhcp = fw.state.blockOn.count(d.ifname) == 1 && fw.state.blockedMacs.count("02:aa:bb:cc:dd:01") == 1;
  };
  ASSERT_TRUE(mgr->startTethering());
  EXPECT_TRUE(blockedBeforeDhcp);
  Lines want = kUsbViaEth0;
  want.insert(want.begin() + 1, "filter -N tetherd_INPUT");
  want.insert(want.begin() + 3, "filter -A INPUT -j tetherd_INPUT");
  want.insert(want.begin() + 5, "filter -A tetherd_FORWARD -i usb0 -m mac --mac-source 02:aa:bb:cc:dd:01 -j DROP");
  want.insert(want.begin() + 10, "filter -A tetherd_INPUT -i usb0 -m mac --mac-source 02:aa:bb:cc:dd:01 -j DROP");
  EXPECT_EQ(fw.rules(), want);
  // Kept: a new manager (a restart) blocks the same client.
  {
    auto saved = readFile(config.stateDir + "/blocked-clients", 4096);
    ASSERT_TRUE(saved);
    EXPECT_EQ(*saved, "02:aa:bb:cc:dd:01\n");
  }
  ASSERT_TRUE(mgr->blockClient("02:aa:bb:cc:dd:01")) << "blocking twice is fine";
  ASSERT_TRUE(mgr->unblockClient("02:aa:bb:cc:dd:01"));
  EXPECT_EQ(fw.rules(), kUsbViaEth0);
  EXPECT_EQ(mgr->unblockClient("02:aa:bb:cc:dd:01").error().code, Errc::NotFound);
  for (const char* bad : {"02:aa:bb:cc:dd", "01:00:5e:00:00:01", "02:aa:bb:cc:dd:01;reboot", ""}) {
    auto st = mgr->blockClient(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, Errc::InvalidArgument);
    EXPECT_EQ(st.error().message.rfind("mac: ", 0), 0u) << st.error().message;
  }
  EXPECT_EQ(fw.rules(), kUsbViaEth0) << "a refused block changes nothing";
  ASSERT_TRUE(mgr->blockClient("02:aa:bb:cc:dd:02"));
  ASSERT_TRUE(mgr->stopTethering());
  EXPECT_TRUE(fw.rules().empty()) << "no downstream served: the block rules go too";
  mgr.reset();
  mgr = make();
  EXPECT_EQ(mgr->blockedClients(), (Lines{"02:aa:bb:cc:dd:02"}));
}

// A multicast MAC in the file (hand-edited) used to be loaded, and the firewall refuses a state
// holding one: no downstream could be tethered. It is ignored (with a warning) instead.
TEST_F(TetherManagerTest, BlockedFileWithAMulticastMacStillTethers) {
  {
    std::filesystem::create_directories(config.stateDir);
    std::ofstream f(config.stateDir + "/blocked-clients");
    f << "01:00:5e:00:00:01\n02:aa:bb:cc:dd:01 \n";
  }
  mgr = make();
  EXPECT_EQ(mgr->blockedClients(), (Lines{"02:aa:bb:cc:dd:01"}));
  ASSERT_TRUE(mgr->startTethering());
  EXPECT_EQ(fw.state.blockedMacs, (std::set<std::string>{"02:aa:bb:cc:dd:01"}));
}

// Issue 14: pins are saved (0600) before dnsmasq is told, read back by a new manager (a
// restart) and handed to the DHCP service at start; a DHCP service that refuses them puts the
// old pins back, file included.
TEST_F(TetherManagerTest, PinnedClientsAreKeptAndGivenToDhcp) {
  mgr = make();
  std::map<std::string, StaticLease> pins{
      {"02:aa:bb:cc:dd:01", {"02:aa:bb:cc:dd:01", *Ipv4Address::parse("192.168.42.77"), "phone"}}};
  ASSERT_TRUE(mgr->setPinnedClients(pins));
  EXPECT_EQ(dhcp.pins, (std::vector<StaticLease>{pins.begin()->second}));
  auto saved = readFile(config.stateDir + "/pinned-clients", 4096);
  ASSERT_TRUE(saved);
  EXPECT_EQ(*saved, "02:aa:bb:cc:dd:01 192.168.42.77 phone\n");
  EXPECT_EQ(std::filesystem::status(config.stateDir + "/pinned-clients").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  dhcp.failPins = true;
  auto st = mgr->setPinnedClients({});
  ASSERT_FALSE(st);
  EXPECT_EQ(mgr->pinnedClients(), pins);
  EXPECT_EQ(*readFile(config.stateDir + "/pinned-clients", 4096), "02:aa:bb:cc:dd:01 192.168.42.77 phone\n");
  dhcp.failPins = false;
  mgr.reset();
  dhcp.pins.clear();
  mgr = make();
  EXPECT_EQ(mgr->pinnedClients(), pins);
  EXPECT_EQ(dhcp.pins, (std::vector<StaticLease>{pins.begin()->second}));
}

TEST_F(TetherManagerTest, BlockThatCannotBeSavedIsNotApplied) {
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  std::filesystem::remove_all(config.stateDir);
  {
    std::ofstream f(config.stateDir);  // a file where the directory should be
  }
  auto st = mgr->blockClient("02:aa:bb:cc:dd:03");
  ASSERT_FALSE(st);
  EXPECT_TRUE(mgr->blockedClients().empty());
  EXPECT_EQ(fw.rules(), kUsbViaEth0);
  std::filesystem::remove(config.stateDir);
}

// Level-triggered and idempotent (issue 11): once tethering has converged, events that change
// nothing the plan depends on cause no netlink write, no firewall call, no DHCP or sysctl call.
TEST_F(TetherManagerTest, NoOpEventsAfterConvergingDoNothing) {
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  io.poll();
  ASSERT_EQ(stateOf(*mgr, "usb0"), IState::Tethered);
  const size_t nlOps = nl.ops.size();
  const int fwCalls = fw.calls, dhcpCalls = dhcp.calls, sysctlCalls = sysctl.reads + sysctl.writes;

  routeEvent(NetEvent::Type::RouteAdded, "eth0", "10.0.1.254", 100);  // already in the view
  linkEvent(NetEvent::Type::LinkChanged, "usb0", true);                // nothing changed
  linkEvent(NetEvent::Type::LinkChanged, "eth0", true);
  NetEvent addr;
  addr.type = NetEvent::Type::AddrAdded;  // eth0's own address, already known
  addr.addr = AddrInfo{nl.indexOf("eth0"), "eth0", *Ipv4Prefix::parse("10.0.1.2/24")};
  nl.view.apply(addr);
  mgr->onNetEvent(addr);
  NetEvent resync;  // an overrun whose fresh read found the same picture
  resync.type = NetEvent::Type::Resync;
  mgr->onNetEvent(resync);
  io.poll();

  EXPECT_EQ(nl.ops.size(), nlOps) << "netlink writes";
  EXPECT_EQ(fw.calls, fwCalls) << "firewall applies/resets";
  EXPECT_EQ(dhcp.calls, dhcpCalls) << "DHCP calls";
  EXPECT_EQ(sysctl.reads + sysctl.writes, sysctlCalls) << "sysctl calls";
  EXPECT_EQ(stateOf(*mgr, "usb0"), IState::Tethered);
  EXPECT_EQ(fw.rules(), kUsbViaEth0);
}

// Issue 13: at a switch, the flows NATed to the old upstream's addresses are removed, its IPv6
// ones (nat66) with its IPv4 ones; nothing at a change that keeps the upstream, nor for an
// address the new upstream has too.
TEST_F(TetherManagerTest, ASwitchRemovesTheFlowsNatedToTheOldUpstreamsIpv4AndIpv6Addresses) {
  struct FakeConntrack : Conntrack {
    Lines calls;
    Result<int> removeNatedTo(Ipv4Address a) override {
      calls.push_back("nated to " + a.str());
      return 1;
    }
    Result<int> removeNatedTo6(const Ipv6Address& a) override {
      calls.push_back("nated to " + a.str());
      return 2;
    }
  } ct;
  nl.syncView();
  nl.view.addrs6 = {{nl.indexOf("eth0"), "eth0", *Ipv6Prefix::parse("2001:db8:1::2/64")},
                    {nl.indexOf("eth0"), "eth0", *Ipv6Prefix::parse("fd00:1::2/64")},
                    {nl.indexOf("wwan0"), "wwan0", *Ipv6Prefix::parse("2001:db8:2::2/64")}};
  ManagerDeps deps{io, nl, fw, sysctl, nl.view};
  deps.conntrack = &ct;
  mgr = std::make_unique<TetherManager>(deps, dhcp, config, [](const Event&) {});
  ASSERT_TRUE(mgr->start());
  ASSERT_TRUE(mgr->startTethering());
  ASSERT_EQ(mgr->upstream(), "eth0");
  EXPECT_EQ(ct.calls, Lines{});  // the first upstream: nothing before it
  routeEvent(NetEvent::Type::RouteAdded, "eth0", "10.0.1.253", 300);  // no switch
  EXPECT_EQ(ct.calls, Lines{});
  routeEvent(NetEvent::Type::RouteRemoved, "eth0", "10.0.1.254", 100);
  routeEvent(NetEvent::Type::RouteRemoved, "eth0", "10.0.1.253", 300);
  ASSERT_EQ(mgr->upstream(), "wwan0");
  EXPECT_EQ(ct.calls, (Lines{"nated to 10.0.1.2", "nated to 2001:db8:1::2", "nated to fd00:1::2"}));
  ct.calls.clear();
  routeEvent(NetEvent::Type::RouteAdded, "eth0", "10.0.1.254", 100);  // back to eth0: wwan0's go
  ASSERT_EQ(mgr->upstream(), "eth0");
  EXPECT_EQ(ct.calls, (Lines{"nated to 2001:db8:2::2"}));  // wwan0 has no IPv4 address here
}

}  // namespace

// Strict rp_filter on a candidate (issue 13): said as an event (and a log line) once each time
// the candidate appears, not at every reconcile.
TEST_F(TetherManagerTest, StrictRpFilterOnACandidateIsAnEventOnce) {
  sysctl.values["net/ipv4/conf/all/rp_filter"] = "0";
  sysctl.values["net/ipv4/conf/wwan0/rp_filter"] = "1";
  mgr = make();
  ASSERT_TRUE(mgr->startTethering());
  linkEvent(NetEvent::Type::LinkChanged, "eth0", false);
  linkEvent(NetEvent::Type::LinkChanged, "eth0", true);
  const std::string line =
      "611 Upstream problem wwan0 has strict reverse-path filtering (rp_filter=1): replies to its health probes, and to "
      "tethered traffic while it is not the main table's default route, are dropped; use loose mode: sysctl "
      "net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.wwan0.rp_filter=2";
  EXPECT_EQ(std::count(events.begin(), events.end(), line), 1) << ::testing::PrintToString(events);
  EXPECT_EQ(std::count_if(events.begin(), events.end(), [](const std::string& e) { return e.find("problem eth0") != std::string::npos; }), 0);
}
