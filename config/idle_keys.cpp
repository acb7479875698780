// Idle auto-off and local-only downstreams (issue 14 points 6 and 7): their keys.
#include <algorithm>
#include <set>

#include "config/config_keys.h"

namespace tetherd {

bool Config::localOnly(const std::string& ifname, IfaceKind k) const {
  return localOnlyKinds[static_cast<size_t>(k)] ||
         std::find(localOnlyNames.begin(), localOnlyNames.end(), ifname) != localOnlyNames.end();
}

namespace config_keys {

std::string setIdleTimeout(int& fieldSec, const std::string& v) {
  if (v == "off" || v == "0") {
    fieldSec = 0;
    return "";
  }
  std::string text = v;
  if (text.size() > 3 && text.ends_with("min")) text.resize(text.size() - 2);  // "10min" -> "10m"
  long long ms = 0;
  if (!parseDurationMs(text, ms)) return "'" + v + "' is not a duration (e.g. 30s, 10min, 1h) or off";
  if (ms % 1000 != 0) return "'" + v + "' is not a whole number of seconds";
  if (ms < 1000 || ms > 24LL * 3'600'000) return "must be between 1s and 24h (or off)";
  fieldSec = static_cast<int>(ms / 1000);
  return "";
}

void addIdleKeys(SectionTable& t) {
  t["softap"]["idle_timeout"] = [](Config& c, const std::string& v) { return setIdleTimeout(c.softapIdleTimeoutSec, v); };
  auto& teth = t["tethering"];
  teth["idle_timeout"] = [](Config& c, const std::string& v) { return setIdleTimeout(c.idleTimeoutSec, v); };
  teth["idle_untether"] = [](Config& c, const std::string& v) -> std::string {
    std::array<bool, kIfaceKindCount> on{};
    for (const auto& w : splitWords(v)) {
      IfaceKind k;
      if (w == "none") continue;
      if (w == "wifi") return "'wifi' is not untethered here: the soft AP has [softap] idle_timeout";
      if (!parseIfaceKind(w, k)) return "'" + w + "' is not one of usb, bluetooth, ethernet, none";
      on[static_cast<size_t>(k)] = true;
    }
    c.idleUntether = on;
    return "";
  };
  teth["quota_month_start"] = [](Config& c, const std::string& v) -> std::string {
    const bool digits = !v.empty() && v.size() <= 2 && v.find_first_not_of("0123456789") == std::string::npos;
    const int day = digits ? std::stoi(v) : 0;
    if (day < 1 || day > 28) return "'" + v.substr(0, 20) + "' is not a day of the month from 1 to 28";
    c.quotaMonthStart = day;
    return "";
  };
  teth["local_only"] = [](Config& c, const std::string& v) -> std::string {
    std::array<bool, kIfaceKindCount> kinds{};
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (const auto& w : splitWords(v)) {
      if (!seen.insert(w).second) return "'" + w + "' is listed twice";
      if (w == "none") continue;
      IfaceKind k;
      if (parseIfaceKind(w, k)) {
        kinds[static_cast<size_t>(k)] = true;
        continue;
      }
      if (!validIfname(w) || w.back() == '+') return "'" + w + "' is neither a kind (usb, wifi, bluetooth, ethernet) nor an interface name";
      names.push_back(w);
    }
    c.localOnlyKinds = kinds;
    c.localOnlyNames = std::move(names);
    return "";
  };
}

}  // namespace config_keys
}  // namespace tetherd
