// Plain HTTP when [web] https = on: every request, whatever its method or path, gets a 308 to
// the same target on HTTPS, and nothing else is served (no page, no API, no login). The host
// in the Location is the request's Host when that is a plain name or IPv4 address (with an
// optional port, replaced); anything else (empty, several, spaces, CR/LF, '@', '/', brackets,
// over 253 bytes) gives the address the client connected to, so a Host header cannot inject
// a header or send the browser elsewhere. Pure functions, tested by exact text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "web/http/http.h"

namespace tetherd::web {

// The host part of a Host header value ("name" or "name:port" -> "name"); "" when it is not
// a valid name or IPv4 address.
std::string validHostOf(std::string_view hostHeader);

// "https://<host>:<httpsPort><target>", the target percent-encoded where it is not URI text.
// host: validHostOf(*hostHeader), else listenAddress (hostHeader may be null).
std::string httpsRedirectLocation(const std::string* hostHeader, const std::string& listenAddress, uint16_t httpsPort,
                                  std::string_view target);

// Over HTTPS: every Set-Cookie of the response gets "; Secure" (the browser then never sends
// the session cookie over plain HTTP).
void markCookiesSecure(Response& r);

// The 308 for this request (Location as above; not cacheable: turning https off must work).
Response httpsRedirect(const Request& req, uint16_t httpsPort);

}  // namespace tetherd::web
