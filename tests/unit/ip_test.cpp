#include "tether/base/ip.h"

#include <gtest/gtest.h>

using namespace tetherd;

TEST(Ipv4Address, ParsesAndFormats) {
  auto a = Ipv4Address::parse("192.168.42.1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, 0xC0A82A01u);
  EXPECT_EQ(a->str(), "192.168.42.1");
}

TEST(Ipv4Address, RejectsMalformed) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", "1..2.3", "-1.2.3.4"})
    EXPECT_FALSE(Ipv4Address::parse(bad)) << bad;
}

TEST(Ipv4Prefix, NetworkHostAndOverlap) {
  auto p = *Ipv4Prefix::parse("192.168.42.77/24");
  EXPECT_EQ(p.network().str(), "192.168.42.0");
  EXPECT_EQ(p.host(1).str(), "192.168.42.1");
  EXPECT_EQ(p.netmask().str(), "255.255.255.0");
  EXPECT_TRUE(p.contains(*Ipv4Address::parse("192.168.42.200")));
  EXPECT_FALSE(p.contains(*Ipv4Address::parse("192.168.43.1")));
  EXPECT_TRUE(p.overlaps(*Ipv4Prefix::parse("192.168.0.0/16")));
  EXPECT_FALSE(p.overlaps(*Ipv4Prefix::parse("192.168.43.0/24")));
  EXPECT_FALSE(Ipv4Prefix::parse("1.2.3.4/33"));
  EXPECT_FALSE(Ipv4Prefix::parse("1.2.3.4"));
}

TEST(Ifname, Validation) {
  EXPECT_TRUE(validIfname("usb0"));
  EXPECT_TRUE(validIfname("bt-pan"));
  EXPECT_FALSE(validIfname(""));
  EXPECT_FALSE(validIfname("0123456789abcdef"));  // 16 bytes
  EXPECT_FALSE(validIfname("a b"));
  EXPECT_FALSE(validIfname("a/b"));
  EXPECT_FALSE(validIfname(".."));
  EXPECT_FALSE(validIfname(std::string("a\nb")));
}

TEST(Mac, Normalizes) {
  EXPECT_EQ(*normalizeMac("AA:bb:0C:dd:EE:ff"), "aa:bb:0c:dd:ee:ff");
  EXPECT_FALSE(normalizeMac("aa:bb:cc:dd:ee"));
  EXPECT_FALSE(normalizeMac("aa-bb-cc-dd-ee-ff"));
  EXPECT_FALSE(normalizeMac("gg:bb:cc:dd:ee:ff"));
}

TEST(Mac, GroupBitMakesAMulticastAddress) {
  EXPECT_TRUE(isMulticastMac("01:00:5e:00:00:01"));
  EXPECT_TRUE(isMulticastMac("ff:ff:ff:ff:ff:ff"));
  EXPECT_TRUE(isMulticastMac("33:33:00:00:00:01"));
  EXPECT_FALSE(isMulticastMac("02:00:00:00:00:01"));
  EXPECT_FALSE(isMulticastMac("0a:bb:cc:dd:ee:ff"));
  EXPECT_FALSE(isMulticastMac("fe:00:00:00:00:00"));
}
