// TetherInterfaceSM with the Boost.MSM functor front-end. Actions only record commands on
// InterfaceActions; their results come back later as events (configured, forwardingApplied).
//
// One start attempt (the start timer armed, configure() asked for) spans two MSM states that
// both report Starting: Starting (waiting for configured(ok) and, with waitForReady, ready())
// and Enabling (forwarding asked for, waiting for forwardingApplied). Tethered is entered, and
// reported, only once forwarding is committed.
#include "statemachines/tether_interface_sm.h"

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/functor_row.hpp>
#include <boost/msm/front/state_machine_def.hpp>

namespace tetherd {

namespace msm = boost::msm;
namespace mpl = boost::mpl;
using msm::front::none;
using msm::front::Row;
using IState = TetherInterfaceMachine::State;

namespace {

struct Context {
  std::string ifname;
  InterfaceActions& actions;
  int startTimeoutMs;
  bool waitForReady;
  IState state = IState::Initial;
  bool reported = false;  // the first state is reported even though it equals the default
  Error lastError{Errc::Ok, ""};
  // The current start attempt (open from Starting's fresh entry until leaving Starting/Enabling
  // for anything but each other; the start timer runs exactly while it is open).
  bool attemptOpen = false;
  bool awaitingConfigure = false;  // configure() asked for, not answered yet
  bool configuredOk = false;
  bool readySeen = false;

  // Reports only changes of the public state: Starting <-> Enabling stays "starting".
  void enter(IState s) {
    if (reported && s == state) return;
    reported = true;
    state = s;
    actions.stateChanged(ifname, static_cast<int>(s), s == IState::Failed ? &lastError : nullptr);
  }
  void beginAttempt(bool keepCause) {
    if (attemptOpen) return;  // back from Enabling: the same attempt goes on, timer and all
    if (!keepCause) lastError = Error{Errc::Ok, ""};
    enter(IState::Starting);
    attemptOpen = true;
    awaitingConfigure = true;
    configuredOk = false;
    readySeen = false;
    actions.armTimer(ifname, startTimeoutMs);
    actions.configure(ifname);
  }
  void endAttempt() {
    if (!attemptOpen) return;
    attemptOpen = false;
    awaitingConfigure = false;
    actions.cancelTimer(ifname);
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
struct Configured {};
struct ConfigureFailed {
  Error error;
};
struct ForwardingApplied {};
struct ForwardingFailed {
  Error error;
};

struct Fsm_ : msm::front::state_machine_def<Fsm_> {
  explicit Fsm_(Context* c) : ctx(c) {}
  Context* ctx;

  struct Initial : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->enter(IState::Initial);
    }
  };
  struct Starting : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->beginAttempt(false);
    }
    // Back through Starting because the AP went away: keep its cause for the timeout's error.
    template <class F>
    void on_entry(const ReadyLost&, F& fsm) {
      fsm.ctx->beginAttempt(true);
      fsm.ctx->readySeen = false;
    }
    template <class E, class F>
    void on_exit(const E&, F& fsm) {
      fsm.ctx->endAttempt();
    }
    // Only these lead on to Enabling: the attempt (and its timer) goes on.
    template <class F>
    void on_exit(const Configured&, F&) {}
    template <class F>
    void on_exit(const Ready&, F&) {}
  };
  struct Enabling : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->enter(IState::Starting);  // no report: it is still starting
      fsm.ctx->actions.enableForwarding(fsm.ctx->ifname);
    }
    // Leaving without the commit: withdraw the forwarding that may be on its way.
    template <class E, class F>
    void on_exit(const E&, F& fsm) {
      fsm.ctx->endAttempt();
      fsm.ctx->actions.disableForwarding(fsm.ctx->ifname);
    }
    template <class F>
    void on_exit(const ForwardingApplied&, F& fsm) {
      fsm.ctx->endAttempt();
    }
    template <class F>
    void on_exit(const ReadyLost&, F& fsm) {  // back to Starting within the same attempt
      fsm.ctx->actions.disableForwarding(fsm.ctx->ifname);
    }
  };
  struct Tethered : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->lastError = Error{Errc::Ok, ""};  // e.g. a hostapd that died while starting, now ready
      fsm.ctx->enter(IState::Tethered);
    }
    template <class E, class F>
    void on_exit(const E&, F& fsm) {
      fsm.ctx->actions.disableForwarding(fsm.ctx->ifname);
    }
  };
  struct Failed : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->actions.unconfigure(fsm.ctx->ifname);
      fsm.ctx->enter(IState::Failed);
    }
  };
  struct Unavailable : msm::front::state<> {
    template <class E, class F>
    void on_entry(const E&, F& fsm) {
      fsm.ctx->actions.unconfigure(fsm.ctx->ifname);
      fsm.ctx->enter(IState::Unavailable);
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
    static Error errorOf(const ConfigureFailed& e, const Context&) { return e.error; }
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
  // Lost before ready (hostapd died while starting): its supervisor restarts it; the start
  // timer still bounds the wait, and the cause is kept for the timeout's error.
  struct LoseReady {
    template <class F, class S, class T>
    void operator()(const ReadyLost& e, F& fsm, S&, T&) {
      fsm.ctx->lastError = e.why;
      fsm.ctx->readySeen = false;
    }
  };
  struct MarkConfigured {
    template <class E, class F, class S, class T>
    void operator()(const E&, F& fsm, S&, T&) {
      fsm.ctx->awaitingConfigure = false;
      fsm.ctx->configuredOk = true;
    }
  };
  struct MarkReady {
    template <class E, class F, class S, class T>
    void operator()(const E&, F& fsm, S&, T&) {
      fsm.ctx->readySeen = true;
    }
  };
  struct ReapplyForwarding {
    template <class E, class F, class S, class T>
    void operator()(const E&, F& fsm, S&, T&) {
      fsm.ctx->actions.enableForwarding(fsm.ctx->ifname);
    }
  };

  // Guards. An answer to configure() counts only while one is outstanding (stale ones are ignored).
  struct ConfigureAnswered {
    template <class E, class F, class S, class T>
    bool operator()(const E&, F& fsm, S&, T&) {
      return fsm.ctx->awaitingConfigure;
    }
  };
  struct ConfiguredAndReady {  // configured(ok) completes the wait
    template <class E, class F, class S, class T>
    bool operator()(const E&, F& fsm, S&, T&) {
      return fsm.ctx->awaitingConfigure && (!fsm.ctx->waitForReady || fsm.ctx->readySeen);
    }
  };
  struct ConfiguredNotReady {  // configured(ok) before ready(): keep waiting
    template <class E, class F, class S, class T>
    bool operator()(const E&, F& fsm, S&, T&) {
      return fsm.ctx->awaitingConfigure && fsm.ctx->waitForReady && !fsm.ctx->readySeen;
    }
  };
  struct IsConfigured {
    template <class E, class F, class S, class T>
    bool operator()(const E&, F& fsm, S&, T&) {
      return fsm.ctx->configuredOk;
    }
  };
  struct NotConfigured {
    template <class E, class F, class S, class T>
    bool operator()(const E&, F& fsm, S&, T&) {
      return !fsm.ctx->configuredOk;
    }
  };
  struct WaitsForReady {
    template <class E, class F, class S, class T>
    bool operator()(const E&, F& fsm, S&, T&) {
      return fsm.ctx->waitForReady;
    }
  };

  using initial_state = Initial;

  // clang-format off
  struct transition_table : mpl::vector<
    //   Source       Event              Target       Action             Guard
    Row< Initial,     TetherRequested,   Starting,    none,              none >,
    Row< Initial,     InterfaceRemoved,  Unavailable, none,              none >,
    Row< Starting,    Configured,        Enabling,    MarkConfigured,    ConfiguredAndReady >,
    Row< Starting,    Configured,        none,        MarkConfigured,    ConfiguredNotReady >,
    Row< Starting,    ConfigureFailed,   Failed,      RecordError,       ConfigureAnswered >,
    Row< Starting,    Ready,             Enabling,    none,              IsConfigured >,
    Row< Starting,    Ready,             none,        MarkReady,         NotConfigured >,
    Row< Starting,    Timeout,           Failed,      RecordError,       none >,
    Row< Starting,    ReadyLost,         none,        LoseReady,         none >,
    Row< Starting,    MasterError,       Failed,      RecordError,       none >,
    Row< Starting,    TetherUnrequested, Initial,     Unconfigure,       none >,
    Row< Starting,    InterfaceRemoved,  Unavailable, none,              none >,
    Row< Enabling,    ForwardingApplied, Tethered,    none,              none >,
    Row< Enabling,    ForwardingFailed,  Failed,      RecordError,       none >,
    Row< Enabling,    Timeout,           Failed,      RecordError,       none >,  // e.g. the xtables lock stayed busy
    Row< Enabling,    ReadyLost,         Starting,    RecordError,       WaitsForReady >,
    Row< Enabling,    MasterError,       Failed,      RecordError,       none >,
    Row< Enabling,    AddressConflict,   Starting,    Unconfigure,       none >,
    Row< Enabling,    TetherUnrequested, Initial,     Unconfigure,       none >,
    Row< Enabling,    InterfaceRemoved,  Unavailable, none,              none >,
    Row< Tethered,    UpstreamChanged,   none,        ReapplyForwarding, none >,
    Row< Tethered,    ForwardingFailed,  Failed,      RecordError,       none >,
    Row< Tethered,    MasterError,       Failed,      RecordError,       none >,
    Row< Tethered,    AddressConflict,   Starting,    Unconfigure,       none >,
    Row< Tethered,    ReadyLost,         Starting,    RecordError,       none >,
    Row< Tethered,    TetherUnrequested, Initial,     Unconfigure,       none >,
    Row< Tethered,    InterfaceRemoved,  Unavailable, none,              none >,
    Row< Failed,      TetherRequested,   Starting,    none,              none >,
    Row< Failed,      TetherUnrequested, Initial,     none,              none >,
    Row< Failed,      InterfaceRemoved,  Unavailable, none,              none >,
    // A link coming back is a reason to try a failed interface again.
    Row< Failed,      InterfaceUp,       Starting,    none,              none >
  > {};
  // clang-format on

  // Events a state has no row for (or whose guard refuses them) are deliberately ignored:
  // e.g. link down while Initial, or a stale answer to a command of a state already left.
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
void TetherInterfaceMachine::configured(const Status& result) {
  if (result) impl_->fsm.process_event(Configured{});
  else impl_->fsm.process_event(ConfigureFailed{result.error()});
}
void TetherInterfaceMachine::forwardingApplied(const Status& result) {
  if (result) impl_->fsm.process_event(ForwardingApplied{});
  else impl_->fsm.process_event(ForwardingFailed{result.error()});
}

TetherInterfaceMachine::State TetherInterfaceMachine::state() const { return impl_->ctx.state; }
const std::string& TetherInterfaceMachine::ifname() const { return impl_->ctx.ifname; }
const Error& TetherInterfaceMachine::lastError() const { return impl_->ctx.lastError; }

}  // namespace tetherd
