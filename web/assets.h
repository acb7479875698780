// The admin page's static files, compiled into the binary (web/ui/* -> a generated .cpp of
// byte arrays): nothing to install, nothing read from disk at run time. Only names in this
// table exist, so no request path can reach anything else (no traversal to refuse).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tetherd::web {

// Written by web/embed_assets.cmake.
struct EmbeddedFile {
  const char* name;           // "app.js"
  const unsigned char* data;
  size_t size;
  const char* sha256;         // hex of the content
};
extern const EmbeddedFile kEmbeddedFiles[];
extern const size_t kEmbeddedFileCount;

struct Asset {
  std::string_view name;
  std::string_view mime;
  std::string etag;  // strong: "\"<first 32 hex digits of SHA-256>\""
  std::string_view body;
};

// The MIME type of a file name from a fixed table by extension; "" when not in the table.
std::string_view mimeFor(std::string_view name);
// "/" is index.html; otherwise "/<name>" exactly (no decoding, no directories).
const Asset* findAsset(std::string_view path);
const std::vector<Asset>& allAssets();

}  // namespace tetherd::web
