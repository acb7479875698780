#include "tether/core/offload.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace tetherd {

namespace {

std::string joinQuoted(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + ("\"" + n + "\"");
  return out;
}

std::string joinPlain(const std::set<std::string>& items) {
  std::string out;
  for (const auto& n : items) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

OffloadWant planOffload(const Facts& facts, const Intent& intent, const Desired& desired) {
  if (intent.config.offload == OffloadMode::Off) return {false, std::nullopt, "offload = off"};
  if (!desired.firewall || desired.firewall->pairs.empty()) return {true, std::nullopt, "no tethered downstream"};
  if (!desired.upstream) return {true, std::nullopt, "no upstream"};
  const FirewallState& fw = *desired.firewall;
  OffloadPlan p;
  p.upstream = *desired.upstream;
  bool any = false;
  for (const auto& pair : fw.pairs) {
    if (pair.upstream != p.upstream || !fw.downstreams.count(pair.downstream)) continue;
    any = true;
    const auto sh = desired.shaping.find(pair.downstream);
    if (sh != desired.shaping.end() && (sh->second.down != 0 || sh->second.up != 0)) continue;  // its own limit
    if (intent.quotas.downstreams.count(pair.downstream)) continue;                              // its own quota
    p.downstreams.insert(pair.downstream);
  }
  if (!any) return {true, std::nullopt, "no tethered downstream"};
  if (p.downstreams.empty()) return {true, std::nullopt, "every tethered downstream has a rate limit or a quota"};
  for (const auto& [ifname, link] : desired.shaping)
    for (const auto& c : link.clients) p.excluded.insert(c.ip.str());
  for (const auto& [addr, mac] : fw.quotaOf)
    if (addr.find(':') == std::string::npos) p.excluded.insert(addr);
  for (const auto& [ifname, leases] : facts.clientLeases) {
    for (const auto& l : leases)
      if (!l.mac.empty() && intent.blocked.count(l.mac)) p.excluded.insert(l.ip.str());
  }
  return {true, std::move(p), {}};
}

std::string offloadRuleset(const OffloadPlan& p) {
  std::set<std::string> devices = p.downstreams;
  devices.insert(p.upstream);
  const std::string downs = p.downstreams.size() == 1 ? "\"" + *p.downstreams.begin() + "\"" : "{ " + joinQuoted(p.downstreams) + " }";
  std::string t = offloadRemoval();
  t += std::string("table inet ") + kOffloadTable + " {\n";
  t += "\tflowtable ft {\n";
  t += "\t\thook ingress priority filter\n";
  t += "\t\tdevices = { " + joinQuoted(devices) + " }\n";
  t += "\t\tcounter\n";
  t += "\t}\n";
  t += "\tchain forward {\n";
  t += "\t\ttype filter hook forward priority 100; policy accept;\n";
  if (!p.excluded.empty()) {
    t += "\t\tip saddr { " + joinPlain(p.excluded) + " } return\n";
    t += "\t\tip daddr { " + joinPlain(p.excluded) + " } return\n";
  }
  char mark[16];
  std::snprintf(mark, sizeof mark, "0x%08x", kOffloadMark);
  const std::string add = std::string(" meta nfproto ipv4 meta l4proto { tcp, udp } ct state established ct mark set ct mark or ") + mark + " flow add @ft\n";
  t += "\t\tiifname " + downs + " oifname \"" + p.upstream + "\"" + add;
  t += "\t\tiifname \"" + p.upstream + "\" oifname " + downs + add;
  t += "\t}\n";
  t += "}\n";
  return t;
}

std::string offloadRemoval() {
  return std::string("add table inet ") + kOffloadTable + "\ndelete table inet " + kOffloadTable + "\n";
}

std::string offloadFailure(const std::string& error, bool flowtableLoaded) {
  std::string line = error.substr(0, error.find('\n'));
  const std::string l = lower(error);
  // Without nf_flow_table the kernel has no flowtable type: the transaction fails with ENOENT
  // (or EOPNOTSUPP), and the module is not there after the kernel tried to load it.
  if (!flowtableLoaded &&
      (l.find("no such file or directory") != std::string::npos || l.find("not supported") != std::string::npos))
    return "kernel without flowtable support (nf_flow_table)";
  if (line.starts_with("Error: ")) line.erase(0, 7);
  return line.empty() ? "the nftables transaction failed" : line;
}

}  // namespace tetherd
