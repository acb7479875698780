// LeaseWatch: inotify on state_dir for dnsmasq-<if>.leases.
#include "tether/core/lease_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tether/base/log.h"

namespace tetherd {

LeaseWatch::LeaseWatch(boost::asio::io_context& io, std::string dir, std::function<void()> changed)
    : fd_(io), timer_(io), dir_(std::move(dir)), changed_(std::move(changed)) {}

bool LeaseWatch::isLeaseFile(std::string_view name) { return name.starts_with("dnsmasq-") && name.ends_with(".leases"); }

Status LeaseWatch::start() {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return systemError("inotify_init1", errno);
  // dnsmasq rewrites its lease file in place (IN_MODIFY); a new or removed file counts too.
  if (inotify_add_watch(fd, dir_.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_TO) < 0) {
    const int err = errno;
    ::close(fd);
    return systemError("inotify watch on " + dir_, err);
  }
  fd_.assign(fd);
  read();
  return {};
}

void LeaseWatch::read() {
  fd_.async_read_some(boost::asio::buffer(buf_), [this](boost::system::error_code ec, size_t n) {
    if (ec) {
      if (ec != boost::asio::error::operation_aborted) log::warning("lease watch on ", dir_, ": ", ec.message());
      return;
    }
    bool lease = false;
    for (size_t off = 0; off + sizeof(inotify_event) <= n;) {
      inotify_event ev;
      std::memcpy(&ev, buf_.data() + off, sizeof(ev));
      if (ev.len > 0 && off + sizeof(inotify_event) + ev.len <= n) {
        const char* name = buf_.data() + off + sizeof(inotify_event);
        lease = lease || isLeaseFile(std::string_view(name, strnlen(name, ev.len)));
      }
      off += sizeof(inotify_event) + ev.len;
    }
    if (lease && !pending_) {
      pending_ = true;
      timer_.expires_after(kDelay);
      timer_.async_wait([this](boost::system::error_code tec) {
        pending_ = false;
        if (!tec) changed_();
      });
    }
    read();
  });
}

}  // namespace tetherd
