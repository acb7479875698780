// A Wi-Fi upstream: the network tetherd's station joins ([upstream.<ifname>] ssid = ...), the
// travel-router case where the same radio also serves the soft AP
// (softap/service/wifi_upstream_service.h). Pure validation of what the user writes: nothing
// unvalidated reaches the generated wpa_supplicant.conf (softap/hostapd/wpa_supplicant.h).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tetherd {

struct WifiUpstream {
  std::string ssid;        // 1..32 bytes, no control characters (written hex-encoded)
  std::string passphrase;  // "" = an open network; else 8..63 printable ASCII or 64 hex digits
  // network_file: instead of ssid/passphrase, a wpa_supplicant file of the owner's with the
  // network block(s) (WPA3, 802.1X, several networks), handed over as is with -I.
  std::string networkFile;
  // The soft AP's second interface on the station's radio gets this MAC; "" = derived from
  // the station's (wifiApAddressFor). A unicast address; the soft AP must not share the
  // station's MAC (hostapd: "Name not unique on network").
  std::string apAddress;
  std::string wpaSupplicantPath = "/usr/sbin/wpa_supplicant";
  std::string udhcpcPath = "/usr/sbin/udhcpc";  // busybox udhcpc: the station's IPv4 address
};

// "" or the reason the value is refused.
std::string checkWifiSsid(std::string_view ssid);
std::string checkWifiPassphrase(std::string_view passphrase);
// "aa:bb:cc:dd:ee:ff" (either case) that is not multicast and not all zeros.
std::string checkUnicastMac(std::string_view mac);

// The [upstream.<ifname>] keys of a Wi-Fi upstream: ssid, passphrase, network_file,
// ap_address, wpa_supplicant, udhcpc. known = false for any other key (and then nothing is changed).
std::string setWifiUpstreamKey(std::map<std::string, WifiUpstream>& wifi, const std::string& ifname,
                               const std::string& key, const std::string& value, bool& known);

// The whole-file checks, once every line is read: a section with Wi-Fi keys has an ssid or a
// network_file (not both; a passphrase only with an ssid), is
// listed in [upstream] priority (else it would be tethered as a downstream), is not the soft
// AP's interface, and is the only one (one station per radio is what is supported).
std::string checkWifiUpstreams(const std::map<std::string, WifiUpstream>& wifi,
                               const std::vector<std::string>& priority, const std::string& softapInterface);

// The soft AP's MAC derived from the station's: locally administered, unicast, the last octet's
// lowest bit flipped ("02:00:00:00:00:00" -> "02:00:00:00:00:01"). "" for a malformed input.
std::string wifiApAddressFor(std::string_view stationMac);

// Where the Wi-Fi upstream's DHCP client (udhcpc's script) writes the DNS servers of its lease,
// in resolv.conf format: <runDir>/udhcpc-<if>.resolv. It is that upstream's resolv_file unless
// the config names another (tether/core/upstream_dns.h).
std::string wifiUpstreamResolvPath(const std::string& runDir, const std::string& ifname);

}  // namespace tetherd
