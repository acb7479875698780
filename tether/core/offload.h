// Flowtable offload (issue 18, [tethering] offload = software): the established TCP and UDP
// flows between the tethered downstreams and the selected upstream are put into an nftables
// flowtable of tetherd's own, so their packets skip the netfilter hooks (the iptables chains
// included) after the first few. Pure: which flows may be offloaded (planOffload) and the
// nftables text that makes it so (offloadRuleset), tested by exact text; the manager hands the
// text to the NftRuleset port (tether/system/netfilter/nft_ruleset.h) through OffloadApplier.
//
// What must hold is decided in the iptables chains, so whatever they must see is never
// offloaded: clients with a rate limit (their HTB class must see every packet; the VM's offload
// scenario measures the limit holding with offload on), clients with a quota (xt_quota would not see the bytes),
// blocked clients, and downstreams with a limit or a quota of their own. The forward chain runs
// after iptables' filter FORWARD (priority 100 > 0), so a packet iptables drops never adds its
// flow. Only IPv4 is offloaded: the accounting of offloaded flows (offload_counts.h) reads
// IPv4 conntrack entries, so IPv6 flows keep the normal path, counted by ip6tables.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "tether/core/planner.h"

namespace tetherd {

constexpr const char* kOffloadTable = "tetherd_offload";  // family inet
// The conntrack mark bit the forward chain sets on the flows it offloads: their bytes are
// counted from conntrack's accounting (offload_counts.h), which sees offloaded packets.
constexpr uint32_t kOffloadMark = 0x40000000;

struct OffloadPlan {
  std::set<std::string> downstreams;  // offloaded downstreams (forwarding, no limit, no quota)
  std::string upstream;               // the selected upstream
  std::set<std::string> excluded;     // client IPv4 addresses never offloaded ("192.168.42.20")
  bool operator==(const OffloadPlan&) const = default;
};

// The plan, or why there is none ("offload = off", "no tethered downstream", ...).
struct OffloadWant {
  bool configured = false;  // offload = software
  std::optional<OffloadPlan> plan;
  std::string why;  // with no plan
  bool operator==(const OffloadWant&) const = default;
};

OffloadWant planOffload(const Facts& facts, const Intent& intent, const Desired& desired);

// One nftables transaction that makes tetherd's table exactly `p`: the table is added (empty
// if absent), deleted and made again, so the old content goes in the same commit (an upstream
// change re-points the flowtable in one step).
std::string offloadRuleset(const OffloadPlan& p);
// One transaction that deletes the table, whether or not it is there.
std::string offloadRemoval();

// A failure of the transaction in a few words: "kernel without flowtable support
// (nf_flow_table)" when the kernel refused it with ENOENT (or EOPNOTSUPP) and has no
// nf_flow_table loaded after trying (flowtableLoaded), else the error's first line.
std::string offloadFailure(const std::string& error, bool flowtableLoaded);

// Whether offload is in force (`tether status`, doctor).
struct OffloadStatus {
  bool configured = false;  // offload = software
  bool active = false;      // tetherd's flowtable is in place
  std::string reason;       // why not, when not active
  bool operator==(const OffloadStatus&) const = default;
};

}  // namespace tetherd
