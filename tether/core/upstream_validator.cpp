#include "tether/core/upstream_validator.h"

#include <algorithm>

#include "tether/base/log.h"
#include "tether/core/planner.h"

namespace tetherd {

using Clock = CandidateValidation::Clock;

ValidationSettings validationSettings(const Config& c) {
  ValidationSettings s;
  s.enabled = c.validation;
  s.intervalMs = c.probeIntervalMs;
  s.retryMinMs = c.probeRetryMinMs;
  s.retryMaxMs = std::max(c.probeRetryMinMs, c.probeRetryMaxMs);
  s.timeoutMs = c.probeTimeoutMs;
  s.failuresToLeave = c.probeFailures;
  s.successesToReturn = c.probeSuccesses;
  return s;
}

std::vector<ProbeTarget> probeTargets(const Facts& facts, const Intent& intent) {
  std::vector<ProbeTarget> out;
  const auto url = parseHttpUrl(intent.config.probeUrl);
  if (!intent.config.validation || !url) return out;
  for (const auto& name : intent.priority) {
    if (!facts.kernel.up(name)) continue;
    ProbeTarget t;
    t.ifname = name;
    auto addrs = facts.kernel.addressesOf(name);
    if (!addrs.empty() && facts.kernel.hasDefaultRoute(name)) {
      t.source = addrs.front().prefix.address;
      t.dns = upstreamServers(facts, intent, name);
    } else if (facts.kernel.hasDefaultRoute6(name)) {
      // No IPv4 to reach the internet by (no address or no default route: an IPv6-only
      // network, upstream.h): over IPv6, from its global address (a unique local one only if
      // it has nothing else), asking its IPv6 servers.
      for (const auto& a : facts.kernel.addresses6Of(name))
        if (!t.source6 || (t.source6->isUla() && !a.prefix.address.isUla())) t.source6 = a.prefix.address;
      if (!t.source6) continue;
      if (auto it = facts.upstreamDns6.find(name); it != facts.upstreamDns6.end()) t.dns6 = it->second;
    } else {
      continue;
    }
    t.url = *url;
    if (!intent.config.probeFallbackUrl.empty()) t.fallback = parseHttpUrl(intent.config.probeFallbackUrl);
    t.timeoutMs = intent.config.probeTimeoutMs;
    out.push_back(std::move(t));
  }
  return out;
}

ProbeOutcome outcomeOf(const ProbeReport& r) {
  ProbeOutcome o;
  o.rttMs = r.rttMs;
  o.detail = r.http.why;
  switch (r.http.kind) {
    case probe::HttpVerdict::Kind::Validated: o.result = Validation::Validated; break;
    case probe::HttpVerdict::Kind::Portal:
      o.result = Validation::CaptivePortal;
      o.portalUrl = r.http.portalUrl;
      break;
    case probe::HttpVerdict::Kind::Failed: o.result = r.dnsOk ? Validation::Partial : Validation::NoInternet; break;
  }
  return o;
}

UpstreamValidator::UpstreamValidator(boost::asio::io_context& io, NetProber& prober, OnChange onChange)
    : io_(io), prober_(prober), onChange_(std::move(onChange)), timer_(io) {}

UpstreamValidator::~UpstreamValidator() { timer_.cancel(); }

namespace {
bool sameTarget(const ProbeTarget& a, const ProbeTarget& b) {
  return a.source == b.source && a.dns == b.dns && a.source6 == b.source6 && a.dns6 == b.dns6 && a.url.str() == b.url.str() &&
         a.fallback.has_value() == b.fallback.has_value() && (!a.fallback || a.fallback->str() == b.fallback->str()) &&
         a.timeoutMs == b.timeoutMs;
}
}  // namespace

void UpstreamValidator::update(const std::vector<ProbeTarget>& targets, const ValidationSettings& settings) {
  const bool settingsChanged = !(settings == settings_);
  settings_ = settings;
  bool changed = settingsChanged;
  if (!settings_.enabled) {
    if (!entries_.empty()) entries_.clear();
    timer_.cancel();
    return;
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    bool present = std::any_of(targets.begin(), targets.end(), [&](const ProbeTarget& t) { return t.ifname == it->first; });
    if (present) {
      ++it;
    } else {
      generation_.erase(it->first);
      it = entries_.erase(it);
      changed = true;
    }
  }
  const auto now = Clock::now();
  for (const auto& t : targets) {
    auto it = entries_.find(t.ifname);
    if (it != entries_.end() && sameTarget(it->second.target, t)) continue;
    entries_.erase(t.ifname);
    entries_.emplace(t.ifname, Entry{t, CandidateValidation(now), false});
    generation_[t.ifname] = nextGeneration_++;
    changed = true;
  }
  if (changed) schedule();
}

std::map<std::string, Validation> UpstreamValidator::states() const {
  std::map<std::string, Validation> out;
  for (const auto& [name, e] : entries_) out[name] = e.validation.state();
  return out;
}

void UpstreamValidator::schedule() {
  std::optional<Clock::time_point> due;
  for (const auto& [name, e] : entries_)
    if (!e.inFlight && (!due || e.validation.nextProbe() < *due)) due = e.validation.nextProbe();
  timer_.cancel();
  if (!due) return;
  // At most one wake-up a second, whatever the candidates' schedules.
  auto at = std::max(*due, lastWake_ + std::chrono::seconds(1));
  timer_.expires_at(at);
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (ec || !alive.lock()) return;
    wake();
  });
}

void UpstreamValidator::wake() {
  const auto now = Clock::now();
  lastWake_ = now;
  std::vector<std::string> due;
  for (const auto& [name, e] : entries_)  // what is due within the next second: no sooner wake-up
    if (!e.inFlight && e.validation.nextProbe() <= now + std::chrono::seconds(1)) due.push_back(name);
  for (const auto& name : due) {
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.inFlight) continue;
    it->second.inFlight = true;
    const ProbeTarget target = it->second.target;
    prober_.probe(target, [this, alive = std::weak_ptr<bool>(alive_), ifname = name,
                           gen = generation_[name]](ProbeReport r) {
      if (!alive.lock()) return;
      done(ifname, gen, r);
    });
  }
  schedule();
}

void UpstreamValidator::done(const std::string& ifname, uint64_t generation, const ProbeReport& report) {
  auto it = entries_.find(ifname);
  auto g = generation_.find(ifname);
  if (it == entries_.end() || g == generation_.end() || g->second != generation) return;  // target changed meanwhile
  Entry& e = it->second;
  e.inFlight = false;
  const auto outcome = outcomeOf(report);
  const bool changed = e.validation.record(outcome, settings_, Clock::now());
  log::debug("probe ", ifname, ": ", validationName(outcome.result), outcome.detail.empty() ? "" : " (" + outcome.detail + ")",
             " rtt=", outcome.rttMs, "ms -> ", validationName(e.validation.state()));
  schedule();
  if (changed) {
    log::notice("upstream ", ifname, ": ", validationName(e.validation.state()),
                outcome.portalUrl.empty() ? "" : " " + outcome.portalUrl,
                outcome.detail.empty() ? "" : " (" + outcome.detail + ")");
    if (onChange_) onChange_(ifname, e.validation.state());
  }
}

}  // namespace tetherd
