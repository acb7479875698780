// dhcpcd's PD-only config, argv and hook script by their exact text, and the hook file's parser
// on what dhcpcd 9.4.1 hands its script (names and values as seen with kea-dhcp6 and isc-dhcpd
// -6: the project's IPv6 reference notes, ipv6-facts.md section 2) and on absurd or hostile text.
#include "tether/system/dhcpcd.h"

#include <gtest/gtest.h>

using namespace tetherd;

namespace {

DhcpcdSettings wan0() {
  DhcpcdSettings s;
  s.upstream = "wan0";
  s.prefixHint = 60;
  return s;
}

bool ignoredHas(const PdUpdate& u, const std::string& part) {
  for (const auto& i : u.ignored)
    if (i.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(Dhcpcd, ConfIsPdOnlyOnTheUpstream) {
  auto conf = dhcpcdConf(wan0(), "/run/tetherd/");
  ASSERT_TRUE(conf) << conf.error().message;
  EXPECT_EQ(*conf,
            "# Written by tetherd: DHCPv6 prefix delegation only, on wan0.\n"
            "ipv6only\n"
            "noipv6rs\n"
            "duid\n"
            "allowinterfaces wan0\n"
            "script /run/tetherd/dhcpcd-hook\n"
            "interface wan0\n"
            "ia_pd 1/::/60\n");
}

TEST(Dhcpcd, Argv) {
  auto argv = dhcpcdArgv("/usr/sbin/dhcpcd", wan0(), "/run/tetherd");
  ASSERT_TRUE(argv) << argv.error().message;
  EXPECT_EQ(*argv, (std::vector<std::string>{"/usr/sbin/dhcpcd", "-B", "-6", "-f", "/run/tetherd/dhcpcd-pd.conf", "wan0"}));
}

TEST(Dhcpcd, BadSettingsNameTheField) {
  auto s = wan0();
  s.upstream = "wan0 x";
  auto r = dhcpcdConf(s, "/run/tetherd");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("dhcpcd upstream"), std::string::npos);
  s = wan0();
  s.prefixHint = 65;
  r = dhcpcdConf(s, "/run/tetherd");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("prefix hint"), std::string::npos);
  s.prefixHint = 47;
  EXPECT_FALSE(dhcpcdConf(s, "/run/tetherd"));
  r = dhcpcdConf(wan0(), "run/tetherd");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("run_dir"), std::string::npos);
  EXPECT_FALSE(dhcpcdConf(wan0(), "/run/teth erd"));
  EXPECT_FALSE(dhcpcdConf(wan0(), "/run/te$therd"));
  EXPECT_FALSE(dhcpcdArgv("dhcpcd", wan0(), "/run/tetherd"));
}

TEST(Dhcpcd, HookScript) {
  auto script = dhcpcdHookScript("/run/tetherd");
  ASSERT_TRUE(script) << script.error().message;
  EXPECT_EQ(*script,
            "#!/bin/sh\n"
            "# Written by tetherd (tether/system/dhcpcd.h): hands dhcpcd's delegated prefixes to tetherd.\n"
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
            "case \"$reason\" in BOUND6|RENEW6|REBIND6|EXPIRE6|STOP6|STOPPED) ;; *) exit 0 ;; esac\n"
            "umask 077\n"
            "{\n"
            "  printf 'reason=%s\\ninterface=%s\\n' \"$reason\" \"$interface\"\n"
            "  env | grep -E '^new_dhcp6_ia_pd1_prefix[0-9]+(_length|_pltime|_vltime)?=' || :\n"
            "} > /run/tetherd/dhcpcd-pd.env.tmp && mv -f /run/tetherd/dhcpcd-pd.env.tmp /run/tetherd/dhcpcd-pd.env\n");
  EXPECT_FALSE(dhcpcdHookScript("/run/$(reboot)"));
}

TEST(Dhcpcd, ParsesWhatTheHookWroteForKea) {
  // The file the hook above wrote in a namespace lab (dhcpcd 9.4.1, kea 2.2.0), byte for byte.
  auto u = parseDhcpcdHookEnv(
      "reason=BOUND6\ninterface=wan0\nnew_dhcp6_ia_pd1_prefix1_length=56\nnew_dhcp6_ia_pd1_prefix1=2001:db8:100::\n"
      "new_dhcp6_ia_pd1_prefix1_pltime=40\nnew_dhcp6_ia_pd1_prefix1_vltime=60\n",
      "wan0");
  ASSERT_TRUE(u) << u.error().message;
  ASSERT_EQ(u->prefixes.size(), 1u);
  EXPECT_EQ(u->prefixes[0], (DelegatedPrefix{*Ipv6Prefix::parse("2001:db8:100::/56"), 40, 60}));
  u = parseDhcpcdHookEnv("reason=STOPPED\ninterface=wan0\n", "wan0");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->kind, PdUpdate::Kind::Lost);
}

TEST(Dhcpcd, ParsesABound6) {
  auto u = parseDhcpcdHookEnv(
      "reason=BOUND6\ninterface=wan0\n"
      "new_dhcp6_ia_pd1_prefix1=2001:db8:100::\nnew_dhcp6_ia_pd1_prefix1_length=56\n"
      "new_dhcp6_ia_pd1_prefix1_pltime=40\nnew_dhcp6_ia_pd1_prefix1_vltime=60\n",
      "wan0");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->kind, PdUpdate::Kind::Bound);
  EXPECT_EQ(u->reason, "BOUND6");
  ASSERT_EQ(u->prefixes.size(), 1u);
  EXPECT_EQ(u->prefixes[0].prefix.str(), "2001:db8:100::/56");
  EXPECT_EQ(u->prefixes[0].preferredSec, 40u);
  EXPECT_EQ(u->prefixes[0].validSec, 60u);
  EXPECT_TRUE(u->ignored.empty());
}

TEST(Dhcpcd, APrefixChangeKeepsOnlyTheLiveOne) {
  // The reply carries the old prefix with lifetimes 0 and the new one, in either order.
  auto u = parseDhcpcdHookEnv(
      "reason=REBIND6\ninterface=wan0\n"
      "new_dhcp6_ia_pd1_prefix1=2001:db8:300::\nnew_dhcp6_ia_pd1_prefix1_length=56\n"
      "new_dhcp6_ia_pd1_prefix1_pltime=40\nnew_dhcp6_ia_pd1_prefix1_vltime=90\n"
      "new_dhcp6_ia_pd1_prefix2=2001:db8:100::\nnew_dhcp6_ia_pd1_prefix2_length=56\n"
      "new_dhcp6_ia_pd1_prefix2_pltime=0\nnew_dhcp6_ia_pd1_prefix2_vltime=0\n",
      "wan0");
  ASSERT_TRUE(u) << u.error().message;
  ASSERT_EQ(u->prefixes.size(), 1u);
  EXPECT_EQ(u->prefixes[0].prefix.str(), "2001:db8:300::/56");
  EXPECT_TRUE(ignoredHas(*u, "prefix2: valid lifetime 0"));
}

TEST(Dhcpcd, LossCarriesNoPrefix) {
  for (const char* reason : {"EXPIRE6", "STOP6", "STOPPED"}) {
    auto u = parseDhcpcdHookEnv(std::string("reason=") + reason +
                                    "\ninterface=wan0\nnew_dhcp6_ia_pd1_prefix1=2001:db8:100::\n",
                                "wan0");
    ASSERT_TRUE(u) << u.error().message;
    EXPECT_EQ(u->kind, PdUpdate::Kind::Lost);
    EXPECT_TRUE(u->prefixes.empty());
  }
}

TEST(Dhcpcd, AbsurdPrefixesAreIgnoredWithAReason) {
  auto u = parseDhcpcdHookEnv(
      "reason=RENEW6\ninterface=wan0\n"
      "new_dhcp6_ia_pd1_prefix1=2001:db8:1::\nnew_dhcp6_ia_pd1_prefix1_length=72\n"
      "new_dhcp6_ia_pd1_prefix1_pltime=40\nnew_dhcp6_ia_pd1_prefix1_vltime=60\n"
      "new_dhcp6_ia_pd1_prefix2=fe80::\nnew_dhcp6_ia_pd1_prefix2_length=56\n"
      "new_dhcp6_ia_pd1_prefix2_pltime=40\nnew_dhcp6_ia_pd1_prefix2_vltime=60\n"
      "new_dhcp6_ia_pd1_prefix3=not-an-address\nnew_dhcp6_ia_pd1_prefix3_length=56\n"
      "new_dhcp6_ia_pd1_prefix4=2001:db8:4::\nnew_dhcp6_ia_pd1_prefix4_length=56\n"
      "new_dhcp6_ia_pd1_prefix4_pltime=90\nnew_dhcp6_ia_pd1_prefix4_vltime=60\n"
      "new_dhcp6_ia_pd1_prefix5=2001:db8:5::\nnew_dhcp6_ia_pd1_prefix5_length=56\n"
      "new_dhcp6_ia_pd1_prefix5_pltime=-1\nnew_dhcp6_ia_pd1_prefix5_vltime=99999999999\n"
      "new_dhcp6_ia_pd1_prefix6=ff02::1\nnew_dhcp6_ia_pd1_prefix6_length=56\n"
      "new_dhcp6_ia_pd1_prefix7=2001:db8:7::\nnew_dhcp6_ia_pd1_prefix7_length=0\n"
      "new_dhcp6_ia_pd1_prefix8=2001:db8:8:1::\nnew_dhcp6_ia_pd1_prefix8_length=60\n"
      "new_dhcp6_ia_pd1_prefix8_pltime=4294967295\nnew_dhcp6_ia_pd1_prefix8_vltime=4294967295\n"
      "garbage line\n"
      "new_dhcp6_ia_pd1_prefix99=2001:db8::\n"
      "new_dhcp6_ia_pd1_prefix1_color=red\n"
      "PATH=/tmp\n"
      "new_dhcp6_ia_pd1_prefix8=2001:db8:9::\n"
      "new_dhcp6_ia_pd1_prefix9=2001:db8:\x01::\n",
      "wan0");
  ASSERT_TRUE(u) << u.error().message;
  ASSERT_EQ(u->prefixes.size(), 1u);  // only prefix8, host bits cleared, infinite lifetimes
  EXPECT_EQ(u->prefixes[0].prefix.str(), "2001:db8:8::/60");
  EXPECT_EQ(u->prefixes[0].validSec, 4294967295u);
  EXPECT_TRUE(ignoredHas(*u, "prefix1: /72 is longer than /64"));
  EXPECT_TRUE(ignoredHas(*u, "prefix2: fe80:: is not a global unicast address"));
  EXPECT_TRUE(ignoredHas(*u, "prefix3: 'not-an-address' is not an IPv6 address"));
  EXPECT_TRUE(ignoredHas(*u, "prefix4: preferred lifetime 90 exceeds valid 60"));
  EXPECT_TRUE(ignoredHas(*u, "prefix5: lifetimes '-1'/'99999999999' are not seconds"));
  EXPECT_TRUE(ignoredHas(*u, "prefix6: ff02::1 is not a global unicast address"));
  EXPECT_TRUE(ignoredHas(*u, "prefix7: length '0' is not 1..128"));
  EXPECT_TRUE(ignoredHas(*u, "not a printable name=value"));
  EXPECT_TRUE(ignoredHas(*u, "unknown variable 'new_dhcp6_ia_pd1_prefix99'"));
  EXPECT_TRUE(ignoredHas(*u, "unknown variable 'new_dhcp6_ia_pd1_prefix1_color'"));
  EXPECT_TRUE(ignoredHas(*u, "unknown variable 'PATH'"));
  EXPECT_TRUE(ignoredHas(*u, "new_dhcp6_ia_pd1_prefix8 given twice"));
}

TEST(Dhcpcd, RefusesFilesThatAreNotForTheUpstream) {
  EXPECT_FALSE(parseDhcpcdHookEnv("interface=wan0\n", "wan0"));
  EXPECT_FALSE(parseDhcpcdHookEnv("reason=BOUND\ninterface=wan0\n", "wan0"));  // IPv4
  EXPECT_FALSE(parseDhcpcdHookEnv("reason=BOUND6\n", "wan0"));
  auto r = parseDhcpcdHookEnv("reason=BOUND6\ninterface=eth9\n", "wan0");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'eth9', not the upstream 'wan0'"), std::string::npos);
  EXPECT_FALSE(parseDhcpcdHookEnv("reason=BOUND6\nreason=STOP6\ninterface=wan0\n", "wan0"));
  EXPECT_FALSE(parseDhcpcdHookEnv("reason=BOUND6\ninterface=wan0\n" + std::string(70000, 'x'), "wan0"));
}
