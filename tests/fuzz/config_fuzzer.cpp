// Configuration files (config/config.h): parseConfig on any bytes. An accepted configuration
// must hold the invariants the daemon relies on, and its interface patterns (user-supplied
// ECMAScript regexes) are matched against interface names the way the daemon does. The same
// bytes as the web page's persisted settings (config/runtime_settings.h, state_dir/web-settings):
// accepted ones serialize to a file that parses back to the same settings.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/runtime_settings.h"
#include "tests/fuzz/fuzz_check.h"

using namespace tetherd;

namespace {

bool absolutePath(const std::string& p) { return !p.empty() && p.front() == '/'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto s = parseRuntimeSettings(text)) {
    auto back = parseRuntimeSettings(serializeRuntimeSettings(*s));
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(*back == *s);
  }
  auto c = parseConfig(text, "fuzz.conf");
  if (!c) {
    FUZZ_CHECK(c.error().code == Errc::InvalidArgument);
    FUZZ_CHECK(c.error().message.rfind("fuzz.conf", 0) == 0);  // names the file
    return 0;
  }
  FUZZ_CHECK(absolutePath(c->controlSocket) && absolutePath(c->runDir) && absolutePath(c->stateDir));
  FUZZ_CHECK(absolutePath(c->resolvFile) && absolutePath(c->hostapdPath) && absolutePath(c->dnsmasqPath));
  FUZZ_CHECK(validIfname(c->softapInterface));
  for (const auto& name : c->upstreamPriority) FUZZ_CHECK(validIfname(name));
  for (const auto& [name, servers] : c->upstreamDns) {
    FUZZ_CHECK(validIfname(name));
    FUZZ_CHECK(servers.size() <= 8);
  }
  FUZZ_CHECK(c->rangeFirstHost >= 2 && c->rangeFirstHost <= c->rangeLastHost);
  FUZZ_CHECK(c->leaseTimeSec >= 120 && c->leaseTimeSec <= 7 * 24 * 3600);
  FUZZ_CHECK(c->startTimeoutMs >= 100 && c->stopTimeoutMs >= 100);
  for (const auto& k : c->kinds) {
    FUZZ_CHECK(k.subnet.length >= 16 && k.subnet.length <= 29);
    FUZZ_CHECK(k.subnet.address == k.subnet.network());
    FUZZ_CHECK(static_cast<uint32_t>(c->rangeLastHost) < (1u << (32 - k.subnet.length)) - 1);
  }
  // The daemon matches every new interface name against the patterns.
  IfaceKind kind;
  for (const char* name : {"usb0", "wlan0", "bt-pan", "eth0", "rndis15", "aaaaaaaaaaaaaaa"})
    (void)c->kindOf(name, kind);
  return 0;
}
