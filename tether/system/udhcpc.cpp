#include "tether/system/udhcpc.h"

#include <algorithm>

#include "tether/base/ip.h"

namespace tetherd {

namespace {

bool cleanAbsolutePath(const std::string& p) {
  if (p.empty() || p.front() != '/' || p.size() > 200 || p.find("/../") != std::string::npos || p.ends_with("/.."))
    return false;
  return std::none_of(p.begin(), p.end(), [](unsigned char c) { return c < 0x21 || c == 0x7f || c == '"' || c == '\''; });
}

}  // namespace

std::string udhcpcScriptPath(const std::string& runDir, const std::string& ifname) {
  return runDir + "/udhcpc-" + ifname + ".sh";
}

Result<std::vector<std::string>> udhcpcArgv(const std::string& binary, const std::string& ifname,
                                            const std::string& script) {
  if (!cleanAbsolutePath(binary)) return makeError(Errc::InvalidArgument, "udhcpc: '" + binary + "' is not a clean absolute path");
  if (!plainIfname(ifname)) return makeError(Errc::InvalidArgument, "ifname: '" + ifname + "' is not a plain interface name");
  if (!cleanAbsolutePath(script)) return makeError(Errc::InvalidArgument, "script: '" + script + "' is not a clean absolute path");
  return std::vector<std::string>{binary, "-f", "-R", "-i", ifname, "-s", script, "-t", "3", "-T", "2", "-A", "5"};
}

Result<std::string> udhcpcScript(const std::string& ifname, const std::string& resolv) {
  if (!plainIfname(ifname)) return makeError(Errc::InvalidArgument, "ifname: '" + ifname + "' is not a plain interface name");
  if (!cleanAbsolutePath(resolv)) return makeError(Errc::InvalidArgument, "resolv: '" + resolv + "' is not a clean absolute path");
  const std::string& i = ifname;  // plain: safe unquoted
  const std::string r = "\"" + resolv + "\"";  // clean: no quote, no space
  return "#!/bin/sh\n"
         "# Written by tetherd: the IPv4 lease of the Wi-Fi upstream " + i + " (busybox udhcpc).\n"
         "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
         "set -f\n"
         "[ \"$interface\" = " + i + " ] || exit 1\n"
         "case \"$1\" in\n"
         "  deconfig)\n"
         "    ip -4 route flush dev " + i + " proto static\n"
         "    ip -4 addr flush dev " + i + "\n"
         "    rm -f " + r + "\n"
         "    ;;\n"
         "  bound|renew)\n"
         "    case \"$ip\" in ''|*[!0-9.]*) echo \"udhcpc script: bad ip\" >&2; exit 1 ;; esac\n"
         "    case \"$mask\" in ''|*[!0-9]*) echo \"udhcpc script: bad mask\" >&2; exit 1 ;; esac\n"
         "    gw=\"${router%% *}\"\n"
         "    case \"$gw\" in *[!0-9.]*) echo \"udhcpc script: bad router\" >&2; exit 1 ;; esac\n"
         "    case \"$(ip -4 -o addr show dev " + i + ")\" in\n"
         "      *\" inet $ip/$mask \"*) ;;\n"
         "      *) ip -4 addr flush dev " + i + "; ip -4 addr add \"$ip/$mask\" dev " + i + " ;;\n"
         "    esac\n"
         "    [ -z \"$gw\" ] || ip -4 route replace default via \"$gw\" dev " + i + " metric 600 proto static\n"
         "    : >" + r + ".new\n"
         "    for s in $dns; do\n"
         "      case \"$s\" in ''|*[!0-9.]*) ;; *) echo \"nameserver $s\" >>" + r + ".new ;; esac\n"
         "    done\n"
         "    mv -f " + r + ".new " + r + "\n"
         "    echo \"udhcpc: $1 $ip/$mask router=$gw dns=$dns lease=${lease:-?}\"\n"
         "    ;;\n"
         "esac\n"
         "exit 0\n";
}

}  // namespace tetherd
