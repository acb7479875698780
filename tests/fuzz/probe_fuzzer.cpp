// The upstream health probe's answers (tether/system/probe_parse.h): whatever a probe target
// or a DNS server sends. Properties: the HTTP verdict is decided on at most kMaxProbeHeader
// bytes (the same with anything appended past that); a portal URL is printable and bounded;
// a 204 is never a portal; a DNS answer holds at most 16 addresses; the same input gives the
// same verdict. The first two bytes choose the DNS id.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "tether/system/probe_parse.h"

using namespace tetherd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const probe::Url probed = *parseHttpUrl("http://probe.example/generate_204");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto v = probe::judgeHttpAnswer(text, probed);
  FUZZ_CHECK(v.portalUrl.size() <= probe::kMaxPortalUrl);
  for (char c : v.portalUrl) FUZZ_CHECK(c > 0x20 && c < 0x7f);
  FUZZ_CHECK(v.kind != probe::HttpVerdict::Kind::Portal || !v.portalUrl.empty());
  FUZZ_CHECK(v.kind != probe::HttpVerdict::Kind::Validated || v.status == 204);
  if (size > probe::kMaxProbeHeader) {
    FUZZ_CHECK(probe::httpAnswerComplete(text));
    auto again = probe::judgeHttpAnswer(std::string(text) + "HTTP/1.1 204 OK\r\n\r\n", probed);
    FUZZ_CHECK(again.kind == v.kind && again.status == v.status);
  }
  if (size >= 2) {
    uint16_t id = static_cast<uint16_t>((data[0] << 8) | data[1]);
    auto a = probe::parseDnsAnswer(data, size, id);
    if (a) FUZZ_CHECK(a->size() <= 16);
    auto b = probe::parseDnsAnswer(data, size, id);
    FUZZ_CHECK(a.has_value() == b.has_value() && (!a || *a == *b));
    auto a6 = probe::parseDnsAnswer6(data, size, id);  // the same answer's AAAA records
    FUZZ_CHECK(a6.has_value() == a.has_value() && (!a6 || a6->size() <= 16));
  }
  return 0;
}
