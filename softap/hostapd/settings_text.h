// Internal to the soft AP settings code: text helpers shared by softap_settings.cpp (validation,
// fields, persisted form) and hostapd_conf.cpp (hostapd.conf, the QR text).
#pragma once

#include <string>
#include <string_view>

#include "tether/base/result.h"

namespace tetherd::softap::text {

Error invalid(std::string message);

std::string toHex(std::string_view bytes);

std::string lower(std::string s);

// A value echoed in an error message: printable ASCII as is, anything else as \xNN, cut short.
std::string shown(std::string_view v);

}  // namespace tetherd::softap::text
