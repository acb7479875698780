// The health probes' wire formats, pure (no I/O): what an upstream's DNS server and the probe's
// web server answer is hostile input. Everything here is bounded: the HTTP answer is judged on
// at most kMaxProbeHeader bytes of header, the DNS answer on one datagram; garbage is a failure,
// never a crash (tests/fuzz/probe_fuzzer.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/http_url.h"
#include "tether/base/ip.h"
#include "tether/base/ip6.h"

namespace tetherd::probe {

using Url = HttpUrl;

constexpr size_t kMaxProbeHeader = 8 * 1024;  // a longer header is a failure, read no further
constexpr size_t kMaxPortalUrl = 512;

// The request the HTTP probe sends.
std::string httpRequest(const Url& url);

// What the answer means.
struct HttpVerdict {
  enum class Kind { Validated, Portal, Failed } kind = Kind::Failed;
  int status = 0;
  std::string portalUrl;  // Portal: where the portal is (Location, or the probe URL for a 200)
  std::string why;        // Failed/Portal: one line for the log and `upstream list`
};
// The bytes read so far are enough to decide: the header is complete, or too long.
bool httpAnswerComplete(std::string_view bytes);
// 204 validates; a redirect (301/302/303/307/308 with a Location) or a 200 that is not
// explicitly empty is a captive portal; anything else (another status, an incomplete or
// malformed header, a header over kMaxProbeHeader) is a failure.
HttpVerdict judgeHttpAnswer(std::string_view bytes, const Url& probed);

// DNS: a query for the A records of `name` (recursion desired; AAAA with kTypeAaaa), and the
// addresses of a response to it (nullopt: not a valid answer to that query: wrong id, not a
// response, an error code, truncated or malformed).
constexpr uint16_t kTypeA = 1, kTypeAaaa = 28;
std::vector<uint8_t> dnsQuery(uint16_t id, std::string_view name, uint16_t type = kTypeA);
std::optional<std::vector<Ipv4Address>> parseDnsAnswer(const uint8_t* data, size_t size, uint16_t id);
// The AAAA records of a response (a probe over IPv6).
std::optional<std::vector<Ipv6Address>> parseDnsAnswer6(const uint8_t* data, size_t size, uint16_t id);

}  // namespace tetherd::probe
