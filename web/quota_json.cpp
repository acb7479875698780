// Quotas on the page (issue 14): a client's quota as JSON with its reset time, and what
// /api/me tells a client about itself (api.h). Pure but for the local time zone.
#include <algorithm>
#include <ctime>

#include "config/rate_values.h"
#include "tether/core/client_quotas.h"
#include "web/api.h"

namespace tetherd::web {

std::optional<long long> quotaResetEpoch(const std::string& period, long long nowEpochSec) {
  if (period != "day" && period != "month") return std::nullopt;
  const time_t t = static_cast<time_t>(nowEpochSec);
  std::tm tm{};
  localtime_r(&t, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  if (period == "day") {
    tm.tm_mday += 1;
  } else {
    tm.tm_mday = 1;
    tm.tm_mon += 1;
  }
  tm.tm_isdst = -1;  // midnight in whatever offset holds then
  return static_cast<long long>(std::mktime(&tm));
}

json quotaJson(const QuotaView& q, long long nowEpochSec) {
  auto reset = quotaResetEpoch(q.period, nowEpochSec);
  return json{{"bytes", q.bytes},
              {"size", formatSize(q.bytes)},
              {"used", q.used},
              {"period", q.period},
              {"level", quotaLevel(q.bytes, q.used)},
              {"resetsAt", reset ? json(*reset) : json(nullptr)},
              {"resetsInSec", reset ? json(std::max(0LL, *reset - nowEpochSec)) : json(nullptr)}};
}

json meImpl(const SelfView& v, long long nowEpochSec) {
  if (!v.known) return json{{"known", false}};
  json quota = v.quota ? quotaJson(*v.quota, nowEpochSec) : json(nullptr);
  const bool reached = v.quota && quota["level"] == 2;
  // Blocked first: a blocked client would not get through whatever its quota.
  const char* reason = v.blocked ? "blocked" : reached ? "quota" : nullptr;
  return json{{"known", true},
              {"mac", v.mac},
              {"ip", v.ip},
              {"hostname", v.hostname.empty() ? json(nullptr) : json(v.hostname)},
              {"cutOff", reason != nullptr},
              {"reason", reason ? json(reason) : json(nullptr)},
              {"quota", quota}};
}

}  // namespace tetherd::web
