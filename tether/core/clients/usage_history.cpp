// UsageHistory: the bounded per-client per-day byte counts and their file.
#include "tether/core/clients/usage_history.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "tether/base/files.h"
#include "tether/base/ip.h"
#include "tether/base/log.h"

namespace tetherd {
namespace {

constexpr std::string_view kHeader = "tetherd-usage 1";
constexpr size_t kMaxFileBytes = 4 * 1024 * 1024;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int daysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

std::optional<uint64_t> number(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

int localDay(long long epochSec) {
  const time_t t = static_cast<time_t>(epochSec);
  std::tm tm{};
  localtime_r(&t, &tm);
  return daysFromCivil(tm.tm_year + 1900, static_cast<unsigned>(tm.tm_mon + 1), static_cast<unsigned>(tm.tm_mday));
}

std::string dayText(int day) {
  // civil_from_days
  const int z = day + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int y = static_cast<int>(yoe) + era * 400 + (m <= 2);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", y, m % 100, d % 100);
  return buf;
}

std::optional<int> parseDay(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto y = number(text.substr(0, 4)), m = number(text.substr(5, 2)), d = number(text.substr(8, 2));
  if (!y || !m || !d || *y < 1970 || *m < 1 || *m > 12 || *d < 1 || *d > 31) return std::nullopt;
  const int day = daysFromCivil(static_cast<int>(*y), static_cast<unsigned>(*m), static_cast<unsigned>(*d));
  if (dayText(day) != text) return std::nullopt;  // 2026-02-30
  return day;
}

void UsageHistory::add(int day, const std::string& mac, const std::string& downstream, UsageBytes bytes) {
  auto& r = records_[Key{day, mac, downstream}];
  r.rx += bytes.rx;
  r.tx += bytes.tx;
  bound();
}

void UsageHistory::bound() {
  if (records_.empty()) return;
  const int newest = records_.rbegin()->first.day;  // ordered by day first: oldest at the front
  while (!records_.empty() && records_.begin()->first.day <= newest - kMaxDays) records_.erase(records_.begin());
  while (records_.size() > kMaxRecords) {
    const int oldest = records_.begin()->first.day;
    if (oldest == newest) {  // today alone is over the bound: its first keys go
      records_.erase(records_.begin());
      continue;
    }
    while (records_.begin()->first.day == oldest) records_.erase(records_.begin());
  }
}

std::map<std::string, UsageBytes> UsageHistory::dayTotals(int day) const {
  std::map<std::string, UsageBytes> out;
  for (auto it = records_.lower_bound(Key{day, "", ""}); it != records_.end() && it->first.day == day; ++it) {
    auto& t = out[it->first.mac];
    t.rx += it->second.rx;
    t.tx += it->second.tx;
  }
  return out;
}

std::string UsageHistory::format() const {
  std::string out(kHeader);
  out += '\n';
  for (const auto& [k, v] : records_) {
    out += dayText(k.day) + ' ' + k.mac + ' ' + k.downstream + ' ' + std::to_string(v.rx) + ' ' + std::to_string(v.tx) + '\n';
  }
  return out;
}

Result<UsageHistory> UsageHistory::parse(std::string_view text) {
  UsageHistory h;
  size_t lineNo = 0;
  auto bad = [&lineNo](const std::string& cause) {
    return makeError(Errc::InvalidArgument, "line " + std::to_string(lineNo) + ": " + cause);
  };
  while (!text.empty()) {
    ++lineNo;
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return bad("no newline at the end (a truncated file)");
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (lineNo == 1) {
      if (line != kHeader) return bad("not a tetherd usage file (expected '" + std::string(kHeader) + "')");
      continue;
    }
    const auto f = fields(line);
    if (f.size() != 5) return bad("expected 5 fields (day mac downstream rx tx), got " + std::to_string(f.size()));
    auto day = parseDay(f[0]);
    if (!day) return bad("day '" + std::string(f[0]) + "' is not a date (YYYY-MM-DD)");
    auto mac = normalizeMac(f[1]);
    if (!mac || *mac != f[1]) return bad("'" + std::string(f[1]) + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
    if (!validIfname(f[2])) return bad("'" + std::string(f[2]) + "' is not an interface name");
    auto rx = number(f[3]), tx = number(f[4]);
    if (!rx || !tx) return bad("byte counts must be unsigned integers");
    Key key{*day, *mac, std::string(f[2])};
    if (h.records_.count(key) != 0) return bad("duplicate record for " + std::string(f[0]) + " " + *mac + " " + std::string(f[2]));
    h.records_.emplace(std::move(key), UsageBytes{*rx, *tx});
  }
  if (lineNo == 0) return makeError(Errc::InvalidArgument, "empty file");
  h.bound();
  return h;
}

UsageHistory UsageHistory::load(const std::string& path, std::string* setAside) {
  auto text = readFile(path, kMaxFileBytes);
  if (!text && text.error().code == Errc::NotFound) return {};
  Error cause = text ? Error{} : text.error();
  if (text) {
    auto parsed = parse(*text);
    if (parsed) return std::move(*parsed);
    cause = parsed.error();
  }
  const std::string aside = path + ".corrupt";
  std::string what = "usage history " + path + ": " + cause.message + "; ";
  if (std::rename(path.c_str(), aside.c_str()) == 0) {
    what += "set aside as " + aside + ", starting a new history";
  } else {
    what += "could not be set aside (" + std::string(std::strerror(errno)) + "), starting a new history";
  }
  log::error(what);
  if (setAside != nullptr) *setAside = what;
  return {};
}

Status UsageHistory::save(const std::string& path) const { return writeFileAtomic(path, format(), 0600); }

}  // namespace tetherd
