// Quotas (issue 14 point 3): a daily byte quota per client (MAC), both directions together,
// kept in state_dir/client-quotas (0600, replaced atomically, read back at start). Pure.
//
// A client-quotas line is "<mac> <bytes>". The day is the usage history's (local calendar
// day): at local midnight today's usage starts from zero, so the quota is whole again.
// The cut-off is the kernel's (FirewallState::quotas: an xt_quota match with the bytes left
// today); the alerts (80 % and reached) come from the once-a-minute counter reads, so they may
// lag by up to a minute while the cut-off itself holds at the byte. Per client only for now
// (per-downstream quotas can come later).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tether/base/result.h"

namespace tetherd {

using ClientQuotas = std::map<std::string, uint64_t>;  // normalised MAC -> bytes per day

constexpr size_t kMaxClientQuotas = 1024;
constexpr unsigned kQuotaWarnPercent = 80;

struct ClientQuotasFile {
  ClientQuotas quotas;
  struct Bad {
    int line = 0;
    std::string cause;
    bool operator==(const Bad&) const = default;
  };
  std::vector<Bad> bad;
};
ClientQuotasFile parseClientQuotas(std::string_view text, size_t maxQuotas);
std::string formatClientQuotas(const ClientQuotas& quotas);

// `client quota <mac> <size>|off`: (mac, bytes; 0 = off), or InvalidArgument naming the field
// (mac, quota) and the cause.
Result<std::pair<std::string, uint64_t>> checkClientQuota(const std::string& mac, const std::string& size);

// What is left of `quota` after `used` bytes (0 when used up).
inline uint64_t quotaRemaining(uint64_t quota, uint64_t used) { return used >= quota ? 0 : quota - used; }

// The alert level a client is at: 0 below 80 %, 1 from 80 %, 2 at its quota (less than one
// GSO aggregate, 64 KiB or 5 % of the quota, left: xt_quota cuts that much short).
int quotaLevel(uint64_t quota, uint64_t used);

// The alerts to send: for each client with a quota whose level went up since `announced`
// (updated in place; a client without a quota is forgotten), one (mac, level) per level
// crossed (so 0 -> 2 gives both). `day` resets `announced` when it is not `announcedDay`.
struct QuotaAlert {
  std::string mac;
  int level = 0;  // 1: 80 %, 2: reached
  uint64_t used = 0, quota = 0;
  bool operator==(const QuotaAlert&) const = default;
};
struct QuotaAlertState {
  int day = 0;
  std::map<std::string, int> announced;  // mac -> level already announced today
};
std::vector<QuotaAlert> quotaAlerts(const ClientQuotas& quotas, const std::map<std::string, uint64_t>& usedToday, int day,
                                    QuotaAlertState& state);

}  // namespace tetherd
