// Quotas (issue 14 point 3): byte quotas per client (MAC) and per downstream (interface),
// both directions together, each for a period: a day, a month or in total. Kept in
// state_dir/client-quotas (0600, replaced atomically, read back at start). Pure.
//
// File lines (one quota each; the first form is the old one, a daily client quota):
//   <mac> <bytes>
//   <mac> <bytes> day|month|total [since=<YYYY-MM-DD>+<bytes>]
//   downstream <interface> <bytes> day|month|total [since=<YYYY-MM-DD>+<bytes>]
// Periods follow the usage history's local calendar: a day starts at local midnight, a month
// on `month start` (1-28) of each month at local midnight, and "total" runs from when the
// quota was set. `since` is the last reset (or, for total, when it was set): the quota
// counts from that day on, less the bytes that day had already moved at that moment.
// The cut-off is the kernel's (FirewallState: an xt_quota match holding the bytes left); the
// alerts (80 % and reached) come from the once-a-minute counter reads, so they may lag by up
// to a minute while the cut-off itself holds at the byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/result.h"

namespace tetherd {

class UsageHistory;

enum class QuotaPeriod : uint8_t { Day, Month, Total };
std::string_view periodName(QuotaPeriod p);                // "day", "month", "total"
std::optional<QuotaPeriod> parsePeriod(std::string_view s);  // also "daily", "monthly"

struct Quota {
  uint64_t bytes = 0;
  QuotaPeriod period = QuotaPeriod::Day;
  int since = 0;           // day (localDay) of the last reset, 0: never reset
  uint64_t sinceBase = 0;  // what `since` had already moved at the reset
  bool operator==(const Quota&) const = default;
};

struct Quotas {
  std::map<std::string, Quota> clients;      // normalised MAC -> quota
  std::map<std::string, Quota> downstreams;  // interface -> quota
  bool empty() const { return clients.empty() && downstreams.empty(); }
  bool operator==(const Quotas&) const = default;
};

constexpr size_t kMaxClientQuotas = 1024;
constexpr unsigned kQuotaWarnPercent = 80;

struct ClientQuotasFile {
  Quotas quotas;
  struct Bad {
    int line = 0;
    std::string cause;
    bool operator==(const Bad&) const = default;
  };
  std::vector<Bad> bad;
};
ClientQuotasFile parseClientQuotas(std::string_view text, size_t maxQuotas);
std::string formatClientQuotas(const Quotas& quotas);

// `client quota <mac> <size> [<period>]|off|reset`: the MAC, and the size (0 for off and
// reset); InvalidArgument naming the field (mac, quota, period) and the cause.
struct QuotaRequest {
  std::string key;  // normalised MAC or interface name
  uint64_t bytes = 0;
  QuotaPeriod period = QuotaPeriod::Day;
  bool reset = false;  // "reset": the period starts again now
  bool operator==(const QuotaRequest&) const = default;
};
Result<QuotaRequest> checkClientQuota(const std::string& mac, const std::string& size, const std::string& period = "");
// `tether quota <interface> ...`: the same for a downstream (field "interface").
Result<QuotaRequest> checkDownstreamQuota(const std::string& ifname, const std::string& size, const std::string& period = "");

// What is left of `quota` after `used` bytes (0 when used up).
inline uint64_t quotaRemaining(uint64_t quota, uint64_t used) { return used >= quota ? 0 : quota - used; }

// The alert level a quota is at: 0 below 80 %, 1 from 80 %, 2 at its quota (less than one
// GSO aggregate, 64 KiB or 5 % of the quota, left: xt_quota cuts that much short).
int quotaLevel(uint64_t quota, uint64_t used);

// The first day of the period `q` is in on `today` (a reset inside it moves it later).
// monthStart: the day of the month months start on (1-28).
int quotaPeriodStart(const Quota& q, int today, int monthStart);
// The first day after that period (when it is whole again); 0 for total (never).
int quotaPeriodEnd(const Quota& q, int today, int monthStart);

// What each quota has used in its period, from the usage history (clients: their MAC's
// records on every downstream; downstreams: every client's records on it).
struct QuotaUse {
  std::map<std::string, uint64_t> clients, downstreams;
  bool operator==(const QuotaUse&) const = default;
};
QuotaUse quotaUse(const Quotas& quotas, const UsageHistory& history, int today, int monthStart);
// What the scope moved on `day` (for a reset's base): a MAC, or "" and a downstream.
uint64_t usedOnDay(const UsageHistory& history, int day, const std::string& mac, const std::string& downstream);

// What the quotas are figured from: the local day and the usage history, its counters just
// read (ClientUsage).
struct UsageView {
  int today = 0;
  const UsageHistory* history = nullptr;
};

// Each quota with what it used in its period, for `client quotas`, `tether quotas`, the page.
struct QuotaRow {
  std::string key;  // MAC, or interface when downstream
  bool downstream = false;
  Quota quota;
  uint64_t used = 0;
  int level = 0;   // quotaLevel
  int resets = 0;  // the day it is whole again (quotaPeriodEnd); 0: never (total)
  bool operator==(const QuotaRow&) const = default;
};
std::vector<QuotaRow> quotaRows(const Quotas& quotas, const QuotaUse& use, int today, int monthStart);
// "quota=<bytes> period=<p> used=<n> remaining=<n> resets=<YYYY-MM-DD>|never"
std::string describeQuotaRow(const QuotaRow& row);

// The alerts to send: for each quota whose level went up since `state` (updated in place; a
// quota that went is forgotten), one alert per level crossed (so 0 -> 2 gives both). A new
// period (or a reset) starts the levels again from 0; `rolled` says one did (the kernel's
// remaining bytes must be planned again).
struct QuotaAlert {
  std::string key;          // MAC, or interface when downstream
  bool downstream = false;
  QuotaPeriod period = QuotaPeriod::Day;
  int level = 0;  // 1: 80 %, 2: reached
  uint64_t used = 0, quota = 0;
  bool operator==(const QuotaAlert&) const = default;
};
struct QuotaAlertState {
  struct Told {
    int start = 0;  // the period the level was told in
    int level = 0;
    bool operator==(const Told&) const = default;
  };
  std::map<std::string, Told> told;  // "<mac>" or "downstream <if>" -> what was told
  bool operator==(const QuotaAlertState&) const = default;
};
struct QuotaAlerts {
  std::vector<QuotaAlert> alerts;
  bool rolled = false;
};
QuotaAlerts quotaAlerts(const Quotas& quotas, const QuotaUse& use, int today, int monthStart, QuotaAlertState& state);
// state_dir/quota-alerts, so a restart does not tell again what was told: "<key words>
// <YYYY-MM-DD> <level>" per line. Bad lines are skipped (counted in `bad`).
std::string formatQuotaAlertState(const QuotaAlertState& s);
QuotaAlertState parseQuotaAlertState(std::string_view text, int* bad = nullptr);

}  // namespace tetherd
