// resolv.conf as the manager reads it for an upstream without configured DNS servers
// (tether/core/upstream.h: parseResolvConf on the bytes of `resolv_file`, at most 64 KiB).
// Properties: at most 8 servers; none is the host itself (127/8, 0/8); each is written in the
// input as it is printed; written back as "nameserver <a>" lines they parse to the same list;
// a CRLF file reads as the same file with LF.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tether/core/upstream.h"

using namespace tetherd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<Ipv4Address> servers = parseResolvConf(text);

  FUZZ_CHECK(servers.size() <= 8);
  std::string back;
  for (const auto& a : servers) {
    FUZZ_CHECK((a.value >> 24) != 127 && (a.value >> 24) != 0);
    FUZZ_CHECK(text.find(a.str()) != std::string_view::npos);
    back += "nameserver " + a.str() + "\n";
  }
  FUZZ_CHECK(parseResolvConf(back) == servers);

  // The same lines ended with CRLF read the same (a file written on another system).
  std::string crlf;
  for (char c : text) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  FUZZ_CHECK(parseResolvConf(crlf) == servers);
  return 0;
}
