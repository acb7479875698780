// The dnsmasq argv, servers file and lease parsing, by their exact text.
//
// The argv below was run by hand with dnsmasq 2.90 in a network namespace holding the
// downstream veth (192.168.42.1/24) and a second interface (10.9.0.1/24): `ss -lunp` showed
// DNS on 192.168.42.1:53 and the downstream's link-local address only (not 0.0.0.0, not
// 127.0.0.1, not 10.9.0.1), DHCP on 0.0.0.0%<if>:67; udhcpc and dhclient in a peer namespace
// got leases in < 0.1 s and they appeared in the lease file, with dnsmasq running as nobody.
#include "tether/system/dnsmasq.h"

#include <gtest/gtest.h>

using namespace tetherd;

namespace {

DnsmasqDownstream usb0() {
  DnsmasqDownstream d;
  d.ifname = "usb0";
  d.subnet = *Ipv4Prefix::parse("192.168.42.0/24");
  d.address = *Ipv4Address::parse("192.168.42.1");
  d.firstHost = 10;
  d.lastHost = 250;
  d.leaseTimeSec = 3600;
  return d;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

TEST(DnsmasqArgv, UsbDownstreamExactArgv) {
  auto argv = dnsmasqArgv("/usr/sbin/dnsmasq", usb0(), "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(argv) << argv.error().message;
  std::vector<std::string> expected = {
      "/usr/sbin/dnsmasq",
      "-C",
      "/dev/null",
      "--keep-in-foreground",
      "--no-resolv",
      "--no-poll",
      "--no-hosts",
      "--bind-dynamic",
      "--interface=usb0",
      "--except-interface=lo",
      "--dhcp-range=set:usb0,192.168.42.10,192.168.42.250,255.255.255.0,3600s",
      "--dhcp-option=tag:usb0,option:router,192.168.42.1",
      "--dhcp-option=tag:usb0,option:dns-server,192.168.42.1",
      "--dhcp-authoritative",
      "--dhcp-leasefile=/var/lib/tetherd/dnsmasq-usb0.leases",
      "--servers-file=/run/tetherd/dnsmasq-servers.conf",
      "--pid-file=/run/tetherd/dnsmasq-usb0.pid",
      "--log-facility=-",
      "--log-dhcp",
      "--no-ping",
  };
  EXPECT_EQ(*argv, expected);
}

TEST(DnsmasqArgv, NeverListensBeyondItsInterface) {
  auto argv = dnsmasqArgv("/usr/sbin/dnsmasq", usb0(), "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(argv);
  std::string all = joined(*argv);
  EXPECT_EQ(all.find("--listen-address"), std::string::npos);
  EXPECT_EQ(all.find("--bind-interfaces"), std::string::npos);  // dies while the interface is missing
  EXPECT_EQ(all.find("--user"), std::string::npos);             // keeps dropping root
  EXPECT_EQ(all.find("--dhcp-script"), std::string::npos);
}

TEST(DnsmasqArgv, HostBitsInSubnetAndTrailingSlashesAreNormalized) {
  auto d = usb0();
  d.subnet = *Ipv4Prefix::parse("192.168.42.1/24");
  auto argv = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd/", "/var/lib/tetherd//");
  ASSERT_TRUE(argv);
  EXPECT_EQ((*argv)[10], "--dhcp-range=set:usb0,192.168.42.10,192.168.42.250,255.255.255.0,3600s");
  EXPECT_EQ((*argv)[14], "--dhcp-leasefile=/var/lib/tetherd/dnsmasq-usb0.leases");
  EXPECT_EQ((*argv)[16], "--pid-file=/run/tetherd/dnsmasq-usb0.pid");
}

TEST(DnsmasqArgv, SmallSubnet) {
  DnsmasqDownstream d;
  d.ifname = "wlan0";
  d.subnet = *Ipv4Prefix::parse("10.0.5.16/28");
  d.address = *Ipv4Address::parse("10.0.5.17");
  d.firstHost = 2;
  d.lastHost = 14;
  d.leaseTimeSec = 600;
  auto argv = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(argv) << argv.error().message;
  EXPECT_EQ((*argv)[10], "--dhcp-range=set:wlan0,10.0.5.18,10.0.5.30,255.255.255.240,600s");
  EXPECT_EQ((*argv)[11], "--dhcp-option=tag:wlan0,option:router,10.0.5.17");
}

TEST(DnsmasqArgv, InvalidIfnameRefused) {
  for (std::string bad : {"", "usb0,set:x", "usb 0", "a/b", "toolonginterface0", "usb0\n", "eth0:1", "..", "-"}) {
    auto d = usb0();
    d.ifname = bad;
    auto argv = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
    if (bad == "-") {  // odd but harmless: a valid name made of an allowed character
      EXPECT_TRUE(argv);
      continue;
    }
    ASSERT_FALSE(argv) << "accepted '" << bad << "'";
    EXPECT_EQ(argv.error().code, Errc::InvalidArgument);
    EXPECT_NE(argv.error().message.find("interface name"), std::string::npos) << argv.error().message;
  }
}

TEST(DnsmasqArgv, BadPathsRefused) {
  EXPECT_FALSE(dnsmasqArgv("dnsmasq", usb0(), "/run/tetherd", "/var/lib/tetherd"));
  EXPECT_FALSE(dnsmasqArgv("/usr/sbin/dnsmasq", usb0(), "run", "/var/lib/tetherd"));
  EXPECT_FALSE(dnsmasqArgv("/usr/sbin/dnsmasq", usb0(), "/run/tetherd", ""));
  auto r = dnsmasqArgv("/usr/sbin/dnsmasq", usb0(), "/run/teth\nerd", "/var/lib/tetherd");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("run_dir"), std::string::npos) << r.error().message;
}

TEST(DnsmasqArgv, AddressAndPoolMustFitTheSubnet) {
  auto d = usb0();
  d.address = *Ipv4Address::parse("192.168.43.1");
  EXPECT_FALSE(dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd"));
  d = usb0();
  d.address = *Ipv4Address::parse("192.168.42.255");
  EXPECT_FALSE(dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd"));
  d = usb0();
  d.lastHost = 255;
  EXPECT_FALSE(dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd"));
  d = usb0();
  d.firstHost = 100;
  d.lastHost = 99;
  EXPECT_FALSE(dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd"));
  d = usb0();
  d.firstHost = 1;  // would hand out the router's own address
  auto r = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("own address"), std::string::npos) << r.error().message;
  d = usb0();
  d.leaseTimeSec = 60;
  EXPECT_FALSE(dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd"));
  d = usb0();
  d.subnet = *Ipv4Prefix::parse("192.168.42.0/31");
  EXPECT_FALSE(dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd"));
}

TEST(DnsmasqServersFile, OneServerLinePerUpstreamServer) {
  EXPECT_EQ(dnsmasqServersFile({*Ipv4Address::parse("1.1.1.1"), *Ipv4Address::parse("192.168.1.254")}),
            "server=1.1.1.1\nserver=192.168.1.254\n");
  EXPECT_EQ(dnsmasqServersFile({}), "");
}

TEST(DnsmasqPaths, PerInterfaceFiles) {
  EXPECT_EQ(dnsmasqPidPath("/run/tetherd", "usb0"), "/run/tetherd/dnsmasq-usb0.pid");
  EXPECT_EQ(dnsmasqLeasePath("/var/lib/tetherd", "usb0"), "/var/lib/tetherd/dnsmasq-usb0.leases");
  EXPECT_EQ(dnsmasqServersPath("/run/tetherd"), "/run/tetherd/dnsmasq-servers.conf");
}

TEST(DnsmasqLease, GoodLine) {
  auto l = parseLeaseLine("1795253653 46:4F:12:fd:1a:b9 192.168.42.74 tdpclient 01:46:4f:12:fd:1a:b9");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->expiry, 1795253653);
  EXPECT_EQ(l->mac, "46:4f:12:fd:1a:b9");
  EXPECT_EQ(l->ip.str(), "192.168.42.74");
  EXPECT_EQ(l->hostname, "tdpclient");
  EXPECT_EQ(l->clientId, "01:46:4f:12:fd:1a:b9");
}

TEST(DnsmasqLease, StarHostnameAndClientIdAreEmpty) {
  auto l = parseLeaseLine("1795253660 02:00:00:00:00:02 192.168.42.238 * *");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->hostname, "");
  EXPECT_EQ(l->clientId, "");
  auto infinite = parseLeaseLine("0 02:00:00:00:00:02 192.168.42.238 phone *");
  ASSERT_TRUE(infinite);
  EXPECT_EQ(infinite->expiry, 0);
}

TEST(DnsmasqLease, MalformedLinesRefusedWithCause) {
  struct Case {
    std::string line;
    std::string cause;
  };
  std::vector<Case> cases = {
      {"1795253660 02:00:00:00:00:02 192.168.42.238 *", "wrong number of fields"},
      {"1795253660 02:00:00:00:00:02 192.168.42.238 * * extra", "wrong number of fields"},
      {"garbage", "wrong number of fields"},
      {"17952x3660 02:00:00:00:00:02 192.168.42.238 * *", "bad expiry"},
      {"-5 02:00:00:00:00:02 192.168.42.238 * *", "bad expiry"},
      {"99999999999999999999999 02:00:00:00:00:02 192.168.42.238 * *", "bad expiry"},
      {"1795253660 02:00:00:00:00 192.168.42.238 * *", "bad MAC"},
      {"1795253660 32-02:00:00:00:00:02 192.168.42.238 * *", "bad MAC"},  // non-Ethernet hardware type
      {"1795253660 02:00:00:00:00:02 192.168.42.256 * *", "bad IPv4"},
      {"1795253660 02:00:00:00:00:02 fd00::5 * 00:01", "bad IPv4"},
      {"1795253660 02:00:00:00:00:02 192.168.42.238 " + std::string(254, 'a') + " *", "hostname too long"},
      {"1795253660 02:00:00:00:00:02 192.168.42.238 bad;name *", "not allowed"},
      {"1795253660 02:00:00:00:00:02 192.168.42.238 * 0g:11", "bad client id"},
      {"1795253660 02:00:00:00:00:02 192.168.42.238 * 01:2", "bad client id"},
      {"1795253660 02:00:00:00:00:02 192.168.42.238 host\x1b[31m *", "control"},
      {std::string("1795253660 02:00:00:00:00:02 192.168.42.238 h\0st *", 50), "control"},
      {"1795253660 02:00:00:00:00:02 192.168.42.238 h\xc3\xa9 *", "non-ASCII"},
      {"1795253660 02:00:00:00:00:02 192.168.42.238 * *\r", "control"},
      {std::string(2000, '1'), "too long"},
  };
  for (const auto& c : cases) {
    auto l = parseLeaseLine(c.line);
    ASSERT_FALSE(l) << "accepted: " << c.line;
    EXPECT_EQ(l.error().code, Errc::InvalidArgument);
    EXPECT_NE(l.error().message.find(c.cause), std::string::npos) << c.line << " -> " << l.error().message;
  }
  // The longest allowed hostname is fine.
  EXPECT_TRUE(parseLeaseLine("1 02:00:00:00:00:02 192.168.42.238 " + std::string(kMaxLeaseHostname, 'a') + " *"));
}

TEST(DnsmasqLease, FileSkipsBadLinesNamingThem) {
  std::string text =
      "duid 00:01:00:01:2c:aa:bb:cc:dd:ee:ff:00:11\n"
      "1795253663 02:00:00:00:00:03 192.168.42.239 * 01:02:00:00:00:00:03\n"
      "this is not a lease\n"
      "\n"
      "1795253660 02:00:00:00:00:02 192.168.42.238 vm *\n"
      "\x01\x02\xff\xfe binary \x7f\n"
      "1795253653 46:4f:12:fd:1a:b9 192.168.42.74 tdpclient 01:46:4f:12:fd:1a:b9\n"
      "1795253699 46:4f:12:fd:1a";  // truncated by a concurrent rewrite
  std::vector<std::string> errors;
  auto leases = parseLeaseFile(text, &errors);
  ASSERT_EQ(leases.size(), 3u);
  EXPECT_EQ(leases[0].ip.str(), "192.168.42.239");
  EXPECT_EQ(leases[1].hostname, "vm");
  EXPECT_EQ(leases[2].mac, "46:4f:12:fd:1a:b9");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0], "line 3: bad expiry time 'this'");  // five words, but not a lease
  EXPECT_EQ(errors[1].rfind("line 6: control or non-ASCII", 0), 0u) << errors[1];
  EXPECT_EQ(errors[2], "line 8: wrong number of fields (2, expected 5)");
}

TEST(DnsmasqLease, EmptyAndNullErrorsAreFine) {
  EXPECT_TRUE(parseLeaseFile("", nullptr).empty());
  EXPECT_TRUE(parseLeaseFile("\n\n", nullptr).empty());
  EXPECT_EQ(parseLeaseFile("junk\n1 02:00:00:00:00:02 10.0.0.2 * *", nullptr).size(), 1u);
  // The last line needs no newline.
  auto one = parseLeaseFile("1 02:00:00:00:00:02 10.0.0.2 a *", nullptr);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].hostname, "a");
}
