// Prefix delegation at run time: dhcpcd (PD only, tether/system/dhcpcd.h) supervised on the
// selected upstream, and what its hook hands back turned into the fact the planner uses.
//
// The hook writes <run_dir>/dhcpcd-pd.env atomically (a rename); FileWatch (inotify on run_dir,
// read on the Asio loop) sees the rename: no polling. The file is parsed with
// parseDhcpcdHookEnv: a file that does not parse is logged (naming the field) and the last good
// delegation is kept; EXPIRE6/STOP6/STOPPED drop it. The lifetimes become absolute expiry
// times (PdLease), and a timer drops the delegation when its valid lifetime ends without news.
//
// dhcpcd rewrites its argv, so a stale one (tetherd killed) is found by the pid and start time
// recorded in <run_dir>/dhcpcd-pd.pid at each start (process_record.h).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "tether/core/pd_subnets.h"
#include "tether/system/process_supervisor.h"

namespace tetherd {

// The manager's port (a fake in unit tests).
class FileWatch;

class PrefixDelegation {
 public:
  virtual ~PrefixDelegation() = default;
  // The upstream to ask on (nullopt: none). A change drops the delegation and replaces dhcpcd.
  virtual void setUpstream(const std::optional<std::string>& upstream) = 0;
  virtual std::optional<PdLease> lease() const = 0;
  // Called on the loop (never from within setUpstream) when lease() changed.
  virtual void onChange(std::function<void()> changed) = 0;
  // Stops dhcpcd (SIGTERM: it removes its route); done() once it has exited.
  virtual void stop(std::function<void()> done) = 0;
};

class DhcpcdPdClient : public PrefixDelegation {
 public:
  DhcpcdPdClient(boost::asio::io_context& io, ProcessRunner& runner, const Config& config);
  ~DhcpcdPdClient() override;

  // At start-up: a dhcpcd a previous run recorded is stopped; its files go.
  void cleanupStale();
  // The watch on run_dir (before the first setUpstream). Fails when inotify is unavailable.
  Status watch();
  void reconfigure(const Config& config);  // the prefix hint or binary: dhcpcd restarted

  void setUpstream(const std::optional<std::string>& upstream) override;
  std::optional<PdLease> lease() const override { return lease_; }
  void onChange(std::function<void()> changed) override { changed_ = std::move(changed); }
  void stop(std::function<void()> done) override;

  // What the hook file says, applied (public for the unit tests): a parse failure keeps the
  // last delegation and returns the error.
  Status take(const std::string& text, PdLease::Clock::time_point now);
  // Removes dhcpcd's `unreachable <prefix> proto dhcp` route (default: removeDhcpUnreachable6,
  // tether/system/dhcpcd_route.h): called for each prefix a dhcpcd reported, once it has
  // exited (a no-op after a clean stop, which removes it itself; after SIGKILL it is left).
  void setRouteCleaner(std::function<Status(const Ipv6Prefix&)> clean) { cleanRoute_ = std::move(clean); }

 private:
  std::string recordPath() const;
  Status startFor(const std::string& upstream);
  void readEnvFile();
  void setLease(std::optional<PdLease> lease);
  void stopped();

  boost::asio::io_context& io_;
  ProcessRunner& runner_;
  Config config_;
  std::optional<std::string> upstream_;
  std::unique_ptr<Supervisor> dhcpcd_;
  std::vector<std::shared_ptr<Supervisor>> stopping_;  // SIGTERMed, not yet reaped
  std::vector<std::function<void()>> waiters_;        // stop()'s done, called once none is left
  std::optional<PdLease> lease_;
  std::set<Ipv6Prefix> reported_;  // every prefix the running dhcpcd reported (its routes)
  std::function<Status(const Ipv6Prefix&)> cleanRoute_;
  std::function<void()> changed_;
  std::unique_ptr<FileWatch> watch_;  // the hook's file (tether/base/file_watch.h)
  boost::asio::steady_timer expiry_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace tetherd
