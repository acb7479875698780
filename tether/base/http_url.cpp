#include "tether/base/http_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tetherd {

namespace {

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}
bool hostChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'; }
bool urlChar(char c) { return c > 0x20 && c < 0x7f; }

}  // namespace

std::string HttpUrl::str() const {
  return "http://" + host + (port == 80 ? std::string() : ":" + std::to_string(port)) + path;
}

std::optional<HttpUrl> parseHttpUrl(std::string_view text, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<HttpUrl> {
    if (why) *why = reason;
    return std::nullopt;
  };
  constexpr std::string_view kScheme = "http://";
  if (text.size() < kScheme.size() || !ieq(text.substr(0, kScheme.size()), kScheme))
    return fail("must start with http:// (the probe is plain HTTP)");
  if (text.size() > 256) return fail("longer than 256 bytes");
  text.remove_prefix(kScheme.size());
  size_t slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  HttpUrl u;
  u.path = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  for (char c : u.path)
    if (!urlChar(c)) return fail("the path has a space or a control character");
  if (auto colon = authority.find(':'); colon != std::string_view::npos) {
    auto port = authority.substr(colon + 1);
    unsigned p = 0;
    auto [next, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || next != port.data() + port.size() || p == 0 || p > 65535)
      return fail("the port is not a number from 1 to 65535");
    u.port = static_cast<uint16_t>(p);
    authority = authority.substr(0, colon);
  }
  if (authority.empty() || authority.size() > 253) return fail("no host name");
  if (authority.find('@') != std::string_view::npos) return fail("user names are not supported");
  for (char c : authority)
    if (!hostChar(c)) return fail("the host is not a name or an IPv4 address");
  u.host = std::string(authority);
  return u;
}

}  // namespace tetherd
