// dnsmasq lease files (tether/system/dnsmasq.h): parseLeaseFile on any bytes, and the line
// functions on each line of them. Every line is exactly one of: skipped (empty, duid), an IPv6
// lease, an IPv4 lease, a bad line with a cause. A lease that parses, written back in dnsmasq's
// format (formatLeaseLine), parses to the same lease.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tether/system/dnsmasq.h"

using namespace tetherd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  LeaseFile file = parseLeaseFile(text);

  std::vector<Lease> oneByOne;
  size_t ipv6 = 0, bad = 0, lineNo = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    ++lineNo;
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (line.empty() || line.substr(0, 5) == "duid ") continue;
    if (isIpv6LeaseLine(line)) {
      ++ipv6;
      continue;
    }
    auto l = parseLeaseLine(line);
    if (!l) {
      FUZZ_CHECK(!l.error().message.empty());
      FUZZ_CHECK(bad < file.bad.size() && file.bad[bad].number == lineNo && file.bad[bad].cause == l.error().message);
      ++bad;
      continue;
    }
    FUZZ_CHECK(l->expiry >= 0);
    FUZZ_CHECK(l->hwType >= 0 && l->hwType <= 255);
    FUZZ_CHECK(l->hwAddr.size() <= kMaxLeaseHwAddr * 3);
    if (!l->mac.empty()) {
      auto mac = normalizeMac(l->mac);
      FUZZ_CHECK(mac && *mac == l->mac && l->mac == l->hwAddr);
    }
    FUZZ_CHECK(l->hostname.size() <= kMaxLeaseHostname);
    auto again = parseLeaseLine(formatLeaseLine(*l));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *l);
    oneByOne.push_back(*l);
  }
  FUZZ_CHECK(file.leases == oneByOne);
  FUZZ_CHECK(file.ipv6Leases == ipv6);
  FUZZ_CHECK(file.bad.size() == bad);
  return 0;
}
