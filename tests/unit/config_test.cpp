#include "config/config.h"

#include <gtest/gtest.h>

using namespace tetherd;

namespace {
Result<Config> parse(const std::string& text) { return parseConfig(text, "t.conf"); }
std::string errorOf(const std::string& text) {
  auto r = parse(text);
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  return r.ok() ? "" : r.error().message;
}
}  // namespace

TEST(Config, EmptyFileGivesDefaults) {
  auto c = parse("");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->controlSocket, "/run/tetherd/tetherd.sock");
  EXPECT_EQ(c->kind(IfaceKind::Usb).subnet.str(), "192.168.42.0/24");
  EXPECT_EQ(c->kind(IfaceKind::Wifi).subnet.str(), "192.168.43.0/24");
  EXPECT_EQ(c->kind(IfaceKind::Bluetooth).subnet.str(), "192.168.44.0/24");
  EXPECT_TRUE(c->kind(IfaceKind::Usb).autoTether);
  EXPECT_FALSE(c->kind(IfaceKind::Ethernet).autoTether);
  EXPECT_EQ(c->leaseTimeSec, 3600);
}

TEST(Config, TheShippedExampleParsesAndMatchesDefaults) {
  auto c = loadConfigFile(TETHERD_SOURCE_DIR "/config/tetherd.conf.example");
  ASSERT_TRUE(c) << c.error().message;
  Config d = defaultConfig();
  EXPECT_EQ(c->controlSocket, d.controlSocket);
  EXPECT_EQ(c->runDir, d.runDir);
  EXPECT_EQ(c->leaseTimeSec, d.leaseTimeSec);
  EXPECT_EQ(c->startTimeoutMs, d.startTimeoutMs);
  for (int i = 0; i < kIfaceKindCount; ++i) {
    EXPECT_EQ(c->kinds[static_cast<size_t>(i)].pattern, d.kinds[static_cast<size_t>(i)].pattern);
    EXPECT_EQ(c->kinds[static_cast<size_t>(i)].subnet, d.kinds[static_cast<size_t>(i)].subnet);
    EXPECT_EQ(c->kinds[static_cast<size_t>(i)].autoTether, d.kinds[static_cast<size_t>(i)].autoTether);
  }
}

TEST(Config, ValidFullFile) {
  auto c = parse(R"(
# comment
[daemon]
log_level = debug
control_socket = /tmp/x.sock
  ; indented comment
[upstream]
priority = eth0 wwan0
[upstream.eth0]
dns = 10.0.1.1, 10.0.1.2
[tethering]
auto_tether = usb ethernet
ethernet_pattern = lan\d
usb_subnet = 10.42.0.0/24
start_timeout = 1500ms
[dhcp]
lease_time = 2h
range_first_host = 20
range_last_host = 200
)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->logLevel, log::Level::Debug);
  EXPECT_EQ(c->controlSocket, "/tmp/x.sock");
  EXPECT_EQ(c->upstreamPriority, (std::vector<std::string>{"eth0", "wwan0"}));
  ASSERT_EQ(c->upstreamDns["eth0"].size(), 2u);
  EXPECT_EQ(c->upstreamDns["eth0"][1].str(), "10.0.1.2");
  EXPECT_TRUE(c->kind(IfaceKind::Usb).autoTether);
  EXPECT_FALSE(c->kind(IfaceKind::Wifi).autoTether);
  EXPECT_TRUE(c->kind(IfaceKind::Ethernet).autoTether);
  EXPECT_EQ(c->kind(IfaceKind::Usb).subnet.str(), "10.42.0.0/24");
  EXPECT_EQ(c->startTimeoutMs, 1500);
  EXPECT_EQ(c->leaseTimeSec, 7200);
  IfaceKind k;
  ASSERT_TRUE(c->kindOf("lan3", k));
  EXPECT_EQ(k, IfaceKind::Ethernet);
  ASSERT_TRUE(c->kindOf("rndis0", k));
  EXPECT_EQ(k, IfaceKind::Usb);
  EXPECT_FALSE(c->kindOf("eth0", k));
  EXPECT_FALSE(c->kindOf("usb", k));  // whole-name match
}

TEST(Config, QuotedValues) {
  auto c = parse("[daemon]\nrun_dir = \"/run/a b\"\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->runDir, "/run/a b");
  EXPECT_NE(errorOf("[daemon]\nrun_dir = \"/run/x\n").find("unclosed quote"), std::string::npos);
  EXPECT_NE(errorOf("[daemon]\nrun_dir = \"/run/x\" junk\n").find("text after closing quote"), std::string::npos);
}

TEST(Config, UnknownKeyNamesFileLineAndKey) {
  EXPECT_EQ(errorOf("[daemon]\n\nlog_levle = info\n"), "t.conf:3: unknown key 'log_levle' in [daemon]");
}

TEST(Config, UnknownSectionRefused) {
  EXPECT_EQ(errorOf("[deamon]\n"), "t.conf:1: unknown section [deamon]");
  EXPECT_NE(errorOf("[upstream.bad/name]\n").find("not a valid interface name"), std::string::npos);
  EXPECT_EQ(errorOf("[upstream.eth0]\nmtu = 1\n"), "t.conf:2: unknown key 'mtu' in [upstream.eth0]");
}

TEST(Config, BadValuesNameTheReason) {
  EXPECT_EQ(errorOf("[daemon]\nlog_level = loud\n"),
            "t.conf:2: key 'log_level' in [daemon]: 'loud' is not one of debug, info, notice, warning, error");
  EXPECT_EQ(errorOf("[daemon]\nrun_dir = relative\n"), "t.conf:2: key 'run_dir' in [daemon]: must be an absolute path");
  EXPECT_NE(errorOf("[tethering]\nusb_subnet = 192.168.42.1/24\n").find("has host bits set"), std::string::npos);
  EXPECT_NE(errorOf("[tethering]\nusb_subnet = 192.168.42.0\n").find("is not a prefix"), std::string::npos);
  EXPECT_NE(errorOf("[tethering]\nusb_pattern = (usb\n").find("invalid regular expression"), std::string::npos);
  EXPECT_NE(errorOf("[tethering]\nauto_tether = usb toaster\n").find("'toaster' is not one of"), std::string::npos);
  EXPECT_NE(errorOf("[tethering]\nstart_timeout = soon\n").find("is not a duration"), std::string::npos);
  EXPECT_NE(errorOf("[dhcp]\nlease_time = 30s\n").find("must be between"), std::string::npos);
  EXPECT_NE(errorOf("[dhcp]\nrange_first_host = ten\n").find("is not a whole number"), std::string::npos);
  EXPECT_NE(errorOf("[upstream]\npriority = eth0 eth0\n").find("listed twice"), std::string::npos);
  EXPECT_NE(errorOf("[upstream.eth0]\ndns = 10.0.0.256\n").find("is not an IPv4 address (nor an IPv6 one)"), std::string::npos);
  EXPECT_NE(errorOf("[dhcp]\nrange_first_host = 200\nrange_last_host = 100\n").find("greater than"), std::string::npos);
}

TEST(Config, StructuralErrors) {
  EXPECT_EQ(errorOf("log_level = info\n"), "t.conf:1: key 'log_level' outside of any [section]");
  EXPECT_EQ(errorOf("[daemon]\njust words\n"), "t.conf:2: expected 'key = value'");
  EXPECT_EQ(errorOf("[daemon\n"), "t.conf:1: section header must end with ']'");
  EXPECT_EQ(errorOf("[daemon]\nlog_level = info\nlog_level = debug\n"), "t.conf:3: key 'log_level' set twice in [daemon]");
  EXPECT_EQ(errorOf(std::string("[daemon]\nrun_dir = /a\x01\n")), "t.conf:2: control character in line");
}

TEST(Config, Durations) {
  long long ms = 0;
  ASSERT_TRUE(parseDurationMs("250ms", ms));
  EXPECT_EQ(ms, 250);
  ASSERT_TRUE(parseDurationMs("10", ms));
  EXPECT_EQ(ms, 10000);
  ASSERT_TRUE(parseDurationMs("2m", ms));
  EXPECT_EQ(ms, 120000);
  EXPECT_FALSE(parseDurationMs("", ms));
  EXPECT_FALSE(parseDurationMs("1d", ms));
  EXPECT_FALSE(parseDurationMs("-1s", ms));
  EXPECT_FALSE(parseDurationMs("99999999999999h", ms));
}

TEST(Config, Ipv6Modes) {
  EXPECT_EQ(Config{}.ipv6, Ipv6Mode::Off);
  for (auto [text, mode] : {std::pair{"off", Ipv6Mode::Off}, {"auto", Ipv6Mode::Auto}, {"nat66", Ipv6Mode::Nat66},
                                    {"pd", Ipv6Mode::Pd}, {"relay", Ipv6Mode::Relay}}) {
    auto c = parseConfig(std::string("[tethering]\nipv6 = ") + text + "\n", "t.conf");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->ipv6, mode);
    EXPECT_STREQ(ipv6ModeName(mode), text);
  }
  EXPECT_EQ(errorOf("[tethering]\nipv6 = yes\n"),
            "t.conf:2: key 'ipv6' in [tethering]: 'yes' is not one of auto, pd, relay, nat66, off");
}

TEST(Config, Offload) {
  EXPECT_EQ(Config{}.offload, OffloadMode::Off);
  auto c = parseConfig("[tethering]\noffload = software\n", "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->offload, OffloadMode::Software);
  EXPECT_EQ(errorOf("[tethering]\n\noffload = hardware\n"),
            "t.conf:3: key 'offload' in [tethering]: 'hardware' is not one of off, software");
}

TEST(Config, PdPrefixLengthAndDhcpcd) {
  EXPECT_EQ(Config{}.pdPrefixHint, 60);
  EXPECT_EQ(Config{}.dhcpcdPath, "/usr/sbin/dhcpcd");
  auto c = parseConfig("[tethering]\npd_prefix_length = 56\n[dhcp]\ndhcpcd = /opt/dhcpcd\n", "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->pdPrefixHint, 56);
  EXPECT_EQ(c->dhcpcdPath, "/opt/dhcpcd");
  EXPECT_NE(errorOf("[tethering]\npd_prefix_length = 65\n").find("t.conf:2: key 'pd_prefix_length' in [tethering]"), std::string::npos);
  EXPECT_NE(errorOf("[tethering]\npd_prefix_length = 47\n").find("t.conf:2: key 'pd_prefix_length'"), std::string::npos);
}
