// IPv6 values, the ULA /48 file, and dnsmasq's IPv6 argv (issue 12).
#include <gtest/gtest.h>

#include "config/config.h"
#include "tether/base/ip6.h"
#include "tether/core/ula_store.h"
#include "tether/system/dnsmasq.h"

using namespace tetherd;

TEST(Ipv6Values, ParseFormatAndNetwork) {
  auto p = Ipv6Prefix::parse("fd12:3456:789a:e0f5::1/64");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->str(), "fd12:3456:789a:e0f5::1/64");
  EXPECT_EQ(p->network().str(), "fd12:3456:789a:e0f5::");
  EXPECT_TRUE(p->contains(*Ipv6Address::parse("fd12:3456:789a:e0f5:aa::9")));
  EXPECT_FALSE(p->contains(*Ipv6Address::parse("fd12:3456:789a:e0f6::1")));
  EXPECT_TRUE(p->address.isUla());
  EXPECT_TRUE(Ipv6Address::parse("fe80::1")->isLinkLocal());
  for (const char* bad : {"", "fd00::/", "fd00::/129", "fd00::/-1", "fd00::", "192.168.1.1/24", "fd00::/64x", "g::/64"})
    EXPECT_FALSE(Ipv6Prefix::parse(bad)) << bad;
}

TEST(Ipv6Values, UlaSubnetsOfA48) {
  const Ipv6Prefix p48 = ulaPrefix48(0x123456789aULL);
  EXPECT_EQ(p48.str(), "fd12:3456:789a::/48");
  EXPECT_EQ(subnet64Router(p48, 0xe0f5).str(), "fd12:3456:789a:e0f5::1/64");
  EXPECT_EQ(subnetIdFor("usb0"), 0xe0f5);  // a fixed function of the name: stable across restarts
  EXPECT_NE(subnetIdFor("usb0"), subnetIdFor("wlan0"));
}

TEST(Ipv6Values, ResolvConfIpv6Nameservers) {
  auto s = parseResolvConf6(
      "nameserver 10.0.0.1\nnameserver 2001:db8::53\r\nnameserver fe80::1%eth0\nnameserver fe80::1\n"
      "nameserver ::1\nnameserver ::ffff:10.0.0.2\nnameserverx 2001:db8::54\n# nameserver 2001:db8::55\n"
      "nameserver\tfd00::53 \nnameserver");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].str(), "2001:db8::53");
  EXPECT_EQ(s[1].str(), "fd00::53");
  EXPECT_EQ(dnsmasqServersFile({*Ipv4Address::parse("10.0.0.1")}, s), "server=10.0.0.1\nserver=2001:db8::53\nserver=fd00::53\n");
}

TEST(UlaStore, ParsesOnlyAUniqueLocal48) {
  auto ok = parseUlaPrefix("fd12:3456:789a::/48\n", "/s/ula-prefix");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->str(), "fd12:3456:789a::/48");
  EXPECT_EQ(parseUlaPrefix("2001:db8::/48\n", "/s/ula-prefix").error().message,
            "/s/ula-prefix: '2001:db8::/48' is not a unique local /48 (fdXX:XXXX:XXXX::/48)");
  EXPECT_FALSE(parseUlaPrefix("fd12:3456:789a::/56", "f"));
  EXPECT_FALSE(parseUlaPrefix("fd12:3456:789a:1::/48", "f"));
  EXPECT_FALSE(parseUlaPrefix("", "f"));
}

TEST(UlaStore, MadeOnceThenKept) {
  char dir[] = "/tmp/tetherd-ula-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/ula-prefix";
  auto first = loadUlaPrefix(path);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->length, 48);
  EXPECT_TRUE(first->address.isUla());
  auto again = loadUlaPrefix(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST(Ipv6Config, DomainAndDhcpv6ModeAreCheckedNamingTheCause) {
  EXPECT_EQ(defaultConfig().localDomain, "lan");
  EXPECT_FALSE(defaultConfig().dhcp6Stateful);
  auto c = parseConfig("[tethering]\ndomain = Home.Example\nipv6_dhcp = stateful\n", "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->localDomain, "home.example");
  EXPECT_TRUE(c->dhcp6Stateful);
  EXPECT_EQ(parseConfig("[tethering]\ndomain = none\n", "t.conf")->localDomain, "");
  for (const auto& [bad, cause] : std::vector<std::pair<std::string, std::string>>{
           {"lan,server=/x/1.2.3.4", "may have only letters, digits, '-' and '.'"},
           {"-lan", "starts or ends with '-'"},
           {"a..b", "an empty label"},
           {std::string(64, 'a'), "longer than 63"},
           {"l an", "may have only letters"}}) {
    auto r = parseConfig("[tethering]\ndomain = " + bad + "\n", "t.conf");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("domain"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(cause), std::string::npos) << r.error().message;
  }
  auto r = parseConfig("[tethering]\nipv6_dhcp = managed\n", "t.conf");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("ipv6_dhcp"), std::string::npos);
  EXPECT_NE(r.error().message.find("'managed' is not stateless or stateful"), std::string::npos);
}

TEST(DnsmasqArgv, Ipv6AddsRouterAdvertisementsStatelessOrStatefulDhcpv6AndDnssl) {
  DnsmasqDownstream d{"usb0", *Ipv4Prefix::parse("192.168.42.0/24"), *Ipv4Address::parse("192.168.42.1")};
  auto v4 = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(v4);
  d.address6 = Ipv6Prefix::parse("fd12:3456:789a:e0f5::1/64");
  auto argv = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(argv) << argv.error().message;
  std::vector<std::string> expected = *v4;
  expected.push_back("--enable-ra");
  expected.push_back("--dhcp-range=set:usb0,::,constructor:usb0,ra-stateless,ra-names,64,1h");
  expected.push_back("--dhcp-option=tag:usb0,option6:dns-server,[::]");
  expected.push_back("--dhcp-option=tag:usb0,option6:domain-search,lan");  // DNSSL in the RA, and DHCPv6's
  EXPECT_EQ(*argv, expected);
  EXPECT_TRUE(isOwnDnsmasq(*argv, "/usr/sbin/dnsmasq", "/run/tetherd", "/var/lib/tetherd", "usb0"));
  // Stateful: addresses from DHCPv6 too (M=1), SLAAC kept for clients without DHCPv6.
  d.dhcp6Stateful = true;
  argv = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(argv);
  expected[expected.size() - 3] = "--dhcp-range=set:usb0,::1000,::ffff,constructor:usb0,slaac,ra-names,64,1h";
  EXPECT_EQ(*argv, expected);
  d.dhcp6Stateful = false;

  d.address6 = Ipv6Prefix::parse("fd12:3456:789a:e0f5::/64");
  EXPECT_EQ(dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd").error().message,
            "dnsmasq for usb0: IPv6 address fd12:3456:789a:e0f5::/64 must be a host of a /64");
  d.address6 = Ipv6Prefix::parse("fd12:3456:789a:e0f5::1/56");
  EXPECT_FALSE(dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd"));
}
