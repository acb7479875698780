// Choosing downstream subnets (pure): the kind's preferred subnet when it overlaps nothing
// in use, else the first free candidate of the same size from 192.168/16, 172.16/12, 10/8.
#pragma once

#include <optional>
#include <vector>

#include "tether/base/ip.h"

namespace tetherd {

std::optional<Ipv4Prefix> chooseSubnet(const Ipv4Prefix& preferred, const std::vector<Ipv4Prefix>& inUse);

// The downstream's own address in a subnet: host .1, with the subnet's length.
Ipv4Prefix downstreamAddress(const Ipv4Prefix& subnet);

}  // namespace tetherd
