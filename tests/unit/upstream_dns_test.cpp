// Each upstream's DNS servers (issue 13 point 3): where they come from (pure), and the inotify
// watcher on a real temporary directory (writers that rename, write in place, re-point a link).
#include "tether/core/upstream_dns.h"
#include "tether/core/rp_filter.h"
#include "tether/system/nl_conntrack.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

using namespace tetherd;
namespace fs = std::filesystem;

namespace {

Ipv4Address A(const char* s) { return *Ipv4Address::parse(s); }
Ipv6Address A6(const char* s) { return *Ipv6Address::parse(s); }

TEST(UpstreamDns, ParsesBothFamiliesFromAResolvConf) {
  auto s = parseDnsServers("# dhclient\nnameserver 10.0.0.53\nnameserver 127.0.0.53\nnameserver 2001:db8::53\n"
                           "nameserver fe80::1%eth0\nsearch lan\n");
  EXPECT_EQ(s, (DnsServers{{A("10.0.0.53")}, {A6("2001:db8::53")}}));
}

TEST(UpstreamDns, ConfigThenOwnFileThenSharedFile) {
  Config c;
  c.resolvFile = "/etc/resolv.conf";
  c.upstreamDns6["eth0"] = {A6("2001:db8::1")};  // dns = 2001:db8::1 (IPv6 only is enough)
  c.upstreamResolvFile["wwan0"] = "/run/resolvconf/interface/wwan0.dhclient";
  c.upstreamResolvFile["ppp0"] = "/run/ppp0.resolv";
  std::map<std::string, DnsServers> files{
      {"/etc/resolv.conf", {{A("10.0.0.53")}, {}}},
      {"/run/resolvconf/interface/wwan0.dhclient", {{A("10.64.0.1"), A("10.64.0.2")}, {A6("2001:db8:64::1")}}},
      {"/run/ppp0.resolv", {}},  // nothing (yet): the shared file's
  };
  auto got = upstreamDnsServers(c, {"eth0", "wwan0", "ppp0", "usb9"}, files);
  EXPECT_EQ(got.at("eth0"), (DnsServers{{}, {A6("2001:db8::1")}}));
  EXPECT_EQ(got.at("wwan0"), files.at("/run/resolvconf/interface/wwan0.dhclient"));
  EXPECT_EQ(got.at("ppp0"), files.at("/etc/resolv.conf"));
  EXPECT_EQ(got.at("usb9"), files.at("/etc/resolv.conf"));
  EXPECT_EQ(dnsSourceFiles(c), (std::vector<std::string>{"/etc/resolv.conf", "/run/ppp0.resolv",
                                                         "/run/resolvconf/interface/wwan0.dhclient"}));
}

// At an upstream switch: which conntrack entries are flows NATed to the old upstream's address.
TEST(UpstreamSwitch, RemovesOnlyFlowsSourceNatedToTheOldAddress) {
  const auto old = A("100.64.0.2");
  CtEntry client{{A("192.168.42.10"), A("198.51.100.10"), 17, 40123, 9999},
                 {A("198.51.100.10"), old, 17, 9999, 40123}};
  CtEntry own{{old, A("198.51.100.53"), 17, 5353, 53}, {A("198.51.100.53"), old, 17, 53, 5353}};
  CtEntry other{{A("192.168.42.10"), A("198.51.100.10"), 6, 40000, 80},
                {A("198.51.100.10"), A("203.0.113.2"), 6, 80, 40000}};
  CtEntry inbound{{A("198.51.100.7"), old, 6, 50000, 22}, {old, A("198.51.100.7"), 6, 22, 50000}};
  EXPECT_TRUE(natedTo(client, old));
  EXPECT_FALSE(natedTo(own, old));      // the appliance's own flow from that address
  EXPECT_FALSE(natedTo(other, old));    // NATed to the new upstream's address
  EXPECT_FALSE(natedTo(inbound, old));  // to the appliance itself
}

// The kernel uses the larger of conf/all and conf/<if>: 1 (strict) is the one that drops probe replies.
TEST(UpstreamRpFilter, TheLargerOfAllAndTheInterface) {
  struct FakeSysctl : Sysctl {
    std::map<std::string, std::string> values;
    Result<std::string> read(const std::string& key) override {
      auto it = values.find(key);
      if (it == values.end()) return makeError(Errc::SystemError, key + ": no such file");
      return it->second;
    }
    Status write(const std::string&, const std::string&) override { return {}; }
  } s;
  s.values = {{"net/ipv4/conf/all/rp_filter", "0\n"}, {"net/ipv4/conf/wwan0/rp_filter", "1\n"}};
  EXPECT_EQ(effectiveRpFilter(s, "wwan0"), 1);
  s.values["net/ipv4/conf/all/rp_filter"] = "2\n";  // loose wins over the interface's strict
  EXPECT_EQ(effectiveRpFilter(s, "wwan0"), 2);
  EXPECT_EQ(effectiveRpFilter(s, "eth9"), std::nullopt);  // no such interface
}

class FileWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("tetherd-watch-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "real");
  }
  void TearDown() override { fs::remove_all(dir); }
  static void write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::trunc) << text;
  }
  // Runs the loop until the watcher has called back (or 2 s passed); the number of calls.
  int runUntilCalled() {
    const int before = calls;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (calls == before && std::chrono::steady_clock::now() < until) {
      io.restart();
      io.run_for(std::chrono::milliseconds(20));
    }
    return calls - before;
  }
  fs::path dir;
  boost::asio::io_context io;
  int calls = 0;
};

TEST_F(FileWatchTest, SeesRenameWritersInPlaceWritersAndRemoval) {
  const auto path = dir / "resolv.conf";
  write(path, "nameserver 10.0.0.1\n");
  FileWatch w(io, [this] { ++calls; });
  ASSERT_TRUE(w.watch({path.string()}));
  write(dir / "other", "x");  // another file in the directory: not a change
  EXPECT_EQ(runUntilCalled(), 0);
  write(dir / "resolv.conf.tmp", "nameserver 10.0.0.2\n");  // resolvconf's way: write aside, rename
  fs::rename(dir / "resolv.conf.tmp", path);
  EXPECT_EQ(runUntilCalled(), 1);
  write(path, "nameserver 10.0.0.3\n");  // in place: one call, at close
  EXPECT_EQ(runUntilCalled(), 1);
  fs::remove(path);
  EXPECT_EQ(runUntilCalled(), 1);
}

TEST_F(FileWatchTest, FollowsASymlinkToItsTargetAndItsRepointing) {
  const auto link = dir / "resolv.conf";
  write(dir / "real" / "a.conf", "nameserver 10.0.0.1\n");
  write(dir / "real" / "b.conf", "nameserver 10.0.0.2\n");
  fs::create_symlink(dir / "real" / "a.conf", link);
  FileWatch w(io, [this] { ++calls; });
  ASSERT_TRUE(w.watch({link.string()}));
  EXPECT_EQ(w.directories(), (std::set<std::string>{dir.string(), (dir / "real").string()}));
  write(dir / "real" / "a.conf", "nameserver 10.0.0.3\n");  // the target, written in place
  EXPECT_EQ(runUntilCalled(), 1);
  fs::create_symlink(dir / "real" / "b.conf", dir / "new-link");  // `ln -sf`: a new link renamed over
  fs::rename(dir / "new-link", link);
  EXPECT_EQ(runUntilCalled(), 1);
  write(dir / "real" / "b.conf", "nameserver 10.0.0.4\n");  // the new target is the one watched now
  EXPECT_EQ(runUntilCalled(), 1);
}

TEST_F(FileWatchTest, SourcesCallBackOnlyWhenTheServersChange) {
  const auto path = dir / "resolv.conf";
  write(path, "nameserver 10.0.0.1\n");
  UpstreamDnsSources sources(io, [this] { ++calls; });
  Config c;
  c.resolvFile = path.string();
  sources.sync(c);
  EXPECT_EQ(sources.files().at(path.string()).v4, std::vector<Ipv4Address>{A("10.0.0.1")});
  write(path, "# a comment only changes\nnameserver 10.0.0.1\n");
  EXPECT_EQ(runUntilCalled(), 0);
  write(path, "nameserver 10.0.0.2\nnameserver 2001:db8::2\n");
  EXPECT_EQ(runUntilCalled(), 1);
  EXPECT_EQ(sources.files().at(path.string()), (DnsServers{{A("10.0.0.2")}, {A6("2001:db8::2")}}));
}

}  // namespace
