// `tether doctor`: the usual reasons why a tethered client is "connected but has no internet",
// each said in one line that names what to look at. diagnose() is pure (facts in, lines out);
// gatherFacts() reads them from the manager, the kernel (sysctl, libiptc) and the nftables
// ruleset (libnftables, JSON output: no `nft` process is spawned).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/result.h"

namespace tetherd {

class TetherManager;

namespace doctor {

// The built-in FORWARD chain of iptables-legacy's filter table.
struct LegacyForward {
  std::string policy;        // "ACCEPT", "DROP"
  bool jumpPresent = false;  // some rule jumps to tetherd_FORWARD
  bool jumpFirst = false;    // the first rule does
};

struct Facts {
  bool tethering = false;                   // `tether start` in force
  std::vector<std::string> tethered;        // downstreams in state tethered
  std::vector<std::string> dnsmasqStopped;  // tethered downstreams whose dnsmasq is not running
  std::optional<std::string> upstream;
  std::vector<std::string> upstreamPriority;
  Result<bool> ipForward = false;                        // net.ipv4.ip_forward
  Result<LegacyForward> legacyForward = LegacyForward{};
  Result<std::string> nftRuleset = std::string{};        // `nft -j list ruleset` (JSON)
};

// One line per problem, "problem <what, naming table/chain/hook/policy or interface>: <effect>",
// then one "unchecked <what>: <why>" line per fact that could not be read.
std::vector<std::string> diagnose(const Facts& facts);

// The nftables base chains that drop forwarded IPv4 traffic from the tethered downstreams: hook
// forward, family ip or inet, policy drop, unless the chain itself accepts each downstream
// (a rule `iifname "<ds>" ... accept`) and its replies (`oifname "<ds>" ... accept` or
// `ct state established ... accept`). As "nftables table <family> <table> chain <chain>".
// InvalidArgument when `json` is not nft's JSON output.
Result<std::vector<std::string>> nftForwardDrops(std::string_view json, const std::vector<std::string>& tethered);

// The real facts (see the file comment).
Facts gatherFacts(TetherManager& manager);

}  // namespace doctor
}  // namespace tetherd
