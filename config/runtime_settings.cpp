#include "config/runtime_settings.h"

#include <algorithm>

#include "tether/base/files.h"
#include "tether/base/log.h"

namespace tetherd {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

const std::vector<std::string>& runtimeSettingKeys() {
  static const std::vector<std::string> keys = {"upstream.priority",     "tethering.auto_tether", "dhcp.lease_time",
                                                "dhcp.range_first_host", "dhcp.range_last_host", "softap.idle_timeout",
                                                "tethering.idle_timeout", "tethering.idle_untether"};
  return keys;
}

std::string runtimeSettingsPath(const std::string& stateDir) { return stateDir + "/web-settings"; }

std::string serializeRuntimeSettings(const RuntimeSettings& s) {
  std::string out = "# Set on tetherd's web page; applied over tetherd.conf. Remove to go back to it.\n";
  std::string section;
  // Sorted by section (the map's order): one header per section.
  for (const auto& [key, value] : s) {
    auto dot = key.find('.');
    std::string sec = key.substr(0, dot);
    if (sec != section) {
      out += "[" + sec + "]\n";
      section = sec;
    }
    out += key.substr(dot + 1) + " = " + value + "\n";
  }
  return out;
}

Result<RuntimeSettings> parseRuntimeSettings(std::string_view text) {
  RuntimeSettings out;
  std::string section;
  size_t lineNo = 0, pos = 0;
  const auto& allowed = runtimeSettingKeys();
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = trim(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++lineNo;
    auto fail = [&](const std::string& why) { return makeError(Errc::InvalidArgument, "line " + std::to_string(lineNo) + ": " + why); };
    for (unsigned char c : line)
      if (c < 0x20 && c != '\t') return fail("control character");
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']') return fail("section header must end with ']'");
      section = std::string(trim(line.substr(1, line.size() - 2)));
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return fail("expected 'key = value'");
    std::string key = section + "." + std::string(trim(line.substr(0, eq)));
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) return fail("'" + key + "' cannot be set here");
    if (out.count(key)) return fail("'" + key + "' set twice");
    out[key] = std::string(trim(line.substr(eq + 1)));
  }
  return out;
}

Result<Config> applyRuntimeSettings(const Config& base, const RuntimeSettings& s) {
  for (const auto& [key, value] : s) {
    const auto& allowed = runtimeSettingKeys();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return makeError(Errc::InvalidArgument, "'" + key + "' cannot be set here");
    if (value.find_first_of("\r\n\"") != std::string::npos) return makeError(Errc::InvalidArgument, key + ": bad characters");
  }
  auto c = parseConfigOnto(base, serializeRuntimeSettings(s), "web-settings");
  if (!c) return c.error();
  c->sourceName = base.sourceName;
  return c;
}

Result<RuntimeSettings> loadRuntimeSettings(const std::string& stateDir) {
  auto text = readFile(runtimeSettingsPath(stateDir), 64 * 1024);
  if (!text) {
    if (text.error().code == Errc::NotFound) return RuntimeSettings{};
    return text.error();
  }
  auto s = parseRuntimeSettings(*text);
  if (!s) return makeError(Errc::InvalidArgument, runtimeSettingsPath(stateDir) + ": " + s.error().message);
  return s;
}

Status saveRuntimeSettings(const std::string& stateDir, const RuntimeSettings& s) {
  if (auto st = ensureDir(stateDir, 0750); !st) return st;
  return writeFileAtomic(runtimeSettingsPath(stateDir), serializeRuntimeSettings(s), 0600);
}

Config withRuntimeSettings(Config c) {
  auto s = loadRuntimeSettings(c.stateDir);
  if (!s) {
    log::warning("web settings ignored: ", s.error().message);
    return c;
  }
  if (s->empty()) return c;
  auto applied = applyRuntimeSettings(c, *s);
  if (!applied) {
    log::warning("web settings in ", runtimeSettingsPath(c.stateDir), " ignored: ", applied.error().message);
    return c;
  }
  return std::move(applied.value());
}

}  // namespace tetherd
