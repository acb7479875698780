// The planner: plan(facts, intent) -> the desired state. Pure: no I/O, no clock, no state of
// its own; the same inputs give the same plan. The manager gathers the facts (the kernel view,
// the upstreams' DNS servers, how far each downstream's machine has come), keeps the intent
// (the validated config plus what the control socket and the page asked for), and hands the
// plan to the applier, which makes the kernel match it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "tether/base/ip.h"
#include "tether/base/ip6.h"
#include "tether/core/clients/client_quotas.h"
#include "tether/core/pd_subnets.h"
#include "tether/core/clients/rate_limits.h"
#include "tether/core/relay_plan.h"
#include "tether/core/upstream.h"
#include "tether/system/dhcpcd.h"
#include "tether/system/netfilter/firewall.h"
#include "tether/system/kernel_view.h"
#include "tether/system/policy_routing.h"

namespace tetherd {

// What the user asked for.
struct Intent {
  Config config;
  bool tethering = false;             // `tether start` (or autostart) and no `tether stop` since
  bool stopping = false;              // the daemon is stopping: nothing of tetherd's is wanted
  std::vector<std::string> priority;  // upstream candidates, best first
  std::set<std::string> requested;    // `tether interface add`: tethered whatever its kind
  std::set<std::string> unrequested;  // `tether interface remove` of an auto-tethered one
  std::set<NatPair> manualNat;        // `nat enable <int> <ext>`
  std::vector<Ipv4Address> dnsOverride;  // `tether dns set`: instead of the upstream's
  std::set<uint16_t> adminPorts;      // the web page's port(s): refused from the upstreams
  std::set<std::string> blocked;      // blocked client MACs (normalised)
  std::set<std::string> ipfwdRequesters;  // `ipfwd enable <requester>`
  ClientLimits clientLimits{};         // `client limit`: rate limits by MAC (issue 14)
  Quotas quotas{};                     // `client quota`, `tether quota`: per MAC and downstream (issue 14)
};

// How far a downstream's machine has come: it decides, the plan follows.
enum class Stage { Idle, Configured, Forwarding };

// What is.
struct Facts {
  KernelView kernel;
  std::map<std::string, std::vector<Ipv4Address>> upstreamDns;  // per candidate (config, resolv.conf)
  std::map<std::string, std::vector<Ipv6Address>> upstreamDns6;  // per candidate, resolv.conf's IPv6 ones
  std::map<std::string, Validation> validation;  // per probed candidate; absent: validated (probes off)
  std::map<std::string, Stage> stages;         // per downstream, from its machine
  std::map<std::string, Ipv4Prefix> assigned;  // the downstream addresses in place now
  std::set<std::string> accessPoints;          // downstreams that are the soft AP
  std::optional<uint32_t> dnsmasqUid;          // the user dnsmasq forwards DNS as (dnsmasqUser())
  bool chains = false;        // the master has asked for tetherd's chains (tethering set up)
  bool dns = false;           // the master has asked for the DNS forwarders
  bool ipForwarding = false;  // the master has asked for IP forwarding
  // IPv6: the unique local /48 kept in state_dir (nat66's per-downstream /64s come from it);
  // nullopt while IPv6 is off or it could not be read or made.
  std::optional<Ipv6Prefix> ula48{};
  // IPv6: the prefix the selected upstream delegates (dhcpcd's hook; nullopt: none), and the
  // per-downstream /64 numbers kept in state_dir.
  std::optional<PdLease> delegated{};
  PdSubnets pdSubnets{};
  // IPv6 relay: the /64 relayed now (the applier's), kept through a default route's flap.
  std::optional<Ipv6Prefix> relaying{};
  // The network namespace's inode: makes the idle timers' labels unique (they are global).
  uint64_t netns = 0;
  // Per downstream with an address, its unexpired DHCP leases (issue 14: each client's
  // addresses are counted in the firewall while the downstream forwards, and shaped when
  // limited), and whether the kernel has fq_codel for the shaping's leaves.
  std::map<std::string, std::vector<Lease>> clientLeases{};
  // Per downstream, the clients' global and unique local IPv6 addresses by MAC (the neighbour
  // table, at most NeighbourBook::kMaxPerClient each): a leased MAC's are counted, held to its
  // quota and shaped like its lease's IPv4 address.
  std::map<std::string, std::map<std::string, std::vector<Ipv6Address>>> clientAddrs6{};
  bool fqCodel = false;
  // What each quota used in its period (both directions, from the counters read just before;
  // gathered only while any quota is set): the quotas' remaining bytes are figured from it.
  QuotaUse quotaUse{};
};

// One downstream that gets its address, DHCP/DNS server and (the soft AP) hostapd.
struct DownstreamPlan {
  IfaceKind kind = IfaceKind::Ethernet;
  Ipv4Prefix address;  // the router's own address with the subnet's length (192.168.42.1/24)
  bool accessPoint = false;
  // IPv6: how the downstream gets it (never Auto: the mode chosen) and its own address in its
  // /64 (<pfx>::1/64), the prefix its router advertisements announce. Each source of a /64
  // (the ULA /48 for nat66, the delegated prefix for pd, the upstream's /64 for relay:
  // <pfx>::ffff:<id>/64) fills the same two fields.
  Ipv6Mode ipv6 = Ipv6Mode::Off;
  std::optional<Ipv6Prefix> address6{};
  bool localOnly = false;  // [tethering] local_only: DHCP and local DNS only, never forwarded
  std::optional<PdLease> lease6{};  // pd: the delegation, whose lifetimes address6 takes
  Ipv4Prefix subnet() const { return Ipv4Prefix{address.network(), address.length}; }
  bool operator==(const DownstreamPlan&) const = default;
};

// What should be.
struct Desired {
  std::optional<std::string> upstream;
  std::map<std::string, IfaceKind> tracked;  // downstream candidates that exist (a machine each)
  std::set<std::string> wanted;              // tracked ones that should be tethered
  std::map<std::string, DownstreamPlan> configured;
  std::set<std::string> noSubnet;  // asked to be configured, but no free subnet is left
  std::optional<FirewallState> firewall;  // nullopt: none of tetherd's chains at all
  std::optional<std::vector<Ipv4Address>> dns;  // nullopt: leave the forwarders alone
  std::vector<Ipv6Address> dns6{};              // with dns, while IPv6 is on: the upstream's IPv6 servers
  std::set<std::string> ipfwdRequesters;
  // Kernel parameters held while tethering forwards IPv6 (key -> value): the applier sets
  // them, recording the value found, and puts that back when they are no longer planned.
  std::map<std::string, std::string> sysctls{};
  RoutingState routing;  // tetherd's tables and rules (upstream_routing.h)
  // pd: the /64 numbers to keep in state_dir (facts.pdSubnets plus new ones), and the
  // downstreams the delegation had no /64 left for (they use nat66: log them).
  PdSubnets pdSubnets{};
  std::vector<std::string> pdLeft{};
  ShapingState shaping{};  // rate limits (rate_limits.h), by configured downstream
  RelayState relay{};      // IPv6 relay: routes and proxy entries per client address (relay_plan.h)
  bool operator==(const Desired&) const = default;
};

Desired plan(const Facts& facts, const Intent& intent);

// The IPv6 mode the downstreams get for this config and facts: Off, or the mode `auto`
// resolves to: pd while the upstream delegates a prefix, else relay while the selected
// upstream has an on-link /64 from RAs (relayPrefix), else nat66 (it needs the ULA /48).
Ipv6Mode ipv6Mode(const Facts& facts, const Intent& intent);

// Parts of the plan, for the manager's views and the tests.
std::vector<Ipv4Address> upstreamServers(const Facts& facts, const Intent& intent, const std::string& ifname);
std::map<std::string, UpstreamView> upstreamViews(const Facts& facts, const Intent& intent);
// chooseUpstream over upstreamViews, IPv6-only candidates included while the config's ipv6 is on.
std::optional<std::string> selectUpstream(const Facts& facts, const Intent& intent);
bool isTracked(const Intent& intent, const std::string& ifname, IfaceKind* kind = nullptr);

}  // namespace tetherd
