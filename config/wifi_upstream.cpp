#include "config/wifi_upstream.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace tetherd {

namespace {

bool isHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

bool parseMac(std::string_view mac, unsigned char out[6]) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < 6; ++i) {
    char hi = mac[i * 3], lo = mac[i * 3 + 1];
    if (!isHex(hi) || !isHex(lo) || (i < 5 && mac[i * 3 + 2] != ':')) return false;
    auto nib = [](char c) { return static_cast<unsigned char>(std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10)); };
    out[i] = static_cast<unsigned char>(nib(hi) << 4 | nib(lo));
  }
  return true;
}

bool isAbsolutePath(const std::string& v) {
  if (v.empty() || v.front() != '/' || v.size() > 255) return false;
  return std::none_of(v.begin(), v.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x21 || u == 0x7f;
  });
}

}  // namespace

std::string checkWifiSsid(std::string_view ssid) {
  if (ssid.empty()) return "empty (1 to 32 bytes)";
  if (ssid.size() > 32) return "longer than 32 bytes (" + std::to_string(ssid.size()) + ")";
  for (unsigned char c : ssid)
    if (c < 0x20 || c == 0x7f) return "contains a control character";
  return "";
}

std::string checkWifiPassphrase(std::string_view p) {
  if (p.empty()) return "";  // an open network
  if (p.size() == 64) {
    if (std::all_of(p.begin(), p.end(), isHex)) return "";
    return "64 characters must be hex digits (a raw PSK)";
  }
  if (p.size() < 8 || p.size() > 63)
    return "must be 8 to 63 characters, or 64 hex digits (it has " + std::to_string(p.size()) + ")";
  for (unsigned char c : p)
    if (c < 0x20 || c > 0x7e) return "only printable ASCII characters are allowed";
  return "";
}

std::string checkUnicastMac(std::string_view mac) {
  unsigned char b[6];
  if (!parseMac(mac, b)) return "'" + std::string(mac) + "' is not a MAC address like 02:00:00:00:00:10";
  if (b[0] & 0x01) return std::string(mac) + " is a multicast address";
  if (std::all_of(b, b + 6, [](unsigned char x) { return x == 0; })) return "00:00:00:00:00:00 is not an address";
  return "";
}

std::string setWifiUpstreamKey(std::map<std::string, WifiUpstream>& wifi, const std::string& ifname,
                               const std::string& key, const std::string& v, bool& known) {
  known = key == "ssid" || key == "passphrase" || key == "network_file" || key == "ap_address" || key == "wpa_supplicant" ||
          key == "udhcpc";
  if (!known) return "";
  WifiUpstream& w = wifi[ifname];
  std::string err;
  if (key == "ssid") {
    if (err = checkWifiSsid(v); err.empty()) w.ssid = v;
  } else if (key == "passphrase") {
    if (err = checkWifiPassphrase(v); err.empty()) w.passphrase = v;
  } else if (key == "ap_address") {
    if (err = checkUnicastMac(v); err.empty()) {
      w.apAddress = v;
      std::transform(w.apAddress.begin(), w.apAddress.end(), w.apAddress.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
  } else {
    std::string& path = key == "wpa_supplicant" ? w.wpaSupplicantPath : key == "udhcpc" ? w.udhcpcPath : w.networkFile;
    if (isAbsolutePath(v)) path = v;
    else err = "'" + v + "' is not an absolute path";
  }
  return err;
}

std::string checkWifiUpstreams(const std::map<std::string, WifiUpstream>& wifi,
                               const std::vector<std::string>& priority, const std::string& softapInterface) {
  for (const auto& [ifname, w] : wifi) {
    const std::string where = "[upstream." + ifname + "] ";
    if (w.ssid.empty() && w.networkFile.empty())
      return where + "has Wi-Fi keys but no ssid or network_file (the network to join)";
    if (!w.ssid.empty() && !w.networkFile.empty())
      return where + "network_file: set with ssid; the network is either ssid (and passphrase) or a network_file";
    if (w.ssid.empty() && !w.passphrase.empty()) return where + "passphrase: set without ssid";
    if (std::find(priority.begin(), priority.end(), ifname) == priority.end())
      return where + "ssid: " + ifname + " is not in [upstream] priority (it would be tethered as a downstream)";
    if (ifname == softapInterface)
      return where + "ssid: " + ifname + " is also [softap] interface; the soft AP needs its own interface name "
                     "(tetherd creates it on the same radio)";
  }
  if (wifi.size() > 1)
    return "[upstream." + std::next(wifi.begin())->first + "] ssid: only one Wi-Fi upstream is supported (" +
           wifi.begin()->first + " is one already)";
  return "";
}

std::string wifiApAddressFor(std::string_view stationMac) {
  unsigned char b[6];
  if (!parseMac(stationMac, b)) return "";
  b[0] = static_cast<unsigned char>((b[0] | 0x02) & ~0x01);
  b[5] ^= 0x01;
  char out[18];
  std::snprintf(out, sizeof out, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
  return out;
}

std::string wifiUpstreamResolvPath(const std::string& runDir, const std::string& ifname) {
  return runDir + "/udhcpc-" + ifname + ".resolv";
}

}  // namespace tetherd
