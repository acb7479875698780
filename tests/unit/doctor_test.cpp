// `tether doctor`'s pure checker: nftables JSON (as `nft -j list ruleset` / libnftables print
// it) and the other facts in, the exact lines out.
#include "tether/core/doctor.h"

#include <gtest/gtest.h>

using namespace tetherd;
using namespace tetherd::doctor;

namespace {

using Lines = std::vector<std::string>;

const char* kMeta = R"({"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}})";

// A ruleset of nft 1.0.6's JSON output with the given items after the metainfo.
std::string ruleset(const std::string& items) {
  return std::string(R"({"nftables": [)") + kMeta + (items.empty() ? "" : ", " + items) + "]}";
}

// The lab's foreign chain: nft add chain inet filter forward '{ type filter hook forward priority 0; policy drop; }'
const std::string kDropChain =
    R"({"table": {"family": "inet", "name": "filter", "handle": 1}}, )"
    R"({"chain": {"family": "inet", "table": "filter", "name": "forward", "handle": 1, "type": "filter", )"
    R"("hook": "forward", "prio": 0, "policy": "drop"}})";

std::string rule(const std::string& exprs) {
  return R"({"rule": {"family": "inet", "table": "filter", "chain": "forward", "handle": 2, "expr": [)" + exprs + "]}}";
}
const std::string kIifUsb0 = R"({"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "usb0"}})";
const std::string kOifUsb0 = R"({"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "usb0"}})";
const std::string kEstablished =
    R"({"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}})";
const std::string kAccept = R"({"accept": null})";

Facts tetheringFine() {
  Facts f;
  f.tethering = true;
  f.tethered = {"usb0"};
  f.upstream = "eth0";
  f.upstreamPriority = {"eth0", "wwan0"};
  f.ipForward = true;
  f.legacyForward = LegacyForward{"ACCEPT", true, true};
  f.nftRuleset = ruleset("");
  return f;
}

const char* kNftDrop =
    "problem nftables table inet filter chain forward hook forward policy drop: forwarded traffic from tethered clients is dropped";

}  // namespace

TEST(Doctor, NothingWrongNothingSaid) {
  EXPECT_EQ(diagnose(tetheringFine()), Lines{});
}

TEST(Doctor, ForeignNftablesForwardDropIsNamed) {
  Facts f = tetheringFine();
  f.nftRuleset = ruleset(kDropChain);
  EXPECT_EQ(diagnose(f), Lines{kNftDrop});
  f.tethering = false;  // it would drop them as soon as tethering starts
  f.tethered.clear();
  EXPECT_EQ(diagnose(f), Lines{kNftDrop});
}

TEST(Doctor, OnlyIpv4ForwardHooksWithPolicyDropCount) {
  Facts f = tetheringFine();
  f.nftRuleset = ruleset(
      R"({"chain": {"family": "ip", "table": "nat", "name": "post", "handle": 1, "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}}, )"
      R"({"chain": {"family": "bridge", "table": "br", "name": "fw", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}, )"
      R"({"chain": {"family": "ip6", "table": "f6", "name": "fw", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}, )"
      R"({"chain": {"family": "inet", "table": "filter", "name": "other", "handle": 4}}, )"
      R"({"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "handle": 2, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}}, )"
      R"({"chain": {"family": "ip", "table": "filter", "name": "DOCKER-FWD", "handle": 3, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}})");
  EXPECT_EQ(diagnose(f), (Lines{"problem nftables table ip filter chain DOCKER-FWD hook forward policy drop: "
                                "forwarded traffic from tethered clients is dropped"}));
}

TEST(Doctor, ADropChainThatAcceptsTheDownstreamBothWaysIsFine) {
  Facts f = tetheringFine();
  f.nftRuleset = ruleset(kDropChain + ", " + rule(kIifUsb0 + ", " + kAccept) + ", " + rule(kEstablished + ", " + kAccept));
  EXPECT_EQ(diagnose(f), Lines{});
  f.nftRuleset = ruleset(kDropChain + ", " + rule(kIifUsb0 + ", " + kAccept) + ", " + rule(kOifUsb0 + ", " + kAccept));
  EXPECT_EQ(diagnose(f), Lines{});
  f.nftRuleset = ruleset(kDropChain + ", " + rule(kAccept));  // accepts everything
  EXPECT_EQ(diagnose(f), Lines{});
  // Out, but the replies are dropped; or a downstream it does not know.
  f.nftRuleset = ruleset(kDropChain + ", " + rule(kIifUsb0 + ", " + kAccept));
  EXPECT_EQ(diagnose(f), Lines{kNftDrop});
  f.nftRuleset = ruleset(kDropChain + ", " + rule(kIifUsb0 + ", " + kAccept) + ", " + rule(kEstablished + ", " + kAccept));
  f.tethered = {"usb0", "wlan0"};
  EXPECT_EQ(diagnose(f), Lines{kNftDrop});
  // A set of names counts; a rule that drops does not.
  f.nftRuleset = ruleset(kDropChain + ", " +
                         rule(R"({"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": {"set": ["usb0", "wlan0"]}}}, )" +
                              kAccept) +
                         ", " + rule(kEstablished + ", " + kAccept));
  EXPECT_EQ(diagnose(f), Lines{});
  f.nftRuleset = ruleset(kDropChain + ", " + rule(kIifUsb0 + R"(, {"drop": null})"));
  EXPECT_EQ(diagnose(f), Lines{kNftDrop});
}

TEST(Doctor, LegacyForwardPolicyDrop) {
  Facts f = tetheringFine();
  f.legacyForward = LegacyForward{"DROP", true, true};  // tetherd's jump first: its rules accept
  EXPECT_EQ(diagnose(f), Lines{});
  f.legacyForward = LegacyForward{"DROP", true, false};
  EXPECT_EQ(diagnose(f), (Lines{"problem iptables-legacy table filter chain FORWARD policy DROP without tetherd's jump "
                                "first: rules before it may drop forwarded traffic from tethered clients"}));
  f.legacyForward = LegacyForward{"DROP", false, false};
  EXPECT_EQ(diagnose(f), (Lines{"problem iptables-legacy table filter chain FORWARD policy DROP and no jump to "
                                "tetherd_FORWARD: forwarded traffic from tethered clients is dropped"}));
  f.legacyForward = LegacyForward{"ACCEPT", false, false};
  EXPECT_EQ(diagnose(f), Lines{});
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

TEST(Doctor, WhatCouldNotBeReadIsSaid) {
  Facts f = tetheringFine();
  f.nftRuleset = makeError(Errc::SystemError, "list ruleset: Operation not permitted");
  f.legacyForward = makeError(Errc::SystemError, "table filter: Permission denied (you must be root)");
  f.ipForward = makeError(Errc::SystemError, "read sysctl net/ipv4/ip_forward: No such file or directory");
  EXPECT_EQ(diagnose(f), (Lines{
                             "unchecked nftables: list ruleset: Operation not permitted",
                             "unchecked iptables-legacy: table filter: Permission denied (you must be root)",
                             "unchecked ip_forward: read sysctl net/ipv4/ip_forward: No such file or directory",
                         }));
  f.nftRuleset = std::string("{\"nftables\": 3}");
  f.legacyForward = LegacyForward{"ACCEPT", true, true};
  f.ipForward = true;
  EXPECT_EQ(diagnose(f), (Lines{"unchecked nftables: the nftables ruleset is not nft's JSON output"}));
  f.nftRuleset = std::string("not json");
  EXPECT_FALSE(nftForwardDrops("not json", {}));
}
