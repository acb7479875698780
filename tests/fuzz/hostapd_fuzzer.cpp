// hostapd's control interface (softap/hostapd_protocol.h): any datagram can arrive where a
// STATUS reply, a STA reply, an OK/FAIL or an event is expected, so each datagram goes through
// every parser; the same bytes are also read as a deny_mac_file (parseMacList).
// Properties: MACs come out lower-case and valid; STA flags are single printable words; an
// event's name is its text's first word and the text has no trailing whitespace; a MAC list
// written by formatMacList reads back the same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "softap/hostapd/hostapd_protocol.h"
#include "tests/fuzz/fuzz_check.h"
#include "tether/base/ip.h"

using namespace tetherd;
using namespace tetherd::softap;

namespace {

bool canonicalMac(const std::string& m) {
  auto n = normalizeMac(m);
  return n && *n == m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  if (auto st = parseStatus(bytes)) {
    FUZZ_CHECK(!st->state.empty());
    FUZZ_CHECK(st->raw.count("state") == 1);
  }

  if (auto sta = parseStaReply(bytes)) {
    if (sta->kind == StaReplyKind::Station) {
      FUZZ_CHECK(canonicalMac(sta->station.mac));
      for (const auto& f : sta->station.flags) {
        FUZZ_CHECK(!f.empty());
        for (unsigned char c : f) FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '[' && c != ']');
      }
      FUZZ_CHECK(sta->station.connectedTimeSec >= -1);
    } else if (sta->kind == StaReplyKind::NoMore) {
      FUZZ_CHECK(bytes.empty());
    }
  }

  if (auto ev = parseEvent(bytes)) {
    FUZZ_CHECK(!ev->name.empty() && !ev->text.empty());
    FUZZ_CHECK(ev->text.rfind(ev->name, 0) == 0);
    char last = ev->text.back();
    FUZZ_CHECK(last != ' ' && last != '\t' && last != '\r' && last != '\n');
    bool sta = ev->type == HostapdEvent::Type::StaConnected || ev->type == HostapdEvent::Type::StaDisconnected;
    FUZZ_CHECK(sta == !ev->mac.empty());
    if (sta) FUZZ_CHECK(canonicalMac(ev->mac));
  }

  FUZZ_CHECK(!(isOkReply(bytes) && isFailReply(bytes)));

  if (auto macs = parseMacList(bytes)) {
    for (const auto& m : *macs) FUZZ_CHECK(canonicalMac(m));
    auto again = parseMacList(formatMacList(*macs));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *macs);
  }
  return 0;
}
