// The Wi-Fi upstream's pure parts (travel-router mode): its config keys and whole-file checks,
// the wpa_supplicant.conf and argv and the udhcpc argv and script by exact text, the parsers
// of wpa_supplicant's STATUS and events (as wpa_supplicant 2.10 prints them on
// mac80211_hwsim: platform-facts-2.md section 5), the soft AP's channel decisions, and the
// up-front check of the radio's interface combinations.
#include <gtest/gtest.h>

#include "config/config.h"
#include "config/wifi_upstream.h"
#include "softap/hostapd/wpa_supplicant.h"
#include "softap/service/wifi_combinations.h"
#include "tether/system/udhcpc.h"

using namespace tetherd;
using namespace tetherd::softap;

namespace {

const char* kTravel =
    "[upstream]\npriority = wlan0 eth0\n"
    "[upstream.wlan0]\nssid = Hotel \"Lobby\"\npassphrase = correct horse\n"
    "[softap]\ninterface = ap0\n";

std::string errorOf(const std::string& text) {
  auto c = parseConfig(text, "t.conf");
  return c ? "" : c.error().message;
}

WifiUpstream hotel() {
  WifiUpstream w;
  w.ssid = "Hotel";
  w.passphrase = "secret123";
  return w;
}

}  // namespace

TEST(WifiUpstreamConfig, ParsesTheTravelRouterCase) {
  auto c = parseConfig(kTravel, "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->wifiUpstreams.size(), 1u);
  const auto& w = c->wifiUpstreams.at("wlan0");
  EXPECT_EQ(w.ssid, "Hotel \"Lobby\"");
  EXPECT_EQ(w.passphrase, "correct horse");
  EXPECT_EQ(w.apAddress, "");
  EXPECT_EQ(w.wpaSupplicantPath, "/usr/sbin/wpa_supplicant");
  EXPECT_EQ(w.udhcpcPath, "/usr/sbin/udhcpc");
}

TEST(WifiUpstreamConfig, EveryBadValueNamesItsKeyAndCause) {
  auto with = [](const std::string& lines) {
    return errorOf("[upstream]\npriority = wlan0\n[softap]\ninterface = ap0\n[upstream.wlan0]\nssid = x\n" + lines);
  };
  EXPECT_EQ(with(""), "");
  EXPECT_NE(with("passphrase = short").find("key 'passphrase' in [upstream.wlan0]: must be 8 to 63 characters"),
            std::string::npos);
  EXPECT_NE(with("passphrase = " + std::string(64, 'g')).find("64 characters must be hex digits"), std::string::npos);
  EXPECT_EQ(with("passphrase = " + std::string(64, 'A')), "");
  EXPECT_NE(with("passphrase = caf\xc3\xa9 au lait").find("only printable ASCII"), std::string::npos);
  EXPECT_NE(with("ap_address = 03:00:00:00:00:10").find("key 'ap_address' in [upstream.wlan0]: 03:00:00:00:00:10 is a multicast"),
            std::string::npos);
  EXPECT_NE(with("ap_address = 02:00:00:00:00").find("is not a MAC address"), std::string::npos);
  EXPECT_NE(with("wpa_supplicant = wpa_supplicant").find("key 'wpa_supplicant' in [upstream.wlan0]: 'wpa_supplicant' is not an absolute path"),
            std::string::npos);
  EXPECT_NE(with("udhcpc = /bin/udhcpc -x").find("is not an absolute path"), std::string::npos);
  EXPECT_NE(with("unknown = 1").find("unknown key 'unknown' in [upstream.wlan0]"), std::string::npos);
  // The control-character check of the file format comes first; within the value: 33 bytes.
  EXPECT_NE(errorOf("[upstream]\npriority = wlan0\n[upstream.wlan0]\nssid = " + std::string(33, 'a') + "\n")
                .find("key 'ssid' in [upstream.wlan0]: longer than 32 bytes (33)"),
            std::string::npos);
}

TEST(WifiUpstreamConfig, WholeFileChecks) {
  EXPECT_NE(errorOf("[upstream]\npriority = wlan0\n[softap]\ninterface = ap0\n[upstream.wlan0]\npassphrase = 12345678\n")
                .find("[upstream.wlan0] has Wi-Fi keys but no ssid"),
            std::string::npos);
  EXPECT_NE(errorOf("[upstream]\npriority = eth0\n[softap]\ninterface = ap0\n[upstream.wlan0]\nssid = x\n")
                .find("[upstream.wlan0] ssid: wlan0 is not in [upstream] priority"),
            std::string::npos);
  EXPECT_NE(errorOf("[upstream]\npriority = wlan0\n[upstream.wlan0]\nssid = x\n").find("is also [softap] interface"),
            std::string::npos);
  EXPECT_NE(errorOf("[upstream]\npriority = wlan0 wlan1\n[softap]\ninterface = ap0\n[upstream.wlan0]\nssid = x\n"
                    "[upstream.wlan1]\nssid = y\n")
                .find("[upstream.wlan1] ssid: only one Wi-Fi upstream is supported"),
            std::string::npos);
  // dns alone is not a Wi-Fi upstream.
  EXPECT_EQ(errorOf("[upstream]\npriority = eth0\n[upstream.eth0]\ndns = 192.0.2.53\n"), "");
}

TEST(WifiUpstreamConfig, NetworkFileInsteadOfSsidAndTheLeasesDnsByDefault) {
  const std::string head = "[upstream]\npriority = wlan0\n[softap]\ninterface = ap0\n[upstream.wlan0]\n";
  auto c = parseConfig(head + "network_file = /etc/tetherd/hotel-wpa.conf\n", "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->wifiUpstreams.at("wlan0").networkFile, "/etc/tetherd/hotel-wpa.conf");
  EXPECT_EQ(c->wifiUpstreams.at("wlan0").ssid, "");
  // The station's DNS servers are its lease's (udhcpc's script writes them), unless configured.
  EXPECT_EQ(c->upstreamResolvFile.at("wlan0"), "/run/tetherd/udhcpc-wlan0.resolv");
  c = parseConfig(head + "ssid = x\nresolv_file = /run/mine.resolv\n", "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->upstreamResolvFile.at("wlan0"), "/run/mine.resolv");
  EXPECT_NE(errorOf(head + "ssid = x\nnetwork_file = /etc/w.conf\n")
                .find("[upstream.wlan0] network_file: set with ssid; the network is either ssid (and passphrase) or a network_file"),
            std::string::npos);
  EXPECT_NE(errorOf(head + "network_file = /etc/w.conf\npassphrase = 12345678\n").find("[upstream.wlan0] passphrase: set without ssid"),
            std::string::npos);
  EXPECT_NE(errorOf(head + "network_file = w.conf\n").find("key 'network_file' in [upstream.wlan0]: 'w.conf' is not an absolute path"),
            std::string::npos);
}

TEST(WpaSupplicant, NetworkFileGivesNoNetworkBlockAndIsPassedWithDashI) {
  WifiUpstream w;
  w.networkFile = "/etc/tetherd/hotel-wpa.conf";
  auto conf = wpaSupplicantConf(w, {"wlan0", "/run/tetherd/wpa_supplicant"});
  ASSERT_TRUE(conf) << conf.error().message;
  EXPECT_EQ(*conf,
            "# Written by tetherd: the Wi-Fi upstream on wlan0.\n"
            "ctrl_interface=/run/tetherd/wpa_supplicant\n"
            "update_config=0\n"
            "p2p_disabled=1\n");
  auto a = wpaSupplicantArgv("/usr/sbin/wpa_supplicant", "wlan0", "/run/c.conf", w.networkFile);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<std::string>{"/usr/sbin/wpa_supplicant", "-i", "wlan0", "-D", "nl80211", "-c", "/run/c.conf",
                                          "-I", "/etc/tetherd/hotel-wpa.conf"}));
  EXPECT_EQ(wpaSupplicantArgv("/w", "wlan0", "/c", "/etc/a b.conf").error().message,
            "network_file: '/etc/a b.conf' is not a clean absolute path");
}

TEST(WifiUpstreamConfig, ApAddressIsLocallyAdministeredUnicastAndDistinct) {
  EXPECT_EQ(wifiApAddressFor("02:00:00:00:00:00"), "02:00:00:00:00:01");
  EXPECT_EQ(wifiApAddressFor("00:1A:2B:3C:4D:5E"), "02:1a:2b:3c:4d:5f");
  EXPECT_EQ(wifiApAddressFor("01:00:00:00:00:01"), "02:00:00:00:00:00");  // never multicast
  EXPECT_EQ(wifiApAddressFor("02:00:00:00:00"), "");
  EXPECT_EQ(wifiApAddressFor("zz:00:00:00:00:00"), "");
}

TEST(WpaSupplicant, ConfByExactText) {
  auto conf = wpaSupplicantConf(hotel(), {"wlan0", "/run/tetherd/wpa_supplicant"});
  ASSERT_TRUE(conf) << conf.error().message;
  EXPECT_EQ(*conf,
            "# Written by tetherd: the Wi-Fi upstream on wlan0.\n"
            "ctrl_interface=/run/tetherd/wpa_supplicant\n"
            "update_config=0\n"
            "p2p_disabled=1\n"
            "network={\n"
            "\tssid=486f74656c\n"
            "\tscan_ssid=1\n"
            "\tkey_mgmt=WPA-PSK\n"
            "\tpsk=\"secret123\"\n"
            "}\n");
}

TEST(WpaSupplicant, OpenRawPskAndHostileTextStayInsideTheirLines) {
  WifiUpstream open;
  open.ssid = "caf\xc3\xa9\"\n}";  // a control character: refused
  EXPECT_FALSE(wpaSupplicantConf(open, {"wlan0", "/run/t"}));
  open.ssid = "a\"}\nnetwork={";
  EXPECT_FALSE(wpaSupplicantConf(open, {"wlan0", "/run/t"}));
  open.ssid = "x\" key_mgmt=NONE #";  // printable: hex-encoded, so it cannot end the line
  auto c = wpaSupplicantConf(open, {"wlan0", "/run/t"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_NE(c->find("\tssid=7822206b65795f6d676d743d4e4f4e452023\n\tscan_ssid=1\n\tkey_mgmt=NONE\n}\n"), std::string::npos) << *c;
  WifiUpstream quoted = hotel();
  quoted.passphrase = "pa\"ss word\"";  // wpa_supplicant reads up to the last quote
  c = wpaSupplicantConf(quoted, {"wlan0", "/run/t"});
  ASSERT_TRUE(c);
  EXPECT_NE(c->find("\tpsk=\"pa\"ss word\"\"\n"), std::string::npos) << *c;
  WifiUpstream raw = hotel();
  raw.passphrase = std::string(64, 'A');
  c = wpaSupplicantConf(raw, {"wlan0", "/run/t"});
  ASSERT_TRUE(c);
  EXPECT_NE(c->find("\tpsk=" + std::string(64, 'a') + "\n"), std::string::npos);
  raw.passphrase = "line\nbreak1";
  EXPECT_EQ(wpaSupplicantConf(raw, {"wlan0", "/run/t"}).error().message, "passphrase: only printable ASCII characters are allowed");
  EXPECT_EQ(wpaSupplicantConf(hotel(), {"wlan0\n", "/run/t"}).error().message, "ifname: 'wlan0\n' is not a plain interface name");
  EXPECT_FALSE(wpaSupplicantConf(hotel(), {"wlan0", "run/t"}));
  EXPECT_FALSE(wpaSupplicantConf(hotel(), {"wlan0", "/run/t\nx=1"}));
  EXPECT_FALSE(wpaSupplicantConf(hotel(), {"wlan0", "/" + std::string(110, 'd')}));
}

TEST(WpaSupplicant, Argv) {
  auto a = wpaSupplicantArgv("/usr/sbin/wpa_supplicant", "wlan0", "/run/tetherd/wpa_supplicant-wlan0.conf");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<std::string>{"/usr/sbin/wpa_supplicant", "-i", "wlan0", "-D", "nl80211", "-c",
                                          "/run/tetherd/wpa_supplicant-wlan0.conf"}));
  EXPECT_FALSE(wpaSupplicantArgv("wpa_supplicant", "wlan0", "/c"));
  EXPECT_FALSE(wpaSupplicantArgv("/w", "-wlan0 x", "/c"));
  EXPECT_FALSE(wpaSupplicantArgv("/w", "wlan0", "/c d"));
}

TEST(WpaSupplicant, StatusAsWpaSupplicantPrintsIt) {
  auto s = parseWpaStatus(
      "bssid=02:00:00:00:01:00\nfreq=2412\nssid=upstream\nid=0\nmode=station\nwifi_generation=4\n"
      "pairwise_cipher=CCMP\ngroup_cipher=CCMP\nkey_mgmt=WPA2-PSK\nwpa_state=COMPLETED\n"
      "address=02:00:00:00:00:00\nuuid=d8e4...\nieee80211ac=0\n");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->completed());
  EXPECT_EQ(s->freq, 2412);
  EXPECT_EQ(s->bssid, "02:00:00:00:01:00");
  EXPECT_EQ(s->address, "02:00:00:00:00:00");
  EXPECT_EQ(s->ssid, "upstream");
  auto scanning = parseWpaStatus("wpa_state=SCANNING\naddress=02:00:00:00:00:00\n");
  ASSERT_TRUE(scanning);
  EXPECT_FALSE(scanning->completed());
  EXPECT_EQ(scanning->freq, 0);
  EXPECT_EQ(parseWpaStatus("freq=2412\n").error().message, "wpa_supplicant STATUS: no wpa_state line");
  EXPECT_NE(parseWpaStatus("wpa_state=COMPLETED\nfreq=24x2\n").error().message.find("freq '24x2' is not a frequency"),
            std::string::npos);
  EXPECT_FALSE(parseWpaStatus("wpa_state=completed; rm\n"));
  EXPECT_FALSE(parseWpaStatus("wpa_state=COMPLETED\nbssid=ff:ff:ff:ff:ff:ff\n"));
  EXPECT_FALSE(parseWpaStatus(std::string(5000, 'a')));
  EXPECT_FALSE(parseWpaStatus(""));
}

TEST(WpaSupplicant, Events) {
  using T = WpaEvent::Type;
  auto e = parseWpaEvent("<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed [id=0 id_str=]");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, T::Connected);
  e = parseWpaEvent("<3>CTRL-EVENT-STARTED-CHANNEL-SWITCH freq=2437 ht_enabled=1 ch_offset=0 ch_width=20 MHz cf1=2437 cf2=0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, T::ChannelSwitchStarted);
  EXPECT_EQ(e->freq, 2437);
  e = parseWpaEvent("IFNAME=wlan0 <3>CTRL-EVENT-CHANNEL-SWITCH freq=5180 ht_enabled=1 ch_offset=1\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, T::ChannelSwitched);
  EXPECT_EQ(e->freq, 5180);
  e = parseWpaEvent("<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=4 locally_generated=1");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, T::Disconnected);
  EXPECT_EQ(parseWpaEvent("<2>CTRL-EVENT-TERMINATING")->type, T::Terminating);
  EXPECT_EQ(parseWpaEvent("<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid=\"up\" auth_failures=1")->type, T::Other);
  // A switch without a usable frequency is not acted on.
  for (const char* bad : {"<3>CTRL-EVENT-STARTED-CHANNEL-SWITCH", "<3>CTRL-EVENT-STARTED-CHANNEL-SWITCH freq=",
                          "<3>CTRL-EVENT-STARTED-CHANNEL-SWITCH freq=99999999999", "<3>CTRL-EVENT-STARTED-CHANNEL-SWITCH freq=-2412",
                          "<3>CTRL-EVENT-STARTED-CHANNEL-SWITCH freq=5955", "<3>CTRL-EVENT-STARTED-CHANNEL-SWITCH freq=2413"}) {
    auto b = parseWpaEvent(bad);
    ASSERT_TRUE(b) << bad;
    EXPECT_EQ(b->type, T::Other) << bad;
    EXPECT_EQ(b->freq, 0) << bad;
  }
  EXPECT_FALSE(parseWpaEvent("OK\n"));
  EXPECT_FALSE(parseWpaEvent(""));
  EXPECT_FALSE(parseWpaEvent("<3>"));
  EXPECT_FALSE(parseWpaEvent("<12345>X"));
  EXPECT_FALSE(parseWpaEvent("<3" + std::string(5000, 'x')));
}

TEST(WpaSupplicant, ChannelDecisions) {
  EXPECT_EQ(*apChannelForFreq(2412), (ApChannel{false, 1}));
  EXPECT_EQ(*apChannelForFreq(2437), (ApChannel{false, 6}));
  EXPECT_EQ(*apChannelForFreq(2472), (ApChannel{false, 13}));
  EXPECT_EQ(*apChannelForFreq(2484), (ApChannel{false, 14}));
  EXPECT_EQ(*apChannelForFreq(5180), (ApChannel{true, 36}));
  EXPECT_EQ(*apChannelForFreq(5825), (ApChannel{true, 165}));
  EXPECT_EQ(apChannelForFreq(5955).error().message,
            "the station's frequency 5955 MHz is not a 2.4 or 5 GHz channel the soft AP can use");
  EXPECT_FALSE(apChannelForFreq(0));
  EXPECT_FALSE(apChannelForFreq(2417 + 1));

  EXPECT_EQ(*chanSwitchCommand(kApCsaCount, 2437), "CHAN_SWITCH 20 2437");
  EXPECT_FALSE(chanSwitchCommand(0, 2437));
  EXPECT_FALSE(chanSwitchCommand(256, 2437));
  EXPECT_FALSE(chanSwitchCommand(5, 2438));

  EXPECT_EQ(decideAp(0, 0), ApAction::Wait);        // the AP waits for the station's channel
  EXPECT_EQ(decideAp(2412, 0), ApAction::Start);    // then starts there
  EXPECT_EQ(decideAp(2412, 2412), ApAction::Keep);
  EXPECT_EQ(decideAp(2437, 2412), ApAction::Switch);  // follows the station
  EXPECT_EQ(decideAp(0, 2412), ApAction::Keep);       // a station that left keeps the AP where it is
  EXPECT_STREQ(apActionName(ApAction::Switch), "switch");
}

TEST(Udhcpc, ArgvAndScriptByExactText) {
  EXPECT_EQ(udhcpcScriptPath("/run/tetherd", "wlan0"), "/run/tetherd/udhcpc-wlan0.sh");
  auto a = udhcpcArgv("/usr/sbin/udhcpc", "wlan0", "/run/tetherd/udhcpc-wlan0.sh");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<std::string>{"/usr/sbin/udhcpc", "-f", "-R", "-i", "wlan0", "-s", "/run/tetherd/udhcpc-wlan0.sh",
                                          "-t", "3", "-T", "2", "-A", "5"}));
  EXPECT_FALSE(udhcpcArgv("udhcpc", "wlan0", "/s"));
  EXPECT_FALSE(udhcpcArgv("/u", "wlan0;x", "/s"));
  EXPECT_FALSE(udhcpcArgv("/u", "wlan0", "/s'"));
  auto s = udhcpcScript("wlan0", "/run/tetherd/udhcpc-wlan0.resolv");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s,
            "#!/bin/sh\n"
            "# Written by tetherd: the IPv4 lease of the Wi-Fi upstream wlan0 (busybox udhcpc).\n"
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
            "set -f\n"
            "[ \"$interface\" = wlan0 ] || exit 1\n"
            "case \"$1\" in\n"
            "  deconfig)\n"
            "    ip -4 route flush dev wlan0 proto static\n"
            "    ip -4 addr flush dev wlan0\n"
            "    rm -f \"/run/tetherd/udhcpc-wlan0.resolv\"\n"
            "    ;;\n"
            "  bound|renew)\n"
            "    case \"$ip\" in ''|*[!0-9.]*) echo \"udhcpc script: bad ip\" >&2; exit 1 ;; esac\n"
            "    case \"$mask\" in ''|*[!0-9]*) echo \"udhcpc script: bad mask\" >&2; exit 1 ;; esac\n"
            "    gw=\"${router%% *}\"\n"
            "    case \"$gw\" in *[!0-9.]*) echo \"udhcpc script: bad router\" >&2; exit 1 ;; esac\n"
            "    case \"$(ip -4 -o addr show dev wlan0)\" in\n"
            "      *\" inet $ip/$mask \"*) ;;\n"
            "      *) ip -4 addr flush dev wlan0; ip -4 addr add \"$ip/$mask\" dev wlan0 ;;\n"
            "    esac\n"
            "    [ -z \"$gw\" ] || ip -4 route replace default via \"$gw\" dev wlan0 metric 600 proto static\n"
            "    : >\"/run/tetherd/udhcpc-wlan0.resolv\".new\n"
            "    for s in $dns; do\n"
            "      case \"$s\" in ''|*[!0-9.]*) ;; *) echo \"nameserver $s\" >>\"/run/tetherd/udhcpc-wlan0.resolv\".new ;; esac\n"
            "    done\n"
            "    mv -f \"/run/tetherd/udhcpc-wlan0.resolv\".new \"/run/tetherd/udhcpc-wlan0.resolv\"\n"
            "    echo \"udhcpc: $1 $ip/$mask router=$gw dns=$dns lease=${lease:-?}\"\n"
            "    ;;\n"
            "esac\n"
            "exit 0\n");
  EXPECT_FALSE(udhcpcScript("wlan0 x", "/run/r"));
  EXPECT_FALSE(udhcpcScript("wlan0", "/run/r x"));
  EXPECT_FALSE(udhcpcScript("wlan0", "run/r"));
}

// Interface combinations as radios advertise them (nl80211 iftype numbers: 2 managed, 3 AP,
// 7 mesh point, 8 P2P-client, 9 P2P-GO, 10 P2P-device).
namespace {
WiphyModes modes(std::vector<IfaceCombination> combos, std::set<int> supported = {2, 3, 6}) {
  return WiphyModes{std::move(supported), {6}, std::move(combos)};
}
}  // namespace

TEST(WifiCombinations, Hwsim_StationAndApTogether) {
  // mac80211_hwsim: #{ managed } <= 2048, #{ AP, mesh point } <= 2048, #{ P2P-client, P2P-GO } <= 2048,
  // #{ P2P-device } <= 1, total <= 2048, #channels <= 1.
  auto m = modes({{{{2048, {2}}, {2048, {3, 7}}, {2048, {8, 9}}, {1, {10}}}, 2048, 1}});
  EXPECT_EQ(stationPlusApProblem(m), std::nullopt);
  EXPECT_EQ(describeCombination(m.combinations[0]),
            "#{ managed } <= 2048, #{ AP, mesh point } <= 2048, #{ P2P-client, P2P-GO } <= 2048, "
            "#{ P2P-device } <= 1, total <= 2048, #channels <= 1");
}

TEST(WifiCombinations, OneLimitForBothNeedsTwoSlots) {
  EXPECT_EQ(stationPlusApProblem(modes({{{{2, {2, 3}}}, 2, 1}})), std::nullopt);
  EXPECT_EQ(*stationPlusApProblem(modes({{{{1, {2, 3}}}, 2, 1}})),
            "none of its interface combinations allows a station and an access point at once on one channel: "
            "#{ managed, AP } <= 1, total <= 2, #channels <= 1");
}

TEST(WifiCombinations, EveryWayARadioCannotIsNamed) {
  // A total of one, even with both types listed; the second combination does not help either.
  EXPECT_EQ(*stationPlusApProblem(modes({{{{1, {2}}, {1, {3}}}, 1, 1}, {{{2, {2}}}, 2, 1}})),
            "none of its interface combinations allows a station and an access point at once on one channel: "
            "#{ managed } <= 1, #{ AP } <= 1, total <= 1, #channels <= 1; #{ managed } <= 2, total <= 2, #channels <= 1");
  // Several combinations: one that fits is enough.
  EXPECT_EQ(stationPlusApProblem(modes({{{{2, {2}}}, 2, 1}, {{{1, {2}}, {1, {3}}}, 2, 1}})), std::nullopt);
  EXPECT_EQ(*stationPlusApProblem(modes({})),
            "it advertises no interface combinations: one interface at a time, so no station beside an access point");
  EXPECT_EQ(*stationPlusApProblem(modes({{{{1, {2}}, {1, {3}}}, 2, 1}}, {2, 6})),
            "it cannot run both a station and an access point (its interface modes: managed, monitor)");
  // Zero channels (nothing can run) is refused too.
  EXPECT_TRUE(stationPlusApProblem(modes({{{{1, {2}}, {1, {3}}}, 2, 0}})));
}
