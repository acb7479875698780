#include "tether/core/doctor.h"

#include "tether/core/doctor_walk.h"
#include "tether/core/rp_filter.h"
#include "tether/system/netfilter/firewall.h"

namespace tetherd::doctor {

namespace {

// iptables' interface match: "usb+" is a prefix.
bool iptIfname(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && pattern.back() == '+') return name.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == name;
}

Tri invert(Tri t, bool inv) {
  if (!inv || t == Tri::Maybe) return t;
  return t == Tri::Yes ? Tri::No : Tri::Yes;
}

Tri ifaceTest(const std::string& pattern, bool inv, const std::optional<std::string>& name) {
  if (pattern.empty()) return Tri::Yes;
  if (!name) return Tri::Maybe;
  return invert(iptIfname(pattern, *name) ? Tri::Yes : Tri::No, inv);
}

Tri addrTest(const std::optional<Ipv4Prefix>& rule, bool inv, const std::optional<Ipv4Prefix>& subnet) {
  if (!rule || rule->length == 0) return inv ? Tri::No : Tri::Yes;
  if (!subnet) return Tri::Maybe;
  if (rule->length <= subnet->length && rule->contains(subnet->network())) return invert(Tri::Yes, inv);
  return rule->overlaps(*subnet) ? Tri::Maybe : invert(Tri::No, inv);
}

// Targets that do not end the walk.
bool nonTerminal(const std::string& t) {
  return t.empty() || t == "LOG" || t == "NFLOG" || t == "MARK" || t == "CONNMARK" || t == "TRACE" || t == "CLASSIFY" ||
         t == "TCPMSS" || t == "AUDIT" || t == "TOS" || t == "DSCP";
}

using LegacyEntry = LegacyFilter::value_type;

struct LegacyOps {
  const LegacyFilter& filter;
  size_t size(const LegacyEntry& c) const { return c.second.rules.size(); }
  const LegacyEntry* target(const LegacyEntry&, const std::string& name) const {
    auto it = filter.find(name);
    return it == filter.end() ? nullptr : &*it;
  }
  RuleEval eval(const LegacyEntry& c, size_t i, const Packet& p) const {
    const LegacyRule& r = c.second.rules[i];
    Tri t = both(ifaceTest(r.in, r.inInvert, p.iif), ifaceTest(r.out, r.outInvert, p.oif));
    t = both(t, both(addrTest(r.src, r.srcInvert, p.saddr), addrTest(r.dst, r.dstInvert, p.daddr)));
    if (r.proto != 0 || r.fragment || !r.matches.empty()) t = both(t, Tri::Maybe);
    Verdict v;
    if (r.target == fw::kForwardChain) v.kind = Verdict::Accept;  // tetherd's rules accept tethered traffic both ways
    else if (r.target == "ACCEPT") v.kind = Verdict::Accept;
    else if (r.target == "DROP") v.kind = Verdict::Drop;
    else if (r.target == "REJECT") v.kind = Verdict::Reject;
    else if (r.target == "RETURN") v.kind = Verdict::Return;
    else if (filter.count(r.target) != 0) v = Verdict{r.isGoto ? Verdict::Goto : Verdict::Jump, r.target};
    else if (!nonTerminal(r.target)) v.kind = Verdict::Unknown;
    return {t, v};
  }
};

std::string protoName(uint16_t p) {
  switch (p) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 47: return "gre";
    case 132: return "sctp";
    default: return std::to_string(p);
  }
}

// Control characters would break the line: shown as '?'.
std::string printable(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

}  // namespace

std::string legacyRuleText(const std::string& chain, const LegacyRule& r) {
  std::string s = "-A " + chain;
  auto opt = [&s](bool inv, const char* flag, const std::string& value) { s += std::string(inv ? " !" : "") + " " + flag + " " + value; };
  auto net = [](const Ipv4Prefix& p) { return Ipv4Prefix{p.network(), p.length}.str(); };
  if (r.src) opt(r.srcInvert, "-s", net(*r.src));
  if (r.dst) opt(r.dstInvert, "-d", net(*r.dst));
  if (!r.in.empty()) opt(r.inInvert, "-i", r.in);
  if (!r.out.empty()) opt(r.outInvert, "-o", r.out);
  if (r.proto != 0) opt(r.protoInvert, "-p", protoName(r.proto));
  if (r.fragment) s += " -f";
  for (const auto& m : r.matches) s += " -m " + m;
  if (!r.target.empty()) s += (r.isGoto ? " -g " : " -j ") + r.target;
  return s;
}

std::vector<Blocker> legacyBlockers(const LegacyFilter& filter, const std::vector<Flow>& flows) {
  auto fwd = filter.find("FORWARD");
  if (fwd == filter.end()) return {};
  int jump = 0;  // tetherd's jump in FORWARD, 1-based
  for (size_t i = 0; i < fwd->second.rules.size() && jump == 0; ++i)
    if (fwd->second.rules[i].target == fw::kForwardChain) jump = static_cast<int>(i) + 1;
  const std::string note = jump != 0 ? "before tetherd's jump (FORWARD rule " + std::to_string(jump) + ")"
                                     : "and no jump to " + std::string(fw::kForwardChain);
  const LegacyOps ops{filter};
  Blockers found;
  for (const Flow& flow : flows) {
    if (flow.downstream.empty()) continue;
    for (bool reply : {false, true}) {
      size_t budget = kWalkBudget;
      auto o = walk(&*fwd, packetOf(flow, reply), ops, budget);
      using O = decltype(o);
      if (o.kind == O::Return && fwd->second.policy == "DROP") {
        found.add(Blocker{"iptables-legacy table filter chain FORWARD", 0, 0, "policy DROP", "drops", {}, note}, trafficOf(flow, reply));
      } else if (o.kind == O::Drop) {
        found.add(Blocker{"iptables-legacy table filter chain " + o.chain->first, static_cast<int>(o.rule) + 1, 0,
                          legacyRuleText(o.chain->first, o.chain->second.rules[o.rule]), o.reject ? "rejects" : "drops", {}, note},
                  trafficOf(flow, reply));
      }
    }
  }
  return std::move(found.list);
}

namespace {

std::string lineOf(const Blocker& b) {
  std::string s = "problem " + b.where + " ";
  if (b.rule == 0) {
    s += b.text;
  } else {
    s += "rule " + std::to_string(b.rule);
    if (b.handle != 0) s += " (handle " + std::to_string(b.handle) + ")";
    if (!b.text.empty()) s += " `" + printable(b.text) + "`";
  }
  if (!b.note.empty()) s += " " + b.note;
  s += ": " + b.verdict + " ";
  for (size_t i = 0; i < b.traffic.size(); ++i) s += (i == 0 ? "" : ", ") + b.traffic[i];
  return s;
}

}  // namespace

namespace {

std::string joinNames(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : " ") + n;
  return s;
}

// ipv6 = relay (or auto relaying): in force with what, or (relay configured) why not, the
// first reason of relayPrefix's: a global address, one of /64 from router advertisements, an
// IPv6 default route.
std::string relayLine(const Facts& f) {
  const std::string& up = *f.upstream;
  if (f.ipv6Mode == "relay")
    return "ok relay active: upstream " + up + "'s /64 " + (f.relayed.empty() ? "" : f.relayed + " ") + "shared with " +
           (f.relayDownstreams.empty() ? std::string("no forwarding downstream yet") : joinNames(f.relayDownstreams)) + ", " +
           std::to_string(f.relayHosts) + " client address" + (f.relayHosts == 1 ? "" : "es") +
           " proxied (a /128 route and a proxy neighbour entry each)";
  const std::string why = !f.upstreamIpv6Address ? "has no global IPv6 address"
                          : !f.upstreamSlaac64   ? "has no /64 from router advertisements (its global addresses are static, "
                                                   "deprecated or not /64: nothing on-link to share)"
                                                 : "sends no router advertisement (no IPv6 default route learnt)";
  return "problem relay not in force (ipv6 = relay): upstream " + up + " " + why + "; clients get no IPv6; they use IPv4";
}

// IPv6 is on and there is an upstream: what keeps clients from IPv6 destinations, one line each.
void ipv6Problems(const Facts& f, std::vector<std::string>& out) {
  const std::string& up = *f.upstream;
  if (f.ipv6Configured == "relay" && f.ipv6Mode != "relay") {  // one line says why
    out.push_back(relayLine(f));
    return;
  }
  const std::string clients = f.ipv6Mode == "off" ? std::string("clients get no IPv6; they use IPv4")
                                                  : "clients get IPv6 addresses (" + f.ipv6Mode +
                                                        ") but reach no IPv6 destination; they use IPv4";
  if (!f.upstreamIpv6Address)
    out.push_back("problem upstream " + up + " has no IPv6 (no global IPv6 address): " + clients);
  else if (!f.upstreamIpv6Route)
    out.push_back("problem upstream " + up + " sends no router advertisement (no IPv6 default route learnt): " + clients);
  if (f.pdAsked && f.delegated.empty())
    out.push_back("problem upstream " + up + " delegates no prefix: dhcpcd asks for one (ipv6 = " + f.ipv6Configured +
                  ") but none is held; " +
                  (f.ipv6Mode == "nat66" ? std::string("clients get nat66 (unique local addresses translated to the upstream's)")
                                         : std::string("clients get no IPv6")));
  if (!f.pdLeft.empty()) {
    std::string names;
    for (const auto& n : f.pdLeft) names += (names.empty() ? "" : " ") + n;
    out.push_back("problem delegated prefix " + f.delegated + " has no /64 left for " + names + ": they get nat66");
  }
  if (f.ipv6Mode == "relay") out.push_back(relayLine(f));
}

}  // namespace

std::vector<std::string> diagnose(const Facts& f) {
  std::vector<std::string> out, unchecked;
  std::vector<Flow> flows;
  for (const auto& ds : f.tethered) {
    auto sn = f.subnets.find(ds);
    flows.push_back(Flow{ds, f.upstream, sn == f.subnets.end() ? std::nullopt : std::optional<Ipv4Prefix>(sn->second)});
  }
  if (f.nftRuleset) {
    // Tethering not started (or nothing tethered yet): what would drop any tethered client's traffic.
    auto blockers = nftBlockers(*f.nftRuleset, nftRuleTexts(f.nftText), flows.empty() ? std::vector<Flow>{Flow{}} : flows);
    if (blockers) {
      for (const auto& b : *blockers) out.push_back(lineOf(b));
    } else {
      unchecked.push_back("unchecked nftables: " + blockers.error().message);
    }
  } else {
    unchecked.push_back("unchecked nftables: " + f.nftRuleset.error().message);
  }
  if (!f.tethering) {
    out.insert(out.end(), unchecked.begin(), unchecked.end());
    return out;
  }

  if (f.legacyFilter) {
    for (const auto& b : legacyBlockers(*f.legacyFilter, flows)) out.push_back(lineOf(b));
  } else {
    unchecked.push_back("unchecked iptables-legacy: " + f.legacyFilter.error().message);
  }
  if (!f.ipForward)
    unchecked.push_back("unchecked ip_forward: " + f.ipForward.error().message);
  else if (!*f.ipForward)
    out.push_back("problem ip_forward is off while tethering: the kernel forwards nothing from tethered clients");
  if (!f.upstream) {
    std::string names;
    for (const auto& n : f.upstreamPriority) names += (names.empty() ? "" : " ") + n;
    out.push_back(names.empty() ? "problem no upstream: none is configured ([upstream] priority); tethered clients have no internet"
                                : "problem no upstream: none of " + names +
                                      " is up with a default route and DNS servers; tethered clients have no internet");
  }
  if (f.upstream && f.ipv6Configured != "off") ipv6Problems(f, out);
  for (const auto& n : f.strictRpFilter) out.push_back(strictRpFilterProblem(n));
  for (const auto& d : f.dnsmasqStopped)
    out.push_back("problem dnsmasq is not running for tethered downstream " + d + ": its clients get no address and no DNS");
  if (f.offload == "active") out.push_back("ok offload active: established tethered flows go through flowtable inet tetherd_offload");
  else if (!f.offload.empty()) out.push_back("offload inactive: " + f.offload + " (forwarded flows take the normal path)");
  out.insert(out.end(), unchecked.begin(), unchecked.end());
  return out;
}

}  // namespace tetherd::doctor
