// busybox udhcpc as the IPv4 DHCP client of a Wi-Fi upstream's station
// (softap/service/wifi_upstream_service.h): tetherd runs no other DHCP client for upstreams
// (wired ones are configured by the system). Pure builders of its argv and event script.
//
// udhcpc runs the script with $1 = deconfig | bound | renew | leasefail | nak and the lease in
// the environment (ip, mask as a prefix length, router, dns, lease). The values come from the
// network's DHCP server: the script checks each against a character class before use and
// never evaluates them. The default route gets metric 600 so that it never replaces another
// interface's (ip route replace matches on the metric); tetherd's per-upstream routing copies
// it into the upstream's own table.
#pragma once

#include <string>
#include <vector>

#include "tether/base/result.h"

namespace tetherd {

std::string udhcpcScriptPath(const std::string& runDir, const std::string& ifname);  // <runDir>/udhcpc-<if>.sh

// {binary, "-f", "-R", "-i", ifname, "-s", script, "-t", "3", "-T", "2", "-A", "5"}: in the
// foreground (-f: a Supervisor owns it), the lease released on SIGTERM (-R), 3 discovers 2 s
// apart, then 5 s of pause before trying again (it retries for as long as it runs).
// InvalidArgument for a non-plain ifname or a path that is not clean and absolute.
Result<std::vector<std::string>> udhcpcArgv(const std::string& binary, const std::string& ifname,
                                            const std::string& script);

// The script text for ifname (mode 0755); it acts only for that interface. At bound/renew it
// writes the lease's DNS servers (only dotted-quad words of $dns) to `resolv` in resolv.conf
// format, atomically (a temporary file renamed); at deconfig it removes it.
// InvalidArgument for a non-plain ifname or a `resolv` that is not clean and absolute.
Result<std::string> udhcpcScript(const std::string& ifname, const std::string& resolv);

}  // namespace tetherd
