// The rules tetherd installs, as a pure model, and their `iptables -S` text.
#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

#include "tether/system/netfilter/firewall.h"
#include "tether/base/ip.h"
#include "tether/base/ip6.h"

namespace tetherd {
namespace fw {

namespace {

// Built-in chains in hook order: `iptables -S` lists them (and so their jumps) in this order.
constexpr std::array<std::string_view, 5> kBuiltinOrder = {"PREROUTING", "INPUT", "FORWARD",
                                                           "OUTPUT", "POSTROUTING"};

size_t builtinIndex(std::string_view chain) {
  return static_cast<size_t>(std::find(kBuiltinOrder.begin(), kBuiltinOrder.end(), chain) -
                             kBuiltinOrder.begin());
}

// The --ctstate list in the order iptables prints it.
std::string ctstateText(uint16_t bits) {
  static constexpr std::array<std::pair<uint16_t, std::string_view>, 4> kNames = {{
      {kCtInvalid, "INVALID"},
      {kCtNew, "NEW"},
      {kCtRelated, "RELATED"},
      {kCtEstablished, "ESTABLISHED"},
  }};
  std::string text;
  for (const auto& [bit, name] : kNames) {
    if ((bits & bit) == 0) continue;
    if (!text.empty()) text += ',';
    text += name;
  }
  return text;
}

Rule rule(std::string_view chain, std::string in, std::string out, uint16_t ctstate,
          Rule::Target target, std::string_view targetChain = {}) {
  Rule r;
  r.chain = chain;
  r.in = std::move(in);
  r.out = std::move(out);
  r.ctstate = ctstate;
  r.target = target;
  r.targetChain = targetChain;
  return r;
}

}  // namespace

std::string Rule::toString() const {
  std::string s = "-A " + chain;
  // The ipt_ip part first, then the matches in entry order (conntrack, tcp), then the target:
  // the order iptables prints them in.
  if (ulaSource) s += " -s fc00::/7";
  auto host = [](const std::string& a) { return a + (a.find(':') != std::string::npos ? "/128" : "/32"); };
  if (!src.empty()) s += " -s " + host(src);
  if (!dst.empty()) s += " -d " + host(dst);
  if (!in.empty()) s += " -i " + in;
  if (!out.empty()) s += " -o " + out;
  const bool tcp = tcpSyn || dport != 0;
  if (tcp) s += " -p tcp";
  if (icmp6Type >= 0) s += " -p ipv6-icmp";
  if (!macSource.empty()) s += " -m mac --mac-source " + macSource;
  if (ctstate != 0) s += " -m conntrack --ctstate " + ctstateText(ctstate);
  if (quota) s += " -m quota --quota " + std::to_string(*quota);
  if (icmp6Type >= 0) {
    s += " -m icmp6 --icmpv6-type " + std::to_string(icmp6Type);
    if (icmp6Code >= 0) s += "/" + std::to_string(icmp6Code);
  }
  if (tcp) s += " -m tcp";
  if (dport != 0) s += " --dport " + std::to_string(dport);
  if (tcpSyn) s += " --tcp-flags SYN,RST SYN";
  switch (target) {
    case Target::Accept: s += " -j ACCEPT"; break;
    case Target::Drop: s += " -j DROP"; break;
    case Target::Jump: s += " -j " + targetChain; break;
    case Target::Goto: s += " -g " + targetChain; break;
    case Target::Masquerade: s += " -j MASQUERADE"; break;
    case Target::ClampMssToPmtu: s += " -j TCPMSS --clamp-mss-to-pmtu"; break;
    case Target::IdleTimer: s += " -j IDLETIMER --timeout " + std::to_string(idle.timeoutSec) + " --label " + idle.label; break;
    case Target::Return: s += " -j RETURN"; break;
  }
  return s;
}

std::string quotaChain(std::string_view mac) {
  std::string name(kQuotaChainPrefix);
  for (char c : mac)
    if (c != ':') name += c;
  return name;
}

Rule hookJump(const Chain& chain) { return rule(chain.hook, "", "", 0, Rule::Target::Jump, chain.name); }

namespace {

// The ICMPv6 that must pass inbound to the clients (RFC 4890 4.3.1): destination unreachable,
// packet too big, time exceeded code 0, parameter problem codes 1 and 2, echo request.
constexpr std::array<std::pair<int, int>, 6> kIcmp6Inbound = {{{1, -1}, {2, -1}, {3, 0}, {4, 1}, {4, 2}, {128, -1}}};

// Both families' tables: family 6 adds the ICMPv6 accepts and the drop of new inbound flows,
// and has a nat chain only while s.nat66 names an upstream.
std::vector<Table> buildFamily(const FirewallState& s, int family) {
  using T = Rule::Target;
  const bool v6 = family == 6;

  // filter: per pair, replies go back, invalid packets die, new flows go out; every accepted
  // packet passes tetherd_counters, whose per-direction rules count and ACCEPT (not RETURN: a
  // foreign FORWARD policy DROP, e.g. Docker's, must not eat tethered traffic). Anything else
  // from a tethered downstream is dropped.
  Chain forward{std::string(kForwardChain), "FORWARD", {}};
  Chain counters{std::string(kCountersChain), "", {}};
  // Blocked clients first: nothing they send is forwarded (replies to them neither, as their
  // flows never get past this).
  auto blockRules = [&s](std::string_view chain) {
    std::vector<Rule> out;
    for (const auto& d : s.blockOn) {
      for (const auto& mac : s.blockedMacs) {
        Rule drop = rule(chain, d, "", 0, T::Drop);
        drop.macSource = mac;
        out.push_back(std::move(drop));
      }
    }
    return out;
  };
  // Local-only downstreams first: nothing from or to them is forwarded, whatever follows.
  for (const auto& d : s.localOnly) {
    forward.rules.push_back(rule(kForwardChain, d, "", 0, T::Drop));
    forward.rules.push_back(rule(kForwardChain, "", d, 0, T::Drop));
  }
  for (auto& r : blockRules(kForwardChain)) forward.rules.push_back(std::move(r));
  for (const auto& [d, u] : s.pairs) {
    forward.rules.push_back(rule(kForwardChain, u, d, kCtRelated | kCtEstablished, T::Goto, kCountersChain));
    for (const auto& [type, code] : kIcmp6Inbound) {
      if (!v6) break;
      Rule icmp = rule(kForwardChain, u, d, 0, T::Accept);
      icmp.icmp6Type = type;
      icmp.icmp6Code = code;
      forward.rules.push_back(std::move(icmp));
    }
    forward.rules.push_back(rule(kForwardChain, d, u, kCtInvalid, T::Drop));
    forward.rules.push_back(rule(kForwardChain, d, u, 0, T::Goto, kCountersChain));
    counters.rules.push_back(rule(kCountersChain, d, u, 0, T::Accept));
    counters.rules.push_back(rule(kCountersChain, u, d, 0, T::Accept));
  }
  for (const auto& d : s.downstreams) forward.rules.push_back(rule(kForwardChain, d, "", 0, T::Drop));
  // Per-client accounting: each forwarding downstream's packets (both directions) pass its
  // own chain first, one rule per client address and direction (RETURN: the first match ends
  // the walk; an address of the other family is not in this family's chain).
  std::vector<Chain> accounting;
  std::vector<Rule> accountingJumps;
  std::set<std::string> quotaMacs;
  for (const auto& [d, addresses] : s.clients) {
    if (s.downstreams.count(d) == 0) continue;
    Chain acct{clientChain(d), "", {}};
    for (const auto& a : addresses) {
      if ((a.find(':') != std::string::npos) != v6) continue;
      if (auto q = s.quotaOf.find(a); q != s.quotaOf.end() && s.quotaLeft.count(q->second)) {
        quotaMacs.insert(q->second);
        Rule up = rule(acct.name, "", "", 0, T::Jump, quotaChain(q->second));
        up.src = a;
        Rule down = rule(acct.name, "", "", 0, T::Jump, quotaChain(q->second));
        down.dst = a;
        acct.rules.push_back(std::move(up));
        acct.rules.push_back(std::move(down));
      }
      Rule up = rule(acct.name, "", "", 0, T::Return);
      up.src = a;
      Rule down = rule(acct.name, "", "", 0, T::Return);
      down.dst = a;
      acct.rules.push_back(std::move(up));
      acct.rules.push_back(std::move(down));
    }
    if (acct.rules.empty()) continue;  // no client of this family: no chain, no jumps
    accountingJumps.push_back(rule(kCountersChain, d, "", 0, T::Jump, acct.name));
    accountingJumps.push_back(rule(kCountersChain, "", d, 0, T::Jump, acct.name));
    accounting.push_back(std::move(acct));
  }
  for (const auto& [d, left] : s.downstreamQuotaLeft) {
    if (s.downstreams.count(d) == 0) continue;
    Chain quota{downstreamQuotaChain(d), "", {}};
    quota.rules.push_back(rule(quota.name, "", "", 0, T::Return));
    quota.rules.back().quota = left;
    quota.rules.push_back(rule(quota.name, "", "", 0, T::Drop));
    accountingJumps.insert(accountingJumps.begin(), {rule(kCountersChain, d, "", 0, T::Jump, quota.name),
                                                     rule(kCountersChain, "", d, 0, T::Jump, quota.name)});
    accounting.push_back(std::move(quota));
  }
  counters.rules.insert(counters.rules.begin(), accountingJumps.begin(), accountingJumps.end());
  for (const auto& mac : quotaMacs) {
    Chain quota{quotaChain(mac), "", {}};
    quota.rules.push_back(rule(quota.name, "", "", 0, T::Return));
    quota.rules.back().quota = s.quotaLeft.at(mac);
    quota.rules.push_back(rule(quota.name, "", "", 0, T::Drop));
    accounting.push_back(std::move(quota));
  }
  // IPv6 has no NAT in the way of new inbound flows (a router's default: refuse them).
  if (v6) {
    for (const auto& d : s.downstreams) forward.rules.push_back(rule(kForwardChain, "", d, 0, T::Drop));
  }

  // nat: masquerade once per distinct upstream (IPv6: the nat66 upstreams only).
  Chain nat{std::string(kNatChain), "POSTROUTING", {}};
  std::set<std::string> upstreams;
  for (const auto& p : s.pairs) upstreams.insert(p.upstream);
  if (v6) upstreams = s.nat66;
  for (const auto& u : upstreams) {
    nat.rules.push_back(rule(kNatChain, "", u, 0, T::Masquerade));
    nat.rules.back().ulaSource = v6;  // nat66's ULA /64s only: delegated prefixes are routed
  }

  // mangle: clamp the MSS of forwarded SYNs to the path MTU while anything is forwarded.
  Chain mangle{std::string(kMangleChain), "FORWARD", {}};
  if (!s.pairs.empty()) {
    Rule clamp = rule(kMangleChain, "", "", 0, T::ClampMssToPmtu);
    clamp.tcpSyn = true;
    mangle.rules.push_back(std::move(clamp));
  }

  std::vector<Table> tables;
  tables.push_back(Table{"filter", {std::move(forward), std::move(counters)}});
  for (auto& c : accounting) tables.back().chains.push_back(std::move(c));
  // filter INPUT: the admin page never answers on an upstream, whatever address is asked
  // for (Linux accepts a downstream's address on any interface).
  // A blocked client gets nothing from the appliance itself either (DHCP, DNS, the page).
  auto inputBlocks = blockRules(kInputChain);
  if (!s.adminPorts.empty() || !inputBlocks.empty()) {
    Chain input{std::string(kInputChain), "INPUT", std::move(inputBlocks)};
    for (const auto& u : s.upstreams) {
      for (uint16_t port : s.adminPorts) {
        Rule drop = rule(kInputChain, u, "", 0, T::Drop);
        drop.dport = port;
        input.rules.push_back(std::move(drop));
      }
    }
    tables.back().chains.push_back(std::move(input));
  } else {
    tables.back().absent.emplace_back(kInputChain);
  }
  if (v6 && s.nat66.empty()) {
    tables.push_back(Table{"nat", {}, {std::string(kNatChain)}});
  } else {
    tables.push_back(Table{"nat", {std::move(nat)}});
  }
  tables.push_back(Table{"mangle", {std::move(mangle)}});
  // mangle PREROUTING: the idle timers, restarted by every packet from a client. IPv6 has the
  // same rule with the same label: one kernel timer, which either family's packets restart.
  if (!s.idleTimers.empty()) {
    Chain idle{std::string(kIdleChain), "PREROUTING", {}};
    for (const auto& [d, timer] : s.idleTimers) {
      Rule r = rule(kIdleChain, d, "", 0, T::IdleTimer);
      r.idle = timer;
      idle.rules.push_back(std::move(r));
    }
    tables.back().chains.push_back(std::move(idle));
  } else {
    tables.back().absent.emplace_back(kIdleChain);
  }
  for (auto& t : tables) {
    t.family = family;
    std::sort(t.chains.begin(), t.chains.end(),
              [](const Chain& a, const Chain& b) { return a.name < b.name; });
  }
  return tables;
}

}  // namespace

std::vector<Table> buildTables(const FirewallState& s) { return buildFamily(s, 4); }

std::vector<Table> buildTables6(const FirewallState& s) {
  if (!s.ipv6) return {};
  return buildFamily(s, 6);
}

namespace {

// A valid Linux name that "-i"/"-o" can match exactly: iptables reads a trailing '+' as a
// wildcard, so such a name would not mean what its text says.
Status checkIfname(const std::string& name, const char* role) {
  if (!validIfname(name)) {
    return makeError(Errc::InvalidArgument, std::string("invalid ") + role + " interface name '" + name + "'");
  }
  if (name.back() == '+') {
    return makeError(Errc::InvalidArgument, std::string(role) + " interface name '" + name +
                                                "' ends with '+', which iptables matches as a wildcard");
  }
  return {};
}

}  // namespace

std::string idleTimerLabel(uint64_t netnsInode, const std::string& ifname) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(netnsInode));
  return "t" + std::string(hex) + "_" + ifname;
}

Status validate(const FirewallState& s) {
  for (const auto& d : s.localOnly) {
    if (auto st = checkIfname(d, "local-only downstream"); !st) return st;
  }
  for (const auto& [d, timer] : s.idleTimers) {
    if (auto st = checkIfname(d, "idle downstream"); !st) return st;
    const auto& l = timer.label;
    if (l.empty() || l.size() > 27 || !std::all_of(l.begin(), l.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
        }))
      return makeError(Errc::InvalidArgument, "idle timer label '" + l + "' of " + d + " is not 1-27 of A-Z a-z 0-9 _ - .");
    if (timer.timeoutSec == 0) return makeError(Errc::InvalidArgument, "idle timer of " + d + " has timeout 0");
  }
  for (const auto& d : s.downstreams) {
    if (auto st = checkIfname(d, "downstream"); !st) return st;
  }
  for (const auto& [d, u] : s.pairs) {
    if (auto st = checkIfname(d, "downstream"); !st) return st;
    if (auto st = checkIfname(u, "upstream"); !st) return st;
    if (d == u) return makeError(Errc::InvalidArgument, "interface '" + d + "' cannot be its own upstream");
  }
  for (const auto& u : s.upstreams) {
    if (auto st = checkIfname(u, "upstream"); !st) return st;
  }
  for (const auto& u : s.nat66) {
    if (auto st = checkIfname(u, "nat66 upstream"); !st) return st;
  }
  for (const auto& [d, addresses] : s.clients) {
    if (auto st = checkIfname(d, "downstream"); !st) return st;
    for (const auto& a : addresses) {
      auto v6 = a.find(':') != std::string::npos ? Ipv6Address::parse(a) : std::nullopt;
      auto v4 = v6 ? std::nullopt : Ipv4Address::parse(a);
      if ((v6 ? v6->str() : v4 ? v4->str() : "") != a) return makeError(Errc::InvalidArgument, "client address '" + a + "' on " + d + " is not an IP address");
    }
  }
  for (const auto& [a, mac] : s.quotaOf) {
    auto n = normalizeMac(mac);
    if (!n || *n != mac) return makeError(Errc::InvalidArgument, "quota client '" + mac + "' of " + a + " is not a MAC address (aa:bb:cc:dd:ee:ff)");
  }
  for (const auto& [mac, left] : s.quotaLeft) {
    auto n = normalizeMac(mac);
    if (!n || *n != mac) return makeError(Errc::InvalidArgument, "quota client '" + mac + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  }
  for (const auto& [d, left] : s.downstreamQuotaLeft) {
    if (auto st = checkIfname(d, "quota downstream"); !st) return st;
  }
  if (s.adminPorts.count(0) != 0) return makeError(Errc::InvalidArgument, "admin port 0 is not a port");
  for (const auto& d : s.blockOn) {
    if (auto st = checkIfname(d, "downstream"); !st) return st;
  }
  for (const auto& mac : s.blockedMacs) {
    auto n = normalizeMac(mac);
    if (!n || *n != mac)
      return makeError(Errc::InvalidArgument, "blocked client '" + mac + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
    if (isMulticastMac(mac))
      return makeError(Errc::InvalidArgument, "blocked client '" + mac + "' is a multicast address");
  }
  return {};
}

}  // namespace fw

namespace {

std::map<std::string, std::vector<std::string>> render(const std::vector<fw::Table>& tables) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& table : tables) {
    auto& lines = out[table.name];
    for (const auto& chain : table.chains) lines.push_back("-N " + chain.name);

    std::vector<const fw::Chain*> hooked;
    for (const auto& chain : table.chains) {
      if (!chain.hook.empty()) hooked.push_back(&chain);
    }
    std::stable_sort(hooked.begin(), hooked.end(), [](const fw::Chain* a, const fw::Chain* b) {
      return fw::builtinIndex(a->hook) < fw::builtinIndex(b->hook);
    });
    for (const auto* chain : hooked) lines.push_back(fw::hookJump(*chain).toString());

    for (const auto& chain : table.chains) {
      for (const auto& r : chain.rules) lines.push_back(r.toString());
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::vector<std::string>> renderFirewallRules(const FirewallState& s) {
  return render(fw::buildTables(s));
}

std::map<std::string, std::vector<std::string>> renderFirewallRules6(const FirewallState& s) {
  return render(fw::buildTables6(s));
}

}  // namespace tetherd
