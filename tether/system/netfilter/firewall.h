// The NAT/forwarding firewall (IPv4): the narrow interface the daemon talks to, the desired
// state it hands over, and the pure rule model shared by the text renderer (tested without
// root) and the libiptc adapter (which installs exactly those rules).
//
// tetherd owns its chains and hooks each into a built-in chain with one jump:
//   filter: FORWARD -> tetherd_FORWARD (-> goto tetherd_counters -> tetherd_acct_<downstream>)
//   nat:    POSTROUTING -> tetherd_nat_POSTROUTING
//   mangle: FORWARD -> tetherd_mangle_FORWARD
//   mangle: PREROUTING -> tetherd_mangle_PREROUTING (only while an idle timer is set: one
//           IDLETIMER rule per downstream with an idle timeout)
//   filter: INPUT -> tetherd_INPUT (only while admin ports or blocked clients are set: the
//           web page's port is dropped on the upstream interfaces, a blocked client's frames
//           on the downstreams, so it gets no DHCP, DNS or admin page)
// apply() rebuilds the content of those chains from a FirewallState; nothing else is touched.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/result.h"

namespace tetherd {

struct NatPair {
  std::string downstream;
  std::string upstream;
  auto operator<=>(const NatPair&) const = default;
};

// An xt_IDLETIMER timer: its label (the sysfs file /sys/class/xt_idletimer/timers/<label>;
// global across network namespaces, so unique per namespace: idleTimerLabel) and timeout.
struct IdleTimer {
  std::string label;
  uint32_t timeoutSec = 0;
  bool operator==(const IdleTimer&) const = default;
};

// The whole desired state of tetherd's own chains.
struct FirewallState {
  std::set<std::string> downstreams;  // tethered downstream interfaces
  std::set<NatPair> pairs;            // forwarding/NAT enabled between downstream and upstream
  // The admin page's TCP port(s): dropped in INPUT when they arrive on one of `upstreams`.
  // Empty: no tetherd_INPUT chain at all.
  std::set<uint16_t> adminPorts{};
  std::set<std::string> upstreams{};  // upstream interfaces (candidates and NAT targets)
  // Blocked clients: frames from these MACs (lower-case "aa:bb:cc:dd:ee:ff") arriving on one
  // of `blockOn` (the configured downstreams) are dropped in FORWARD and INPUT.
  std::set<std::string> blockedMacs{};
  std::set<std::string> blockOn{};
  // IPv6 (ip6tables): off, nothing of tetherd's is in the IPv6 tables. On, the same state is
  // written there too (buildTables6), and `nat66` names the upstreams whose IPv6 is
  // masqueraded (the nat table is used only while it is not empty).
  bool ipv6 = false;
  std::set<std::string> nat66{};
  // Local-only downstreams: nothing is forwarded from or to them (dropped first in FORWARD,
  // whatever else would accept it).
  std::set<std::string> localOnly{};
  // Idle timers, per downstream: every packet a client sends restarts it (mangle
  // PREROUTING -i <downstream> -j IDLETIMER); with ipv6, the same rule (same label, so the
  // same kernel timer) is in ip6tables too.
  std::map<std::string, IdleTimer> idleTimers{};
  // Per-client accounting (issue 14): per forwarding downstream (one of `downstreams`), its
  // clients' host addresses ("192.168.42.10"; IPv6 ones go to the IPv6 tables). Each such
  // downstream with an address of the family has a chain tetherd_acct_<downstream>, jumped to
  // from the top of tetherd_counters (-i and -o), with one counting rule per address and
  // direction (-s: upload, -d: download; -j RETURN). No address: no chain, no jump.
  std::map<std::string, std::set<std::string>> clients{};
  // Quotas (issue 14): a client address of `clients` with a quota names its client's MAC
  // (quotaOf), and the MAC the bytes it may still forward today (quotaLeft). Such a MAC has a
  // chain tetherd_quota_<mac without ':'>: "-m quota --quota <left> -j RETURN", then "-j DROP";
  // its addresses' counting rules are preceded by a jump to it (-s and -d), so what the quota
  // drops is not counted. A commit recreates the match with the figure given: the plan
  // always carries today's remaining bytes.
  std::map<std::string, std::string> quotaOf{};
  std::map<std::string, uint64_t> quotaLeft{};
  // A downstream's quota (issue 14): the bytes it may still forward, all clients together.
  // Such a downstream (one of `downstreams`) has a chain tetherd_dq_<downstream> holding
  // "-m quota --quota <left> -j RETURN", then "-j DROP", jumped to first in tetherd_counters
  // (-i and -o), before the per-client chains: what it drops is not counted.
  std::map<std::string, uint64_t> downstreamQuotaLeft{};
  bool operator==(const FirewallState&) const = default;
};

// Per pair; tx = downstream -> upstream, rx = upstream -> downstream.
struct TrafficCounter {
  std::string downstream, upstream;
  uint64_t txBytes = 0, txPackets = 0, rxBytes = 0, rxPackets = 0;
};

// Per client address (FirewallState::clients); tx = from the client, rx = to it.
struct ClientCounter {
  std::string downstream, address;
  uint64_t txBytes = 0, txPackets = 0, rxBytes = 0, rxPackets = 0;
  bool operator==(const ClientCounter&) const = default;
};

class Firewall {
 public:
  virtual ~Firewall() = default;
  // Removes everything tetherd installs (jumps + own chains) in filter, nat and mangle; ok if
  // absent. Used at start (leftovers of a crashed run) and at stop.
  virtual Status reset() = 0;
  // Makes the own chains equal `s`; hooks are created if missing. Idempotent: a table whose
  // rules do not change is not committed, a changed table is committed once (IptcFirewall
  // does not even read a table whose rules did not change since it last applied them: see
  // iptc_firewall.h for when it reads one again). Errc::Busy when
  // another process holds the xtables lock (retry later); Errc::InvalidArgument for bad names.
  virtual Status apply(const FirewallState& s) = 0;
  // Byte/packet counts per pair of the last applied state (empty after reset()).
  // Errc::NotFound when a counter rule was removed behind tetherd's back (apply() repairs it).
  virtual Result<std::vector<TrafficCounter>> counters() = 0;
  // The IPv4 per-client counters of the last applied state (FirewallState::clients), in
  // chain order; empty without any.
  virtual Result<std::vector<ClientCounter>> clientCounters() { return std::vector<ClientCounter>{}; }
};

// Pure: the exact rules, table ("filter", "nat", "mangle") -> lines, in the exact format
// `iptables-legacy -t <table> -S` prints for tetherd's chains and jumps ("-N" lines first,
// then the jumps in the built-in chains, then the own chains' rules, chains sorted by name).
std::map<std::string, std::vector<std::string>> renderFirewallRules(const FirewallState& s);
// The same for the IPv6 tables, as `ip6tables-legacy -t <table> -S` prints them (empty when
// s.ipv6 is off).
std::map<std::string, std::vector<std::string>> renderFirewallRules6(const FirewallState& s);

// ---- Rule model, shared by renderFirewallRules and IptcFirewall --------------------------
namespace fw {

inline constexpr std::string_view kChainPrefix = "tetherd_";  // every chain tetherd owns
inline constexpr std::string_view kForwardChain = "tetherd_FORWARD";
inline constexpr std::string_view kCountersChain = "tetherd_counters";
inline constexpr std::string_view kNatChain = "tetherd_nat_POSTROUTING";
inline constexpr std::string_view kMangleChain = "tetherd_mangle_FORWARD";
inline constexpr std::string_view kInputChain = "tetherd_INPUT";
inline constexpr std::string_view kIdleChain = "tetherd_mangle_PREROUTING";  // only while idle timers are set
inline constexpr std::string_view kClientChainPrefix = "tetherd_acct_";  // + downstream (<= 28)
inline std::string clientChain(std::string_view downstream) { return std::string(kClientChainPrefix) + std::string(downstream); }

inline constexpr std::string_view kQuotaChainPrefix = "tetherd_quota_";  // + MAC without ':' (26)
std::string quotaChain(std::string_view mac);
inline constexpr std::string_view kDownstreamQuotaPrefix = "tetherd_dq_";  // + downstream (<= 26)
inline std::string downstreamQuotaChain(std::string_view d) { return std::string(kDownstreamQuotaPrefix) + std::string(d); }

inline bool isOwnChain(std::string_view name) { return name.starts_with(kChainPrefix); }

// conntrack --ctstate bits; the values are the kernel's XT_CONNTRACK_STATE_* bits.
enum CtState : uint16_t {
  kCtInvalid = 1u << 0,
  kCtEstablished = 1u << 1,
  kCtRelated = 1u << 2,
  kCtNew = 1u << 3,
};

// One rule as tetherd uses them: interfaces, an optional conntrack state match, an optional
// tcp match ("-p tcp -m tcp [--dport N] [--tcp-flags SYN,RST SYN]"), an optional source MAC
// match ("-m mac --mac-source aa:bb:cc:dd:ee:ff"), and one target.
struct Rule {
  enum class Target { Accept, Drop, Jump, Goto, Masquerade, ClampMssToPmtu, IdleTimer, Return };

  std::string chain;        // the chain the rule is in ("-A <chain>")
  std::string in, out;      // "-i" / "-o"; empty = any
  // IPv6 only: -s fc00::/7, unique local sources (nat66 masquerades only its own ULA /64s:
  // downstreams with a delegated prefix are routed, not translated).
  bool ulaSource = false;
  // -s <src>/32|128 and -d <dst>/32|128: one host (plain address text); empty = any.
  std::string src, dst;
  bool tcpSyn = false;      // -p tcp -m tcp --tcp-flags SYN,RST SYN
  uint16_t dport = 0;       // -p tcp -m tcp --dport <dport>; 0 = no port match
  uint16_t ctstate = 0;     // CtState bits for -m conntrack --ctstate; 0 = no such match
  std::string macSource;    // -m mac --mac-source <mac> (lower-case, normalised); empty = none
  // IPv6 only: -p ipv6-icmp -m icmp6 --icmpv6-type <type>[/<code>] (code -1: any code).
  int icmp6Type = -1;       // -1 = no icmp6 match
  int icmp6Code = -1;
  Target target = Target::Accept;
  std::string targetChain;  // for Jump ("-j <chain>") and Goto ("-g <chain>")
  IdleTimer idle{};         // for IdleTimer ("-j IDLETIMER --timeout N --label L")
  std::optional<uint64_t> quota{};  // -m quota --quota N (xt_quota: N bytes, then no match)

  // The rule in `iptables -S` syntax: "-A chain -i x -o y ... -j TARGET".
  std::string toString() const;
  bool operator==(const Rule&) const = default;
};

// One own chain: its name, the built-in chain that jumps into it (empty = reached only from
// other own chains), and its complete content.
struct Chain {
  std::string name;
  std::string hook;
  std::vector<Rule> rules;
  bool operator==(const Chain&) const = default;
};

struct Table {
  std::string name;           // "filter", "nat", "mangle"
  std::vector<Chain> chains;  // sorted by name, as libiptc/iptables list them
  // Own chains of this table the state does not need (tetherd_INPUT without admin ports):
  // apply() removes them, with the jumps into them, when they exist.
  std::vector<std::string> absent{};
  int family = 4;  // 4: iptables (libip4tc), 6: ip6tables (libip6tc)
  bool operator==(const Table&) const = default;
};

// The jump from a chain's hook (built-in chain) into it: "-A <hook> -j <name>".
Rule hookJump(const Chain& chain);

// Everything tetherd installs for `s`: filter, nat, mangle in that order. Every own chain is
// present (possibly empty) whatever the state, so the hooks exist as long as tetherd runs;
// the one exception is tetherd_INPUT, present only while admin ports or blocked MACs are set.
std::vector<Table> buildTables(const FirewallState& s);

// The IPv6 tables for `s` (none when s.ipv6 is off): the same chains and rules as IPv4, plus
// what IPv6 needs: the ICMPv6 errors RFC 4890 says must pass inbound, new inbound flows to
// the downstreams dropped (no NAT stands in their way), and masquerading only for s.nat66,
// of unique local sources only (-s fc00::/7: a delegated prefix is routed, not translated).
std::vector<Table> buildTables6(const FirewallState& s);

// The label of a downstream's idle timer: "t<netns>_<ifname>", netns the namespace's inode
// in hex (at most 27 bytes: the kernel's limit).
std::string idleTimerLabel(uint64_t netnsInode, const std::string& ifname);

// Interface names must be valid Linux names; a pair's two sides must differ; blocked MACs
// must be normalised unicast addresses; idle labels 1-27 of [A-Za-z0-9_-], timeouts > 0.
Status validate(const FirewallState& s);

}  // namespace fw
}  // namespace tetherd
