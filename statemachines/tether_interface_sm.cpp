// TetherInterfaceSM with the Boost.MSM functor front-end. Events raised from inside an
// action or entry are queued by MSM and processed after the current transition.
#include "statemachines/tether_interface_sm.h"

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/functor_row.hpp>
#include <boost/msm/front/state_machine_def.hpp>

namespace tetherd {

namespace msm = boost::msm;
namespace mpl = boost::mpl;
using msm::front::none;
using msm::front::Row;

namespace {

struct Context {
  std::string ifname;
  InterfaceActions& actions;
  int startTimeoutMs;
  bool waitForReady;
  TetherInterfaceMachine::State state = TetherInterfaceMachine::State::Initial;
  Error lastError{Errc::Ok, ""};

  void enter(TetherInterfaceMachine::State s) {
    state = s;
    actions.stateChanged(ifname, static_cast<int>(s), s == TetherInterfaceMachine::State::Failed ? &lastError : nullptr);
  }
};

// Events
struct TetherRequested {};
struct TetherUnrequested {};
struct InterfaceRemoved {};
struct InterfaceUp {};
struct InterfaceDown {};
struct UpstreamChanged {};
struct MasterError {
  Errc cause;
};
struct AddressConflict {};
struct Ready {};
struct ReadyLost {
  Error why;
};
struct Timeout {};
struct StartDone {};
struct StartFailed {
  Error error;
};
struct ForwardingFailed {
  Error error;
};

struct Fsm_ : msm::front::state_machine_def<Fsm_> {
  explicit Fsm_(Context* c) : ctx(c) {}
  Context* ctx;

  struct Initial : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->enter(TetherInterfaceMachine::State::Initial);
    }
  };
  struct Starting : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      Context& c = *fsm.ctx;
      c.lastError = Error{Errc::Ok, ""};
      c.enter(TetherInterfaceMachine::State::Starting);
      c.actions.armTimer(c.ifname, c.startTimeoutMs);
      auto st = c.actions.configure(c.ifname);
      if (!st) fsm.process_event(StartFailed{st.error()});
      else if (!c.waitForReady) fsm.process_event(StartDone{});
    }
    template <class E, class F>
    void on_exit(const E&, F& fsm) {
      fsm.ctx->actions.cancelTimer(fsm.ctx->ifname);
    }
  };
  struct Tethered : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      Context& c = *fsm.ctx;
      c.lastError = Error{Errc::Ok, ""};  // e.g. a hostapd that died while starting, now ready
      c.enter(TetherInterfaceMachine::State::Tethered);
      auto st = c.actions.enableForwarding(c.ifname);
      if (!st) fsm.process_event(ForwardingFailed{st.error()});
    }
    template <class E, class F>
    void on_exit(const E&, F& fsm) {
      auto st = fsm.ctx->actions.disableForwarding(fsm.ctx->ifname);
      (void)st;  // reported by the actions; leaving Tethered goes on regardless
    }
  };
  struct Failed : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->actions.unconfigure(fsm.ctx->ifname);
      fsm.ctx->enter(TetherInterfaceMachine::State::Failed);
    }
  };
  struct Unavailable : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->actions.unconfigure(fsm.ctx->ifname);
      fsm.ctx->enter(TetherInterfaceMachine::State::Unavailable);
    }
  };

  // Actions
  struct Unconfigure {
    template <class E, class F, class S, class T>
    void operator()(const E&, F& fsm, S&, T&) {
      fsm.ctx->actions.unconfigure(fsm.ctx->ifname);
    }
  };
  struct RecordError {
    template <class E, class F, class S, class T>
    void operator()(const E& e, F& fsm, S&, T&) {
      fsm.ctx->lastError = errorOf(e, *fsm.ctx);
    }
    static Error errorOf(const StartFailed& e, const Context&) { return e.error; }
    static Error errorOf(const ForwardingFailed& e, const Context&) { return e.error; }
    static Error errorOf(const ReadyLost& e, const Context&) { return e.why; }
    static Error errorOf(const MasterError& e, const Context&) {
      return Error{Errc::MasterError, std::string("tethering master failed (") + errcName(e.cause) + ")"};
    }
    static Error errorOf(const Timeout&, const Context& c) {
      std::string cause = c.lastError.code != Errc::Ok ? " (" + c.lastError.message + ")" : "";
      return Error{Errc::TetherIfaceError,
                   c.ifname + " did not become ready within " + std::to_string(c.startTimeoutMs) + " ms" + cause};
    }
  };
  struct ReapplyForwarding {
    template <class E, class F, class S, class T>
    void operator()(const E&, F& fsm, S&, T&) {
      auto st = fsm.ctx->actions.enableForwarding(fsm.ctx->ifname);
      if (!st) fsm.process_event(ForwardingFailed{st.error()});
    }
  };
  struct UnconfigureForMove {
    template <class E, class F, class S, class T>
    void operator()(const E&, F& fsm, S&, T&) {
      fsm.ctx->actions.unconfigure(fsm.ctx->ifname);
    }
  };

  using initial_state = Initial;

  // clang-format off
  struct transition_table : mpl::vector<
    //   Source       Event              Target       Action               Guard
    Row< Initial,     TetherRequested,   Starting,    none,                none >,
    Row< Initial,     InterfaceRemoved,  Unavailable, none,                none >,
    Row< Starting,    StartDone,         Tethered,    none,                none >,
    Row< Starting,    Ready,             Tethered,    none,                none >,
    Row< Starting,    StartFailed,       Failed,      RecordError,         none >,
    Row< Starting,    Timeout,           Failed,      RecordError,         none >,
    // Lost before ready (hostapd died while starting): its supervisor restarts it; the start
    // timer still bounds the wait, and the cause is kept for the timeout's error.
    Row< Starting,    ReadyLost,         none,        RecordError,         none >,
    Row< Starting,    MasterError,       Failed,      RecordError,         none >,
    Row< Starting,    TetherUnrequested, Initial,     Unconfigure,         none >,
    Row< Starting,    InterfaceRemoved,  Unavailable, none,                none >,
    Row< Tethered,    UpstreamChanged,   none,        ReapplyForwarding,   none >,
    Row< Tethered,    ForwardingFailed,  Failed,      RecordError,         none >,
    Row< Tethered,    MasterError,       Failed,      RecordError,         none >,
    Row< Tethered,    AddressConflict,   Starting,    UnconfigureForMove,  none >,
    Row< Tethered,    ReadyLost,         Starting,    RecordError,         none >,
    Row< Tethered,    TetherUnrequested, Initial,     Unconfigure,         none >,
    Row< Tethered,    InterfaceRemoved,  Unavailable, none,                none >,
    Row< Failed,      TetherRequested,   Starting,    none,                none >,
    Row< Failed,      TetherUnrequested, Initial,     none,                none >,
    Row< Failed,      InterfaceRemoved,  Unavailable, none,                none >,
    // A link coming back is a reason to try a failed interface again.
    Row< Failed,      InterfaceUp,       Starting,    none,                none >
  > {};
  // clang-format on

  // Events a state has no row for are deliberately ignored (e.g. link down while Initial).
  template <class F, class E>
  void no_transition(const E&, F&, int) {}
};

using Fsm = msm::back::state_machine<Fsm_>;

}  // namespace

struct TetherInterfaceMachine::Impl {
  Impl(std::string ifname, InterfaceActions& actions, int timeoutMs, bool waitForReady)
      : ctx{std::move(ifname), actions, timeoutMs, waitForReady}, fsm(&ctx) {
    fsm.start();
  }
  Context ctx;
  Fsm fsm;
};

TetherInterfaceMachine::TetherInterfaceMachine(std::string ifname, InterfaceActions& actions, int startTimeoutMs,
                                               bool waitForReady)
    : impl_(std::make_unique<Impl>(std::move(ifname), actions, startTimeoutMs, waitForReady)) {}
TetherInterfaceMachine::~TetherInterfaceMachine() = default;

const char* TetherInterfaceMachine::stateName(State s) {
  switch (s) {
    case State::Initial: return "available";
    case State::Starting: return "starting";
    case State::Tethered: return "tethered";
    case State::Failed: return "failed";
    case State::Unavailable: return "unavailable";
  }
  return "?";
}

void TetherInterfaceMachine::tetherRequested() { impl_->fsm.process_event(TetherRequested{}); }
void TetherInterfaceMachine::tetherUnrequested() { impl_->fsm.process_event(TetherUnrequested{}); }
void TetherInterfaceMachine::interfaceUp() { impl_->fsm.process_event(InterfaceUp{}); }
// Carrier loss does not untether: the address and DHCP server stay, clients return on reconnect.
void TetherInterfaceMachine::interfaceDown() { impl_->fsm.process_event(InterfaceDown{}); }
void TetherInterfaceMachine::interfaceRemoved() { impl_->fsm.process_event(InterfaceRemoved{}); }
void TetherInterfaceMachine::upstreamChanged() { impl_->fsm.process_event(UpstreamChanged{}); }
void TetherInterfaceMachine::masterError(Errc cause) { impl_->fsm.process_event(MasterError{cause}); }
void TetherInterfaceMachine::addressConflict() { impl_->fsm.process_event(AddressConflict{}); }
void TetherInterfaceMachine::ready() { impl_->fsm.process_event(Ready{}); }
void TetherInterfaceMachine::readyLost(const Error& why) { impl_->fsm.process_event(ReadyLost{why}); }
void TetherInterfaceMachine::timeout() { impl_->fsm.process_event(Timeout{}); }

TetherInterfaceMachine::State TetherInterfaceMachine::state() const { return impl_->ctx.state; }
const std::string& TetherInterfaceMachine::ifname() const { return impl_->ctx.ifname; }
const Error& TetherInterfaceMachine::lastError() const { return impl_->ctx.lastError; }

}  // namespace tetherd
