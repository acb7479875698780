// Keeps one child process running: restarts it with exponential backoff when it exits on its
// own, stops it with SIGTERM then SIGKILL, and keeps its last output lines so a failure can be
// reported with the child's own words. Purely event driven: while the child runs and nothing
// happens there is no timer and no wake-up.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tether/system/process.h"
#include "tether/base/result.h"

namespace tetherd {

class Supervisor {
 public:
  struct Options {
    std::chrono::milliseconds initialBackoff{100};  // delay before the first restart
    std::chrono::milliseconds maxBackoff{5000};     // the delay doubles up to this
    std::chrono::milliseconds stableAfter{10000};   // uptime after which the delay starts over
    std::chrono::milliseconds stopTimeout{3000};    // SIGTERM → SIGKILL
  };
  static constexpr size_t kOutputLines = 20;  // kept for lastOutput()

  // The runner must outlive the supervisor.
  Supervisor(ProcessRunner& runner, boost::asio::io_context& io, ProcessSpec spec, Options options);
  Supervisor(ProcessRunner& runner, boost::asio::io_context& io, ProcessSpec spec)
      : Supervisor(runner, io, std::move(spec), Options{}) {}
  // A child still running is SIGKILLed (stop() first for a clean shutdown).
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Spawn the child now. A spawn failure (missing binary...) is returned and the supervisor
  // stays stopped. No-op while running or waiting to restart; while stopping, the child is
  // started again once the old one is reaped.
  Status start();
  // SIGTERM, SIGKILL after stopTimeout; `done` (may be empty) is called on the loop once the
  // child is reaped, or soon if there is none. Cancels a pending restart.
  void stop(std::function<void()> done);
  // Stop the child (as stop()) and start it again at once, with the current spec. When
  // waiting to restart, restarts now; when stopped, starts.
  void restart();
  // Signal the running child (SIGHUP: dnsmasq re-reads its servers file).
  Status signal(int sig);
  // Takes effect on the next (re)start.
  void setSpec(ProcessSpec spec);

  // Called after each successful spawn.
  void onStarted(std::function<void(pid_t)> callback) { onStarted_ = std::move(callback); }
  // Called after each reaped child; willRestart says whether it is (re)started again (after
  // backoff when it exited on its own, at once for restart()). May call stop()/restart().
  void onExited(std::function<void(int waitStatus, bool willRestart)> callback) { onExited_ = std::move(callback); }
  // Called with every line the child writes (stdout and stderr).
  void onOutput(std::function<void(std::string_view line)> callback) { onOutput_ = std::move(callback); }

  const ProcessSpec& spec() const { return spec_; }
  pid_t pid() const { return pid_; }            // 0 when no child exists
  bool running() const { return pid_ != 0; }    // a child exists (possibly being stopped)
  bool restartPending() const { return state_ == State::Backoff; }
  int restartCount() const { return restartCount_; }  // automatic restarts after unexpected exits
  // The delay chosen for the pending (or last) automatic restart.
  std::chrono::milliseconds restartDelay() const { return restartDelay_; }
  // The last kOutputLines lines the current (or last) child wrote, joined by '\n' (only the
  // lines the spec's logFilter accepts, when it has one).
  std::string lastOutput() const;

 private:
  enum class State { Stopped, Running, Backoff, Stopping };

  Status spawnNow(bool automatic);
  void handleExit(pid_t pid, int waitStatus);
  void armTimer(std::chrono::milliseconds delay);
  void cancelTimer();
  void onTimer();
  void scheduleRestart();

  ProcessRunner& runner_;
  boost::asio::io_context& io_;
  ProcessSpec spec_;
  Options options_;
  boost::asio::steady_timer timer_;
  uint64_t timerGen_ = 0;
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // callbacks hold it weakly

  State state_ = State::Stopped;
  pid_t pid_ = 0;
  bool startAfterStop_ = false;
  std::vector<std::function<void()>> stopDone_;
  std::chrono::steady_clock::time_point startedAt_{};
  std::chrono::milliseconds backoff_;
  std::chrono::milliseconds restartDelay_{0};
  int restartCount_ = 0;
  std::deque<std::string> output_;

  std::function<void(pid_t)> onStarted_;
  std::function<void(int, bool)> onExited_;
  std::function<void(std::string_view)> onOutput_;
};

}  // namespace tetherd
