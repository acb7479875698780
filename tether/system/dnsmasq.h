// dnsmasq as tetherd runs it: one instance per tethered downstream, DHCP and DNS on that
// interface only. Pure functions from typed values to argv, file text and leases; the
// process itself is run by a Supervisor.
//
// Verified with dnsmasq 2.90 in a network namespace (see dnsmasq_test.cpp's header):
// --bind-dynamic + --interface binds DNS to the downstream's own addresses only (never
// 0.0.0.0:53 or 127.0.0.1:53) and DHCP to the interface, so no --listen-address is needed.
// dnsmasq drops root to its compiled-in user ("nobody") after opening the lease file and
// writing the pid file, so the lease file may live in a root-only state_dir; but it reads
// the servers file as that user (at start and on every SIGHUP): the servers file must be
// world-readable (0644) in a run_dir others may traverse (0755). Its pid file ends up owned
// by nobody and is left behind on exit (it cannot unlink it from run_dir): remove it after
// the child is reaped, and killStalePidFile() it at start-up.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tether/base/ip.h"
#include "tether/base/result.h"

namespace tetherd {

struct DnsmasqDownstream {
  std::string ifname;        // the tethered interface ("usb0")
  Ipv4Prefix subnet;         // its network (host bits ignored)
  Ipv4Address address;       // the downstream's own address: router and DNS server for clients
  int firstHost = 10;        // DHCP pool: host numbers within subnet, inclusive
  int lastHost = 250;
  int leaseTimeSec = 3600;   // 120 s .. 7 days
};

// The files an instance uses.
std::string dnsmasqServersPath(const std::string& runDir);                          // shared by all instances
std::string dnsmasqPidPath(const std::string& runDir, const std::string& ifname);
std::string dnsmasqLeasePath(const std::string& stateDir, const std::string& ifname);

// The full argv (argv[0] = binary). Refused (InvalidArgument, naming the field) when the
// interface name is not a plain name dnsmasq can take as a tag ([A-Za-z0-9._-], validIfname),
// a path is not absolute or carries control characters, the address is not a host of the
// subnet, the pool does not fit the subnet or contains the downstream's own address, or the
// lease time is out of range.
Result<std::vector<std::string>> dnsmasqArgv(const std::string& binary, const DnsmasqDownstream& downstream,
                                             const std::string& runDir, const std::string& stateDir);

// The --servers-file content: "server=1.2.3.4\n" per upstream DNS server, in order; "" when none.
std::string dnsmasqServersFile(const std::vector<Ipv4Address>& servers);

// One line of dnsmasq's lease file: "<expiry> <mac> <ip> <hostname|*> <client-id|*>".
struct Lease {
  long long expiry = 0;   // seconds since the epoch; 0 = never expires
  std::string mac;        // lower-case "aa:bb:cc:dd:ee:ff"
  Ipv4Address ip;
  std::string hostname;   // "" for "*"
  std::string clientId;   // "" for "*"; else hex bytes "01:aa:..."
  bool operator==(const Lease&) const = default;
};

constexpr size_t kMaxLeaseHostname = 253;

// A lease line (without its '\n'). InvalidArgument with the cause on malformed input.
Result<Lease> parseLeaseLine(std::string_view line);
// Every valid IPv4 lease of a lease file. Malformed lines are skipped, each with an error
// "line N: <cause>" appended to *errors (when given). Empty lines and the DHCPv6 "duid" line
// are skipped silently.
std::vector<Lease> parseLeaseFile(std::string_view text, std::vector<std::string>* errors);

}  // namespace tetherd
