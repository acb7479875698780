// The real TrafficShaper: ifb links, qdiscs, HTB classes and u32 filters (with a mirred
// action) through libnl-route, on a netlink socket of its own. Synchronous, like NlNetlink:
// quick local kernel calls. Not thread-safe: use it from the loop's thread.
#pragma once

#include <memory>
#include <optional>

#include "tether/system/shaping.h"

namespace tetherd {

class NlShaper : public TrafficShaper {
 public:
  NlShaper();
  ~NlShaper() override;
  NlShaper(const NlShaper&) = delete;
  NlShaper& operator=(const NlShaper&) = delete;

  bool fqCodel() override;
  Status add(const TcOp& op) override;
  Status clear(const std::string& ifname, const std::string& ifb) override;
  Result<int> removeIfbs() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::optional<bool> fqCodel_;
};

}  // namespace tetherd
