// Soft-AP settings (softap/softap_settings.h), from the two places they come in:
//  - the persisted file: parseSettings on the whole input;
//  - `softap set <key> <value>` (control socket, later the web API): every input line
//    "key=value" is a setField call on valid settings, the value C-escaped (\n \r \t \0 \\ \xHH)
//    so that any byte can reach it; lines "@field=value" set a HostapdOptions field instead
//    (ifname driver ctrl_dir ctrl_group deny_file eap_user_file; they come from the config);
//  - the web page's form: all the key=value lines at once through setFields.
// Properties, for every accepted Settings:
//  - validate() accepts it; serializeSettings() parses back to the same settings;
//  - getField(k) given back to setField(k) is accepted and changes nothing;
//  - a refused setField or setFields leaves the settings unchanged;
//  - hostapdConf() succeeds (with valid options) and its every line is a '#' comment or
//    key=value with key [a-z0-9_]+, and no byte of it is below 0x20 other than '\n'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "softap/hostapd/softap_settings.h"
#include "tests/fuzz/fuzz_check.h"

using namespace tetherd;
using namespace tetherd::softap;

namespace {

bool sameSettings(const Settings& a, const Settings& b) {
  return a.ssid == b.ssid && a.security == b.security && a.passphrase == b.passphrase && a.band == b.band &&
         a.channel == b.channel && a.country == b.country && a.hidden == b.hidden && a.isolation == b.isolation &&
         a.maxStations == b.maxStations && a.ieee80211n == b.ieee80211n && a.ieee80211ac == b.ieee80211ac;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string unescape(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\' || i + 1 == v.size()) {
      out += v[i];
      continue;
    }
    char e = v[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case '0': out += '\0'; break;
      case 'x':
        if (i + 2 < v.size() && hexDigit(v[i + 1]) >= 0 && hexDigit(v[i + 2]) >= 0) {
          out += static_cast<char>(hexDigit(v[i + 1]) * 16 + hexDigit(v[i + 2]));
          i += 2;
        } else {
          out += 'x';
        }
        break;
      default: out += e; break;
    }
  }
  return out;
}

bool validKey(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

void checkConf(const std::string& conf) {
  FUZZ_CHECK(!conf.empty() && conf.back() == '\n');
  for (unsigned char c : conf) FUZZ_CHECK(c >= 0x20 || c == '\n');
  size_t pos = 0;
  while (pos < conf.size()) {
    size_t nl = conf.find('\n', pos);
    std::string_view line(conf.data() + pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.front() == '#') continue;
    auto eq = line.find('=');
    FUZZ_CHECK(eq != std::string_view::npos);
    FUZZ_CHECK(validKey(line.substr(0, eq)));
  }
}

void checkAccepted(const Settings& s, const HostapdOptions& options) {
  FUZZ_CHECK(validate(s).ok());

  auto reread = parseSettings(serializeSettings(s));
  FUZZ_CHECK(reread.ok());
  FUZZ_CHECK(sameSettings(*reread, s));

  for (const auto& key : fieldNames()) {
    auto value = getField(s, key);
    FUZZ_CHECK(value.ok());
    Settings copy = s;
    FUZZ_CHECK(setField(copy, key, *value).ok());
    FUZZ_CHECK(sameSettings(copy, s));
  }

  HostapdOptions radio;
  radio.ifname = "wlan0";
  radio.ctrlDir = "/run/tetherd/hostapd";
  radio.ctrlGroup = "netdev";
  radio.denyFile = "/var/lib/tetherd/softap.deny";
  HostapdOptions wired = radio;
  wired.driver = "wired";
  wired.eapUserFile = "/etc/tetherd/eap_users";
  for (const HostapdOptions* o : {&radio, &wired}) {
    auto conf = hostapdConf(s, *o);
    FUZZ_CHECK(conf.ok());
    checkConf(*conf);
  }
  if (auto conf = hostapdConf(s, options)) checkConf(*conf);
  (void)wifiQrPayload(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  HostapdOptions options;
  options.ifname = "wlan0";
  options.ctrlDir = "/run/tetherd/hostapd";

  // The persisted file.
  auto parsed = parseSettings(text);
  if (parsed) checkAccepted(*parsed, options);

  // Field by field, from valid first-start settings.
  Settings s = defaultSettings("fuzz-host", std::string(12, '\x5a'));
  FUZZ_CHECK(validate(s).ok());
  const Settings first = s;
  std::vector<std::pair<std::string, std::string>> form;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key = unescape(line.substr(0, eq));
    std::string value = unescape(line.substr(eq + 1));
    if (!key.empty() && key.front() == '@') {
      if (key == "@ifname") options.ifname = value;
      else if (key == "@driver") options.driver = value;
      else if (key == "@ctrl_dir") options.ctrlDir = value;
      else if (key == "@ctrl_group") options.ctrlGroup = value;
      else if (key == "@deny_file") options.denyFile = value;
      else if (key == "@eap_user_file") options.eapUserFile = value;
      continue;
    }
    form.emplace_back(key, value);
    Settings before = s;
    if (setField(s, key, value)) {
      checkAccepted(s, options);
    } else {
      FUZZ_CHECK(sameSettings(s, before));
    }
  }
  checkAccepted(s, options);

  // The same fields at once (the web page's form): all or nothing.
  Settings batch = first;
  if (setFields(batch, form)) {
    checkAccepted(batch, options);
  } else {
    FUZZ_CHECK(sameSettings(batch, first));
  }
  return 0;
}
