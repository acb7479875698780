// The configuration file's keys: one setter per "[section] key", each validating its value
// (config/config_keys.h). The [usb] and [bluetooth] sections are in radio_keys.cpp.
#include "config/config_keys.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <set>
#include <string_view>

#include "config/rate_values.h"
#include "tether/base/http_url.h"

namespace tetherd::config_keys {

std::string setBool(bool& field, const std::string& v) {
  if (v == "yes" || v == "true" || v == "on") field = true;
  else if (v == "no" || v == "false" || v == "off") field = false;
  else return "'" + v + "' is not yes or no";
  return "";
}

std::vector<std::string> splitWords(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == ',') {
      if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

namespace {

std::string setPath(std::string& field, const std::string& v) {
  if (v.empty() || v.front() != '/') return "must be an absolute path";
  if (v.size() > 100) return "path too long (at most 100 bytes)";
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f) return "path contains a control character";
  field = v;
  return "";
}

std::string setInt(int& field, const std::string& v, int min, int max) {
  int n = 0;
  auto [next, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || next != v.data() + v.size())
    return "'" + v + "' is not a whole number";
  if (n < min || n > max)
    return "must be between " + std::to_string(min) + " and " + std::to_string(max);
  field = n;
  return "";
}

std::string setDuration(int& fieldMs, const std::string& v, long long minMs, long long maxMs) {
  long long ms = 0;
  if (!parseDurationMs(v, ms)) return "'" + v + "' is not a duration (e.g. 500ms, 10s, 5m, 1h)";
  if (ms < minMs || ms > maxMs)
    return "must be between " + std::to_string(minMs) + "ms and " + std::to_string(maxMs) + "ms";
  fieldMs = static_cast<int>(ms);
  return "";
}

// "first-last", both inclusive, inside [min, max], at least `least` numbers, none in `reserved`.
std::string setRange(uint32_t& first, uint32_t& last, const std::string& v, uint32_t min, uint32_t max,
                     uint32_t least, std::initializer_list<uint32_t> reserved) {
  auto dash = v.find('-');
  uint32_t a = 0, b = 0;
  auto number = [](std::string_view t, uint32_t& out) {
    auto [next, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return !t.empty() && ec == std::errc() && next == t.data() + t.size();
  };
  if (dash == std::string::npos || !number(std::string_view(v).substr(0, dash), a) ||
      !number(std::string_view(v).substr(dash + 1), b))
    return "'" + v + "' is not a range like " + std::to_string(min) + "-" + std::to_string(min + least - 1);
  if (a < min || b > max) return "must lie between " + std::to_string(min) + " and " + std::to_string(max);
  if (b < a || b - a + 1 < least) return "must hold at least " + std::to_string(least) + " numbers";
  for (uint32_t r : reserved)
    if (r >= a && r <= b) return "must not include " + std::to_string(r) + " (the kernel's own)";
  first = a;
  last = b;
  return "";
}

std::string setProbeUrl(std::string& field, const std::string& v, bool mayBeEmpty) {
  if (v.empty() && mayBeEmpty) {
    field.clear();
    return "";
  }
  std::string why;
  if (!parseHttpUrl(v, &why)) return "'" + v + "': " + why;
  field = v;
  return "";
}

std::string setIfnameList(std::vector<std::string>& field, const std::string& v) {
  std::vector<std::string> names = splitWords(v);
  std::set<std::string> seen;
  for (const auto& n : names) {
    if (!validIfname(n)) return "'" + n + "' is not a valid interface name";
    if (!seen.insert(n).second) return "'" + n + "' is listed twice";
  }
  field = std::move(names);
  return "";
}

// IPv4 and IPv6 DNS servers, at most 8 in all.
std::string setServerList(std::vector<Ipv4Address>& v4, std::vector<Ipv6Address>& v6, const std::string& v) {
  std::vector<Ipv4Address> out4;
  std::vector<Ipv6Address> out6;
  for (const auto& w : splitWords(v)) {
    if (auto a = Ipv4Address::parse(w)) out4.push_back(*a);
    else if (auto a6 = Ipv6Address::parse(w)) {
      if (a6->isLinkLocal()) return "'" + w + "' is a link-local address (dnsmasq needs a global one)";
      out6.push_back(*a6);
    }
    else return "'" + w + "' is not an IPv4 address (nor an IPv6 one)";
  }
  if (out4.size() + out6.size() > 8) return "at most 8 servers";
  v4 = std::move(out4);
  v6 = std::move(out6);
  return "";
}

// A rate limit (config/rate_values.h), or "off".
// A DNS domain for the clients' names: dot-separated labels of a-z, 0-9 and '-' (not first or
// last), 1 to 63 each, at most 253 in all. "" when good, else the cause.
std::string localDomainProblem(const std::string& d) {
  if (d.empty() || d.size() > 253) return "'" + d.substr(0, 40) + "' is not a domain of 1 to 253 characters";
  size_t start = 0;
  while (start <= d.size()) {
    size_t dot = d.find('.', start);
    if (dot == std::string::npos) dot = d.size();
    const std::string_view label(d.data() + start, dot - start);
    if (label.empty() || label.size() > 63) return "'" + d.substr(0, 40) + "' has an empty label or one longer than 63";
    if (label.front() == '-' || label.back() == '-') return "'" + d.substr(0, 40) + "' has a label that starts or ends with '-'";
    for (char ch : label)
      if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '-'))
        return "'" + d.substr(0, 40) + "' may have only letters, digits, '-' and '.'";
    start = dot + 1;
  }
  return "";
}

std::string setRate(uint64_t& field, const std::string& v) {
  if (v == "off") {
    field = 0;
    return "";
  }
  return parseRate(v, field);
}

std::map<std::string, Setter> kindSetters(IfaceKind kind) {
  const auto idx = static_cast<size_t>(kind);
  const std::string name = ifaceKindName(kind);
  std::map<std::string, Setter> m;
  m[name + "_pattern"] = [idx](Config& c, const std::string& v) -> std::string {
    if (v.size() > 200) return "pattern too long";
    try {
      c.kinds[idx].regex = std::regex(v, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return std::string("invalid regular expression: ") + e.what();
    }
    c.kinds[idx].pattern = v;
    return "";
  };
  m[name + "_subnet"] = [idx](Config& c, const std::string& v) -> std::string {
    auto p = Ipv4Prefix::parse(v);
    if (!p) return "'" + v + "' is not a prefix like 192.168.42.0/24";
    if (p->length < 16 || p->length > 29) return "prefix length must be between 16 and 29";
    if (p->address != p->network()) return "'" + v + "' has host bits set; use " + p->network().str() + "/" + std::to_string(p->length);
    c.kinds[idx].subnet = *p;
    return "";
  };
  m[name + "_download_limit"] = [idx](Config& c, const std::string& v) { return setRate(c.kinds[idx].downloadLimit, v); };
  m[name + "_upload_limit"] = [idx](Config& c, const std::string& v) { return setRate(c.kinds[idx].uploadLimit, v); };
  return m;
}

}  // namespace

const SectionTable& sectionTable() {
  static const auto table = [] {
    SectionTable t;
    auto& daemon = t["daemon"];
    daemon["log_level"] = [](Config& c, const std::string& v) -> std::string {
      if (!log::parseLevel(v, c.logLevel)) return "'" + v + "' is not one of debug, info, notice, warning, error";
      return "";
    };
    daemon["control_socket"] = [](Config& c, const std::string& v) { return setPath(c.controlSocket, v); };
    daemon["control_group"] = [](Config& c, const std::string& v) -> std::string {
      if (v.size() > 32) return "group name too long";
      for (char ch : v)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-')) return "'" + v + "' is not a valid group name";
      c.controlGroup = v;
      return "";
    };
    daemon["run_dir"] = [](Config& c, const std::string& v) { return setPath(c.runDir, v); };
    daemon["state_dir"] = [](Config& c, const std::string& v) { return setPath(c.stateDir, v); };

    auto& up = t["upstream"];
    up["priority"] = [](Config& c, const std::string& v) { return setIfnameList(c.upstreamPriority, v); };
    up["resolv_file"] = [](Config& c, const std::string& v) { return setPath(c.resolvFile, v); };
    up["policy_routing"] = [](Config& c, const std::string& v) { return setBool(c.policyRouting, v); };
    up["route_tables"] = [](Config& c, const std::string& v) {
      return setRange(c.routeTableFirst, c.routeTableLast, v, 1, 0xfffffffe, 1, {253, 254, 255});
    };
    up["rule_priorities"] = [](Config& c, const std::string& v) {
      return setRange(c.rulePriorityFirst, c.rulePriorityLast, v, 1, 32765, 3, {});
    };
    up["validation"] = [](Config& c, const std::string& v) { return setBool(c.validation, v); };
    up["probe_url"] = [](Config& c, const std::string& v) { return setProbeUrl(c.probeUrl, v, false); };
    up["probe_fallback_url"] = [](Config& c, const std::string& v) { return setProbeUrl(c.probeFallbackUrl, v, true); };
    up["probe_interval"] = [](Config& c, const std::string& v) { return setDuration(c.probeIntervalMs, v, 1000, 3'600'000); };
    up["probe_retry_min"] = [](Config& c, const std::string& v) { return setDuration(c.probeRetryMinMs, v, 250, 600'000); };
    up["probe_retry_max"] = [](Config& c, const std::string& v) { return setDuration(c.probeRetryMaxMs, v, 1000, 3'600'000); };
    up["probe_timeout"] = [](Config& c, const std::string& v) { return setDuration(c.probeTimeoutMs, v, 200, 60'000); };
    up["probe_failures"] = [](Config& c, const std::string& v) { return setInt(c.probeFailures, v, 1, 100); };
    up["probe_successes"] = [](Config& c, const std::string& v) { return setInt(c.probeSuccesses, v, 1, 100); };

    auto& teth = t["tethering"];
    teth["autostart"] = [](Config& c, const std::string& v) { return setBool(c.autostart, v); };
    teth["auto_tether"] = [](Config& c, const std::string& v) -> std::string {
      std::array<bool, kIfaceKindCount> on{};
      for (const auto& w : splitWords(v)) {
        IfaceKind k;
        if (w == "none") continue;
        if (!parseIfaceKind(w, k)) return "'" + w + "' is not one of usb, wifi, bluetooth, ethernet, none";
        on[static_cast<size_t>(k)] = true;
      }
      for (size_t i = 0; i < on.size(); ++i) c.kinds[i].autoTether = on[i];
      return "";
    };
    for (int i = 0; i < kIfaceKindCount; ++i)
      for (auto& [k, s] : kindSetters(static_cast<IfaceKind>(i))) teth[k] = s;
    teth["start_timeout"] = [](Config& c, const std::string& v) { return setDuration(c.startTimeoutMs, v, 100, 600'000); };
    teth["stop_timeout"] = [](Config& c, const std::string& v) { return setDuration(c.stopTimeoutMs, v, 100, 600'000); };
    teth["ipv6"] = [](Config& c, const std::string& v) -> std::string {
      if (v == "off") c.ipv6 = Ipv6Mode::Off;
      else if (v == "auto") c.ipv6 = Ipv6Mode::Auto;
      else if (v == "nat66") c.ipv6 = Ipv6Mode::Nat66;
      else if (v == "pd") c.ipv6 = Ipv6Mode::Pd;
      else if (v == "relay") c.ipv6 = Ipv6Mode::Relay;
      else return "'" + v + "' is not one of auto, pd, relay, nat66, off";
      return "";
    };
    teth["domain"] = [](Config& c, const std::string& v) -> std::string {
      if (v == "none") {
        c.localDomain.clear();
        return "";
      }
      std::string d = v;
      std::transform(d.begin(), d.end(), d.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (auto why = localDomainProblem(d); !why.empty()) return why;
      c.localDomain = d;
      return "";
    };
    teth["ipv6_dhcp"] = [](Config& c, const std::string& v) -> std::string {
      if (v != "stateless" && v != "stateful") return "'" + v + "' is not stateless or stateful";
      c.dhcp6Stateful = v == "stateful";
      return "";
    };
    teth["offload"] = [](Config& c, const std::string& v) -> std::string {
      if (v == "off") c.offload = OffloadMode::Off;
      else if (v == "software") c.offload = OffloadMode::Software;
      else return "'" + v + "' is not one of off, software";
      return "";
    };
    teth["pd_prefix_length"] = [](Config& c, const std::string& v) { return setInt(c.pdPrefixHint, v, 48, 64); };

    auto& ap = t["softap"];
    ap["interface"] = [](Config& c, const std::string& v) -> std::string {
      if (!validIfname(v)) return "'" + v + "' is not a valid interface name";
      c.softapInterface = v;
      return "";
    };
    ap["hostapd"] = [](Config& c, const std::string& v) { return setPath(c.hostapdPath, v); };
    ap["driver"] = [](Config& c, const std::string& v) -> std::string {
      if (v != "nl80211" && v != "wired") return "'" + v + "' is not nl80211 or wired";
      c.softapDriver = v;
      return "";
    };
    ap["eap_user_file"] = [](Config& c, const std::string& v) -> std::string {
      if (v.empty()) {
        c.softapEapUserFile.clear();
        return "";
      }
      return setPath(c.softapEapUserFile, v);
    };

    auto& dhcp = t["dhcp"];
    dhcp["dnsmasq"] = [](Config& c, const std::string& v) { return setPath(c.dnsmasqPath, v); };
    dhcp["dhcpcd"] = [](Config& c, const std::string& v) { return setPath(c.dhcpcdPath, v); };
    dhcp["lease_time"] = [](Config& c, const std::string& v) -> std::string {
      int ms = 0;
      auto err = setDuration(ms, v, 120'000, 7LL * 24 * 3'600'000);
      if (!err.empty()) return err;
      c.leaseTimeSec = ms / 1000;
      return "";
    };
    dhcp["range_first_host"] = [](Config& c, const std::string& v) { return setInt(c.rangeFirstHost, v, 2, 65000); };
    dhcp["range_last_host"] = [](Config& c, const std::string& v) { return setInt(c.rangeLastHost, v, 2, 65000); };

    auto& web = t["web"];
    web["enabled"] = [](Config& c, const std::string& v) { return setBool(c.webEnabled, v); };
    web["port"] = [](Config& c, const std::string& v) { return setInt(c.webPort, v, 1, 65535); };
    web["listen"] = [](Config& c, const std::string& v) -> std::string {
      bool downstreams = false, localhost = false;
      std::vector<Ipv4Address> addrs;
      for (const auto& w : splitWords(v)) {
        if (w == "downstreams") downstreams = true;
        else if (w == "localhost") localhost = true;
        else if (auto a = Ipv4Address::parse(w)) {
          if (a->str() == "0.0.0.0") return "0.0.0.0 is refused: list the addresses to listen on";
          addrs.push_back(*a);
        } else return "'" + w + "' is not downstreams, localhost or an IPv4 address";
      }
      if (!downstreams && !localhost && addrs.empty()) return "empty: give downstreams, localhost and/or addresses";
      c.webListenDownstreams = downstreams;
      c.webListenLocalhost = localhost;
      c.webListenAddresses = std::move(addrs);
      return "";
    };
    web["https"] = [](Config& c, const std::string& v) { return setBool(c.webHttps, v); };
    web["https_port"] = [](Config& c, const std::string& v) { return setInt(c.webHttpsPort, v, 1, 65535); };
    web["certificate"] = [](Config& c, const std::string& v) -> std::string {
      if (v.empty()) {
        c.webCertificate.clear();
        return "";
      }
      return setPath(c.webCertificate, v);
    };
    web["private_key"] = [](Config& c, const std::string& v) -> std::string {
      if (v.empty()) {
        c.webPrivateKey.clear();
        return "";
      }
      return setPath(c.webPrivateKey, v);
    };
    // The value is a secret: a refusal says why, never what.
    web["metrics_token"] = [](Config& c, const std::string& v) -> std::string {
      if (v.empty()) {
        c.webMetricsToken.clear();
        return "";
      }
      if (v.size() < 16) return "too short (at least 16 characters; e.g. openssl rand -hex 16)";
      if (v.size() > 256) return "too long (at most 256 characters)";
      for (unsigned char ch : v)
        if (!std::isalnum(ch) && std::string_view("-._~+/=").find(static_cast<char>(ch)) == std::string_view::npos)
          return "contains a character other than letters, digits and - . _ ~ + / = (a bearer token's)";
      c.webMetricsToken = v;
      return "";
    };
    web["session_idle"] = [](Config& c, const std::string& v) -> std::string {
      int ms = 0;
      if (auto err = setDuration(ms, v, 60'000, 24LL * 3'600'000); !err.empty()) return err;
      c.webSessionIdleSec = ms / 1000;
      return "";
    };
    web["session_lifetime"] = [](Config& c, const std::string& v) -> std::string {
      int ms = 0;
      if (auto err = setDuration(ms, v, 5LL * 60'000, 7LL * 24 * 3'600'000); !err.empty()) return err;
      c.webSessionLifetimeSec = ms / 1000;
      return "";
    };

    addRadioKeys(t);
    addIdleKeys(t);
    return t;
  }();
  return table;
}

// "[upstream.eth0]" sections: per-upstream settings.
std::string setUpstreamKey(Config& c, const std::string& ifname, const std::string& key, const std::string& v,
                           bool& known) {
  known = true;
  if (key == "dns") return setServerList(c.upstreamDns[ifname], c.upstreamDns6[ifname], v);
  if (key == "resolv_file") return setPath(c.upstreamResolvFile[ifname], v);
  if (auto err = setWifiUpstreamKey(c.wifiUpstreams, ifname, key, v, known); known) return err;
  return "";
}

}  // namespace tetherd::config_keys
