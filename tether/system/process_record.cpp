#include "tether/system/process_record.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <filesystem>
#include <sstream>

#include "tether/base/files.h"
#include "tether/base/log.h"
#include "tether/system/pidfd.h"

namespace tetherd {

namespace {

std::optional<uint64_t> startTimeOf(pid_t pid) {
  auto text = readFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return std::nullopt;
  return procStatStartTime(*text);
}

bool gone(int pidfd, int timeoutMs) {
  pollfd p{pidfd, POLLIN, 0};
  int rc;
  do rc = ::poll(&p, 1, timeoutMs);
  while (rc < 0 && errno == EINTR);
  return rc > 0;
}

}  // namespace

std::optional<uint64_t> procStatStartTime(std::string_view text) {
  size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::istringstream in{std::string(text.substr(close + 1))};
  std::string field;
  for (int n = 3; n <= 22; ++n)  // fields 3 (state) .. 22 (starttime)
    if (!(in >> field)) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (ec != std::errc() || end != field.data() + field.size()) return std::nullopt;
  return v;
}

Status recordChild(const std::string& path, pid_t pid) {
  auto start = startTimeOf(pid);
  if (!start) return makeError(Errc::NotFound, "record child " + std::to_string(pid) + ": no /proc/<pid>/stat");
  return writeFileAtomic(path, std::to_string(pid) + " " + std::to_string(*start) + "\n", 0644);
}

Status killRecordedChild(const std::string& path, const std::string& exe, int termWaitMs) {
  auto text = readFile(path, 256);
  if (!text) return text.error().code == Errc::NotFound ? Status{} : Status{text.error()};
  ::unlink(path.c_str());
  std::istringstream in(*text);
  long long pidValue = 0;
  uint64_t start = 0;
  if (!(in >> pidValue >> start) || pidValue <= 1 || pidValue > 4194304)
    return makeError(Errc::InvalidArgument, path + ": not '<pid> <start time>'");
  const pid_t pid = static_cast<pid_t>(pidValue);
  int pidfd = pidfdOpen(pid);
  if (pidfd < 0) return {};  // gone
  std::error_code ec;
  auto want = std::filesystem::canonical(exe, ec);
  auto have = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  // Checked while the pidfd holds the process: a recycled pid fails the start time.
  if (startTimeOf(pid) != start || ec || have != want) {
    ::close(pidfd);
    return {};
  }
  log::notice("stopping ", exe, " (pid ", pid, ") left over from a previous run (", path, ")");
  bool done = gone(pidfd, 0);
  if (!done) {
    pidfdSignal(pidfd, SIGTERM);
    done = gone(pidfd, termWaitMs);
  }
  if (!done) {
    pidfdSignal(pidfd, SIGKILL);
    done = gone(pidfd, 300);
  }
  ::close(pidfd);
  if (done) ::kill(-pid, SIGKILL);  // helpers in its process group (dhcpcd's privilege separation)
  if (!done) return makeError(Errc::Timeout, "stale " + exe + " (pid " + std::to_string(pid) + ") did not exit after SIGKILL");
  return {};
}

}  // namespace tetherd
