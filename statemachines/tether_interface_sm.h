// TetherInterfaceSM: one per downstream interface. It decides; the side effects are done
// by the InterfaceActions it is given (the TetherManager in the daemon, a fake in tests).
// Boost.MSM stays inside tether_interface_sm.cpp.
#pragma once

#include <memory>
#include <string>

#include "tether/base/result.h"

namespace tetherd {

class InterfaceActions {
 public:
  virtual ~InterfaceActions() = default;
  // Address, link up, DHCP/DNS server. Ok means started (or, when waitForReady, started
  // and waiting for a readiness event such as hostapd's AP-ENABLED).
  virtual Status configure(const std::string& ifname) = 0;
  virtual void unconfigure(const std::string& ifname) = 0;  // best effort, never fails the machine
  virtual Status enableForwarding(const std::string& ifname) = 0;   // NAT/forwarding to the upstream
  virtual Status disableForwarding(const std::string& ifname) = 0;
  virtual void armTimer(const std::string& ifname, int timeoutMs) = 0;  // deliver timeout() on expiry
  virtual void cancelTimer(const std::string& ifname) = 0;
  virtual void stateChanged(const std::string& ifname, int newState, const Error* error) = 0;
};

class TetherInterfaceMachine {
 public:
  enum class State { Initial = 0, Starting, Tethered, Failed, Unavailable };
  static const char* stateName(State s);

  // waitForReady: Starting ends on ready() (Wi-Fi: AP enabled), not right after configure().
  TetherInterfaceMachine(std::string ifname, InterfaceActions& actions, int startTimeoutMs, bool waitForReady);
  ~TetherInterfaceMachine();
  TetherInterfaceMachine(const TetherInterfaceMachine&) = delete;
  TetherInterfaceMachine& operator=(const TetherInterfaceMachine&) = delete;

  void tetherRequested();
  void tetherUnrequested();
  void interfaceUp();
  void interfaceDown();
  void interfaceRemoved();
  void upstreamChanged();
  void masterError(Errc cause);
  void addressConflict();  // the subnet now overlaps something: tear down and start again elsewhere
  void ready();            // readiness event while Starting
  void readyLost(const Error& why);  // e.g. hostapd died: back through Starting
  void timeout();

  State state() const;
  const std::string& ifname() const;
  const Error& lastError() const;  // code Ok when none

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd
