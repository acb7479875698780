// The real Netlink adapter over libnl-3 / libnl-route-3 (the event monitor is nl_monitor.h).
// libnl stays inside nl_netlink.cpp. Not thread-safe: use it from the one thread that runs
// the io_context.
#pragma once

#include <memory>

#include "tether/system/netlink.h"

namespace tetherd {

// Requests on a netlink socket of its own, synchronously (request, then the kernel's
// answer): these are quick local kernel calls. The socket opens on first use, or with open().
class NlNetlink : public Netlink {
 public:
  NlNetlink();
  ~NlNetlink() override;
  NlNetlink(const NlNetlink&) = delete;
  NlNetlink& operator=(const NlNetlink&) = delete;

  Status open();  // optional: report a socket failure early
  // The tables defaultRoutes() and readIpv6() learn default routes from (netlink.h).
  void learnTables(const LearntTables& tables) { tables_ = tables; }

  Result<std::vector<LinkInfo>> links() override;
  Result<std::vector<AddrInfo>> addresses() override;
  Result<std::vector<DefaultRoute>> defaultRoutes() override;
  Status setLinkUp(const std::string& ifname, bool up) override;
  Status addAddress(const std::string& ifname, const Ipv4Prefix& p) override;
  Status removeAddress(const std::string& ifname, const Ipv4Prefix& p) override;
  Status addAddress6(const std::string& ifname, const Ipv6Prefix& p) override;
  // addAddress6 is setAddress6Lifetimes with both forever.
  Status setAddress6Lifetimes(const std::string& ifname, const Ipv6Prefix& p, uint32_t preferredSec,
                              uint32_t validSec) override;
  // The IPv6 facts of the kernel view (global addresses, default routes), for its seeding.
  Status readIpv6(std::vector<Addr6Info>& addrs, std::vector<DefaultRoute6>& routes);
  // The IPv6 neighbours (clients' addresses with their MACs) on one link.
  Result<std::vector<Neighbour6>> neighbours6(const std::string& ifname);
  Status removeAddress6(const std::string& ifname, const Ipv6Prefix& p) override;
  Status createBridge(const std::string& name) override;
  Status deleteLink(const std::string& name) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  LearntTables tables_{};
};

}  // namespace tetherd
