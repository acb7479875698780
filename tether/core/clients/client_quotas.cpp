#include "tether/core/clients/client_quotas.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "config/rate_values.h"
#include "tether/base/ip.h"
#include "tether/core/clients/usage_history.h"

namespace tetherd {

namespace {

constexpr std::string_view kDownstreamWord = "downstream";

Result<QuotaRequest> checkSize(QuotaRequest r, const std::string& size, const std::string& period) {
  if (size == "off" || size == "reset") {
    if (!period.empty()) return makeError(Errc::InvalidArgument, "period: not taken with " + size);
    r.reset = size == "reset";
    return r;
  }
  if (auto cause = parseSize(size, r.bytes); !cause.empty()) return makeError(Errc::InvalidArgument, "quota: " + cause);
  if (!period.empty()) {
    auto p = parsePeriod(period);
    if (!p) return makeError(Errc::InvalidArgument, "period: '" + period.substr(0, 20) + "' is not day, month or total");
    r.period = *p;
  }
  return r;
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

// "since=<YYYY-MM-DD>+<bytes>"
bool parseSince(std::string_view s, Quota& q) {
  constexpr std::string_view kSince = "since=";
  if (s.substr(0, kSince.size()) != kSince) return false;
  s.remove_prefix(kSince.size());
  const auto plus = s.find('+');
  if (plus == std::string_view::npos) return false;
  auto day = parseDay(s.substr(0, plus));
  auto base = s.substr(plus + 1);
  if (!day || base.empty() || base.size() > 19 || base.find_first_not_of("0123456789") != std::string_view::npos) return false;
  q.since = *day;
  q.sinceBase = std::stoull(std::string(base));
  return true;
}

std::string formatQuota(const Quota& q) {
  std::string s = std::to_string(q.bytes) + " " + std::string(periodName(q.period));
  if (q.since != 0) s += " since=" + dayText(q.since) + "+" + std::to_string(q.sinceBase);
  return s;
}

std::string alertKey(const std::string& key, bool downstream) {
  return downstream ? std::string(kDownstreamWord) + " " + key : key;
}

}  // namespace

std::string_view periodName(QuotaPeriod p) {
  switch (p) {
    case QuotaPeriod::Day: return "day";
    case QuotaPeriod::Month: return "month";
    case QuotaPeriod::Total: return "total";
  }
  return "day";
}

std::optional<QuotaPeriod> parsePeriod(std::string_view s) {
  if (s == "day" || s == "daily") return QuotaPeriod::Day;
  if (s == "month" || s == "monthly") return QuotaPeriod::Month;
  if (s == "total") return QuotaPeriod::Total;
  return std::nullopt;
}

Result<QuotaRequest> checkClientQuota(const std::string& mac, const std::string& size, const std::string& period) {
  auto m = normalizeMac(mac);
  if (!m) return makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 40) + "' is not a MAC address");
  if (isMulticastMac(*m)) return makeError(Errc::InvalidArgument, "mac: " + *m + " is a multicast address");
  return checkSize(QuotaRequest{*m}, size, period);
}

Result<QuotaRequest> checkDownstreamQuota(const std::string& ifname, const std::string& size, const std::string& period) {
  if (!validIfname(ifname)) return makeError(Errc::InvalidArgument, "interface: '" + ifname.substr(0, 40) + "' is not an interface name");
  return checkSize(QuotaRequest{ifname}, size, period);
}

ClientQuotasFile parseClientQuotas(std::string_view text, size_t maxQuotas) {
  ClientQuotasFile out;
  int number = 0;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    ++number;
    auto w = words(line);
    if (w.empty() || w[0][0] == '#') continue;
    const bool downstream = w[0] == kDownstreamWord;
    if (downstream) w.erase(w.begin());
    if (w.size() < 2 || w.size() > 4) {
      out.bad.push_back({number, downstream ? "expected \"downstream <interface> <bytes> <period>\"" : "expected \"<mac> <bytes> [<period>]\""});
      continue;
    }
    const bool digits = !w[1].empty() && w[1].size() <= 16 && w[1].find_first_not_of("0123456789") == std::string::npos;
    const std::string size = digits ? w[1] + "B" : w[1];
    const std::string period = w.size() > 2 ? w[2] : "";
    auto q = downstream ? checkDownstreamQuota(w[0], size, period) : checkClientQuota(w[0], size, period);
    if (!q || q->bytes == 0) {
      out.bad.push_back({number, q ? "quota: 0 is not a quota" : q.error().message});
      continue;
    }
    Quota quota{q->bytes, q->period};
    if (w.size() == 4 && !parseSince(w[3], quota)) {
      out.bad.push_back({number, "since: '" + w[3].substr(0, 40) + "' is not since=<YYYY-MM-DD>+<bytes>"});
      continue;
    }
    auto& into = downstream ? out.quotas.downstreams : out.quotas.clients;
    if (into.count(q->key)) {
      out.bad.push_back({number, (downstream ? "interface: " : "mac: ") + q->key + " given twice"});
      continue;
    }
    if (out.quotas.clients.size() + out.quotas.downstreams.size() >= maxQuotas) {
      out.bad.push_back({number, "more than " + std::to_string(maxQuotas) + " quotas"});
      continue;
    }
    into.emplace(q->key, quota);
  }
  return out;
}

std::string formatClientQuotas(const Quotas& quotas) {
  std::string out;
  for (const auto& [mac, q] : quotas.clients) out += mac + " " + formatQuota(q) + "\n";
  for (const auto& [ifname, q] : quotas.downstreams) out += std::string(kDownstreamWord) + " " + ifname + " " + formatQuota(q) + "\n";
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

namespace {

// The month's first day on or before `today` (monthStart clamped to 1-28).
int monthStartOn(int today, int monthStart) {
  monthStart = std::clamp(monthStart, 1, 28);
  const std::string t = dayText(today);  // YYYY-MM-DD
  int y = std::stoi(t.substr(0, 4)), m = std::stoi(t.substr(5, 2));
  const int d = std::stoi(t.substr(8, 2));
  if (d < monthStart && --m == 0) {
    m = 12;
    --y;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, monthStart);
  return parseDay(buf).value_or(today);
}

int calendarStart(const Quota& q, int today, int monthStart) {
  switch (q.period) {
    case QuotaPeriod::Day: return today;
    case QuotaPeriod::Month: return monthStartOn(today, monthStart);
    case QuotaPeriod::Total: return q.since;
  }
  return today;
}

}  // namespace

int quotaPeriodStart(const Quota& q, int today, int monthStart) {
  return std::max(calendarStart(q, today, monthStart), q.since);
}

int quotaPeriodEnd(const Quota& q, int today, int monthStart) {
  switch (q.period) {
    case QuotaPeriod::Day: return today + 1;
    case QuotaPeriod::Month: return monthStartOn(monthStartOn(today, monthStart) + 31, monthStart);
    case QuotaPeriod::Total: return 0;
  }
  return 0;
}

QuotaUse quotaUse(const Quotas& quotas, const UsageHistory& history, int today, int monthStart) {
  QuotaUse use;
  std::map<std::string, int> clientFrom, downstreamFrom;
  for (const auto& [mac, q] : quotas.clients) {
    clientFrom[mac] = quotaPeriodStart(q, today, monthStart);
    use.clients[mac] = 0;
  }
  for (const auto& [d, q] : quotas.downstreams) {
    downstreamFrom[d] = quotaPeriodStart(q, today, monthStart);
    use.downstreams[d] = 0;
  }
  if (quotas.empty()) return use;
  for (const auto& [k, b] : history.records()) {
    if (auto c = clientFrom.find(k.mac); c != clientFrom.end() && k.day >= c->second) use.clients[k.mac] += b.rx + b.tx;
    if (auto d = downstreamFrom.find(k.downstream); d != downstreamFrom.end() && k.day >= d->second)
      use.downstreams[k.downstream] += b.rx + b.tx;
  }
  // A reset inside the period: what its day had moved before it does not count.
  auto lessBase = [&](const std::map<std::string, Quota>& qs, std::map<std::string, uint64_t>& used, const std::map<std::string, int>& from) {
    for (const auto& [key, q] : qs) {
      if (q.since == 0 || q.since != from.at(key)) continue;
      auto& u = used[key];
      u = u > q.sinceBase ? u - q.sinceBase : 0;
    }
  };
  lessBase(quotas.clients, use.clients, clientFrom);
  lessBase(quotas.downstreams, use.downstreams, downstreamFrom);
  return use;
}

uint64_t usedOnDay(const UsageHistory& history, int day, const std::string& mac, const std::string& downstream) {
  uint64_t sum = 0;
  for (auto it = history.records().lower_bound(UsageHistory::Key{day, "", ""});
       it != history.records().end() && it->first.day == day; ++it) {
    if (mac.empty() ? it->first.downstream == downstream : it->first.mac == mac) sum += it->second.rx + it->second.tx;
  }
  return sum;
}

std::vector<QuotaRow> quotaRows(const Quotas& quotas, const QuotaUse& use, int today, int monthStart) {
  std::vector<QuotaRow> out;
  auto walk = [&](const std::map<std::string, Quota>& qs, const std::map<std::string, uint64_t>& used, bool downstream) {
    for (const auto& [key, q] : qs) {
      auto u = used.find(key);
      const uint64_t bytes = u == used.end() ? 0 : u->second;
      out.push_back({key, downstream, q, bytes, quotaLevel(q.bytes, bytes), quotaPeriodEnd(q, today, monthStart)});
    }
  };
  walk(quotas.clients, use.clients, false);
  walk(quotas.downstreams, use.downstreams, true);
  return out;
}

std::string describeQuotaRow(const QuotaRow& row) {
  return "quota=" + std::to_string(row.quota.bytes) + " period=" + std::string(periodName(row.quota.period)) +
         " used=" + std::to_string(row.used) + " remaining=" + std::to_string(quotaRemaining(row.quota.bytes, row.used)) +
         " resets=" + (row.resets == 0 ? std::string("never") : dayText(row.resets));
}

QuotaAlerts quotaAlerts(const Quotas& quotas, const QuotaUse& use, int today, int monthStart, QuotaAlertState& state) {
  QuotaAlerts out;
  std::map<std::string, QuotaAlertState::Told> next;
  auto walk = [&](const std::map<std::string, Quota>& qs, const std::map<std::string, uint64_t>& used, bool downstream) {
    for (const auto& [key, q] : qs) {
      const std::string k = alertKey(key, downstream);
      const int start = quotaPeriodStart(q, today, monthStart);
      auto u = used.find(key);
      const uint64_t bytes = u == used.end() ? 0 : u->second;
      const int level = quotaLevel(q.bytes, bytes);
      QuotaAlertState::Told told;
      if (auto t = state.told.find(k); t != state.told.end()) {
        if (t->second.start != start) out.rolled = true;  // a new period, or a reset
        else told = t->second;
      }
      if (level < told.level) told.level = level;  // the quota was raised: the alerts may come again
      for (int l = told.level + 1; l <= level; ++l) out.alerts.push_back({key, downstream, q.period, l, bytes, q.bytes});
      next[k] = {start, level};
    }
  };
  walk(quotas.clients, use.clients, false);
  walk(quotas.downstreams, use.downstreams, true);
  state.told = std::move(next);
  return out;
}

std::string formatQuotaAlertState(const QuotaAlertState& s) {
  std::string out;
  for (const auto& [key, t] : s.told) out += key + " " + dayText(t.start) + " " + std::to_string(t.level) + "\n";
  return out;
}

QuotaAlertState parseQuotaAlertState(std::string_view text, int* bad) {
  QuotaAlertState s;
  int wrong = 0;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    auto w = words(line);
    if (w.empty()) continue;
    const bool downstream = w[0] == kDownstreamWord;
    const size_t at = downstream ? 2 : 1;
    std::optional<int> day;
    if (w.size() == at + 2) day = parseDay(w[at]);
    const bool keyOk = day && (downstream ? validIfname(w[1]) : normalizeMac(w[0]) == w[0]);
    if (!keyOk || (w[at + 1] != "0" && w[at + 1] != "1" && w[at + 1] != "2")) {
      ++wrong;
      continue;
    }
    s.told[alertKey(downstream ? w[1] : w[0], downstream)] = {*day, w[at + 1][0] - '0'};
  }
  if (bad) *bad = wrong;
  return s;
}

}  // namespace tetherd
