#include "web/http/https_redirect.h"

#include <cctype>

namespace tetherd::web {

namespace {

bool isHostChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'; }

// RFC 3986 path and query characters, '%' included (the target is already encoded).
bool isUriChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("-._~!$&'()*+,;=:@/?%").find(c) != std::string_view::npos;
}

}  // namespace

std::string validHostOf(std::string_view h) {
  if (h.empty() || h.size() > 253 + 6) return "";
  auto colon = h.find(':');
  std::string_view host = h.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = h.substr(colon + 1);
    if (port.empty() || port.size() > 5) return "";
    for (char c : port)
      if (!std::isdigit(static_cast<unsigned char>(c))) return "";
  }
  if (host.empty() || host.size() > 253 || host.front() == '-' || host.front() == '.') return "";
  for (char c : host)
    if (!isHostChar(c)) return "";
  return std::string(host);
}

std::string httpsRedirectLocation(const std::string* hostHeader, const std::string& listenAddress, uint16_t httpsPort,
                                  std::string_view target) {
  std::string host = hostHeader ? validHostOf(*hostHeader) : "";
  if (host.empty()) host = listenAddress.empty() ? "127.0.0.1" : listenAddress;
  std::string out = "https://" + host + ":" + std::to_string(httpsPort);
  if (target.empty() || target.front() != '/') out += '/';
  static const char* hex = "0123456789ABCDEF";
  for (char c : target) {
    if (isUriChar(c)) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 15];
    }
  }
  return out;
}

void markCookiesSecure(Response& r) {
  for (auto& h : r.headers)
    if (iequals(h.name, "Set-Cookie") && h.value.find("; Secure") == std::string::npos) h.value += "; Secure";
}

Response httpsRedirect(const Request& req, uint16_t httpsPort) {
  Response r;
  r.status = 308;
  const std::string location = httpsRedirectLocation(req.header("Host"), req.local, httpsPort, req.target);
  r.set("Location", location);
  r.set("Cache-Control", "no-store");
  r.set("Content-Type", "text/plain; charset=utf-8");
  r.body = "This page is served over HTTPS: " + location + "\n";
  addSecurityHeaders(r);
  return r;
}

}  // namespace tetherd::web
