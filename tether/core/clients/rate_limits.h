// Rate limits (issue 14 point 4): per-client limits (state_dir/client-limits, 0600, replaced
// atomically, read back at start), and the plan that turns the leases and the configured
// limits into the shaping wanted (tether/system/shaping.h has the model). Pure.
//
// A client-limits line is "<mac> <download> <upload>", each a rate (config/rate_values.h) or
// "off". The limits follow the MAC: on whichever downstream it holds a lease, by its lease's
// address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "tether/base/result.h"
#include "tether/system/dnsmasq.h"
#include "tether/core/clients/tc_plan.h"

namespace tetherd {

struct ClientLimit {
  uint64_t down = 0, up = 0;  // bits per second; 0: none
  bool operator==(const ClientLimit&) const = default;
};
using ClientLimits = std::map<std::string, ClientLimit>;  // by normalised MAC

constexpr size_t kMaxClientLimits = 1024;

struct ClientLimitsFile {
  ClientLimits limits;
  struct Bad {
    int line = 0;
    std::string cause;
    bool operator==(const Bad&) const = default;
  };
  std::vector<Bad> bad;
};
ClientLimitsFile parseClientLimits(std::string_view text, size_t maxLimits);
std::string formatClientLimits(const ClientLimits& limits);

// `client limit <mac> <down> <up>` or `client limit <mac> off`: the limit, or InvalidArgument
// naming the field (mac, download, upload) and the cause. Both "off" is no limit: NotFound-free
// removal is the caller's.
Result<std::pair<std::string, ClientLimit>> checkClientLimit(const std::string& mac, const std::string& down,
                                                             const std::string& up);
std::string describeClientLimit(const std::string& mac, const ClientLimit& l);  // "<mac> 5Mbit off"

// One configured downstream as the plan sees it.
struct ShapingSite {
  IfaceKind kind = IfaceKind::Ethernet;
  std::vector<Lease> leases;  // its current leases
  std::map<std::string, std::vector<Ipv6Address>> addrs6{};  // the clients' IPv6 addresses by MAC
};

// Each downstream with a limit of its kind or a limited client among its leases gets a
// LinkShaping; the others none. A MAC with two leases on one downstream: the newest (latest
// expiry) counts.
ShapingState planShaping(const Config& config, const ClientLimits& limits, const std::map<std::string, ShapingSite>& sites,
                         bool fqCodel);

// Whether any limit is configured at all (else leases need not even be read).
bool anyLimits(const Config& config, const ClientLimits& limits);

}  // namespace tetherd
