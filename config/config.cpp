#include "config/config.h"

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "config/config_keys.h"

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

const char* ipv6ModeName(Ipv6Mode mode) {
  switch (mode) {
    case Ipv6Mode::Off: return "off";
    case Ipv6Mode::Auto: return "auto";
    case Ipv6Mode::Nat66: return "nat66";
    case Ipv6Mode::Pd: return "pd";
    case Ipv6Mode::Relay: return "relay";
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
      } else if (!config_keys::sectionTable().count(section)) {
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
      err = config_keys::setUpstreamKey(c, section.substr(9), key, value, known);
      if (!known) return fail("unknown key '" + key + "' in [" + section + "]");
    } else {
      const auto& keys = config_keys::sectionTable().at(section);
      auto it = keys.find(key);
      if (it == keys.end()) return fail("unknown key '" + key + "' in [" + section + "]");
      err = it->second(c, value);
    }
    if (!err.empty()) return fail("key '" + key + "' in [" + section + "]: " + err);
  }
  lineNo = 0;
  if (auto err = checkWifiUpstreams(c.wifiUpstreams, c.upstreamPriority, c.softapInterface); !err.empty())
    return makeError(Errc::InvalidArgument, sourceName + ": " + err);
  for (const auto& [ifname, wifi] : c.wifiUpstreams)  // its lease's DNS servers, unless told otherwise
    c.upstreamResolvFile.try_emplace(ifname, wifiUpstreamResolvPath(c.runDir, ifname));
  if (c.softapDriver == "wired" && c.softapEapUserFile.empty())
    return makeError(Errc::InvalidArgument, sourceName + ": [softap] driver = wired needs eap_user_file");
  if (c.rangeFirstHost > c.rangeLastHost)
    return fail("[dhcp] range_first_host is greater than range_last_host");
  if (c.usbHostAddr.empty() != c.usbDevAddr.empty())
    return fail("[usb] host_addr and dev_addr are set together (or neither: derived from the machine id)");
  if (!c.usbHostAddr.empty() && c.usbHostAddr == c.usbDevAddr) return fail("[usb] host_addr and dev_addr are the same");
  if (IfaceKind k; c.bluetoothEnabled && !(c.kindOf(c.bluetoothBridge, k) && k == IfaceKind::Bluetooth))
    return fail("[bluetooth] bridge " + c.bluetoothBridge + " does not match [tethering] bluetooth_pattern: it would not be tethered");
  if (c.webCertificate.empty() != c.webPrivateKey.empty())
    return makeError(Errc::InvalidArgument, sourceName + ": [web] certificate and private_key are given together "
                                                         "(or neither: a self-signed certificate)");
  if (c.webHttps && c.webHttpsPort == c.webPort)
    return makeError(Errc::InvalidArgument, sourceName + ": [web] https_port " + std::to_string(c.webHttpsPort) +
                                                " is the same as port (plain HTTP's, which then redirects)");
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
