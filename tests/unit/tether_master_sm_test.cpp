// TetherMasterSM through every state, every error state and its recovery. The fake only
// records the machine's commands; the test plays the driver and answers each one (or does
// not, when the scenario is a step that never finishes).
#include "statemachines/tether_master_sm.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

using namespace tetherd;
using State = TetherMasterMachine::State;

namespace {

struct Actions : MasterActions {
  std::vector<std::string> log;
  bool timerArmed = false;
  void enableIpForwarding() override { log.push_back("ipfwd-on"); }
  void disableIpForwarding() override { log.push_back("ipfwd-off"); }
  void startTethering() override { log.push_back("start"); }
  void stopTethering() override { log.push_back("stop"); }
  void setDnsForwarders() override { log.push_back("dns"); }
  void notifyUpstreamChanged() override { log.push_back("upstream-changed"); }
  void notifyMasterError(Errc c) override { log.push_back(std::string("master-error ") + errcName(c)); }
  void armTimer(int ms) override {
    timerArmed = true;
    log.push_back("timer " + std::to_string(ms));
  }
  void cancelTimer() override {
    timerArmed = false;
    log.push_back("cancel timer");
  }
  void stateChanged(int s, const Error* e) override {
    log.push_back(std::string("state ") + TetherMasterMachine::stateName(static_cast<State>(s)) +
                  (e ? " !" + std::string(errcName(e->code)) : ""));
  }
  std::vector<std::string> take() { return std::exchange(log, {}); }
};

using Log = std::vector<std::string>;
const Status kOk{};
Status failure(const std::string& step) { return makeError(Errc::SystemError, step + " failed"); }

// The steps in the order the machine asks for them; `failing` names the one answered with a failure.
void answerStart(TetherMasterMachine& m, const std::string& failing = "") {
  auto r = [&](const char* step) { return failing == step ? failure(step) : kOk; };
  m.ipForwardingEnabled(r("ipfwd-on"));
  m.tetheringStarted(r("start"));
  m.dnsForwardersSet(r("dns"));
}
void answerStop(TetherMasterMachine& m, const std::string& failing = "") {
  auto r = [&](const char* step) { return failing == step ? failure(step) : kOk; };
  m.tetheringStopped(r("stop"));
  m.ipForwardingDisabled(r("ipfwd-off"));
}

TEST(TetherMasterSM, StartAliveUpstreamStop) {
  Actions a;
  TetherMasterMachine m(a, 2000);
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_EQ(a.take(), (Log{"state Initial"}));
  m.modeRequested();
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), (Log{"state Starting", "timer 2000", "ipfwd-on"}));
  m.ipForwardingEnabled(kOk);
  EXPECT_EQ(a.take(), (Log{"start"}));
  m.tetheringStarted(kOk);
  EXPECT_EQ(a.take(), (Log{"dns"}));
  EXPECT_EQ(m.state(), State::Starting);
  m.dnsForwardersSet(kOk);
  EXPECT_EQ(m.state(), State::TetherModeAlive);
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(a.take(), (Log{"cancel timer", "state TetherModeAlive"}));
  m.upstreamChanged();
  EXPECT_EQ(a.take(), (Log{"dns", "upstream-changed"}));
  m.dnsForwardersSet(kOk);
  m.modeRequested();  // already alive: ignored
  EXPECT_EQ(a.take(), Log{});
  m.modeUnrequested();
  EXPECT_EQ(m.state(), State::Stopping);
  EXPECT_EQ(a.take(), (Log{"state Stopping", "timer 2000", "stop"}));
  m.tetheringStopped(kOk);
  EXPECT_EQ(a.take(), (Log{"ipfwd-off"}));
  m.ipForwardingDisabled(kOk);
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(a.take(), (Log{"cancel timer", "state Initial"}));
}

struct ErrorCase {
  std::string failing;
  bool duringStop;
  State expected;
  Log log;  // everything asked for from the first answer on
};

TEST(TetherMasterSM, EveryErrorStateNotifiesAndClears) {
  const ErrorCase cases[] = {
      {"ipfwd-on", false, State::SetIpForwardingEnabledError,
       {"cancel timer", "state SetIpForwardingEnabledError !system-error", "master-error enable-forwarding-error"}},
      {"start", false, State::StartTetheringError,
       {"start", "cancel timer", "state StartTetheringError !system-error", "master-error service-unavailable"}},
      {"dns", false, State::SetDnsForwardersError,
       {"start", "dns", "cancel timer", "state SetDnsForwardersError !system-error", "master-error service-unavailable"}},
      {"stop", true, State::StopTetheringError,
       {"cancel timer", "state StopTetheringError !system-error", "master-error service-unavailable"}},
      {"ipfwd-off", true, State::SetIpForwardingDisabledError,
       {"ipfwd-off", "cancel timer", "state SetIpForwardingDisabledError !system-error", "master-error disable-forwarding-error"}},
  };
  for (const auto& c : cases) {
    Actions a;
    TetherMasterMachine m(a, 2000);
    m.modeRequested();
    if (c.duringStop) {
      answerStart(m);
      m.modeUnrequested();
      a.take();
      answerStop(m, c.failing);
    } else {
      a.take();
      answerStart(m, c.failing);
    }
    EXPECT_EQ(m.state(), c.expected) << c.failing;
    EXPECT_TRUE(TetherMasterMachine::isError(m.state()));
    EXPECT_FALSE(a.timerArmed) << c.failing;
    EXPECT_EQ(m.lastError().code, Errc::SystemError);
    EXPECT_EQ(m.lastError().message, c.failing + " failed");
    // The steps up to the failed one were asked for in order; nothing after it.
    EXPECT_EQ(a.take(), c.log) << c.failing;
    m.modeRequested();  // errors stay until cleared
    m.modeUnrequested();
    m.timeout();
    EXPECT_EQ(m.state(), c.expected);
    EXPECT_EQ(a.take(), Log{});
    m.clearError();
    EXPECT_EQ(m.state(), State::Initial) << c.failing;
    EXPECT_EQ(a.take(), (Log{"stop", "ipfwd-off", "state Initial"}));  // cleanup of whatever was left
    EXPECT_EQ(m.lastError().code, Errc::Ok);
    answerStop(m, "stop");  // the cleanup's answers arrive in Initial: ignored
    EXPECT_EQ(m.state(), State::Initial);
    EXPECT_EQ(a.take(), Log{});
    m.modeRequested();
    answerStart(m);
    EXPECT_EQ(m.state(), State::TetherModeAlive) << c.failing;
  }
}

TEST(TetherMasterSM, DnsFailureWhileAliveIsAnError) {
  Actions a;
  TetherMasterMachine m(a, 2000);
  m.modeRequested();
  answerStart(m);
  m.upstreamChanged();
  a.take();
  m.dnsForwardersSet(failure("dns"));
  EXPECT_EQ(m.state(), State::SetDnsForwardersError);
  EXPECT_EQ(m.lastError().message, "dns failed");
  EXPECT_EQ(a.take(), (Log{"state SetDnsForwardersError !system-error", "master-error service-unavailable"}));
}

// startTethering() is still waiting (the xtables lock is busy) when the timer fires.
TEST(TetherMasterSM, TimeoutInStartingWhileTetheringIsUnanswered) {
  Actions a;
  TetherMasterMachine m(a, 2000);
  m.modeRequested();
  m.ipForwardingEnabled(kOk);
  EXPECT_EQ(a.take(), (Log{"state Initial", "state Starting", "timer 2000", "ipfwd-on", "start"}));
  m.timeout();
  EXPECT_EQ(m.state(), State::StartTetheringError);
  EXPECT_EQ(m.lastError().code, Errc::Timeout);
  EXPECT_EQ(m.lastError().message, "tethering did not settle within 2000 ms");
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(a.take(), (Log{"cancel timer", "state StartTetheringError !timeout", "master-error service-unavailable"}));
  m.tetheringStarted(kOk);  // the lock freed up too late: ignored
  m.dnsForwardersSet(kOk);
  EXPECT_EQ(m.state(), State::StartTetheringError);
  EXPECT_EQ(a.take(), Log{});
  m.clearError();
  EXPECT_EQ(a.take(), (Log{"stop", "ipfwd-off", "state Initial"}));
}

// stopTethering() is still waiting (the xtables lock is busy) when the timer fires.
TEST(TetherMasterSM, TimeoutInStoppingWhileStopIsUnanswered) {
  Actions a;
  TetherMasterMachine m(a, 2000);
  m.modeRequested();
  answerStart(m);
  m.modeUnrequested();
  EXPECT_EQ(m.state(), State::Stopping);
  a.take();
  m.timeout();
  EXPECT_EQ(m.state(), State::StopTetheringError);
  EXPECT_EQ(m.lastError().code, Errc::Timeout);
  EXPECT_EQ(m.lastError().message, "tethering did not settle within 2000 ms");
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(a.take(), (Log{"cancel timer", "state StopTetheringError !timeout", "master-error service-unavailable"}));
  m.tetheringStopped(kOk);  // too late: ignored
  EXPECT_EQ(m.state(), State::StopTetheringError);
  EXPECT_EQ(a.take(), Log{});
}

TEST(TetherMasterSM, StaleAnswersAreIgnored) {
  Actions a;
  TetherMasterMachine m(a, 2000);
  a.take();
  answerStart(m, "start");  // nothing asked for in Initial
  answerStop(m, "stop");
  EXPECT_EQ(m.state(), State::Initial);
  m.modeRequested();
  a.take();
  // Only the answer to the step in progress counts.
  m.tetheringStarted(failure("start"));
  m.dnsForwardersSet(kOk);
  m.tetheringStopped(failure("stop"));
  m.ipForwardingDisabled(failure("ipfwd-off"));
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), Log{});
  m.ipForwardingEnabled(kOk);
  m.ipForwardingEnabled(failure("ipfwd-on"));  // answered already
  m.dnsForwardersSet(failure("dns"));  // not asked for yet
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), (Log{"start"}));
  m.tetheringStarted(kOk);
  m.dnsForwardersSet(kOk);
  a.take();
  m.ipForwardingEnabled(failure("ipfwd-on"));
  m.tetheringStarted(failure("start"));
  m.tetheringStopped(failure("stop"));
  EXPECT_EQ(m.state(), State::TetherModeAlive);
  m.modeUnrequested();
  a.take();
  m.ipForwardingDisabled(failure("ipfwd-off"));  // not asked for yet
  m.dnsForwardersSet(failure("dns"));
  m.tetheringStarted(failure("start"));
  EXPECT_EQ(m.state(), State::Stopping);
  EXPECT_EQ(a.take(), Log{});
  answerStop(m);
  EXPECT_EQ(m.state(), State::Initial);
}

TEST(TetherMasterSM, TimeoutsOnlyMatterInTransitionalStates) {
  Actions a;
  TetherMasterMachine m(a, 2000);
  m.timeout();
  EXPECT_EQ(m.state(), State::Initial);
  m.modeRequested();
  answerStart(m);
  a.take();
  m.timeout();  // a stale timer firing in Alive changes nothing
  EXPECT_EQ(m.state(), State::TetherModeAlive);
  EXPECT_EQ(a.take(), Log{});
}

}  // namespace
