// Internal to config/: the table of the configuration file's sections and keys that
// parseConfigOnto (config.cpp) walks. Each setter validates one value and stores it.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace tetherd::config_keys {

// A setter validates the value and stores it; it returns "" or the reason it refused.
using Setter = std::function<std::string(Config&, const std::string& value)>;
using SectionTable = std::map<std::string, std::map<std::string, Setter>>;

// "section" -> "key" -> setter, for every fixed section (config_keys.cpp, radio_keys.cpp).
const SectionTable& sectionTable();
// "[upstream.eth0]" sections: per-upstream settings; known = false for a key they do not have.
std::string setUpstreamKey(Config& c, const std::string& ifname, const std::string& key, const std::string& v,
                           bool& known);

// A value's words, separated by spaces, tabs or commas ("usb, wifi" -> {"usb", "wifi"}).
std::vector<std::string> splitWords(std::string_view s);
// yes/true/on or no/false/off.
std::string setBool(bool& field, const std::string& v);
// The [usb] and [bluetooth] sections (radio_keys.cpp).
void addRadioKeys(SectionTable& t);
// [softap] idle_timeout, [tethering] idle_timeout, idle_untether, local_only (idle_keys.cpp).
void addIdleKeys(SectionTable& t);
// "10min", "30s", "1h", "0" or "off" (0) as whole seconds, at most a day.
std::string setIdleTimeout(int& fieldSec, const std::string& v);

}  // namespace tetherd::config_keys
