#include "config/config.h"

#include <charconv>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "config/usb_values.h"

namespace tetherd {

const char* ifaceKindName(IfaceKind kind) {
  switch (kind) {
    case IfaceKind::Usb: return "usb";
    case IfaceKind::Wifi: return "wifi";
    case IfaceKind::Bluetooth: return "bluetooth";
    case IfaceKind::Ethernet: return "ethernet";
  }
  return "?";
}

bool parseIfaceKind(std::string_view text, IfaceKind& out) {
  for (int i = 0; i < kIfaceKindCount; ++i) {
    if (text == ifaceKindName(static_cast<IfaceKind>(i))) {
      out = static_cast<IfaceKind>(i);
      return true;
    }
  }
  return false;
}

bool Config::kindOf(std::string_view ifname, IfaceKind& out) const {
  for (int i = 0; i < kIfaceKindCount; ++i) {
    const auto& k = kinds[static_cast<size_t>(i)];
    if (!k.pattern.empty() && std::regex_match(ifname.begin(), ifname.end(), k.regex)) {
      out = static_cast<IfaceKind>(i);
      return true;
    }
  }
  return false;
}

Config defaultConfig() {
  Config c;
  auto set = [&](IfaceKind kind, const char* pattern, const char* subnet, bool autoTether) {
    auto& k = c.kinds[static_cast<size_t>(kind)];
    k.pattern = pattern;
    k.regex = std::regex(k.pattern, std::regex::ECMAScript);
    k.subnet = *Ipv4Prefix::parse(subnet);
    k.autoTether = autoTether;
  };
  set(IfaceKind::Usb, R"((usb|rndis)\d+)", "192.168.42.0/24", true);
  set(IfaceKind::Wifi, R"((wlan|ap)\d+)", "192.168.43.0/24", true);
  set(IfaceKind::Bluetooth, R"(bt-pan|pan\d+)", "192.168.44.0/24", true);
  set(IfaceKind::Ethernet, "", "192.168.45.0/24", false);
  return c;
}

bool parseDurationMs(std::string_view text, long long& outMs) {
  if (text.empty()) return false;
  long long number = 0;
  auto [next, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || number < 0 || next == text.data()) return false;
  std::string_view unit(next, static_cast<size_t>(text.data() + text.size() - next));
  long long factor = 0;
  if (unit.empty() || unit == "s") factor = 1000;
  else if (unit == "ms") factor = 1;
  else if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else return false;
  if (number > (1LL << 40) / factor) return false;
  outMs = number * factor;
  return true;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
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

// A setter validates the value and stores it; it returns "" or the reason it refused.
using Setter = std::function<std::string(Config&, const std::string& value)>;

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

std::string setBool(bool& field, const std::string& v) {
  if (v == "yes" || v == "true" || v == "on") field = true;
  else if (v == "no" || v == "false" || v == "off") field = false;
  else return "'" + v + "' is not yes or no";
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

std::string setAddressList(std::vector<Ipv4Address>& field, const std::string& v) {
  std::vector<Ipv4Address> out;
  for (const auto& w : splitWords(v)) {
    auto a = Ipv4Address::parse(w);
    if (!a) return "'" + w + "' is not an IPv4 address";
    out.push_back(*a);
  }
  if (out.size() > 8) return "at most 8 servers";
  field = std::move(out);
  return "";
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
  return m;
}

const std::map<std::string, std::map<std::string, Setter>>& sectionTable() {
  static const auto table = [] {
    std::map<std::string, std::map<std::string, Setter>> t;
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

    auto& usb = t["usb"];
    usb["gadget"] = [](Config& c, const std::string& v) -> std::string {
      auto f = usb::parseFunctions(v);
      if (!f) return f.error().message;
      c.usbGadget = usb::functionsText(*f);
      return "";
    };
    usb["udc"] = [](Config& c, const std::string& v) -> std::string {
      if (!v.empty())
        if (auto st = usb::checkUdcName(v); !st) return st.error().message;
      c.usbUdc = v;
      return "";
    };
    auto usbId = [](int& field, const std::string& v) -> std::string {
      std::string_view digits = v;
      if (digits.rfind("0x", 0) == 0 || digits.rfind("0X", 0) == 0) digits.remove_prefix(2);
      unsigned n = 0;
      auto [next, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n, 16);
      if (digits.empty() || digits.size() > 4 || ec != std::errc() || next != digits.data() + digits.size())
        return "'" + v + "' is not a 16-bit hexadecimal number like 0x1d6b";
      field = static_cast<int>(n);
      return "";
    };
    usb["vendor_id"] = [usbId](Config& c, const std::string& v) -> std::string {
      auto err = usbId(c.usbVendorId, v);
      if (err.empty() && c.usbVendorId == 0) return "0 is not a vendor";
      return err;
    };
    usb["product_id"] = [usbId](Config& c, const std::string& v) { return usbId(c.usbProductId, v); };
    auto usbString = [](std::string& field, const char* name, const std::string& v) -> std::string {
      if (auto st = usb::checkUsbString(name, v); !st) return st.error().message;
      field = v;
      return "";
    };
    usb["manufacturer"] = [usbString](Config& c, const std::string& v) { return usbString(c.usbManufacturer, "manufacturer", v); };
    usb["product"] = [usbString](Config& c, const std::string& v) { return usbString(c.usbProduct, "product", v); };
    usb["serial"] = [usbString](Config& c, const std::string& v) -> std::string {
      if (!v.empty()) return usbString(c.usbSerial, "serial", v);
      c.usbSerial.clear();  // derived from the machine id
      return "";
    };
    usb["gadget_name"] = [](Config& c, const std::string& v) -> std::string {
      if (auto st = usb::checkGadgetName(v); !st) return st.error().message;
      c.usbGadgetName = v;
      return "";
    };
    auto usbMac = [](std::string& field, const char* name, const std::string& v) -> std::string {
      if (v.empty()) {
        field.clear();  // derived from the machine id
        return "";
      }
      auto m = usb::checkUnicastMac(name, v);
      if (!m) return m.error().message;
      field = *m;
      return "";
    };
    usb["host_addr"] = [usbMac](Config& c, const std::string& v) { return usbMac(c.usbHostAddr, "host_addr", v); };
    usb["dev_addr"] = [usbMac](Config& c, const std::string& v) { return usbMac(c.usbDevAddr, "dev_addr", v); };

    auto& bt = t["bluetooth"];
    bt["enabled"] = [](Config& c, const std::string& v) { return setBool(c.bluetoothEnabled, v); };
    bt["adapter"] = [](Config& c, const std::string& v) -> std::string {
      if (v.empty() || v.size() > 32) return "adapter name: 1 to 32 characters (e.g. hci0)";
      for (char ch : v)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) return "'" + v + "' is not an adapter name like hci0";
      c.bluetoothAdapter = v;
      return "";
    };
    bt["bridge"] = [](Config& c, const std::string& v) -> std::string {
      if (!validIfname(v)) return "'" + v + "' is not a valid interface name";
      c.bluetoothBridge = v;
      return "";
    };
    auto optBool = [](std::optional<bool>& field, const std::string& v) -> std::string {
      if (v.empty() || v == "unchanged") {
        field.reset();  // left as BlueZ has it
        return "";
      }
      bool b = false;
      if (!setBool(b, v).empty()) return "'" + v + "' is not yes, no or unchanged";
      field = b;
      return "";
    };
    bt["discoverable"] = [optBool](Config& c, const std::string& v) { return optBool(c.bluetoothDiscoverable, v); };
    bt["pairable"] = [optBool](Config& c, const std::string& v) { return optBool(c.bluetoothPairable, v); };
    bt["alias"] = [](Config& c, const std::string& v) -> std::string {
      if (v.size() > 248) return "longer than 248 bytes";
      for (unsigned char ch : v)
        if (ch < 0x20 || ch == 0x7f) return "contains a control character";
      c.bluetoothAlias = v;
      return "";
    };
    return t;
  }();
  return table;
}

// "[upstream.eth0]" sections: per-upstream settings.
std::string setUpstreamKey(Config& c, const std::string& ifname, const std::string& key, const std::string& v,
                           bool& known) {
  known = true;
  if (key == "dns") return setAddressList(c.upstreamDns[ifname], v);
  known = false;
  return "";
}

// Value: raw text to end of line, or a "quoted string" with \" and \\ escapes.
bool unquote(std::string_view raw, std::string& out, std::string& why) {
  out.clear();
  if (raw.empty() || raw.front() != '"') {
    out.assign(raw);
    return true;
  }
  for (size_t i = 1; i < raw.size(); ++i) {
    char ch = raw[i];
    if (ch == '\\') {
      if (i + 1 >= raw.size() || (raw[i + 1] != '"' && raw[i + 1] != '\\')) {
        why = "bad escape in quoted value (only \\\" and \\\\)";
        return false;
      }
      out += raw[++i];
    } else if (ch == '"') {
      if (i + 1 != raw.size()) {
        why = "text after closing quote";
        return false;
      }
      return true;
    } else {
      out += ch;
    }
  }
  why = "unclosed quote";
  return false;
}

}  // namespace

Result<Config> parseConfig(std::string_view text, const std::string& sourceName) {
  return parseConfigOnto(defaultConfig(), text, sourceName);
}

Result<Config> parseConfigOnto(const Config& base, std::string_view text, const std::string& sourceName) {
  Config c = base;
  c.sourceName = sourceName;
  std::string section;
  std::set<std::string> seen;
  size_t lineNo = 0;
  auto fail = [&](const std::string& why) {
    return makeError(Errc::InvalidArgument, sourceName + ":" + std::to_string(lineNo) + ": " + why);
  };
  if (text.size() > 1024 * 1024) return makeError(Errc::InvalidArgument, sourceName + ": file larger than 1 MiB");
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view rawLine = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++lineNo;
    for (unsigned char ch : rawLine)
      if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f) return fail("control character in line");
    std::string_view line = trim(rawLine);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') return fail("section header must end with ']'");
      section = std::string(trim(line.substr(1, line.size() - 2)));
      if (section.rfind("upstream.", 0) == 0) {
        std::string ifname = section.substr(9);
        if (!validIfname(ifname)) return fail("[" + section + "]: '" + ifname + "' is not a valid interface name");
      } else if (!sectionTable().count(section)) {
        return fail("unknown section [" + section + "]");
      }
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return fail("expected 'key = value'");
    std::string key(trim(line.substr(0, eq)));
    std::string value, why;
    if (!unquote(trim(line.substr(eq + 1)), value, why)) return fail("key '" + key + "': " + why);
    if (section.empty()) return fail("key '" + key + "' outside of any [section]");
    if (!seen.insert(section + "\n" + key).second) return fail("key '" + key + "' set twice in [" + section + "]");
    std::string err;
    if (section.rfind("upstream.", 0) == 0) {
      bool known = false;
      err = setUpstreamKey(c, section.substr(9), key, value, known);
      if (!known) return fail("unknown key '" + key + "' in [" + section + "]");
    } else {
      const auto& keys = sectionTable().at(section);
      auto it = keys.find(key);
      if (it == keys.end()) return fail("unknown key '" + key + "' in [" + section + "]");
      err = it->second(c, value);
    }
    if (!err.empty()) return fail("key '" + key + "' in [" + section + "]: " + err);
  }
  lineNo = 0;
  if (c.softapDriver == "wired" && c.softapEapUserFile.empty())
    return makeError(Errc::InvalidArgument, sourceName + ": [softap] driver = wired needs eap_user_file");
  if (c.rangeFirstHost > c.rangeLastHost)
    return fail("[dhcp] range_first_host is greater than range_last_host");
  if (c.usbHostAddr.empty() != c.usbDevAddr.empty())
    return fail("[usb] host_addr and dev_addr are set together (or neither: derived from the machine id)");
  if (!c.usbHostAddr.empty() && c.usbHostAddr == c.usbDevAddr) return fail("[usb] host_addr and dev_addr are the same");
  if (IfaceKind k; c.bluetoothEnabled && !(c.kindOf(c.bluetoothBridge, k) && k == IfaceKind::Bluetooth))
    return fail("[bluetooth] bridge " + c.bluetoothBridge + " does not match [tethering] bluetooth_pattern: it would not be tethered");
  for (const auto& k : c.kinds) {
    uint32_t hosts = (k.subnet.length >= 31) ? 0 : (1u << (32 - k.subnet.length)) - 2;
    if (static_cast<uint32_t>(c.rangeLastHost) > hosts)
      return makeError(Errc::InvalidArgument, sourceName + ": [dhcp] range_last_host " + std::to_string(c.rangeLastHost) +
                                                  " does not fit in subnet " + k.subnet.str());
  }
  return c;
}

Result<Config> loadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return systemError("cannot read config file " + path, errno);
  std::ostringstream buf;
  buf << in.rdbuf();
  return parseConfig(buf.str(), path);
}

}  // namespace tetherd
