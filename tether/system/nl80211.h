// The few nl80211 (generic netlink, libnl-genl) operations the Wi-Fi upstream needs: a second
// interface on a station's radio for the soft AP, and removing it. Synchronous: each is one
// request the kernel answers at once.
#pragma once

#include <string>

#include "tether/base/result.h"

namespace tetherd {

// The wiphy index of a Wi-Fi interface (/sys/class/net/<if>/phy80211/index). NotFound when the
// interface does not exist or is not Wi-Fi.
Result<int> wiphyOf(const std::string& ifname);

// NL80211_CMD_NEW_INTERFACE: `apIf` of type AP on the radio of `stationIf`, with MAC `mac`
// ("02:00:00:00:00:10"; hwsim gives a new interface the radio's first MAC otherwise, and
// hostapd then fails "Name not unique on network"). The kernel's refusal is returned with its
// reason; EBUSY/EOPNOTSUPP name the radio's interface combinations.
Status createApInterface(const std::string& stationIf, const std::string& apIf, const std::string& mac);

// NL80211_CMD_DEL_INTERFACE. An interface that does not exist is not an error.
Status deleteWifiInterface(const std::string& ifname);

}  // namespace tetherd
