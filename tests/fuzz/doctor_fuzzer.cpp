// The nftables facts `tether doctor` reads (tether/core/doctor.h): the bytes before the first
// NUL as libnftables' JSON ruleset (nftBlockers), the bytes after it as its `-a` text listing
// (nftRuleTexts); without a NUL the same bytes are both. Both parsers and the walk take any
// bytes; a blocker names its table and chain, a rule number or the policy, and the traffic it
// stops; the walk is bounded (loops and deep jumps end undecided); the same input gives the same
// answer; every line diagnose() makes is one line without control bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tether/core/doctor.h"

using namespace tetherd;
using namespace tetherd::doctor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view json = input.substr(0, nul);
  const std::string_view text = nul == std::string_view::npos ? input : input.substr(nul + 1);

  const auto texts = nftRuleTexts(text);
  for (const auto& [key, rule] : texts) {
    FUZZ_CHECK(!std::get<2>(key).empty());
    FUZZ_CHECK(!rule.empty() && rule.find('\n') == std::string::npos);
  }

  const std::vector<Flow> flows = {Flow{"usb0", "eth0", Ipv4Prefix::parse("192.168.42.0/24")}, Flow{"wlan0", std::nullopt, std::nullopt},
                                   Flow{}};
  auto blockers = nftBlockers(json, texts, flows);
  if (blockers) {
    for (const auto& b : *blockers) {
      FUZZ_CHECK(b.where.starts_with("nftables table "));
      FUZZ_CHECK(b.rule >= 0);
      FUZZ_CHECK(b.rule != 0 || b.text == "policy drop");
      FUZZ_CHECK(b.verdict == "drops" || b.verdict == "rejects");
      FUZZ_CHECK(!b.traffic.empty());
    }
    auto again = nftBlockers(json, texts, flows);
    FUZZ_CHECK(again && again->size() == blockers->size());
  } else {
    FUZZ_CHECK(blockers.error().code == Errc::InvalidArgument);
  }

  Facts f;
  f.tethering = true;
  f.tethered = {"usb0"};
  f.subnets = {{"usb0", *Ipv4Prefix::parse("192.168.42.0/24")}};
  f.upstream = "eth0";
  f.ipForward = true;
  f.nftRuleset = std::string(json);
  f.nftText = std::string(text);
  for (const auto& line : diagnose(f)) {
    FUZZ_CHECK(line.starts_with("problem ") || line.starts_with("unchecked "));
    for (unsigned char c : line) FUZZ_CHECK(c >= 0x20 && c != 0x7f);
  }
  return 0;
}
