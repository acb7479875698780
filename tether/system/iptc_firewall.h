// The Firewall adapter over libiptc (legacy x_tables, IPv4). It writes the rules of
// fw::buildTables() as raw ipt_entry structs: no iptables process, no libxtables.
//
// Every table change runs init -> modify -> commit under flock() on the xtables lock file, the
// same lock iptables-legacy takes. The lock is only tried for a few milliseconds (this runs on
// the event loop): when another process keeps it, the call fails with Errc::Busy and the
// caller retries later. A commit that races with another writer (EAGAIN) is redone.
#pragma once

#include <string>

#include "tether/system/firewall.h"

namespace tetherd {

class IptcFirewall : public Firewall {
 public:
  // Uses $XTABLES_LOCKFILE if set, else /run/xtables.lock (as iptables-legacy does).
  IptcFirewall();
  explicit IptcFirewall(std::string lockPath);

  Status reset() override;
  Status apply(const FirewallState& s) override;
  // Reads the filter table without the lock: a read is one atomic snapshot from the kernel.
  Result<std::vector<TrafficCounter>> counters() override;

  // Successful iptc_commit calls so far (one per changed table): lets tests check that an
  // unchanged table is not committed.
  unsigned commitCount() const { return commits_; }

  static std::string defaultLockPath();

 private:
  std::string lockPath_;
  // The pairs whose counter rules are installed: set as soon as the filter table is synced
  // (also when a later table then fails), read by counters().
  std::set<NatPair> countedPairs_;
  unsigned commits_ = 0;
};

}  // namespace tetherd
