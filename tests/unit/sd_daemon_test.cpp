// The systemd protocols without libsystemd: what systemd would receive and pass.
#include "tether/system/sd_daemon.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <string>

namespace {

using namespace tetherd;

int boundDatagramSocket(const std::string& path, bool abstract) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path + (abstract ? 1 : 0), path.data(), path.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), len), 0) << std::strerror(errno);
  return fd;
}

std::string receive(int fd) {
  char buf[256] = {};
  ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

TEST(SdDaemon, NotifySendsTheStateToNotifySocket) {
  const std::string path = (std::filesystem::temp_directory_path() / ("tetherd-notify-" + std::to_string(::getpid()))).string();
  ::unlink(path.c_str());
  int fd = boundDatagramSocket(path, false);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(systemd::notify("READY=1"));
  EXPECT_EQ(receive(fd), "READY=1");
  ::close(fd);
  ::unlink(path.c_str());

  const std::string name = "tetherd-notify-abstract-" + std::to_string(::getpid());
  fd = boundDatagramSocket(name, true);
  ::setenv("NOTIFY_SOCKET", ("@" + name).c_str(), 1);
  EXPECT_TRUE(systemd::notify("STOPPING=1"));
  EXPECT_EQ(receive(fd), "STOPPING=1");
  ::close(fd);

  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  EXPECT_FALSE(systemd::notify("READY=1"));
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(systemd::notify("READY=1")) << "not run by systemd: nothing to do";
}

TEST(SdDaemon, ListenFdsIsOursOnlyAndClearsTheVariables) {
  ::setenv("LISTEN_PID", std::to_string(::getpid() + 1).c_str(), 1);
  ::setenv("LISTEN_FDS", "1", 1);
  EXPECT_EQ(systemd::listenFds(), 0) << "another process's sockets";
  EXPECT_EQ(std::getenv("LISTEN_PID"), nullptr);
  EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr);
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "x", 1);
  EXPECT_EQ(systemd::listenFds(), -1);
  EXPECT_EQ(systemd::listenFds(), 0) << "unset now";
}

TEST(SdDaemon, IsListeningUnixStream) {
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_FALSE(systemd::isListeningUnixStream(s)) << "not listening";
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  const std::string name = "tetherd-listen-" + std::to_string(::getpid());
  std::memcpy(sa.sun_path + 1, name.data(), name.size());
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&sa), static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + 1)), 0);
  ASSERT_EQ(::listen(s, 1), 0);
  EXPECT_TRUE(systemd::isListeningUnixStream(s));
  int d = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  EXPECT_FALSE(systemd::isListeningUnixStream(d));
  int i = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::listen(i, 1), 0);
  EXPECT_FALSE(systemd::isListeningUnixStream(i)) << "not AF_UNIX";
  EXPECT_FALSE(systemd::isListeningUnixStream(0x7fff)) << "not an fd";
  for (int fd : {s, d, i}) ::close(fd);
}

}  // namespace
