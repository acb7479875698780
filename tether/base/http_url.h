// "http://host[:port]/path" as a value: the health probe's URLs (config [upstream] probe_url),
// checked once where they are read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tetherd {

// "http://host[:port]/path": what the probe connects to and asks for. Only http (a probe checks
// reachability, a portal answers plain HTTP); host a name or a dotted IPv4 address.
struct HttpUrl {
  std::string host;
  uint16_t port = 80;
  std::string path = "/";
  std::string str() const;
};
// nullopt with the reason in *why.
std::optional<HttpUrl> parseHttpUrl(std::string_view text, std::string* why = nullptr);


}  // namespace tetherd
