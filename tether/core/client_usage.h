// ClientUsage (issue 14): per-client byte counts from the firewall's per-client counter rules
// (FirewallState::clients, one pair of rules per leased address), attributed to the client's
// MAC through the DHCP leases (IPv4) and the neighbour table (IPv6: setOwners6), added up per
// local day and downstream in a UsageHistory kept in state_dir/client-usage.
//
// The counters are read (one read of the filter table, no lock, no process) when someone asks
// (`client list`, `client usage`, the page), before the rules follow a lease change, once a
// minute while any client is counted, and at stop. The file is written at most once a minute
// (the same timer) and at stop: a kill -9 loses at most the last minute. With no client
// counted the timer is not re-armed: no wake-up at all (after one read a minute past start or
// past the last lease change).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "tether/core/ports.h"
#include "tether/core/clients/usage_history.h"
#include "tether/system/netfilter/firewall.h"

namespace tetherd {

class ClientUsage {
 public:
  using EpochClock = std::function<long long()>;  // seconds since the epoch
  static constexpr std::chrono::seconds kFlushInterval{60};

  // now: default the system clock.
  ClientUsage(boost::asio::io_context& io, Firewall& firewall, const DhcpService& dhcp, std::string path,
              EpochClock now = {});

  // Loads the history (a corrupt file is set aside and reported: see UsageHistory::load) and
  // arms the minute's read: rules for leases that were there before tetherd started come
  // with the first plan, after this.
  void start();
  // A lease file changed, and the rules follow it after the read that took the last bytes:
  // arms the minute's read, which that read did not when it saw no client counted yet (the
  // first clients' rules come after it). Without this, 20 clients leased at once were not
  // read (nor their history written) until the next lease change or stop.
  void leasesChanged() { arm(); }
  bool armed() const { return armed_; }  // the minute's read is due
  // Reads the counters and adds what they moved since the last read to today's records.
  void sample();
  // Writes the file when anything was added since it was last written.
  Status flush();
  // sample() and flush(), and the timer off: before the firewall's rules go (stop).
  void stop();

  // Who owns an IPv6 address counted on a downstream (address text -> MAC; the neighbour
  // table): its bytes are added to that MAC's, with its lease's.
  void setOwners6(std::function<std::map<std::string, std::string>(const std::string& downstream)> f) { owners6_ = std::move(f); }
  // Called after each minute's read (and flush): the quotas' alerts and new day hang on it.
  void onMinute(std::function<void()> f) { onMinute_ = std::move(f); }
  // Today's bytes per MAC, both directions added up (the quotas' measure).
  std::map<std::string, uint64_t> todayBytes() const;

  int today() const;
  std::map<std::string, UsageBytes> todayTotals() const { return history_.dayTotals(today()); }  // by MAC
  const UsageHistory& history() const { return history_; }
  const std::string& setAside() const { return setAside_; }  // the corrupt-file report, if any
  const std::string& path() const { return path_; }

 private:
  void arm();

  struct Seen {
    std::string mac;
    uint64_t rx = 0, tx = 0;
  };
  boost::asio::steady_timer timer_;
  Firewall& firewall_;
  const DhcpService& dhcp_;
  std::string path_;
  EpochClock now_;
  UsageHistory history_;
  std::map<std::pair<std::string, std::string>, Seen> last_;  // (downstream, address) -> last read
  std::string setAside_;
  std::function<void()> onMinute_;
  std::function<std::map<std::string, std::string>(const std::string&)> owners6_;
  bool dirty_ = false;
  bool armed_ = false;
  bool stopped_ = false;
};

}  // namespace tetherd
