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
// by nobody (by root under tetherd.service, which withholds CAP_CHOWN: dnsmasq only logs that
// the chown failed) and is left behind on exit (it cannot unlink it from run_dir): remove it after
// the child is reaped, and killStalePidFile() it at start-up, never trusting the pid in it:
// whoever runs as nobody can rewrite it, so only a process whose command line is our own
// instance (isOwnDnsmasq) is stopped. dnsmasq creates its lease file 0644 (umask 022):
// tetherd creates it 0600 first (dnsmasq keeps the mode), in a state_dir kept 0750.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/ip.h"
#include "tether/base/ip6.h"
#include "tether/base/result.h"

namespace tetherd {

struct DnsmasqDownstream {
  std::string ifname;        // the tethered interface ("usb0")
  Ipv4Prefix subnet;         // its network (host bits ignored)
  Ipv4Address address;       // the downstream's own address: router and DNS server for clients
  int firstHost = 10;        // DHCP pool: host numbers within subnet, inclusive
  int lastHost = 250;
  int leaseTimeSec = 3600;   // 120 s .. 7 days
  // IPv6: the downstream's own address in its /64 (<pfx>::1/64). When set, dnsmasq also sends
  // router advertisements for that /64 (SLAAC) with itself as the DNS server (RDNSS and
  // stateless DHCPv6), and answers DNS on that address (--bind-dynamic).
  std::optional<Ipv6Prefix> address6{};
  // Local-only (Android's LocalOnlyHotspot): DNS answers only local names (the clients'
  // DHCP hostnames in the local domain) and forwards nothing upstream (no --servers-file).
  bool localOnly = false;
  // The clients' local domain (checked by the config: labels of a-z 0-9 -): --domain and
  // --local (never asked upstream), the DHCPv4 domain name, and with IPv6 the DNSSL of the RAs
  // and DHCPv6's domain search. "" = none (a local-only downstream then uses "lan").
  std::string domain = "lan";
  // IPv6: stateful DHCPv6 addresses too (M=1), besides SLAAC (A=1 stays for clients without
  // DHCPv6); else stateless (M=0, O=1).
  bool dhcp6Stateful = false;
  // IPv6 relay mode: address6's /64 is the upstream's, announced off-link (L=0, A=1: the
  // clients send everything to the router, which routes each address back by a /128), and
  // always stateless (addresses of the upstream's link are not handed out by DHCPv6).
  bool offLink = false;
  // The user dnsmasq drops to (--user; "" = its built-in default, nobody). tetherd gives it
  // Debian's own `dnsmasq` user when there is one (dnsmasqUser()), so that the policy rule that
  // sends dnsmasq's upstream queries through the selected upstream (uidrange) matches nothing
  // else of the appliance's. A plain user name ([a-z_][a-z0-9_-]*, at most 32).
  std::string user{};
};

// The user tetherd's dnsmasq instances run as: Debian's `dnsmasq` (made by dnsmasq-base's
// postinst) when the system has it, else `nobody` (what dnsmasq drops to without --user), with
// its uid; no uid when neither exists. Looked up once.
struct DnsmasqUser {
  std::string name;                 // "" = no --user (nobody)
  std::optional<uint32_t> uid;
};
const DnsmasqUser& dnsmasqUser();

// The files an instance uses.
std::string dnsmasqServersPath(const std::string& runDir);                          // shared by all instances
std::string dnsmasqPidPath(const std::string& runDir, const std::string& ifname);
std::string dnsmasqLeasePath(const std::string& stateDir, const std::string& ifname);
// The instance's --dhcp-hostsfile (static leases): in run_dir, 0644, as dnsmasq re-reads it
// as its user on every SIGHUP (dnsmasq 2.90's man page: --dhcp-hostsfile is re-read on SIGHUP).
std::string dnsmasqHostsPath(const std::string& runDir, const std::string& ifname);

// The full argv (argv[0] = binary). Refused (InvalidArgument, naming the field) when the
// interface name is not a plain name dnsmasq can take as a tag ([A-Za-z0-9._-], validIfname),
// a path is not absolute or carries control characters, the address is not a host of the
// subnet, the pool does not fit the subnet or contains the downstream's own address, or the
// lease time is out of range.
Result<std::vector<std::string>> dnsmasqArgv(const std::string& binary, const DnsmasqDownstream& downstream,
                                             const std::string& runDir, const std::string& stateDir);

// Whether a process's argv (from /proc/<pid>/cmdline) is an instance tetherd started with
// this binary, run dir and state dir: argv[0] is `binary`, it reads no config ("-C /dev/null")
// and its --interface, --pid-file and --dhcp-leasefile are the ones dnsmasqArgv gives for the
// same interface (and that interface is `ifname` when one is given). Used before a stale kill.
bool isOwnDnsmasq(const std::vector<std::string>& argv, const std::string& binary, const std::string& runDir,
                  const std::string& stateDir, const std::string& ifname = "");

// The --servers-file content: "server=1.2.3.4\n" per upstream DNS server, in order; "" when none.
// IPv6 servers follow, "server=2001:db8::53\n" each.
std::string dnsmasqServersFile(const std::vector<Ipv4Address>& servers, const std::vector<Ipv6Address>& servers6 = {});

// A static lease (issue 14 point 5): the client with this MAC always gets this address (and,
// when set, this name in the downstream's DNS).
struct StaticLease {
  std::string mac;       // normalised unicast "aa:bb:cc:dd:ee:ff"
  Ipv4Address ip;
  std::string hostname;  // "" for none; else an RFC 1123 label (validHostLabel)
  bool operator==(const StaticLease&) const = default;
};

// An RFC 1123 host label: 1-63 of [A-Za-z0-9-], not starting or ending with '-'.
bool validHostLabel(std::string_view name);

// The --dhcp-hostsfile text for a downstream on `subnet`: "<mac>,<ip>[,<hostname>]\n" for each
// static lease whose address is a host of that subnet (neither its network nor its broadcast
// address), in the order given; the others are left out (they belong to another downstream, or
// to a subnet this downstream has left).
std::string dnsmasqHostsFile(const std::vector<StaticLease>& leases, const Ipv4Prefix& subnet);

// dnsmasq's lease file, as dnsmasq 2.90 writes it (lease.c), one lease a line:
//   "<expiry> <hwaddr> <ipv4> <hostname|*> <client-id|*>"      a DHCPv4 lease
//   "duid <hex:bytes>"                                        the server's DUID, once
//   "<expiry> [T]<iaid> <ipv6> <hostname|*> <client-id|*>"    DHCPv6 leases, after the duid line
// <hwaddr> is the request's hardware address: "aa:bb:cc:dd:ee:ff" for Ethernet (hardware type
// 1); for any other type, or no address at all (hardware length 0), the type comes first as
// two hex digits and '-': "06-02:de:ad:be:ef:01" (IEEE 802, 6 bytes), "20-" (length 0). A
// type-less address is Ethernet (dnsmasq reads it so too).
struct Lease {
  long long expiry = 0;   // seconds since the epoch; 0 = never expires
  int hwType = 1;         // ARP hardware type of the request: 1 Ethernet, 6 IEEE 802, ...
  std::string hwAddr;     // lower-case hex bytes "02:de:ad:be:ef:01" (0 to 16 bytes); "" for none
  std::string mac;        // the client's MAC: hwAddr when it is 6 bytes (an EUI-48, whatever the
                          // type: a client sending type 6 on Ethernet has that MAC); else ""
  Ipv4Address ip;
  std::string hostname;   // "" for "*"
  std::string clientId;   // "" for "*"; else lower-case hex bytes "01:aa:..."
  bool operator==(const Lease&) const = default;
};

constexpr size_t kMaxLeaseHostname = 253;
constexpr size_t kMaxLeaseHwAddr = 16;  // bytes: the size of chaddr

// A DHCPv4 lease line (without its '\n'). InvalidArgument with the cause on malformed input.
Result<Lease> parseLeaseLine(std::string_view line);
// The line dnsmasq writes for `lease` (parseLeaseLine gives it back).
std::string formatLeaseLine(const Lease& lease);
// Whether `line` is a DHCPv6 lease: "<expiry> [T]<iaid> <ipv6> <hostname|*> <client-id|*>".
bool isIpv6LeaseLine(std::string_view line);

struct LeaseFile {
  struct BadLine {
    size_t number = 0;   // from 1
    std::string text;    // the line (at most kMaxLeaseLine bytes of it)
    std::string cause;   // parseLeaseLine's error
    bool operator==(const BadLine&) const = default;
  };
  std::vector<Lease> leases;   // the DHCPv4 leases, in file order
  size_t ipv6Leases = 0;       // DHCPv6 lease lines: skipped (tetherd serves IPv4 only)
  std::vector<BadLine> bad;    // every other line that is not a lease
};
constexpr size_t kMaxLeaseLine = 1024;
// Every line of a lease file: a lease, a skipped DHCPv6 lease, or a bad line with its cause.
// Empty lines and the "duid" line are neither.
LeaseFile parseLeaseFile(std::string_view text);

}  // namespace tetherd
