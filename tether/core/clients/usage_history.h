// Usage history (issue 14): bytes per client (MAC) per day per downstream, as a bounded value
// with a text file format. Pure: no clock, no I/O but load/save, which ClientUsage calls.
//
// File (state_dir/client-usage, 0600, replaced atomically):
//   tetherd-usage 1
//   <YYYY-MM-DD> <mac> <downstream> <rx bytes> <tx bytes>     one line per record, sorted
// rx = to the client (download), tx = from it (upload). Days are the local calendar's.
// Bounds: kMaxDays days back from the newest day, and at most kMaxRecords records (the oldest
// days go first), so the file stays under ~1 MB whatever the clients do.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tether/base/result.h"

namespace tetherd {

// A local calendar day as days since 1970-01-01 (so day arithmetic is integer arithmetic).
int localDay(long long epochSec);
std::string dayText(int day);                       // "2026-12-05"
std::optional<int> parseDay(std::string_view text);  // "2026-12-05" -> its day; nullopt if not one

struct UsageBytes {
  uint64_t rx = 0;  // to the client (download)
  uint64_t tx = 0;  // from the client (upload)
  bool operator==(const UsageBytes&) const = default;
};

class UsageHistory {
 public:
  static constexpr int kMaxDays = 400;
  static constexpr size_t kMaxRecords = 16384;

  struct Key {
    int day = 0;
    std::string mac;         // normalised aa:bb:cc:dd:ee:ff
    std::string downstream;  // interface name
    auto operator<=>(const Key&) const = default;
  };

  // Adds bytes to (day, mac, downstream), then applies the bounds.
  void add(int day, const std::string& mac, const std::string& downstream, UsageBytes bytes);
  const std::map<Key, UsageBytes>& records() const { return records_; }
  bool empty() const { return records_.empty(); }

  // Per MAC, the sum over downstreams of `day`.
  std::map<std::string, UsageBytes> dayTotals(int day) const;

  std::string format() const;
  // The file's text -> the history; InvalidArgument naming the line number and the cause.
  static Result<UsageHistory> parse(std::string_view text);

  // state_dir's file: missing -> empty; unreadable or corrupt -> renamed to <path>.corrupt,
  // reported (log::error naming the file and the cause; also returned in `setAside`), empty.
  static UsageHistory load(const std::string& path, std::string* setAside = nullptr);
  Status save(const std::string& path) const;

 private:
  void bound();
  std::map<Key, UsageBytes> records_;
};

}  // namespace tetherd
