// Upstream selection (pure): the first interface in the priority list that is up, has a
// default route and known DNS servers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/ip.h"

namespace tetherd {

struct UpstreamView {
  std::string ifname;
  bool exists = false;
  bool up = false;  // admin up and carrier
  bool defaultRoute = false;
  std::vector<Ipv4Address> dns;
};

std::optional<std::string> chooseUpstream(const std::vector<std::string>& priority,
                                          const std::map<std::string, UpstreamView>& views);

// "nameserver a.b.c.d" lines of a resolv.conf, the first 8; loopback (127/8) and 0/8 servers
// are skipped (a local stub resolver cannot be asked from the downstream's dnsmasq as an
// upstream).
std::vector<Ipv4Address> parseResolvConf(std::string_view text);

}  // namespace tetherd
