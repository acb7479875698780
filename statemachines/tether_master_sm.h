// TetherMasterSM: the whole tethering mode (IP forwarding, DHCP/DNS service, DNS
// forwarders, upstream). Boost.MSM stays inside tether_master_sm.cpp.
#pragma once

#include <memory>

#include "tether/base/result.h"

namespace tetherd {

class MasterActions {
 public:
  virtual ~MasterActions() = default;
  virtual Status enableIpForwarding() = 0;
  virtual Status disableIpForwarding() = 0;
  virtual Status startTethering() = 0;  // own chains, run/state dirs, DNS servers file
  virtual Status stopTethering() = 0;
  virtual Status setDnsForwarders() = 0;  // to the current upstream's servers
  virtual void notifyUpstreamChanged() = 0;       // every tethered interface re-points NAT
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
  void timeout();

  State state() const;
  const Error& lastError() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd
