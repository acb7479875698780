#include "tether/system/process_supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "tether/base/files.h"
#include "tether/base/log.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

extern char** environ;

namespace tetherd {

namespace asio = boost::asio;

namespace {

constexpr size_t kMaxLineBytes = 2048;  // longer child output lines are cut

int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int pidfdSignal(int pidfd, int sig) { return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0)); }

// Variables that describe tetherd's own service and must not leak into a child.
bool privateEnv(std::string_view entry) {
  for (std::string_view prefix : {"NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=",
                                  "WATCHDOG_USEC=", "WATCHDOG_PID=", "JOURNAL_STREAM="})
    if (entry.substr(0, prefix.size()) == prefix) return true;
  return false;
}

// Wait until the pidfd reports the process gone, at most timeoutMs. True when it is.
bool waitGone(int pidfd, int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{pidfd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

std::string describeExit(int waitStatus) {
  if (WIFEXITED(waitStatus)) return "exited with status " + std::to_string(WEXITSTATUS(waitStatus));
  if (WIFSIGNALED(waitStatus)) {
    int sig = WTERMSIG(waitStatus);
    const char* name = ::strsignal(sig);
    std::string out = "killed by signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")";
    if (WCOREDUMP(waitStatus)) out += ", core dumped";
    return out;
  }
  return "ended with wait status " + std::to_string(waitStatus);
}

// ---------------------------------------------------------------------------------------
// PosixProcessRunner

struct PosixProcessRunner::Child {
  Child(asio::io_context& io, PosixProcessRunner* r, pid_t p, std::string n, int pidFd, int outFd)
      : runner(r), pid(p), name(std::move(n)), pidfd(io, pidFd), out(io, outFd) {}

  PosixProcessRunner* runner;
  pid_t pid;
  std::string name;
  asio::posix::stream_descriptor pidfd;  // readable once the child has exited
  asio::posix::stream_descriptor out;    // its stdout+stderr (non-blocking read end)
  std::string partial;                   // an unfinished line
  bool discarding = false;               // skipping the rest of an over-long line
  bool exited = false;                   // reaped; status valid
  bool detached = false;                 // exit delivered or runner gone: handlers do nothing
  int status = 0;
  ExitHandler exitHandler;
  OutputHandler outputHandler;
};

namespace {

using ChildPtr = std::shared_ptr<PosixProcessRunner::Child>;

void emitLine(const ChildPtr& c, std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  for (char& ch : line) {
    auto u = static_cast<unsigned char>(ch);
    if (ch == '\t') ch = ' ';
    else if (u < 0x20 || u == 0x7f) ch = '?';
  }
  log::info(c->name, "[", c->pid, "]: ", line);
  if (c->outputHandler) {
    auto handler = c->outputHandler;  // the handler may replace itself
    handler(line);
  }
}

void consume(const ChildPtr& c, const char* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    char ch = data[i];
    if (ch == '\n') {
      if (!c->discarding) emitLine(c, std::move(c->partial));
      c->partial.clear();
      c->discarding = false;
      continue;
    }
    if (c->discarding) continue;
    if (c->partial.size() >= kMaxLineBytes) {
      emitLine(c, std::move(c->partial) + " [line cut]");
      c->partial.clear();
      c->discarding = true;
      continue;
    }
    c->partial += ch;
  }
}

void closeOutput(const ChildPtr& c) {
  if (!c->partial.empty() && !c->discarding) emitLine(c, std::move(c->partial));
  c->partial.clear();
  c->discarding = false;
  boost::system::error_code ignored;
  c->out.close(ignored);
}

// Read what is there now. False when the pipe is finished (EOF or error) and closed.
bool drainOutput(const ChildPtr& c) {
  if (!c->out.is_open()) return false;
  std::array<char, 4096> buf;
  for (;;) {
    ssize_t n = ::read(c->out.native_handle(), buf.data(), buf.size());
    if (n > 0) {
      consume(c, buf.data(), static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    log::warning(c->name, "[", c->pid, "]: reading its output: ", std::strerror(errno));
    break;
  }
  closeOutput(c);
  return false;
}

// Readiness waits rather than async reads: no data is ever held inside Asio, so the final
// synchronous drain at exit keeps lines in order.
void waitOutput(const ChildPtr& c) {
  c->out.async_wait(asio::posix::stream_descriptor::wait_read, [c](const boost::system::error_code& ec) {
    if (c->detached || !c->out.is_open()) return;
    if (ec) {
      if (ec != asio::error::operation_aborted) closeOutput(c);
      return;
    }
    if (drainOutput(c)) waitOutput(c);
  });
}

}  // namespace

PosixProcessRunner::PosixProcessRunner(asio::io_context& io) : io_(io) {}

PosixProcessRunner::~PosixProcessRunner() {
  for (auto& [pid, c] : children_) {
    c->detached = true;
    if (!c->exited) {
      log::warning(c->name, "[", pid, "]: still running as tetherd lets go of it: killing it");
      pidfdSignal(c->pidfd.native_handle(), SIGKILL);
      int st = 0;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
    }
    boost::system::error_code ignored;
    c->pidfd.close(ignored);
    c->out.close(ignored);
  }
  children_.clear();
}

Result<pid_t> PosixProcessRunner::spawn(const ProcessSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/')
    return makeError(Errc::InvalidArgument, "spawn " + spec.name + ": argv[0] must be an absolute program path");
  const std::string what = "spawn " + spec.name + " (" + spec.argv[0] + ")";

  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) return systemError(what + ": pipe", errno);
  // Keep the write end off 0..2 (only possible if tetherd was started with them closed),
  // so that the child's dup2 onto 1 and 2 cannot clobber it.
  for (int& fd : pipeFds) {
    if (fd <= 2) {
      int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
      ::close(fd);
      fd = moved;
    }
  }
  if (pipeFds[0] < 0 || pipeFds[1] < 0) {
    int err = errno;
    if (pipeFds[0] >= 0) ::close(pipeFds[0]);
    if (pipeFds[1] >= 0) ::close(pipeFds[1]);
    return systemError(what + ": pipe", err);
  }
  // Only our end is non-blocking; the child's stays blocking so it never sees EAGAIN.
  ::fcntl(pipeFds[0], F_SETFL, ::fcntl(pipeFds[0], F_GETFL) | O_NONBLOCK);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // whatever lacked O_CLOEXEC

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);  // also undoes SIG_IGN (e.g. SIGPIPE)
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);

  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e)
    if (!privateEnv(*e)) envp.push_back(*e);
  envp.push_back(nullptr);

  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipeFds[1]);
  if (rc != 0) {
    ::close(pipeFds[0]);
    return systemError(what, rc);
  }

  int pidfd = pidfdOpen(pid);
  if (pidfd < 0) {
    int err = errno;
    ::kill(pid, SIGKILL);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    ::close(pipeFds[0]);
    return systemError(what + ": pidfd_open", err);
  }

  auto child = std::make_shared<Child>(io_, this, pid, spec.name, pidfd, pipeFds[0]);
  children_[pid] = child;
  child->pidfd.async_wait(asio::posix::stream_descriptor::wait_read, [child](const boost::system::error_code& ec) {
    if (child->detached || ec) return;
    child->runner->reap(child);
  });
  waitOutput(child);

  std::string cmd;
  for (const auto& a : spec.argv) cmd += (cmd.empty() ? "" : " ") + a;
  log::debug("spawned ", spec.name, "[", pid, "]: ", cmd);
  return pid;
}

void PosixProcessRunner::reap(const std::shared_ptr<Child>& c) {
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(c->pid, &st, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) {  // not yet (should not happen once the pidfd is readable): wait again
    c->pidfd.async_wait(asio::posix::stream_descriptor::wait_read, [c](const boost::system::error_code& ec) {
      if (c->detached || ec) return;
      c->runner->reap(c);
    });
    return;
  }
  if (r < 0) {
    log::warning(c->name, "[", c->pid, "]: reaped by someone else (", std::strerror(errno), "); exit status unknown");
    st = 255 << 8;
  }
  // Everything it wrote before exiting is in the pipe now: deliver it first, then close
  // (a grandchild still holding the pipe does not keep us waiting).
  drainOutput(c);
  closeOutput(c);
  boost::system::error_code ignored;
  c->pidfd.close(ignored);
  c->exited = true;
  c->status = st;
  log::debug(c->name, "[", c->pid, "]: ", describeExit(st));
  if (c->exitHandler) deliverExit(c);
}

void PosixProcessRunner::deliverExit(const std::shared_ptr<Child>& c) {
  c->detached = true;
  children_.erase(c->pid);
  auto handler = std::move(c->exitHandler);
  c->exitHandler = nullptr;
  c->outputHandler = nullptr;
  if (handler) handler(c->status);
}

Status PosixProcessRunner::signal(pid_t pid, int sig) {
  auto it = children_.find(pid);
  if (it == children_.end() || it->second->exited)
    return makeError(Errc::NotFound, "signal pid " + std::to_string(pid) + ": not a running child of tetherd");
  auto& c = it->second;
  if (pidfdSignal(c->pidfd.native_handle(), sig) != 0)
    return systemError("signal " + c->name + "[" + std::to_string(pid) + "] with " + std::to_string(sig), errno);
  return {};
}

void PosixProcessRunner::onExit(pid_t pid, ExitHandler handler) {
  auto it = children_.find(pid);
  if (it == children_.end()) {
    log::error("process runner: onExit for unknown pid ", pid);
    return;
  }
  auto c = it->second;
  c->exitHandler = std::move(handler);
  if (c->exited) {  // reaped before anyone asked: deliver from the loop, never re-entrantly
    asio::post(io_, [c] {
      if (!c->detached && c->exitHandler) c->runner->deliverExit(c);
    });
  }
}

void PosixProcessRunner::onOutput(pid_t pid, OutputHandler handler) {
  auto it = children_.find(pid);
  if (it == children_.end()) {
    log::error("process runner: onOutput for unknown pid ", pid);
    return;
  }
  it->second->outputHandler = std::move(handler);
}

// ---------------------------------------------------------------------------------------
// Stale children from a previous run

namespace {

// SIGTERM, then SIGKILL, to a process left over by a previous run; closes the pidfd.
Status stopStale(int pidfd, pid_t pid, const std::string& want, const std::string& from) {
  log::notice("stopping ", want, " (pid ", pid, ") left over from a previous run (", from, ")");
  bool gone = waitGone(pidfd, 0);  // already exited (a zombie)?
  if (!gone) {
    pidfdSignal(pidfd, SIGTERM);
    gone = waitGone(pidfd, 700);
  }
  if (!gone) {
    log::warning(want, " (pid ", pid, ") ignored SIGTERM; sending SIGKILL");
    pidfdSignal(pidfd, SIGKILL);
    gone = waitGone(pidfd, 300);
  }
  ::close(pidfd);
  if (!gone)
    return makeError(Errc::Timeout, "stale " + want + " (pid " + std::to_string(pid) + ", " + from +
                                        ") did not exit after SIGKILL");
  return {};
}

}  // namespace

Status killStalePidFile(const std::string& pidFile, const std::string& expectedComm) {
  auto text = readFile(pidFile, 64);
  if (!text) {
    if (text.error().code == Errc::NotFound) return {};
    return text.error();
  }
  auto removeFile = [&]() -> Status {
    if (::unlink(pidFile.c_str()) != 0 && errno != ENOENT) return systemError("remove stale pid file " + pidFile, errno);
    return {};
  };

  std::string_view t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ' || t.back() == '\r' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  long long pid = 0;
  bool valid = !t.empty() && t.size() <= 10;
  for (char ch : t) {
    if (ch < '0' || ch > '9') {
      valid = false;
      break;
    }
    pid = pid * 10 + (ch - '0');
  }
  // Never 0 or 1, never ourselves (or our process group, which 0/-1 would mean).
  if (!valid || pid <= 1 || pid > 4194304 || pid == ::getpid()) {
    log::warning("pid file ", pidFile, " does not hold a usable pid; removing it");
    return removeFile();
  }

  int pidfd = pidfdOpen(static_cast<pid_t>(pid));
  if (pidfd < 0) {
    if (errno == ESRCH) return removeFile();  // long gone
    return systemError("check pid " + std::to_string(pid) + " from " + pidFile, errno);
  }
  auto comm = readFile("/proc/" + std::to_string(pid) + "/comm", 64);
  // Still the same process as the one the pidfd holds? Then the comm was its own: a pid is
  // not reused while its process exists.
  bool same = comm.ok() && pidfdSignal(pidfd, 0) == 0;
  std::string name = comm.ok() ? *comm : "";
  if (!name.empty() && name.back() == '\n') name.pop_back();
  std::string want = expectedComm.substr(0, 15);
  if (!same) {
    ::close(pidfd);
    return removeFile();
  }
  if (name != want) {
    log::notice("pid file ", pidFile, ": pid ", pid, " is now '", name, "', not '", want, "'; leaving it alone");
    ::close(pidfd);
    return removeFile();
  }

  if (auto st = stopStale(pidfd, static_cast<pid_t>(pid), want, pidFile); !st) return st;
  return removeFile();
}

Status killStaleWithArgument(const std::string& expectedComm, const std::string& argument) {
  const std::string want = expectedComm.substr(0, 15);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == ::getpid()) continue;
    auto comm = readFile("/proc/" + name + "/comm", 64);
    if (!comm || *comm != want + "\n") continue;
    int pidfd = pidfdOpen(pid);
    if (pidfd < 0) continue;
    // Read through the pidfd's process: a pid is not reused while the pidfd holds it.
    auto cmdline = readFile("/proc/" + name + "/cmdline", 64 * 1024);
    bool ours = false;
    if (cmdline && pidfdSignal(pidfd, 0) == 0) {
      for (size_t at = 0; at < cmdline->size() && !ours;) {
        size_t end = cmdline->find('\0', at);
        if (end == std::string::npos) end = cmdline->size();
        ours = std::string_view(*cmdline).substr(at, end - at).starts_with(argument);
        at = end + 1;
      }
    }
    if (!ours) {
      ::close(pidfd);
      continue;
    }
    if (auto st = stopStale(pidfd, pid, want, "an argument starts with " + argument); !st) return st;
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// Supervisor

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
    output_.emplace_back(line);
    if (output_.size() > kOutputLines) output_.pop_front();
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
