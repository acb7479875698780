#include "tether/core/idle.h"

#include <set>

#include <boost/asio/post.hpp>

#include "tether/base/log.h"

namespace tetherd {

std::optional<int> idleTimeoutSec(const Config& config, IfaceKind kind, bool accessPoint) {
  if (accessPoint) {
    if (config.softapIdleTimeoutSec > 0) return config.softapIdleTimeoutSec;
    return std::nullopt;
  }
  if (config.idleTimeoutSec > 0 && config.idleUntether[static_cast<size_t>(kind)]) return config.idleTimeoutSec;
  return std::nullopt;
}

IdleVerdict decideIdle(const IdleInputs& in, IdleClock::time_point now) {
  using K = IdleVerdict::Kind;
  if (in.stations > 0 || !in.expired) return {K::Wait, {}};
  if (in.lastStationLeft && now < *in.lastStationLeft + in.timeout) return {K::RecheckAt, *in.lastStationLeft + in.timeout};
  return {K::Off, {}};
}

struct IdleMonitor::Entry {
  explicit Entry(boost::asio::io_context& io) : recheck(io), retry(io) {}
  IdleTimer timer;
  std::unique_ptr<IdleTimerWatch> watch;
  boost::asio::steady_timer recheck;  // a station left less than the timeout ago
  boost::asio::steady_timer retry;    // the sysfs file did not open yet
  int openFailures = 0;
  std::set<std::string> stations;
  std::optional<IdleClock::time_point> lastStationLeft;
  bool off = false;  // turned off: nothing more until the timer is planned again
};

IdleMonitor::IdleMonitor(boost::asio::io_context& io, IdleWatchFactory watches, Now now, Off off, Sink sink)
    : io_(io), watches_(std::move(watches)), now_(std::move(now)), off_(std::move(off)), sink_(std::move(sink)) {}

IdleMonitor::~IdleMonitor() = default;

void IdleMonitor::sync(const std::map<std::string, IdleTimer>& timers) {
  std::erase_if(entries_, [&](const auto& kv) {
    auto it = timers.find(kv.first);
    return it == timers.end() || !(it->second == kv.second->timer);
  });
  for (const auto& [ifname, timer] : timers) {
    if (entries_.count(ifname)) continue;
    auto e = std::make_unique<Entry>(io_);
    e->timer = timer;
    auto& ref = *e;
    entries_[ifname] = std::move(e);
    open(ifname, ref);
  }
}

void IdleMonitor::open(const std::string& ifname, Entry& e) {
  auto w = watches_(e.timer.label);
  if (!w) {
    // The rule may not be committed yet: a few tries a second apart, then logged.
    if (++e.openFailures == 5) log::warning("idle timer of ", ifname, ": ", w.error().message, " (still trying)");
    e.retry.expires_after(std::chrono::seconds(1));
    e.retry.async_wait([this, ifname, alive = std::weak_ptr<char>(alive_)](boost::system::error_code ec) {
      if (ec || alive.expired()) return;
      auto it = entries_.find(ifname);
      if (it != entries_.end() && !it->second->watch) open(ifname, *it->second);
    });
    return;
  }
  e.watch = std::move(*w);
  log::info("idle timer of ", ifname, ": ", e.timer.timeoutSec, " s without a client turns it off (", e.timer.label, ")");
  arm(ifname, e);
  // Not now: sync() runs at the end of the manager's reconcile, and turning off re-enters it.
  boost::asio::post(io_, [this, ifname, alive = std::weak_ptr<char>(alive_)] {
    if (!alive.expired()) evaluate(ifname);
  });
}

void IdleMonitor::arm(const std::string& ifname, Entry& e) {
  e.watch->wait([this, ifname, alive = std::weak_ptr<char>(alive_)] {
    if (alive.expired()) return;
    auto it = entries_.find(ifname);
    if (it == entries_.end() || !it->second->watch) return;
    arm(ifname, *it->second);
    evaluate(ifname);
  });
}

void IdleMonitor::evaluate(const std::string& ifname) {
  auto it = entries_.find(ifname);
  if (it == entries_.end() || !it->second->watch || it->second->off) return;
  Entry& e = *it->second;
  auto left = e.watch->remaining();
  if (!left) {
    log::warning("idle timer of ", ifname, ": ", left.error().message);
    return;
  }
  IdleInputs in{*left == 0, static_cast<int>(e.stations.size()), e.lastStationLeft, std::chrono::seconds(e.timer.timeoutSec)};
  auto v = decideIdle(in, now_());
  switch (v.kind) {
    case IdleVerdict::Kind::Wait:
      return;
    case IdleVerdict::Kind::RecheckAt:
      e.recheck.expires_after(v.at - now_());
      e.recheck.async_wait([this, ifname, alive = std::weak_ptr<char>(alive_)](boost::system::error_code ec) {
        if (!ec && !alive.expired()) evaluate(ifname);
      });
      return;
    case IdleVerdict::Kind::Off:
      break;
  }
  e.off = true;
  log::notice(ifname, ": no client for ", e.timer.timeoutSec, " s: turning it off");
  auto st = off_(ifname);
  if (!st) log::error(ifname, ": idle, but not turned off: ", st.error().message);
  // `e` may be gone by now (off_ re-plans, and sync() drops the timer).
  if (sink_) sink_(Event{events::IfaceClassActivity{ifname, false, st ? "off" : "failed"}});
}

void IdleMonitor::onEvent(const Event& ev) {
  const auto* c = std::get_if<events::ClientChanged>(&ev.what);
  if (!c || !c->ifname) return;
  using K = events::ClientChanged::Kind;
  if (c->kind != K::StationConnected && c->kind != K::StationDisconnected) return;
  auto it = entries_.find(*c->ifname);
  if (it == entries_.end()) return;
  Entry& e = *it->second;
  if (c->kind == K::StationConnected) {
    e.stations.insert(c->mac);
    e.recheck.cancel();
    return;
  }
  if (e.stations.erase(c->mac) == 0) return;
  if (e.stations.empty()) e.lastStationLeft = now_();
  evaluate(*c->ifname);
}

}  // namespace tetherd
