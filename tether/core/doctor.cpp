#include "tether/core/doctor.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace tetherd::doctor {

namespace {

using nlohmann::json;

// A match's right-hand side names `value`: "usb0", ["usb0", ...] or {"set": [...]}.
bool rightHas(const json& right, std::string_view value) {
  if (right.is_string()) return right.get<std::string>() == value;
  if (right.is_array()) return std::any_of(right.begin(), right.end(), [&](const json& v) { return rightHas(v, value); });
  if (right.is_object()) {
    auto set = right.find("set");
    return set != right.end() && rightHas(*set, value);
  }
  return false;
}

// What one accepting rule lets through, as far as it can be told from its matches.
struct Accepts {
  bool everything = false;  // no match at all
  std::vector<const json*> matches;
};

std::string keyOf(const json& left, const char* kind) {
  if (!left.is_object()) return {};
  auto k = left.find(kind);
  if (k == left.end() || !k->is_object()) return {};
  auto key = k->find("key");
  return key != k->end() && key->is_string() ? key->get<std::string>() : std::string{};
}

bool matchesOn(const Accepts& a, const char* kind, const char* key, std::string_view value) {
  for (const json* m : a.matches) {
    auto op = m->find("op");
    if (op == m->end() || !op->is_string() || (*op != "==" && *op != "in")) continue;
    auto left = m->find("left"), right = m->find("right");
    if (left == m->end() || right == m->end()) continue;
    if (keyOf(*left, kind) == key && rightHas(*right, value)) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<std::string>> nftForwardDrops(std::string_view text, const std::vector<std::string>& tethered) {
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array())
    return makeError(Errc::InvalidArgument, "the nftables ruleset is not nft's JSON output");

  struct Chain {
    std::string family, table, name;
    std::vector<Accepts> accepts;
  };
  std::vector<Chain> chains;  // forward-hook base chains with policy drop, in ruleset order
  auto str = [](const json& o, const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string{};
  };
  for (const json& item : doc["nftables"]) {
    if (!item.is_object()) continue;
    if (auto c = item.find("chain"); c != item.end() && c->is_object()) {
      std::string family = str(*c, "family");
      if ((family == "ip" || family == "inet") && str(*c, "hook") == "forward" && str(*c, "policy") == "drop")
        chains.push_back(Chain{family, str(*c, "table"), str(*c, "name"), {}});
      continue;
    }
    auto r = item.find("rule");
    if (r == item.end() || !r->is_object()) continue;
    auto chain = std::find_if(chains.begin(), chains.end(), [&](const Chain& ch) {
      return ch.family == str(*r, "family") && ch.table == str(*r, "table") && ch.name == str(*r, "chain");
    });
    auto expr = r->find("expr");
    if (chain == chains.end() || expr == r->end() || !expr->is_array()) continue;
    Accepts a;
    bool accept = false;
    for (const json& stmt : *expr) {
      if (!stmt.is_object()) continue;
      if (stmt.contains("accept")) accept = true;
      if (auto m = stmt.find("match"); m != stmt.end() && m->is_object()) a.matches.push_back(&*m);
    }
    if (!accept) continue;
    a.everything = a.matches.empty();
    chain->accepts.push_back(std::move(a));
  }

  std::vector<std::string> out;
  for (const auto& ch : chains) {
    auto lets = [&](const std::string& ds) {
      bool in = false, back = false;
      for (const auto& a : ch.accepts) {
        in = in || a.everything || matchesOn(a, "meta", "iifname", ds);
        back = back || a.everything || matchesOn(a, "meta", "oifname", ds) || matchesOn(a, "ct", "state", "established");
      }
      return in && back;
    };
    if (!tethered.empty() && std::all_of(tethered.begin(), tethered.end(), lets)) continue;
    out.push_back("nftables table " + ch.family + " " + ch.table + " chain " + ch.name);
  }
  return out;
}

std::vector<std::string> diagnose(const Facts& f) {
  std::vector<std::string> out, unchecked;
  if (f.nftRuleset) {
    auto drops = nftForwardDrops(*f.nftRuleset, f.tethered);
    if (drops) {
      for (const auto& d : *drops)
        out.push_back("problem " + d + " hook forward policy drop: forwarded traffic from tethered clients is dropped");
    } else {
      unchecked.push_back("unchecked nftables: " + drops.error().message);
    }
  } else {
    unchecked.push_back("unchecked nftables: " + f.nftRuleset.error().message);
  }
  if (!f.tethering) {
    out.insert(out.end(), unchecked.begin(), unchecked.end());
    return out;
  }

  if (f.legacyForward) {
    const LegacyForward& l = *f.legacyForward;
    const std::string chain = "problem iptables-legacy table filter chain FORWARD policy " + l.policy;
    if (l.policy == "DROP" && !l.jumpPresent)
      out.push_back(chain + " and no jump to tetherd_FORWARD: forwarded traffic from tethered clients is dropped");
    else if (l.policy == "DROP" && !l.jumpFirst)
      out.push_back(chain + " without tetherd's jump first: rules before it may drop forwarded traffic from tethered clients");
  } else {
    unchecked.push_back("unchecked iptables-legacy: " + f.legacyForward.error().message);
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
  for (const auto& d : f.dnsmasqStopped)
    out.push_back("problem dnsmasq is not running for tethered downstream " + d + ": its clients get no address and no DNS");
  out.insert(out.end(), unchecked.begin(), unchecked.end());
  return out;
}

}  // namespace tetherd::doctor
