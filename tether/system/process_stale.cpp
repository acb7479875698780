// Stopping children a previous tetherd left behind (process.h): killStalePidFile and
// killStaleWithArgument. Blocking; meant for start-up.
#include "tether/system/process.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "tether/base/files.h"
#include "tether/base/log.h"
#include "tether/system/pidfd.h"

namespace tetherd {

namespace {

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

// The process's argv from /proc/<pid>/cmdline (NUL-separated); empty when unreadable.
std::vector<std::string> readArgv(pid_t pid) {
  std::vector<std::string> argv;
  auto cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline", 64 * 1024);
  if (!cmdline) return argv;
  for (size_t at = 0; at < cmdline->size();) {
    size_t end = cmdline->find('\0', at);
    if (end == std::string::npos) end = cmdline->size();
    argv.emplace_back(*cmdline, at, end - at);
    at = end + 1;
  }
  return argv;
}

}  // namespace

Status killStalePidFile(const std::string& pidFile, const std::string& expectedComm, const ArgvMatch& isOurs) {
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
  // The pid file may have been written by someone else (dnsmasq's is owned by the user it
  // drops to): only our own instance, by its whole command line, is stopped.
  if (isOurs) {
    auto argv = readArgv(static_cast<pid_t>(pid));
    if (pidfdSignal(pidfd, 0) != 0 || !isOurs(argv)) {
      log::warning("pid file ", pidFile, ": pid ", pid, " is a ", want, " that tetherd did not start (",
                   argv.empty() ? std::string("no command line") : argv[0], "); leaving it alone");
      ::close(pidfd);
      return removeFile();
    }
  }

  if (auto st = stopStale(pidfd, static_cast<pid_t>(pid), want, pidFile); !st) return st;
  return removeFile();
}

Status killStaleWithArgument(const std::string& expectedComm, const std::string& argument, const ArgvMatch& isOurs) {
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
    auto argv = readArgv(pid);
    bool ours = !argv.empty() && pidfdSignal(pidfd, 0) == 0 &&
                std::any_of(argv.begin(), argv.end(), [&](const std::string& a) { return a.starts_with(argument); });
    if (ours && isOurs) ours = isOurs(argv);
    if (!ours) {
      ::close(pidfd);
      continue;
    }
    if (auto st = stopStale(pidfd, pid, want, "an argument starts with " + argument); !st) return st;
  }
  return {};
}

}  // namespace tetherd
