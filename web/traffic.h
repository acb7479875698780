// Throughput from cumulative byte counters: each sample is the rate since the previous one.
// Pure (the caller passes the time), so tests feed counters and compare rates.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace tetherd::web {

struct ByteCounts {
  uint64_t rx = 0;  // towards the clients (download)
  uint64_t tx = 0;  // from the clients (upload)
};

struct Rate {
  double rx = 0;  // bytes per second
  double tx = 0;
};

struct TrafficSample {
  int64_t wallMs = 0;  // when, for the graph's time axis (ms since the epoch)
  std::map<std::string, Rate> downstreams;
  std::map<std::string, Rate> clients;  // by MAC, where per-client counters are known (Wi-Fi)
};

class TrafficMeter {
 public:
  explicit TrafficMeter(size_t maxSamples = 150, std::chrono::seconds maxGap = std::chrono::seconds(10))
      : max_(maxSamples), maxGap_(maxGap) {}

  // Counters read at `now`. Returns the new sample, or nothing for the first reading and after
  // a gap longer than maxGap (no rate is averaged over time nobody watched). A counter that went
  // down (rules rebuilt, station reconnected) restarts from the new value.
  std::optional<TrafficSample> feed(std::chrono::steady_clock::time_point now, int64_t wallMs,
                                    const std::map<std::string, ByteCounts>& downstreams,
                                    const std::map<std::string, ByteCounts>& clients);
  const std::deque<TrafficSample>& history() const { return history_; }

 private:
  size_t max_;
  std::chrono::seconds maxGap_;
  std::optional<std::chrono::steady_clock::time_point> last_;
  std::map<std::string, ByteCounts> lastDownstreams_, lastClients_;
  std::deque<TrafficSample> history_;
};

nlohmann::json sampleJson(const TrafficSample& s);
// The text of sampleJson(s).dump(), appended to out without building the document. /api/traffic
// writes the whole history this way: as a document, 150 samples were about 2 000 small blocks
// (115 kB) live at once on every request, and each such burst, interleaved with the
// connections' longer-lived blocks, left the main heap's resident size higher, until the history
// was full (bench soak: +190 kB of RSS over the first 150 event streams, live heap flat).
void appendSampleJson(std::string& out, const TrafficSample& s);

}  // namespace tetherd::web
