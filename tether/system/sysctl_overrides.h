// Kernel parameters tetherd changes for a while and puts back: IPv6 forwarding
// (net/ipv6/conf/all/forwarding) and accept_ra=2 on the upstream (so that the appliance keeps
// learning its own default route from RAs while it forwards). The value found before the
// first change is kept, in memory and in a record file in run_dir, and written back by
// restore() or, after a crash, by the next run's recoverFromPreviousRun(). No record file is
// left when nothing is changed.
#pragma once

#include <map>
#include <string>

#include "tether/base/result.h"
#include "tether/system/sysctl.h"

namespace tetherd {

class SysctlOverrides {
 public:
  SysctlOverrides(Sysctl& sysctl, std::string recordFile) : sysctl_(sysctl), record_(std::move(recordFile)) {}
  // Sets `key` to `value`; the first time, records the value found. Setting the held value
  // again does nothing.
  Status set(const std::string& key, const std::string& value);
  // Writes back the value found before the first set(). A key not held is success; a key
  // whose parameter has gone (its interface was removed) is forgotten.
  Status restore(const std::string& key);
  // At start: puts back what a previous run's record says, then removes the record.
  void recoverFromPreviousRun();
  // key -> the value tetherd set.
  std::map<std::string, std::string> held() const;

 private:
  struct Held {
    std::string original, value;
  };
  Status save();
  Sysctl& sysctl_;
  std::string record_;
  std::map<std::string, Held> held_;
};

}  // namespace tetherd
