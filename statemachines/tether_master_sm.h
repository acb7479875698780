// TetherMasterSM: the whole tethering mode (IP forwarding, DHCP/DNS service, DNS
// forwarders, upstream). Boost.MSM stays inside tether_master_sm.cpp.
#pragma once

#include <memory>

#include "tether/base/result.h"

namespace tetherd {

// The master's commands. The driver only records them and carries them out after the machine
// has finished handling the current event; answers come back as events, in order:
// enableIpForwarding -> ipForwardingEnabled, startTethering -> tetheringStarted (later when
// the xtables lock is busy), setDnsForwarders -> dnsForwardersSet, stopTethering ->
// tetheringStopped (later when the lock is busy), disableIpForwarding -> ipForwardingDisabled.
class MasterActions {
 public:
  virtual ~MasterActions() = default;
  virtual void enableIpForwarding() = 0;
  virtual void disableIpForwarding() = 0;
  virtual void startTethering() = 0;  // own chains, run/state dirs
  virtual void stopTethering() = 0;
  virtual void setDnsForwarders() = 0;  // to the current upstream's servers
  virtual void notifyUpstreamChanged() = 0;        // every tethered interface re-points NAT
  virtual void notifyMasterError(Errc cause) = 0;  // every interface machine
  virtual void armTimer(int timeoutMs) = 0;
  virtual void cancelTimer() = 0;
  virtual void stateChanged(int newState, const Error* error) = 0;
};

class TetherMasterMachine {
 public:
  enum class State {
    Initial = 0,
    Starting,
    TetherModeAlive,
    Stopping,
    SetIpForwardingEnabledError,
    SetIpForwardingDisabledError,
    StartTetheringError,
    StopTetheringError,
    SetDnsForwardersError,
  };
  static const char* stateName(State s);
  static bool isError(State s) { return s >= State::SetIpForwardingEnabledError; }

  TetherMasterMachine(MasterActions& actions, int timeoutMs);
  ~TetherMasterMachine();
  TetherMasterMachine(const TetherMasterMachine&) = delete;
  TetherMasterMachine& operator=(const TetherMasterMachine&) = delete;

  void modeRequested();
  void modeUnrequested();
  void upstreamChanged();
  void clearError();
  void timeout();  // Starting -> StartTetheringError, Stopping -> StopTetheringError (Errc::Timeout)
  // Answers to the commands.
  void ipForwardingEnabled(const Status& result);
  void tetheringStarted(const Status& result);
  void dnsForwardersSet(const Status& result);
  void tetheringStopped(const Status& result);
  void ipForwardingDisabled(const Status& result);

  State state() const;
  const Error& lastError() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd
