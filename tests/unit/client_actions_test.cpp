// ClientActions: where a client is decides what a kick does; a block is the firewall's plus the
// soft AP's deny list, all or nothing.
#include "tether/core/client_actions.h"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

#include "fakes.h"
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
    std::filesystem::create_directories(config.stateDir);
    std::ofstream(dnsmasqLeasePath(config.stateDir, ifname), std::ios::app) << "0 " << mac << " " << ip << " * *\n";
  }
  ClientActions make() {
    return ClientActions(*manager, [this] { return config.stateDir; }, hooks);
  }
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

}  // namespace
