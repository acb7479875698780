// Issue 12, RFC 9096: a delegated /64 the clients may still hold is announced deprecated until
// its valid time ends, also when IPv6 leaves pd for relay or nat66 (the downstream's dnsmasq
// restarts) and across a restart of tetherd (state_dir/pd-announced). The state file's exact
// text and parse; the applier over the fakes: which lifetimes go on which address, and in which
// order against dnsmasq's start (a dnsmasq started after an address is deprecated ignores it).
#include "tether/core/pd_announced.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "fakes.h"
#include "tether/base/files.h"
#include "tether/core/applier.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace tetherd;
using namespace tetherd::testing;
using Lines = std::vector<std::string>;
using namespace std::chrono_literals;

namespace {

Ipv6Prefix P6(const char* s) { return *Ipv6Prefix::parse(s); }
const PdLease::Clock::time_point kNow = PdLease::Clock::time_point{} + 1000h;
const std::chrono::system_clock::time_point kWallNow = std::chrono::system_clock::time_point{} + 1764979200s;  // 2025-12-06

}  // namespace

TEST(PdAnnounced, StateFileTextAndItsParse) {
  AnnouncedPrefixes all;
  addAnnounced(all["wlan0"], {P6("2001:db8:200:1::1/64"), kNow + 90s});
  addAnnounced(all["usb0"], {P6("2001:db8:200:0::1/64"), kNow + 3600s});
  addAnnounced(all["usb0"], {P6("2001:db8:100:0::1/64"), kNow + 60s});
  addAnnounced(all["usb0"], {P6("2001:db8:100:0::1/64"), kNow + 30s});  // the same: the later end stays
  addAnnounced(all["usb0"], {P6("2001:db8:300:0::1/64"), kNow - 1s});   // ended
  addAnnounced(all["usb0"], {P6("2001:db8:400:0::1/64"), PdLease::Clock::time_point::max()});  // infinite: a year
  const std::string text = formatAnnounced(all, kNow, kWallNow);
  EXPECT_EQ(text,
            "usb0 2001:db8:100::1/64 1764979260\n"
            "usb0 2001:db8:200::1/64 1764982800\n"
            "usb0 2001:db8:400::1/64 1796515200\n"
            "wlan0 2001:db8:200:1::1/64 1764979290\n");

  // Read back 10 s later (another run: another steady clock origin).
  const auto later = PdLease::Clock::time_point{} + 5h;
  const auto got = parseAnnounced(text + "usb0 2001:db8:500::1/64 1764979205\n", later, kWallNow + 10s);
  AnnouncedPrefixes want;
  want["usb0"] = {{P6("2001:db8:100::1/64"), later + 50s}, {P6("2001:db8:200::1/64"), later + 3590s},
                  {P6("2001:db8:400::1/64"), later + std::chrono::hours(24 * 365) - 10s}};
  want["wlan0"] = {{P6("2001:db8:200:1::1/64"), later + 80s}};
  EXPECT_EQ(got, want) << "the line that ended 5 s ago is left out";

  // Malformed lines are left out, the good ones kept.
  const auto bad = parseAnnounced("usb0 2001:db8:100::1/64 1764979260 extra\n"
                                  "usb0 2001:db8:100::1/56 1764979260\n"
                                  "usb0 2001:db8:100::1/64 17649x9260\n"
                                  "bad/name 2001:db8:100::1/64 1764979260\n"
                                  "usb0 nonsense 1764979260\n"
                                  "usb0 2001:db8:100::1/64\n"
                                  "\n"
                                  "wlan0 2001:db8:200:1::1/64 1764979290\n",
                                  kNow, kWallNow);
  AnnouncedPrefixes good;
  good["wlan0"] = {{P6("2001:db8:200:1::1/64"), kNow + 90s}};
  EXPECT_EQ(bad, good);
}

TEST(PdAnnounced, AtMostEightPerDownstreamTheEarliestEndingGoes) {
  std::vector<AnnouncedPrefix> list;
  for (int i = 1; i <= 9; ++i) {
    auto p = P6("2001:db8:100::1/64");
    p.address.bytes[5] = static_cast<uint8_t>(i);
    addAnnounced(list, {p, kNow + std::chrono::seconds(100 * (i == 5 ? 1 : i + 10))});
  }
  ASSERT_EQ(list.size(), kMaxAnnouncedPerDownstream);
  for (const auto& p : list) EXPECT_NE(p.address.address.bytes[5], 5) << "the earliest ending one went";
}

namespace {

// usb0 tethered (IPv4 only but for `six`), as the planner plans it.
Desired usb0With(Ipv6Mode mode, const char* router, std::optional<PdLease> lease = std::nullopt) {
  Desired d;
  d.upstream = "eth0";
  d.tracked = {{"usb0", IfaceKind::Usb}};
  d.wanted = {"usb0"};
  d.configured["usb0"] = {.kind = IfaceKind::Usb, .address = *Ipv4Prefix::parse("192.168.42.1/24"), .ipv6 = mode,
                          .address6 = P6(router), .lease6 = lease};
  return d;
}

Desired usb0Pd(const char* router, const char* delegated, int preferred, int valid) {
  const auto now = PdLease::Clock::now();
  return usb0With(Ipv6Mode::Pd, router,
                  PdLease{P6(delegated), now + std::chrono::seconds(preferred), now + std::chrono::seconds(valid)});
}

class PdAnnouncedApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* n : {"lo", "eth0", "usb0"}) nl.addLink(n);
    nl.syncView();
    // What dnsmasq finds on usb0 when it starts: the calls made before it.
    dhcp.beforeStart = [this](const DhcpService::Downstream&) { opsAtStart = nl.ops; };
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string stateFile() const {
    auto t = readFile(statePath, 4096);
    return t ? *t : "(none)";
  }

  std::filesystem::path dir = freshTestDir("pd-announced");
  std::string recordPath = (dir / "downstream-addresses").string();
  std::string statePath = (dir / "pd-announced").string();
  FakeNetlink nl;
  FakeFirewall fw;
  FakeDhcp dhcp;
  FakeSysctl sysctl;
  IpForwarding ipfwd{sysctl, (dir / "ip_forward.orig").string()};
  Lines opsAtStart;
};

Lines after(const Lines& all, size_t from) { return Lines(all.begin() + static_cast<long>(from), all.end()); }

// The lines joined, for a pattern: a valid time read back from the state file (whole seconds
// of the wall clock) may be a second short.
std::string joined(const Lines& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

}  // namespace

// ipv6 = auto: the delegation is lost and the upstream has a SLAAC /64, so usb0 goes to relay;
// its dnsmasq restarts (the /64 is announced off-link now), and a restarted dnsmasq would not
// announce a deprecated address. So the old router address is put back with 5 s preferred
// before it starts (announced with at most 5 s, the kernel deprecating it then) and its valid
// time left.
TEST_F(PdAnnouncedApplierTest, LeavingPdForRelayAnnouncesTheOldPrefixDeprecatedToTheNewDnsmasq) {
  Applier applier{ApplierPorts{nl, fw, dhcp, ipfwd}, recordPath};
  applier.loadAnnounced(statePath);
  applier.apply(usb0Pd("2001:db8:100:3::1/64", "2001:db8:100::/56", 40, 60), nl.view);
  const size_t ops = nl.ops.size();
  applier.apply(usb0With(Ipv6Mode::Relay, "2001:db8:1::ffff:e0f5/64"), nl.view);
  const Lines want{"del6 usb0 2001:db8:100:3::1/64", "add6 usb0 2001:db8:1::ffff:e0f5/64",
                   "life6 usb0 2001:db8:100:3::1/64 5/60", "up usb0"};
  EXPECT_EQ(after(nl.ops, ops), want);
  EXPECT_EQ(after(opsAtStart, ops), want) << "both addresses there when the new dnsmasq starts";
  EXPECT_EQ(dhcp.ops.back(), "start usb0 192.168.42.0/24 192.168.42.1 2001:db8:1::ffff:e0f5/64");
  EXPECT_EQ(nl.onLink6["usb0"], (std::set<Ipv6Prefix>{P6("2001:db8:1::ffff:e0f5/64"), P6("2001:db8:100:3::1/64")}));
  // Named in the crash record (the next run removes it) and in the state file.
  auto record = readFile(recordPath, 4096);
  ASSERT_TRUE(record);
  EXPECT_EQ(*record, "usb0 192.168.42.1/24\nusb0 2001:db8:1::ffff:e0f5/64\nusb0 2001:db8:100:3::1/64\n");
  EXPECT_TRUE(std::regex_match(stateFile(), std::regex("usb0 2001:db8:100:3::1/64 [0-9]+\n"))) << stateFile();

  // Off again: every address goes; the state file keeps the /64 the clients may still hold.
  const size_t before = nl.ops.size();
  applier.apply(Desired{}, nl.view);
  EXPECT_EQ(after(nl.ops, before), (Lines{"del6 usb0 2001:db8:100:3::1/64", "del6 usb0 2001:db8:1::ffff:e0f5/64",
                                          "del usb0 192.168.42.1/24"}));
  EXPECT_TRUE(nl.onLink6.empty());
  EXPECT_TRUE(std::regex_match(stateFile(), std::regex("usb0 2001:db8:100:3::1/64 [0-9]+\n"))) << stateFile();
}

// A clean restart (stop, a new run over the same state_dir) that is delegated another prefix:
// the last run's /64 and the one it had deprecated come back deprecated; the one that is
// usb0's own again does not.
TEST_F(PdAnnouncedApplierTest, ACleanRestartKeepsAnnouncingTheOldPrefixesDeprecated) {
  {
    Applier first{ApplierPorts{nl, fw, dhcp, ipfwd}, recordPath};
    first.loadAnnounced(statePath);
    first.apply(usb0Pd("2001:db8:100:3::1/64", "2001:db8:100::/56", 40, 60), nl.view);
    first.apply(usb0Pd("2001:db8:200:3::1/64", "2001:db8:200::/56", 40, 90), nl.view);  // renumbered live
    first.apply(Desired{}, nl.view);  // SIGTERM
    EXPECT_TRUE(nl.onLink6.empty());
  }
  EXPECT_TRUE(std::regex_match(stateFile(), std::regex("usb0 2001:db8:100:3::1/64 [0-9]+\n"
                                                       "usb0 2001:db8:200:3::1/64 [0-9]+\n")))
      << stateFile();

  Applier next{ApplierPorts{nl, fw, dhcp, ipfwd}, recordPath};
  next.loadAnnounced(statePath);
  const size_t ops = nl.ops.size();
  const Desired pd300 = usb0Pd("2001:db8:300:3::1/64", "2001:db8:300::/56", 40, 90);
  next.apply(pd300, nl.view);
  const std::regex want("add usb0 192.168.42.1/24\nlife6 usb0 2001:db8:300:3::1/64 40/90\n"
                         "life6 usb0 2001:db8:100:3::1/64 5/(59|60)\nlife6 usb0 2001:db8:200:3::1/64 5/(89|90)\nup usb0\n");
  EXPECT_TRUE(std::regex_match(joined(after(nl.ops, ops)), want)) << joined(after(nl.ops, ops));
  EXPECT_EQ(after(opsAtStart, ops), after(nl.ops, ops)) << "in place before dnsmasq starts";
  EXPECT_TRUE(std::regex_match(stateFile(), std::regex("usb0 2001:db8:100:3::1/64 [0-9]+\n"
                                                       "usb0 2001:db8:200:3::1/64 [0-9]+\n"
                                                       "usb0 2001:db8:300:3::1/64 [0-9]+\n")))
      << stateFile();
  const size_t again = nl.ops.size();
  next.apply(pd300, nl.view);
  EXPECT_EQ(nl.ops.size(), again) << "nothing twice";
  next.apply(Desired{}, nl.view);
  EXPECT_TRUE(nl.onLink6.empty());

  // The same prefix again: its own address, nothing revived for it.
  Applier third{ApplierPorts{nl, fw, dhcp, ipfwd}, recordPath};
  third.loadAnnounced(statePath);
  const size_t ops3 = nl.ops.size();
  third.apply(usb0Pd("2001:db8:300:3::1/64", "2001:db8:300::/56", 40, 90), nl.view);
  EXPECT_TRUE(std::regex_match(joined(after(nl.ops, ops3)), want)) << joined(after(nl.ops, ops3));
  third.apply(Desired{}, nl.view);
}

// Without IPv6 nothing announces it: it waits (and comes back when IPv6 does, if still valid).
TEST_F(PdAnnouncedApplierTest, AnEndedPrefixOrADownstreamWithoutIpv6GetsNothing) {
  ASSERT_TRUE(writeFileAtomic(statePath, "usb0 2001:db8:100:3::1/64 1\n", 0644));  // 1970: ended
  Applier applier{ApplierPorts{nl, fw, dhcp, ipfwd}, recordPath};
  applier.loadAnnounced(statePath);
  applier.apply(usb0Pd("2001:db8:300:3::1/64", "2001:db8:300::/56", 40, 90), nl.view);
  EXPECT_EQ(nl.ops, (Lines{"add usb0 192.168.42.1/24", "life6 usb0 2001:db8:300:3::1/64 40/90", "up usb0"}));
  applier.apply(Desired{}, nl.view);

  Desired v4 = usb0With(Ipv6Mode::Off, "::/0");
  v4.configured["usb0"].address6.reset();
  const size_t ops = nl.ops.size();
  applier.apply(v4, nl.view);
  EXPECT_EQ(after(nl.ops, ops), (Lines{"add usb0 192.168.42.1/24", "up usb0"}));
  const size_t ops2 = nl.ops.size();
  applier.apply(usb0With(Ipv6Mode::Nat66, "fd12:3456:789a:e0f5::1/64"), nl.view);  // IPv6 back: nat66
  EXPECT_EQ(after(nl.ops, ops2), (Lines{"add6 usb0 fd12:3456:789a:e0f5::1/64", "life6 usb0 2001:db8:300:3::1/64 5/90", "up usb0"}));
  applier.apply(Desired{}, nl.view);
}
