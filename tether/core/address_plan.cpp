#include "tether/core/address_plan.h"

namespace tetherd {

namespace {
bool isFree(const Ipv4Prefix& p, const std::vector<Ipv4Prefix>& inUse) {
  for (const auto& u : inUse)
    if (p.overlaps(u)) return false;
  return true;
}
}  // namespace

std::optional<Ipv4Prefix> chooseSubnet(const Ipv4Prefix& preferred, const std::vector<Ipv4Prefix>& inUse) {
  Ipv4Prefix want{preferred.network(), preferred.length};
  if (isFree(want, inUse)) return want;
  const int len = preferred.length;
  const uint32_t step = len >= 32 ? 1 : (1u << (32 - len));
  // Walk each private range from the preferred subnet onwards, then wrap around.
  const Ipv4Prefix ranges[] = {*Ipv4Prefix::parse("192.168.0.0/16"), *Ipv4Prefix::parse("172.16.0.0/12"),
                               *Ipv4Prefix::parse("10.0.0.0/8")};
  for (const auto& range : ranges) {
    if (range.length > len) continue;
    const uint64_t count = uint64_t{1} << (len - range.length);
    uint64_t start = range.contains(want.address) ? (want.address.value - range.network().value) / step : 0;
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t idx = (start + i) % count;
      Ipv4Prefix cand{Ipv4Address{static_cast<uint32_t>(range.network().value + idx * step)}, len};
      if (isFree(cand, inUse)) return cand;
    }
  }
  return std::nullopt;
}

Ipv4Prefix downstreamAddress(const Ipv4Prefix& subnet) { return Ipv4Prefix{subnet.host(1), subnet.length}; }

}  // namespace tetherd
