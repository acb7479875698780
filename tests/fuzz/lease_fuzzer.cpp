// dnsmasq lease files (tether/dnsmasq.h): parseLeaseFile on any bytes, and parseLeaseLine on
// each line of them. A lease that parses, written back in dnsmasq's format, parses to the same
// lease; every line either gives a lease or an error naming it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tether/system/dnsmasq.h"

using namespace tetherd;

namespace {

std::string leaseLine(const Lease& l) {
  return std::to_string(l.expiry) + " " + l.mac + " " + l.ip.str() + " " + (l.hostname.empty() ? "*" : l.hostname) +
         " " + (l.clientId.empty() ? "*" : l.clientId);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> errors;
  std::vector<Lease> leases = parseLeaseFile(text, &errors);

  std::vector<Lease> oneByOne;
  size_t skipped = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (line.empty() || line.substr(0, 5) == "duid ") {
      ++skipped;
      continue;
    }
    auto l = parseLeaseLine(line);
    if (!l) {
      FUZZ_CHECK(!l.error().message.empty());
      continue;
    }
    FUZZ_CHECK(l->expiry >= 0);
    auto mac = normalizeMac(l->mac);
    FUZZ_CHECK(mac && *mac == l->mac);
    FUZZ_CHECK(l->hostname.size() <= kMaxLeaseHostname);
    auto again = parseLeaseLine(leaseLine(*l));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *l);
    oneByOne.push_back(*l);
  }
  FUZZ_CHECK(leases == oneByOne);
  for (const auto& e : errors) FUZZ_CHECK(e.rfind("line ", 0) == 0);
  return 0;
}
