// A QR code as an SVG image (libqrencode for the modules, our own SVG around them).
#pragma once

#include <string>
#include <string_view>

#include "tether/base/result.h"

namespace tetherd::web {

// 8-bit mode, error correction level M, a quiet zone of 4 modules; black modules on white,
// one <path> (no script, no style attribute, nothing external). InvalidArgument when the text
// does not fit a QR code.
Result<std::string> qrSvg(std::string_view text);

}  // namespace tetherd::web
