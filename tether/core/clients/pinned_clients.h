// Static leases (issue 14 point 5): the pinned-clients file (state_dir/pinned-clients, 0600,
// replaced atomically, read back at start) and the check a new pin passes. Pure.
//
// A line is "<mac> <ipv4> [<hostname>]". A pin keeps its address when its downstream's subnet
// moves (a conflict, a config change): it is then dormant (in no downstream's hosts file,
// dnsmasqHostsFile leaves it out) until the subnet comes back or it is pinned again; the
// client meanwhile gets a dynamic lease. Renumbering it silently would hand out an address
// the user never chose.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/result.h"
#include "tether/system/dnsmasq.h"

namespace tetherd {

struct PinnedClientsFile {
  std::map<std::string, StaticLease> pins;  // by MAC
  struct Bad {
    int line = 0;
    std::string cause;
    bool operator==(const Bad&) const = default;
  };
  std::vector<Bad> bad;
  bool operator==(const PinnedClientsFile&) const = default;
};

// Lines split on '\n'; empty ones and '#' comments skipped; a line is taken only if pinClient
// would take its fields (a unicast MAC, an IPv4 address, an RFC 1123 label); after `maxPins`
// different MACs, or a second line for a MAC or an address, the line is refused (in `bad`).
PinnedClientsFile parsePinnedClients(std::string_view text, size_t maxPins);
// Each pin on its own line, by MAC.
std::string formatPinnedClients(const std::map<std::string, StaticLease>& pins);

// A configured downstream as a pin sees it.
struct PinSite {
  std::string ifname;
  Ipv4Prefix subnet;
  Ipv4Address address;        // the router's own
  std::vector<Lease> leases;  // its current (unexpired) leases
};

// The pin `client pin <mac> [<ip> [<hostname>]]` asks for, or InvalidArgument / NotFound naming
// the field and the cause: the MAC must be a unicast one; without an IP, the client's current
// lease address (NotFound when it has none); the IP must be a host of a configured downstream's
// subnet (not its network or broadcast address) and not that downstream's own address; no other
// MAC may hold a lease on it or have it pinned; the hostname is an RFC 1123 label.
Result<StaticLease> checkPin(const std::string& mac, const std::optional<std::string>& ip, const std::string& hostname,
                             const std::vector<PinSite>& sites, const std::map<std::string, StaticLease>& pins);

// The downstream whose subnet holds `ip` (nullptr: none).
const PinSite* siteOf(Ipv4Address ip, const std::vector<PinSite>& sites);

}  // namespace tetherd
