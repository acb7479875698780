// Upstream selection (pure): the first interface in the priority list that is up, has a
// default route and known DNS servers and is validated (or still being probed the first time);
// while none is, the first usable one (clients can still reach a captive portal's page).
//
// An IPv6-only candidate (no IPv4 default route, but an IPv6 default, a global or unique local
// IPv6 address and IPv6 DNS servers) can be selected while the downstreams have IPv6: IPv4
// keeps precedence at the same standing, so the order is
//   1. usable with IPv4, validated or being probed, by priority;
//   2. usable IPv6-only, validated or being probed, by priority;
//   3. usable with IPv4, whatever its validation (a portal's page is still reachable);
//   4. usable IPv6-only, whatever its validation.
// A validated IPv6-only network thus beats an IPv4 one that fails validation (the clients'
// IPv6 reaches the internet, their IPv4 would not either way), but never one that validates.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/ip.h"
#include "tether/base/ip6.h"
#include "tether/core/validation.h"

namespace tetherd {

struct UpstreamView {
  std::string ifname;
  bool exists = false;
  bool up = false;  // admin up and carrier
  bool defaultRoute = false;
  std::vector<Ipv4Address> dns;
  Validation validation = Validation::Validated;  // probes off: validated
  // The health probes (none while they are off): the last one's age, RTT, portal, cause.
  std::optional<long long> lastProbeAgoMs{};
  int rttMs = 0;
  std::string portalUrl{};
  std::string detail{};
  // IPv6: a default route, a global (or unique local) address, the servers from resolv.conf.
  bool defaultRoute6 = false;
  bool address6 = false;
  std::vector<Ipv6Address> dns6{};
};

// Usable through IPv4 (the classic case), and usable through IPv6 only (see above).
bool usable4(const UpstreamView& v);
bool usable6Only(const UpstreamView& v);

// Why `chosen` is the upstream, for `upstream list`: "first validated by priority", ...
std::string selectionReason(const std::vector<std::string>& priority, const std::map<std::string, UpstreamView>& views,
                            const std::optional<std::string>& chosen, bool validating);

// ipv6: the downstreams can have IPv6 (the config's ipv6 is not off): only then is an
// IPv6-only candidate any use to them.
std::optional<std::string> chooseUpstream(const std::vector<std::string>& priority,
                                          const std::map<std::string, UpstreamView>& views, bool ipv6 = false);

// "nameserver a.b.c.d" lines of a resolv.conf, the first 8; loopback (127/8) and 0/8 servers
// are skipped (a local stub resolver cannot be asked from the downstream's dnsmasq as an
// upstream).
std::vector<Ipv4Address> parseResolvConf(std::string_view text);

}  // namespace tetherd
