// Supervisor: one child kept running, restarted with backoff, stopped with SIGTERM then
// SIGKILL (process_supervisor.h). The processes themselves are the ProcessRunner's.
#include "tether/system/process_supervisor.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <csignal>

#include "tether/base/log.h"

namespace tetherd {

namespace asio = boost::asio;

Supervisor::Supervisor(ProcessRunner& runner, asio::io_context& io, ProcessSpec spec, Options options)
    : runner_(runner), io_(io), spec_(std::move(spec)), options_(options), timer_(io), backoff_(options.initialBackoff) {}

Supervisor::~Supervisor() {
  cancelTimer();
  if (pid_ != 0) {
    log::warning(spec_.name, "[", pid_, "]: still running as its supervisor goes away: killing it");
    (void)runner_.signal(pid_, SIGKILL);
  }
  for (auto& done : stopDone_)
    if (done) asio::post(io_, std::move(done));
}

Status Supervisor::start() {
  switch (state_) {
    case State::Running:
    case State::Backoff:
      return {};
    case State::Stopping:
      startAfterStop_ = true;
      return {};
    case State::Stopped:
      break;
  }
  return spawnNow(false);
}

Status Supervisor::spawnNow(bool automatic) {
  output_.clear();
  auto r = runner_.spawn(spec_);
  if (!r) {
    log::error(spec_.name, ": cannot start: ", r.error().message);
    if (automatic) {
      scheduleRestart();
    } else {
      state_ = State::Stopped;
    }
    return r.error();
  }
  pid_t pid = *r;
  pid_ = pid;
  state_ = State::Running;
  startedAt_ = std::chrono::steady_clock::now();
  std::weak_ptr<char> alive = alive_;
  runner_.onOutput(pid, [this, alive](std::string_view line) {
    if (alive.expired()) return;
    if (!spec_.logFilter || spec_.logFilter(line)) {
      output_.emplace_back(line);
      if (output_.size() > kOutputLines) output_.pop_front();
    }
    if (onOutput_) {
      auto cb = onOutput_;
      cb(line);
    }
  });
  runner_.onExit(pid, [this, alive, pid](int status) {
    if (alive.expired()) return;
    handleExit(pid, status);
  });
  log::info("started ", spec_.name, " (pid ", pid, ")");
  if (onStarted_) {
    auto cb = onStarted_;
    cb(pid);
  }
  return {};
}

void Supervisor::scheduleRestart() {
  restartDelay_ = backoff_;
  backoff_ = std::min(backoff_ * 2, options_.maxBackoff);
  state_ = State::Backoff;
  armTimer(restartDelay_);
}

void Supervisor::handleExit(pid_t pid, int waitStatus) {
  if (pid != pid_) return;
  pid_ = 0;
  std::weak_ptr<char> alive = alive_;

  if (state_ == State::Stopping) {
    cancelTimer();
    state_ = State::Stopped;
    log::info(spec_.name, " (pid ", pid, ") stopped: ", describeExit(waitStatus));
    auto dones = std::move(stopDone_);
    stopDone_.clear();
    if (onExited_) {
      auto cb = onExited_;
      cb(waitStatus, startAfterStop_);
    }
    for (auto& done : dones)
      if (done) done();
    if (alive.expired()) return;  // a callback destroyed us
    if (state_ == State::Stopped && startAfterStop_) {
      startAfterStop_ = false;
      (void)spawnNow(true);
    }
    return;
  }

  if (state_ != State::Running) return;
  auto uptime = std::chrono::steady_clock::now() - startedAt_;
  if (uptime >= options_.stableAfter) backoff_ = options_.initialBackoff;
  scheduleRestart();
  log::warning(spec_.name, " (pid ", pid, ") ", describeExit(waitStatus), " after ",
               std::chrono::duration_cast<std::chrono::milliseconds>(uptime).count(), " ms; restarting in ",
               restartDelay_.count(), " ms");
  if (onExited_) {
    auto cb = onExited_;
    cb(waitStatus, true);
  }
}

void Supervisor::stop(std::function<void()> done) {
  startAfterStop_ = false;
  switch (state_) {
    case State::Stopped:
      if (done) asio::post(io_, std::move(done));
      return;
    case State::Backoff:
      cancelTimer();
      state_ = State::Stopped;
      if (done) asio::post(io_, std::move(done));
      return;
    case State::Stopping:
      if (done) stopDone_.push_back(std::move(done));
      return;
    case State::Running:
      break;
  }
  if (done) stopDone_.push_back(std::move(done));
  state_ = State::Stopping;
  log::info("stopping ", spec_.name, " (pid ", pid_, ")");
  if (auto st = runner_.signal(pid_, SIGTERM); !st) log::warning(spec_.name, ": ", st.error().message);
  armTimer(options_.stopTimeout);
}

void Supervisor::restart() {
  switch (state_) {
    case State::Stopped:
      (void)spawnNow(false);
      return;
    case State::Backoff:
      cancelTimer();
      ++restartCount_;
      (void)spawnNow(true);
      return;
    case State::Stopping:
      startAfterStop_ = true;
      return;
    case State::Running:
      break;
  }
  stop(nullptr);
  startAfterStop_ = true;
}

Status Supervisor::signal(int sig) {
  if (pid_ == 0) return makeError(Errc::NotFound, spec_.name + " is not running");
  return runner_.signal(pid_, sig);
}

void Supervisor::setSpec(ProcessSpec spec) { spec_ = std::move(spec); }

std::string Supervisor::lastOutput() const {
  std::string out;
  for (const auto& line : output_) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

void Supervisor::armTimer(std::chrono::milliseconds delay) {
  uint64_t gen = ++timerGen_;
  std::weak_ptr<char> alive = alive_;
  timer_.expires_after(delay);
  timer_.async_wait([this, alive, gen](const boost::system::error_code& ec) {
    if (alive.expired() || ec || gen != timerGen_) return;
    onTimer();
  });
}

void Supervisor::cancelTimer() {
  ++timerGen_;
  timer_.cancel();
}

void Supervisor::onTimer() {
  if (state_ == State::Backoff) {
    ++restartCount_;
    (void)spawnNow(true);
  } else if (state_ == State::Stopping && pid_ != 0) {
    log::warning(spec_.name, " (pid ", pid_, ") did not exit within ", options_.stopTimeout.count(),
                 " ms of SIGTERM; sending SIGKILL");
    if (auto st = runner_.signal(pid_, SIGKILL); !st) log::warning(spec_.name, ": ", st.error().message);
  }
}

}  // namespace tetherd
