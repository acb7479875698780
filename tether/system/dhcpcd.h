// dhcpcd as tetherd's DHCPv6 prefix delegation client on the selected upstream: PD only, a
// private config (never /etc/dhcpcd.conf), nothing configured on any interface. Pure
// functions from typed values to the config, the argv and the hook script, and a parser of
// what the hook hands back.
//
// Verified with dhcpcd 9.4.1 against kea-dhcp6 and isc-dhcpd -6 in namespaces (see
// the project's IPv6 reference notes, ipv6-facts.md, section 2): with `ipv6only`, `noipv6rs` (the kernel
// keeps RA handling: accept_ra=2) and `ia_pd 1` with no delegation interface, dhcpcd solicits
// at once and only adds an unreachable route for the prefix on lo (proto dhcp). It runs its
// `script` with the result in the environment: reason BOUND6/RENEW6/REBIND6 (a lease),
// EXPIRE6 (it gave up ~10 s after T2), STOP6/STOPPED (SIGTERM); the prefixes as
// new_dhcp6_ia_pd1_prefixN, _prefixN_length, _prefixN_pltime, _prefixN_vltime. On a prefix
// change the reply carries the old prefix with lifetimes 0 next to the new one, in either
// order: only entries with vltime > 0 are a delegation.
//
// This exact config and hook were run against kea 2.2.0: see dhcpcd_test.cpp for what it wrote.
// How the result reaches tetherd: the hook is a fixed script tetherd writes (dhcpcdHookScript):
// it copies only the variables named above into <run_dir>/dhcpcd-pd.env.tmp and renames it
// over <run_dir>/dhcpcd-pd.env (atomic); tetherd watches run_dir and parses the file with
// parseDhcpcdHookEnv, which validates every value: no hook text reaches anything else.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/ip6.h"
#include "tether/base/result.h"

namespace tetherd {

struct DhcpcdSettings {
  std::string upstream;   // the interface dhcpcd asks on ("wan0"); a plain name
  int prefixHint = 60;    // the prefix length asked for (a hint: the server decides), 48..64
};

// The files (all in run_dir: dhcpcd keeps its own pid, socket, DUID and lease under its
// compiled-in /run/dhcpcd and /var/lib/dhcpcd).
std::string dhcpcdConfPath(const std::string& runDir);
std::string dhcpcdHookPath(const std::string& runDir);
std::string dhcpcdEnvPath(const std::string& runDir);  // what the hook writes (atomically)

// The private config, e.g. for wan0 with a /60 hint:
//   # Written by tetherd: DHCPv6 prefix delegation only, on wan0.
//   ipv6only
//   noipv6rs
//   duid
//   allowinterfaces wan0
//   script /run/tetherd/dhcpcd-hook
//   interface wan0
//   ia_pd 1/::/60
// Refused (InvalidArgument, naming the field) for a name that is not a plain interface name, a
// run_dir that is not a clean absolute path, or a hint outside 48..64.
Result<std::string> dhcpcdConf(const DhcpcdSettings& settings, const std::string& runDir);

// The argv: {binary, "-B", "-6", "-f", <conf>, <upstream>} (-B: stay in the foreground, so a
// Supervisor owns it). Same refusals as dhcpcdConf, plus a binary that is not absolute.
Result<std::vector<std::string>> dhcpcdArgv(const std::string& binary, const DhcpcdSettings& settings,
                                            const std::string& runDir);

// No isOwnDhcpcd (unlike dnsmasq): dhcpcd 9.4.1 rewrites its process title over argv and
// environ ("dhcpcd: wan0 [ip6]", /proc/<pid>/environ loses what it was started with) and forks
// three privilege-separation helpers ("dhcpcd: [privileged proxy] wan0 [ip6]", network and
// control proxies), so /proc shows nothing that tells tetherd's instance from a system one. A
// stale kill has to go by what tetherd records itself when it starts one (pid and start time),
// checked against /proc/<pid>/exe; SIGTERM to the main process stops the helpers too.

// The hook script (mode 0755, written by tetherd into run_dir before dhcpcd starts). It acts
// only on the reasons parseDhcpcdHookEnv knows and copies only `reason`, `interface` and
// the new_dhcp6_ia_pd1_* variables, one `name=value` a line.
Result<std::string> dhcpcdHookScript(const std::string& runDir);

// What one run of the hook says.
struct DelegatedPrefix {
  Ipv6Prefix prefix;        // the network (host bits cleared), length 1..64
  uint32_t preferredSec = 0;
  uint32_t validSec = 0;    // > 0; 4294967295 = infinite
  auto operator<=>(const DelegatedPrefix&) const = default;
};

struct PdUpdate {
  enum class Kind { Bound, Lost };  // Bound: BOUND6/RENEW6/REBIND6; Lost: EXPIRE6/STOP6/STOPPED
  Kind kind = Kind::Lost;
  std::string reason;                     // dhcpcd's, as given
  std::string ifname;
  std::vector<DelegatedPrefix> prefixes;  // Bound: the usable delegations (may be empty)
  std::vector<std::string> ignored;       // why each line or prefix was left out, for the log
};

// Parses the hook file. An error (InvalidArgument) when the text is larger than 64 KiB, has no
// or an unknown reason, or names no interface or another one than `upstream`. Any line that
// is not a known name=value with printable text, and any prefix that is not a global unicast
// address with a length 1..64 and decimal lifetimes with 0 < vltime and pltime <= vltime, is
// left out with a line in `ignored`.
Result<PdUpdate> parseDhcpcdHookEnv(std::string_view text, std::string_view upstream);

}  // namespace tetherd
