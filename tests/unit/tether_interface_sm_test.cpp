// TetherInterfaceSM through every state, error and recovery, with recording actions.
#include "statemachines/tether_interface_sm.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace tetherd;
using State = TetherInterfaceMachine::State;

namespace {

struct RecordingActions : InterfaceActions {
  std::vector<std::string> log;
  bool failConfigure = false, failForwarding = false;
  bool timerArmed = false;
  Status configure(const std::string& i) override {
    log.push_back("configure " + i);
    if (failConfigure) return makeError(Errc::IfaceCfgError, i + ": set address: Operation not permitted");
    return {};
  }
  void unconfigure(const std::string& i) override { log.push_back("unconfigure " + i); }
  Status enableForwarding(const std::string& i) override {
    log.push_back("nat-on " + i);
    if (failForwarding) return makeError(Errc::EnableForwardingError, "iptc_commit failed");
    return {};
  }
  Status disableForwarding(const std::string& i) override {
    log.push_back("nat-off " + i);
    return {};
  }
  void armTimer(const std::string&, int ms) override {
    timerArmed = true;
    log.push_back("timer " + std::to_string(ms));
  }
  void cancelTimer(const std::string&) override { timerArmed = false; }
  void stateChanged(const std::string&, int s, const Error* e) override {
    log.push_back(std::string("state ") + TetherInterfaceMachine::stateName(static_cast<State>(s)) + (e ? " !" + std::string(errcName(e->code)) : ""));
  }
};

using Log = std::vector<std::string>;

TEST(TetherInterfaceSM, TetherAndUntether) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 5000, false);
  EXPECT_EQ(m.state(), State::Initial);
  a.log.clear();
  m.tetherRequested();
  EXPECT_EQ(m.state(), State::Tethered);
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(a.log, (Log{"state starting", "timer 5000", "configure usb0", "state tethered", "nat-on usb0"}));
  a.log.clear();
  m.upstreamChanged();
  EXPECT_EQ(a.log, (Log{"nat-on usb0"}));  // internal transition: no exit/entry
  a.log.clear();
  m.tetherUnrequested();
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_EQ(a.log, (Log{"nat-off usb0", "unconfigure usb0", "state available"}));
}

TEST(TetherInterfaceSM, ConfigureFailureIsTypedAndRecoverable) {
  RecordingActions a;
  a.failConfigure = true;
  TetherInterfaceMachine m("usb0", a, 5000, false);
  m.tetherRequested();
  EXPECT_EQ(m.state(), State::Failed);
  EXPECT_EQ(m.lastError().code, Errc::IfaceCfgError);
  EXPECT_NE(m.lastError().message.find("Operation not permitted"), std::string::npos);
  EXPECT_EQ(a.log.back(), "state failed !iface-config-error");
  a.failConfigure = false;
  m.interfaceUp();  // a link coming back retries
  EXPECT_EQ(m.state(), State::Tethered);
  EXPECT_EQ(m.lastError().code, Errc::Ok);
}

TEST(TetherInterfaceSM, ForwardingFailureGoesToFailedAndUnconfigures) {
  RecordingActions a;
  a.failForwarding = true;
  TetherInterfaceMachine m("wlan0", a, 5000, false);
  m.tetherRequested();
  EXPECT_EQ(m.state(), State::Failed);
  EXPECT_EQ(m.lastError().code, Errc::EnableForwardingError);
  EXPECT_EQ(a.log.back(), "state failed !enable-forwarding-error");
  a.failForwarding = false;
  m.tetherRequested();
  EXPECT_EQ(m.state(), State::Tethered);
  m.tetherUnrequested();
  m.tetherUnrequested();  // ignored in Initial
  EXPECT_EQ(m.state(), State::Initial);
}

TEST(TetherInterfaceSM, WaitsForReadyAndTimesOut) {
  RecordingActions a;
  TetherInterfaceMachine m("wlan0", a, 3000, true);
  m.tetherRequested();
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_TRUE(a.timerArmed);
  m.timeout();
  EXPECT_EQ(m.state(), State::Failed);
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(m.lastError().code, Errc::TetherIfaceError);
  EXPECT_EQ(m.lastError().message, "wlan0 did not become ready within 3000 ms");
  m.tetherRequested();
  m.ready();
  EXPECT_EQ(m.state(), State::Tethered);
  m.readyLost(makeError(Errc::ServiceUnavail, "hostapd exited"));
  EXPECT_EQ(m.state(), State::Starting);
  m.ready();
  EXPECT_EQ(m.state(), State::Tethered);
}

// Found by the fault suite (hostapd SIGKILLed after AP-ENABLED, before tetherd heard of it):
// going to Failed stopped the AP, so the restart that would have made it ready never came.
TEST(TetherInterfaceSM, ReadyLostWhileStartingKeepsWaitingWithinTheTimeout) {
  RecordingActions a;
  TetherInterfaceMachine m("wlan0", a, 3000, true);
  m.tetherRequested();
  a.log.clear();
  m.readyLost(makeError(Errc::ServiceUnavail, "hostapd killed by signal 9 (Killed)"));
  EXPECT_EQ(m.state(), State::Starting);
  EXPECT_TRUE(a.timerArmed);
  EXPECT_EQ(a.log, Log{});  // nothing unconfigured: the supervisor restarts hostapd
  EXPECT_EQ(m.lastError().message, "hostapd killed by signal 9 (Killed)");
  m.ready();
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

TEST(TetherInterfaceSM, StartingCanBeCancelled) {
  RecordingActions a;
  TetherInterfaceMachine m("wlan0", a, 3000, true);
  m.tetherRequested();
  a.log.clear();
  m.tetherUnrequested();
  EXPECT_EQ(m.state(), State::Initial);
  EXPECT_FALSE(a.timerArmed);
  EXPECT_EQ(a.log, (Log{"unconfigure wlan0", "state available"}));
}

TEST(TetherInterfaceSM, MasterErrorFailsActiveMachines) {
  for (bool waitReady : {false, true}) {
    RecordingActions a;
    TetherInterfaceMachine m("usb0", a, 3000, waitReady);
    m.tetherRequested();
    m.masterError(Errc::EnableForwardingError);
    EXPECT_EQ(m.state(), State::Failed);
    EXPECT_EQ(m.lastError().code, Errc::MasterError);
    EXPECT_NE(m.lastError().message.find("enable-forwarding-error"), std::string::npos);
  }
  RecordingActions idle;
  TetherInterfaceMachine m("usb0", idle, 3000, false);
  m.masterError(Errc::ServiceUnavail);
  EXPECT_EQ(m.state(), State::Initial);  // nothing to fail
}

TEST(TetherInterfaceSM, AddressConflictRestartsElsewhere) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 3000, false);
  m.tetherRequested();
  a.log.clear();
  m.addressConflict();
  EXPECT_EQ(m.state(), State::Tethered);
  EXPECT_EQ(a.log, (Log{"nat-off usb0", "unconfigure usb0", "state starting", "timer 3000", "configure usb0",
                        "state tethered", "nat-on usb0"}));
}

TEST(TetherInterfaceSM, RemovalIsTerminalFromEveryState) {
  for (int start = 0; start < 4; ++start) {
    RecordingActions a;
    a.failConfigure = start == 3;
    TetherInterfaceMachine m("usb0", a, 3000, start == 1);
    if (start >= 1) m.tetherRequested();
    m.interfaceRemoved();
    EXPECT_EQ(m.state(), State::Unavailable) << start;
    m.tetherRequested();
    m.interfaceUp();
    EXPECT_EQ(m.state(), State::Unavailable) << start;
  }
}

TEST(TetherInterfaceSM, LinkDownKeepsTethered) {
  RecordingActions a;
  TetherInterfaceMachine m("usb0", a, 3000, false);
  m.tetherRequested();
  m.interfaceDown();
  EXPECT_EQ(m.state(), State::Tethered);
  m.interfaceUp();
  EXPECT_EQ(m.state(), State::Tethered);
}

}  // namespace
