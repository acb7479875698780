// Soft-AP settings: validation, the fields as the control socket and the page set them, the
// persisted form and the first-start defaults (hostapd.conf and the QR text: hostapd_conf.cpp).
#include "softap/hostapd/softap_settings.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <map>
#include <set>

#include "softap/hostapd/settings_text.h"

namespace tetherd::softap {

namespace text {

Error invalid(std::string message) { return makeError(Errc::InvalidArgument, std::move(message)); }

std::string toHex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// A value echoed in an error message: printable ASCII as is, anything else as \xNN, cut short.
std::string shown(std::string_view v) {
  std::string out = "'";
  size_t n = 0;
  for (unsigned char c : v) {
    if (++n > 40) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static constexpr char digits[] = "0123456789abcdef";
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out + "'";
}

}  // namespace text

using namespace text;

namespace {

constexpr size_t kMaxSsidBytes = 32;
constexpr int kMaxStations = 2007;  // hostapd's MAX_STA_COUNT
constexpr size_t kMaxSettingsFile = 64 * 1024;

// Every officially assigned ISO 3166-1 alpha-2 code (249), sorted.
constexpr std::string_view kCountries =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS "
    "BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE "
    "EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM "
    "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC "
    "LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA "
    "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO "
    "TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

constexpr std::array<int, 25> k5GhzChannels = {36,  40,  44,  48,  52,  56,  60,  64,  100,
                                               104, 108, 112, 116, 120, 124, 128, 132, 136,
                                               140, 144, 149, 153, 157, 161, 165};

// Unambiguous passphrase alphabet: 32 symbols (5 bits each), no 0/o, 1/l.
constexpr std::string_view kPassAlphabet = "23456789abcdefghijkmnpqrstuvwxyz";
static_assert(kPassAlphabet.size() == 32);

bool knownCountry(std::string_view code) {
  if (code.size() != 2) return false;
  for (size_t i = 0; i + 2 <= kCountries.size(); i += 3)
    if (kCountries.substr(i, 2) == code) return true;
  return false;
}

bool isDfsChannel(int ch) { return ch >= 52 && ch <= 144; }

bool isHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool allHex(std::string_view s) { return std::all_of(s.begin(), s.end(), isHexDigit); }

bool usesSae(Security s) { return s == Security::Wpa3Sae || s == Security::Wpa2Wpa3; }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool fromHex(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hexValue(hex[i]), lo = hexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
  }
  return true;
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07, min = 0x10000;
    else return false;
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

bool hasNewlineOrNul(std::string_view s) {
  return s.find('\n') != std::string_view::npos || s.find('\r') != std::string_view::npos ||
         s.find('\0') != std::string_view::npos;
}

// ---- per-field checks: "" or the reason (without the field name) ----

std::string checkSsid(const std::string& v) {
  if (v.empty()) return "empty (1 to 32 bytes)";
  if (hasNewlineOrNul(v)) return "contains a newline or NUL";
  if (v.size() > kMaxSsidBytes) return "longer than 32 bytes (" + std::to_string(v.size()) + ")";
  for (size_t i = 0; i < v.size(); ++i) {
    auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7f) return "contains a control character at byte " + std::to_string(i + 1);
  }
  if (!validUtf8(v)) return "not valid UTF-8";
  return "";
}

std::string checkPassphrase(const std::string& v, Security sec) {
  if (v.empty()) {
    if (sec == Security::Open) return "";
    return std::string("required for ") + securityName(sec);
  }
  if (hasNewlineOrNul(v)) return "contains a newline or NUL";
  if (v.size() == 64) {
    if (!allHex(v)) return "64 characters must be 64 hex digits (a raw PSK); a passphrase has 8 to 63 characters";
    if (usesSae(sec))
      return std::string("a raw 64-hex-digit PSK cannot be used with ") + securityName(sec) +
             " (SAE needs a passphrase of 8 to 63 characters)";
    return "";
  }
  if (v.size() < 8) return "shorter than 8 characters (" + std::to_string(v.size()) + ")";
  if (v.size() > 64) return "longer than 63 characters (" + std::to_string(v.size()) + ")";
  for (size_t i = 0; i < v.size(); ++i) {
    auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c > 0x7e)
      return "character " + std::to_string(i + 1) + " is not printable ASCII (0x20 to 0x7e)";
  }
  if (usesSae(sec)) {
    // hostapd's sae_password=<password>[|mac=..][|vlanid=..][|pk=..][|id=..] has no escaping.
    for (std::string_view token : {"|mac=", "|vlanid=", "|pk=", "|id="})
      if (v.find(token) != std::string::npos)
        return "contains '" + std::string(token) + "', which hostapd would read as a sae_password parameter";
  }
  return "";
}

std::string checkChannel(const Settings& s) {
  const int ch = s.channel;
  if (ch == 0) return "";
  if (s.band == Band::Ghz24) {
    if (ch < 1 || ch > 14) return std::to_string(ch) + " is not a 2.4 GHz channel (1 to 13; 14 in JP only)";
    if (ch == 14 && s.country != "JP") return "14 is allowed only with country JP";
    return "";
  }
  if (std::find(k5GhzChannels.begin(), k5GhzChannels.end(), ch) == k5GhzChannels.end())
    return std::to_string(ch) + " is not a 5 GHz channel (36-64, 100-144 in steps of 4, 149-165)";
  if (isDfsChannel(ch) && s.country.empty())
    return std::to_string(ch) + " needs radar detection (DFS): set the country first";
  return "";
}

std::string checkCountry(const std::string& v) {
  if (v.empty()) return "";
  if (!knownCountry(v)) return shown(v) + " is not an ISO 3166-1 alpha-2 country code";
  return "";
}

// ---- per-field parsing (syntax only; validate() does the rest) ----

bool parseBool(const std::string& v, bool& out) {
  std::string l = lower(v);
  if (l == "yes" || l == "true" || l == "on" || l == "1") out = true;
  else if (l == "no" || l == "false" || l == "off" || l == "0") out = false;
  else return false;
  return true;
}

bool parseInt(std::string_view v, int& out) {
  if (v.empty() || v.size() > 9) return false;
  auto [next, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && next == v.data() + v.size();
}

using Setter = std::function<std::string(Settings&, const std::string&)>;
using Getter = std::function<std::string(const Settings&)>;
struct Field {
  const char* name;
  Setter set;  // "" or the reason
  Getter get;
};

std::string yesNo(bool b) { return b ? "yes" : "no"; }

Setter boolSetter(bool Settings::*member) {
  return [member](Settings& s, const std::string& v) -> std::string {
    if (!parseBool(v, s.*member)) return shown(v) + " is not yes or no";
    return "";
  };
}

const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      {"ssid", [](Settings& s, const std::string& v) { s.ssid = v; return std::string(); },
       [](const Settings& s) { return s.ssid; }},
      {"security",
       [](Settings& s, const std::string& v) -> std::string {
         for (auto sec : {Security::Open, Security::Wpa2Psk, Security::Wpa3Sae, Security::Wpa2Wpa3})
           if (v == securityName(sec)) {
             s.security = sec;
             return "";
           }
         return shown(v) + " is not one of open, wpa2-psk, wpa3-sae, wpa2-wpa3";
       },
       [](const Settings& s) { return std::string(securityName(s.security)); }},
      {"passphrase", [](Settings& s, const std::string& v) { s.passphrase = v; return std::string(); },
       [](const Settings& s) { return s.passphrase; }},
      {"band",
       [](Settings& s, const std::string& v) -> std::string {
         if (v == "2.4") s.band = Band::Ghz24;
         else if (v == "5") s.band = Band::Ghz5;
         else return shown(v) + " is not 2.4 or 5";
         return "";
       },
       [](const Settings& s) { return std::string(bandName(s.band)); }},
      {"channel",
       [](Settings& s, const std::string& v) -> std::string {
         if (v == "auto") {
           s.channel = 0;
           return "";
         }
         if (!parseInt(v, s.channel)) return shown(v) + " is not a channel number or auto";
         return "";
       },
       [](const Settings& s) { return s.channel == 0 ? std::string("auto") : std::to_string(s.channel); }},
      {"country",
       [](Settings& s, const std::string& v) -> std::string {
         std::string up = v;
         for (char& c : up)
           if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
         s.country = up;
         return "";
       },
       [](const Settings& s) { return s.country; }},
      {"hidden", boolSetter(&Settings::hidden), [](const Settings& s) { return yesNo(s.hidden); }},
      {"isolation", boolSetter(&Settings::isolation), [](const Settings& s) { return yesNo(s.isolation); }},
      {"max-stations",
       [](Settings& s, const std::string& v) -> std::string {
         if (!parseInt(v, s.maxStations)) return shown(v) + " is not a whole number";
         return "";
       },
       [](const Settings& s) { return std::to_string(s.maxStations); }},
      {"80211n", boolSetter(&Settings::ieee80211n), [](const Settings& s) { return yesNo(s.ieee80211n); }},
      {"80211ac", boolSetter(&Settings::ieee80211ac), [](const Settings& s) { return yesNo(s.ieee80211ac); }},
  };
  return table;
}

const Field* findField(std::string_view key) {
  for (const auto& f : fields())
    if (key == f.name) return &f;
  return nullptr;
}

std::string knownFieldList() {
  std::string out;
  for (const auto& f : fields()) {
    if (!out.empty()) out += ' ';
    out += f.name;
  }
  return out;
}

}  // namespace

const char* securityName(Security s) {
  switch (s) {
    case Security::Open: return "open";
    case Security::Wpa2Psk: return "wpa2-psk";
    case Security::Wpa3Sae: return "wpa3-sae";
    case Security::Wpa2Wpa3: return "wpa2-wpa3";
  }
  return "?";
}

const char* bandName(Band b) {
  switch (b) {
    case Band::Ghz24: return "2.4";
    case Band::Ghz5: return "5";
  }
  return "?";
}

Status validate(const Settings& s) {
  if (auto e = checkSsid(s.ssid); !e.empty()) return invalid("ssid: " + e);
  if (std::string_view(securityName(s.security)) == "?") return invalid("security: unknown value");
  if (auto e = checkPassphrase(s.passphrase, s.security); !e.empty()) return invalid("passphrase: " + e);
  if (std::string_view(bandName(s.band)) == "?") return invalid("band: unknown value");
  if (auto e = checkChannel(s); !e.empty()) return invalid("channel: " + e);
  if (auto e = checkCountry(s.country); !e.empty()) return invalid("country: " + e);
  if (s.maxStations < 1 || s.maxStations > kMaxStations)
    return invalid("max-stations: must be between 1 and 2007 (" + std::to_string(s.maxStations) + ")");
  if (s.ieee80211n && s.channel == 14) return invalid("80211n: not available on channel 14 (802.11b only)");
  if (s.ieee80211ac && s.band != Band::Ghz5) return invalid("80211ac: only on the 5 GHz band");
  if (s.ieee80211ac && !s.ieee80211n) return invalid("80211ac: needs 80211n");
  return {};
}

Status setField(Settings& s, const std::string& key, const std::string& value) {
  const Field* f = findField(key);
  if (!f) return invalid(shown(key) + ": unknown field (known: " + knownFieldList() + ")");
  Settings copy = s;
  if (auto e = f->set(copy, value); !e.empty()) return invalid(key + ": " + e);
  if (auto st = validate(copy); !st) return st;
  s = std::move(copy);
  return {};
}

Status setFields(Settings& s, const std::vector<std::pair<std::string, std::string>>& values) {
  Settings copy = s;
  for (const auto& [key, value] : values) {
    const Field* f = findField(key);
    if (!f) return invalid(shown(key) + ": unknown field (known: " + knownFieldList() + ")");
    if (auto e = f->set(copy, value); !e.empty()) return invalid(key + ": " + e);
  }
  if (auto st = validate(copy); !st) return st;
  s = std::move(copy);
  return {};
}

Result<std::string> getField(const Settings& s, const std::string& key) {
  const Field* f = findField(key);
  if (!f) return invalid(shown(key) + ": unknown field (known: " + knownFieldList() + ")");
  return f->get(s);
}

std::vector<std::string> fieldNames() {
  std::vector<std::string> out;
  for (const auto& f : fields()) out.emplace_back(f.name);
  return out;
}

Settings defaultSettings(const std::string& hostname, const std::string& randomBytes) {
  Settings s;
  std::string_view label(hostname);
  label = label.substr(0, label.find('.'));
  for (char c : label) {
    if (s.ssid.size() == kMaxSsidBytes) break;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
      s.ssid += c;
  }
  if (s.ssid.empty()) s.ssid = "tetherd";
  if (randomBytes.size() >= 12) {
    // Consume the bytes as a bit stream, 5 bits per character: no modulo bias.
    size_t bit = 0;
    for (int i = 0; i < 12; ++i) {
      unsigned v = 0;
      for (int k = 0; k < 5; ++k, ++bit) {
        auto byte = static_cast<unsigned char>(randomBytes[bit / 8]);
        v = (v << 1) | ((byte >> (7 - bit % 8)) & 1u);
      }
      s.passphrase += kPassAlphabet[v];
    }
  }
  return s;
}

std::string serializeSettings(const Settings& s) {
  std::string out = "# tetherd soft-AP settings (written by tetherd; ssid and passphrase are hex-encoded)\n";
  for (const auto& f : fields()) {
    std::string v = f.get(s);
    out += f.name;
    out += '=';
    if (std::string_view(f.name) == "ssid" || std::string_view(f.name) == "passphrase") out += "hex:" + toHex(v);
    else out += v;
    out += '\n';
  }
  return out;
}

Result<Settings> parseSettings(std::string_view text) {
  if (text.size() > kMaxSettingsFile) return invalid("settings: larger than 64 KiB");
  Settings s;
  std::map<std::string, size_t> lineOf;
  size_t lineNo = 0, pos = 0;
  auto fail = [&](const std::string& why) { return invalid("line " + std::to_string(lineNo) + ": " + why); };
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (unsigned char c : line)
      if ((c < 0x20 && c != '\t') || c == 0x7f) return fail("control character in line");
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return fail("expected key=value");
    std::string key(trim(line.substr(0, eq)));
    std::string value(trim(line.substr(eq + 1)));
    const Field* f = findField(key);
    if (!f) return fail("unknown key " + shown(key));
    if (!lineOf.emplace(key, lineNo).second) return fail("key '" + key + "': set twice");
    if (key == "ssid" || key == "passphrase") {
      std::string decoded;
      if (value.rfind("hex:", 0) != 0 || !fromHex(std::string_view(value).substr(4), decoded))
        return fail("key '" + key + "': expected hex:<hex digits>");
      value = std::move(decoded);
    }
    if (auto e = f->set(s, value); !e.empty()) return fail("key '" + key + "': " + e);
  }
  if (auto st = validate(s); !st) {
    const std::string& msg = st.error().message;
    auto colon = msg.find(": ");
    std::string field = colon == std::string::npos ? "" : msg.substr(0, colon);
    auto it = lineOf.find(field);
    if (it != lineOf.end())
      return invalid("line " + std::to_string(it->second) + ": key '" + field + "': " + msg.substr(colon + 2));
    return invalid("settings: " + msg);
  }
  return s;
}

}  // namespace tetherd::softap
