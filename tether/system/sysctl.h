// Kernel parameters under /proc/sys, behind a narrow interface (fake in unit tests).
#pragma once

#include <string>
#include <vector>

#include "tether/base/result.h"

namespace tetherd {

class Sysctl {
 public:
  virtual ~Sysctl() = default;
  virtual Result<std::string> read(const std::string& key) = 0;  // "net/ipv4/ip_forward" -> "0"
  virtual Status write(const std::string& key, const std::string& value) = 0;
};

class ProcSysctl : public Sysctl {
 public:
  explicit ProcSysctl(std::string root = "/proc/sys") : root_(std::move(root)) {}
  Result<std::string> read(const std::string& key) override;
  Status write(const std::string& key, const std::string& value) override;

 private:
  std::string root_;
};

// IP forwarding, reference-counted by requester (netd's `ipfwd enable|disable <requester>`):
// on while anyone wants it; the value found before the first request is restored when
// the last one goes. The original value is also kept in a file so that a run after a
// crash restores what the machine had, not what the crashed run left.
class IpForwarding {
 public:
  IpForwarding(Sysctl& sysctl, std::string stateFile) : sysctl_(sysctl), stateFile_(std::move(stateFile)) {}
  Status enable(const std::string& requester);
  Status disable(const std::string& requester);
  // At start: if a previous run left forwarding changed, put back the original value.
  Status recoverFromPreviousRun();
  bool enabled() const { return !requesters_.empty(); }
  const std::vector<std::string>& requesters() const { return requesters_; }
  Result<bool> kernelValue();

 private:
  Sysctl& sysctl_;
  std::string stateFile_;
  std::vector<std::string> requesters_;
  std::string original_;
};

}  // namespace tetherd
