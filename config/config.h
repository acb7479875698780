// tetherd's configuration file: an INI-style text ("[section]", "key = value", '#' comments
// on their own line), parsed into validated values. Every error names file, line, key and cause.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "config/wifi_upstream.h"
#include "tether/base/ip.h"
#include "tether/base/ip6.h"
#include "tether/base/log.h"
#include "tether/base/result.h"

namespace tetherd {

enum class IfaceKind { Usb = 0, Wifi = 1, Bluetooth = 2, Ethernet = 3 };
constexpr int kIfaceKindCount = 4;
const char* ifaceKindName(IfaceKind kind);  // "usb", "wifi", "bluetooth", "ethernet"
bool parseIfaceKind(std::string_view text, IfaceKind& out);

// How the downstreams get IPv6. Auto: the best available (pd when the upstream delegates a
// prefix, else relay when it has an on-link /64 from router advertisements, else nat66).
// Nat66: a stable ULA /64 per downstream, masqueraded to the upstream. Pd: a /64 of the prefix
// the upstream delegates (DHCPv6-PD), routed. Relay: the upstream's own /64 shared with the
// downstreams (announced off-link, a /128 route and an NDP proxy entry per client address).
enum class Ipv6Mode { Off, Auto, Nat66, Pd, Relay };
const char* ipv6ModeName(Ipv6Mode mode);

// Forwarded flows through an nftables flowtable (tether/core/offload.h): off, or software (the
// kernel's nf_flow_table fast path; rate-limited, quota-held and blocked clients excluded).
enum class OffloadMode { Off, Software };

struct KindSettings {
  std::string pattern;  // ECMAScript regex matched against the whole interface name; empty = none
  std::regex regex;     // compiled from pattern
  Ipv4Prefix subnet;    // preferred subnet; the downstream gets host .1
  bool autoTether = false;
  // Rate limits of each downstream of this kind (issue 14), bits per second; 0: none.
  uint64_t downloadLimit = 0, uploadLimit = 0;
};

struct Config {
  std::string sourceName;  // file the values came from ("" for defaults)

  // [daemon]
  log::Level logLevel = log::Level::Info;
  std::string controlSocket = "/run/tetherd/tetherd.sock";
  std::string controlGroup;  // group owning the control socket (mode 0660); empty = root
  std::string runDir = "/run/tetherd";
  std::string stateDir = "/var/lib/tetherd";

  // [upstream]
  std::vector<std::string> upstreamPriority;  // interface names, best first
  std::string resolvFile = "/etc/resolv.conf";
  // Per-upstream routing (tether/core/upstream_routing.h): each candidate's routes copied into
  // a table of tetherd's own, tethered traffic steered into the selected one's by policy rules.
  // Everything in these ranges is tetherd's (removed at start and stop).
  bool policyRouting = true;
  uint32_t routeTableFirst = 9200, routeTableLast = 9263;
  uint32_t rulePriorityFirst = 9200, rulePriorityLast = 9299;
  // Health probes of every candidate (tether/core/validation.h). Off by default: no traffic to
  // a third party's server unless the owner chooses one; off = every candidate with a default
  // route counts as validated.
  bool validation = false;
  std::string probeUrl = "http://connectivitycheck.gstatic.com/generate_204";
  std::string probeFallbackUrl = "http://www.google.com/gen_204";  // "" = none
  int probeIntervalMs = 30'000, probeRetryMinMs = 1'000, probeRetryMaxMs = 60'000, probeTimeoutMs = 3'000;
  int probeFailures = 3, probeSuccesses = 2;
  // [upstream.<ifname>]
  std::map<std::string, std::vector<Ipv4Address>> upstreamDns;   // dns: its IPv4 servers
  std::map<std::string, std::vector<Ipv6Address>> upstreamDns6;  // dns: its IPv6 servers
  // resolv_file: a resolv.conf-format file of this upstream's own (what its DHCP client
  // writes), instead of [upstream] resolv_file (tether/core/upstream_dns.h).
  std::map<std::string, std::string> upstreamResolvFile;
  // [upstream.<ifname>] ssid = ...: a Wi-Fi network tetherd joins on that station interface
  // (config/wifi_upstream.h; softap/service/wifi_upstream_service.h). At most one.
  std::map<std::string, WifiUpstream> wifiUpstreams;

  // [tethering]
  bool autostart = true;  // start tethering when the daemon starts (else: `tether start`)
  std::array<KindSettings, kIfaceKindCount> kinds;
  int startTimeoutMs = 10000;
  int stopTimeoutMs = 5000;
  Ipv6Mode ipv6 = Ipv6Mode::Off;  // IPv6 to the clients (see the example's [tethering] ipv6)
  // The clients' local domain ([tethering] domain): dnsmasq answers <hostname>.<domain> from
  // its leases and never asks upstream about it; given to clients by DHCPv4 (domain name) and
  // in RAs and DHCPv6 (DNSSL / domain search). "" = none.
  std::string localDomain = "lan";
  // [tethering] ipv6_dhcp: stateless (SLAAC + DHCPv6 for DNS only) or stateful (also an address
  // from DHCPv6; SLAAC stays on for clients without DHCPv6, such as Android).
  bool dhcp6Stateful = false;
  // Idle auto-off (issue 14; tether/core/idle.h): a downstream of a kind in idleUntether is
  // untethered after idleTimeoutSec without a packet from a client (0 = never).
  int idleTimeoutSec = 0;
  // Monthly quotas (issue 14) start again on this day of the month (1-28), at local midnight.
  int quotaMonthStart = 1;
  std::array<bool, kIfaceKindCount> idleUntether{};
  // Local-only downstreams (Android's LocalOnlyHotspot): DHCP and local DNS, never forwarded.
  std::array<bool, kIfaceKindCount> localOnlyKinds{};
  std::vector<std::string> localOnlyNames;
  int pdPrefixHint = 60;          // pd_prefix_length: the delegation asked for (a hint), 48..64
  OffloadMode offload = OffloadMode::Off;  // [tethering] offload

  // [softap]
  std::string softapInterface = "wlan0";  // the interface hostapd runs the soft AP on
  std::string hostapdPath = "/usr/sbin/hostapd";
  std::string softapDriver = "nl80211";   // nl80211 (radios) or wired (802.1X on Ethernet: tests)
  std::string softapEapUserFile;          // wired test mode only
  int softapIdleTimeoutSec = 0;           // the soft AP goes off after this with no client (0 = never)

  // [dhcp]
  std::string dnsmasqPath = "/usr/sbin/dnsmasq";
  std::string dhcpcdPath = "/usr/sbin/dhcpcd";  // the DHCPv6-PD client (ipv6 = pd or auto)
  int leaseTimeSec = 3600;
  int rangeFirstHost = 10;
  int rangeLastHost = 250;

  // [web] the admin page (web/): off unless enabled; listens only on the listed addresses.
  bool webEnabled = false;
  int webPort = 8080;
  bool webListenDownstreams = true;  // every tethered downstream's own address
  bool webListenLocalhost = true;    // 127.0.0.1
  std::vector<Ipv4Address> webListenAddresses;  // explicit extra addresses (never 0.0.0.0)
  int webSessionIdleSec = 30 * 60;
  int webSessionLifetimeSec = 12 * 3600;
  // HTTPS (web/http/tls_identity.h): off by default, like LuCI without luci-ssl. On: the page
  // is served over TLS on webHttpsPort and plain HTTP only redirects there. The certificate
  // and key (PEM) are the user's when both are given, else a self-signed pair in state_dir.
  bool webHttps = false;
  int webHttpsPort = 8443;
  std::string webCertificate;  // "" = self-signed
  std::string webPrivateKey;
  // GET /metrics (web/metrics.h): loopback always; downstream and explicit addresses only with
  // "Authorization: Bearer <this>". "" = loopback only. A secret: never logged or shown.
  std::string webMetricsToken;

  // [usb] the USB tethering gadget tetherd creates in configfs (tether/usb_service.h).
  std::string usbGadget = "none";   // validated function list: none, rndis, ncm, ecm, rndis+ncm, ...
  std::string usbUdc;               // "" = the only UDC in /sys/class/udc
  int usbVendorId = 0x1d6b;
  int usbProductId = 0x0104;
  std::string usbManufacturer = "tetherd";
  std::string usbProduct = "tetherd USB tethering";
  std::string usbSerial;            // "" = derived from /etc/machine-id
  std::string usbGadgetName = "tetherd";
  std::string usbHostAddr, usbDevAddr;  // "" = derived from /etc/machine-id

  // [bluetooth] Bluetooth PAN NAP through BlueZ (tether/bluetooth_pan.h).
  bool bluetoothEnabled = false;
  std::string bluetoothAdapter = "hci0";
  std::string bluetoothBridge = "bt-pan";
  std::optional<bool> bluetoothDiscoverable;  // unset: left as BlueZ has it
  std::optional<bool> bluetoothPairable;
  std::string bluetoothAlias;                 // "" = left as BlueZ has it

  // Which kind a name belongs to, by the configured patterns (first match in kind order).
  bool kindOf(std::string_view ifname, IfaceKind& out) const;
  const KindSettings& kind(IfaceKind k) const { return kinds[static_cast<size_t>(k)]; }
  // Whether a downstream is local-only ([tethering] local_only names it or its kind).
  bool localOnly(const std::string& ifname, IfaceKind k) const;
};

Config defaultConfig();

// Parse text; `sourceName` is used in error messages ("tetherd.conf:12: ...").
Result<Config> parseConfig(std::string_view text, const std::string& sourceName);
// The same syntax and checks, starting from `base` instead of the defaults (the web page's
// persisted runtime settings are such a fragment over the file's configuration).
Result<Config> parseConfigOnto(const Config& base, std::string_view text, const std::string& sourceName);
Result<Config> loadConfigFile(const std::string& path);

// Durations: "250ms", "10s", "5m", "1h", or plain seconds. Returns milliseconds.
bool parseDurationMs(std::string_view text, long long& outMs);

}  // namespace tetherd
