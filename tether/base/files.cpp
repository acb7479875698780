#include "tether/base/files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>

namespace tetherd {
namespace {

int retryOpen(const char* path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path, flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// The directory holding `path` ("." for a bare name), and the last component.
void splitPath(const std::string& path, std::string& dir, std::string& base) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) {
    dir = ".";
    base = path;
  } else {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
}

Status writeAll(int fd, std::string_view content, const std::string& what) {
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return systemError("write " + what, errno);
    }
    if (n == 0) return makeError(Errc::SystemError, "write " + what + ": no progress");
    p += n;
    left -= static_cast<size_t>(n);
  }
  return {};
}

// A fresh name for the temporary file, unlikely to collide; O_EXCL makes sure.
std::string tempName(const std::string& dir, const std::string& base) {
  static std::atomic<unsigned> counter{0};
  auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
  return (dir == "/" ? "" : dir) + "/." + base + ".tmp-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1)) + "-" + std::to_string(ticks % 1000000);
}

}  // namespace

Status writeFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  if (path.empty() || path.back() == '/')
    return makeError(Errc::InvalidArgument, "cannot write '" + path + "': not a file path");
  std::string dir, base;
  splitPath(path, dir, base);

  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = tempName(dir, base);
    // The final mode from the start; the umask can only take bits away (fixed below).
    fd = retryOpen(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
    if (fd < 0 && errno != EEXIST) return systemError("write " + path + ": create temporary file in " + dir, errno);
  }
  if (fd < 0) return systemError("write " + path + ": create temporary file in " + dir, EEXIST);

  auto fail = [&](Error e) -> Status {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  };
  if (::fchmod(fd, mode & 07777) != 0) return fail(systemError("write " + path + ": chmod", errno));
  if (auto st = writeAll(fd, content, path); !st) return fail(st.error());
  if (::fsync(fd) != 0) return fail(systemError("write " + path + ": fsync", errno));
  int rc = ::close(fd);
  fd = -1;
  if (rc != 0 && errno != EINTR) return fail(systemError("write " + path + ": close", errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(systemError("write " + path + ": rename", errno));

  // The rename is durable once the directory is; a failure here does not undo the replacement.
  int dfd = retryOpen(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dfd < 0) return systemError("write " + path + ": open directory " + dir + " for fsync", errno);
  int syncErr = ::fsync(dfd) != 0 ? errno : 0;
  ::close(dfd);
  if (syncErr != 0 && syncErr != EINVAL) return systemError("write " + path + ": fsync directory " + dir, syncErr);
  return {};
}

Result<std::string> readFile(const std::string& path, size_t maxBytes) {
  int fd = retryOpen(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
  if (fd < 0) {
    int err = errno;
    Error e = systemError("read " + path, err);
    if (err == ENOENT) e.code = Errc::NotFound;
    return e;
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return systemError("read " + path, err);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > maxBytes) {
      ::close(fd);
      return makeError(Errc::InvalidArgument, "read " + path + ": larger than " + std::to_string(maxBytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status ensureDir(const std::string& path, mode_t mode) {
  if (path.empty()) return makeError(Errc::InvalidArgument, "cannot create a directory with an empty path");
  // Walk the components, creating what is missing.
  size_t pos = 0;
  while (pos != std::string::npos) {
    size_t next = path.find('/', pos + 1);
    std::string part = path.substr(0, next);
    bool last = next == std::string::npos || path.find_first_not_of('/', next) == std::string::npos;
    pos = last ? std::string::npos : next;
    if (part.empty() || part == "/" || part.back() == '/') continue;

    struct stat st {};
    if (::stat(part.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return makeError(Errc::AlreadyExists, "directory " + path + ": " + part + " exists and is not a directory");
      continue;
    }
    if (errno != ENOENT) return systemError("directory " + path + ": stat " + part, errno);
    mode_t m = last ? (mode & 07777) : 0755;
    if (::mkdir(part.c_str(), m) != 0) {
      if (errno == EEXIST && ::stat(part.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;  // raced
      return systemError("create directory " + part, errno);
    }
    if (::chmod(part.c_str(), m) != 0) return systemError("chmod directory " + part, errno);
  }
  return {};
}

}  // namespace tetherd

namespace tetherd {

Result<std::optional<mode_t>> ensurePrivateDir(const std::string& path, mode_t mode) {
  if (auto st = ensureDir(path, mode); !st) return st.error();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return systemError("stat " + path, errno);
  const mode_t had = st.st_mode & 07777;
  if ((had & ~mode & 0777) == 0) return std::optional<mode_t>{};
  if ((had & S_ISVTX) || path.find_first_not_of('/') == std::string::npos)
    return makeError(Errc::InvalidArgument, path + " is a shared directory (sticky, or /): it cannot hold private files");
  if (::chmod(path.c_str(), had & mode) != 0) return systemError("chmod " + path, errno);
  return std::optional<mode_t>{had};
}

Status ensurePrivateFile(const std::string& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode);
  if (fd < 0) return systemError("open " + path, errno);
  struct stat st {};
  Status result;
  if (::fstat(fd, &st) != 0) result = systemError("stat " + path, errno);
  else if (!S_ISREG(st.st_mode)) result = makeError(Errc::AlreadyExists, path + " exists and is not a regular file");
  else if ((st.st_mode & 07777) != mode && ::fchmod(fd, mode) != 0) result = systemError("chmod " + path, errno);
  ::close(fd);
  return result;
}

std::optional<pid_t> leftoverOwnerPid(std::string_view name) {
  std::string_view rest;
  if (name.size() > 1 && name.front() == '.') {
    auto at = name.rfind(".tmp-");
    if (at == std::string_view::npos || at == 0) return std::nullopt;
    rest = name.substr(at + 5);
  } else if (name.rfind("tetherd-ctrl-", 0) == 0) {
    rest = name.substr(13);
  } else {
    return std::nullopt;
  }
  auto dash = rest.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash > 9) return std::nullopt;
  pid_t pid = 0;
  for (char c : rest.substr(0, dash)) {
    if (c < '0' || c > '9') return std::nullopt;
    pid = pid * 10 + (c - '0');
  }
  if (pid <= 0) return std::nullopt;
  return pid;
}

int removeLeftoversOfDeadProcesses(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    auto pid = leftoverOwnerPid(entry.path().filename().string());
    if (!pid || *pid == ::getpid()) continue;
    if (::kill(*pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
    if (::unlink(entry.path().c_str()) == 0) ++removed;
  }
  return removed;
}

}  // namespace tetherd
