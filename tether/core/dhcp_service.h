// The real DhcpService: one supervised dnsmasq per tethered downstream, bound only to that
// interface, sharing one servers file that a SIGHUP re-reads when the upstream changes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>

#include "config/config.h"
#include "tether/system/process_supervisor.h"
#include "tether/core/ports.h"

namespace tetherd {

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
  Status setServers(const std::vector<Ipv4Address>& servers) override;
  void stopAll(std::function<void()> done) override;
  bool running(const std::string& ifname) const override;
  int restarts(const std::string& ifname) const override;
  pid_t pid(const std::string& ifname) const;

 private:
  std::string serversFile() const;
  Result<std::vector<std::string>> argvFor(const Downstream& d) const;  // with the current config
  boost::asio::io_context& io_;
  ProcessRunner& runner_;
  Config config_;
  std::vector<Ipv4Address> servers_;
  std::map<std::string, std::unique_ptr<Supervisor>> instances_;
  std::map<std::string, Downstream> downstreams_;  // what each instance was started for
  std::vector<std::unique_ptr<Supervisor>> stopping_;
};

}  // namespace tetherd
