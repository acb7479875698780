// Issue 12 point 6: IPv6 shown in `tether status` (text; tetherctl --json splits its fields).
#include <gtest/gtest.h>

#include "tether/control/ctl_client.h"
#include "tether/control/tether_commands.h"

namespace tetherd {
namespace {

TetherManager::DownstreamStatus down(const std::string& name, const char* v4, Ipv6Mode mode, const char* v6) {
  TetherManager::DownstreamStatus d;
  d.ifname = name;
  if (v4) d.address = *Ipv4Prefix::parse(v4);
  d.ipv6 = mode;
  if (v6) d.ipv6Prefix = *Ipv6Prefix::parse(v6);
  return d;
}

TEST(Ipv6Show, StatusWhileOffSaysOnlySo) {
  TetherManager::Ipv6Upstream v6;
  EXPECT_EQ(describeIpv6Status(v6, {down("usb0", "192.168.42.1/24", Ipv6Mode::Off, nullptr)}), " ipv6=off");
}

TEST(Ipv6Show, StatusNamesModePrefixLifetimesAndEachDownstream) {
  TetherManager::Ipv6Upstream v6;
  v6.configured = Ipv6Mode::Auto;
  v6.mode = Ipv6Mode::Pd;
  v6.delegated = *Ipv6Prefix::parse("2001:db8:0:10::/63");
  v6.preferredSec = 1800;
  v6.validSec = 4294967295u;
  v6.pdLeft = {"bt-pan", "eth1"};
  const std::vector<TetherManager::DownstreamStatus> ds = {
      down("usb0", "192.168.42.1/24", Ipv6Mode::Pd, "2001:db8:0:10::/64"),
      down("wlan0", "192.168.43.1/24", Ipv6Mode::Pd, "2001:db8:0:11::/64"),
      down("bt-pan", "192.168.44.1/24", Ipv6Mode::Nat66, "fd12:3456:789a:1::/64"),
      down("eth1", "192.168.45.1/24", Ipv6Mode::Off, nullptr),
      down("usb1", nullptr, Ipv6Mode::Off, nullptr),  // not configured: not shown
  };
  const std::string text = describeIpv6Status(v6, ds);
  EXPECT_EQ(text,
            " ipv6=auto ipv6_mode=pd delegated=2001:db8:0:10::/63 preferred=1800s valid=infinite ipv6_left=bt-pan,eth1"
            " ipv6.usb0=pd,2001:db8:0:10::/64 ipv6.wlan0=pd,2001:db8:0:11::/64 ipv6.bt-pan=nat66,fd12:3456:789a:1::/64"
            " ipv6.eth1=none");
  // tetherctl --json: each a field of its own.
  const auto fields = ctl::splitFields(text);
  ASSERT_EQ(fields.size(), 10u);
  EXPECT_EQ(fields[1], (std::pair<std::string, std::string>{"ipv6_mode", "pd"}));
  EXPECT_EQ(fields[6], (std::pair<std::string, std::string>{"ipv6.usb0", "pd,2001:db8:0:10::/64"}));
}

TEST(Ipv6Show, StatusWithoutDelegation) {
  TetherManager::Ipv6Upstream v6;
  v6.configured = Ipv6Mode::Nat66;
  v6.mode = Ipv6Mode::Nat66;
  EXPECT_EQ(describeIpv6Status(v6, {down("usb0", "192.168.42.1/24", Ipv6Mode::Nat66, "fd12:3456:789a:e0f5::/64")}),
            " ipv6=nat66 ipv6_mode=nat66 delegated=none ipv6_left=none ipv6.usb0=nat66,fd12:3456:789a:e0f5::/64");
}

}  // namespace
}  // namespace tetherd
