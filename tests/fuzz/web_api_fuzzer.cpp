#include "web/responses.h"
// same 32-level nesting guard first, then nlohmann's non-throwing parse); an object goes to the
// PUT /api/wifi and PUT /api/settings decoders. Properties: accepted settings serialize to a
// state file that parses back to the same settings and applies on top of the defaults; every
// Wi-Fi pair names a known field. (The state file itself is fuzzed by the config fuzzer.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/runtime_settings.h"
#include "softap/hostapd/softap_settings.h"
#include "tests/fuzz/fuzz_check.h"
#include "web/api.h"
#include "web/responses.h"

using namespace tetherd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (web::tooDeep(text)) return 0;  // the routes' guard: deeper bodies get a 400
  auto j = web::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return 0;

  if (auto pairs = web::wifiFieldsFrom(j)) {
    const auto names = softap::fieldNames();
    for (const auto& [field, value] : *pairs) {
      bool known = false;
      for (const auto& n : names) known = known || n == field;
      FUZZ_CHECK(known);
    }
  }
  static const Config defaults = defaultConfig();
  if (auto s = web::settingsFrom(j, {}, defaults)) {
    auto text2 = serializeRuntimeSettings(*s);
    auto back = parseRuntimeSettings(text2);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(*back == *s);
  }
  return 0;
}
