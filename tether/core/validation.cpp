#include "tether/core/validation.h"

#include <algorithm>

namespace tetherd {

const char* validationName(Validation v) {
  switch (v) {
    case Validation::Probing: return "probing";
    case Validation::Validated: return "validated";
    case Validation::Partial: return "partial";
    case Validation::NoInternet: return "no-internet";
    case Validation::CaptivePortal: return "captive-portal";
  }
  return "?";
}

bool CandidateValidation::record(const ProbeOutcome& o, const ValidationSettings& s, Clock::time_point now) {
  const Validation before = state_;
  const bool ok = o.result == Validation::Validated;
  last_ = o;
  lastAt_ = now;
  using std::chrono::milliseconds;
  if (ok) {
    failures_ = 0;
    ++successes_;
    // The first answer decides at once; after a failure it takes successesToReturn in a row.
    if (state_ == Validation::Probing || successes_ >= s.successesToReturn) state_ = Validation::Validated;
    next_ = now + milliseconds(state_ == Validation::Validated ? s.intervalMs : s.retryMinMs);
    return state_ != before;
  }
  successes_ = 0;
  ++failures_;
  if (state_ != Validation::Validated || failures_ >= s.failuresToLeave) state_ = o.result;
  if (state_ == Validation::Validated) {
    next_ = now + milliseconds(s.retryMinMs);  // confirm soon: failing over waits for it
  } else {
    long long backoff = s.retryMinMs;
    for (int i = 1; i < failures_ && backoff < s.retryMaxMs; ++i) backoff *= 2;
    next_ = now + milliseconds(std::min<long long>(backoff, s.retryMaxMs));
  }
  return state_ != before;
}

}  // namespace tetherd
