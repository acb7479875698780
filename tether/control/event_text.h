// The core's typed events (tether/core/events.h) as the control socket's 6xx lines, the text
// netd-style clients (`tetherctl monitor`, scripts, the tests) read:
//   600 Iface added|removed <ifname>            600 Iface linkstate <ifname> up|down
//   614 Address <a.b.c.d/len> <ifname> updated|removed
//   610 Tether master|<ifname> <state>[ <errc>: <cause>]
//   611 Upstream <ifname>|none
//   612 Station connected|disconnected <mac> <ifname>
//   613 IfaceClass idle <ifname> off|failed      (no client for its idle timeout)
//   601 limit alert <mac> warning|reached used=<bytes> quota=<bytes>   (80 % / all of the day's quota)
//   610 Client blocked|unblocked <mac>            610 Config reloaded
// A pure function: only here does an event become text.
#pragma once

#include <string>

#include "tether/core/events.h"

namespace tetherd::control {

struct EventLine {
  int code = 0;      // control::code::...Change (6xx)
  std::string text;  // the message after the code, without a line end
  bool operator==(const EventLine&) const = default;
};

EventLine formatEvent(const Event& event);

}  // namespace tetherd::control
