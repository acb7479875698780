// Quotas on the page (issue 14): a client's quota as JSON with its reset time, and what
// /api/me tells a client about itself (api.h). Pure but for the local time zone.
#include <algorithm>
#include <ctime>

#include "config/rate_values.h"
#include "tether/core/clients/client_quotas.h"
#include "tether/core/clients/usage_history.h"
#include "web/api.h"

namespace tetherd::web {

long long localMidnight(int day) {
  // dayText is the civil date of the day; mktime finds its midnight in the local zone.
  const std::string text = dayText(day);
  std::tm tm{};
  tm.tm_year = std::stoi(text.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(text.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(text.substr(8, 2));
  tm.tm_isdst = -1;  // midnight in whatever offset holds then
  return static_cast<long long>(std::mktime(&tm));
}

json quotaJson(const QuotaView& q, long long nowEpochSec) {
  std::optional<long long> reset;
  if (q.resetsDay != 0) reset = localMidnight(q.resetsDay);
  return json{{"bytes", q.bytes},
              {"size", formatSize(q.bytes)},
              {"used", q.used},
              {"period", q.period},
              {"level", quotaLevel(q.bytes, q.used)},
              {"resetsOn", q.resetsDay != 0 ? json(dayText(q.resetsDay)) : json(nullptr)},  // tetherd's calendar
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
