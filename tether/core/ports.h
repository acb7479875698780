// The narrow ports the core drives, besides the system layer's Netlink, Firewall and Sysctl:
// the DHCP/DNS service (dnsmasq in the daemon, a fake in tests) and the soft AP (hostapd).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tether/base/ip.h"
#include "tether/base/result.h"
#include "tether/system/dnsmasq.h"

namespace tetherd {

// What happens to a downstream's DHCP/DNS server. The real one supervises dnsmasq; unit
// tests count calls.
class DhcpService {
 public:
  virtual ~DhcpService() = default;
  struct Downstream {
    std::string ifname;
    Ipv4Prefix subnet;   // network
    Ipv4Address address; // the downstream's own (router, DNS)
    std::optional<Ipv6Prefix> address6{};  // its own IPv6 address in its /64, if it has IPv6
    bool localOnly = false;  // local DNS only (dnsmasqArgv's localOnly)
    bool offLink = false;    // IPv6 relay: address6's /64 announced off-link (dnsmasqArgv's offLink)
  };
  virtual Status start(const Downstream& d) = 0;  // idempotent for the same values
  virtual void stop(const std::string& ifname) = 0;
  // All instances; IPv6 servers (issue 12) after the IPv4 ones.
  virtual Status setServers(const std::vector<Ipv4Address>& servers, const std::vector<Ipv6Address>& servers6) = 0;
  virtual void stopAll(std::function<void()> done) = 0;
  // Static leases (issue 14): every pin; each downstream's server gets those inside its subnet,
  // now for a running one (re-read, never restarted) and at its next start.
  virtual Status setStaticLeases(const std::vector<StaticLease>&) { return {}; }
  virtual bool running(const std::string& ifname) const = 0;
  virtual int restarts(const std::string& ifname) const = 0;
  // The DHCPv4 leases of ifname's server: tetherd's one lease reader (DnsmasqService).
  virtual std::vector<Lease> leases(const std::string& ifname) const = 0;
};

// The soft AP as the core sees it (the real one drives hostapd: softap/service). Readiness
// and loss are reported back through TetherManager::apReady / apLost.
class AccessPoint {
 public:
  virtual ~AccessPoint() = default;
  virtual bool isApInterface(const std::string& ifname) const = 0;
  virtual Status start(const std::string& ifname) = 0;  // idempotent
  virtual void stop(const std::string& ifname) = 0;
};

}  // namespace tetherd
