// UpstreamValidator: probes every upstream candidate (NetProber, bound to the candidate) on the
// loop and keeps its validation (validation.h). One timer for all candidates, never waking more
// than once a second; a change of a candidate's state is reported through onChange (the manager
// re-plans: the selection takes the best validated candidate). Off (settings.enabled false):
// no probe, no timer, no state: every usable candidate counts as validated.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "tether/core/validation.h"
#include "tether/system/net_probe.h"

namespace tetherd {

struct Facts;
struct Intent;
ValidationSettings validationSettings(const Config& c);
// What to probe (pure): each candidate that is up with an address and a default route, from
// its first address, asking its DNS servers (configured or resolv.conf); one without any IPv4
// address but with an IPv6 default, over IPv6 from its global address, asking its IPv6 servers.
std::vector<ProbeTarget> probeTargets(const Facts& facts, const Intent& intent);

// ProbeReport → outcome: 204 validated; a portal; DNS answered but HTTP failed: partial;
// else no-internet.
ProbeOutcome outcomeOf(const ProbeReport& r);

class UpstreamValidator {
 public:
  using OnChange = std::function<void(const std::string& ifname, Validation now)>;
  UpstreamValidator(boost::asio::io_context& io, NetProber& prober, OnChange onChange);
  ~UpstreamValidator();

  // The candidates that can be probed now (up, an address, a default route) and the settings.
  // New ones are probed at once; one whose address changed starts again; gone ones are dropped.
  void update(const std::vector<ProbeTarget>& targets, const ValidationSettings& settings);

  struct Entry {
    ProbeTarget target;
    CandidateValidation validation;
    bool inFlight = false;
  };
  const std::map<std::string, Entry>& entries() const { return entries_; }
  std::map<std::string, Validation> states() const;
  bool enabled() const { return settings_.enabled; }

 private:
  void schedule();
  void wake();
  void done(const std::string& ifname, uint64_t generation, const ProbeReport& report);

  boost::asio::io_context& io_;
  NetProber& prober_;
  OnChange onChange_;
  ValidationSettings settings_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, uint64_t> generation_;  // a probe's answer counts only for its own target
  uint64_t nextGeneration_ = 1;
  boost::asio::steady_timer timer_;
  CandidateValidation::Clock::time_point lastWake_{};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tetherd
