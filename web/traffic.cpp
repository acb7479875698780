#include "web/traffic.h"

#include <nlohmann/json.hpp>

namespace tetherd::web {

namespace {

std::map<std::string, Rate> rates(const std::map<std::string, ByteCounts>& before, const std::map<std::string, ByteCounts>& now,
                                  double seconds) {
  std::map<std::string, Rate> out;
  for (const auto& [name, c] : now) {
    auto it = before.find(name);
    Rate r;
    if (it != before.end() && c.rx >= it->second.rx && c.tx >= it->second.tx) {
      r.rx = static_cast<double>(c.rx - it->second.rx) / seconds;
      r.tx = static_cast<double>(c.tx - it->second.tx) / seconds;
    }
    out[name] = r;
  }
  return out;
}

}  // namespace

std::optional<TrafficSample> TrafficMeter::feed(std::chrono::steady_clock::time_point now, int64_t wallMs,
                                                const std::map<std::string, ByteCounts>& downstreams,
                                                const std::map<std::string, ByteCounts>& clients) {
  std::optional<TrafficSample> sample;
  if (last_ && now > *last_ && now - *last_ <= maxGap_) {
    const double seconds = std::chrono::duration<double>(now - *last_).count();
    TrafficSample s;
    s.wallMs = wallMs;
    s.downstreams = rates(lastDownstreams_, downstreams, seconds);
    s.clients = rates(lastClients_, clients, seconds);
    history_.push_back(s);
    while (history_.size() > max_) history_.pop_front();
    sample = std::move(s);
  }
  last_ = now;
  lastDownstreams_ = downstreams;
  lastClients_ = clients;
  return sample;
}

nlohmann::json sampleJson(const TrafficSample& s) {
  nlohmann::json j;
  j["t"] = s.wallMs;
  j["downstreams"] = nlohmann::json::object();
  for (const auto& [n, r] : s.downstreams) j["downstreams"][n] = {{"rx", static_cast<uint64_t>(r.rx)}, {"tx", static_cast<uint64_t>(r.tx)}};
  j["clients"] = nlohmann::json::object();
  for (const auto& [n, r] : s.clients) j["clients"][n] = {{"rx", static_cast<uint64_t>(r.rx)}, {"tx", static_cast<uint64_t>(r.tx)}};
  return j;
}

namespace {

void appendRates(std::string& out, const std::map<std::string, Rate>& rates) {
  out += '{';
  bool first = true;
  for (const auto& [n, r] : rates) {
    if (!first) out += ',';
    first = false;
    out += nlohmann::json(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += ":{\"rx\":";
    out += std::to_string(static_cast<uint64_t>(r.rx));
    out += ",\"tx\":";
    out += std::to_string(static_cast<uint64_t>(r.tx));
    out += '}';
  }
  out += '}';
}

}  // namespace

void appendSampleJson(std::string& out, const TrafficSample& s) {
  out += "{\"clients\":";  // the keys in nlohmann's order (sorted)
  appendRates(out, s.clients);
  out += ",\"downstreams\":";
  appendRates(out, s.downstreams);
  out += ",\"t\":";
  out += std::to_string(s.wallMs);
  out += '}';
}

}  // namespace tetherd::web
