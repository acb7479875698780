// The real DhcpService: one supervised dnsmasq per tethered downstream, bound only to that
// interface, sharing one servers file that a SIGHUP re-reads when the upstream changes.
// Its leases() is tetherd's one lease reader: client actions, the page and the soft AP all
// read dnsmasq's lease files through it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "config/config.h"
#include "tether/system/process_supervisor.h"
#include "tether/core/ports.h"

namespace tetherd {

// Reads dnsmasq lease files (parseLeaseFile). A line that is not a lease is logged once, with
// the file, its line number and the cause: a bad line that stays in the file is not logged again
// at every read (the page reads every few seconds), a new one is. DHCPv6 lines are skipped
// quietly (tetherd serves IPv4); so is a missing file (no lease yet).
class LeaseReader {
 public:
  using Warn = std::function<void(const std::string& message)>;
  explicit LeaseReader(Warn warn = {});  // default: log::warning
  std::vector<Lease> read(const std::string& path);

  static constexpr size_t kMaxRemembered = 256;  // distinct bad lines; then one last warning

 private:
  Warn warn_;
  std::set<std::string> logged_;  // path + '\n' + the line (or the read error)
  bool full_ = false;
};

class DnsmasqService : public DhcpService {
 public:
  DnsmasqService(boost::asio::io_context& io, ProcessRunner& runner, const Config& config);
  ~DnsmasqService() override;

  // Kill dnsmasq instances a previous run left (by their pid files), remove their files.
  void cleanupStale();
  // A new configuration: a running instance whose argv changes with it (DHCP range, lease
  // time, dnsmasq path) is restarted with the new one; its leases are kept (a lease outside
  // the new range is refused at its renewal and the client gets a new address).
  void reconfigure(const Config& config);

  Status start(const Downstream& d) override;
  void stop(const std::string& ifname) override;
  Status setServers(const std::vector<Ipv4Address>& servers, const std::vector<Ipv6Address>& servers6) override;
  // Writes each downstream's --dhcp-hostsfile (0644: dnsmasq reads it as nobody) and SIGHUPs
  // the running instances whose file changed: dnsmasq re-reads it, keeps its leases and pid.
  Status setStaticLeases(const std::vector<StaticLease>& pins) override;
  void stopAll(std::function<void()> done) override;
  bool running(const std::string& ifname) const override;
  int restarts(const std::string& ifname) const override;
  pid_t pid(const std::string& ifname) const;
  // From dnsmasqLeasePath(state_dir, ifname): also after the instance stopped (its leases are
  // kept for its return); callers decide which downstreams count.
  std::vector<Lease> leases(const std::string& ifname) const override;

 private:
  std::string serversFile() const;
  Result<std::vector<std::string>> argvFor(const Downstream& d) const;  // with the current config
  boost::asio::io_context& io_;
  ProcessRunner& runner_;
  Config config_;
  std::vector<Ipv4Address> servers_;
  std::vector<Ipv6Address> servers6_;
  std::vector<StaticLease> pins_;
  Status writeHosts(const Downstream& d) const;
  std::map<std::string, std::unique_ptr<Supervisor>> instances_;
  std::map<std::string, Downstream> downstreams_;  // what each instance was started for
  std::vector<std::unique_ptr<Supervisor>> stopping_;
  mutable LeaseReader leaseReader_;  // remembers what it logged: not the service's state
};

}  // namespace tetherd
