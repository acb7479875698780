#include "tether/app/idle_watch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace tetherd {

namespace {

class SysfsIdleTimerWatch final : public IdleTimerWatch {
 public:
  SysfsIdleTimerWatch(boost::asio::io_context& io, int fd, std::string path) : sd_(io, fd), path_(std::move(path)) {}

  Result<uint32_t> remaining() override {
    char buf[32];
    ssize_t n = ::pread(sd_.native_handle(), buf, sizeof buf - 1, 0);
    if (n < 0) return makeError(Errc::SystemError, "read " + path_ + ": " + std::strerror(errno));
    uint32_t left = 0;
    auto [next, ec] = std::from_chars(buf, buf + n, left);
    if (ec != std::errc()) return makeError(Errc::SystemError, path_ + ": not a number of seconds");
    return left;
  }

  void wait(std::function<void()> fired) override {
    sd_.async_wait(boost::asio::posix::stream_descriptor::wait_error,
                   [fired = std::move(fired)](boost::system::error_code ec) {
                     if (ec == boost::asio::error::operation_aborted) return;
                     fired();  // last: it may destroy this watch
                   });
  }

 private:
  boost::asio::posix::stream_descriptor sd_;
  std::string path_;
};

}  // namespace

Result<std::unique_ptr<IdleTimerWatch>> openIdleTimerWatch(boost::asio::io_context& io, const std::string& label,
                                                          const std::string& dir) {
  const std::string path = dir + "/" + label;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return makeError(Errc::SystemError, "open " + path + ": " + std::strerror(errno));
  auto w = std::make_unique<SysfsIdleTimerWatch>(io, fd, path);
  (void)w->remaining();  // reading marks the current notification as seen
  return std::unique_ptr<IdleTimerWatch>(std::move(w));
}

uint64_t netnsInode() {
  struct stat st {};
  if (::stat("/proc/self/ns/net", &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_ino);
}

}  // namespace tetherd
