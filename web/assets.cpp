#include "web/assets.h"

#include <array>
#include <stdexcept>
#include <string>
#include <utility>

namespace tetherd::web {

std::string_view mimeFor(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
  }};
  for (const auto& [ext, mime] : kTypes)
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext) return mime;
  return {};
}

const std::vector<Asset>& allAssets() {
  static const std::vector<Asset> assets = [] {
    std::vector<Asset> out;
    for (size_t i = 0; i < kEmbeddedFileCount; ++i) {
      const EmbeddedFile& f = kEmbeddedFiles[i];
      Asset a;
      a.name = f.name;
      a.mime = mimeFor(a.name);
      // The build refuses unknown types (embed_assets.cmake); this is the same rule.
      if (a.mime.empty()) throw std::logic_error(std::string("asset without a MIME type: ") + f.name);
      a.etag = "\"" + std::string(f.sha256).substr(0, 32) + "\"";
      a.body = std::string_view(reinterpret_cast<const char*>(f.data), f.size);
      out.push_back(std::move(a));
    }
    return out;
  }();
  return assets;
}

const Asset* findAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  if (path.size() < 2 || path.front() != '/') return nullptr;
  std::string_view name = path.substr(1);
  for (const auto& a : allAssets())
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace tetherd::web
