#include "softap/hostapd/softap_settings.h"

#include <gtest/gtest.h>

#include <set>

using namespace tetherd;
using namespace tetherd::softap;

namespace {

Settings base() {
  Settings s;
  s.ssid = "Home";
  s.passphrase = "correct horse";
  s.channel = 6;
  return s;
}

HostapdOptions opts() {
  HostapdOptions o;
  o.ifname = "wlan0";
  o.ctrlDir = "/run/tetherd/hostapd";
  return o;
}

// The message of a refused settings object ("" when it was accepted, which fails the test).
std::string errorOf(const Settings& s) {
  auto st = validate(s);
  EXPECT_FALSE(st.ok()) << "accepted";
  if (st.ok()) return "";
  EXPECT_EQ(st.error().code, Errc::InvalidArgument);
  return st.error().message;
}

std::string conf(const Settings& s, const HostapdOptions& o = opts()) {
  auto r = hostapdConf(s, o);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : "";
}

std::string confError(const Settings& s, const HostapdOptions& o = opts()) {
  auto r = hostapdConf(s, o);
  EXPECT_FALSE(r.ok()) << "accepted";
  return r.ok() ? "" : r.error().message;
}

bool startsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

const std::string kHead =
    "# hostapd configuration written by tetherd: do not edit, it is rewritten on every start.\n"
    "interface=wlan0\n"
    "driver=nl80211\n"
    "ctrl_interface=/run/tetherd/hostapd\n"
    "logger_syslog=0\n"
    "logger_stdout=-1\n"
    "logger_stdout_level=2\n"
    "# The SSID is hex-encoded: no byte of it reaches this file raw.\n"
    "ssid2=486f6d65\n";

const std::string kRadio24Ch6 =
    "hw_mode=g\n"
    "channel=6\n"
    "ieee80211n=1\n"
    "ieee80211ac=0\n"
    "wmm_enabled=1\n"
    "ignore_broadcast_ssid=0\n"
    "ap_isolate=0\n"
    "max_num_sta=32\n"
    "macaddr_acl=0\n"
    "auth_algs=1\n";

}  // namespace

// ---------------------------------------------------------------- hostapd.conf, exact text

TEST(SoftapConf, Wpa2PskExactText) {
  EXPECT_EQ(conf(base()),
            "# hostapd configuration written by tetherd: do not edit, it is rewritten on every start.\n"
            "interface=wlan0\n"
            "driver=nl80211\n"
            "ctrl_interface=/run/tetherd/hostapd\n"
            "logger_syslog=0\n"
            "logger_stdout=-1\n"
            "logger_stdout_level=2\n"
            "# The SSID is hex-encoded: no byte of it reaches this file raw.\n"
            "ssid2=486f6d65\n"
            "hw_mode=g\n"
            "channel=6\n"
            "ieee80211n=1\n"
            "ieee80211ac=0\n"
            "wmm_enabled=1\n"
            "ignore_broadcast_ssid=0\n"
            "ap_isolate=0\n"
            "max_num_sta=32\n"
            "macaddr_acl=0\n"
            "auth_algs=1\n"
            "wpa=2\n"
            "wpa_key_mgmt=WPA-PSK\n"
            "rsn_pairwise=CCMP\n"
            "ieee80211w=1\n"
            "wpa_passphrase=correct horse\n");
}

TEST(SoftapConf, OpenHasNoWpaLines) {
  Settings s = base();
  s.security = Security::Open;
  EXPECT_EQ(conf(s), kHead + kRadio24Ch6);
  s.passphrase.clear();  // not needed for open
  EXPECT_EQ(conf(s), kHead + kRadio24Ch6);
}

TEST(SoftapConf, Wpa2RawPskIsWrittenAsWpaPskLowerCase) {
  Settings s = base();
  s.passphrase = std::string(32, 'A') + std::string(32, '0');
  EXPECT_EQ(conf(s), kHead + kRadio24Ch6 +
                         "wpa=2\nwpa_key_mgmt=WPA-PSK\nrsn_pairwise=CCMP\nieee80211w=1\n"
                         "wpa_psk=" + std::string(32, 'a') + std::string(32, '0') + "\n");
}

TEST(SoftapConf, Wpa3SaeExactText) {
  Settings s = base();
  s.security = Security::Wpa3Sae;
  EXPECT_EQ(conf(s), kHead + kRadio24Ch6 +
                         "wpa=2\n"
                         "wpa_key_mgmt=SAE\n"
                         "rsn_pairwise=CCMP\n"
                         "ieee80211w=2\n"
                         "sae_password=correct horse\n");
}

TEST(SoftapConf, Wpa2Wpa3TransitionExactText) {
  Settings s = base();
  s.security = Security::Wpa2Wpa3;
  EXPECT_EQ(conf(s), kHead + kRadio24Ch6 +
                         "wpa=2\n"
                         "wpa_key_mgmt=WPA-PSK SAE\n"
                         "rsn_pairwise=CCMP\n"
                         "ieee80211w=1\n"
                         "sae_require_mfp=1\n"
                         "wpa_passphrase=correct horse\n"
                         "sae_password=correct horse\n");
}

TEST(SoftapConf, FiveGhzWithAcAndCountryOnADfsChannel) {
  Settings s = base();
  s.band = Band::Ghz5;
  s.channel = 52;
  s.country = "DE";
  s.ieee80211ac = true;
  EXPECT_EQ(conf(s), kHead +
                         "country_code=DE\n"
                         "ieee80211d=1\n"
                         "ieee80211h=1\n"
                         "hw_mode=a\n"
                         "channel=52\n"
                         "ieee80211n=1\n"
                         "ieee80211ac=1\n"
                         "wmm_enabled=1\n"
                         "ignore_broadcast_ssid=0\n"
                         "ap_isolate=0\n"
                         "max_num_sta=32\n"
                         "macaddr_acl=0\n"
                         "auth_algs=1\n"
                         "wpa=2\nwpa_key_mgmt=WPA-PSK\nrsn_pairwise=CCMP\nieee80211w=1\n"
                         "wpa_passphrase=correct horse\n");
}

TEST(SoftapConf, AutomaticChannelUsesAcsAndAvoidsDfsOn5Ghz) {
  Settings s = base();
  s.channel = 0;
  s.security = Security::Open;
  EXPECT_EQ(conf(s), kHead +
                         "hw_mode=g\n"
                         "# Automatic channel selection (ACS).\n"
                         "channel=acs_survey\n"
                         "ieee80211n=1\nieee80211ac=0\nwmm_enabled=1\nignore_broadcast_ssid=0\nap_isolate=0\n"
                         "max_num_sta=32\nmacaddr_acl=0\nauth_algs=1\n");
  s.band = Band::Ghz5;
  std::string text = conf(s);
  EXPECT_NE(text.find("hw_mode=a\n# Automatic channel selection (ACS).\nchannel=acs_survey\nacs_exclude_dfs=1\n"),
            std::string::npos)
      << text;
}

TEST(SoftapConf, HiddenIsolationCountryDenyFileAndGroup) {
  Settings s = base();
  s.hidden = true;
  s.isolation = true;
  s.country = "FR";
  s.maxStations = 10;
  HostapdOptions o = opts();
  o.ctrlGroup = "netdev";
  o.denyFile = "/var/lib/tetherd/softap.deny";
  EXPECT_EQ(conf(s, o),
            "# hostapd configuration written by tetherd: do not edit, it is rewritten on every start.\n"
            "interface=wlan0\n"
            "driver=nl80211\n"
            "ctrl_interface=/run/tetherd/hostapd\n"
            "ctrl_interface_group=netdev\n"
            "logger_syslog=0\n"
            "logger_stdout=-1\n"
            "logger_stdout_level=2\n"
            "# The SSID is hex-encoded: no byte of it reaches this file raw.\n"
            "ssid2=486f6d65\n"
            "country_code=FR\n"
            "ieee80211d=1\n"
            "hw_mode=g\n"
            "channel=6\n"
            "ieee80211n=1\n"
            "ieee80211ac=0\n"
            "wmm_enabled=1\n"
            "ignore_broadcast_ssid=1\n"
            "ap_isolate=1\n"
            "max_num_sta=10\n"
            "macaddr_acl=0\n"
            "deny_mac_file=/var/lib/tetherd/softap.deny\n"
            "auth_algs=1\n"
            "wpa=2\n"
            "wpa_key_mgmt=WPA-PSK\n"
            "rsn_pairwise=CCMP\n"
            "ieee80211w=1\n"
            "wpa_passphrase=correct horse\n");
}

TEST(SoftapConf, WiredEapTestMode) {
  Settings s = base();
  s.country = "DE";  // left out: driver=wired has no regulatory domain
  HostapdOptions o = opts();
  o.ifname = "veth-ap";
  o.driver = "wired";
  o.ctrlDir = "/tmp/lab/ctrl";
  o.eapUserFile = "/tmp/lab/eap_users";
  EXPECT_EQ(conf(s, o),
            "# hostapd configuration written by tetherd: do not edit, it is rewritten on every start.\n"
            "interface=veth-ap\n"
            "driver=wired\n"
            "ctrl_interface=/tmp/lab/ctrl\n"
            "logger_syslog=0\n"
            "logger_stdout=-1\n"
            "logger_stdout_level=2\n"
            "# The SSID is hex-encoded: no byte of it reaches this file raw.\n"
            "ssid2=486f6d65\n"
            "# country_code left out: no regulatory domain without a radio.\n"
            "hw_mode=g\n"
            "channel=6\n"
            "ieee80211n=1\n"
            "ieee80211ac=0\n"
            "wmm_enabled=1\n"
            "ignore_broadcast_ssid=0\n"
            "ap_isolate=0\n"
            "max_num_sta=32\n"
            "macaddr_acl=0\n"
            "auth_algs=1\n"
            "# Wired IEEE 802.1X test mode (no radio): the integrated EAP server authenticates stations.\n"
            "ieee8021x=1\n"
            "eap_server=1\n"
            "eap_user_file=/tmp/lab/eap_users\n"
            "use_pae_group_addr=1\n");
}

TEST(SoftapConf, Utf8SsidIsFlaggedAndHexEncoded) {
  Settings s = base();
  s.ssid = "Caf\xc3\xa9";
  std::string text = conf(s);
  EXPECT_NE(text.find("ssid2=436166c3a9\nutf8_ssid=1\n"), std::string::npos) << text;
}

TEST(SoftapConf, Channel14InJapanIsDsssOnly) {
  Settings s = base();
  s.country = "JP";
  s.channel = 14;
  s.ieee80211n = false;
  std::string text = conf(s);
  EXPECT_NE(text.find("country_code=JP\nieee80211d=1\n# Channel 14 (JP) allows DSSS/CCK only.\nhw_mode=b\nchannel=14\n"
                      "ieee80211n=0\n"),
            std::string::npos)
      << text;
}

TEST(SoftapConf, NoByteOfTheSsidReachesTheFileRaw) {
  Settings s = base();
  s.ssid = "x\"=y #z";
  std::string text = conf(s);
  EXPECT_NE(text.find("ssid2=78223d7920237a\n"), std::string::npos);
  EXPECT_EQ(text.find("#z"), std::string::npos);
  EXPECT_EQ(text.find("x\""), std::string::npos);
  s.ssid = "evil\nctrl_interface=/tmp";  // refused, not written
  EXPECT_TRUE(startsWith(confError(s), "ssid: ")) << confError(s);
}

TEST(SoftapConf, RefusesInvalidSettingsFirst) {
  Settings s = base();
  s.passphrase = "short";
  EXPECT_EQ(confError(s), "passphrase: shorter than 8 characters (5)");
}

TEST(SoftapConf, RefusesBadOptions) {
  Settings s = base();
  auto with = [&](auto change) {
    HostapdOptions o = opts();
    change(o);
    return confError(s, o);
  };
  EXPECT_TRUE(startsWith(with([](HostapdOptions& o) { o.ifname = "bad name"; }), "ifname: "));
  EXPECT_TRUE(startsWith(with([](HostapdOptions& o) { o.ifname = ""; }), "ifname: "));
  EXPECT_TRUE(startsWith(with([](HostapdOptions& o) { o.driver = "nl80211\nssid=x"; }), "driver: "));
  EXPECT_TRUE(startsWith(with([](HostapdOptions& o) { o.driver = ""; }), "driver: "));
  EXPECT_EQ(with([](HostapdOptions& o) { o.ctrlDir = "run/hostapd"; }), "ctrlDir: must be an absolute path");
  EXPECT_EQ(with([](HostapdOptions& o) { o.ctrlDir = ""; }), "ctrlDir: must be an absolute path");
  EXPECT_EQ(with([](HostapdOptions& o) { o.ctrlDir = "/run/x\nwpa=0"; }),
            "ctrlDir: contains a control character or newline");
  EXPECT_TRUE(startsWith(with([](HostapdOptions& o) { o.ctrlDir = "/" + std::string(110, 'd'); }),
                         "ctrlDir: the socket path"));
  EXPECT_TRUE(startsWith(with([](HostapdOptions& o) { o.ctrlGroup = "net dev"; }), "ctrlGroup: "));
  EXPECT_EQ(with([](HostapdOptions& o) { o.denyFile = "deny"; }), "denyFile: must be an absolute path");
  EXPECT_EQ(with([](HostapdOptions& o) { o.denyFile = std::string("/x\0y", 4); }),
            "denyFile: contains a control character or newline");
  EXPECT_EQ(with([](HostapdOptions& o) { o.eapUserFile = "users"; }), "eapUserFile: must be an absolute path");
  HostapdOptions o = opts();
  o.ctrlGroup = "1000";
  EXPECT_TRUE(hostapdConf(s, o).ok());
}

// ---------------------------------------------------------------- validation

TEST(SoftapValidate, BaseAndDefaultsAreValid) {
  EXPECT_TRUE(validate(base()).ok());
  EXPECT_TRUE(validate(defaultSettings("host", std::string(12, '\x5a'))).ok());
}

TEST(SoftapValidate, EveryInvalidFieldIsNamed) {
  Settings s;

  s = base(); s.ssid = std::string(33, 'a');
  EXPECT_EQ(errorOf(s), "ssid: longer than 32 bytes (33)");
  s = base(); s.ssid = std::string(32, 'a');
  EXPECT_TRUE(validate(s).ok());
  s = base(); s.ssid = "";
  EXPECT_EQ(errorOf(s), "ssid: empty (1 to 32 bytes)");
  s = base(); s.ssid = "a\nb";
  EXPECT_EQ(errorOf(s), "ssid: contains a newline or NUL");
  s = base(); s.ssid = std::string("a\0b", 3);
  EXPECT_EQ(errorOf(s), "ssid: contains a newline or NUL");
  s = base(); s.ssid = "tab\there";
  EXPECT_EQ(errorOf(s), "ssid: contains a control character at byte 4");
  s = base(); s.ssid = "del\x7f";
  EXPECT_EQ(errorOf(s), "ssid: contains a control character at byte 4");
  s = base(); s.ssid = "bad\xc3";
  EXPECT_EQ(errorOf(s), "ssid: not valid UTF-8");
  s = base(); s.ssid = "\xc0\xaf";  // overlong '/'
  EXPECT_EQ(errorOf(s), "ssid: not valid UTF-8");

  s = base(); s.passphrase = "1234567";
  EXPECT_EQ(errorOf(s), "passphrase: shorter than 8 characters (7)");
  s = base(); s.passphrase = "12345678";
  EXPECT_TRUE(validate(s).ok());
  s = base(); s.passphrase = std::string(63, '~');
  EXPECT_TRUE(validate(s).ok());
  s = base(); s.passphrase = std::string(64, 'g');
  EXPECT_TRUE(startsWith(errorOf(s), "passphrase: 64 characters must be 64 hex digits")) << errorOf(s);
  s = base(); s.passphrase = std::string(65, 'a');
  EXPECT_EQ(errorOf(s), "passphrase: longer than 63 characters (65)");
  s = base(); s.passphrase = "passw\xc3\xb6rd";
  EXPECT_EQ(errorOf(s), "passphrase: character 6 is not printable ASCII (0x20 to 0x7e)");
  s = base(); s.passphrase = "password\n1";
  EXPECT_EQ(errorOf(s), "passphrase: contains a newline or NUL");
  s = base(); s.passphrase = std::string("password\0" "1", 10);
  EXPECT_EQ(errorOf(s), "passphrase: contains a newline or NUL");
  s = base(); s.passphrase = "";
  EXPECT_EQ(errorOf(s), "passphrase: required for wpa2-psk");

  const std::string hex64 = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
  s = base(); s.passphrase = hex64;
  EXPECT_TRUE(validate(s).ok());
  s.security = Security::Wpa3Sae;
  EXPECT_TRUE(startsWith(errorOf(s), "passphrase: a raw 64-hex-digit PSK cannot be used with wpa3-sae")) << errorOf(s);
  s.security = Security::Wpa2Wpa3;
  EXPECT_TRUE(startsWith(errorOf(s), "passphrase: a raw 64-hex-digit PSK cannot be used with wpa2-wpa3"));
  s = base(); s.security = Security::Wpa3Sae; s.passphrase = "secret|id=guest";
  EXPECT_EQ(errorOf(s), "passphrase: contains '|id=', which hostapd would read as a sae_password parameter");
  s.security = Security::Wpa2Psk;  // wpa_passphrase takes it literally
  EXPECT_TRUE(validate(s).ok());

  s = base(); s.country = "XX";
  EXPECT_EQ(errorOf(s), "country: 'XX' is not an ISO 3166-1 alpha-2 country code");
  s = base(); s.country = "ZZ";
  EXPECT_EQ(errorOf(s), "country: 'ZZ' is not an ISO 3166-1 alpha-2 country code");
  s = base(); s.country = "de";  // setField upper-cases; the struct itself must hold upper case
  EXPECT_EQ(errorOf(s), "country: 'de' is not an ISO 3166-1 alpha-2 country code");

  s = base(); s.channel = 36;
  EXPECT_EQ(errorOf(s), "channel: 36 is not a 2.4 GHz channel (1 to 13; 14 in JP only)");
  s = base(); s.channel = 14;
  EXPECT_EQ(errorOf(s), "channel: 14 is allowed only with country JP");
  s = base(); s.channel = 14; s.country = "US";
  EXPECT_EQ(errorOf(s), "channel: 14 is allowed only with country JP");
  s = base(); s.channel = 14; s.country = "JP";
  EXPECT_EQ(errorOf(s), "80211n: not available on channel 14 (802.11b only)");
  s.ieee80211n = false;
  EXPECT_TRUE(validate(s).ok());
  s = base(); s.channel = -1;
  EXPECT_TRUE(startsWith(errorOf(s), "channel: -1 is not a 2.4 GHz channel"));
  s = base(); s.band = Band::Ghz5;
  EXPECT_EQ(errorOf(s), "channel: 6 is not a 5 GHz channel (36-64, 100-144 in steps of 4, 149-165)");
  s.channel = 38;
  EXPECT_TRUE(startsWith(errorOf(s), "channel: 38 is not a 5 GHz channel"));
  s.channel = 100;
  EXPECT_EQ(errorOf(s), "channel: 100 needs radar detection (DFS): set the country first");
  s.country = "DE";
  EXPECT_TRUE(validate(s).ok());
  for (int ch : {36, 40, 44, 48, 149, 153, 157, 161, 165}) {
    s.country = "";
    s.channel = ch;
    EXPECT_TRUE(validate(s).ok()) << ch;
  }

  s = base(); s.maxStations = 0;
  EXPECT_EQ(errorOf(s), "max-stations: must be between 1 and 2007 (0)");
  s.maxStations = 2008;
  EXPECT_EQ(errorOf(s), "max-stations: must be between 1 and 2007 (2008)");
  s.maxStations = 2007;
  EXPECT_TRUE(validate(s).ok());

  s = base(); s.ieee80211ac = true;
  EXPECT_EQ(errorOf(s), "80211ac: only on the 5 GHz band");
  s.band = Band::Ghz5; s.channel = 36; s.ieee80211n = false;
  EXPECT_EQ(errorOf(s), "80211ac: needs 80211n");
}

TEST(SoftapValidate, OpenNeedsNoPassphrase) {
  Settings s = base();
  s.security = Security::Open;
  s.passphrase = "";
  EXPECT_TRUE(validate(s).ok());
  s.passphrase = "bad\npass";  // still never stored with a newline
  EXPECT_EQ(errorOf(s), "passphrase: contains a newline or NUL");
}

// ---------------------------------------------------------------- setField / getField

TEST(SoftapFields, NamesInOrder) {
  EXPECT_EQ(fieldNames(), (std::vector<std::string>{"ssid", "security", "passphrase", "band", "channel", "country",
                                                    "hidden", "isolation", "max-stations", "80211n", "80211ac"}));
}

TEST(SoftapFields, SetAndGetEveryField) {
  Settings s = base();
  auto set = [&](const std::string& k, const std::string& v) {
    auto st = setField(s, k, v);
    EXPECT_TRUE(st.ok()) << k << "=" << v << ": " << st.error().message;
  };
  auto get = [&](const std::string& k) {
    auto r = getField(s, k);
    EXPECT_TRUE(r.ok()) << k;
    return r.ok() ? *r : "";
  };
  set("ssid", "My Net \"5\"");
  EXPECT_EQ(get("ssid"), "My Net \"5\"");
  set("passphrase", "a new passphrase");
  EXPECT_EQ(get("passphrase"), "a new passphrase");
  set("security", "wpa3-sae");
  EXPECT_EQ(get("security"), "wpa3-sae");
  EXPECT_EQ(s.security, Security::Wpa3Sae);
  set("security", "wpa2-wpa3");
  set("security", "open");
  set("security", "wpa2-psk");
  set("channel", "auto");
  EXPECT_EQ(s.channel, 0);
  EXPECT_EQ(get("channel"), "auto");
  set("band", "5");
  EXPECT_EQ(get("band"), "5");
  set("channel", "149");
  EXPECT_EQ(get("channel"), "149");
  set("country", "jp");
  EXPECT_EQ(s.country, "JP");
  EXPECT_EQ(get("country"), "JP");
  set("country", "");
  EXPECT_EQ(get("country"), "");
  set("hidden", "yes");
  EXPECT_TRUE(s.hidden);
  EXPECT_EQ(get("hidden"), "yes");
  set("hidden", "off");
  EXPECT_EQ(get("hidden"), "no");
  set("isolation", "true");
  EXPECT_EQ(get("isolation"), "yes");
  set("max-stations", "5");
  EXPECT_EQ(get("max-stations"), "5");
  set("80211ac", "1");
  EXPECT_EQ(get("80211ac"), "yes");
  set("80211ac", "no");
  set("80211n", "no");
  EXPECT_EQ(get("80211n"), "no");
  set("channel", "0");
  EXPECT_EQ(get("channel"), "auto");
  set("band", "2.4");
  EXPECT_EQ(get("band"), "2.4");
}

TEST(SoftapFields, RefusedChangesLeaveTheSettingsUnchanged) {
  const Settings before = base();
  Settings s = before;
  auto refused = [&](const std::string& k, const std::string& v) {
    auto st = setField(s, k, v);
    EXPECT_FALSE(st.ok()) << k << "=" << v;
    EXPECT_EQ(serializeSettings(s), serializeSettings(before)) << k << "=" << v;
    return st.ok() ? std::string() : st.error().message;
  };
  EXPECT_EQ(refused("ssid", std::string(33, 'x')), "ssid: longer than 32 bytes (33)");
  EXPECT_EQ(refused("ssid", "a\nb"), "ssid: contains a newline or NUL");
  EXPECT_EQ(refused("passphrase", "1234567"), "passphrase: shorter than 8 characters (7)");
  EXPECT_EQ(refused("security", "wep"), "security: 'wep' is not one of open, wpa2-psk, wpa3-sae, wpa2-wpa3");
  EXPECT_EQ(refused("band", "6"), "band: '6' is not 2.4 or 5");
  EXPECT_EQ(refused("band", "5"), "channel: 6 is not a 5 GHz channel (36-64, 100-144 in steps of 4, 149-165)");
  EXPECT_EQ(refused("channel", "36"), "channel: 36 is not a 2.4 GHz channel (1 to 13; 14 in JP only)");
  EXPECT_EQ(refused("channel", "14"), "channel: 14 is allowed only with country JP");
  EXPECT_EQ(refused("channel", "six"), "channel: 'six' is not a channel number or auto");
  EXPECT_EQ(refused("channel", "6 "), "channel: '6 ' is not a channel number or auto");
  EXPECT_EQ(refused("country", "xx"), "country: 'XX' is not an ISO 3166-1 alpha-2 country code");
  EXPECT_EQ(refused("country", "DEU"), "country: 'DEU' is not an ISO 3166-1 alpha-2 country code");
  EXPECT_EQ(refused("hidden", "maybe"), "hidden: 'maybe' is not yes or no");
  EXPECT_EQ(refused("max-stations", "0"), "max-stations: must be between 1 and 2007 (0)");
  EXPECT_EQ(refused("max-stations", "lots"), "max-stations: 'lots' is not a whole number");
  EXPECT_EQ(refused("max-stations", "99999999999999"), "max-stations: '99999999999999' is not a whole number");
  EXPECT_EQ(refused("80211ac", "yes"), "80211ac: only on the 5 GHz band");
  EXPECT_TRUE(startsWith(refused("colour", "red"), "'colour': unknown field (known: ssid security passphrase"));

  // A combination: channel 14 needs JP and no 802.11n; then leaving JP is refused.
  ASSERT_TRUE(setField(s, "country", "JP").ok());
  EXPECT_EQ(setField(s, "channel", "14").error().message, "80211n: not available on channel 14 (802.11b only)");
  EXPECT_EQ(s.channel, 6);
  ASSERT_TRUE(setField(s, "80211n", "no").ok());
  ASSERT_TRUE(setField(s, "channel", "14").ok());
  EXPECT_EQ(setField(s, "country", "DE").error().message, "channel: 14 is allowed only with country JP");
  EXPECT_EQ(s.country, "JP");

  // A raw PSK is fine for wpa2-psk but blocks the switch to SAE.
  s = before;
  ASSERT_TRUE(setField(s, "passphrase", std::string(64, 'f')).ok());
  EXPECT_TRUE(startsWith(setField(s, "security", "wpa3-sae").error().message, "passphrase: a raw 64-hex-digit PSK"));
  EXPECT_EQ(s.security, Security::Wpa2Psk);
}

TEST(SoftapFields, GetUnknownField) {
  auto r = getField(base(), "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::InvalidArgument);
  EXPECT_TRUE(startsWith(r.error().message, "'nope': unknown field"));
}

// ---------------------------------------------------------------- defaults

TEST(SoftapDefaults, SsidFromHostname) {
  const std::string rnd(12, '\0');
  EXPECT_EQ(defaultSettings("laptop", rnd).ssid, "laptop");
  EXPECT_EQ(defaultSettings("My-Laptop.example.com", rnd).ssid, "My-Laptop");
  EXPECT_EQ(defaultSettings("my box!", rnd).ssid, "mybox");
  EXPECT_EQ(defaultSettings("", rnd).ssid, "tetherd");
  EXPECT_EQ(defaultSettings(".local", rnd).ssid, "tetherd");
  EXPECT_EQ(defaultSettings("\xc3\xa9\n\t", rnd).ssid, "tetherd");
  EXPECT_EQ(defaultSettings(std::string(40, 'h'), rnd).ssid, std::string(32, 'h'));
}

TEST(SoftapDefaults, PassphraseFromRandomBytes) {
  EXPECT_EQ(defaultSettings("h", std::string(12, '\0')).passphrase, "222222222222");
  EXPECT_EQ(defaultSettings("h", std::string(12, '\xff')).passphrase, "zzzzzzzzzzzz");
  // 5 bits per character: 00001 00010 00011 ... over the bit stream.
  const std::string bytes("\x08\x86\x42\x98\xe8\x4a\x96\x00\x00\x00\x00\x00", 12);
  std::string p = defaultSettings("h", bytes).passphrase;
  EXPECT_EQ(p, "3456789abcd2");
  const std::string alphabet = "23456789abcdefghijkmnpqrstuvwxyz";
  std::set<char> seen;
  for (int seed = 0; seed < 64; ++seed) {
    std::string r;
    for (int i = 0; i < 16; ++i) r += static_cast<char>((seed * 131 + i * 71) & 0xff);
    Settings s = defaultSettings("h", r);
    ASSERT_EQ(s.passphrase.size(), 12u);
    for (char c : s.passphrase) {
      EXPECT_NE(alphabet.find(c), std::string::npos) << c;
      seen.insert(c);
    }
    EXPECT_TRUE(validate(s).ok());
  }
  for (char bad : std::string("01loOIl")) EXPECT_EQ(seen.count(bad), 0u);
  Settings d = defaultSettings("h", std::string(12, 'x'));
  EXPECT_EQ(d.security, Security::Wpa2Psk);
  EXPECT_EQ(d.band, Band::Ghz24);
  EXPECT_EQ(d.channel, 0);
}

TEST(SoftapDefaults, TooFewRandomBytesLeaveAnInvalidPassphrase) {
  Settings s = defaultSettings("h", std::string(11, 'x'));
  EXPECT_TRUE(s.passphrase.empty());
  EXPECT_EQ(errorOf(s), "passphrase: required for wpa2-psk");
}

// ---------------------------------------------------------------- persisted form

TEST(SoftapPersist, ExactText) {
  EXPECT_EQ(serializeSettings(base()),
            "# tetherd soft-AP settings (written by tetherd; ssid and passphrase are hex-encoded)\n"
            "ssid=hex:486f6d65\n"
            "security=wpa2-psk\n"
            "passphrase=hex:636f727265637420686f727365\n"
            "band=2.4\n"
            "channel=6\n"
            "country=\n"
            "hidden=no\n"
            "isolation=no\n"
            "max-stations=32\n"
            "80211n=yes\n"
            "80211ac=no\n");
}

TEST(SoftapPersist, RoundTrip) {
  for (const std::string& ssid : std::vector<std::string>{"My Net", "\"quoted\"", "a=b=c", "#not a comment", "back\\slash", "Caf\xc3\xa9 \xe2\x98\x95",
                                 " leading and trailing ", "x", std::string(32, 'z')}) {
    Settings s = base();
    s.ssid = ssid;
    s.passphrase = " pass = word # ; \" ";
    s.security = Security::Wpa2Wpa3;
    s.band = Band::Ghz5;
    s.channel = 116;
    s.country = "NZ";
    s.hidden = true;
    s.isolation = true;
    s.maxStations = 7;
    s.ieee80211ac = true;
    auto r = parseSettings(serializeSettings(s));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(serializeSettings(*r), serializeSettings(s));
    EXPECT_EQ(r->ssid, ssid);
    EXPECT_EQ(r->passphrase, s.passphrase);
    EXPECT_EQ(r->channel, 116);
    EXPECT_EQ(r->country, "NZ");
  }
  Settings open = base();
  open.security = Security::Open;
  open.passphrase = "";
  auto r = parseSettings(serializeSettings(open));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->passphrase, "");
}

TEST(SoftapPersist, MissingKeysKeepDefaultsAndCommentsAreAllowed) {
  auto r = parseSettings("# hand written\n\nssid = hex:4142\r\n  passphrase=hex:3132333435363738\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ssid, "AB");
  EXPECT_EQ(r->passphrase, "12345678");
  EXPECT_EQ(r->channel, 0);
  EXPECT_EQ(r->maxStations, 32);
}

TEST(SoftapPersist, ErrorsNameLineAndKey) {
  auto err = [](std::string_view text) {
    auto r = parseSettings(text);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.error().message;
  };
  const std::string ok = "ssid=hex:4142\npassphrase=hex:3132333435363738\n";
  EXPECT_EQ(err(ok + "colour=red\n"), "line 3: unknown key 'colour'");
  EXPECT_EQ(err(ok + "ssid=hex:41\n"), "line 3: key 'ssid': set twice");
  EXPECT_EQ(err(ok + "just words\n"), "line 3: expected key=value");
  EXPECT_EQ(err("ssid=AB\n"), "line 1: key 'ssid': expected hex:<hex digits>");
  EXPECT_EQ(err("ssid=hex:414\n"), "line 1: key 'ssid': expected hex:<hex digits>");
  EXPECT_EQ(err("ssid=hex:zz\n"), "line 1: key 'ssid': expected hex:<hex digits>");
  EXPECT_EQ(err(ok + "channel=abc\n"), "line 3: key 'channel': 'abc' is not a channel number or auto");
  EXPECT_EQ(err(ok + "hidden=perhaps\n"), "line 3: key 'hidden': 'perhaps' is not yes or no");
  EXPECT_EQ(err(ok + "# c\nchannel=36\n"), "line 4: key 'channel': 36 is not a 2.4 GHz channel (1 to 13; 14 in JP only)");
  EXPECT_EQ(err(ok + "country=xx\n"), "line 3: key 'country': 'XX' is not an ISO 3166-1 alpha-2 country code");
  EXPECT_EQ(err("ssid=hex:0a\npassphrase=hex:3132333435363738\n"), "line 1: key 'ssid': contains a newline or NUL");
  EXPECT_EQ(err("passphrase=hex:3132333435363738\n"), "settings: ssid: empty (1 to 32 bytes)");
  EXPECT_EQ(err(ok + "band=5\x01\n"), "line 3: control character in line");
  EXPECT_EQ(err(std::string(70 * 1024, '#')), "settings: larger than 64 KiB");
}

// ---------------------------------------------------------------- QR code

TEST(SoftapQr, Payloads) {
  Settings s = base();
  EXPECT_EQ(wifiQrPayload(s), "WIFI:T:WPA;S:Home;P:correct horse;;");
  s.ssid = "a;b,c:d\\e\"f";
  s.passphrase = "p;a:s,s\\\"";
  s.hidden = true;
  EXPECT_EQ(wifiQrPayload(s), "WIFI:T:WPA;S:a\\;b\\,c\\:d\\\\e\\\"f;P:p\\;a\\:s\\,s\\\\\\\";H:true;;");
  s = base();
  s.security = Security::Wpa3Sae;
  EXPECT_EQ(wifiQrPayload(s), "WIFI:T:SAE;S:Home;P:correct horse;;");
  s.security = Security::Wpa2Wpa3;
  EXPECT_EQ(wifiQrPayload(s), "WIFI:T:WPA;S:Home;P:correct horse;;");
  s.security = Security::Open;
  EXPECT_EQ(wifiQrPayload(s), "WIFI:T:nopass;S:Home;;");
  s.hidden = true;
  s.ssid = "Caf\xc3\xa9";
  EXPECT_EQ(wifiQrPayload(s), "WIFI:T:nopass;S:Caf\xc3\xa9;H:true;;");
}
