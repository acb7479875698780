// What a dhcpcd killed with SIGKILL leaves behind: the `unreachable <delegated prefix> dev lo
// proto dhcp` route it adds for a delegation (so that the parts not given to a downstream are
// not looped back to the upstream). It removes the route itself when it stops cleanly; after
// SIGKILL (a kill -9, or its stop timing out) tetherd removes it, and only that route: the exact
// prefix, in main, of protocol dhcp (another program's routes for the same prefix stay).
#pragma once

#include "tether/base/ip6.h"
#include "tether/base/result.h"

namespace tetherd {

// RTM_DELROUTE of that route (libnl, its own socket). A route that is not there is success.
Status removeDhcpUnreachable6(const Ipv6Prefix& delegated);

}  // namespace tetherd
