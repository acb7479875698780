// The Firewall adapter over libiptc (legacy x_tables, IPv4). It writes the rules of
// fw::buildTables() as raw ipt_entry structs: no iptables process, no libxtables.
//
// Every table change runs init -> modify -> commit under flock() on the xtables lock file, the
// same lock iptables-legacy takes. The lock is only tried for a few milliseconds (this runs on
// the event loop): when another process keeps it, the call fails with Errc::Busy and the
// caller retries later. A commit that races with another writer (EAGAIN) is redone.
//
// Reading a table is libiptc's cost (the whole table, with every foreign rule in it), so
// apply() remembers per table what it last made the kernel hold and reads, syncs and commits
// only the tables whose desired content differs from that. A table it does not read is
// trusted: a rule someone removes by hand is repaired by the next apply() that reads its table.
// A table is read again (trust withdrawn) when
//   - its desired content changes;
//   - any transaction fails (lock busy, init, modify or commit error): every table is
//     forgotten, since another writer may be at work;
//   - counters(), which reads filter anyway, finds tetherd's part of filter different from
//     what apply() wrote there (a counter rule missing, a jump deleted...): filter is forgotten;
//   - reset() runs: every table is forgotten.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "tether/system/netfilter/firewall.h"

namespace tetherd {

class IptcFirewall : public Firewall {
 public:
  // Uses $XTABLES_LOCKFILE if set, else /run/xtables.lock (as iptables-legacy does).
  IptcFirewall();
  explicit IptcFirewall(std::string lockPath);

  Status reset() override;
  Status apply(const FirewallState& s) override;
  // Reads the filter table without the lock: a read is one atomic snapshot from the kernel.
  // Also checks tetherd's part of filter against the last apply() (see the file comment).
  Result<std::vector<TrafficCounter>> counters() override;
  // Reads filter (no lock) and the tetherd_acct_<downstream> chains of the last applied state;
  // then the same in ip6tables' filter (the clients' IPv6 addresses), IPv4 first.
  Result<std::vector<ClientCounter>> clientCounters() override;

  // For tests and the benchmark: successful iptc_commit calls (one per changed table) and
  // table reads (iptc_init, by apply(), reset() and counters()) so far, in all tables or in
  // one ("filter", "nat", "mangle").
  unsigned commitCount() const;
  unsigned commitCount(std::string_view table) const;
  unsigned readCount() const;
  unsigned readCount(std::string_view table) const;

  static std::string defaultLockPath();

 private:
  struct Tally {
    unsigned reads = 0;
    unsigned commits = 0;
  };

  std::string lockPath_;
  // The pairs whose counter rules are installed: set as soon as the filter table is synced
  // (also when a later table then fails), read by counters().
  std::set<NatPair> countedPairs_;
  std::set<std::string> countedClients_;  // the downstreams with a per-client chain (the same)
  std::set<std::string> countedClients6_;  // the same in ip6tables (set when ip6 filter is synced)
  // Per table, what the kernel held after the last successful sync of it (trusted since).
  std::map<std::string, fw::Table, std::less<>> applied_;
  std::map<std::string, Tally, std::less<>> tally_;
};

}  // namespace tetherd
