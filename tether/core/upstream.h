// Upstream selection (pure): the first interface in the priority list that is up, has a
// default route and known DNS servers and is validated (or still being probed the first time);
// while none is, the first usable one (clients can still reach a captive portal's page).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/ip.h"
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
};

// Why `chosen` is the upstream, for `upstream list`: "first validated by priority", ...
std::string selectionReason(const std::vector<std::string>& priority, const std::map<std::string, UpstreamView>& views,
                            const std::optional<std::string>& chosen, bool validating);

std::optional<std::string> chooseUpstream(const std::vector<std::string>& priority,
                                          const std::map<std::string, UpstreamView>& views);

// "nameserver a.b.c.d" lines of a resolv.conf, the first 8; loopback (127/8) and 0/8 servers
// are skipped (a local stub resolver cannot be asked from the downstream's dnsmasq as an
// upstream).
std::vector<Ipv4Address> parseResolvConf(std::string_view text);

}  // namespace tetherd
