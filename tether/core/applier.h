// The applier: makes the kernel and the children match a Desired state, through the ports it
// is given, doing only the difference from what it applied last. Applying the same desired
// state twice does nothing the second time (no netlink write, no firewall commit, no DHCP or
// sysctl call). What it records as applied is only what succeeded, so a failed step leaves
// its record equal to the kernel's; the next apply tries the rest again.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tether/core/pd_announced.h"
#include "tether/core/planner.h"
#include "tether/core/ports.h"
#include "tether/core/relay_applier.h"
#include "tether/core/shaping_applier.h"
#include "tether/core/upstream_routing.h"
#include "tether/system/netfilter/firewall.h"
#include "tether/system/netlink.h"
#include "tether/system/sysctl.h"
#include "tether/system/sysctl_overrides.h"

namespace tetherd {

struct ApplierPorts {
  Netlink& netlink;
  Firewall& firewall;
  DhcpService& dhcp;
  IpForwarding& ipfwd;
  AccessPoint* ap = nullptr;
  SysctlOverrides* sysctls = nullptr;  // Desired::sysctls; none: not applied
  PolicyRouting* routing = nullptr;  // none: no policy routing at all
  TrafficShaper* shaper = nullptr;   // rate limits; none: not applied
  NdpRelay* relay = nullptr;         // IPv6 relay's addresses, routes and proxy entries; none: no relay
};

class Applier {
 public:
  // addressRecord: the file naming the addresses this run put on downstreams, so that the
  // run after a crash can take them off (removeLeftovers).
  Applier(ApplierPorts ports, std::string addressRecord);

  struct Outcome {
    // Per downstream (re)configured in this apply: Ok, or why not (typed, naming the step).
    std::map<std::string, Status> configured;
    Status firewall;  // Ok (matches the plan), Errc::Busy (try again soon), or the error
    Status dns;
    Status routing;
    std::map<std::string, Status> ipfwd;  // per requester enabled or disabled in this apply
    Status sysctls;                       // the first failure setting or restoring one
    Status shaping;                       // rate limits: the first link that failed
    Status relay;                         // IPv6 relay: the first route or proxy entry that failed
  };
  Outcome apply(const Desired& desired, const KernelView& kernel);

  void setAccessPoint(AccessPoint* ap) { ports_.ap = ap; }

  // Crash safety, at start: the previous run's rules and downstream addresses go.
  Status resetFirewall();
  void removeLeftovers();
  Status resetRouting(const RoutingRange& range) { return routing_.reset(range); }
  const RoutingState& routing() const { return routing_.applied(); }
  void resetShaping() { shaping_.reset(); }  // at start: a crash's qdiscs and ifbs
  const ShapingState& shaping() const { return shaping_.applied(); }
  void resetRelay() { relay_.reset(); }  // at start: a crash's relay routes and proxy entries
  // At start: the delegated /64s an earlier run announced (pd_announced.h), kept in `file`
  // from now on. Each comes back deprecated when its downstream next gets IPv6 (in any mode)
  // while it is still valid and not the downstream's own /64 then.
  void loadAnnounced(std::string file);
  const RelayState& relay() const { return relay_.applied(); }
  // The link is gone, and its address with it.
  void forgetDownstream(const std::string& ifname);

  // What is in place.
  std::optional<Ipv4Prefix> address(const std::string& ifname) const;
  std::map<std::string, Ipv4Prefix> addresses() const;
  std::map<std::string, Ipv6Prefix> addresses6() const;
  bool firewallInstalled() const { return installed_; }
  const std::optional<FirewallState>& firewall() const { return firewall_; }
  Status lastDns() const { return dnsStatus_; }

 private:
  struct Downstream {
    std::optional<Ipv4Prefix> address;
    std::optional<Ipv6Prefix> address6;
    std::optional<PdLease> lease6;  // pd: the lifetimes address6 was given
    // pd: old routers' addresses left deprecated (preferred 0) until their valid end
    std::vector<AnnouncedPrefix> deprecated6;
    bool dhcp = false;
    bool ap = false;
    bool complete = false;  // every step done: link up, DHCP, AP
  };
  void takeDown(const std::string& ifname, Downstream& d, const KernelView& kernel, bool keepIpv4 = false);
  Status setLease6(const std::string& ifname, const Ipv6Prefix& address, const PdLease& lease);
  Status renumber6(const std::string& ifname, Downstream& d, const DownstreamPlan& plan);
  void carry6(const std::string& ifname, const Downstream& d);
  void revive6(const std::string& ifname, Downstream& d, const std::map<std::string, DownstreamPlan>& planned);
  AnnouncedPrefixes announced(PdLease::Clock::time_point now) const;
  void saveAnnounced();
  Status bringUp(const std::string& ifname, const DownstreamPlan& plan, Downstream& d);
  Status applyFirewall(const std::optional<FirewallState>& want);
  void saveRecord();
  Status applySysctls(const std::map<std::string, std::string>& want, bool restoring);

  ApplierPorts ports_;
  std::string record_;
  std::map<std::string, Downstream> downstreams_;
  bool installed_ = false;                  // tetherd's chains exist (as far as it knows)
  std::optional<FirewallState> firewall_;   // what the chains hold, when installed
  std::optional<std::vector<Ipv4Address>> dns_;
  std::vector<Ipv6Address> dns6_;
  Status dnsStatus_;
  RoutingApplier routing_;
  ShapingApplier shaping_;
  RelayApplier relay_;
  // pd: announced /64s of downstreams taken down (or of an earlier run), until revived
  // (revive6) or ended; and what the state file holds (none: not kept).
  AnnouncedPrefixes carried_;
  std::string announcedFile_;
  AnnouncedPrefixes announcedSaved_;
};

}  // namespace tetherd
