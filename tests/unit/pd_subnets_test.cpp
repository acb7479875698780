// Carving a delegated prefix into per-downstream /64s, kept stable through the state file.
#include "tether/core/pd_subnets.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

using namespace tetherd;

namespace {
Ipv6Prefix pfx(const char* s) { return *Ipv6Prefix::parse(s); }
}  // namespace

TEST(PdSubnets, Router) {
  EXPECT_EQ(pdRouter(pfx("2001:db8:100::/56"), 0).str(), "2001:db8:100::1/64");
  EXPECT_EQ(pdRouter(pfx("2001:db8:100::/56"), 1).str(), "2001:db8:100:1::1/64");
  EXPECT_EQ(pdRouter(pfx("2001:db8:100::/56"), 255).str(), "2001:db8:100:ff::1/64");
  EXPECT_EQ(pdRouter(pfx("2001:db8:100:1234::/64"), 0).str(), "2001:db8:100:1234::1/64");
}

TEST(PdSubnets, NewDownstreamsGetTheLowestNumbersInNameOrder) {
  auto c = carvePdSubnets(pfx("2001:db8:100::/60"), {"wlan0", "usb0"}, {});
  EXPECT_EQ(c.routers.at("usb0").str(), "2001:db8:100::1/64");
  EXPECT_EQ(c.routers.at("wlan0").str(), "2001:db8:100:1::1/64");
  EXPECT_TRUE(c.left.empty());
  EXPECT_EQ(formatPdSubnets(c.subnets), "usb0 0\nwlan0 1\n");
}

TEST(PdSubnets, StoredNumbersAreKeptAndReservedOnesAvoided) {
  PdSubnets stored{{"wlan0", 3}, {"bnep0", 0}};
  auto c = carvePdSubnets(pfx("2001:db8:300::/56"), {"wlan0", "usb0"}, stored);
  EXPECT_EQ(c.routers.at("wlan0").str(), "2001:db8:300:3::1/64");
  EXPECT_EQ(c.routers.at("usb0").str(), "2001:db8:300:1::1/64");  // 0 stays bnep0's
  EXPECT_EQ(formatPdSubnets(c.subnets), "bnep0 0\nusb0 1\nwlan0 3\n");
}

TEST(PdSubnets, TooSmallADelegationLeavesTheRestToNat66) {
  PdSubnets stored{{"wlan0", 0}};
  auto c = carvePdSubnets(pfx("2001:db8:1:2::/64"), {"usb0", "wlan0", "bnep0"}, stored);
  ASSERT_EQ(c.routers.size(), 1u);
  EXPECT_EQ(c.routers.at("wlan0").str(), "2001:db8:1:2::1/64");
  EXPECT_EQ(c.left, (std::vector<std::string>{"bnep0", "usb0"}));
  // A reservation gives way to a tethered downstream when nothing else is left.
  c = carvePdSubnets(pfx("2001:db8:1:2::/64"), {"usb0"}, stored);
  EXPECT_EQ(c.routers.at("usb0").str(), "2001:db8:1:2::1/64");
  EXPECT_EQ(formatPdSubnets(c.subnets), "usb0 0\n");
  // A stored number that no longer fits a shorter delegation is renumbered.
  c = carvePdSubnets(pfx("2001:db8:5::/63"), {"wlan0"}, {{"wlan0", 7}});
  EXPECT_EQ(c.routers.at("wlan0").str(), "2001:db8:5::1/64");
  EXPECT_EQ(formatPdSubnets(c.subnets), "wlan0 0\n");
  c = carvePdSubnets(pfx("2001:db8::/72"), {"wlan0"}, {});
  EXPECT_TRUE(c.routers.empty());
  EXPECT_EQ(c.left, (std::vector<std::string>{"wlan0"}));
}

TEST(PdSubnets, ParseRefusesBadLinesNamingTheFileAndLine) {
  auto p = parsePdSubnets("usb0 1\nwlan0 2\n", "/var/lib/tetherd/ipv6-pd-subnets");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->at("wlan0"), 2u);
  for (const char* bad : {"usb0\n", "usb0 x\n", "usb0 -1\n", "usb0 4294967296\n", "a/b 1\n", "usb0 1\nusb0 2\n",
                          "usb0 1 2\n"}) {
    auto r = parsePdSubnets(bad, "/s/f");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message.rfind("/s/f:", 0), 0u) << r.error().message;
  }
}

TEST(PdSubnets, LoadAndSave) {
  const std::string dir = std::filesystem::temp_directory_path() / ("pd_subnets_test." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/ipv6-pd-subnets";
  auto empty = loadPdSubnets(path);
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(savePdSubnets(path, {{"usb0", 4}}));
  auto back = loadPdSubnets(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->at("usb0"), 4u);
  std::filesystem::remove_all(dir);
}
