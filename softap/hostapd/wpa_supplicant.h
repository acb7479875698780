// Pure parts of the Wi-Fi upstream (softap/service/wifi_upstream_service.h): the
// wpa_supplicant.conf and argv tetherd runs the station with, parsers of wpa_supplicant's
// control-interface replies and events (the wpa_ctrl protocol HostapdControl speaks), and the
// soft AP's channel decisions when it shares the station's radio.
//
// Verified with hostapd/wpa_supplicant 2.10 on mac80211_hwsim (platform-facts-2.md section 5):
// one radio has one channel, so the AP must use the station's; on the station's
// CTRL-EVENT-STARTED-CHANNEL-SWITCH freq=F the AP must be sent CHAN_SWITCH <count> F at once
// (the kernel disconnects the station otherwise); wpa_supplicant adds a P2P device interface
// unless p2p_disabled=1.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/wifi_upstream.h"
#include "tether/base/result.h"

namespace tetherd::softap {

struct WpaSupplicantOptions {
  std::string ifname;   // the station interface
  std::string ctrlDir;  // ctrl_interface: the socket is <ctrlDir>/<ifname>
};

// The config, e.g. for ssid "Hotel" and passphrase "secret123" on wlan0:
//   # Written by tetherd: the Wi-Fi upstream on wlan0.
//   ctrl_interface=/run/tetherd/wpa_supplicant
//   update_config=0
//   p2p_disabled=1
//   network={
//   \tssid=486f74656c
//   \tscan_ssid=1
//   \tkey_mgmt=WPA-PSK
//   \tpsk="secret123"
//   }
// The SSID is written hex-encoded (every byte round-trips); a 64-hex-digit passphrase is a raw
// psk (unquoted); no passphrase: key_mgmt=NONE. Re-validates everything (InvalidArgument, naming
// the field); it contains the passphrase: write it 0600. With a network_file, no network block:
// the networks are the owner's file's (wpaSupplicantArgv's -I).
Result<std::string> wpaSupplicantConf(const WifiUpstream& network, const WpaSupplicantOptions& o);

// {binary, "-i", ifname, "-D", "nl80211", "-c", conf} (+ {"-I", networkFile} when one is
// given: wpa_supplicant's additional configuration file): in the foreground (a Supervisor owns it).
Result<std::vector<std::string>> wpaSupplicantArgv(const std::string& binary, const std::string& ifname,
                                                   const std::string& confPath, const std::string& networkFile = "");

// STATUS reply: key=value lines; wpa_state= is required. freq is 0 while not associated.
struct WpaStatus {
  std::string state;    // COMPLETED, SCANNING, DISCONNECTED, ASSOCIATING, ...
  int freq = 0;         // MHz
  std::string bssid;    // lower case, "" when none
  std::string address;  // the station's own MAC, lower case
  std::string ssid;     // as wpa_supplicant prints it
  bool completed() const { return state == "COMPLETED"; }
};
Result<WpaStatus> parseWpaStatus(std::string_view reply);

// An event datagram: "<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed ...",
// "<3>CTRL-EVENT-DISCONNECTED bssid=... reason=4 locally_generated=1",
// "<3>CTRL-EVENT-STARTED-CHANNEL-SWITCH freq=2437 ht_enabled=1 ...", "<3>CTRL-EVENT-CHANNEL-SWITCH
// freq=2437 ...". freq is set (> 0) only for the channel-switch events, from a valid freq= word;
// a channel switch without one is Other. nullopt for what is not an event.
struct WpaEvent {
  enum class Type { Connected, Disconnected, ChannelSwitchStarted, ChannelSwitched, Terminating, Other } type = Type::Other;
  int freq = 0;
  std::string name;  // the first word
  std::string text;  // everything after the level, trailing whitespace removed
};
std::optional<WpaEvent> parseWpaEvent(std::string_view datagram);

// The soft AP channel for a station frequency: 2412..2472 (step 5) -> 1..13, 2484 -> 14,
// 5180..5885 -> 36..177 (5 GHz). Other frequencies (6 GHz, 60 GHz, garbage) are Unsupported
// with the reason.
struct ApChannel {
  bool ghz5 = false;
  int channel = 0;
  bool operator==(const ApChannel&) const = default;
};
Result<ApChannel> apChannelForFreq(int freqMhz);

// The beacons of warning the soft AP gives its clients when it follows the station. The radio
// changes channel only once both interfaces' counts have run out (mac80211 reserves the new
// channel context until every interface on it is switching), so the AP's clients must not be
// told an earlier moment than the upstream's: with 10 after the upstream's 20 (VM lab, TCG) the
// AP's client moved ~1 s before the radio did, lost its beacons and reconnected 8 s later. The
// station's event does not carry the upstream's count; 20 (2 s at 100 TU) is at least what
// access points commonly announce, and a later AP switch only holds the station on the old
// channel (in CSA mode, so not a beacon loss) for the difference.
constexpr int kApCsaCount = 20;
// "CHAN_SWITCH <count> <freq>" for hostapd; InvalidArgument for a count outside 1..255 or a freq
// apChannelForFreq refuses.
Result<std::string> chanSwitchCommand(int count, int freqMhz);

// What to do with the soft AP, given the station's frequency (0: not associated) and the AP's
// (0: not running). Wait: no station channel yet, the AP must not start (it would pick its own
// channel and fail or pull the radio away). Start: start it on stationFreq. Keep: nothing to do.
// Switch: running on another channel: CHAN_SWITCH to stationFreq.
enum class ApAction { Wait, Start, Keep, Switch };
ApAction decideAp(int stationFreq, int apFreq);
const char* apActionName(ApAction a);

}  // namespace tetherd::softap
