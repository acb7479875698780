// Strict reverse-path filtering on an upstream candidate (issue 13). With rp_filter = 1 the
// kernel drops a packet arriving on an interface that the main table would not use to reach its
// source: the replies to a candidate's health probes (sent through its own table) and to the
// tethered traffic of a selected upstream that is not the main table's default route. The
// kernel uses the larger of conf/all and conf/<if>. Loose mode (2) keeps the anti-spoofing
// check against any route; tetherd changes nothing itself, it says so (doctor, log).
#pragma once

#include <optional>
#include <string>

#include "tether/system/sysctl.h"

namespace tetherd {

// max(net.ipv4.conf.all.rp_filter, net.ipv4.conf.<if>.rp_filter); nullopt when unreadable.
std::optional<int> effectiveRpFilter(Sysctl& sysctl, const std::string& ifname);

// The line doctor and the log give for a candidate whose effective rp_filter is 1.
std::string strictRpFilterProblem(const std::string& ifname);

}  // namespace tetherd
