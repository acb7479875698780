// TetherMasterSM with the Boost.MSM functor front-end. Starting and Stopping are the
// transitional states: each arms a timer and ends in Alive/Initial or in a typed error state.
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

struct Context {
  MasterActions& actions;
  int timeoutMs;
  MState state = MState::Initial;
  Error lastError{Errc::Ok, ""};
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
struct Started {};
struct Stopped {};
struct Failure {
  Error error;
};
struct IpFwdEnableFailed : Failure {};
struct IpFwdDisableFailed : Failure {};
struct StartTetheringFailed : Failure {};
struct StopTetheringFailed : Failure {};
struct DnsFailed : Failure {};

template <MState kState, Errc kCause>
struct ErrorState : msm::front::state<> {
  template <class E, class F>
  void on_entry(const E&, F& fsm) {
    fsm.ctx->enter(kState);
    fsm.ctx->actions.notifyMasterError(kCause);
  }
};

struct Fsm_ : msm::front::state_machine_def<Fsm_> {
  explicit Fsm_(Context* c) : ctx(c) {}
  Context* ctx;

  struct Initial : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->enter(MState::Initial);
    }
  };
  struct Starting : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      Context& c = *fsm.ctx;
      c.enter(MState::Starting);
      c.actions.armTimer(c.timeoutMs);
      if (auto st = c.actions.enableIpForwarding(); !st) return fsm.process_event(IpFwdEnableFailed{{st.error()}}), void();
      if (auto st = c.actions.startTethering(); !st) return fsm.process_event(StartTetheringFailed{{st.error()}}), void();
      if (auto st = c.actions.setDnsForwarders(); !st) return fsm.process_event(DnsFailed{{st.error()}}), void();
      fsm.process_event(Started{});
    }
    template <class E, class F>
    void on_exit(const E&, F& fsm) {
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
  struct Stopping : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      Context& c = *fsm.ctx;
      c.enter(MState::Stopping);
      c.actions.armTimer(c.timeoutMs);
      if (auto st = c.actions.stopTethering(); !st) return fsm.process_event(StopTetheringFailed{{st.error()}}), void();
      if (auto st = c.actions.disableIpForwarding(); !st) return fsm.process_event(IpFwdDisableFailed{{st.error()}}), void();
      fsm.process_event(Stopped{});
    }
    template <class E, class F>
    void on_exit(const E&, F& fsm) {
      fsm.ctx->actions.cancelTimer();
    }
  };
  using IpFwdEnableError = ErrorState<MState::SetIpForwardingEnabledError, Errc::EnableForwardingError>;
  using IpFwdDisableError = ErrorState<MState::SetIpForwardingDisabledError, Errc::DisableForwardingError>;
  using StartError = ErrorState<MState::StartTetheringError, Errc::ServiceUnavail>;
  using StopError = ErrorState<MState::StopTetheringError, Errc::ServiceUnavail>;
  using DnsError = ErrorState<MState::SetDnsForwardersError, Errc::ServiceUnavail>;

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
  struct UpdateUpstream {
    template <class E, class F, class Src, class T>
    void operator()(const E&, F& fsm, Src&, T&) {
      if (auto st = fsm.ctx->actions.setDnsForwarders(); !st) {
        fsm.process_event(DnsFailed{{st.error()}});
        return;
      }
      fsm.ctx->actions.notifyUpstreamChanged();
    }
  };
  // Leaving an error: undo whatever the failed start or stop left behind, best effort.
  struct Cleanup {
    template <class E, class F, class Src, class T>
    void operator()(const E&, F& fsm, Src&, T&) {
      auto a = fsm.ctx->actions.stopTethering();
      auto b = fsm.ctx->actions.disableIpForwarding();
      (void)a;
      (void)b;
      fsm.ctx->lastError = Error{Errc::Ok, ""};
    }
  };

  using initial_state = Initial;

  // clang-format off
  struct transition_table : mpl::vector<
    //   Source             Event                 Target             Action          Guard
    Row< Initial,           ModeRequested,        Starting,          none,           none >,
    Row< Starting,          Started,              Alive,             none,           none >,
    Row< Starting,          IpFwdEnableFailed,    IpFwdEnableError,  Record,         none >,
    Row< Starting,          StartTetheringFailed, StartError,        Record,         none >,
    Row< Starting,          DnsFailed,            DnsError,          Record,         none >,
    Row< Starting,          Timeout,              StartError,        RecordTimeout,  none >,
    Row< Alive,             UpstreamChanged,      none,              UpdateUpstream, none >,
    Row< Alive,             DnsFailed,            DnsError,          Record,         none >,
    Row< Alive,             ModeUnrequested,      Stopping,          none,           none >,
    Row< Stopping,          Stopped,              Initial,           none,           none >,
    Row< Stopping,          StopTetheringFailed,  StopError,         Record,         none >,
    Row< Stopping,          IpFwdDisableFailed,   IpFwdDisableError, Record,         none >,
    Row< Stopping,          Timeout,              StopError,         RecordTimeout,  none >,
    Row< IpFwdEnableError,  ClearError,           Initial,           Cleanup,        none >,
    Row< IpFwdDisableError, ClearError,           Initial,           Cleanup,        none >,
    Row< StartError,        ClearError,           Initial,           Cleanup,        none >,
    Row< StopError,         ClearError,           Initial,           Cleanup,        none >,
    Row< DnsError,          ClearError,           Initial,           Cleanup,        none >
  > {};
  // clang-format on

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
TetherMasterMachine::State TetherMasterMachine::state() const { return impl_->ctx.state; }
const Error& TetherMasterMachine::lastError() const { return impl_->ctx.lastError; }

}  // namespace tetherd
