// `tether doctor`'s nftables walk (doctor.h): the tethered traffic followed through every
// forward-hook base chain of family ip or inet, from nft's JSON ruleset; and the rules' text,
// read from nft's text listing with handles.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "tether/core/doctor.h"
#include "tether/core/doctor_walk.h"

namespace tetherd::doctor {

namespace {

using nlohmann::json;

// ---- JSON accessors that never throw -------------------------------------------------------

std::string str(const json& o, const char* k) {
  if (!o.is_object()) return {};
  auto it = o.find(k);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

const json* member(const json& o, const char* k) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(k);
  return it == o.end() ? nullptr : &*it;
}

// The values a right-hand side names: "usb0", ["a", "b"], {"set": [...]}; others as they are.
void values(const json& right, std::vector<const json*>& out, int depth = 0) {
  if (depth > 4) return;
  if (right.is_array()) {
    for (const json& v : right) values(v, out, depth + 1);
  } else if (const json* set = member(right, "set")) {
    values(*set, out, depth + 1);
  } else {
    out.push_back(&right);
  }
}

// "usb0" against a name or a wildcard "usb*".
bool ifnameMatches(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && pattern.back() == '*') return name.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == name;
}

Tri anyOf(const json& right, auto&& test) {
  std::vector<const json*> vs;
  values(right, vs);
  Tri r = Tri::No;
  for (const json* v : vs) {
    Tri t = test(*v);
    if (t == Tri::Yes) return Tri::Yes;
    if (t == Tri::Maybe) r = Tri::Maybe;
  }
  return r;
}

Tri ifaceTest(const std::optional<std::string>& name, const json& right) {
  if (!name) return Tri::Maybe;
  return anyOf(right, [&](const json& v) {
    if (!v.is_string()) return Tri::Maybe;
    const std::string s = v.get<std::string>();
    if (s.starts_with("@")) return Tri::Maybe;  // a named set: not read
    return ifnameMatches(s, *name) ? Tri::Yes : Tri::No;
  });
}

Tri wordTest(std::string_view word, const json& right) {
  return anyOf(right, [&](const json& v) {
    if (!v.is_string()) return Tri::Maybe;
    const std::string s = v.get<std::string>();
    if (s.starts_with("@")) return Tri::Maybe;
    return s == word ? Tri::Yes : Tri::No;
  });
}

// An address, a prefix {"prefix": {"addr", "len"}} or a range against the subnet the packet's
// address lies in.
Tri addrTest(const std::optional<Ipv4Prefix>& subnet, const json& right) {
  if (!subnet) return Tri::Maybe;
  return anyOf(right, [&](const json& v) {
    std::optional<Ipv4Prefix> p;
    if (v.is_string()) {
      p = Ipv4Prefix::parse(v.get<std::string>() + "/32");
    } else if (const json* pre = member(v, "prefix")) {
      const json* len = member(*pre, "len");
      if (len != nullptr && len->is_number_unsigned() && len->get<uint64_t>() <= 32)
        p = Ipv4Prefix::parse(str(*pre, "addr") + "/" + std::to_string(len->get<uint64_t>()));
    }
    if (!p) return Tri::Maybe;
    if (p->length <= subnet->length && p->contains(subnet->network())) return Tri::Yes;
    return p->overlaps(*subnet) ? Tri::Maybe : Tri::No;
  });
}

// One {"op", "left", "right"} match against the packet.
Tri matchOf(const json& m, const Packet& p) {
  const json* left = member(m, "left");
  const json* right = member(m, "right");
  if (left == nullptr || right == nullptr) return Tri::Maybe;
  const json* opv = member(m, "op");
  const std::string op = opv != nullptr && opv->is_string() ? opv->get<std::string>() : "==";
  if (const json* pl = member(*left, "payload")) {
    const std::string proto = str(*pl, "protocol");
    // An IPv6 header match carries `meta nfproto ipv6`: never true for IPv4, even negated.
    if (proto == "ip6" || proto == "icmpv6") return Tri::No;
  }
  if (op != "==" && op != "in" && op != "!=") return Tri::Maybe;
  Tri r = Tri::Maybe;
  if (const json* meta = member(*left, "meta")) {
    const std::string key = str(*meta, "key");
    if (key == "iifname" || key == "iif") r = ifaceTest(p.iif, *right);
    else if (key == "oifname" || key == "oif") r = ifaceTest(p.oif, *right);
    else if (key == "nfproto") r = wordTest("ipv4", *right);
  } else if (const json* ct = member(*left, "ct")) {
    const std::string key = str(*ct, "key");
    if (key == "state") {
      r = wordTest(p.reply ? "established" : "new", *right);
    } else if (key == "status") {
      // Tethered traffic is not DNATed; about other status bits doctor cannot tell.
      r = wordTest("dnat", *right) == Tri::Yes && anyOf(*right, [](const json& v) {
            return v.is_string() && v.get<std::string>() == "dnat" ? Tri::No : Tri::Yes;
          }) == Tri::No
              ? Tri::No
              : Tri::Maybe;
    }
  } else if (const json* pl = member(*left, "payload")) {
    const std::string field = str(*pl, "field");
    if (str(*pl, "protocol") == "ip" && field == "saddr") r = addrTest(p.saddr, *right);
    else if (str(*pl, "protocol") == "ip" && field == "daddr") r = addrTest(p.daddr, *right);
  }
  if (op == "!=" && r != Tri::Maybe) r = r == Tri::Yes ? Tri::No : Tri::Yes;
  return r;
}

Verdict verdictOf(const json& stmt) {
  if (!stmt.is_object() || stmt.size() != 1) return {};
  const std::string& k = stmt.begin().key();
  const json& v = stmt.begin().value();
  if (k == "accept") return {Verdict::Accept, {}};
  if (k == "drop") return {Verdict::Drop, {}};
  if (k == "reject") return {Verdict::Reject, {}};
  if (k == "return") return {Verdict::Return, {}};
  if (k == "continue") return {Verdict::Continue, {}};
  if (k == "queue") return {Verdict::Unknown, {}};
  if (k == "jump") return {Verdict::Jump, str(v, "target")};
  if (k == "goto") return {Verdict::Goto, str(v, "target")};
  return {};
}

// Statements that do not decide whether the rule applies.
bool neutral(const std::string& k) {
  return k == "counter" || k == "log" || k == "mangle" || k == "notrack" || k == "set" || k == "map" || k == "ct helper" ||
         k == "ct timeout" || k == "ct expectation" || k == "meter";
}

struct NftChain {
  std::string family, table, name;
  bool base = false;  // forward hook, family ip or inet
  std::string policy;
  std::vector<const json*> rules;  // the rules' objects, in order
};

struct Ruleset {
  std::vector<NftChain> chains;
  std::map<std::tuple<std::string, std::string, std::string>, size_t> index;
  const NftChain* find(const std::string& f, const std::string& t, const std::string& n) const {
    auto it = index.find({f, t, n});
    return it == index.end() ? nullptr : &chains[it->second];
  }
};

RuleEval evalNftRule(const json& rule, const Packet& p) {
  RuleEval out;
  const json* expr = member(rule, "expr");
  if (expr == nullptr || !expr->is_array()) return {Tri::Maybe, {}};
  Tri all = Tri::Yes;
  for (const json& stmt : *expr) {
    if (!stmt.is_object() || stmt.size() != 1) continue;
    const std::string& k = stmt.begin().key();
    if (k == "match") {
      all = both(all, matchOf(stmt.begin().value(), p));
    } else if (k == "vmap") {
      // {"key": <expr>, "data": {"set": [[value, verdict], ...]}}: the first element that matches.
      const json& vm = stmt.begin().value();
      const json* key = member(vm, "key");
      const json* data = member(vm, "data");
      const json* set = data != nullptr ? member(*data, "set") : nullptr;
      if (key == nullptr || set == nullptr || !set->is_array()) return {Tri::Maybe, {}};
      Verdict chosen;
      Tri found = Tri::No;
      for (const json& el : *set) {
        if (!el.is_array() || el.size() != 2) return {Tri::Maybe, {}};
        Tri t = matchOf(json{{"op", "=="}, {"left", *key}, {"right", el[0]}}, p);
        if (t == Tri::No) continue;
        found = t;
        chosen = verdictOf(el[1]);
        break;
      }
      all = both(all, found);
      out.verdict = chosen;
    } else if (Verdict v = verdictOf(stmt); v.kind != Verdict::None) {
      out.verdict = v;
    } else if (!neutral(k)) {
      all = both(all, Tri::Maybe);  // limit, quota, xt, fib as a statement...: undecided
    }
  }
  out.applies = all;
  return out;
}

struct NftOps {
  const Ruleset& rs;
  size_t size(const NftChain& c) const { return c.rules.size(); }
  RuleEval eval(const NftChain& c, size_t i, const Packet& p) const { return evalNftRule(*c.rules[i], p); }
  const NftChain* target(const NftChain& c, const std::string& name) const { return rs.find(c.family, c.table, name); }
};

}  // namespace

Result<std::vector<Blocker>> nftBlockers(std::string_view text, const std::map<NftRuleKey, std::string>& texts,
                                         const std::vector<Flow>& flows) {
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array())
    return makeError(Errc::InvalidArgument, "the nftables ruleset is not nft's JSON output");

  Ruleset rs;
  for (const json& item : doc["nftables"]) {
    if (const json* c = member(item, "chain"); c != nullptr && c->is_object()) {
      NftChain ch{str(*c, "family"), str(*c, "table"), str(*c, "name"), false, str(*c, "policy"), {}};
      ch.base = (ch.family == "ip" || ch.family == "inet") && str(*c, "hook") == "forward";
      if (rs.index.emplace(std::make_tuple(ch.family, ch.table, ch.name), rs.chains.size()).second)
        rs.chains.push_back(std::move(ch));
    } else if (const json* r = member(item, "rule"); r != nullptr && r->is_object()) {
      auto it = rs.index.find({str(*r, "family"), str(*r, "table"), str(*r, "chain")});
      if (it != rs.index.end()) rs.chains[it->second].rules.push_back(r);
    }
  }

  const NftOps ops{rs};
  Blockers found;
  for (const NftChain& base : rs.chains) {
    if (!base.base) continue;
    const std::string where = "nftables table " + base.family + " " + base.table + " chain " + base.name;
    for (const Flow& flow : flows) {
      for (bool reply : {false, true}) {
        const Packet p = packetOf(flow, reply);
        size_t budget = kWalkBudget;
        auto o = walk(&base, p, ops, budget);
        using O = decltype(o);
        if (o.kind == O::Return && base.policy == "drop") {
          found.add(Blocker{where, 0, 0, "policy drop", "drops", {}, {}}, trafficOf(flow, reply));
        } else if (o.kind == O::Drop) {
          const NftChain* c = o.chain;
          const json& r = *c->rules[o.rule];
          const json* h = member(r, "handle");
          const uint64_t handle = h != nullptr && h->is_number_unsigned() ? h->get<uint64_t>() : 0;
          auto t = texts.find({c->family, c->table, c->name, handle});
          found.add(Blocker{"nftables table " + c->family + " " + c->table + " chain " + c->name, static_cast<int>(o.rule) + 1,
                            handle, t != texts.end() ? t->second : std::string{}, o.reject ? "rejects" : "drops", {}, {}},
                    trafficOf(flow, reply));
        }
      }
    }
  }
  return std::move(found.list);
}

namespace {

// A line split into its code and its comment (after a '#' outside quotes).
std::pair<std::string_view, std::string_view> splitComment(std::string_view line) {
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '"') quoted = !quoted;
    else if (line[i] == '#' && !quoted) return {line.substr(0, i), line.substr(i + 1)};
  }
  return {line, {}};
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Braces opened minus closed, outside quotes.
int braceDelta(std::string_view code) {
  int d = 0;
  bool quoted = false;
  for (char c : code) {
    if (c == '"') quoted = !quoted;
    else if (!quoted && c == '{') ++d;
    else if (!quoted && c == '}') --d;
  }
  return d;
}

// The words of a header line ("table inet filter {", "chain \"a b\" {"), quotes removed.
std::vector<std::string> words(std::string_view code) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < code.size()) {
    if (code[i] == ' ' || code[i] == '\t') {
      ++i;
      continue;
    }
    std::string w;
    if (code[i] == '"') {
      size_t end = code.find('"', i + 1);
      if (end == std::string_view::npos) end = code.size();
      w = std::string(code.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      size_t end = code.find_first_of(" \t", i);
      if (end == std::string_view::npos) end = code.size();
      w = std::string(code.substr(i, end - i));
      i = end;
    }
    out.push_back(std::move(w));
  }
  return out;
}

std::optional<uint64_t> handleOf(std::string_view comment) {
  comment = trimmed(comment);
  if (!comment.starts_with("handle ")) return std::nullopt;
  comment.remove_prefix(7);
  if (comment.empty() || comment.size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char c : comment) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

}  // namespace

std::map<NftRuleKey, std::string> nftRuleTexts(std::string_view text) {
  std::map<NftRuleKey, std::string> out;
  int depth = 0;
  std::string family, table, chain, pending;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto [rawCode, comment] = splitComment(line);
    const std::string_view code = trimmed(rawCode);
    const int delta = braceDelta(code);
    if (depth == 0 && code.starts_with("table ")) {
      auto w = words(code);
      family = w.size() > 1 ? w[1] : "";
      table = w.size() > 2 ? w[2] : "";
    } else if (depth == 1 && code.starts_with("chain ")) {
      auto w = words(code);
      chain = w.size() > 1 ? w[1] : "";
    } else if (depth >= 2 && !chain.empty() && !(pending.empty() && code.starts_with("}")) && !code.empty()) {
      // A rule, perhaps over several lines (an anonymous set broken up): joined with spaces.
      pending += (pending.empty() ? "" : " ") + std::string(code);
      if (braceDelta(pending) == 0) {
        if (auto h = handleOf(comment)) out[{family, table, chain, *h}] = pending;
        pending.clear();
      }
    }
    depth = std::max(0, depth + delta);
    if (depth < 2) {
      chain.clear();
      pending.clear();
    }
    if (depth < 1) {
      family.clear();
      table.clear();
    }
  }
  return out;
}

}  // namespace tetherd::doctor
