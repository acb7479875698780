// Soft-AP settings as a validated value, their persisted form, and the hostapd.conf built from
// them. Everything here is pure: no files are read or written.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tether/base/result.h"

namespace tetherd::softap {

enum class Security { Open, Wpa2Psk, Wpa3Sae, Wpa2Wpa3 };  // names: open, wpa2-psk, wpa3-sae, wpa2-wpa3
enum class Band { Ghz24, Ghz5 };                           // names: 2.4, 5

const char* securityName(Security s);
const char* bandName(Band b);

struct Settings {
  std::string ssid;  // 1..32 bytes of valid UTF-8 without control characters
  Security security = Security::Wpa2Psk;
  // 8..63 printable ASCII characters, or exactly 64 hex digits (a raw PSK; wpa2-psk only).
  // Not used by open (kept, so that switching back keeps it).
  std::string passphrase;
  Band band = Band::Ghz24;
  int channel = 0;      // 0 = automatic (hostapd ACS)
  std::string country;  // ISO 3166-1 alpha-2, upper case; "" = unset
  bool hidden = false;
  bool isolation = false;  // clients cannot reach each other
  int maxStations = 32;    // 1..2007
  bool ieee80211n = true;
  bool ieee80211ac = false;  // 5 GHz only; needs 802.11n
};

// Whole-object check: the first offending field is named at the start of the message
// ("ssid: longer than 32 bytes (33)"); Errc::InvalidArgument.
Status validate(const Settings& s);

// Keys: ssid security passphrase band channel country hidden isolation max-stations 80211n 80211ac.
// Booleans: yes/no (also true/false, on/off, 1/0). channel: auto or a number (0 = auto).
// country: two letters in either case, "" to unset. Validates the value and the resulting
// combination (e.g. band 5 while channel is 6 is refused, naming channel); on error s is unchanged.
Status setField(Settings& s, const std::string& key, const std::string& value);
// Several fields at once (the web page's form): each value is parsed as setField would, then
// the combination is validated once, so that e.g. band 5 + channel 36 can change together. The
// first error names its field; on error s is unchanged.
Status setFields(Settings& s, const std::vector<std::pair<std::string, std::string>>& values);
// The value as setField accepts it (booleans as yes/no, channel 0 as auto). The passphrase is
// returned as is: the caller decides whether to mask it.
Result<std::string> getField(const Settings& s, const std::string& key);
std::vector<std::string> fieldNames();

// First-start defaults: the SSID is the host name's first label reduced to [A-Za-z0-9_-] and at
// most 32 bytes ("tetherd" when nothing is left); the passphrase is 12 characters from a
// 32-character alphabet without look-alikes (no 0 1 l o), 5 bits of randomBytes per character
// (60 bits). randomBytes must hold at least 12 bytes from a CSPRNG; with fewer the passphrase is
// left empty, which validate() refuses.
Settings defaultSettings(const std::string& hostname, const std::string& randomBytes);

// The persisted form: "key=value" lines in fieldNames() order; ssid and passphrase written as
// "hex:<lower-case hex>" so that every byte round-trips.
std::string serializeSettings(const Settings& s);
// Strict: blank lines and '#' comments allowed; every other line is key=value with a known key,
// each key at most once, no control characters; ssid/passphrase in the hex: form. Missing keys
// keep the defaults of Settings{}. The result is validated. Errors: "line N: key 'k': reason".
Result<Settings> parseSettings(std::string_view text);

struct HostapdOptions {
  std::string ifname;
  std::string driver = "nl80211";
  std::string ctrlDir;    // required: ctrl_interface (the socket is <ctrlDir>/<ifname>)
  std::string ctrlGroup;  // "" = none; else ctrl_interface_group (a group name or number)
  std::string denyFile;   // "" = none; else macaddr_acl=0 + deny_mac_file (must exist when hostapd starts)
  // Non-empty: wired 802.1X test mode (ieee8021x=1, eap_server=1, eap_user_file,
  // use_pae_group_addr=1, no WPA lines). Used with driver=wired on a veth in the lab.
  std::string eapUserFile;
};

// The hostapd.conf text (stable line order; it contains the passphrase: write it 0600).
// Validates the settings and the options first (paths absolute without control characters,
// ifname valid, the control socket path fits in sun_path).
Result<std::string> hostapdConf(const Settings& s, const HostapdOptions& o);

// The Wi-Fi QR code text: WIFI:T:WPA;S:<ssid>;P:<pass>;H:true;; with \ ; , : " escaped by a
// backslash. T:nopass (and no P:) for open, T:SAE for wpa3-sae, T:WPA for wpa2-psk and wpa2-wpa3.
// H:true only when hidden.
std::string wifiQrPayload(const Settings& s);

}  // namespace tetherd::softap
