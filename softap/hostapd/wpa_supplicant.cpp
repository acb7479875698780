#include "softap/hostapd/wpa_supplicant.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "tether/base/ip.h"

namespace tetherd::softap {

namespace {

bool cleanAbsolutePath(const std::string& p) {
  if (p.empty() || p.front() != '/' || p.size() > 200 || p.find("/../") != std::string::npos || p.ends_with("/.."))
    return false;
  return std::none_of(p.begin(), p.end(), [](unsigned char c) { return c < 0x21 || c == 0x7f || c == '"'; });
}

std::string hexOf(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool parseInt(std::string_view s, int& out) {
  if (s.empty() || s.size() > 9) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

Error invalid(const std::string& m) { return makeError(Errc::InvalidArgument, m); }

}  // namespace

Result<std::string> wpaSupplicantConf(const WifiUpstream& n, const WpaSupplicantOptions& o) {
  if (!plainIfname(o.ifname)) return invalid("ifname: '" + o.ifname + "' is not a plain interface name");
  if (!cleanAbsolutePath(o.ctrlDir)) return invalid("ctrl_interface: '" + o.ctrlDir + "' is not a clean absolute path");
  if (o.ctrlDir.size() + 1 + o.ifname.size() >= 108) return invalid("ctrl_interface: too long for a unix socket path");
  std::string out = "# Written by tetherd: the Wi-Fi upstream on " + o.ifname + ".\n";
  out += "ctrl_interface=" + o.ctrlDir + "\n";
  out += "update_config=0\n";
  out += "p2p_disabled=1\n";
  if (!n.networkFile.empty()) return out;  // the networks are in the owner's file (-I)
  if (auto e = checkWifiSsid(n.ssid); !e.empty()) return invalid("ssid: " + e);
  if (auto e = checkWifiPassphrase(n.passphrase); !e.empty()) return invalid("passphrase: " + e);
  out += "network={\n";
  out += "\tssid=" + hexOf(n.ssid) + "\n";
  out += "\tscan_ssid=1\n";
  if (n.passphrase.empty()) {
    out += "\tkey_mgmt=NONE\n";
  } else {
    out += "\tkey_mgmt=WPA-PSK\n";
    // Quoted: wpa_supplicant takes everything between the first and the last '"', so a '"'
    // inside a (printable ASCII, single-line) passphrase is kept as is.
    out += n.passphrase.size() == 64 ? "\tpsk=" + lower(n.passphrase) + "\n" : "\tpsk=\"" + n.passphrase + "\"\n";
  }
  out += "}\n";
  return out;
}

Result<std::vector<std::string>> wpaSupplicantArgv(const std::string& binary, const std::string& ifname,
                                                   const std::string& confPath, const std::string& networkFile) {
  if (!cleanAbsolutePath(binary)) return invalid("wpa_supplicant: '" + binary + "' is not a clean absolute path");
  if (!plainIfname(ifname)) return invalid("ifname: '" + ifname + "' is not a plain interface name");
  if (!cleanAbsolutePath(confPath)) return invalid("config: '" + confPath + "' is not a clean absolute path");
  std::vector<std::string> argv{binary, "-i", ifname, "-D", "nl80211", "-c", confPath};
  if (networkFile.empty()) return argv;
  if (!cleanAbsolutePath(networkFile)) return invalid("network_file: '" + networkFile + "' is not a clean absolute path");
  argv.insert(argv.end(), {"-I", networkFile});
  return argv;
}

Result<WpaStatus> parseWpaStatus(std::string_view reply) {
  if (reply.size() > 4096) return invalid("wpa_supplicant STATUS: longer than 4096 bytes");
  WpaStatus s;
  bool haveState = false;
  size_t pos = 0;
  while (pos < reply.size()) {
    size_t nl = reply.find('\n', pos);
    std::string_view line = reply.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? reply.size() : nl + 1;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "wpa_state") {
      if (value.empty() || !std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isupper(c) || c == '_'; }))
        return invalid("wpa_supplicant STATUS: wpa_state '" + std::string(value.substr(0, 40)) + "' is not a state");
      s.state = value;
      haveState = true;
    } else if (key == "freq") {
      if (!parseInt(value, s.freq) || s.freq < 0 || s.freq > 100000)
        return invalid("wpa_supplicant STATUS: freq '" + std::string(value.substr(0, 40)) + "' is not a frequency");
    } else if (key == "bssid" || key == "address") {
      if (!checkUnicastMac(value).empty())
        return invalid("wpa_supplicant STATUS: " + std::string(key) + " '" + std::string(value.substr(0, 40)) + "' is not a MAC");
      (key == "bssid" ? s.bssid : s.address) = lower(value);
    } else if (key == "ssid") {
      s.ssid = value;
    }
  }
  if (!haveState) return invalid("wpa_supplicant STATUS: no wpa_state line");
  return s;
}

std::optional<WpaEvent> parseWpaEvent(std::string_view d) {
  if (d.size() > 4096) return std::nullopt;
  if (d.starts_with("IFNAME=")) {
    auto sp = d.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    d.remove_prefix(sp + 1);
  }
  if (d.empty() || d.front() != '<') return std::nullopt;
  auto close = d.find('>');
  if (close == std::string_view::npos || close < 2 || close > 3) return std::nullopt;
  d.remove_prefix(close + 1);
  while (!d.empty() && std::isspace(static_cast<unsigned char>(d.back()))) d.remove_suffix(1);
  WpaEvent e;
  e.text = d;
  e.name = d.substr(0, d.find(' '));
  if (e.name.empty()) return std::nullopt;
  using T = WpaEvent::Type;
  if (e.name == "CTRL-EVENT-CONNECTED") e.type = T::Connected;
  else if (e.name == "CTRL-EVENT-DISCONNECTED") e.type = T::Disconnected;
  else if (e.name == "CTRL-EVENT-TERMINATING") e.type = T::Terminating;
  else if (e.name == "CTRL-EVENT-STARTED-CHANNEL-SWITCH" || e.name == "CTRL-EVENT-CHANNEL-SWITCH") {
    // Words after the name; the first "freq=" one is the new channel.
    std::string_view rest = d.substr(e.name.size());
    size_t p = 0;
    while (p < rest.size()) {
      while (p < rest.size() && rest[p] == ' ') ++p;
      size_t end = rest.find(' ', p);
      std::string_view word = rest.substr(p, end == std::string_view::npos ? std::string_view::npos : end - p);
      p = end == std::string_view::npos ? rest.size() : end;
      if (!word.starts_with("freq=")) continue;
      int f = 0;
      if (parseInt(word.substr(5), f) && apChannelForFreq(f)) {
        e.freq = f;
        e.type = e.name == "CTRL-EVENT-CHANNEL-SWITCH" ? T::ChannelSwitched : T::ChannelSwitchStarted;
      }
      break;
    }
  }
  return e;
}

Result<ApChannel> apChannelForFreq(int f) {
  if (f >= 2412 && f <= 2472 && (f - 2407) % 5 == 0) return ApChannel{false, (f - 2407) / 5};
  if (f == 2484) return ApChannel{false, 14};
  if (f >= 5180 && f <= 5885 && (f - 5000) % 5 == 0) return ApChannel{true, (f - 5000) / 5};
  return makeError(Errc::Unsupported, "the station's frequency " + std::to_string(f) +
                                          " MHz is not a 2.4 or 5 GHz channel the soft AP can use");
}

Result<std::string> chanSwitchCommand(int count, int freq) {
  if (count < 1 || count > 255) return invalid("CHAN_SWITCH count " + std::to_string(count) + " is not 1..255");
  if (auto c = apChannelForFreq(freq); !c) return invalid("CHAN_SWITCH: " + c.error().message);
  return "CHAN_SWITCH " + std::to_string(count) + " " + std::to_string(freq);
}

ApAction decideAp(int stationFreq, int apFreq) {
  if (stationFreq <= 0) return apFreq > 0 ? ApAction::Keep : ApAction::Wait;
  if (apFreq <= 0) return ApAction::Start;
  return apFreq == stationFreq ? ApAction::Keep : ApAction::Switch;
}

const char* apActionName(ApAction a) {
  switch (a) {
    case ApAction::Wait: return "wait";
    case ApAction::Start: return "start";
    case ApAction::Keep: return "keep";
    case ApAction::Switch: return "switch";
  }
  return "?";
}

}  // namespace tetherd::softap
