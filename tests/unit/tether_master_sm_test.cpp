// TetherMasterSM through every state, every error state and its recovery.
#include "statemachines/tether_master_sm.h"

#include <gtest/gtest.h>

using namespace tetherd;
using State = TetherMasterMachine::State;

namespace {

struct Actions : MasterActions {
  std::vector<std::string> log;
  std::string failing;  // which step fails: ipfwd-on, start, dns, stop, ipfwd-off
  bool timerArmed = false;
  std::vector<Errc> masterErrors;
  Status step(const std::string& name) {
    log.push_back(name);
    if (failing == name) return makeError(Errc::SystemError, name + " failed");
    return {};
  }
  Status enableIpForwarding() override { return step("ipfwd-on"); }
  Status disableIpForwarding() override { return step("ipfwd-off"); }
  Status startTethering() override { return step("start"); }
  Status stopTethering() override { return step("stop"); }
  Status setDnsForwarders() override { return step("dns"); }
  void notifyUpstreamChanged() override { log.push_back("upstream-changed"); }
  void notifyMasterError(Errc c) override { masterErrors.push_back(c); }
  void armTimer(int) override { timerArmed = true; }
  void cancelTimer() override { timerArmed = false; }
  void stateChanged(int, const Error*) override {}
};

using Log = std::vector<std::string>;

TEST(TetherMasterSM, StartAliveUpstreamStop) {
  Actions a;
  TetherMasterMachine m(a, 2000);
  EXPECT_EQ(m.state(), State::Initial);
  m.modeRequested();
  EXPECT_EQ(m.state(), State::TetherModeAlive);
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(a.log, (Log{"ipfwd-on", "start", "dns"}));
  a.log.clear();
  m.upstreamChanged();
  EXPECT_EQ(a.log, (Log{"dns", "upstream-changed"}));
  a.log.clear();
  m.modeRequested();  // already alive: ignored
  EXPECT_TRUE(a.log.empty());
  m.modeUnrequested();
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_EQ(a.log, (Log{"stop", "ipfwd-off"}));
}

struct ErrorCase {
  std::string failing;
  bool duringStop;
  State expected;
  Errc notified;
};

TEST(TetherMasterSM, EveryErrorStateNotifiesAndClears) {
  const ErrorCase cases[] = {
      {"ipfwd-on", false, State::SetIpForwardingEnabledError, Errc::EnableForwardingError},
      {"start", false, State::StartTetheringError, Errc::ServiceUnavail},
      {"dns", false, State::SetDnsForwardersError, Errc::ServiceUnavail},
      {"stop", true, State::StopTetheringError, Errc::ServiceUnavail},
      {"ipfwd-off", true, State::SetIpForwardingDisabledError, Errc::DisableForwardingError},
  };
  for (const auto& c : cases) {
    Actions a;
    TetherMasterMachine m(a, 2000);
    if (c.duringStop) m.modeRequested();
    a.failing = c.failing;
    if (c.duringStop) m.modeUnrequested();
    else m.modeRequested();
    EXPECT_EQ(m.state(), c.expected) << c.failing;
    EXPECT_TRUE(TetherMasterMachine::isError(m.state()));
    EXPECT_FALSE(a.timerArmed) << c.failing;
    ASSERT_EQ(a.masterErrors.size(), 1u) << c.failing;
    EXPECT_EQ(a.masterErrors[0], c.notified);
    EXPECT_EQ(m.lastError().message, c.failing + " failed");
    m.modeRequested();  // errors stay until cleared
    EXPECT_EQ(m.state(), c.expected);
    a.failing.clear();
    a.log.clear();
    m.clearError();
    EXPECT_EQ(m.state(), State::Initial) << c.failing;
    EXPECT_EQ(a.log, (Log{"stop", "ipfwd-off"}));  // cleanup of whatever was left
    EXPECT_EQ(m.lastError().code, Errc::Ok);
    m.modeRequested();
    EXPECT_EQ(m.state(), State::TetherModeAlive) << c.failing;
  }
}

TEST(TetherMasterSM, DnsFailureWhileAliveIsAnError) {
  Actions a;
  TetherMasterMachine m(a, 2000);
  m.modeRequested();
  a.failing = "dns";
  m.upstreamChanged();
  EXPECT_EQ(m.state(), State::SetDnsForwardersError);
  EXPECT_EQ(a.masterErrors.size(), 1u);
}

TEST(TetherMasterSM, TimeoutsOnlyMatterInTransitionalStates) {
  Actions a;
  TetherMasterMachine m(a, 2000);
  m.timeout();
  EXPECT_EQ(m.state(), State::Initial);
  m.modeRequested();
  m.timeout();  // a stale timer firing in Alive changes nothing
  EXPECT_EQ(m.state(), State::TetherModeAlive);
}

}  // namespace
