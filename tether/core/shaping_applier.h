// Applies ShapingStates (rate limits, issue 14) through the TrafficShaper port, doing only the
// difference from the last one: a link whose shaping changed is cleared and installed anew
// (its clients' queues restart; HTB has no atomic swap), a link no longer shaped is cleared.
// It records only what succeeded (a failed install is cleared again and tried at the next
// apply). The links it touched are named in a record file (run_dir) first, so that the run
// after a crash can clear them (reset). Without a port it does nothing.
#pragma once

#include <string>

#include "tether/core/clients/tc_plan.h"

namespace tetherd {

class ShapingApplier {
 public:
  ShapingApplier(TrafficShaper* port, std::string record) : port_(port), record_(std::move(record)) {}
  Status apply(const ShapingState& want);
  // At start: the links the record names are cleared, every tifb-* ifb deleted.
  void reset();
  const ShapingState& applied() const { return have_; }
  void setPort(TrafficShaper* port) { port_ = port; }

 private:
  void saveRecord(const ShapingState& extra);
  TrafficShaper* port_;
  std::string record_;
  ShapingState have_;
};

}  // namespace tetherd
