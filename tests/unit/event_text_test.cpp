// The typed events (tether/core/events.h) as 6xx lines: the exact text `tetherctl monitor` and
// the integration tests read, one scenario per kind of event.
#include <gtest/gtest.h>

#include "tether/control/control_protocol.h"
#include "tether/control/event_text.h"

using namespace tetherd;
using namespace tetherd::control;
using Kind = events::ClientChanged::Kind;

namespace {
std::string line(const Event& e) {
  auto l = formatEvent(e);
  return std::to_string(l.code) + " " + l.text;
}
}  // namespace

TEST(EventText, InterfacesComeAndGoAndChangeTheirLinkState) {
  EXPECT_EQ(line({events::IfaceAdded{"usb0"}}), "600 Iface added usb0");
  EXPECT_EQ(line({events::IfaceRemoved{"usb0"}}), "600 Iface removed usb0");
  EXPECT_EQ(line({events::IfaceLinkState{"eth0", true}}), "600 Iface linkstate eth0 up");
  EXPECT_EQ(line({events::IfaceLinkState{"eth0", false}}), "600 Iface linkstate eth0 down");
}

TEST(EventText, AddressesAreUpdatedOrRemoved) {
  EXPECT_EQ(line({events::AddressChanged{"usb0", *Ipv4Prefix::parse("192.168.42.1/24"), true}}),
            "614 Address 192.168.42.1/24 usb0 updated");
  EXPECT_EQ(line({events::AddressChanged{"usb0", *Ipv4Prefix::parse("192.168.42.1/24"), false}}),
            "614 Address 192.168.42.1/24 usb0 removed");
}

TEST(EventText, TetherStatesOfTheMasterAndADownstreamWithTheirCause) {
  EXPECT_EQ(line({events::TetherStateChanged{"usb0", "tethered", std::nullopt}}), "610 Tether usb0 tethered");
  EXPECT_EQ(line({events::TetherStateChanged{std::nullopt, "TetherModeAlive", std::nullopt}}), "610 Tether master TetherModeAlive");
  EXPECT_EQ(line({events::TetherStateChanged{"usb0", "failed", Error{Errc::DhcpServerError, "usb0: DHCP server: no dnsmasq"}}}),
            "610 Tether usb0 failed dhcp-server-error: usb0: DHCP server: no dnsmasq");
  EXPECT_EQ(line({events::TetherStateChanged{std::nullopt, "SetIpForwardingEnabledError",
                                             Error{Errc::MasterError, "ip_forward: read-only"}}}),
            "610 Tether master SetIpForwardingEnabledError master-error: ip_forward: read-only");
}

TEST(EventText, UpstreamOrNone) {
  EXPECT_EQ(line({events::UpstreamChanged{"wwan0"}}), "611 Upstream wwan0");
  EXPECT_EQ(line({events::UpstreamChanged{std::nullopt}}), "611 Upstream none");
}

TEST(EventText, StationsAndBlockedClients) {
  EXPECT_EQ(line({events::ClientChanged{Kind::StationConnected, "02:00:00:00:01:00", "wlan0"}}),
            "612 Station connected 02:00:00:00:01:00 wlan0");
  EXPECT_EQ(line({events::ClientChanged{Kind::StationDisconnected, "02:00:00:00:01:00", "wlan0"}}),
            "612 Station disconnected 02:00:00:00:01:00 wlan0");
  EXPECT_EQ(line({events::ClientChanged{Kind::Blocked, "02:00:00:00:00:aa", std::nullopt}}),
            "610 Client blocked 02:00:00:00:00:aa");
  EXPECT_EQ(line({events::ClientChanged{Kind::Unblocked, "02:00:00:00:00:aa", std::nullopt}}),
            "610 Client unblocked 02:00:00:00:00:aa");
}

TEST(EventText, FailedAuthenticationNamesTheStationAndTheCause) {
  EXPECT_EQ(line({events::StationAuthFailed{"02:00:00:00:01:00", "wlan0", "wrong password (WPA3-SAE confirm mismatch)"}}),
            "612 Station auth-failed 02:00:00:00:01:00 wlan0 wrong password (WPA3-SAE confirm mismatch)");
}

TEST(EventText, ConfigReloaded) { EXPECT_EQ(line({events::ConfigReloaded{}}), "610 Config reloaded"); }

TEST(EventText, ALineIsAlwaysOneLineOnTheWire) {
  // A cause with a line break (from a child's stderr) still makes one event line.
  auto l = formatEvent({events::TetherStateChanged{"usb0", "failed", Error{Errc::SystemError, "a\nb"}}});
  EXPECT_EQ(control::formatEvent(l.code, l.text), "610 Tether usb0 failed system-error: a b\n");
}
