// The real PolicyRouting adapter: rtnetlink rule and route requests on a netlink socket of its
// own (libnl for the socket and messages; the messages are built by hand because libnl-route
// has no suppress_prefixlength). Synchronous, like NlNetlink: quick local kernel calls. Not
// thread-safe: use it from the loop's thread.
#pragma once

#include <memory>

#include "tether/system/policy_routing.h"

namespace tetherd {

class NlRouting : public PolicyRouting {
 public:
  NlRouting();
  ~NlRouting() override;
  NlRouting(const NlRouting&) = delete;
  NlRouting& operator=(const NlRouting&) = delete;

  Status addRoute(const TableRoute& r) override;
  Status deleteRoute(const TableRoute& r) override;
  Status addRule(const PolicyRule& r) override;
  Status deleteRule(const PolicyRule& r) override;
  Result<int> flush(const RoutingRange& range) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd
