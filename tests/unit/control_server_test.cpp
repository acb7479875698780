// The control server on a real unix socket in a temporary directory, driven by real clients.
#include "tether/control/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "tether/control/command_table.h"
#include "tether/control/ctl_client.h"

using namespace tetherd;
using namespace tetherd::control;

namespace {

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("tetherd-cs-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    path = (dir / "ctl.sock").string();
    commands.add("ping", "ping", [](const Request&, const Responder& r) { r.finish(code::CommandOkay, "pong"); });
    commands.add("list", "list", [](const Request& req, const Responder& r) {
      for (const auto& a : req.args) r.line(code::InterfaceList, a);
      r.finish(code::CommandOkay, "done");
    });
    server = std::make_unique<ControlServer>(io, [this](const Request& r, const Responder& resp) { commands.dispatch(r, resp); },
                                             limits);
    ASSERT_TRUE(server->listenPath(path, ""));
    loop = std::thread([this] { io.run(); });
  }
  void TearDown() override {
    boost::asio::post(io, [this] { server->stop(); });
    work.reset();
    loop.join();
    server.reset();
    std::filesystem::remove_all(dir);
  }
  int rawConnect() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  static std::string readLine(int fd) {
    std::string out;
    char c;
    while (::read(fd, &c, 1) == 1) {
      if (c == '\n') return out;
      out += c;
    }
    return out;
  }
  static void sendAll(int fd, const std::string& s) { ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size())); }

  // Runs f on the server's loop and returns its result.
  template <class F>
  auto onLoop(F f) {
    std::promise<decltype(f())> p;
    boost::asio::post(io, [&] { p.set_value(f()); });
    return p.get_future().get();
  }
  // Polls pred (on the loop) every 10 ms for at most 5 s.
  template <class F>
  bool eventually(F pred) {
    for (int i = 0; i < 500; ++i) {
      if (onLoop(pred)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  int silentClient() {  // connected, a tiny receive buffer, never reads
    int fd = rawConnect();
    int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    return fd;
  }

  ServerLimits limits{256, 64 * 1024, 4u << 20};
  std::filesystem::path dir;
  std::string path;
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work = boost::asio::make_work_guard(io);
  CommandTable commands;
  std::unique_ptr<ControlServer> server;
  std::thread loop;
};

TEST_F(ControlServerTest, SocketIsNotWorldAccessible) {
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(ControlServerTest, PingAndListThroughTheClient) {
  ctl::Client c;
  ASSERT_TRUE(c.connect(path, 5000));
  auto o = c.call({"ping"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->final.code, 200);
  EXPECT_EQ(o->final.message, "pong");
  auto l = c.call({"list", "a b", "c"});
  ASSERT_TRUE(l);
  ASSERT_EQ(l->lines.size(), 2u);
  EXPECT_EQ(l->lines[0].message, "a b");
  EXPECT_EQ(l->final.message, "done");
}

// Regression (tests/fuzz/control_fuzzer): a word with a newline went out as is, so the daemon
// ran the rest of it as a second command and its replies answered the client's next call.
TEST_F(ControlServerTest, ClientRefusesWordsWithControlCharacters) {
  ctl::Client c;
  ASSERT_TRUE(c.connect(path, 5000));
  auto o = c.call({"list", "a\n1 list smuggled"});
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code, Errc::InvalidArgument);
  EXPECT_EQ(o.error().message, "word 2 contains a control character (newline, NUL, ...)");
  auto p = c.call({"ping"});  // nothing was sent: the next answer is the ping's own
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->lines.empty());
  EXPECT_EQ(p->final.message, "pong");
}

TEST_F(ControlServerTest, MalformedLinesGet5xxAndServiceContinues) {
  int fd = rawConnect();
  sendAll(fd, "1 ping \"unclosed\n");
  EXPECT_EQ(readLine(fd), "500 1 Unclosed quotes error");
  sendAll(fd, std::string("\x01\x02\xff junk\n"));
  EXPECT_EQ(readLine(fd).substr(0, 6), "500 0 ");
  sendAll(fd, "2 nosuch\n");
  EXPECT_EQ(readLine(fd), "500 2 Command not recognized: nosuch");
  sendAll(fd, "3 ping\n");
  EXPECT_EQ(readLine(fd), "200 3 pong");
  ::close(fd);
}

TEST_F(ControlServerTest, OverLongLineRefusedThenNextLineServed) {
  int fd = rawConnect();
  std::string huge = "5 ping " + std::string(3 * kMaxLineLength, 'x') + "\n6 ping\n";
  sendAll(fd, huge);
  EXPECT_EQ(readLine(fd), "500 5 Command too long");
  EXPECT_EQ(readLine(fd), "200 6 pong");
  ::close(fd);
}

TEST_F(ControlServerTest, VanishingClientMidLineHarmsNothing) {
  for (int i = 0; i < 20; ++i) {
    int fd = rawConnect();
    sendAll(fd, "7 pi");
    ::close(fd);
  }
  ctl::Client c;
  ASSERT_TRUE(c.connect(path, 5000));
  auto o = c.call({"ping"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->final.code, 200);
}

TEST_F(ControlServerTest, FiftyConcurrentClientsAllAnswered) {
  std::vector<std::future<int>> results;
  for (int i = 0; i < 50; ++i)
    results.push_back(std::async(std::launch::async, [this] {
      ctl::Client c;
      if (!c.connect(path, 10000)) return -1;
      auto o = c.call({"ping"});
      return o ? o->final.code : -2;
    }));
  for (auto& r : results) EXPECT_EQ(r.get(), 200);
}

TEST_F(ControlServerTest, ClientThatNeverReadsIsDroppedOthersServed) {
  int slow = rawConnect();
  int small = 4096;
  ::setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::string many;
  for (int i = 0; i < 4000; ++i) many += "1 list aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
  // Sent but replies never read: the server must bound its queue and drop this client.
  ::send(slow, many.data(), many.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ctl::Client c;
  ASSERT_TRUE(c.connect(path, 5000));
  auto o = c.call({"ping"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->final.code, 200);
  EXPECT_TRUE(eventually([this] { return server->stats().dropped == 1; }));
  EXPECT_TRUE(eventually([this] { return server->stats().queuedBytes < 16 * 1024; }));
  ::close(slow);
}

// The bounds: memory held (buffer capacity), per client and in total; few clients at once.
class ControlServerBoundsTest : public ControlServerTest {
 protected:
  ControlServerBoundsTest() { limits = ServerLimits{6, 64 * 1024, 160 * 1024}; }
};

// A monitor that never reads, during a burst of events: dropped once it holds 64 KiB, and
// what it held is counted and released.
TEST_F(ControlServerBoundsTest, MonitorThatNeverReadsIsDroppedAtItsBound) {
  int slow = silentClient();
  ASSERT_TRUE(eventually([this] { return server->clientCount() == 1; }));
  size_t most = onLoop([this] {
    size_t m = 0;
    for (int i = 0; i < 20000 && server->clientCount() == 1; ++i) {
      server->broadcast(code::InterfaceChange, "Iface linkstate usb0 up, with some padding to be realistic");
      m = std::max(m, server->stats().queuedBytes);
    }
    return m;
  });
  EXPECT_LE(most, limits.maxQueuedBytes);
  EXPECT_GT(most, limits.maxQueuedBytes / 2);  // it was really holding output
  auto st = onLoop([this] { return server->stats(); });
  EXPECT_EQ(st.clients, 0u);
  EXPECT_EQ(st.dropped, 1u);
  EXPECT_EQ(st.queuedBytes, 0u);
  ::close(slow);
}

// Five silent monitors together pass the total (160 KiB) before any passes its own 64 KiB:
// the biggest holders are dropped so that the total never stays above the limit; a client
// that reads is still served.
TEST_F(ControlServerBoundsTest, TotalOverAllClientsIsBounded) {
  std::vector<int> slow;
  for (int i = 0; i < 5; ++i) slow.push_back(silentClient());
  ASSERT_TRUE(eventually([this] { return server->clientCount() == 5; }));
  size_t most = onLoop([this] {
    size_t m = 0;
    for (int i = 0; i < 20000 && server->clientCount() > 0; ++i) {
      server->broadcast(code::InterfaceChange, "Iface linkstate usb0 up, with some padding to be realistic");
      m = std::max(m, server->stats().queuedBytes);
    }
    return m;
  });
  EXPECT_LE(most, limits.maxTotalQueuedBytes);
  auto st = onLoop([this] { return server->stats(); });
  EXPECT_EQ(st.clients, 0u);
  EXPECT_EQ(st.dropped, 5u);
  EXPECT_EQ(st.queuedBytes, 0u);
  for (int fd : slow) ::close(fd);
  ctl::Client c;
  ASSERT_TRUE(c.connect(path, 5000));
  auto o = c.call({"ping"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->final.code, 200);
}

// A client over the cap gets a clear refusal and is closed; once one leaves, a new one is served.
TEST_F(ControlServerBoundsTest, ClientsOverTheCapAreRefusedClearly) {
  std::vector<int> held;
  for (int i = 0; i < 6; ++i) held.push_back(rawConnect());
  ASSERT_TRUE(eventually([this] { return server->clientCount() == 6; }));
  int extra = rawConnect();
  EXPECT_EQ(readLine(extra), "500 0 Too many control clients (6); try again later");
  char c;
  EXPECT_EQ(::read(extra, &c, 1), 0);  // closed
  ::close(extra);
  EXPECT_EQ(onLoop([this] { return server->stats().refused; }), 1u);
  ::close(held.back());
  held.pop_back();
  ASSERT_TRUE(eventually([this] { return server->clientCount() == 5; }));
  int next = rawConnect();
  sendAll(next, "4 ping\n");
  EXPECT_EQ(readLine(next), "200 4 pong");
  ::close(next);
  for (int fd : held) ::close(fd);
}

TEST_F(ControlServerTest, BroadcastReachesMonitors) {
  int fd = rawConnect();
  sendAll(fd, "1 ping\n");
  EXPECT_EQ(readLine(fd), "200 1 pong");
  boost::asio::post(io, [this] { server->broadcast(code::InterfaceChange, "Iface added usb0"); });
  EXPECT_EQ(readLine(fd), "600 Iface added usb0");
  ::close(fd);
}

TEST_F(ControlServerTest, SecondServerOnSamePathRefused) {
  boost::asio::io_context io2;
  ControlServer other(io2, [](const Request&, const Responder&) {});
  auto st = other.listenPath(path, "");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("another tetherd"), std::string::npos);
}

}  // namespace
