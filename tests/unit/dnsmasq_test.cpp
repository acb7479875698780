// The dnsmasq argv, servers file and lease parsing, by their exact text.
//
// The argv below was run by hand with dnsmasq 2.90 in a network namespace holding the
// downstream veth (192.168.42.1/24) and a second interface (10.9.0.1/24): `ss -lunp` showed
// DNS on 192.168.42.1:53 and the downstream's link-local address only (not 0.0.0.0, not
// 127.0.0.1, not 10.9.0.1), DHCP on 0.0.0.0%<if>:67; udhcpc and dhclient in a peer namespace
// got leases in < 0.1 s and they appeared in the lease file, with dnsmasq running as nobody (now as Debian's dnsmasq user: dnsmasqUser()).
#include "tether/system/dnsmasq.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tether/core/dhcp_service.h"

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
      "--dhcp-hostsfile=/run/tetherd/dnsmasq-hosts-usb0.conf",
      "--pid-file=/run/tetherd/dnsmasq-usb0.pid",
      "--log-facility=-",
      "--log-dhcp",
      "--no-ping",
      "--servers-file=/run/tetherd/dnsmasq-servers.conf",
      "--local=/lan/",
      "--domain=lan",
  };
  EXPECT_EQ(*argv, expected);
  // No local domain: neither --local nor --domain.
  auto d = usb0();
  d.domain.clear();
  argv = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(argv);
  expected.resize(expected.size() - 2);
  EXPECT_EQ(*argv, expected);
  d.domain = "home.example";
  EXPECT_EQ(dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd")->back(), "--domain=home.example");
  d.domain = "lan,server=/x/1.2.3.4";  // never reaches argv (the config refuses it first)
  EXPECT_EQ(dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd").error().message,
            "dnsmasq for usb0: domain 'lan,server=/x/1.2.3.4' is not a domain name");
}

// Issue 15: before a stale kill, the process's command line must be our own instance.
TEST(DnsmasqArgv, OwnInstanceRecognisedByItsWholeCommandLine) {
  auto argv = dnsmasqArgv("/usr/sbin/dnsmasq", usb0(), "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(argv);
  EXPECT_TRUE(isOwnDnsmasq(*argv, "/usr/sbin/dnsmasq", "/run/tetherd", "/var/lib/tetherd"));
  EXPECT_TRUE(isOwnDnsmasq(*argv, "/usr/sbin/dnsmasq", "/run/tetherd/", "/var/lib/tetherd", "usb0"));
  EXPECT_FALSE(isOwnDnsmasq(*argv, "/usr/sbin/dnsmasq", "/run/tetherd", "/var/lib/tetherd", "wlan0"));
  EXPECT_FALSE(isOwnDnsmasq(*argv, "/usr/local/sbin/dnsmasq", "/run/tetherd", "/var/lib/tetherd"));
  EXPECT_FALSE(isOwnDnsmasq(*argv, "/usr/sbin/dnsmasq", "/run/other", "/var/lib/tetherd"));
  EXPECT_FALSE(isOwnDnsmasq(*argv, "/usr/sbin/dnsmasq", "/run/tetherd", "/var/lib/other"));
  EXPECT_FALSE(isOwnDnsmasq({}, "/usr/sbin/dnsmasq", "/run/tetherd", "/var/lib/tetherd"));
  // Another dnsmasq on the system (libvirt's, say), even one naming our pid file.
  std::vector<std::string> libvirt = {"/usr/sbin/dnsmasq", "--conf-file=/var/lib/libvirt/dnsmasq/default.conf",
                                      "--leasefile-ro", "--pid-file=/run/tetherd/dnsmasq-usb0.pid"};
  EXPECT_FALSE(isOwnDnsmasq(libvirt, "/usr/sbin/dnsmasq", "/run/tetherd", "/var/lib/tetherd"));
  auto noC = *argv;
  noC[2] = "/etc/dnsmasq.conf";
  EXPECT_FALSE(isOwnDnsmasq(noC, "/usr/sbin/dnsmasq", "/run/tetherd", "/var/lib/tetherd"));
  auto twoIfs = *argv;
  twoIfs.push_back("--interface=eth0");
  EXPECT_FALSE(isOwnDnsmasq(twoIfs, "/usr/sbin/dnsmasq", "/run/tetherd", "/var/lib/tetherd"));
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

namespace {
Ipv4Address ip4(const char* text) { return *Ipv4Address::parse(text); }
}  // namespace

TEST(DnsmasqLease, GoodLine) {
  auto l = parseLeaseLine("1795253653 46:4F:12:fd:1a:b9 192.168.42.74 tdpclient 01:46:4f:12:fd:1a:b9");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(*l, (Lease{1795253653, 1, "46:4f:12:fd:1a:b9", "46:4f:12:fd:1a:b9", ip4("192.168.42.74"), "tdpclient",
                       "01:46:4f:12:fd:1a:b9"}));
}

TEST(DnsmasqLease, StarHostnameAndClientIdAreEmpty) {
  auto l = parseLeaseLine("1795253660 02:00:00:00:00:02 192.168.42.238 * *");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(*l, (Lease{1795253660, 1, "02:00:00:00:00:02", "02:00:00:00:00:02", ip4("192.168.42.238"), "", ""}));
  auto infinite = parseLeaseLine("0 02:00:00:00:00:02 192.168.42.238 phone *");
  ASSERT_TRUE(infinite);
  EXPECT_EQ(*infinite, (Lease{0, 1, "02:00:00:00:00:02", "02:00:00:00:00:02", ip4("192.168.42.238"), "phone", ""}));
}

// dnsmasq writes "<type>-" before the address for every hardware type but Ethernet's, and for
// a request without an address (hardware length 0); the type is two hex digits.
TEST(DnsmasqLease, EveryHardwareAddressForm) {
  struct Case {
    std::string hw;
    int type;
    std::string addr, mac;
  };
  std::vector<Case> cases = {
      {"02:00:00:00:00:02", 1, "02:00:00:00:00:02", "02:00:00:00:00:02"},              // Ethernet
      {"06-02:de:ad:be:ef:01", 6, "02:de:ad:be:ef:01", "02:de:ad:be:ef:01"},           // IEEE 802
      {"06-02:DE:AD:BE:EF:01", 6, "02:de:ad:be:ef:01", "02:de:ad:be:ef:01"},           // upper case
      {"0f-02:de:ad:be:ef:01", 15, "02:de:ad:be:ef:01", "02:de:ad:be:ef:01"},          // any type's EUI-48
      {"00-02:de:ad:be:ef:01", 1, "02:de:ad:be:ef:01", "02:de:ad:be:ef:01"},           // type 0: Ethernet, as dnsmasq reads it
      {"20-", 0x20, "", ""},                                                         // length 0 (InfiniBand)
      {"01-", 1, "", ""},                                                            // Ethernet, length 0
      {"00-", 0, "", ""},                                                            // no type, no address
      {"ff-0a:0b", 255, "0a:0b", ""},                                                // 2 bytes: no MAC
      {"02:00:00:00:00", 1, "02:00:00:00:00", ""},                                   // Ethernet, 5 bytes
      {"20-00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f", 0x20,
       "00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f", ""},                       // 16 bytes: chaddr's size
  };
  for (const auto& c : cases) {
    auto l = parseLeaseLine("1700000600 " + c.hw + " 192.168.42.10 * *");
    ASSERT_TRUE(l) << c.hw << ": " << l.error().message;
    EXPECT_EQ(*l, (Lease{1700000600, c.type, c.addr, c.mac, ip4("192.168.42.10"), "", ""})) << c.hw;
  }
}

// What dnsmasq writes, and parseLeaseLine reads back.
TEST(DnsmasqLease, FormatIsDnsmasqsLine) {
  std::vector<std::pair<Lease, std::string>> cases = {
      {{0, 1, "02:00:00:00:00:02", "02:00:00:00:00:02", ip4("10.0.0.2"), "", ""}, "0 02:00:00:00:00:02 10.0.0.2 * *"},
      {{1700000600, 6, "02:de:ad:be:ef:01", "02:de:ad:be:ef:01", ip4("10.0.0.3"), "tr", "01:02:de:ad:be:ef:01"},
       "1700000600 06-02:de:ad:be:ef:01 10.0.0.3 tr 01:02:de:ad:be:ef:01"},
      {{5, 0x20, "", "", ip4("10.0.0.4"), "", "ff:00:01"}, "5 20- 10.0.0.4 * ff:00:01"},
      {{5, 1, "", "", ip4("10.0.0.5"), "", ""}, "5 01- 10.0.0.5 * *"},
  };
  for (const auto& [lease, line] : cases) {
    EXPECT_EQ(formatLeaseLine(lease), line);
    auto back = parseLeaseLine(line);
    ASSERT_TRUE(back) << line;
    EXPECT_EQ(*back, lease);
  }
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
      {"1795253660 02:00:00:00:00:0 192.168.42.238 * *", "bad hardware address"},
      {"1795253660 02-00-00-00-00-02 192.168.42.238 * *", "bad hardware address"},
      {"1795253660 zz-02:00:00:00:00:02 192.168.42.238 * *", "bad hardware address"},
      {"1795253660 -1-02:00:00:00:00:02 192.168.42.238 * *", "bad hardware address"},
      {"1795253660 6-02:00:00:00:00:02 192.168.42.238 * *", "bad hardware address"},
      {"1795253660 106-02:00:00:00:00:02 192.168.42.238 * *", "bad hardware address"},
      {"1795253660 06-02:00:00:00:00:02: 192.168.42.238 * *", "bad hardware address"},
      {"1795253660 20-00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10 192.168.42.238 * *", "bad hardware address"},
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

TEST(DnsmasqLease, Ipv6LinesAreRecognised) {
  EXPECT_TRUE(isIpv6LeaseLine("1700000600 1234567 fd00::5 phone 00:01:00:01:2c:aa:bb:cc:dd:ee:ff:00:11"));
  EXPECT_TRUE(isIpv6LeaseLine("0 T42 2001:db8::1 * *"));
  EXPECT_FALSE(isIpv6LeaseLine("1795253660 02:00:00:00:00:02 fd00::5 * 00:01")) << "a MAC is no IAID";
  EXPECT_FALSE(isIpv6LeaseLine("0 42 192.168.42.10 * *"));
  EXPECT_FALSE(isIpv6LeaseLine("0 42 fd00::zz * *"));
  EXPECT_FALSE(isIpv6LeaseLine("0 X42 fd00::5 * *"));
  EXPECT_FALSE(isIpv6LeaseLine("0 42 fd00::5 *"));
}

// A lease file as dnsmasq 2.90 writes it with DHCPv6 on: IPv4 leases, the duid line, the
// IPv6 leases. Every line is a lease, a skipped IPv6 lease, or a bad line naming its cause.
TEST(DnsmasqLease, FileSortsEveryLine) {
  std::string text =
      "1795253663 02:00:00:00:00:03 192.168.42.239 * 01:02:00:00:00:00:03\n"
      "this is not a lease\n"
      "\n"
      "0 06-02:de:ad:be:ef:01 192.168.42.240 tr *\n"
      "1795253660 20- 192.168.42.238 vm ff:00:00:00:01\n"
      "\x01\x02\xff\xfe binary \x7f\n"
      "1795253653 46:4f:12:fd:1a:b9 192.168.42.74 tdpclient 01:46:4f:12:fd:1a:b9\n"
      "duid 00:01:00:01:2c:aa:bb:cc:dd:ee:ff:00:11\n"
      "1795253670 1234567 fd00::5 phone 00:01:00:01:2c:aa:bb:cc:dd:ee:ff:00:11\n"
      "1795253671 T1234568 fd00::6 * *\n"
      "1795253699 46:4f:12:fd:1a";  // truncated by a concurrent rewrite
  LeaseFile f = parseLeaseFile(text);
  EXPECT_EQ(f.leases, (std::vector<Lease>{
                          {1795253663, 1, "02:00:00:00:00:03", "02:00:00:00:00:03", ip4("192.168.42.239"), "", "01:02:00:00:00:00:03"},
                          {0, 6, "02:de:ad:be:ef:01", "02:de:ad:be:ef:01", ip4("192.168.42.240"), "tr", ""},
                          {1795253660, 0x20, "", "", ip4("192.168.42.238"), "vm", "ff:00:00:00:01"},
                          {1795253653, 1, "46:4f:12:fd:1a:b9", "46:4f:12:fd:1a:b9", ip4("192.168.42.74"), "tdpclient",
                           "01:46:4f:12:fd:1a:b9"},
                      }));
  EXPECT_EQ(f.ipv6Leases, 2u);
  EXPECT_EQ(f.bad, (std::vector<LeaseFile::BadLine>{
                       {2, "this is not a lease", "bad expiry time 'this'"},
                       {6, "\x01\x02\xff\xfe binary \x7f", "control or non-ASCII byte in line"},
                       {11, "1795253699 46:4f:12:fd:1a", "wrong number of fields (2, expected 5)"},
                   }));
}

TEST(DnsmasqLease, EmptyFilesAndLastLineWithoutNewline) {
  EXPECT_TRUE(parseLeaseFile("").leases.empty());
  LeaseFile blank = parseLeaseFile("\n\n");
  EXPECT_TRUE(blank.leases.empty());
  EXPECT_TRUE(blank.bad.empty());
  EXPECT_EQ(parseLeaseFile("junk\n1 02:00:00:00:00:02 10.0.0.2 * *").leases.size(), 1u);
  auto one = parseLeaseFile("1 02:00:00:00:00:02 10.0.0.2 a *");
  ASSERT_EQ(one.leases.size(), 1u);
  EXPECT_EQ(one.leases[0].hostname, "a");
}

// The DHCP service's reader: a bad line is logged once however often the file is read (the page
// polls), a new bad line is logged when it appears, a missing file is no lease and no warning.
TEST(LeaseReader, LogsEachBadLineOnce) {
  auto dir = std::filesystem::temp_directory_path() / ("tetherd-leasereader-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "dnsmasq-usb0.leases").string();
  std::vector<std::string> warnings;
  LeaseReader reader([&warnings](const std::string& m) { warnings.push_back(m); });
  EXPECT_TRUE(reader.read(path).empty());
  EXPECT_TRUE(warnings.empty()) << "no file yet: no lease, nothing wrong";

  std::ofstream(path) << "0 06-02:de:ad:be:ef:01 192.168.42.10 * *\nnot a lease\n0 T1 fd00::1 * *\n";
  for (int i = 0; i < 3; ++i) {
    auto leases = reader.read(path);
    ASSERT_EQ(leases.size(), 1u);
    EXPECT_EQ(leases[0].mac, "02:de:ad:be:ef:01");
  }
  EXPECT_EQ(warnings, (std::vector<std::string>{"dnsmasq lease file " + path +
                                                " line 2 is not a lease, ignored: wrong number of fields (3, expected 5)"}));
  // dnsmasq rewrites the file: the same bad line elsewhere is not news; a new one is.
  std::ofstream(path) << "bad one\nnot a lease\n";
  EXPECT_TRUE(reader.read(path).empty());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[1], "dnsmasq lease file " + path + " line 1 is not a lease, ignored: wrong number of fields (2, expected 5)");

  // A flood of distinct bad lines: remembered up to a bound, then one last warning.
  std::string flood;
  for (size_t i = 0; i < LeaseReader::kMaxRemembered + 10; ++i) flood += "bad " + std::to_string(i) + "\n";
  std::ofstream(path) << flood;
  (void)reader.read(path);
  (void)reader.read(path);
  EXPECT_EQ(warnings.size(), LeaseReader::kMaxRemembered + 1);
  EXPECT_EQ(warnings.back(), "dnsmasq lease file " + path + ": more bad lines than tetherd remembers; further ones are not logged");
  std::filesystem::remove_all(dir);
}

// Issue 14: static leases reach dnsmasq through a per-downstream --dhcp-hostsfile.
TEST(DnsmasqHostsFile, OnlyTheHostsOfTheSubnetInOrder) {
  const std::vector<StaticLease> pins{
      {"02:00:00:00:00:02", *Ipv4Address::parse("192.168.42.50"), "laptop"},
      {"02:00:00:00:00:03", *Ipv4Address::parse("192.168.43.50"), ""},    // another downstream's
      {"02:00:00:00:00:01", *Ipv4Address::parse("192.168.42.9"), ""},
      {"02:00:00:00:00:04", *Ipv4Address::parse("192.168.42.255"), ""},   // broadcast
      {"02:00:00:00:00:05", *Ipv4Address::parse("192.168.42.0"), ""},     // network
  };
  EXPECT_EQ(dnsmasqHostsFile(pins, *Ipv4Prefix::parse("192.168.42.1/24")),
            "02:00:00:00:00:02,192.168.42.50,laptop\n02:00:00:00:00:01,192.168.42.9\n");
  EXPECT_EQ(dnsmasqHostsFile({}, *Ipv4Prefix::parse("192.168.42.1/24")), "");
}

TEST(DnsmasqHostsFile, HostLabels) {
  EXPECT_TRUE(validHostLabel("laptop"));
  EXPECT_TRUE(validHostLabel("My-PC2"));
  EXPECT_TRUE(validHostLabel(std::string(63, 'a')));
  EXPECT_FALSE(validHostLabel(std::string(64, 'a')));
  EXPECT_FALSE(validHostLabel(""));
  EXPECT_FALSE(validHostLabel("-pc"));
  EXPECT_FALSE(validHostLabel("pc-"));
  EXPECT_FALSE(validHostLabel("a.b"));
  EXPECT_FALSE(validHostLabel("a,b"));
  EXPECT_FALSE(validHostLabel("a b"));
}

// Debian's dnsmasq user (issue 13: the uidrange rule that steers dnsmasq's upstream queries
// must match nothing else of the appliance's, as nobody would): --user last; a name that is
// not a plain user name is refused, naming the field.
TEST(DnsmasqArgv, User) {
  DnsmasqDownstream d = usb0();
  auto argv = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(argv);
  EXPECT_EQ(std::count_if(argv->begin(), argv->end(), [](const std::string& a) { return a.starts_with("--user"); }), 0);
  d.user = "dnsmasq";
  argv = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(argv);
  EXPECT_EQ(std::count(argv->begin(), argv->end(), "--user=dnsmasq"), 1);
  for (const char* bad : {"root,x", "Dnsmasq", "-u", "a b", "", "dnsmasq\n--conf-file=/x"}) {
    d.user = bad;
    if (d.user.empty()) continue;
    auto r = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("user '"), std::string::npos) << r.error().message;
  }
}

TEST(DnsmasqUser, DebiansDnsmasqUserWhenThereIsOne) {
  const DnsmasqUser& u = dnsmasqUser();
  if (const passwd* pw = ::getpwnam("dnsmasq")) {
    EXPECT_EQ(u.name, "dnsmasq");
    EXPECT_EQ(u.uid, pw->pw_uid);
  } else {
    EXPECT_EQ(u.name, "");
    EXPECT_EQ(u.uid, ::getpwnam("nobody") ? std::optional<uint32_t>(::getpwnam("nobody")->pw_uid) : std::nullopt);
  }
}
