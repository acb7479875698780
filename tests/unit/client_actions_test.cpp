// ClientActions: where a client is decides what a kick does; a block is the firewall's plus the
// soft AP's deny list, all or nothing.
#include "tether/core/client_actions.h"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

#include "fakes.h"
#include "tether/control/tether_commands.h"
#include "tether/system/dnsmasq.h"

using namespace tetherd;
using namespace tetherd::testing;

namespace {

class ClientActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = freshTestDir("clients");
    config = testConfig(dir, {"eth0"});
    for (const char* n : {"lo", "eth0", "usb0", "bt-pan", "eth1", "wlan0"}) nl.addLink(n);
    nl.routeList.push_back(DefaultRoute{nl.indexOf("eth0"), "eth0", *Ipv4Address::parse("10.0.1.254"), 100});
    manager = std::make_unique<TetherManager>(ManagerDeps{io, nl, fw, sysctl, nl.syncView()}, dhcp, config, nullptr);
    ASSERT_TRUE(manager->start());
    ASSERT_TRUE(manager->startTethering());
    ASSERT_TRUE(manager->addInterface("eth1"));
    dhcp.stateDir = config.stateDir;
    lease("usb0", "02:00:00:00:00:01", "192.168.42.10");
    lease("bt-pan", "02:00:00:00:00:02", "192.168.44.10");
    lease("eth1", "02:00:00:00:00:03", "192.168.45.10");

    hooks.isWifiStation = [this](const std::string& mac) { return mac == station; };
    hooks.wifiKick = [this](const std::string& mac, std::function<void(Status)> done) {
      ops.push_back("deauth " + mac);
      done({});
    };
    hooks.wifiBlock = [this](const std::string& mac) -> Status {
      if (denyFails) return makeError(Errc::SystemError, "write hostapd.deny: No space left on device");
      ops.push_back("deny " + mac);
      denied.insert(mac);
      return {};
    };
    hooks.wifiUnblock = [this](const std::string& mac) -> Status {
      if (!denied.erase(mac)) return makeError(Errc::NotFound, mac + " is not blocked");
      ops.push_back("allow " + mac);
      return {};
    };
    hooks.wifiBlocked = [this] { return std::vector<std::string>(denied.begin(), denied.end()); };
    hooks.usbReplug = [this]() -> Status {
      ops.push_back("usb replug");
      return {};
    };
    hooks.bluetoothDisconnect = [this](const std::string& mac, std::function<void(Status)> done) {
      ops.push_back("bt disconnect " + mac);
      done({});
    };
  }
  void TearDown() override {
    manager.reset();
    std::filesystem::remove_all(dir);
  }
  void lease(const std::string& ifname, const std::string& mac, const std::string& ip) {
    leaseLine(ifname, "0 " + mac + " " + ip + " * *");
  }
  void leaseLine(const std::string& ifname, const std::string& line) {
    std::filesystem::create_directories(config.stateDir);
    std::ofstream(dnsmasqLeasePath(config.stateDir, ifname), std::ios::app) << line << "\n";
  }
  ClientActions make() { return ClientActions(*manager, dhcp, hooks); }
  Status kick(ClientActions& c, const std::string& mac) {
    Status out = makeError(Errc::Timeout, "not answered");
    c.kick(mac, [&out](Status st) { out = st; });
    io.run();
    io.restart();
    return out;
  }

  std::filesystem::path dir;
  boost::asio::io_context io;
  Config config;
  FakeNetlink nl;
  FakeFirewall fw;
  FakeSysctl sysctl;
  FakeDhcp dhcp;
  std::unique_ptr<TetherManager> manager;
  ClientHooks hooks;
  std::string station = "02:00:00:00:00:0a";
  std::set<std::string> denied;
  bool denyFails = false;
  std::vector<std::string> ops;
};

TEST_F(ClientActionsTest, KickDependsOnWhereTheClientIs) {
  auto c = make();
  ASSERT_TRUE(kick(c, "02:00:00:00:00:0A"));
  ASSERT_TRUE(kick(c, "02:00:00:00:00:01"));
  ASSERT_TRUE(kick(c, "02:00:00:00:00:02"));
  EXPECT_EQ(ops, (std::vector<std::string>{"deauth 02:00:00:00:00:0a", "usb replug", "bt disconnect 02:00:00:00:00:02"}));
  auto wired = kick(c, "02:00:00:00:00:03");
  ASSERT_FALSE(wired);
  EXPECT_EQ(wired.error().code, Errc::Unsupported);
  EXPECT_EQ(wired.error().message, "mac: 02:00:00:00:00:03 is on eth1 (ethernet): it cannot be disconnected from here; block it instead");
  auto unknown = kick(c, "02:00:00:00:00:99");
  EXPECT_EQ(unknown.error().code, Errc::NotFound);
  auto bad = kick(c, "02:00:00:00:00:01; reboot");
  EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
  EXPECT_EQ(bad.error().message.rfind("mac: ", 0), 0u);
  EXPECT_EQ(ops.size(), 3u) << "refused kicks touch nothing";
}

TEST_F(ClientActionsTest, KickWithoutThatRadioIsRefused) {
  hooks.usbReplug = nullptr;
  auto c = make();
  auto st = kick(c, "02:00:00:00:00:01");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::Unsupported);
}

TEST_F(ClientActionsTest, BlockIsFirewallPlusDenyListAllOrNothing) {
  auto c = make();
  ASSERT_TRUE(c.block("02:00:00:00:00:01"));
  EXPECT_EQ(manager->blockedClients(), (std::vector<std::string>{"02:00:00:00:00:01"}));
  EXPECT_EQ(denied, (std::set<std::string>{"02:00:00:00:00:01"}));
  EXPECT_EQ(fw.state.blockOn, (std::set<std::string>{"bt-pan", "eth1", "usb0", "wlan0"})) << "every served downstream";
  denyFails = true;
  auto st = c.block("02:00:00:00:00:02");
  ASSERT_FALSE(st);
  EXPECT_EQ(manager->blockedClients(), (std::vector<std::string>{"02:00:00:00:00:01"})) << "the firewall block is taken back";
  EXPECT_EQ(fw.state.blockedMacs, (std::set<std::string>{"02:00:00:00:00:01"}));
  denyFails = false;
  // Blocked on the soft AP alone (an older `softap block`): listed, and unblock frees it.
  denied.insert("02:00:00:00:00:0b");
  EXPECT_EQ(c.blocked(), (std::vector<std::string>{"02:00:00:00:00:01", "02:00:00:00:00:0b"}));
  ASSERT_TRUE(c.unblock("02:00:00:00:00:0b"));
  ASSERT_TRUE(c.unblock("02:00:00:00:00:01"));
  EXPECT_TRUE(c.blocked().empty());
  EXPECT_TRUE(fw.state.blockedMacs.empty());
  EXPECT_EQ(c.unblock("02:00:00:00:00:01").error().code, Errc::NotFound);
  EXPECT_EQ(c.block("nope").error().code, Errc::InvalidArgument);
}

TEST_F(ClientActionsTest, WithoutASoftApBlockIsTheFirewallAlone) {
  hooks = ClientHooks{};
  auto c = make();
  ASSERT_TRUE(c.block("02:00:00:00:00:03"));
  EXPECT_EQ(c.blocked(), (std::vector<std::string>{"02:00:00:00:00:03"}));
  ASSERT_TRUE(c.unblock("02:00:00:00:00:03"));
  EXPECT_EQ(c.unblock("02:00:00:00:00:03").error().code, Errc::NotFound);
}

// Issue 11: dnsmasq writes a request's non-Ethernet hardware type before the address
// ("06-" for IEEE 802); that client is found by its MAC like any other.
TEST_F(ClientActionsTest, ClientWithHardwareType6IsFoundByItsMac) {
  leaseLine("eth1", "1700000600 06-02:de:ad:be:ef:01 192.168.45.11 tr *");
  leaseLine("usb0", "0 06-02:de:ad:be:ef:02 192.168.42.11 * *");
  auto c = make();
  auto wired = kick(c, "02:DE:AD:BE:EF:01");
  ASSERT_FALSE(wired);
  EXPECT_EQ(wired.error().message, "mac: 02:de:ad:be:ef:01 is on eth1 (ethernet): it cannot be disconnected from here; block it instead");
  ASSERT_TRUE(kick(c, "02:de:ad:be:ef:02"));
  EXPECT_EQ(ops, (std::vector<std::string>{"usb replug"}));
  ASSERT_TRUE(c.block("02:de:ad:be:ef:01"));
  EXPECT_EQ(fw.state.blockedMacs, (std::set<std::string>{"02:de:ad:be:ef:01"}));
  EXPECT_TRUE(dhcp.leaseWarnings.empty());
}

// A lease without a hardware address (length 0: "20-") names no MAC: listed, never matched.
TEST_F(ClientActionsTest, LeaseWithoutHardwareAddressMatchesNoMac) {
  leaseLine("eth1", "0 20- 192.168.45.12 ib 01:02:03");
  auto c = make();
  EXPECT_EQ(kick(c, "00:00:00:00:00:00").error().code, Errc::NotFound);
  auto all = c.clients(1700000000);
  auto eth1 = std::find_if(all.begin(), all.end(), [](const DownstreamClients& d) { return d.ifname == "eth1"; });
  ASSERT_NE(eth1, all.end());
  ASSERT_EQ(eth1->leases.size(), 2u);
  EXPECT_EQ(eth1->leases[1], (Lease{0, 0x20, "", "", *Ipv4Address::parse("192.168.45.12"), "ib", "01:02:03"}));
}

// `client list` and the page: every configured downstream, in the manager's order, with its
// leases that have not expired (0 never does) — from the one reader.
TEST_F(ClientActionsTest, ClientsAreTheUnexpiredLeasesOfConfiguredDownstreams) {
  leaseLine("usb0", "1700000600 06-02:de:ad:be:ef:01 192.168.42.11 phone 01:02:de:ad:be:ef:01");
  leaseLine("usb0", "1600000000 02:00:00:00:00:09 192.168.42.12 gone *");
  leaseLine("usb0", "not a lease");
  leaseLine("lo", "0 02:00:00:00:00:0c 10.0.0.10 * *");  // not a downstream: not read
  auto c = make();
  Lease usb{0, 1, "02:00:00:00:00:01", "02:00:00:00:00:01", *Ipv4Address::parse("192.168.42.10"), "", ""};
  Lease tr{1700000600, 6, "02:de:ad:be:ef:01", "02:de:ad:be:ef:01", *Ipv4Address::parse("192.168.42.11"), "phone",
           "01:02:de:ad:be:ef:01"};
  Lease bt{0, 1, "02:00:00:00:00:02", "02:00:00:00:00:02", *Ipv4Address::parse("192.168.44.10"), "", ""};
  Lease wired{0, 1, "02:00:00:00:00:03", "02:00:00:00:00:03", *Ipv4Address::parse("192.168.45.10"), "", ""};
  std::vector<DownstreamClients> expected;
  for (const auto& d : manager->downstreams()) {
    if (!d.address) continue;
    if (d.ifname == "usb0") expected.push_back({"usb0", IfaceKind::Usb, {usb, tr}});
    if (d.ifname == "bt-pan") expected.push_back({"bt-pan", IfaceKind::Bluetooth, {bt}});
    if (d.ifname == "eth1") expected.push_back({"eth1", IfaceKind::Ethernet, {wired}});
    if (d.ifname == "wlan0") expected.push_back({"wlan0", d.kind, {}});
  }
  ASSERT_EQ(expected.size(), 4u);
  EXPECT_EQ(c.clients(1700000000), expected);
  // The bad line is logged once, however often the leases are read.
  (void)c.clients(1700000000);
  (void)c.downstreamOf("02:00:00:00:00:01");
  EXPECT_EQ(dhcp.leaseWarnings,
            (std::vector<std::string>{"dnsmasq lease file " + dnsmasqLeasePath(config.stateDir, "usb0") +
                                      " line 4 is not a lease, ignored: wrong number of fields (3, expected 5)"}));
}

// One `client list` line per lease, key=value words (tetherctl --json splits them into fields).
TEST(ClientListLine, ExactText) {
  DownstreamClients bt{"bt-pan", IfaceKind::Bluetooth, {}};
  Lease tr{1700000600, 6, "02:de:ad:be:ef:01", "02:de:ad:be:ef:01", *Ipv4Address::parse("192.168.44.10"), "tokenring", ""};
  EXPECT_EQ(describeClient(bt, tr, false),
            "mac=02:de:ad:be:ef:01 ip=192.168.44.10 hostname=tokenring downstream=bt-pan kind=bluetooth "
            "expires=1700000600 hwtype=6 client_id=none blocked=no");
  bt.ipv6["02:de:ad:be:ef:01"] = {*Ipv6Address::parse("fd12:3456:789a:e0f5::9"), *Ipv6Address::parse("fd12:3456:789a:e0f5::2")};
  EXPECT_EQ(describeClient(bt, tr, false),
            "mac=02:de:ad:be:ef:01 ip=192.168.44.10 hostname=tokenring downstream=bt-pan kind=bluetooth "
            "expires=1700000600 hwtype=6 client_id=none blocked=no ipv6=fd12:3456:789a:e0f5::2,fd12:3456:789a:e0f5::9");
  DownstreamClients eth{"eth1", IfaceKind::Ethernet, {}};
  Lease ib{0, 0x20, "", "", *Ipv4Address::parse("192.168.45.12"), "", "01:02:03"};
  EXPECT_EQ(describeClient(eth, ib, true),
            "mac=none ip=192.168.45.12 hostname=none downstream=eth1 kind=ethernet expires=never hwtype=32 "
            "client_id=01:02:03 blocked=yes");
}

}  // namespace
