// TetherManager's inside, shared by tether_manager.cpp (the driver: machines, commands,
// reconcile) and manager_ops.cpp (the operations and views). Not for other files.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "tether/core/applier.h"
#include "tether/core/offload_applier.h"
#include "tether/core/planner.h"
#include "tether/core/tether_manager.h"
#include "tether/core/upstream_dns.h"
#include "tether/core/upstream_validator.h"

namespace tetherd {

// A command of a machine, carried out after the machine has handled its event.
struct Command {
  enum class Kind {
    Configure, Unconfigure, EnableForwarding, DisableForwarding,               // a downstream's
    IpForwardingOn, IpForwardingOff, ChainsUp, ChainsDown, SetDns, UpstreamChanged, MasterError,  // the master's
  } kind;
  std::string ifname{};
  Errc cause = Errc::Ok;
};

struct TetherManager::Impl : MasterActions, InterfaceActions {
  struct Downstream {
    Downstream(IfaceKind k, std::unique_ptr<TetherInterfaceMachine> m, boost::asio::io_context& io)
        : kind(k), timer(io), machine(std::move(m)) {}
    IfaceKind kind;
    boost::asio::steady_timer timer;
    std::unique_ptr<TetherInterfaceMachine> machine;
    bool dropped = false;  // no longer a downstream (config, priority): removed once untethered
  };

  Impl(ManagerDeps d, DhcpService& dh, const Config& c, EventSink ev);

  // ---- state
  ManagerDeps deps;
  DhcpService& dhcp;
  EventSink events;
  IpForwarding ipfwd;
  SysctlOverrides sysctls;
  ApplierPorts ports;
  Applier applier;
  OffloadApplier offload;  // the flowtable, after each apply (issue 18)
  Intent intent;
  boost::asio::steady_timer masterTimer;
  boost::asio::steady_timer firewallRetry;
  int firewallRetries = 0;
  TetherMasterMachine master;
  std::map<std::string, std::unique_ptr<Downstream>> downstreams;
  std::map<std::string, Stage> stages;  // what each downstream's machine has asked for
  bool chains = false, dnsWanted = false, ipForwarding = false;  // what the master has asked for
  std::optional<std::string> upstream;
  AccessPoint* ap = nullptr;
  std::unique_ptr<UpstreamValidator> validator;  // with a prober
  std::optional<std::string> natUpstream;  // the upstream whose address flows were NATed to
  std::vector<Ipv4Address> natAddresses;   // its addresses, as last seen
  std::vector<Ipv6Address> natAddresses6;  // its global IPv6 ones (nat66), as last seen
  void flushOldNat(const std::optional<std::string>& chosen);
  std::set<std::string> rpChecked;  // candidates whose rp_filter was checked since they appeared
  void checkRpFilter();
  UpstreamDnsSources dnsSources;  // the candidates' DNS servers: watched files, read on change

  // ---- commands and their answers
  std::deque<Command> queue;
  std::set<std::string> awaitConfigure, awaitForwarding;
  std::optional<Command::Kind> masterAwait;  // the master's step waiting for its answer
  std::optional<Error> masterFailedEarly;    // the step failed before anything was applied
  bool reconciling = false;
  bool again = false;
  bool retryFailedAgain = false;
  Applier::Outcome last;  // of the latest apply

  // ---- the driver (tether_manager.cpp)
  void reconcile(bool retryFailed = false);
  void runQueue();
  void execute(const Command& c);
  Facts facts() const;
  static std::optional<uint32_t> dnsmasqUid();
  void syncValidator(const Facts& f);
  void noteUpstream(const std::optional<std::string>& chosen);
  void syncMachines(const Desired& d, bool retryFailed);
  void answer(const Desired& d);
  void onFirewallOutcome();
  void dropFinished();
  Downstream* find(const std::string& ifname);
  bool wanted(const std::string& ifname, IfaceKind kind) const;
  void emit(const Event& e);
  std::string blockedFile() const { return intent.config.stateDir + "/blocked-clients"; }
  // IPv6: the ULA /48 from state_dir/ula-prefix, made on first use (while IPv6 is not off).
  mutable std::optional<Ipv6Prefix> ula48;
  std::optional<Ipv6Prefix> ulaPrefix() const;
  // IPv6 prefix delegation: dhcpcd on the selected upstream while tethering in pd or auto,
  // and the per-downstream /64 numbers kept in state_dir/pd-subnets.
  mutable std::optional<PdSubnets> pdSubnets;  // loaded at the first facts()
  std::string pdSubnetsFile() const { return intent.config.stateDir + "/pd-subnets"; }
  std::vector<std::string> pdLeft;
  bool pdAsked = false;  // dhcpcd asks the selected upstream for a prefix
  void syncPd(const Desired& d);
  // ---- IPv6 relay (manager_relay.cpp)
  std::optional<std::pair<std::string, Ipv6Prefix>> relayWatched;  // told to watchSolicits
  std::map<Ipv6Address, std::chrono::steady_clock::time_point> solicitedAt;  // bounded (kSolicitKept)
  std::chrono::steady_clock::time_point solicitSecond{};
  int solicitsThisSecond = 0;
  void syncRelay();
  void loadBlocked();
  std::map<std::string, StaticLease> pins;  // static leases, by MAC
  std::string pinnedFile() const { return intent.config.stateDir + "/pinned-clients"; }
  void loadPins();
  Status changeBlocked(std::set<std::string> next, const std::string& mac, bool blocking);
  Status lastFirewallError() const;  // a hard failure of the latest apply (Busy is not one)
  void resetAtStop(std::chrono::steady_clock::time_point deadline, std::function<void()> finish);
  // ---- rate limits (manager_shaping.cpp)
  std::string limitsFile() const { return intent.config.stateDir + "/client-limits"; }
  void loadLimits();
  // ---- quotas (manager_quota.cpp)
  std::string quotasFile() const { return intent.config.stateDir + "/client-quotas"; }
  void loadQuotas();
  std::string quotaAlertsFile() const { return intent.config.stateDir + "/quota-alerts"; }
  std::function<UsageView()> usage;  // the counters read, and the history (ClientUsage)
  std::function<std::map<std::string, std::vector<Ipv6Address>>(const std::string&)> neighbours6;  // by MAC
  QuotaAlertState quotaAlerts;
  QuotaUse currentQuotaUse(int* today = nullptr) const;

  // ---- MasterActions (commands: queued)
  void enableIpForwarding() override { queue.push_back({Command::Kind::IpForwardingOn}); }
  void disableIpForwarding() override { queue.push_back({Command::Kind::IpForwardingOff}); }
  void startTethering() override { queue.push_back({Command::Kind::ChainsUp}); }
  void stopTethering() override { queue.push_back({Command::Kind::ChainsDown}); }
  void setDnsForwarders() override { queue.push_back({Command::Kind::SetDns}); }
  void notifyUpstreamChanged() override { queue.push_back({Command::Kind::UpstreamChanged}); }
  void notifyMasterError(Errc cause) override { queue.push_back({Command::Kind::MasterError, "", cause}); }
  void armTimer(int timeoutMs) override;
  void cancelTimer() override { masterTimer.cancel(); }
  void stateChanged(int newState, const Error* error) override;

  // ---- InterfaceActions (commands: queued)
  void configure(const std::string& i) override { queue.push_back({Command::Kind::Configure, i}); }
  void unconfigure(const std::string& i) override { queue.push_back({Command::Kind::Unconfigure, i}); }
  void enableForwarding(const std::string& i) override { queue.push_back({Command::Kind::EnableForwarding, i}); }
  void disableForwarding(const std::string& i) override { queue.push_back({Command::Kind::DisableForwarding, i}); }
  void armTimer(const std::string& ifname, int timeoutMs) override;
  void cancelTimer(const std::string& ifname) override;
  void stateChanged(const std::string& ifname, int newState, const Error* error) override;
};

}  // namespace tetherd
