// Issue 14 point 5: static leases. The pinned-clients file and the check a pin passes.
#include "tether/core/clients/pinned_clients.h"

#include <gtest/gtest.h>

namespace tetherd {
namespace {

Ipv4Address ip(const char* s) { return *Ipv4Address::parse(s); }

std::vector<PinSite> sites() {
  PinSite usb{"usb0", *Ipv4Prefix::parse("192.168.42.1/24"), ip("192.168.42.1"), {}};
  Lease a;
  a.mac = "02:00:00:00:00:0a";
  a.hwAddr = a.mac;
  a.ip = ip("192.168.42.10");
  usb.leases.push_back(a);
  PinSite wlan{"wlan0", *Ipv4Prefix::parse("192.168.43.1/24"), ip("192.168.43.1"), {}};
  return {usb, wlan};
}

TEST(PinnedClients, FileRoundTrip) {
  std::map<std::string, StaticLease> pins{
      {"02:00:00:00:00:01", {"02:00:00:00:00:01", ip("192.168.42.50"), "laptop"}},
      {"02:00:00:00:00:02", {"02:00:00:00:00:02", ip("192.168.43.7"), ""}},
  };
  const std::string text = formatPinnedClients(pins);
  EXPECT_EQ(text, "02:00:00:00:00:01 192.168.42.50 laptop\n02:00:00:00:00:02 192.168.43.7\n");
  auto back = parsePinnedClients(text, 256);
  EXPECT_EQ(back.pins, pins);
  EXPECT_TRUE(back.bad.empty());
}

TEST(PinnedClients, BadLinesAreNamed) {
  auto f = parsePinnedClients("# comment\n\n02:00:00:00:00:01 192.168.42.50\r\n"
                              "01:00:5e:00:00:01 192.168.42.51\n"
                              "02:00:00:00:00:03 192.168.42.50\n"
                              "02:00:00:00:00:01 192.168.42.52\n"
                              "02:00:00:00:00:04 300.1.1.1\n"
                              "02:00:00:00:00:05 192.168.42.53 bad_name\n"
                              "junk\n"
                              "02:00:00:00:00:06 192.168.42.54\n"
                              "02:00:00:00:00:07 192.168.42.55\n",
                              2);
  ASSERT_EQ(f.pins.size(), 2u);
  EXPECT_EQ(f.pins.at("02:00:00:00:00:01").ip, ip("192.168.42.50"));
  EXPECT_EQ(f.pins.at("02:00:00:00:00:06").ip, ip("192.168.42.54"));
  const std::vector<PinnedClientsFile::Bad> bad{
      {4, "mac: 01:00:5e:00:00:01 is a multicast address, not a client"},
      {5, "192.168.42.50 is pinned to another MAC on an earlier line"},
      {6, "02:00:00:00:00:01 is pinned on an earlier line"},
      {7, "ip: '300.1.1.1' is not an IPv4 address"},
      {8, "hostname: 'bad_name' is not a host name (1-63 of A-Z a-z 0-9 -, not starting or ending with -)"},
      {9, "'junk' is not '<mac> <ip> [<hostname>]'"},
      {11, "02:00:00:00:00:07: more than 2 pinned clients"},
  };
  EXPECT_EQ(f.bad, bad);
}

TEST(PinnedClients, CheckPinTakesAGoodOne) {
  auto p = checkPin("02:00:00:00:00:AB", std::string("192.168.43.20"), "tablet", sites(), {});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(*p, (StaticLease{"02:00:00:00:00:ab", ip("192.168.43.20"), "tablet"}));
  // Without an address: the client's current lease.
  auto cur = checkPin("02:00:00:00:00:0a", std::nullopt, "", sites(), {});
  ASSERT_TRUE(cur) << cur.error().message;
  EXPECT_EQ(cur->ip, ip("192.168.42.10"));
  // A client may re-pin to its own leased address or move its own pin.
  std::map<std::string, StaticLease> pins{{"02:00:00:00:00:0a", {"02:00:00:00:00:0a", ip("192.168.42.10"), ""}}};
  EXPECT_TRUE(checkPin("02:00:00:00:00:0a", std::string("192.168.42.10"), "", sites(), pins));
  EXPECT_TRUE(checkPin("02:00:00:00:00:0a", std::string("192.168.42.11"), "", sites(), pins));
}

TEST(PinnedClients, CheckPinRefusesWithTheReason) {
  auto why = [](const std::string& mac, std::optional<std::string> addr, const std::string& name = "") {
    std::map<std::string, StaticLease> pins{{"02:00:00:00:00:0b", {"02:00:00:00:00:0b", ip("192.168.43.9"), ""}}};
    auto p = checkPin(mac, addr, name, sites(), pins);
    return p ? std::string("ok") : p.error().message;
  };
  EXPECT_EQ(why("nope", std::string("192.168.42.20")), "mac: 'nope' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  EXPECT_EQ(why("ff:ff:ff:ff:ff:ff", std::string("192.168.42.20")), "mac: ff:ff:ff:ff:ff:ff is a multicast address, not a client");
  EXPECT_EQ(why("02:00:00:00:00:01", std::nullopt), "ip: 02:00:00:00:00:01 has no lease; give the address to pin");
  EXPECT_EQ(why("02:00:00:00:00:01", std::string("10.0.0.5")), "ip: 10.0.0.5 is outside every downstream's subnet");
  EXPECT_EQ(why("02:00:00:00:00:01", std::string("192.168.42.1")), "ip: 192.168.42.1 is the router's own address on usb0");
  EXPECT_EQ(why("02:00:00:00:00:01", std::string("192.168.42.255")),
            "ip: 192.168.42.255 is the network or broadcast address of usb0's 192.168.42.0/24");
  EXPECT_EQ(why("02:00:00:00:00:01", std::string("192.168.42.10")), "ip: 192.168.42.10 is leased to 02:00:00:00:00:0a");
  EXPECT_EQ(why("02:00:00:00:00:01", std::string("192.168.43.9")), "ip: 192.168.43.9 is pinned to 02:00:00:00:00:0b");
  EXPECT_EQ(why("02:00:00:00:00:01", std::string("192.168.42.x")), "ip: '192.168.42.x' is not an IPv4 address");
  EXPECT_EQ(why("02:00:00:00:00:01", std::string("192.168.42.20"), "-x"),
            "hostname: '-x' is not a host name (1-63 of A-Z a-z 0-9 -, not starting or ending with -)");
  EXPECT_EQ(why("02:00:00:00:00:01", std::string("192.168.42.20"), "pc"), "ok");
}

}  // namespace
}  // namespace tetherd
