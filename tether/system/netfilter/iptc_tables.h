// Internal to IptcFirewall: making one libiptc table handle (after iptc_init, before
// iptc_commit) hold exactly what tetherd wants in it. libiptc's headers stay in the .cpp files.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "tether/base/result.h"
#include "tether/system/netfilter/firewall.h"

struct xtc_handle;

namespace tetherd::iptc {

// A libiptc call failed with `err` (errno, read before any argument is built): explained by
// libiptc, with the table, the operation and the chain it was on.
Error iptcError(int err, const std::string& table, const char* what, const std::string& chain = {});

// Makes tetherd's chains in `h` equal `table`: absent chains removed (with the jumps into
// them), missing chains created, each changed chain flushed and refilled (rules that stay keep
// their counters), each hook jump present exactly once. Nothing else in the table is touched.
// Returns whether anything changed (false: `h` already held exactly `table`).
Result<bool> syncTable(xtc_handle* h, const fw::Table& table);

// Removes every chain named tetherd_* and every rule elsewhere that jumps into one. Returns
// whether anything was there.
Result<bool> removeOwn(xtc_handle* h, const std::string& table);

// One family's libiptc (libip4tc or libip6tc) as IptcFirewall uses it; the handles of the
// two are not interchangeable.
struct Family {
  xtc_handle* (*init)(const char* table);
  int (*commit)(xtc_handle* h);
  void (*free)(xtc_handle* h);
  Result<bool> (*syncTable)(xtc_handle* h, const fw::Table& table);
  Result<bool> (*removeOwn)(xtc_handle* h, const std::string& table);
  Error (*error)(int err, const std::string& table, const char* what, const std::string& chain);
};
const Family& family4();  // iptables (iptc_tables.cpp)
const Family& family6();  // ip6tables (ip6tc_tables.cpp)

// The IPv6 per-client counters of the tetherd_acct_<downstream> chains of these downstreams
// in ip6tables' filter table (read without the lock: one snapshot), in chain order.
// Errc::NotFound when such a chain is missing.
Result<std::vector<ClientCounter>> clientCounters6(const std::set<std::string>& downstreams);

}  // namespace tetherd::iptc
