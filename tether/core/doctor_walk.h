// The packet walk shared by doctor's nftables and iptables-legacy checks (doctor.h): a
// three-valued rule match, the traffic of a flow, and a chain walk that follows jumps, gotos and
// returns. Internal to tether/core.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "tether/core/doctor.h"

namespace tetherd::doctor {

enum class Tri { No, Yes, Maybe };

inline Tri both(Tri a, Tri b) {
  if (a == Tri::No || b == Tri::No) return Tri::No;
  return a == Tri::Maybe || b == Tri::Maybe ? Tri::Maybe : Tri::Yes;
}

// What doctor knows of one packet; none = not known.
struct Packet {
  std::optional<std::string> iif, oif;
  std::optional<Ipv4Prefix> saddr, daddr;  // the subnet the address lies in
  bool reply = false;                      // conntrack state established (else new)
};

inline Packet packetOf(const Flow& f, bool reply) {
  Packet p;
  p.reply = reply;
  std::optional<std::string> ds = f.downstream.empty() ? std::nullopt : std::optional<std::string>(f.downstream);
  p.iif = reply ? f.upstream : ds;
  p.oif = reply ? ds : f.upstream;
  (reply ? p.daddr : p.saddr) = f.subnet;
  return p;
}

inline std::string trafficOf(const Flow& f, bool reply) {
  if (f.downstream.empty()) return reply ? "replies to tethered clients" : "forwarded traffic from tethered clients";
  const std::string ds = f.downstream + (f.subnet ? " (" + f.subnet->str() + ")" : "");
  if (reply) return "replies" + (f.upstream ? " from " + *f.upstream : std::string{}) + " to " + ds;
  return "forwarded traffic from " + ds + (f.upstream ? " to " + *f.upstream : std::string{});
}

struct Verdict {
  enum Kind { None, Accept, Drop, Reject, Return, Continue, Jump, Goto, Unknown } kind = None;
  std::string target;  // Jump, Goto
};

struct RuleEval {
  Tri applies = Tri::Yes;
  Verdict verdict;
};

template <class Chain>
struct Outcome {
  enum Kind { Return, Accept, Drop, Unknown } kind = Return;
  const Chain* chain = nullptr;  // Drop: the chain and rule (0-based) that dropped
  size_t rule = 0;
  bool reject = false;
};

// Follows `p` from `chain`: ops.size(chain), ops.eval(chain, i, p) -> RuleEval,
// ops.target(chain, name) -> const Chain* (nullptr: no such chain). A rule counts only when it
// certainly applies. Bounded: a walk deeper than 16 chains or longer than `budget` rules ends
// Unknown (the kernel refuses loops; the bound is for any input).
template <class Chain, class Ops>
Outcome<Chain> walk(const Chain* chain, const Packet& p, const Ops& ops, size_t& budget, int depth = 0) {
  using O = Outcome<Chain>;
  if (depth > 16) return O{O::Unknown};
  const size_t n = ops.size(*chain);
  for (size_t i = 0; i < n; ++i) {
    if (budget == 0) return O{O::Unknown};
    --budget;
    const RuleEval r = ops.eval(*chain, i, p);
    if (r.applies != Tri::Yes) continue;
    switch (r.verdict.kind) {
      case Verdict::None:
      case Verdict::Continue: continue;
      case Verdict::Accept: return O{O::Accept};
      case Verdict::Unknown: return O{O::Unknown};
      case Verdict::Drop:
      case Verdict::Reject: return O{O::Drop, chain, i, r.verdict.kind == Verdict::Reject};
      case Verdict::Return: return O{O::Return};
      case Verdict::Jump:
      case Verdict::Goto: {
        const Chain* target = ops.target(*chain, r.verdict.target);
        if (target == nullptr) continue;
        O o = walk(target, p, ops, budget, depth + 1);
        if (r.verdict.kind == Verdict::Goto || o.kind != O::Return) return o;  // a goto's return leaves this chain too
        continue;
      }
    }
  }
  return O{O::Return};
}

inline constexpr size_t kWalkBudget = 20000;

// Blockers gathered flow by flow: one per rule, naming all the traffic it stops.
struct Blockers {
  std::vector<Blocker> list;
  void add(Blocker b, const std::string& traffic) {
    auto it = std::find_if(list.begin(), list.end(), [&](const Blocker& x) { return x.where == b.where && x.rule == b.rule; });
    if (it == list.end()) it = list.insert(list.end(), std::move(b));
    if (std::find(it->traffic.begin(), it->traffic.end(), traffic) == it->traffic.end()) it->traffic.push_back(traffic);
  }
};

}  // namespace tetherd::doctor
