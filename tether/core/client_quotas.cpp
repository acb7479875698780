#include "tether/core/client_quotas.h"

#include <algorithm>
#include <sstream>

#include "config/rate_values.h"
#include "tether/base/ip.h"

namespace tetherd {

Result<std::pair<std::string, uint64_t>> checkClientQuota(const std::string& mac, const std::string& size) {
  auto m = normalizeMac(mac);
  if (!m) return makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 40) + "' is not a MAC address");
  if (isMulticastMac(*m)) return makeError(Errc::InvalidArgument, "mac: " + *m + " is a multicast address");
  uint64_t bytes = 0;
  if (size != "off") {
    if (auto cause = parseSize(size, bytes); !cause.empty()) return makeError(Errc::InvalidArgument, "quota: " + cause);
  }
  return std::make_pair(*m, bytes);
}

ClientQuotasFile parseClientQuotas(std::string_view text, size_t maxQuotas) {
  ClientQuotasFile out;
  int number = 0;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    ++number;
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.empty() || w[0][0] == '#') continue;
    if (w.size() != 2) {
      out.bad.push_back({number, "expected \"<mac> <bytes>\""});
      continue;
    }
    const bool digits = !w[1].empty() && w[1].size() <= 16 && w[1].find_first_not_of("0123456789") == std::string::npos;
    auto q = checkClientQuota(w[0], digits ? w[1] + "B" : w[1]);
    if (!q || q->second == 0) {
      out.bad.push_back({number, q ? "quota: 0 is not a quota" : q.error().message});
      continue;
    }
    if (out.quotas.count(q->first)) {
      out.bad.push_back({number, "mac: " + q->first + " given twice"});
      continue;
    }
    if (out.quotas.size() >= maxQuotas) {
      out.bad.push_back({number, "more than " + std::to_string(maxQuotas) + " quotas"});
      continue;
    }
    out.quotas.emplace(q->first, q->second);
  }
  return out;
}

std::string formatClientQuotas(const ClientQuotas& quotas) {
  std::string out;
  for (const auto& [mac, bytes] : quotas) out += mac + " " + std::to_string(bytes) + "\n";
  return out;
}

int quotaLevel(uint64_t quota, uint64_t used) {
  if (quota == 0) return 0;
  // Reached also when less than one GSO aggregate (64 KiB, at most 5 % of the quota) is left:
  // xt_quota charges whole skbs and drops the one that does not fit, so the bytes counted
  // stop short of the quota by up to that much once the client is cut off.
  const uint64_t slack = std::min<uint64_t>(64 * 1024, quota / 20);
  if (used >= quota || quota - used < slack) return 2;
  // At least 80 % used: at most 20 % left (no overflow: quotas are at most 1PB).
  return (quota - used) * 100 <= quota * (100 - kQuotaWarnPercent) ? 1 : 0;
}

std::vector<QuotaAlert> quotaAlerts(const ClientQuotas& quotas, const std::map<std::string, uint64_t>& usedToday, int day,
                                    QuotaAlertState& state) {
  if (state.day != day) {
    state.day = day;
    state.announced.clear();
  }
  std::erase_if(state.announced, [&](const auto& kv) { return quotas.count(kv.first) == 0; });
  std::vector<QuotaAlert> out;
  for (const auto& [mac, quota] : quotas) {
    auto u = usedToday.find(mac);
    const uint64_t used = u == usedToday.end() ? 0 : u->second;
    const int level = quotaLevel(quota, used);
    int& told = state.announced[mac];
    if (level < told) told = level;  // the quota was raised: the alerts may come again
    for (int l = told + 1; l <= level; ++l) out.push_back({mac, l, used, quota});
    told = level;
  }
  return out;
}

}  // namespace tetherd
