// Flowtable offload (issue 18): which flows may be offloaded, the nftables text by exact
// text, the failure reasons, and the applier over fake ports.
#include "tether/core/offload.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "fakes.h"
#include "tether/base/files.h"
#include "tether/control/tether_commands.h"
#include "tether/core/offload_applier.h"

namespace tetherd {
namespace {

Ipv4Address ip(const char* s) { return *Ipv4Address::parse(s); }

struct Scene {
  Facts facts;
  Intent intent;
  Desired desired;
  Scene() {
    intent.config.offload = OffloadMode::Software;
    desired.upstream = "eth0";
    FirewallState fw;
    fw.downstreams = {"usb0", "wlan0"};
    fw.pairs = {{"usb0", "eth0"}, {"wlan0", "eth0"}};
    desired.firewall = fw;
  }
  OffloadWant want() const { return planOffload(facts, intent, desired); }
};

TEST(Offload, PlansTheTetheredDownstreamsAndTheUpstream) {
  Scene s;
  EXPECT_EQ(s.want(), (OffloadWant{true, OffloadPlan{{"usb0", "wlan0"}, "eth0", {}}, ""}));
}

TEST(Offload, SaysWhyNot) {
  Scene s;
  s.intent.config.offload = OffloadMode::Off;
  EXPECT_EQ(s.want(), (OffloadWant{false, std::nullopt, "offload = off"}));
  Scene none;
  none.desired.firewall = std::nullopt;
  EXPECT_EQ(none.want(), (OffloadWant{true, std::nullopt, "no tethered downstream"}));
  Scene noUp;
  noUp.desired.upstream = std::nullopt;
  EXPECT_EQ(noUp.want(), (OffloadWant{true, std::nullopt, "no upstream"}));
  Scene held;
  held.desired.shaping["usb0"].down = 5'000'000;  // a downstream's own limit
  held.intent.quotas.downstreams["wlan0"] = Quota{};
  EXPECT_EQ(held.want(), (OffloadWant{true, std::nullopt, "every tethered downstream has a rate limit or a quota"}));
}

TEST(Offload, LeavesOutLimitedQuotaHeldAndBlockedClients) {
  Scene s;
  LinkShaping link;
  link.clients.push_back(ClientShaping{"02:00:00:00:00:01", ip("192.168.42.20"), 5'000'000, 0, {*Ipv6Address::parse("fd00::20")}});
  s.desired.shaping["usb0"] = link;
  s.desired.firewall->quotaOf = {{"192.168.42.30", "02:00:00:00:00:02"}, {"fd00::30", "02:00:00:00:00:02"}};
  s.intent.blocked = {"02:00:00:00:00:03"};
  Lease blocked;
  blocked.mac = "02:00:00:00:00:03";
  blocked.ip = ip("192.168.43.40");
  Lease free;
  free.mac = "02:00:00:00:00:04";
  free.ip = ip("192.168.43.41");
  s.facts.clientLeases["wlan0"] = {blocked, free};
  s.facts.clientAddrs6["wlan0"]["02:00:00:00:00:03"] = {*Ipv6Address::parse("fd00:1::40")};
  const auto w = s.want();
  ASSERT_TRUE(w.plan);
  EXPECT_EQ(w.plan->downstreams, (std::set<std::string>{"usb0", "wlan0"}));  // a client's limit is not the link's
  EXPECT_EQ(w.plan->excluded, (std::set<std::string>{"192.168.42.20", "192.168.42.30", "192.168.43.40"}));
}

TEST(Offload, RulesetIsOneTransactionReplacingTheTable) {
  OffloadPlan p{{"usb0", "wlan0"}, "eth0", {"192.168.42.20", "192.168.42.30"}};
  EXPECT_EQ(offloadRuleset(p),
            "add table inet tetherd_offload\n"
            "delete table inet tetherd_offload\n"
            "table inet tetherd_offload {\n"
            "\tflowtable ft {\n"
            "\t\thook ingress priority filter\n"
            "\t\tdevices = { \"eth0\", \"usb0\", \"wlan0\" }\n"
            "\t\tcounter\n"
            "\t}\n"
            "\tchain forward {\n"
            "\t\ttype filter hook forward priority 100; policy accept;\n"
            "\t\tip saddr { 192.168.42.20, 192.168.42.30 } return\n"
            "\t\tip daddr { 192.168.42.20, 192.168.42.30 } return\n"
            "\t\tiifname { \"usb0\", \"wlan0\" } oifname \"eth0\" meta nfproto ipv4 meta l4proto { tcp, udp } ct state established "
            "ct mark set ct mark or 0x40000000 flow add @ft\n"
            "\t\tiifname \"eth0\" oifname { \"usb0\", \"wlan0\" } meta nfproto ipv4 meta l4proto { tcp, udp } ct state established "
            "ct mark set ct mark or 0x40000000 flow add @ft\n"
            "\t}\n"
            "}\n");
  EXPECT_EQ(offloadRuleset(OffloadPlan{{"usb0"}, "eth0", {}}),
            "add table inet tetherd_offload\n"
            "delete table inet tetherd_offload\n"
            "table inet tetherd_offload {\n"
            "\tflowtable ft {\n"
            "\t\thook ingress priority filter\n"
            "\t\tdevices = { \"eth0\", \"usb0\" }\n"
            "\t\tcounter\n"
            "\t}\n"
            "\tchain forward {\n"
            "\t\ttype filter hook forward priority 100; policy accept;\n"
            "\t\tiifname \"usb0\" oifname \"eth0\" meta nfproto ipv4 meta l4proto { tcp, udp } ct state established "
            "ct mark set ct mark or 0x40000000 flow add @ft\n"
            "\t\tiifname \"eth0\" oifname \"usb0\" meta nfproto ipv4 meta l4proto { tcp, udp } ct state established "
            "ct mark set ct mark or 0x40000000 flow add @ft\n"
            "\t}\n"
            "}\n");
  EXPECT_EQ(offloadRemoval(), "add table inet tetherd_offload\ndelete table inet tetherd_offload\n");
}

TEST(Offload, FailureReasons) {
  // libnftables 1.0.6 echoes the buffer's first line whichever line failed.
  const std::string enoent = "Error: Could not process rule: No such file or directory\n"
                             "add table inet tetherd_offload\n           ^^\n";
  EXPECT_EQ(offloadFailure(enoent, false), "kernel without flowtable support (nf_flow_table)");
  EXPECT_EQ(offloadFailure(enoent, true), "Could not process rule: No such file or directory");  // a device gone
  EXPECT_EQ(offloadFailure("Error: Could not process rule: Operation not permitted\nadd table inet tetherd_offload\n", false),
            "Could not process rule: Operation not permitted");
  EXPECT_EQ(offloadFailure("", false), "the nftables transaction failed");
}

TEST(Offload, StatusText) {
  EXPECT_EQ(describeOffload(OffloadStatus{false, false, "offload = off"}), " offload=off");
  EXPECT_EQ(describeOffload(OffloadStatus{true, true, ""}), " offload=active");
  EXPECT_EQ(describeOffload(OffloadStatus{true, false, "kernel without flowtable support (nf_flow_table)"}),
            " offload=inactive offload_reason=\"kernel without flowtable support (nf_flow_table)\"");
}

struct FakeNft : NftRuleset {
  std::vector<std::string> runs;
  std::string fail;  // the error every run gives; "" succeeds
  Status run(const std::string& commands) override {
    runs.push_back(commands);
    if (!fail.empty()) return makeError(Errc::SystemError, fail);
    return {};
  }
};

struct FakeConntrack : Conntrack {
  std::vector<std::string> flushed;
  Result<int> removeNatedTo(Ipv4Address) override { return 0; }
  Result<int> removeFlowsOf(Ipv4Address client) override {
    flushed.push_back(client.str());
    return 1;
  }
};

class OffloadApplierTest : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir = testing::freshTestDir("offload");
  std::string record = (dir / "offload-table").string();
  FakeNft nft;
  FakeConntrack ct;
  OffloadApplier applier{&nft, &ct, record};
};

TEST_F(OffloadApplierTest, AppliesOnceRepointsAndRemoves) {
  OffloadPlan p{{"usb0"}, "eth0", {}};
  applier.apply({true, p, ""});
  applier.apply({true, p, ""});  // the same: no transaction
  ASSERT_EQ(nft.runs.size(), 1u);
  EXPECT_EQ(nft.runs[0], offloadRuleset(p));
  EXPECT_EQ(applier.status(), (OffloadStatus{true, true, ""}));
  EXPECT_TRUE(std::filesystem::exists(record));
  p.upstream = "wwan0";  // an upstream change: one transaction re-points it
  applier.apply({true, p, ""});
  ASSERT_EQ(nft.runs.size(), 2u);
  EXPECT_EQ(nft.runs[1], offloadRuleset(p));
  applier.apply({true, std::nullopt, "no tethered downstream"});
  ASSERT_EQ(nft.runs.size(), 3u);
  EXPECT_EQ(nft.runs[2], offloadRemoval());
  EXPECT_EQ(applier.status(), (OffloadStatus{true, false, "no tethered downstream"}));
  EXPECT_FALSE(std::filesystem::exists(record));
  applier.reset();  // nothing of ours: no transaction (libnftables not even loaded)
  EXPECT_EQ(nft.runs.size(), 3u);
}

TEST_F(OffloadApplierTest, AKernelWithoutFlowtableIsInactiveNotAFailure) {
  nft.fail = "Error: Could not process rule: No such file or directory\ntable inet tetherd_offload {\n\tflowtable ft {\n";
  OffloadPlan p{{"usb0"}, "eth0", {}};
  applier.apply({true, p, ""});
  applier.apply({true, p, ""});  // not tried again until the plan changes
  EXPECT_EQ(nft.runs.size(), 1u);
  EXPECT_EQ(applier.status(), (OffloadStatus{true, false, "kernel without flowtable support (nf_flow_table)"}));
  EXPECT_FALSE(std::filesystem::exists(record));
}

TEST_F(OffloadApplierTest, ANewlyExcludedClientsFlowsAreFlushed) {
  applier.apply({true, OffloadPlan{{"usb0"}, "eth0", {"192.168.42.20"}}, ""});
  EXPECT_EQ(ct.flushed, (std::vector<std::string>{"192.168.42.20"}));
  applier.apply({true, OffloadPlan{{"usb0"}, "eth0", {"192.168.42.20", "192.168.42.21"}}, ""});
  EXPECT_EQ(ct.flushed, (std::vector<std::string>{"192.168.42.20", "192.168.42.21"}));
}

TEST_F(OffloadApplierTest, ACrashsTableGoesAtStart) {
  ASSERT_TRUE(writeFileAtomic(record, "table inet tetherd_offload\n", 0644));
  applier.reset();
  ASSERT_EQ(nft.runs.size(), 1u);
  EXPECT_EQ(nft.runs[0], offloadRemoval());
  EXPECT_FALSE(std::filesystem::exists(record));
}

}  // namespace
}  // namespace tetherd
