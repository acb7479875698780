// The hostapd.conf text and the Wi-Fi QR code text built from validated soft AP settings
// (softap_settings.h). Pure.
#include "softap/hostapd/softap_settings.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "softap/hostapd/settings_text.h"
#include "tether/base/ip.h"

namespace tetherd::softap {

using namespace text;

namespace {

constexpr size_t kMaxPathBytes = 1024;
constexpr size_t kSunPathMax = 107;  // sizeof(sockaddr_un::sun_path) - 1

std::string checkPath(const std::string& p) {
  if (p.empty() || p.front() != '/') return "must be an absolute path";
  if (p.size() > kMaxPathBytes) return "longer than " + std::to_string(kMaxPathBytes) + " bytes";
  for (unsigned char c : p)
    if (c < 0x20 || c == 0x7f) return "contains a control character or newline";
  return "";
}

bool simpleToken(std::string_view v, size_t maxLen, bool allowDot) {
  if (v.empty() || v.size() > maxLen || v.front() == '-' || v.front() == '.') return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || (allowDot && c == '.');
    if (!ok) return false;
  }
  return true;
}

Status checkOptions(const HostapdOptions& o) {
  if (!validIfname(o.ifname)) return invalid("ifname: " + shown(o.ifname) + " is not a valid interface name");
  if (!simpleToken(o.driver, 32, false)) return invalid("driver: " + shown(o.driver) + " is not a driver name");
  if (auto e = checkPath(o.ctrlDir); !e.empty()) return invalid("ctrlDir: " + e);
  if (o.ctrlDir.size() + 1 + o.ifname.size() > kSunPathMax)
    return invalid("ctrlDir: the socket path " + o.ctrlDir + "/" + o.ifname + " is longer than " +
                   std::to_string(kSunPathMax) + " bytes");
  if (!o.ctrlGroup.empty() && !simpleToken(o.ctrlGroup, 32, true))
    return invalid("ctrlGroup: " + shown(o.ctrlGroup) + " is not a group name or number");
  if (!o.denyFile.empty())
    if (auto e = checkPath(o.denyFile); !e.empty()) return invalid("denyFile: " + e);
  if (!o.eapUserFile.empty())
    if (auto e = checkPath(o.eapUserFile); !e.empty()) return invalid("eapUserFile: " + e);
  return {};
}

std::string qrEscape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == ';' || c == ',' || c == ':' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Result<std::string> hostapdConf(const Settings& s, const HostapdOptions& o) {
  if (auto st = validate(s); !st) return st.error();
  if (auto st = checkOptions(o); !st) return st.error();

  std::string out;
  auto line = [&out](std::string_view key, std::string_view value) {
    out.append(key).append("=").append(value).append("\n");
  };
  auto flag = [&line](std::string_view key, bool on) { line(key, on ? "1" : "0"); };

  out += "# hostapd configuration written by tetherd: do not edit, it is rewritten on every start.\n";
  line("interface", o.ifname);
  line("driver", o.driver);
  line("ctrl_interface", o.ctrlDir);
  if (!o.ctrlGroup.empty()) line("ctrl_interface_group", o.ctrlGroup);
  // Log to stdout (the supervisor captures it), not to syslog a second time; level 2 = info.
  line("logger_syslog", "0");
  line("logger_stdout", "-1");
  line("logger_stdout_level", "2");

  out += "# The SSID is hex-encoded: no byte of it reaches this file raw.\n";
  line("ssid2", toHex(s.ssid));
  const bool nonAscii = std::any_of(s.ssid.begin(), s.ssid.end(), [](char c) { return (c & 0x80) != 0; });
  if (nonAscii) flag("utf8_ssid", true);
  const bool wiredTest = !o.eapUserFile.empty();
  if (!s.country.empty() && wiredTest) {
    // Seen with hostapd 2.10 and driver=wired: a country code makes it wait in COUNTRY_UPDATE for
    // a regulatory event that never comes, until its channel-list timeout (5 s measured).
    out += "# country_code left out: no regulatory domain without a radio.\n";
  } else if (!s.country.empty()) {
    line("country_code", s.country);
    flag("ieee80211d", true);
    if (s.band == Band::Ghz5) flag("ieee80211h", true);  // DFS/TPC: needed for channels 52-144
  }
  if (s.band == Band::Ghz5) {
    line("hw_mode", "a");
  } else if (s.channel == 14) {
    out += "# Channel 14 (JP) allows DSSS/CCK only.\n";
    line("hw_mode", "b");
  } else {
    line("hw_mode", "g");
  }
  if (s.channel == 0) {
    // Debian's hostapd 2.10 is built with CONFIG_ACS; the driver must report channel survey data.
    out += "# Automatic channel selection (ACS).\n";
    line("channel", "acs_survey");
    if (s.band == Band::Ghz5) flag("acs_exclude_dfs", true);  // no 60 s radar wait, no radar moves
  } else {
    line("channel", std::to_string(s.channel));
  }
  flag("ieee80211n", s.ieee80211n);
  flag("ieee80211ac", s.ieee80211ac);
  flag("wmm_enabled", true);
  flag("ignore_broadcast_ssid", s.hidden);
  flag("ap_isolate", s.isolation);
  line("max_num_sta", std::to_string(s.maxStations));
  line("macaddr_acl", "0");
  if (!o.denyFile.empty()) line("deny_mac_file", o.denyFile);
  line("auth_algs", "1");

  if (wiredTest) {
    out += "# Wired IEEE 802.1X test mode (no radio): the integrated EAP server authenticates stations.\n";
    flag("ieee8021x", true);
    flag("eap_server", true);
    line("eap_user_file", o.eapUserFile);
    flag("use_pae_group_addr", true);
    return out;
  }
  const bool rawPsk = s.passphrase.size() == 64;  // validate() allows it for wpa2-psk only
  switch (s.security) {
    case Security::Open:
      break;
    case Security::Wpa2Psk:
      line("wpa", "2");
      line("wpa_key_mgmt", "WPA-PSK");
      line("rsn_pairwise", "CCMP");
      line("ieee80211w", "1");  // PMF optional
      if (rawPsk) line("wpa_psk", lower(s.passphrase));
      else line("wpa_passphrase", s.passphrase);
      break;
    case Security::Wpa3Sae:
      line("wpa", "2");
      line("wpa_key_mgmt", "SAE");
      line("rsn_pairwise", "CCMP");
      line("ieee80211w", "2");  // PMF required
      line("sae_password", s.passphrase);
      break;
    case Security::Wpa2Wpa3:
      line("wpa", "2");
      line("wpa_key_mgmt", "WPA-PSK SAE");
      line("rsn_pairwise", "CCMP");
      line("ieee80211w", "1");
      line("sae_require_mfp", "1");  // WPA3 transition mode: SAE stations must use PMF
      line("wpa_passphrase", s.passphrase);
      line("sae_password", s.passphrase);
      break;
  }
  return out;
}

std::string wifiQrPayload(const Settings& s) {
  std::string out = "WIFI:T:";
  switch (s.security) {
    case Security::Open: out += "nopass"; break;
    case Security::Wpa3Sae: out += "SAE"; break;
    case Security::Wpa2Psk:
    case Security::Wpa2Wpa3: out += "WPA"; break;
  }
  out += ";S:" + qrEscape(s.ssid) + ";";
  if (s.security != Security::Open) out += "P:" + qrEscape(s.passphrase) + ";";
  if (s.hidden) out += "H:true;";
  out += ";";
  return out;
}

}  // namespace tetherd::softap
