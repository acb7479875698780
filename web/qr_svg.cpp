#include "web/qr_svg.h"

#include <qrencode.h>

#include <memory>

namespace tetherd::web {

Result<std::string> qrSvg(std::string_view text) {
  if (text.empty() || text.size() > 2000) return makeError(Errc::InvalidArgument, "QR text must be 1 to 2000 bytes");
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeData(static_cast<int>(text.size()), reinterpret_cast<const unsigned char*>(text.data()), 0, QR_ECLEVEL_M),
      &QRcode_free);
  if (!code) return makeError(Errc::InvalidArgument, "the text does not fit a QR code");
  const int n = code->width;
  constexpr int kQuiet = 4;
  const int size = n + 2 * kQuiet;
  std::string path;
  for (int y = 0; y < n; ++y) {
    int x = 0;
    while (x < n) {
      if ((code->data[y * n + x] & 1) == 0) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < n && (code->data[y * n + x + run] & 1) != 0) ++run;
      path += "M" + std::to_string(x + kQuiet) + " " + std::to_string(y + kQuiet) + "h" + std::to_string(run) + "v1h-" +
              std::to_string(run) + "z";
      x += run;
    }
  }
  const std::string s = std::to_string(size);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + s + " " + s + "\" width=\"" + std::to_string(size * 8) +
         "\" height=\"" + std::to_string(size * 8) + "\" shape-rendering=\"crispEdges\">" + "<rect width=\"" + s +
         "\" height=\"" + s + "\" fill=\"#fff\"/><path fill=\"#000\" d=\"" + path + "\"/></svg>\n";
}

}  // namespace tetherd::web
