// `tether doctor`'s pure checker: the nftables ruleset (nft 1.0.6's JSON and `-a` text output,
// real ones from tests/unit/doctor/*.nft loaded into a scratch namespace, and hand-written
// items), iptables-legacy's filter table and the other facts in; the exact lines out.
#include "tether/core/doctor.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace tetherd;
using namespace tetherd::doctor;

namespace {

using Lines = std::vector<std::string>;

// tests/unit/doctor/<name>: made by loading <layout>.nft with `nft -f` in an empty network
// namespace (`unshare -n`) and listing it with `nft -j list ruleset` (.json) and `nft -a list
// ruleset` (.txt); "-open" after the change the .nft file's comment names.
std::string fixture(const std::string& name) {
  std::ifstream in(TETHERD_SOURCE_DIR "/tests/unit/doctor/" + name);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_TRUE(in.good() || in.eof()) << name;
  return s.str();
}

const char* kMeta = R"({"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}})";

// A ruleset of nft 1.0.6's JSON output with the given items after the metainfo.
std::string ruleset(const std::string& items) {
  return std::string(R"({"nftables": [)") + kMeta + (items.empty() ? "" : ", " + items) + "]}";
}

// nft add chain inet filter forward '{ type filter hook forward priority 0; policy <policy>; }'
std::string forwardChain(const std::string& policy = "drop") {
  return R"({"table": {"family": "inet", "name": "filter", "handle": 1}}, )"
         R"({"chain": {"family": "inet", "table": "filter", "name": "forward", "handle": 1, "type": "filter", )"
         R"("hook": "forward", "prio": 0, "policy": ")" + policy + R"("}})";
}
std::string chain(const std::string& name) {
  return R"({"chain": {"family": "inet", "table": "filter", "name": ")" + name + R"(", "handle": 9}})";
}
std::string rule(const std::string& exprs, const std::string& chain = "forward", int handle = 2) {
  return R"({"rule": {"family": "inet", "table": "filter", "chain": ")" + chain + R"(", "handle": )" + std::to_string(handle) +
         R"(, "expr": [)" + exprs + "]}}";
}
const std::string kIifUsb0 = R"({"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "usb0"}})";
const std::string kOifUsb0 = R"({"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "usb0"}})";
const std::string kEstablished =
    R"({"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}})";
const std::string kTcp25 = R"({"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 25}})";
const std::string kAccept = R"({"accept": null})";
const std::string kDrop = R"({"drop": null})";

LegacyFilter legacy(const std::string& policy, std::vector<LegacyRule> forward, LegacyFilter more = {}) {
  more["FORWARD"] = LegacyChain{policy, std::move(forward)};
  return more;
}
LegacyRule lrule(std::string target, std::string in = "", std::string out = "") {
  LegacyRule r;
  r.target = std::move(target);
  r.in = std::move(in);
  r.out = std::move(out);
  return r;
}
const LegacyRule kJump = lrule("tetherd_FORWARD");

Facts tetheringFine() {
  Facts f;
  f.tethering = true;
  f.tethered = {"usb0"};
  f.subnets = {{"usb0", *Ipv4Prefix::parse("192.168.42.0/24")}};
  f.upstream = "eth0";
  f.upstreamPriority = {"eth0", "wwan0"};
  f.ipForward = true;
  f.legacyFilter = legacy("ACCEPT", {kJump});
  f.nftRuleset = ruleset("");
  return f;
}

Facts withNft(Facts f, const std::string& layout) {
  f.nftRuleset = fixture(layout + ".json");
  f.nftText = fixture(layout + ".txt");
  return f;
}

const char* kPlainDrop =
    "problem nftables table inet filter chain forward policy drop: drops forwarded traffic from usb0 (192.168.42.0/24) to eth0";
const char* kFirewalldReject =
    "problem nftables table inet firewalld chain filter_FORWARD rule 9 (handle 30) `reject with icmpx admin-prohibited`: "
    "rejects forwarded traffic from usb0 (192.168.42.0/24) to eth0";

}  // namespace

TEST(Doctor, NothingWrongNothingSaid) {
  EXPECT_EQ(diagnose(tetheringFine()), Lines{});
}

TEST(Doctor, FirewalldZonesLayoutRejectRuleIsNamed) {
  // usb0 falls into the default zone (public, no forwarding): filter_FORWARD_ZONES goes to
  // filter_FWD_public, which returns, and filter_FORWARD's last rule rejects. Replies pass
  // (ct state established), so only the new flows are named.
  EXPECT_EQ(diagnose(withNft(tetheringFine(), "firewalld")), Lines{kFirewalldReject});
  // usb0 in zone trusted: its chain accepts.
  EXPECT_EQ(diagnose(withNft(tetheringFine(), "firewalld-open")), Lines{});
  // Two downstreams, one trusted: the other is named; no upstream: no "to".
  Facts f = withNft(tetheringFine(), "firewalld-open");
  f.tethered = {"usb0", "wlan0"};
  f.upstream.reset();
  f.upstreamPriority.clear();
  EXPECT_EQ(diagnose(f), (Lines{"problem nftables table inet firewalld chain filter_FORWARD rule 9 (handle 30) "
                                "`reject with icmpx admin-prohibited`: rejects forwarded traffic from wlan0",
                                "problem no upstream: none is configured ([upstream] priority); tethered clients have no internet"}));
  // Without the text listing the rule is still named by number and handle.
  f = withNft(tetheringFine(), "firewalld");
  f.nftText.clear();
  EXPECT_EQ(diagnose(f), (Lines{"problem nftables table inet firewalld chain filter_FORWARD rule 9 (handle 30): "
                                "rejects forwarded traffic from usb0 (192.168.42.0/24) to eth0"}));
}

TEST(Doctor, PlainInetFilterPolicyDrop) {
  // Replies are accepted, br-lan's and 192.168.1.0/24's rules do not match usb0's traffic,
  // `tcp dport 25 drop` is not about all of it: the policy drops.
  EXPECT_EQ(diagnose(withNft(tetheringFine(), "plain")), Lines{kPlainDrop});
  EXPECT_EQ(diagnose(withNft(tetheringFine(), "plain-open")), Lines{});  // iifname "usb*" oifname "eth0" accept
  Facts f = withNft(tetheringFine(), "plain-open");
  f.tethered = {"usb0", "wlan0"};
  f.subnets["wlan0"] = *Ipv4Prefix::parse("192.168.43.0/24");
  EXPECT_EQ(diagnose(f), (Lines{"problem nftables table inet filter chain forward policy drop: drops forwarded traffic "
                                "from wlan0 (192.168.43.0/24) to eth0"}));
}

TEST(Doctor, NotTetheringNamesWhatWouldDropAnyTetheredClient) {
  Facts f = withNft(tetheringFine(), "plain");
  f.tethering = false;
  f.tethered.clear();
  EXPECT_EQ(diagnose(f), (Lines{"problem nftables table inet filter chain forward policy drop: drops forwarded traffic from "
                                "tethered clients"}));
  f = withNft(f, "firewalld");
  EXPECT_EQ(diagnose(f), (Lines{"problem nftables table inet firewalld chain filter_FORWARD rule 9 (handle 30) "
                                "`reject with icmpx admin-prohibited`: rejects forwarded traffic from tethered clients"}));
}

TEST(Doctor, RepliesDroppedAreNamed) {
  Facts f = tetheringFine();
  f.nftRuleset = ruleset(forwardChain() + ", " + rule(kIifUsb0 + ", " + kAccept));
  EXPECT_EQ(diagnose(f), (Lines{"problem nftables table inet filter chain forward policy drop: drops replies from eth0 to usb0 "
                                "(192.168.42.0/24)"}));
  f.nftRuleset = ruleset(forwardChain() + ", " + rule(kIifUsb0 + ", " + kAccept) + ", " + rule(kOifUsb0 + ", " + kAccept));
  EXPECT_EQ(diagnose(f), Lines{});
  f.nftRuleset = ruleset(forwardChain() + ", " + rule(kAccept));  // accepts everything
  EXPECT_EQ(diagnose(f), Lines{});
  // A set of names counts.
  f.nftRuleset = ruleset(forwardChain() + ", " +
                         rule(R"({"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": {"set": ["wlan0", "usb0"]}}}, )" +
                              kAccept) +
                         ", " + rule(kEstablished + ", " + kAccept));
  EXPECT_EQ(diagnose(f), Lines{});
}

TEST(Doctor, OnlyIpv4ForwardHooksCount) {
  Facts f = tetheringFine();
  f.nftRuleset = ruleset(
      R"({"chain": {"family": "ip", "table": "nat", "name": "post", "handle": 1, "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}}, )"
      R"({"chain": {"family": "bridge", "table": "br", "name": "fw", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}, )"
      R"({"chain": {"family": "ip6", "table": "f6", "name": "fw", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}, )"
      R"({"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "handle": 2, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}}, )"
      R"({"chain": {"family": "ip", "table": "filter", "name": "DOCKER-FWD", "handle": 3, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}})");
  EXPECT_EQ(diagnose(f), (Lines{"problem nftables table ip filter chain DOCKER-FWD policy drop: drops forwarded traffic from usb0 "
                                "(192.168.42.0/24) to eth0, replies from eth0 to usb0 (192.168.42.0/24)"}));
}

TEST(Doctor, RulesThatCertainlyApplyCountOthersDoNot) {
  Facts f = tetheringFine();
  const std::string accept = forwardChain("accept") + ", ";
  auto lines = [&](const std::string& items) {
    f.nftRuleset = ruleset(accept + items);
    return diagnose(f);
  };
  // A port match: not all of the traffic; an IPv6 match, even negated: never IPv4.
  EXPECT_EQ(lines(rule(kTcp25 + ", " + kDrop)), Lines{});
  EXPECT_EQ(lines(rule(R"({"match": {"op": "!=", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": "::1"}}, )" + kDrop)),
            Lines{});
  // ct status dnat: tethered traffic is not DNATed; ct state invalid: not these packets.
  EXPECT_EQ(lines(rule(R"({"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}, )" + kDrop)), Lines{});
  EXPECT_EQ(lines(rule(R"({"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "invalid"}}, )" + kDrop)), Lines{});
  // Addresses against the subnet: inside drops, outside and narrower do not.
  auto saddr = [](const std::string& addr, int len) {
    return R"({"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": ")" +
           addr + R"(", "len": )" + std::to_string(len) + "}}}}, ";
  };
  EXPECT_EQ(lines(rule(saddr("192.168.0.0", 16) + kDrop)),
            (Lines{"problem nftables table inet filter chain forward rule 1 (handle 2): drops forwarded traffic from usb0 "
                   "(192.168.42.0/24) to eth0"}));
  EXPECT_EQ(lines(rule(saddr("10.0.0.0", 8) + kDrop)), Lines{});
  EXPECT_EQ(lines(rule(saddr("192.168.42.128", 25) + kDrop)), Lines{});
  // A negated interface; a wildcard; a reject; a rule with a counter.
  EXPECT_EQ(lines(rule(R"({"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "eth0"}}, )" + kDrop)),
            (Lines{"problem nftables table inet filter chain forward rule 1 (handle 2): drops replies from eth0 to usb0 (192.168.42.0/24)"}));
  EXPECT_EQ(lines(rule(R"({"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "usb*"}}, {"counter": {"packets": 0, "bytes": 0}}, {"reject": {"type": "icmpx", "expr": "admin-prohibited"}})")),
            (Lines{"problem nftables table inet filter chain forward rule 1 (handle 2): rejects forwarded traffic from usb0 "
                   "(192.168.42.0/24) to eth0"}));
}

TEST(Doctor, JumpsGotosReturnsAndVerdictMaps) {
  Facts f = tetheringFine();
  f.nftText = "table inet filter { # handle 1\n\tchain zone_pub { # handle 9\n\t\tdrop # handle 7\n\t}\n}\n";
  const std::string base = forwardChain("accept") + ", " + chain("zone_pub") + ", " + chain("zone_lan") + ", " + chain("ret") + ", ";
  const std::string dropInPub = rule(kDrop, "zone_pub", 7);
  const char* pubDrops =
      "problem nftables table inet filter chain zone_pub rule 1 (handle 7) `drop`: drops forwarded traffic from usb0 "
      "(192.168.42.0/24) to eth0, replies from eth0 to usb0 (192.168.42.0/24)";
  // A verdict map by input interface: usb0 goes to zone_lan (empty: back to the base chain, accept).
  f.nftRuleset = ruleset(base + dropInPub + ", " +
                         rule(R"({"vmap": {"key": {"meta": {"key": "iifname"}}, "data": {"set": [["usb0", {"goto": {"target": "zone_lan"}}], ["eth0", {"goto": {"target": "zone_pub"}}]]}}})"));
  EXPECT_EQ(diagnose(f), (Lines{"problem nftables table inet filter chain zone_pub rule 1 (handle 7) `drop`: drops replies "
                                "from eth0 to usb0 (192.168.42.0/24)"}));
  // A jump into a chain that returns first; then a goto that drops.
  f.nftRuleset = ruleset(base + dropInPub + ", " + rule(R"({"return": null})", "ret", 3) + ", " + rule(kDrop, "ret", 4) + ", " +
                         rule(R"({"jump": {"target": "ret"}})") + ", " + rule(R"({"goto": {"target": "zone_pub"}})"));
  EXPECT_EQ(diagnose(f), Lines{pubDrops});
  // A jump to a chain that is not there is no verdict; a loop ends the walk undecided.
  f.nftRuleset = ruleset(base + rule(R"({"jump": {"target": "nowhere"}})") + ", " + rule(R"({"jump": {"target": "ret"}})") + ", " +
                         rule(R"({"jump": {"target": "ret"}})", "ret", 3) + ", " + rule(kDrop, "ret", 4));
  EXPECT_EQ(diagnose(f), Lines{});
}

TEST(Doctor, RuleTextsFromTheListing) {
  auto texts = nftRuleTexts(fixture("firewalld.txt"));
  EXPECT_EQ(texts.size(), 25u);
  EXPECT_EQ(texts.at({"inet", "firewalld", "filter_FORWARD", 21}), "ct state { established, related } accept");
  EXPECT_EQ(texts.at({"inet", "firewalld", "filter_FORWARD", 30}), "reject with icmpx admin-prohibited");
  EXPECT_EQ(texts.at({"inet", "firewalld", "filter_FWD_trusted", 46}), "accept");
  // Quoted names and a '#' in a comment; a rule over two lines; sets are not chains.
  const std::string odd =
      "table ip \"my t\" { # handle 4\n"
      "\tset s { # handle 2\n\t\ttype ipv4_addr\n\t\telements = { 10.0.0.1,\n\t\t\t     10.0.0.2 }\n\t}\n"
      "\tchain \"fw d\" { # handle 1\n"
      "\t\ttype filter hook forward priority filter; policy accept;\n"
      "\t\tiifname \"usb0\" counter packets 3 bytes 180 drop comment \"no # here\" # handle 5\n"
      "\t\tip daddr { 10.0.0.1,\n\t\t\t 10.0.0.2 } drop # handle 6\n"
      "\t\tdrop\n"
      "\t}\n"
      "}\n"
      "table inet x {\n\tchain c {\n\t\taccept # handle 3\n\t}\n}\n";
  EXPECT_EQ(nftRuleTexts(odd), (std::map<NftRuleKey, std::string>{
                                   {{"ip", "my t", "fw d", 5}, "iifname \"usb0\" counter packets 3 bytes 180 drop comment \"no # here\""},
                                   {{"ip", "my t", "fw d", 6}, "ip daddr { 10.0.0.1, 10.0.0.2 } drop"},
                                   {{"inet", "x", "c", 3}, "accept"},
                               }));
  EXPECT_EQ(nftRuleTexts(""), (std::map<NftRuleKey, std::string>{}));
  EXPECT_EQ(nftRuleTexts("}}}\n{{{ # handle 1\nchain x {\n"), (std::map<NftRuleKey, std::string>{}));
}

TEST(Doctor, LegacyRuleBeforeTetherdsJump) {
  Facts f = tetheringFine();
  f.legacyFilter = legacy("DROP", {kJump});  // tetherd's jump first: its rules accept
  EXPECT_EQ(diagnose(f), Lines{});
  f.legacyFilter = legacy("ACCEPT", {lrule("DROP", "usb0"), kJump});
  EXPECT_EQ(diagnose(f), (Lines{"problem iptables-legacy table filter chain FORWARD rule 1 `-A FORWARD -i usb0 -j DROP` before "
                                "tetherd's jump (FORWARD rule 2): drops forwarded traffic from usb0 (192.168.42.0/24) to eth0"}));
  // Rules that do not certainly apply are passed: a conntrack match, another interface, a
  // protocol; a user chain that returns; a LOG.
  LegacyRule ct = lrule("DROP");
  ct.matches = {"conntrack"};
  LegacyRule tcp = lrule("REJECT", "usb0");
  tcp.proto = 6;
  f.legacyFilter = legacy("DROP", {ct, lrule("DROP", "wlan0"), tcp, lrule("DOCKER-USER"), lrule("LOG"), kJump, lrule("DROP")},
                          {{"DOCKER-USER", LegacyChain{"", {lrule("RETURN")}}}});
  EXPECT_EQ(diagnose(f), Lines{});
  // A REJECT on the subnet in a user chain; a DROP of the replies.
  LegacyRule sub = lrule("REJECT");
  sub.src = Ipv4Prefix::parse("192.168.0.0/16");
  f.legacyFilter = legacy("ACCEPT", {lrule("DOCKER-USER"), lrule("DROP", "", "usb+"), kJump},
                          {{"DOCKER-USER", LegacyChain{"", {sub}}}});
  EXPECT_EQ(diagnose(f), (Lines{"problem iptables-legacy table filter chain DOCKER-USER rule 1 `-A DOCKER-USER -s 192.168.0.0/16 -j "
                                "REJECT` before tetherd's jump (FORWARD rule 3): rejects forwarded traffic from usb0 "
                                "(192.168.42.0/24) to eth0",
                                "problem iptables-legacy table filter chain FORWARD rule 2 `-A FORWARD -o usb+ -j DROP` before "
                                "tetherd's jump (FORWARD rule 3): drops replies from eth0 to usb0 (192.168.42.0/24)"}));
}

TEST(Doctor, LegacyPolicyDropWithoutTetherdsJump) {
  Facts f = tetheringFine();
  f.legacyFilter = legacy("DROP", {lrule("ACCEPT", "br0")});
  EXPECT_EQ(diagnose(f), (Lines{"problem iptables-legacy table filter chain FORWARD policy DROP and no jump to tetherd_FORWARD: "
                                "drops forwarded traffic from usb0 (192.168.42.0/24) to eth0, replies from eth0 to usb0 "
                                "(192.168.42.0/24)"}));
  f.legacyFilter = legacy("ACCEPT", {});
  EXPECT_EQ(diagnose(f), Lines{});
}

TEST(Doctor, LegacyRuleText) {
  LegacyRule r = lrule("DOCKER", "usb+", "eth0");
  r.src = Ipv4Prefix::parse("10.1.2.3/8");
  r.srcInvert = true;
  r.dst = Ipv4Prefix::parse("1.2.3.4/32");
  r.outInvert = true;
  r.proto = 6;
  r.fragment = true;
  r.matches = {"conntrack", "comment"};
  r.isGoto = true;
  EXPECT_EQ(legacyRuleText("FORWARD", r), "-A FORWARD ! -s 10.0.0.0/8 -d 1.2.3.4/32 -i usb+ ! -o eth0 -p tcp -f -m conntrack -m comment -g DOCKER");
  EXPECT_EQ(legacyRuleText("X", lrule("")), "-A X");
}

TEST(Doctor, ForwardingUpstreamAndDnsmasq) {
  Facts f = tetheringFine();
  f.ipForward = false;
  f.upstream.reset();
  f.tethered = {"usb0", "wlan0"};
  f.dnsmasqStopped = {"wlan0"};
  EXPECT_EQ(diagnose(f), (Lines{
                             "problem ip_forward is off while tethering: the kernel forwards nothing from tethered clients",
                             "problem no upstream: none of eth0 wwan0 is up with a default route and DNS servers; "
                             "tethered clients have no internet",
                             "problem dnsmasq is not running for tethered downstream wlan0: its clients get no address and no DNS",
                         }));
  f.upstreamPriority.clear();
  f.ipForward = true;
  f.dnsmasqStopped.clear();
  EXPECT_EQ(diagnose(f), (Lines{"problem no upstream: none is configured ([upstream] priority); tethered clients have no internet"}));
  // None of this matters while tethering is stopped.
  f.tethering = false;
  f.ipForward = false;
  EXPECT_EQ(diagnose(f), Lines{});
}

TEST(Doctor, StrictRpFilterOnACandidateIsSaid) {
  Facts f = tetheringFine();
  f.strictRpFilter = {"wwan0"};
  EXPECT_EQ(diagnose(f), (Lines{"problem upstream wwan0 has strict reverse-path filtering (rp_filter=1): replies to its "
                                "health probes, and to tethered traffic while it is not the main table's default route, "
                                "are dropped; use loose mode: sysctl net.ipv4.conf.all.rp_filter=2 "
                                "net.ipv4.conf.wwan0.rp_filter=2"}));
}

TEST(Doctor, OffloadActiveOrWhyNotIsSaidNotAsAProblem) {
  Facts f = tetheringFine();
  f.offload = "active";
  EXPECT_EQ(diagnose(f), (Lines{"ok offload active: established tethered flows go through flowtable inet tetherd_offload"}));
  f.offload = "kernel without flowtable support (nf_flow_table)";
  EXPECT_EQ(diagnose(f), (Lines{"offload inactive: kernel without flowtable support (nf_flow_table) (forwarded flows take "
                                "the normal path)"}));
}

TEST(Doctor, WhatCouldNotBeReadIsSaid) {
  Facts f = tetheringFine();
  f.nftRuleset = makeError(Errc::SystemError, "list ruleset: Operation not permitted");
  f.legacyFilter = makeError(Errc::SystemError, "table filter: Permission denied (you must be root)");
  f.ipForward = makeError(Errc::SystemError, "read sysctl net/ipv4/ip_forward: No such file or directory");
  EXPECT_EQ(diagnose(f), (Lines{
                             "unchecked nftables: list ruleset: Operation not permitted",
                             "unchecked iptables-legacy: table filter: Permission denied (you must be root)",
                             "unchecked ip_forward: read sysctl net/ipv4/ip_forward: No such file or directory",
                         }));
  f.nftRuleset = std::string("{\"nftables\": 3}");
  f.legacyFilter = legacy("ACCEPT", {kJump});
  f.ipForward = true;
  EXPECT_EQ(diagnose(f), (Lines{"unchecked nftables: the nftables ruleset is not nft's JSON output"}));
  EXPECT_FALSE(nftBlockers("not json", {}, {}));
  // Control characters in a rule's text cannot break the line.
  f.nftRuleset = ruleset(forwardChain("accept") + ", " + rule(kDrop));
  f.nftText = "table inet filter {\n\tchain forward {\n\t\tdrop comment \"a\rb\" # handle 2\n\t}\n}\n";
  EXPECT_EQ(diagnose(f), (Lines{"problem nftables table inet filter chain forward rule 1 (handle 2) `drop comment \"a?b\"`: drops "
                                "forwarded traffic from usb0 (192.168.42.0/24) to eth0, replies from eth0 to usb0 (192.168.42.0/24)"}));
}

TEST(Doctor, UpstreamWithoutIpv6IsSaidPlainly) {
  Facts f = tetheringFine();
  f.ipv6Configured = "nat66";
  f.ipv6Mode = "nat66";
  EXPECT_EQ(diagnose(f), (Lines{"problem upstream eth0 has no IPv6 (no global IPv6 address): clients get IPv6 addresses "
                                "(nat66) but reach no IPv6 destination; they use IPv4"}));
  f.upstreamIpv6Address = true;
  EXPECT_EQ(diagnose(f), (Lines{"problem upstream eth0 sends no router advertisement (no IPv6 default route learnt): "
                                "clients get IPv6 addresses (nat66) but reach no IPv6 destination; they use IPv4"}));
  f.upstreamIpv6Route = true;
  EXPECT_EQ(diagnose(f), Lines{});
  f = tetheringFine();  // IPv6 off: nothing to say about it
  EXPECT_EQ(diagnose(f), Lines{});
}

TEST(Doctor, PrefixDelegationProblemsAreSaidPlainly) {
  Facts f = tetheringFine();
  f.upstreamIpv6Address = f.upstreamIpv6Route = true;
  // auto: dhcpcd asks, nothing is delegated: nat66.
  f.ipv6Configured = "auto";
  f.ipv6Mode = "nat66";
  f.pdAsked = true;
  EXPECT_EQ(diagnose(f), (Lines{"problem upstream eth0 delegates no prefix: dhcpcd asks for one (ipv6 = auto) but none is "
                                "held; clients get nat66 (unique local addresses translated to the upstream's)"}));
  // pd: nothing delegated means no IPv6 at all; with no address either, both lines.
  f.ipv6Configured = "pd";
  f.ipv6Mode = "off";
  f.upstreamIpv6Address = false;
  EXPECT_EQ(diagnose(f), (Lines{"problem upstream eth0 has no IPv6 (no global IPv6 address): clients get no IPv6; they use IPv4",
                                "problem upstream eth0 delegates no prefix: dhcpcd asks for one (ipv6 = pd) but none is "
                                "held; clients get no IPv6"}));
  // A delegation too small for every downstream names the ones left.
  f.upstreamIpv6Address = true;
  f.ipv6Mode = "pd";
  f.delegated = "2001:db8:0:10::/64";
  f.pdLeft = {"usb0", "wlan0"};
  EXPECT_EQ(diagnose(f), (Lines{"problem delegated prefix 2001:db8:0:10::/64 has no /64 left for usb0 wlan0: they get nat66"}));
  f.pdLeft.clear();
  EXPECT_EQ(diagnose(f), Lines{});
  // Not tethering: no IPv6 lines.
  f.tethering = false;
  f.upstreamIpv6Address = false;
  EXPECT_EQ(diagnose(f), Lines{});
}

// Relay (issue 12): doctor says it is in force, with the /64 and how many client addresses are
// proxied, or, with ipv6 = relay, the one reason it is not (instead of the general IPv6 lines).
TEST(Doctor, RelayInForceOrWhyNot) {
  Facts f = tetheringFine();
  f.ipv6Configured = "relay";
  f.ipv6Mode = "off";
  EXPECT_EQ(diagnose(f), (Lines{"problem relay not in force (ipv6 = relay): upstream eth0 has no global IPv6 address; clients "
                                "get no IPv6; they use IPv4"}));
  f.upstreamIpv6Address = true;  // a static one (or deprecated, or not /64)
  EXPECT_EQ(diagnose(f), (Lines{"problem relay not in force (ipv6 = relay): upstream eth0 has no /64 from router "
                                "advertisements (its global addresses are static, deprecated or not /64: nothing on-link "
                                "to share); clients get no IPv6; they use IPv4"}));
  f.upstreamSlaac64 = true;
  EXPECT_EQ(diagnose(f), (Lines{"problem relay not in force (ipv6 = relay): upstream eth0 sends no router advertisement (no "
                                "IPv6 default route learnt); clients get no IPv6; they use IPv4"}));
  f.upstreamIpv6Route = true;
  f.ipv6Mode = "relay";
  f.relayed = "2001:db8:1::/64";
  EXPECT_EQ(diagnose(f), (Lines{"ok relay active: upstream eth0's /64 2001:db8:1::/64 shared with no forwarding downstream "
                                "yet, 0 client addresses proxied (a /128 route and a proxy neighbour entry each)"}));
  f.relayDownstreams = {"usb0", "wlan0"};
  f.relayHosts = 1;
  EXPECT_EQ(diagnose(f), (Lines{"ok relay active: upstream eth0's /64 2001:db8:1::/64 shared with usb0 wlan0, 1 client "
                                "address proxied (a /128 route and a proxy neighbour entry each)"}));
  f.ipv6Configured = "auto";  // auto relaying says the same
  f.relayHosts = 3;
  EXPECT_EQ(diagnose(f), (Lines{"ok relay active: upstream eth0's /64 2001:db8:1::/64 shared with usb0 wlan0, 3 client "
                                "addresses proxied (a /128 route and a proxy neighbour entry each)"}));
  f.ipv6Mode = "nat66";  // auto without relay: no relay line
  EXPECT_EQ(diagnose(f), Lines{});
  f.tethering = false;
  EXPECT_EQ(diagnose(f), Lines{});
}
