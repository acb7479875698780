// TetherInterfaceSM: one per downstream interface. It decides; the side effects are done
// by the InterfaceActions it is given (the TetherManager in the daemon, a fake in tests).
// Boost.MSM stays inside tether_interface_sm.cpp.
#pragma once

#include <memory>
#include <string>

#include "tether/base/result.h"

namespace tetherd {

// The machine's commands. The driver only records them and carries them out after the
// machine has finished handling the current event (never from inside an action: the machine
// never calls back into what drives it). Answers come back as events: configure() is
// answered by configured(Status), enableForwarding() by forwardingApplied(Status) — perhaps
// much later (the xtables lock was busy), perhaps never (the start timer bounds that).
class InterfaceActions {
 public:
  virtual ~InterfaceActions() = default;
  // Address, link up, DHCP/DNS server (and, for the soft AP, hostapd started).
  virtual void configure(const std::string& ifname) = 0;
  virtual void unconfigure(const std::string& ifname) = 0;  // best effort, never answered
  virtual void enableForwarding(const std::string& ifname) = 0;   // NAT/forwarding to the upstream
  virtual void disableForwarding(const std::string& ifname) = 0;  // never answered
  virtual void armTimer(const std::string& ifname, int timeoutMs) = 0;  // deliver timeout() on expiry
  virtual void cancelTimer(const std::string& ifname) = 0;
  virtual void stateChanged(const std::string& ifname, int newState, const Error* error) = 0;
};

class TetherInterfaceMachine {
 public:
  enum class State { Initial = 0, Starting, Tethered, Failed, Unavailable };
  static const char* stateName(State s);

  // Starting: configure() is asked for; once configured(ok) (and, with waitForReady, ready():
  // the AP is enabled) forwarding is asked for; Tethered is entered, and reported, only on
  // forwardingApplied(ok). The start timer bounds all of it.
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
  // Answers to the commands.
  void configured(const Status& result);
  void forwardingApplied(const Status& result);

  State state() const;
  const std::string& ifname() const;
  const Error& lastError() const;  // code Ok when none

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd
