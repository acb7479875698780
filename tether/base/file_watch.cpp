#include "tether/base/file_watch.h"

#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tether/base/log.h"

namespace tetherd {
namespace {

constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF |
                           IN_MOVE_SELF | IN_ONLYDIR;

std::pair<std::string, std::string> split(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

std::string join(const std::string& dir, const std::string& name) { return (dir == "/" ? "" : dir) + "/" + name; }

bool isSymlink(const std::string& path) { struct stat st {}; return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode); }

}  // namespace

FileWatch::FileWatch(boost::asio::io_context& io, std::function<void()> onChange)
    : onChange_(std::move(onChange)), stream_(io) {}

FileWatch::~FileWatch() {
  boost::system::error_code ec;
  stream_.close(ec);  // closes fd_ too (the stream owns it once assigned)
}

std::set<std::string> FileWatch::directories() const {
  std::set<std::string> out;
  for (const auto& [wd, dir] : dirs_) out.insert(dir);
  return out;
}

Status FileWatch::watch(const std::vector<std::string>& paths) {
  if (fd_ < 0) {
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) return makeError(Errc::ServiceUnavail, std::string("inotify_init1: ") + std::strerror(errno));
    stream_.assign(fd_);
  }
  paths_ = paths;
  rewatch();
  arm();
  return {};
}

// Every (directory, name) to watch: each path, and a symlink's final target.
void FileWatch::rewatch() {
  std::set<std::pair<std::string, std::string>> names;
  for (const auto& p : paths_) {
    names.insert(split(p));
    if (isSymlink(p)) {
      char buf[PATH_MAX];
      if (::realpath(p.c_str(), buf)) names.insert(split(buf));
    }
  }
  std::set<std::string> wantDirs;
  for (const auto& [dir, name] : names) wantDirs.insert(dir);
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    if (wantDirs.count(it->second)) {
      ++it;
      continue;
    }
    ::inotify_rm_watch(fd_, it->first);
    it = dirs_.erase(it);
  }
  const auto have = directories();
  for (const auto& dir : wantDirs) {
    if (have.count(dir)) continue;
    int wd = ::inotify_add_watch(fd_, dir.c_str(), kMask);
    if (wd < 0) {
      log::debug("watching ", dir, ": ", std::strerror(errno), " (not watched until the next change of settings)");
      continue;
    }
    dirs_[wd] = dir;
  }
  names_ = std::move(names);
}

void FileWatch::arm() {
  if (armed_ || fd_ < 0) return;
  armed_ = true;
  stream_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    armed_ = false;
    if (ec) return;  // closed (destroyed)
    onReadable();
  });
}

void FileWatch::onReadable() {
  alignas(inotify_event) char buf[8192];
  bool changed = false, lostDir = false;
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      changed = changed || (ev->mask & IN_Q_OVERFLOW);
      auto dir = dirs_.find(ev->wd);
      if (dir == dirs_.end()) continue;
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        lostDir = changed = true;
        if (ev->mask & IN_MOVE_SELF) ::inotify_rm_watch(fd_, dir->first);  // it has another name now
        if (ev->mask & (IN_IGNORED | IN_MOVE_SELF)) dirs_.erase(dir);
        continue;
      }
      if (ev->len == 0) continue;
      const std::string name(ev->name);
      if (!names_.count({dir->second, name})) continue;
      if ((ev->mask & IN_CREATE) && !isSymlink(join(dir->second, name))) continue;  // its close-write follows
      changed = true;
    }
  }
  if (changed || lostDir) rewatch();  // a re-pointed symlink, a re-created directory
  arm();
  if (changed && onChange_) onChange_();
}

}  // namespace tetherd
