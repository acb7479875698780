// Settings changed on the web page that must survive a restart (upstream priority, auto-tether
// per kind, DHCP range and lease time, idle timeouts). They are kept as a fragment in the configuration file's
// own syntax, state_dir/web-settings (0600, replaced atomically), and applied on top of
// tetherd.conf at every start and SIGHUP with the very same checks (parseConfigOnto). For these
// keys the web page's value wins over tetherd.conf; removing the file goes back to the file's.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "tether/base/result.h"

namespace tetherd {

// "section.key" -> the value as the configuration file would hold it.
using RuntimeSettings = std::map<std::string, std::string>;

// upstream.priority, tethering.auto_tether, dhcp.lease_time, dhcp.range_first_host,
// dhcp.range_last_host, softap.idle_timeout, tethering.idle_timeout, tethering.idle_untether:
// nothing else can be set this way.
const std::vector<std::string>& runtimeSettingKeys();
std::string runtimeSettingsPath(const std::string& stateDir);

std::string serializeRuntimeSettings(const RuntimeSettings& s);
// Strict: "[section]" and "key = value" lines for the keys above only, '#' comments.
Result<RuntimeSettings> parseRuntimeSettings(std::string_view text);
// base with the settings applied, validated like the configuration file, all together (so
// moving the DHCP range 200-210 to 220-230 is fine though 220-210 is not). An error names the
// key ("web-settings:3: key 'lease_time' in [dhcp]: ...", "... range_last_host 300 does not fit").
Result<Config> applyRuntimeSettings(const Config& base, const RuntimeSettings& s);

Result<RuntimeSettings> loadRuntimeSettings(const std::string& stateDir);  // missing file: empty
Status saveRuntimeSettings(const std::string& stateDir, const RuntimeSettings& s);

// For the daemon's (re)load: `c` with state_dir/web-settings applied. A file that does not
// parse or no longer fits the configuration is logged and left out (the file's config wins).
Config withRuntimeSettings(Config c);

}  // namespace tetherd
