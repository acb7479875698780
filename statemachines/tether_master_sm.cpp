// TetherMasterSM with the Boost.MSM functor front-end. Actions only record commands on
// MasterActions; each result comes back later as its own event. Starting and Stopping are the
// transitional states: each arms a timer, asks for its steps one answer at a time, and ends in
// Alive/Initial, or in a typed error state on a failed answer or on the timer.
#include "statemachines/tether_master_sm.h"

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/functor_row.hpp>
#include <boost/msm/front/state_machine_def.hpp>

namespace tetherd {

namespace msm = boost::msm;
namespace mpl = boost::mpl;
using msm::front::none;
using msm::front::Row;
using MState = TetherMasterMachine::State;

namespace {

// The answer the machine waits for: an answer to any other command is stale and ignored.
enum class Awaiting { Nothing, IpForwardingEnabled, TetheringStarted, DnsForwardersSet, TetheringStopped, IpForwardingDisabled };

struct Context {
  MasterActions& actions;
  int timeoutMs;
  MState state = MState::Initial;
  Error lastError{Errc::Ok, ""};
  Awaiting awaiting = Awaiting::Nothing;
  void enter(MState s) {
    state = s;
    actions.stateChanged(static_cast<int>(s), TetherMasterMachine::isError(s) ? &lastError : nullptr);
  }
};

struct ModeRequested {};
struct ModeUnrequested {};
struct UpstreamChanged {};
struct ClearError {};
struct Timeout {};
// Answers: Done<k> is the ok answer to the step k, Failed<k> its failure.
template <Awaiting k>
struct Done {};
template <Awaiting k>
struct Failed {
  Error error;
};
using IpFwdEnabled = Done<Awaiting::IpForwardingEnabled>;
using IpFwdEnableFailed = Failed<Awaiting::IpForwardingEnabled>;
using TetheringStarted = Done<Awaiting::TetheringStarted>;
using StartTetheringFailed = Failed<Awaiting::TetheringStarted>;
using DnsSet = Done<Awaiting::DnsForwardersSet>;
using DnsFailed = Failed<Awaiting::DnsForwardersSet>;
using TetheringStopped = Done<Awaiting::TetheringStopped>;
using StopTetheringFailed = Failed<Awaiting::TetheringStopped>;
using IpFwdDisabled = Done<Awaiting::IpForwardingDisabled>;
using IpFwdDisableFailed = Failed<Awaiting::IpForwardingDisabled>;

template <MState kState, Errc kCause>
struct ErrorState : msm::front::state<> {
  template <class E, class F>
  void on_entry(const E&, F& fsm) {
    fsm.ctx->enter(kState);
    fsm.ctx->actions.notifyMasterError(kCause);
  }
};

// Asks for the next step and waits for its answer.
template <Awaiting k>
void command(Context& c) {
  c.awaiting = k;
  switch (k) {
    case Awaiting::IpForwardingEnabled: c.actions.enableIpForwarding(); break;
    case Awaiting::TetheringStarted: c.actions.startTethering(); break;
    case Awaiting::DnsForwardersSet: c.actions.setDnsForwarders(); break;
    case Awaiting::TetheringStopped: c.actions.stopTethering(); break;
    case Awaiting::IpForwardingDisabled: c.actions.disableIpForwarding(); break;
    case Awaiting::Nothing: break;
  }
}

struct Fsm_ : msm::front::state_machine_def<Fsm_> {
  explicit Fsm_(Context* c) : ctx(c) {}
  Context* ctx;

  struct Initial : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->enter(MState::Initial);
    }
  };
  // Starting: enableIpForwarding -> startTethering -> setDnsForwarders, one answer at a time,
  // all within the timer.
  struct Starting : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      Context& c = *fsm.ctx;
      c.enter(MState::Starting);
      c.actions.armTimer(c.timeoutMs);
      command<Awaiting::IpForwardingEnabled>(c);
    }
    template <class E, class F>
    void on_exit(const E&, F& fsm) {
      fsm.ctx->awaiting = Awaiting::Nothing;
      fsm.ctx->actions.cancelTimer();
    }
  };
  struct Alive : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->lastError = Error{Errc::Ok, ""};
      fsm.ctx->enter(MState::TetherModeAlive);
    }
  };
  // Stopping: stopTethering -> disableIpForwarding, within the timer.
  struct Stopping : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      Context& c = *fsm.ctx;
      c.enter(MState::Stopping);
      c.actions.armTimer(c.timeoutMs);
      command<Awaiting::TetheringStopped>(c);
    }
    template <class E, class F>
    void on_exit(const E&, F& fsm) {
      fsm.ctx->awaiting = Awaiting::Nothing;
      fsm.ctx->actions.cancelTimer();
    }
  };
  using IpFwdEnableError = ErrorState<MState::SetIpForwardingEnabledError, Errc::EnableForwardingError>;
  using IpFwdDisableError = ErrorState<MState::SetIpForwardingDisabledError, Errc::DisableForwardingError>;
  using StartError = ErrorState<MState::StartTetheringError, Errc::ServiceUnavail>;
  using StopError = ErrorState<MState::StopTetheringError, Errc::ServiceUnavail>;
  using DnsError = ErrorState<MState::SetDnsForwardersError, Errc::ServiceUnavail>;

  template <Awaiting k>
  struct Next {
    template <class E, class F, class Src, class T>
    void operator()(const E&, F& fsm, Src&, T&) {
      command<k>(*fsm.ctx);
    }
  };
  // An answer counts only as the answer to the step in progress.
  template <Awaiting k>
  struct Answers {
    template <class E, class F, class Src, class T>
    bool operator()(const E&, F& fsm, Src&, T&) {
      return fsm.ctx->awaiting == k;
    }
  };
  struct Record {
    template <class E, class F, class Src, class T>
    void operator()(const E& e, F& fsm, Src&, T&) {
      fsm.ctx->lastError = e.error;
    }
  };
  struct RecordTimeout {
    template <class E, class F, class Src, class T>
    void operator()(const E&, F& fsm, Src&, T&) {
      fsm.ctx->lastError = Error{Errc::Timeout, "tethering did not settle within " + std::to_string(fsm.ctx->timeoutMs) + " ms"};
    }
  };
  // Re-point the DNS forwarders (a failure answered later is an error) and every interface.
  struct UpdateUpstream {
    template <class E, class F, class Src, class T>
    void operator()(const E&, F& fsm, Src&, T&) {
      fsm.ctx->actions.setDnsForwarders();
      fsm.ctx->actions.notifyUpstreamChanged();
    }
  };
  // Leaving an error: undo whatever the failed start or stop left behind, best effort (the
  // answers arrive in Initial, which ignores them).
  struct Cleanup {
    template <class E, class F, class Src, class T>
    void operator()(const E&, F& fsm, Src&, T&) {
      fsm.ctx->actions.stopTethering();
      fsm.ctx->actions.disableIpForwarding();
      fsm.ctx->lastError = Error{Errc::Ok, ""};
    }
  };

  using initial_state = Initial;
  using A = Awaiting;

  // clang-format off
  struct transition_table : mpl::vector<
    //   Source             Event                 Target             Action                      Guard
    Row< Initial,           ModeRequested,        Starting,          none,                       none >,
    Row< Starting,          IpFwdEnabled,         none,              Next<A::TetheringStarted>,  Answers<A::IpForwardingEnabled> >,
    Row< Starting,          IpFwdEnableFailed,    IpFwdEnableError,  Record,                     Answers<A::IpForwardingEnabled> >,
    Row< Starting,          TetheringStarted,     none,              Next<A::DnsForwardersSet>,  Answers<A::TetheringStarted> >,
    Row< Starting,          StartTetheringFailed, StartError,        Record,                     Answers<A::TetheringStarted> >,
    Row< Starting,          DnsSet,               Alive,             none,                       Answers<A::DnsForwardersSet> >,
    Row< Starting,          DnsFailed,            DnsError,          Record,                     Answers<A::DnsForwardersSet> >,
    Row< Starting,          Timeout,              StartError,        RecordTimeout,              none >,
    Row< Alive,             UpstreamChanged,      none,              UpdateUpstream,             none >,
    Row< Alive,             DnsFailed,            DnsError,          Record,                     none >,
    Row< Alive,             ModeUnrequested,      Stopping,          none,                       none >,
    Row< Stopping,          TetheringStopped,     none,              Next<A::IpForwardingDisabled>, Answers<A::TetheringStopped> >,
    Row< Stopping,          StopTetheringFailed,  StopError,         Record,                     Answers<A::TetheringStopped> >,
    Row< Stopping,          IpFwdDisabled,        Initial,           none,                       Answers<A::IpForwardingDisabled> >,
    Row< Stopping,          IpFwdDisableFailed,   IpFwdDisableError, Record,                     Answers<A::IpForwardingDisabled> >,
    Row< Stopping,          Timeout,              StopError,         RecordTimeout,              none >,
    Row< IpFwdEnableError,  ClearError,           Initial,           Cleanup,                    none >,
    Row< IpFwdDisableError, ClearError,           Initial,           Cleanup,                    none >,
    Row< StartError,        ClearError,           Initial,           Cleanup,                    none >,
    Row< StopError,         ClearError,           Initial,           Cleanup,                    none >,
    Row< DnsError,          ClearError,           Initial,           Cleanup,                    none >
  > {};
  // clang-format on

  // Events a state has no row for (or whose guard refuses them) are ignored: a stale timer,
  // a repeated request, an answer to a command of a state already left.
  template <class F, class E>
  void no_transition(const E&, F&, int) {}
};

using Fsm = msm::back::state_machine<Fsm_>;

}  // namespace

struct TetherMasterMachine::Impl {
  Impl(MasterActions& a, int timeoutMs) : ctx{a, timeoutMs}, fsm(&ctx) { fsm.start(); }
  Context ctx;
  Fsm fsm;
};

TetherMasterMachine::TetherMasterMachine(MasterActions& actions, int timeoutMs)
    : impl_(std::make_unique<Impl>(actions, timeoutMs)) {}
TetherMasterMachine::~TetherMasterMachine() = default;

const char* TetherMasterMachine::stateName(State s) {
  switch (s) {
    case MState::Initial: return "Initial";
    case MState::Starting: return "Starting";
    case MState::TetherModeAlive: return "TetherModeAlive";
    case MState::Stopping: return "Stopping";
    case MState::SetIpForwardingEnabledError: return "SetIpForwardingEnabledError";
    case MState::SetIpForwardingDisabledError: return "SetIpForwardingDisabledError";
    case MState::StartTetheringError: return "StartTetheringError";
    case MState::StopTetheringError: return "StopTetheringError";
    case MState::SetDnsForwardersError: return "SetDnsForwardersError";
  }
  return "?";
}

void TetherMasterMachine::modeRequested() { impl_->fsm.process_event(ModeRequested{}); }
void TetherMasterMachine::modeUnrequested() { impl_->fsm.process_event(ModeUnrequested{}); }
void TetherMasterMachine::upstreamChanged() { impl_->fsm.process_event(UpstreamChanged{}); }
void TetherMasterMachine::clearError() { impl_->fsm.process_event(ClearError{}); }
void TetherMasterMachine::timeout() { impl_->fsm.process_event(Timeout{}); }

namespace {
template <Awaiting k>
void answer(Fsm& fsm, const Status& result) {
  if (result) fsm.process_event(Done<k>{});
  else fsm.process_event(Failed<k>{result.error()});
}
}  // namespace

void TetherMasterMachine::ipForwardingEnabled(const Status& r) { answer<Awaiting::IpForwardingEnabled>(impl_->fsm, r); }
void TetherMasterMachine::tetheringStarted(const Status& r) { answer<Awaiting::TetheringStarted>(impl_->fsm, r); }
void TetherMasterMachine::dnsForwardersSet(const Status& r) { answer<Awaiting::DnsForwardersSet>(impl_->fsm, r); }
void TetherMasterMachine::tetheringStopped(const Status& r) { answer<Awaiting::TetheringStopped>(impl_->fsm, r); }
void TetherMasterMachine::ipForwardingDisabled(const Status& r) { answer<Awaiting::IpForwardingDisabled>(impl_->fsm, r); }
TetherMasterMachine::State TetherMasterMachine::state() const { return impl_->ctx.state; }
const Error& TetherMasterMachine::lastError() const { return impl_->ctx.lastError; }

}  // namespace tetherd
