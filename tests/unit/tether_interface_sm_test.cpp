// TetherInterfaceSM through every state, error and recovery. The fake only records the
// machine's commands; the test plays the driver and answers them (configured,
// forwardingApplied), late or never when that is the scenario.
#include "statemachines/tether_interface_sm.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

using namespace tetherd;
using State = TetherInterfaceMachine::State;

namespace {

struct RecordingActions : InterfaceActions {
  std::vector<std::string> log;
  bool timerArmed = false;
  void configure(const std::string& i) override { log.push_back("configure " + i); }
  void unconfigure(const std::string& i) override { log.push_back("unconfigure " + i); }
  void enableForwarding(const std::string& i) override { log.push_back("nat-on " + i); }
  void disableForwarding(const std::string& i) override { log.push_back("nat-off " + i); }
  void armTimer(const std::string&, int ms) override {
    timerArmed = true;
    log.push_back("timer " + std::to_string(ms));
  }
  void cancelTimer(const std::string&) override {
    timerArmed = false;
    log.push_back("cancel timer");
  }
  void stateChanged(const std::string&, int s, const Error* e) override {
    log.push_back(std::string("state ") + TetherInterfaceMachine::stateName(static_cast<State>(s)) +
                  (e ? " !" + std::string(errcName(e->code)) : ""));
  }
  std::vector<std::string> take() { return std::exchange(log, {}); }
};

using Log = std::vector<std::string>;
const Status kOk{};
Status configFailure() { return makeError(Errc::IfaceCfgError, "usb0: set address: Operation not permitted"); }
Status natFailure() { return makeError(Errc::EnableForwardingError, "iptc_commit failed"); }

// Drives a machine to Tethered, answering every command with ok.
void tether(TetherInterfaceMachine& m, bool waitForReady) {
  m.tetherRequested();
  m.configured(kOk);
  if (waitForReady) m.ready();
  m.forwardingApplied(kOk);
  ASSERT_EQ(m.state(), State::Tethered);
}

TEST(TetherInterfaceSM, TetherAndUntether) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 5000, false);
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_EQ(a.take(), (Log{"state available"}));
  m.tetherRequested();
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), (Log{"state starting", "timer 5000", "configure usb0"}));
  m.configured(kOk);
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), (Log{"nat-on usb0"}));
  m.forwardingApplied(kOk);
  EXPECT_EQ(m.state(), State::Tethered);
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(a.take(), (Log{"cancel timer", "state tethered"}));
  m.upstreamChanged();
  EXPECT_EQ(a.take(), (Log{"nat-on usb0"}));  // internal transition: no exit/entry
  m.forwardingApplied(kOk);
  EXPECT_EQ(a.take(), Log{});
  m.tetherUnrequested();
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_EQ(a.take(), (Log{"nat-off usb0", "unconfigure usb0", "state available"}));
}

// The order issue 11 fixes: "tethered" used to be reported before the forwarding was on.
TEST(TetherInterfaceSM, TetheredIsReportedOnlyAfterForwardingIsCommitted) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 5000, false);
  a.take();
  m.tetherRequested();
  m.configured(kOk);
  m.upstreamChanged();  // not Tethered yet: nothing to re-point
  m.interfaceDown();
  m.interfaceUp();
  EXPECT_EQ(m.state(), State::Starting);
  m.forwardingApplied(kOk);
  EXPECT_EQ(a.take(), (Log{"state starting", "timer 5000", "configure usb0", "nat-on usb0", "cancel timer", "state tethered"}));
}

TEST(TetherInterfaceSM, ConfigureFailureIsTypedAndRecoverable) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 5000, false);
  m.tetherRequested();
  a.take();
  m.configured(configFailure());
  EXPECT_EQ(m.state(), State::Failed);
  EXPECT_EQ(m.lastError().code, Errc::IfaceCfgError);
  EXPECT_EQ(m.lastError().message, "usb0: set address: Operation not permitted");
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(a.take(), (Log{"cancel timer", "unconfigure usb0", "state failed !iface-config-error"}));
  m.interfaceUp();  // a link coming back retries
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(m.lastError().code, Errc::Ok);
  EXPECT_EQ(a.take(), (Log{"state starting", "timer 5000", "configure usb0"}));
  m.configured(kOk);
  m.forwardingApplied(kOk);
  EXPECT_EQ(m.state(), State::Tethered);
}

TEST(TetherInterfaceSM, ForwardingFailureGoesToFailedAndUnconfigures) {
  RecordingActions a;
  TetherInterfaceMachine m("wlan0", a, 5000, false);
  m.tetherRequested();
  m.configured(kOk);
  a.take();
  m.forwardingApplied(natFailure());
  EXPECT_EQ(m.state(), State::Failed);
  EXPECT_EQ(m.lastError().code, Errc::EnableForwardingError);
  EXPECT_EQ(m.lastError().message, "iptc_commit failed");
  EXPECT_EQ(a.take(), (Log{"cancel timer", "nat-off wlan0", "unconfigure wlan0", "state failed !enable-forwarding-error"}));
  tether(m, false);
  m.tetherUnrequested();
  m.tetherUnrequested();  // ignored in Initial
  EXPECT_EQ(m.state(), State::Initial);
}

TEST(TetherInterfaceSM, UpstreamChangeFailureFailsTethered) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 5000, false);
  tether(m, false);
  m.upstreamChanged();
  a.take();
  m.forwardingApplied(natFailure());
  EXPECT_EQ(m.state(), State::Failed);
  EXPECT_EQ(m.lastError().code, Errc::EnableForwardingError);
  EXPECT_EQ(a.take(), (Log{"nat-off usb0", "unconfigure usb0", "state failed !enable-forwarding-error"}));
  m.tetherUnrequested();
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_EQ(a.take(), (Log{"state available"}));
}

// The start timer fired while configure() (or, for Wi-Fi, the AP) had not answered.
TEST(TetherInterfaceSM, TimeoutInStartingIsTyped) {
  RecordingActions a;
  TetherInterfaceMachine m("wlan0", a, 3000, true);
  m.tetherRequested();
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_TRUE(a.timerArmed);
  a.take();
  m.timeout();
  EXPECT_EQ(m.state(), State::Failed);
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(m.lastError().code, Errc::TetherIfaceError);
  EXPECT_EQ(m.lastError().message, "wlan0 did not become ready within 3000 ms");
  EXPECT_EQ(a.take(), (Log{"cancel timer", "unconfigure wlan0", "state failed !tether-iface-error"}));
  m.configured(kOk);  // the late answer changes nothing
  EXPECT_EQ(m.state(), State::Failed);
  EXPECT_EQ(a.take(), Log{});
}

// The busy-lock case: forwarding was asked for and never committed within the start timer.
TEST(TetherInterfaceSM, TimeoutWhileForwardingIsUnansweredIsTyped) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 5000, false);
  m.tetherRequested();
  m.configured(kOk);
  EXPECT_EQ(a.take(), (Log{"state available", "state starting", "timer 5000", "configure usb0", "nat-on usb0"}));
  m.timeout();
  EXPECT_EQ(m.state(), State::Failed);
  EXPECT_EQ(m.lastError().code, Errc::TetherIfaceError);
  EXPECT_EQ(m.lastError().message, "usb0 did not become ready within 5000 ms");
  EXPECT_EQ(a.take(), (Log{"cancel timer", "nat-off usb0", "unconfigure usb0", "state failed !tether-iface-error"}));
  m.forwardingApplied(kOk);  // the lock freed up too late: ignored
  EXPECT_EQ(m.state(), State::Failed);
  EXPECT_EQ(a.take(), Log{});
}

TEST(TetherInterfaceSM, WaitsForReadyAfterConfigured) {
  RecordingActions a;
  TetherInterfaceMachine m("wlan0", a, 3000, true);
  m.tetherRequested();
  a.take();
  m.configured(kOk);
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), Log{});  // hostapd not enabled yet: no forwarding
  m.ready();
  EXPECT_EQ(a.take(), (Log{"nat-on wlan0"}));
  m.forwardingApplied(kOk);
  EXPECT_EQ(m.state(), State::Tethered);
  EXPECT_EQ(a.take(), (Log{"cancel timer", "state tethered"}));
}

TEST(TetherInterfaceSM, ReadyBeforeConfiguredIsRemembered) {
  RecordingActions a;
  TetherInterfaceMachine m("wlan0", a, 3000, true);
  m.tetherRequested();
  a.take();
  m.ready();
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), Log{});  // still configuring
  m.configured(kOk);
  EXPECT_EQ(a.take(), (Log{"nat-on wlan0"}));
  m.forwardingApplied(kOk);
  EXPECT_EQ(m.state(), State::Tethered);
}

TEST(TetherInterfaceSM, ReadyLostWhileTetheredGoesBackThroughStarting) {
  RecordingActions a;
  TetherInterfaceMachine m("wlan0", a, 3000, true);
  tether(m, true);
  a.take();
  m.readyLost(makeError(Errc::ServiceUnavail, "hostapd exited"));
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(m.lastError().message, "hostapd exited");  // kept for the timeout's error
  EXPECT_EQ(a.take(), (Log{"nat-off wlan0", "state starting", "timer 3000", "configure wlan0"}));
  m.configured(kOk);
  m.ready();
  m.forwardingApplied(kOk);
  EXPECT_EQ(m.state(), State::Tethered);
  EXPECT_EQ(m.lastError().code, Errc::Ok);
}

// Found by the fault suite (hostapd SIGKILLed after AP-ENABLED, before tetherd heard of it):
// going to Failed stopped the AP, so the restart that would have made it ready never came.
TEST(TetherInterfaceSM, ReadyLostWhileStartingKeepsWaitingWithinTheTimeout) {
  RecordingActions a;
  TetherInterfaceMachine m("wlan0", a, 3000, true);
  m.tetherRequested();
  m.ready();
  a.take();
  m.readyLost(makeError(Errc::ServiceUnavail, "hostapd killed by signal 9 (Killed)"));
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_TRUE(a.timerArmed);
  EXPECT_EQ(a.take(), Log{});  // nothing unconfigured: the supervisor restarts hostapd
  EXPECT_EQ(m.lastError().message, "hostapd killed by signal 9 (Killed)");
  m.configured(kOk);  // the earlier ready() no longer counts
  EXPECT_EQ(a.take(), Log{});
  m.ready();
  m.forwardingApplied(kOk);
  EXPECT_EQ(m.state(), State::Tethered);
  EXPECT_EQ(m.lastError().code, Errc::Ok);

  TetherInterfaceMachine n("wlan0", a, 3000, true);
  n.tetherRequested();
  n.readyLost(makeError(Errc::ServiceUnavail, "hostapd exited with status 1: Could not set channel"));
  n.timeout();
  EXPECT_EQ(n.state(), State::Failed);
  EXPECT_EQ(n.lastError().code, Errc::TetherIfaceError);
  EXPECT_EQ(n.lastError().message, "wlan0 did not become ready within 3000 ms (hostapd exited with status 1: Could not set channel)");
}

// The AP went away while its forwarding was being committed: withdraw it and wait for the AP
// again, within the same start timer (configure() is not asked for again).
TEST(TetherInterfaceSM, ReadyLostWhileEnablingWithdrawsForwardingAndWaitsForReady) {
  RecordingActions a;
  TetherInterfaceMachine m("wlan0", a, 3000, true);
  m.tetherRequested();
  m.configured(kOk);
  m.ready();
  a.take();
  m.readyLost(makeError(Errc::ServiceUnavail, "hostapd exited"));
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_TRUE(a.timerArmed);
  EXPECT_EQ(a.take(), (Log{"nat-off wlan0"}));
  m.forwardingApplied(kOk);  // the answer to the withdrawn request: stale
  m.configured(configFailure());  // no configure() outstanding: stale
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), Log{});
  m.ready();
  EXPECT_EQ(a.take(), (Log{"nat-on wlan0"}));
  m.forwardingApplied(kOk);
  EXPECT_EQ(m.state(), State::Tethered);
  EXPECT_EQ(a.take(), (Log{"cancel timer", "state tethered"}));

  TetherInterfaceMachine n("wlan0", a, 3000, true);
  n.tetherRequested();
  n.configured(kOk);
  n.ready();
  n.readyLost(makeError(Errc::ServiceUnavail, "hostapd exited with status 1"));
  a.take();
  n.timeout();
  EXPECT_EQ(n.state(), State::Failed);
  EXPECT_EQ(n.lastError().message, "wlan0 did not become ready within 3000 ms (hostapd exited with status 1)");
  EXPECT_EQ(a.take(), (Log{"cancel timer", "unconfigure wlan0", "state failed !tether-iface-error"}));
}

TEST(TetherInterfaceSM, StartingCanBeCancelled) {
  RecordingActions a;
  TetherInterfaceMachine m("wlan0", a, 3000, true);
  m.tetherRequested();
  a.take();
  m.tetherUnrequested();
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(a.take(), (Log{"cancel timer", "unconfigure wlan0", "state available"}));
  // While forwarding is being committed: withdrawn too.
  m.tetherRequested();
  m.configured(kOk);
  m.ready();
  a.take();
  m.tetherUnrequested();
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_EQ(a.take(), (Log{"cancel timer", "nat-off wlan0", "unconfigure wlan0", "state available"}));
}

TEST(TetherInterfaceSM, StaleAnswersAreIgnored) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 5000, true);
  a.take();
  m.configured(kOk);  // nothing asked
  m.forwardingApplied(natFailure());
  EXPECT_EQ(m.state(), State::Initial);
  m.tetherRequested();
  m.tetherUnrequested();
  a.take();
  m.configured(kOk);  // the machine left Starting
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_EQ(a.take(), Log{});

  m.tetherRequested();
  a.take();
  m.forwardingApplied(natFailure());  // not asked for yet
  m.configured(kOk);
  m.configured(configFailure());  // configure() was answered already
  EXPECT_EQ(m.state(), State::Starting);
  m.ready();
  m.configured(configFailure());  // Enabling waits for the forwarding only
  m.ready();
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), (Log{"nat-on usb0"}));
  m.forwardingApplied(kOk);
  a.take();
  m.configured(configFailure());
  m.ready();
  m.timeout();  // a timer that fired as it was cancelled
  EXPECT_EQ(m.state(), State::Tethered);
  EXPECT_EQ(a.take(), Log{});
}

TEST(TetherInterfaceSM, MasterErrorFailsActiveMachines) {
  for (bool waitReady : {false, true}) {
    for (int stage = 0; stage < 3; ++stage) {  // Starting, Enabling, Tethered
      RecordingActions a;
      TetherInterfaceMachine m("usb0", a, 3000, waitReady);
      m.tetherRequested();
      if (stage >= 1) {
        m.configured(kOk);
        if (waitReady) m.ready();
      }
      if (stage == 2) m.forwardingApplied(kOk);
      a.take();
      m.masterError(Errc::EnableForwardingError);
      EXPECT_EQ(m.state(), State::Failed) << stage;
      EXPECT_EQ(m.lastError().code, Errc::MasterError);
      EXPECT_EQ(m.lastError().message, "tethering master failed (enable-forwarding-error)");
      Log expected = stage == 0 ? Log{"cancel timer"} : stage == 1 ? Log{"cancel timer", "nat-off usb0"} : Log{"nat-off usb0"};
      expected.insert(expected.end(), {"unconfigure usb0", "state failed !master-error"});
      EXPECT_EQ(a.take(), expected) << stage;
    }
  }
  RecordingActions idle;
  TetherInterfaceMachine m("usb0", idle, 3000, false);
  m.masterError(Errc::ServiceUnavail);
  EXPECT_EQ(m.state(), State::Initial);  // nothing to fail
}

TEST(TetherInterfaceSM, AddressConflictRestartsElsewhere) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 3000, false);
  tether(m, false);
  a.take();
  m.addressConflict();
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), (Log{"nat-off usb0", "unconfigure usb0", "state starting", "timer 3000", "configure usb0"}));
  m.configured(kOk);
  // Conflict while forwarding is being committed: a new attempt, still "starting".
  m.addressConflict();
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), (Log{"nat-on usb0", "cancel timer", "nat-off usb0", "unconfigure usb0", "timer 3000", "configure usb0"}));
  m.addressConflict();  // before configured: nothing to move yet (as before)
  EXPECT_EQ(a.take(), Log{});
  m.configured(kOk);
  m.forwardingApplied(kOk);
  EXPECT_EQ(m.state(), State::Tethered);
  EXPECT_EQ(a.take(), (Log{"nat-on usb0", "cancel timer", "state tethered"}));
}

TEST(TetherInterfaceSM, RemovalIsTerminalFromEveryState) {
  for (int start = 0; start < 5; ++start) {  // Initial, Starting, Enabling, Tethered, Failed
    RecordingActions a;
    TetherInterfaceMachine m("usb0", a, 3000, start == 1);
    if (start >= 1) m.tetherRequested();
    if (start >= 2) m.configured(start == 4 ? configFailure() : kOk);
    if (start == 3) m.forwardingApplied(kOk);
    m.interfaceRemoved();
    EXPECT_EQ(m.state(), State::Unavailable) << start;
    EXPECT_FALSE(a.timerArmed) << start;
    EXPECT_EQ(a.log.back(), "state unavailable") << start;
    a.take();
    m.tetherRequested();
    m.interfaceUp();
    m.configured(kOk);
    m.forwardingApplied(kOk);
    EXPECT_EQ(m.state(), State::Unavailable) << start;
    EXPECT_EQ(a.take(), Log{}) << start;
  }
}

TEST(TetherInterfaceSM, LinkDownKeepsTethered) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 3000, false);
  tether(m, false);
  m.interfaceDown();
  EXPECT_EQ(m.state(), State::Tethered);
  m.interfaceUp();
  EXPECT_EQ(m.state(), State::Tethered);
}

TEST(TetherInterfaceSM, FailedIsLeftOnRequestOrUnrequest) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 3000, false);
  m.tetherRequested();
  m.configured(configFailure());
  a.take();
  m.tetherRequested();
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_EQ(a.take(), (Log{"state starting", "timer 3000", "configure usb0"}));
  m.configured(configFailure());
  a.take();
  m.tetherUnrequested();
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_EQ(a.take(), (Log{"state available"}));
}

}  // namespace
