// `tether doctor`: the usual reasons why a tethered client is "connected but has no internet",
// each said in one line that names what to look at. diagnose() is pure (facts in, lines out);
// gatherFacts() reads them from the manager, the kernel (sysctl, libiptc) and the nftables
// ruleset (libnftables, JSON and text output: no `nft` process is spawned).
//
// The firewall checks follow the tethered traffic through the rules: for each tethered
// downstream, a new flow (iif the downstream, oif the upstream, source in the downstream's
// subnet) and its replies (the other way, conntrack state established). A rule matches when
// each of its matches certainly holds for that traffic (interfaces, IPv4/IPv6, conntrack state,
// `ct status dnat`, IPv4 addresses against the subnet); a match doctor cannot decide (a port,
// a mark, a limit, an iptables extension) makes the rule not count. The first rule (or the
// policy) that drops or rejects is named: table, chain, rule number, handle and text.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tether/base/ip.h"
#include "tether/base/result.h"

namespace tetherd {

class TetherManager;

namespace doctor {

// One rule of iptables-legacy's filter table, as far as doctor reads it (libiptc).
struct LegacyRule {
  std::string in, out;  // "-i"/"-o" as iptables prints them ("usb0", "usb+"); empty = any
  bool inInvert = false, outInvert = false;
  std::optional<Ipv4Prefix> src, dst;  // "-s"/"-d"; none = any
  bool srcInvert = false, dstInvert = false;
  uint16_t proto = 0;  // "-p"; 0 = any
  bool protoInvert = false;
  std::vector<std::string> matches;  // "-m" extensions (doctor does not read their options)
  bool fragment = false;             // "-f"
  std::string target;                // "ACCEPT", "DROP", "REJECT", "RETURN", a chain, another target
  bool isGoto = false;               // "-g" rather than "-j"
};

struct LegacyChain {
  std::string policy;  // built-in chains: "ACCEPT", "DROP"; user chains: ""
  std::vector<LegacyRule> rules;
};

// The filter table: FORWARD and the user chains (by name).
using LegacyFilter = std::map<std::string, LegacyChain>;

// The rule as `iptables -S` prints it, extension options left out:
// "-A FORWARD -s 10.0.0.0/8 -i usb0 -p tcp -m conntrack -j DROP".
std::string legacyRuleText(const std::string& chain, const LegacyRule& rule);

struct Facts {
  bool tethering = false;                   // `tether start` in force
  std::vector<std::string> tethered;        // downstreams in state tethered
  std::map<std::string, Ipv4Prefix> subnets;  // tethered downstream -> its subnet (when known)
  std::vector<std::string> dnsmasqStopped;  // tethered downstreams whose dnsmasq is not running
  std::optional<std::string> upstream;
  std::vector<std::string> upstreamPriority;
  // IPv6 (issue 12): the mode configured ("off", "auto", "pd", "relay", "nat66"), the one the
  // downstreams get ("off", "pd", "relay", "nat66") and what the upstream has; whether dhcpcd asks it for
  // a prefix and the prefix held ("" none), and the downstreams that had no /64 of it.
  std::string ipv6Configured = "off";
  std::string ipv6Mode = "off";
  bool upstreamIpv6Address = false, upstreamIpv6Route = false;
  bool pdAsked = false;
  std::string delegated;
  std::vector<std::string> pdLeft;
  // Relay: whether the upstream has a /64 from router advertisements; while relaying, the /64
  // shared ("" none), the downstreams sharing it and how many client addresses are proxied.
  bool upstreamSlaac64 = false;
  std::string relayed;
  std::vector<std::string> relayDownstreams;
  size_t relayHosts = 0;
  Result<bool> ipForward = false;                        // net.ipv4.ip_forward
  std::vector<std::string> strictRpFilter;               // candidates with rp_filter 1 (rp_filter.h)
  Result<LegacyFilter> legacyFilter = LegacyFilter{{"FORWARD", LegacyChain{"ACCEPT", {}}}};
  Result<std::string> nftRuleset = std::string{};        // `nft -j list ruleset` (JSON)
  std::string nftText;                                   // `nft -a list ruleset` (text; "" if unread)
  // Flowtable offload (issue 18): "" while offload = off, "active", or why it is not.
  std::string offload;
};

// One line per problem, "problem <what, naming table/chain/rule or interface>: <effect>",
// then one "unchecked <what>: <why>" line per fact that could not be read.
std::vector<std::string> diagnose(const Facts& facts);

// ---- The pure firewall walks (tested and fuzzed on their own) -------------------------------

// Traffic of one tethered downstream; an empty downstream stands for "some tethered client"
// (tethering not started): then only what drops any forwarded traffic counts.
struct Flow {
  std::string downstream;
  std::optional<std::string> upstream;
  std::optional<Ipv4Prefix> subnet;
};

// A rule or policy that drops or rejects some of the flows.
struct Blocker {
  std::string where;   // "nftables table inet filter chain forward", "iptables-legacy table filter chain FORWARD"
  int rule = 0;        // 1-based position in its chain; 0: the chain's policy
  uint64_t handle = 0;  // nftables rule handle (0: none)
  std::string text;    // the rule's text; the policy ("policy drop")
  std::string verdict;  // "drops" or "rejects"
  std::vector<std::string> traffic;  // "forwarded traffic from usb0 (192.168.42.0/24) to eth0", "replies from eth0 to usb0"
  std::string note;    // extra words after the rule ("before tetherd's jump (rule 2)")
};

// nftables: the blockers in every forward-hook base chain of family ip or inet. `json` is the
// JSON ruleset; `texts` the rules' text (nftRuleTexts) to name them by. InvalidArgument when
// `json` is not nft's JSON output.
using NftRuleKey = std::tuple<std::string, std::string, std::string, uint64_t>;  // family, table, chain, handle
Result<std::vector<Blocker>> nftBlockers(std::string_view json, const std::map<NftRuleKey, std::string>& texts,
                                         const std::vector<Flow>& flows);

// The text of each rule in `nft -a list ruleset` output ("ct state invalid drop" for
// "ct state invalid drop # handle 12"), by family, table, chain and handle. Lines it does not
// understand are skipped.
std::map<NftRuleKey, std::string> nftRuleTexts(std::string_view text);

// iptables-legacy: the rule (or FORWARD's policy) that drops the flows before tetherd's jump
// (tetherd_FORWARD accepts tethered traffic both ways: what comes after it does not matter).
std::vector<Blocker> legacyBlockers(const LegacyFilter& filter, const std::vector<Flow>& flows);

// The real facts (see the file comment).
Facts gatherFacts(TetherManager& manager);

}  // namespace doctor
}  // namespace tetherd
