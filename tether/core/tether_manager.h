// TetherManager: the core's driver. It owns the master machine and one interface machine per
// downstream, keeps the intent (config + what the control socket and the page asked for),
// reads the one KernelView, and after every input re-plans (planner.h) and applies the
// difference (applier.h). The machines' commands are queued and carried out after each
// machine event; their answers go back to the machines as events. The control socket and
// the web API both call its operations; neither holds tethering logic of its own.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "tether/base/ip6.h"
#include "statemachines/tether_interface_sm.h"
#include "statemachines/tether_master_sm.h"
#include "tether/core/pd_client.h"
#include "tether/core/ports.h"
#include "tether/core/clients/client_quotas.h"
#include "tether/core/clients/rate_limits.h"
#include "tether/system/netfilter/firewall.h"
#include "tether/system/kernel_view.h"
#include "tether/system/netlink.h"
#include "tether/system/ndp_relay.h"
#include "tether/system/nl_conntrack.h"
#include "tether/system/netfilter/nft_ruleset.h"
#include "tether/core/offload.h"
#include "tether/system/net_probe.h"
#include "tether/system/policy_routing.h"
#include "tether/system/sysctl.h"
#include "tether/core/events.h"
#include "tether/core/upstream.h"

namespace tetherd {

struct ManagerDeps {
  boost::asio::io_context& io;
  Netlink& netlink;
  Firewall& firewall;
  Sysctl& sysctl;
  const KernelView& kernel;  // kept current by NetlinkMonitor (the daemon's); read only here
  PolicyRouting* routing = nullptr;  // per-upstream tables and rules; none: not done
  NetProber* prober = nullptr;       // upstream health probes; none: every candidate validated
  TrafficShaper* shaper = nullptr;   // rate limits (issue 14); none: not applied
  uint64_t netns = 0;                // the network namespace's inode (idle timers' labels)
  // Told the idle timers the firewall holds after every reconcile (tether/core/idle.h).
  std::function<void(const std::map<std::string, IdleTimer>&)> idleTimers{};
  PrefixDelegation* pd = nullptr;    // IPv6 prefix delegation (ipv6 = pd or auto); none: never pd
  Conntrack* conntrack = nullptr;    // flows NATed to a previous upstream removed at a switch; none: not done
  // The DNS servers' files (upstream_dns.h) watched with inotify (the daemon); else read again
  // at every reconcile (the tests: a pending watch would keep their io.run() from returning).
  bool watchFiles = false;
  NftRuleset* nft = nullptr;  // flowtable offload's transactions (offload.h); none: never offloaded
  NdpRelay* relay = nullptr;         // IPv6 relay's kernel state (ipv6 = relay or auto); none: never relay
  // IPv6 relay: told the upstream and /64 relayed after each reconcile that changed them
  // (nullopt: none), so that the daemon watches that upstream's neighbour solicitations for
  // targets in the /64 and calls solicited() (the NsWatch).
  std::function<void(const std::optional<std::pair<std::string, Ipv6Prefix>>&)> watchSolicits{};
};

class TetherManager {
 public:
  using EventSink = std::function<void(const Event&)>;

  TetherManager(ManagerDeps deps, DhcpService& dhcp, const Config& config, EventSink events);
  ~TetherManager();

  // Start: undo what a previous run left, converge on the kernel view.
  Status start();
  // Stop: untether everything, restore forwarding, remove rules; done() once children are gone.
  void stop(std::function<void()> done);
  // A new validated configuration (SIGHUP).
  void reconfigure(const Config& config);
  // The kernel view changed (it already shows the event).
  void onNetEvent(const NetEvent& event);
  // A DHCP lease file changed (LeaseWatch): the per-client counter rules follow the leases.
  void leasesChanged();
  // Where the clients' IPv6 addresses come from (NeighbourWatch): per downstream, MAC ->
  // addresses; asked at every plan. Call neighboursChanged() when they change.
  void setNeighbourSource(std::function<std::map<std::string, std::vector<Ipv6Address>>(const std::string& ifname)> source);
  void neighboursChanged() { leasesChanged(); }
  // IPv6 relay: the upstream link saw a neighbour solicitation for `target` (in the relayed
  // /64). A target not relayed yet is looked for on every relaying downstream (the kernel
  // solicits it there; an answer reaches the neighbour watch, and the plan then relays it).
  // At most once per target every kSolicitEvery, and kSolicitBurst targets a second.
  void solicited(const Ipv6Address& target);
  // The soft AP: set before start(); its interface then waits for apReady() in Starting.
  void setAccessPoint(AccessPoint* ap);
  void apReady(const std::string& ifname);
  void apLost(const std::string& ifname, const Error& why);

  // Operations (control socket `tether ...`, web API).
  Status startTethering();
  Status stopTethering();
  Status addInterface(const std::string& ifname);
  Status removeInterface(const std::string& ifname);
  Status setDnsOverride(const std::vector<Ipv4Address>& servers);  // empty: back to the upstream's
  Status enableNat(const std::string& in, const std::string& out);
  Status disableNat(const std::string& in, const std::string& out);
  Status ipfwdEnable(const std::string& requester);
  Status ipfwdDisable(const std::string& requester);
  Status clearError();
  Status setUpstreamPriority(const std::vector<std::string>& priority);
  // The web admin's port(s): the firewall drops them on every upstream interface (candidates
  // and NAT targets) for as long as they are set, tethering or not. Empty: no such rule.
  Status setAdminPorts(const std::set<uint16_t>& ports);
  // Blocked clients, whatever their downstream (Wi-Fi, USB, Bluetooth, Ethernet): frames from
  // the MAC are dropped on every configured downstream, forwarded or to the appliance itself
  // (no DHCP, DNS or admin page). Kept in state_dir/blocked-clients (0600, replaced atomically,
  // saved before applied). InvalidArgument naming "mac" for anything but a unicast MAC;
  // unblocking one that is not blocked is NotFound. At most kMaxBlockedClients.
  static constexpr size_t kMaxBlockedClients = 256;
  Status blockClient(const std::string& mac);
  Status unblockClient(const std::string& mac);
  std::vector<std::string> blockedClients() const;  // sorted
  // Static leases (issue 14): the pins become `next` (checked by the caller: checkPin), saved in
  // state_dir/pinned-clients (0600, replaced atomically) before dnsmasq is told (hosts files,
  // SIGHUP, no restart); a failure puts the old pins back, file included. At most kMaxPins.
  static constexpr size_t kMaxPins = 256;
  Status setPinnedClients(std::map<std::string, StaticLease> next);
  const std::map<std::string, StaticLease>& pinnedClients() const;  // by MAC
  // Rate limits (issue 14): the per-client limits become `next` (checked by the caller:
  // checkClientLimit), saved in state_dir/client-limits (0600, atomic) before they are applied.
  Status setClientLimits(ClientLimits next);
  const ClientLimits& clientLimits() const;
  // Quotas (issue 14): set (a new period starts counting what the period already used; a
  // total from now), off (bytes 0; NotFound when there is none) or reset (the period starts
  // again now) a client's (MAC) or a downstream's quota, checked by the caller
  // (checkClientQuota, checkDownstreamQuota); saved in state_dir/client-quotas (0600, atomic)
  // before it is applied.
  Status setQuota(const QuotaRequest& r, bool downstream);
  const Quotas& quotas() const;
  // Each quota with what it used in its period (the counters read now).
  std::vector<QuotaRow> quotaRows() const;
  // Where the usage comes from (ClientUsage: reads the counters first); asked at every
  // reconcile while any quota is set, so the kernel's quota matches get the bytes left.
  void setUsageSource(std::function<UsageView()> source);
  // The counters were read (ClientUsage's minute): sends the quota alerts due (once per
  // period, saved in state_dir/quota-alerts), and re-plans when a period starts again.
  void usageSampled(UsageView v);
  // The leaves' queue while any limit is applied ("fq_codel" or "pfifo"), else "none".
  std::string shapingQueue() const;
  const ShapingState& shaping() const;  // what is applied, by downstream
  // Flowtable offload (issue 18): whether it is in force, and why not (manager_offload.cpp).
  OffloadStatus offload() const;

  // Views.
  struct DownstreamStatus {
    std::string ifname;
    IfaceKind kind = IfaceKind::Ethernet;
    TetherInterfaceMachine::State state = TetherInterfaceMachine::State::Initial;
    std::optional<Ipv4Prefix> address;  // the downstream's own address/len while configured
    Error error;
    bool requested = false;
    bool dhcpRunning = false;
    Ipv6Mode ipv6 = Ipv6Mode::Off;          // how its clients get IPv6 (never Auto)
    std::optional<Ipv6Prefix> ipv6Prefix;   // its /64 while configured with IPv6
  };
  bool tetheringStarted() const;
  TetherMasterMachine::State masterState() const;
  const Error& masterError() const;
  std::vector<DownstreamStatus> downstreams() const;
  // IPv6 as the downstreams get it and what the selected upstream has of it (doctor, status).
  struct Ipv6Upstream {
    Ipv6Mode configured = Ipv6Mode::Off;  // [tethering] ipv6
    Ipv6Mode mode = Ipv6Mode::Off;  // never Auto
    bool address = false;           // the upstream has a global IPv6 address
    bool route = false;             // and an IPv6 default route
    bool pdAsked = false;           // dhcpcd asks the upstream for a prefix (pd/auto, tethering)
    std::optional<Ipv6Prefix> delegated;      // the prefix held, with its lifetimes left (s)
    uint32_t preferredSec = 0, validSec = 0;  // 4294967295: infinite
    std::vector<std::string> pdLeft;          // downstreams the delegation has no /64 for (nat66)
    bool slaac64 = false;                     // the upstream has a /64 from RAs (relay needs one)
    std::optional<Ipv6Prefix> relayed;        // relay: the upstream's /64 shared now,
    std::set<std::string> relayDownstreams;   // with these forwarding downstreams,
    size_t relayHosts = 0;                    // and this many client addresses proxied
  };
  Ipv6Upstream ipv6Upstream() const;
  std::optional<std::string> upstream() const;
  std::vector<Ipv4Address> dnsForwarders() const;
  std::vector<UpstreamView> upstreams() const;
  std::string upstreamReason() const;  // why the current one (upstream list)
  std::vector<std::string> upstreamPriority() const;
  Result<std::vector<TrafficCounter>> stats();
  std::vector<LinkInfo> links() const;
  std::vector<AddrInfo> addressesOf(const std::string& ifname) const;
  Result<bool> ipfwdKernelOn();
  std::vector<std::string> ipfwdRequesters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd
