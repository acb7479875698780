// An upstream candidate's validation, pure: the probes' outcomes in, the state the selection
// uses out, with hysteresis (a validated candidate leaves after `failuresToLeave` failed probes
// in a row, a failed one comes back after `successesToReturn` good ones), and when to probe
// next (a steady interval while validated, a quick re-check after a failure, a backoff while
// it fails). The clock is passed in.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace tetherd {

enum class Validation { Probing, Validated, Partial, NoInternet, CaptivePortal };
const char* validationName(Validation v);  // "probing", "validated", "partial", "no-internet", "captive-portal"

struct ValidationSettings {
  bool enabled = false;
  int intervalMs = 30'000;   // between probes of a validated candidate
  int retryMinMs = 1'000;    // first retry after a failure; doubles up to retryMaxMs
  int retryMaxMs = 60'000;
  int timeoutMs = 3'000;     // one probe (DNS and HTTP)
  int failuresToLeave = 3;
  int successesToReturn = 2;
  bool operator==(const ValidationSettings&) const = default;
};

// One probe's result.
struct ProbeOutcome {
  Validation result = Validation::NoInternet;  // Validated, Partial, NoInternet or CaptivePortal
  std::string portalUrl;
  std::string detail;  // why (a failure's cause)
  int rttMs = 0;       // of the HTTP probe
};

class CandidateValidation {
 public:
  using Clock = std::chrono::steady_clock;
  explicit CandidateValidation(Clock::time_point now) : next_(now) {}

  // Takes in one probe's outcome; true when state() changed.
  bool record(const ProbeOutcome& o, const ValidationSettings& s, Clock::time_point now);

  Validation state() const { return state_; }
  const std::optional<ProbeOutcome>& last() const { return last_; }
  std::optional<Clock::time_point> lastProbe() const { return lastAt_; }
  Clock::time_point nextProbe() const { return next_; }
  int failures() const { return failures_; }
  int successes() const { return successes_; }

 private:
  Validation state_ = Validation::Probing;
  std::optional<ProbeOutcome> last_;
  std::optional<Clock::time_point> lastAt_;
  Clock::time_point next_;
  int failures_ = 0;   // in a row
  int successes_ = 0;  // in a row
};

}  // namespace tetherd
