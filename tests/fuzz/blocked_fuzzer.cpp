// The blocked-clients file (state_dir/blocked-clients) as the manager loads it at start
// (tether/core/clients/blocked_clients.h: parseBlockedClients on the bytes of the file, at most 64 KiB,
// with the manager's limit of 256; and with a limit of 2, to reach the limit with short inputs).
// Properties: every MAC loaded is one blockClient would accept (normalised, unicast) and the
// firewall takes (fw::validate); never more than the limit; each refused line is named once,
// in order, with a one-line cause; written back with formatBlockedClients the set reads back
// the same with nothing refused.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "tether/base/ip.h"
#include "tether/core/clients/blocked_clients.h"
#include "tether/system/netfilter/firewall.h"

using namespace tetherd;

namespace {

void check(std::string_view text, size_t limit) {
  BlockedClientsFile f = parseBlockedClients(text, limit);
  FUZZ_CHECK(f.macs.size() <= limit);
  for (const auto& mac : f.macs) {
    auto n = normalizeMac(mac);
    FUZZ_CHECK(n && *n == mac && !isMulticastMac(mac));
  }
  FirewallState state;
  state.blockedMacs = f.macs;
  FUZZ_CHECK(fw::validate(state).ok());

  int lines = text.empty() ? 0 : 1;
  for (char c : text) lines += c == '\n';
  int previous = 0;
  for (const auto& bad : f.bad) {
    FUZZ_CHECK(bad.line > previous && bad.line <= lines);
    previous = bad.line;
    FUZZ_CHECK(!bad.cause.empty() && bad.cause.size() <= 80);
    for (char c : bad.cause) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  }

  auto again = parseBlockedClients(formatBlockedClients(f.macs), limit);
  FUZZ_CHECK(again.macs == f.macs && again.bad.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check(text, 256);
  check(text, 2);
  return 0;
}
