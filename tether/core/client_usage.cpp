// ClientUsage: counter deltas -> per-client per-day history, flushed once a minute at most.
#include "tether/core/client_usage.h"

#include "tether/base/heap.h"
#include "tether/base/working_set.h"
#include "tether/base/log.h"

namespace tetherd {

ClientUsage::ClientUsage(boost::asio::io_context& io, Firewall& firewall, const DhcpService& dhcp, std::string path,
                         EpochClock now)
    : timer_(io), firewall_(firewall), dhcp_(dhcp), path_(std::move(path)), now_(std::move(now)) {
  if (!now_) {
    now_ = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
  }
}

void ClientUsage::start() {
  history_ = UsageHistory::load(path_, &setAside_);
  stopped_ = false;
  arm();
}

std::map<std::string, uint64_t> ClientUsage::todayBytes() const {
  std::map<std::string, uint64_t> out;
  for (const auto& [mac, b] : todayTotals()) out[mac] = b.rx + b.tx;
  return out;
}

int ClientUsage::today() const { return localDay(now_()); }

void ClientUsage::sample() {
  auto counters = firewall_.clientCounters();
  if (!counters) {
    log::debug("usage: per-client counters not read: ", counters.error().message);
    return;
  }
  const int day = today();
  std::map<std::string, std::map<std::string, std::string>> macOf;  // downstream -> address -> MAC
  std::map<std::pair<std::string, std::string>, Seen> next;
  for (const auto& c : *counters) {
    auto leases = macOf.find(c.downstream);
    if (leases == macOf.end()) {
      leases = macOf.emplace(c.downstream, owners6_ ? owners6_(c.downstream) : std::map<std::string, std::string>{}).first;
      for (const auto& l : dhcp_.leases(c.downstream))
        if (!l.mac.empty()) leases->second[l.ip.str()] = l.mac;
    }
    const auto key = std::pair(c.downstream, c.address);
    const auto before = last_.find(key);
    std::string mac;
    if (auto it = leases->second.find(c.address); it != leases->second.end()) mac = it->second;
    else if (before != last_.end()) mac = before->second.mac;  // the lease just went: its last bytes
    // A counter that went down belongs to a new rule (re-created): all of it is new.
    UsageBytes delta{c.rxBytes, c.txBytes};
    if (before != last_.end() && before->second.mac == mac && c.rxBytes >= before->second.rx &&
        c.txBytes >= before->second.tx) {
      delta = UsageBytes{c.rxBytes - before->second.rx, c.txBytes - before->second.tx};
    }
    next[key] = Seen{mac, c.rxBytes, c.txBytes};
    if (mac.empty() || (delta.rx == 0 && delta.tx == 0)) continue;
    history_.add(day, mac, c.downstream, delta);
    dirty_ = true;
  }
  last_ = std::move(next);
  if (!last_.empty()) arm();
}

void ClientUsage::arm() {
  if (armed_ || stopped_) return;
  armed_ = true;
  timer_.expires_after(kFlushInterval);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    armed_ = false;
    sample();  // re-arms while any client is counted
    if (auto st = flush(); !st) log::warning("usage: ", st.error().message);
    if (onMinute_) onMinute_();
    trimHeap();  // the table read's copy (a hundred kB with 250 clients) is not kept resident
    trimWorkingSet();  // nor the pages mapped around the faults since (tether/base/working_set.h)
  });
}

Status ClientUsage::flush() {
  if (!dirty_) return {};
  auto st = history_.save(path_);
  if (st) dirty_ = false;
  return st;
}

void ClientUsage::stop() {
  sample();
  stopped_ = true;
  armed_ = false;
  timer_.cancel();
  if (auto st = flush(); !st) log::warning("usage: ", st.error().message);
}

}  // namespace tetherd
