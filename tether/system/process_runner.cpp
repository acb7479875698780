// PosixProcessRunner: children spawned with posix_spawn, their output read line by line and
// their exit learnt through a pidfd, all on the Asio loop (process.h).
#include "tether/system/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "tether/base/log.h"
#include "tether/system/pidfd.h"

extern char** environ;

namespace tetherd {

namespace asio = boost::asio;

namespace {

constexpr size_t kMaxLineBytes = 2048;  // longer child output lines are cut

// Variables that describe tetherd's own service and must not leak into a child.
bool privateEnv(std::string_view entry) {
  for (std::string_view prefix : {"NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=",
                                  "WATCHDOG_USEC=", "WATCHDOG_PID=", "JOURNAL_STREAM="})
    if (entry.substr(0, prefix.size()) == prefix) return true;
  return false;
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
  std::function<bool(std::string_view)> logFilter;  // ProcessSpec::logFilter
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
  if (!c->logFilter || c->logFilter(line)) log::info(c->name, "[", c->pid, "]: ", line);
  else log::debug(c->name, "[", c->pid, "]: ", line);
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
  child->logFilter = spec.logFilter;
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

}  // namespace tetherd
