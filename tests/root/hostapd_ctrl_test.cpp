// HostapdControl against a real hostapd (driver=wired on a veth, 802.1X with its own EAP
// server) inside the private network namespace made by root/main.cpp; real stations are
// wpa_supplicant in a network namespace of their own. A fake hostapd (a socket of the test's)
// covers what the real one cannot be made to do: oversized datagrams, events on the command
// socket, a refused ATTACH, thousands of stations.
//
// Every process the tests start dies with the test process (PR_SET_PDEATHSIG) and the
// stations' namespace is anonymous (it goes with its wpa_supplicant), so nothing can outlive
// a run, also when a test crashes.
#include "softap/hostapd/hostapd_ctrl.h"

#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/root/shell.h"

using namespace tetherd;
using tetherd::softap::HostapdControl;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

using roottest::sh;

constexpr const char* kApIf = "hcap0";     // hostapd's side of the veth
constexpr const char* kPeerIf = "hcsta0";  // the stations' side

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

size_t filesIn(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

long long msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

std::string tail(const std::string& text, size_t lines) {
  size_t at = text.size();
  for (size_t n = 0; at > 0 && n <= lines; ++n) at = text.rfind('\n', at - 1);
  return at == std::string::npos || at == 0 ? text : text.substr(at + 1);
}

// "aa:bb:cc:dd:ee:ff" of a link of this namespace (/sys still shows the initial namespace's).
std::string macOf(const std::string& ifname) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq req{};
  ifname.copy(req.ifr_name, IFNAMSIZ - 1);
  bool ok = fd >= 0 && ::ioctl(fd, SIOCGIFHWADDR, &req) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) return {};
  const auto* b = reinterpret_cast<const unsigned char*>(req.ifr_hwaddr.sa_data);
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
  return text;
}

// A child process of the test's: SIGKILLed and reaped when the object goes, and killed by the
// kernel should the test process die first.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { kill(); }

  // argv[0] absolute; stdout and stderr appended to `log`. ownNetns: the child first moves
  // into a new network namespace and waits for release() before it execs, so that links can
  // be moved into that namespace meanwhile.
  ::testing::AssertionResult start(const std::vector<std::string>& argv, const std::string& log, bool ownNetns) {
    kill();
    int ready[2], go[2];
    if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(go, O_CLOEXEC) != 0)
      return ::testing::AssertionFailure() << "pipe: " << std::strerror(errno);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return ::testing::AssertionFailure() << "fork: " << std::strerror(errno);
    if (pid == 0) {
      ::close(ready[0]);
      ::close(go[1]);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      if (ownNetns && ::unshare(CLONE_NEWNET) != 0) ::_exit(126);
      char c = 1;
      if (::write(ready[1], &c, 1) != 1 || ::read(go[0], &c, 1) != 1) ::_exit(125);
      int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (out < 0 || in < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(124);
      ::execv(args[0], args.data());
      ::_exit(123);
    }
    ::close(ready[1]);
    ::close(go[0]);
    pid_ = pid;
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    goFd_ = go[1];
    pollfd p{ready[0], POLLIN, 0};
    char c = 0;
    bool ok = ::poll(&p, 1, 5000) == 1 && ::read(ready[0], &c, 1) == 1;
    ::close(ready[0]);
    if (!ok || pidfd_ < 0) {
      kill();
      return ::testing::AssertionFailure() << "child " << argv[0] << " did not get ready";
    }
    if (!ownNetns) release();
    return ::testing::AssertionSuccess();
  }

  void release() {
    if (goFd_ < 0) return;
    char c = 1;
    [[maybe_unused]] auto n = ::write(goFd_, &c, 1);
    ::close(goFd_);
    goFd_ = -1;
  }

  pid_t pid() const { return pid_; }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  // Reaps it if it has exited within `limit`.
  bool waitExit(std::chrono::milliseconds limit) {
    if (pid_ <= 0) return true;
    pollfd p{pidfd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return false;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    forget();
    return true;
  }

  bool exited() const {
    if (pid_ <= 0) return true;
    pollfd p{pidfd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    forget();
  }

 private:
  void forget() {
    if (pidfd_ >= 0) ::close(pidfd_);
    if (goFd_ >= 0) ::close(goFd_);
    pid_ = 0;
    pidfd_ = goFd_ = -1;
  }

  pid_t pid_ = 0;
  int pidfd_ = -1;
  int goFd_ = -1;
};

// EAPOL-Start frames from made-up stations 02:00:00:00:<first>... 02:00:00:00:<first+count-1>,
// sent from `ifname` to the PAE group address: hostapd answers each with two events
// (CTRL-EVENT-EAP-STARTED and CTRL-EVENT-EAP-PROPOSED-METHOD).
::testing::AssertionResult injectEapolStarts(const std::string& ifname, int first, int count) {
  int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // protocol 0: sends only
  if (fd < 0) return ::testing::AssertionFailure() << "packet socket: " << std::strerror(errno);
  const std::array<unsigned char, 6> pae{0x01, 0x80, 0xc2, 0x00, 0x00, 0x03};
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_PAE);
  to.sll_ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
  to.sll_halen = 6;
  std::memcpy(to.sll_addr, pae.data(), pae.size());
  for (int i = first; i < first + count; ++i) {
    std::array<unsigned char, 60> frame{};
    std::memcpy(frame.data(), pae.data(), 6);
    const std::array<unsigned char, 6> src{0x02, 0, 0, 0, static_cast<unsigned char>(i >> 8),
                                           static_cast<unsigned char>(i & 0xff)};
    std::memcpy(frame.data() + 6, src.data(), 6);
    frame[12] = 0x88;  // ETH_P_PAE
    frame[13] = 0x8e;
    frame[14] = 1;  // 802.1X-2001
    frame[15] = 1;  // EAPOL-Start, body length 0
    if (::sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
      int err = errno;
      ::close(fd);
      return ::testing::AssertionFailure() << "send EAPOL-Start: " << std::strerror(err);
    }
  }
  ::close(fd);
  return ::testing::AssertionSuccess();
}

// A plain blocking-free socket bound at `path`, sending and receiving raw datagrams.
class RawSocket {
 public:
  RawSocket() = default;
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  ~RawSocket() { close(); }

  ::testing::AssertionResult bind(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un a = address(path);
    ::unlink(path.c_str());
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return ::testing::AssertionFailure() << "bind " << path << ": " << std::strerror(errno);
    path_ = path;
    return ::testing::AssertionSuccess();
  }
  bool connect(const std::string& path) {
    sockaddr_un a = address(path);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  bool send(std::string_view data) { return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) >= 0; }
  bool sendTo(const sockaddr_un& to, socklen_t len, std::string_view data) {
    return ::sendto(fd_, data.data(), data.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&to), len) >= 0;
  }
  // One datagram if there is one now (or within waitMs).
  std::optional<std::string> receive(int waitMs = 0) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, waitMs) != 1) return std::nullopt;
    std::string buf(8192, '\0');
    from_ = {};
    fromLen_ = sizeof from_;
    ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from_), &fromLen_);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
  // Answers the sender of the last datagram received.
  bool reply(std::string_view data) { return sendTo(from_, fromLen_, data); }
  const sockaddr_un& from() const { return from_; }
  socklen_t fromLen() const { return fromLen_; }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!path_.empty()) ::unlink(path_.c_str());
    path_.clear();
  }

 private:
  static sockaddr_un address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    return a;
  }

  int fd_ = -1;
  std::string path_;
  sockaddr_un from_{};
  socklen_t fromLen_ = 0;
};

// What a callback delivered; shared so that a late call never writes into a dead frame.
template <class T>
using Slot = std::shared_ptr<std::optional<T>>;

template <class T>
Slot<T> slot() {
  return std::make_shared<std::optional<T>>();
}

struct EventLog {
  std::vector<std::string> all;
  size_t count(std::string_view prefix) const {
    size_t n = 0;
    for (const auto& e : all) n += e.starts_with(prefix) ? 1 : 0;
    return n;
  }
  bool has(std::string_view prefix) const { return count(prefix) > 0; }
};

// The loop and the waits shared by all tests.
class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tetherd-hostapd-ctrl-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    clientDir_ = dir_ + "/client";
    ctrlDir_ = dir_ + "/ctrl";
    ASSERT_EQ(::mkdir(clientDir_.c_str(), 0700), 0);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Runs the loop until `done()` or the time limit. The loop turns in short slices, so that
  // conditions outside it (a fake hostapd's socket) are looked at too.
  template <class Pred>
  bool runUntil(Pred done, std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (!done()) {
      auto now = Clock::now();
      if (now >= deadline) return false;
      io_.restart();
      io_.run_one_for(std::min<Clock::duration>(deadline - now, 10ms));
    }
    return true;
  }

  // Runs the loop for a while, to see that nothing (more) happens.
  void runFor(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }

  ::testing::AssertionResult openClient(HostapdControl& c, std::chrono::milliseconds limit = 3s) {
    auto r = slot<Status>();
    c.open([r](Status s) { r->emplace(std::move(s)); });
    if (!runUntil([&] { return r->has_value(); }, limit)) return ::testing::AssertionFailure() << "open: no answer";
    if (!**r) return ::testing::AssertionFailure() << "open: " << (*r)->error().message;
    if (!c.isOpen()) return ::testing::AssertionFailure() << "open said ok but isOpen() is false";
    return ::testing::AssertionSuccess();
  }

  Result<std::string> call(HostapdControl& c, std::string command, std::chrono::milliseconds limit = 3s) {
    auto r = slot<Result<std::string>>();
    c.request(std::move(command), [r](Result<std::string> x) { r->emplace(std::move(x)); });
    if (!runUntil([&] { return r->has_value(); }, limit)) return makeError(Errc::Unsupported, "test: no callback in time");
    return std::move(**r);
  }

  Result<std::vector<std::string>> stationsOf(HostapdControl& c, std::chrono::milliseconds limit = 5s) {
    auto r = slot<Result<std::vector<std::string>>>();
    c.stations([r](Result<std::vector<std::string>> x) { r->emplace(std::move(x)); });
    if (!runUntil([&] { return r->has_value(); }, limit)) return makeError(Errc::Unsupported, "test: no callback in time");
    return std::move(**r);
  }

  // After close or loss: no socket files of the client's left, and no timer or wait left in
  // the loop (run() returns at once instead of waiting for a PING timer).
  void expectFullyClosed(const HostapdControl& c) {
    EXPECT_FALSE(c.isOpen());
    EXPECT_EQ(filesIn(clientDir_), 0u);
    io_.restart();
    auto t0 = Clock::now();
    io_.run();
    EXPECT_LT(msSince(t0), 100);
  }

  boost::asio::io_context io_;
  std::string dir_, clientDir_, ctrlDir_;
};

// ---------------------------------------------------------------------------------------
// A real hostapd on a veth.

class HostapdControlTest : public LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    ASSERT_FALSE(HasFatalFailure());
    ctrlPath_ = ctrlDir_ + "/" + kApIf;
    sh(std::string("ip link del ") + kApIf + " 2>/dev/null");
    ASSERT_EQ(sh(std::string("ip link add ") + kApIf + " type veth peer name " + kPeerIf), 0);
    ASSERT_EQ(sh(std::string("ip link set ") + kApIf + " up && ip link set " + kPeerIf + " up"), 0);
    peerMac_ = macOf(kPeerIf);
    ASSERT_EQ(peerMac_.size(), 17u);
    writeText(dir_ + "/eap_users", "\"user1\" MD5 \"secret1\"\n");
    std::string conf;
    conf += std::string("interface=") + kApIf + "\n";
    conf += "driver=wired\n";
    conf += "ctrl_interface=" + ctrlDir_ + "\n";
    conf += "ieee8021x=1\n";
    conf += "eap_server=1\n";
    conf += "eap_user_file=" + dir_ + "/eap_users\n";
    conf += "use_pae_group_addr=1\n";
    writeText(dir_ + "/hostapd.conf", conf);
    writeText(dir_ + "/wpa.conf",
              "ap_scan=0\n"
              "network={\n"
              "  key_mgmt=IEEE8021X\n"
              "  eap=MD5\n"
              "  identity=\"user1\"\n"
              "  password=\"secret1\"\n"
              "  eapol_flags=0\n"
              "}\n");
  }

  void TearDown() override {
    station_.kill();
    hostapd_.kill();
    sh(std::string("ip link del ") + kApIf + " 2>/dev/null");  // gone already if the station's namespace went
    if (HasFailure()) {
      std::fprintf(stderr, "--- hostapd.log (end)\n%s\n--- wpa.log (end)\n%s\n",
                   tail(readText(dir_ + "/hostapd.log"), 30).c_str(), tail(readText(dir_ + "/wpa.log"), 15).c_str());
    }
    LoopTest::TearDown();
  }

  // A request on a socket of the test's own, bypassing HostapdControl.
  std::optional<std::string> rawRequest(const std::string& command, int waitMs) {
    RawSocket probe;
    if (!probe.bind(dir_ + "/probe") || !probe.connect(ctrlPath_) || !probe.send(command)) return std::nullopt;
    return probe.receive(waitMs);
  }

  // Starts hostapd and waits until it answers PING (a stale socket of a killed one may sit
  // at ctrlPath meanwhile).
  ::testing::AssertionResult startHostapd() {
    auto started = hostapd_.start({"/usr/sbin/hostapd", dir_ + "/hostapd.conf"}, dir_ + "/hostapd.log", false);
    if (!started) return started;
    auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      if (rawRequest("PING", 200).value_or("") == "PONG\n") return ::testing::AssertionSuccess();
      if (hostapd_.exited()) return ::testing::AssertionFailure() << "hostapd exited";
      ::poll(nullptr, 0, 20);  // not up yet: look again shortly
    }
    return ::testing::AssertionFailure() << "hostapd did not answer PING within 5 s";
  }

  // wpa_supplicant on the peer end, moved into a namespace of its own.
  ::testing::AssertionResult startStation() {
    auto started = station_.start({"/usr/sbin/wpa_supplicant", "-D", "wired", "-i", kPeerIf, "-c", dir_ + "/wpa.conf"},
                                  dir_ + "/wpa.log", true);
    if (!started) return started;
    std::string pid = std::to_string(station_.pid());
    if (sh(std::string("ip link set ") + kPeerIf + " netns " + pid) != 0 ||
        sh("nsenter -t " + pid + " -n ip link set " + kPeerIf + " up") != 0)
      return ::testing::AssertionFailure() << "cannot move " << kPeerIf << " to the station's namespace";
    station_.release();
    return ::testing::AssertionSuccess();
  }

  // `stations` made-up stations knock (two events each), 20 frames every few milliseconds
  // while the loop runs: faster than hostapd could ever be read by a monitor that does not
  // keep up, slow enough for hostapd's packet socket not to drop frames.
  ::testing::AssertionResult knock(int stations) {
    for (int first = 0; first < stations; first += 20) {
      auto sent = injectEapolStarts(kPeerIf, first, std::min(20, stations - first));
      if (!sent) return sent;
      runFor(3ms);
    }
    return ::testing::AssertionSuccess();
  }

  HostapdControl::Options fast(std::chrono::milliseconds requestTimeout, std::chrono::milliseconds pingInterval) {
    HostapdControl::Options o;
    o.requestTimeout = requestTimeout;
    o.pingInterval = pingInterval;
    return o;
  }

  std::string ctrlPath_;
  std::string peerMac_;
  Child hostapd_;
  Child station_;
};

TEST_F(HostapdControlTest, OpenAttachesPingsAndCloseLeavesNothing) {
  ASSERT_TRUE(startHostapd());
  HostapdControl c(io_, ctrlPath_, clientDir_);
  EXPECT_FALSE(c.isOpen());
  ASSERT_TRUE(openClient(c));
  EXPECT_EQ(filesIn(clientDir_), 2u);  // the command and the event socket
  for (const auto& e : std::filesystem::directory_iterator(clientDir_)) {
    EXPECT_TRUE(e.path().filename().string().starts_with("tetherd-ctrl-" + std::to_string(::getpid()) + "-"));
    EXPECT_EQ(e.status().permissions(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }

  auto pinged = slot<Status>();
  c.ping([pinged](Status s) { pinged->emplace(std::move(s)); });
  EXPECT_FALSE(pinged->has_value());  // never from inside the call
  ASSERT_TRUE(runUntil([&] { return pinged->has_value(); }, 2s));
  EXPECT_TRUE(**pinged) << (*pinged)->error().message;

  auto again = slot<Status>();
  c.open([again](Status s) { again->emplace(std::move(s)); });
  ASSERT_TRUE(runUntil([&] { return again->has_value(); }, 1s));
  ASSERT_FALSE(**again);
  EXPECT_EQ((*again)->error().code, Errc::AlreadyExists);
  EXPECT_TRUE(c.isOpen());

  c.close();
  expectFullyClosed(c);
  c.close();  // again: nothing
  auto closed = call(c, "PING");
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, Errc::ServiceUnavail);
}

TEST_F(HostapdControlTest, StatusDisableEnableReloadAndUnknownCommand) {
  ASSERT_TRUE(startHostapd());
  HostapdControl c(io_, ctrlPath_, clientDir_);
  EventLog events;
  c.onEvent([&](std::string_view d) { events.all.emplace_back(d); });
  ASSERT_TRUE(openClient(c));

  auto status = call(c, "STATUS");
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_TRUE(status->starts_with("state=ENABLED\n")) << *status;

  auto r = call(c, "DISABLE");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "OK\n");
  ASSERT_TRUE(runUntil([&] { return events.has("<3>AP-DISABLED"); }, 2s));
  status = call(c, "STATUS");
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->starts_with("state=DISABLED\n")) << *status;

  r = call(c, "ENABLE");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "OK\n");
  ASSERT_TRUE(runUntil([&] { return events.has("<3>AP-ENABLED"); }, 2s));
  r = call(c, "ENABLE");  // enabled already
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "FAIL\n");

  r = call(c, "RELOAD");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "OK\n");

  r = call(c, "NO-SUCH-COMMAND");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "UNKNOWN COMMAND\n");

  // Requests queue up and are answered in order.
  std::vector<std::string> replies;
  for (const char* command : {"PING", "GET_CONFIG", "PING", "STA-FIRST"})
    c.request(command, [&](Result<std::string> x) { replies.push_back(x ? *x : "error: " + x.error().message); });
  ASSERT_TRUE(runUntil([&] { return replies.size() == 4; }, 3s));
  EXPECT_EQ(replies[0], "PONG\n");
  EXPECT_TRUE(replies[1].starts_with("bssid=")) << replies[1];
  EXPECT_EQ(replies[2], "PONG\n");
  EXPECT_EQ(replies[3], "");
}

TEST_F(HostapdControlTest, StationsEmptyWithoutStations) {
  ASSERT_TRUE(startHostapd());
  HostapdControl c(io_, ctrlPath_, clientDir_);
  ASSERT_TRUE(openClient(c));
  auto r = call(c, "STA-FIRST");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "");  // a zero-byte datagram
  auto list = stationsOf(c);
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_TRUE(list->empty());
}

TEST_F(HostapdControlTest, StationConnectsIsListedAndDeauthenticated) {
  ASSERT_TRUE(startHostapd());
  HostapdControl c(io_, ctrlPath_, clientDir_);
  EventLog events;
  c.onEvent([&](std::string_view d) { events.all.emplace_back(d); });
  ASSERT_TRUE(openClient(c));
  ASSERT_TRUE(startStation());

  const std::string connected = "<3>AP-STA-CONNECTED " + peerMac_;
  ASSERT_TRUE(runUntil([&] { return events.has(connected); }, 15s)) << "no " << connected;
  EXPECT_EQ(events.count(connected), 1u);

  auto list = stationsOf(c);
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].starts_with(peerMac_ + "\n")) << (*list)[0];
  EXPECT_NE((*list)[0].find("[AUTHORIZED]"), std::string::npos) << (*list)[0];

  auto r = call(c, "DEAUTHENTICATE " + peerMac_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "OK\n");
  ASSERT_TRUE(runUntil([&] { return events.has("<3>AP-STA-DISCONNECTED " + peerMac_); }, 3s));

  r = call(c, "STA-NEXT 02:00:00:00:99:99");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "FAIL\n");  // unknown MAC
}

TEST_F(HostapdControlTest, KilledHostapdIsLostAndReopenWorksAfterRestart) {
  ASSERT_TRUE(startHostapd());
  HostapdControl c(io_, ctrlPath_, clientDir_, fast(500ms, 300ms));
  auto lost = slot<Error>();
  c.onLost([lost](const Error& e) { lost->emplace(e); });
  ASSERT_TRUE(openClient(c));
  runFor(700ms);  // a few health PINGs answered: nothing lost
  EXPECT_FALSE(lost->has_value());
  EXPECT_TRUE(c.isOpen());

  hostapd_.signal(SIGKILL);
  ASSERT_TRUE(hostapd_.waitExit(2s));
  auto t0 = Clock::now();
  ASSERT_TRUE(runUntil([&] { return lost->has_value(); }, 3s));
  EXPECT_LT(msSince(t0), 1000);  // one PING interval and a refused send
  EXPECT_EQ((*lost)->code, Errc::ServiceUnavail) << (*lost)->message;
  expectFullyClosed(c);

  // The stale socket of the killed one is still there: open() must not hang on it.
  auto refused = slot<Status>();
  c.open([refused](Status s) { refused->emplace(std::move(s)); });
  ASSERT_TRUE(runUntil([&] { return refused->has_value(); }, 2s));
  ASSERT_FALSE(**refused);
  EXPECT_EQ((*refused)->error().code, Errc::ServiceUnavail) << (*refused)->error().message;
  EXPECT_EQ(filesIn(clientDir_), 0u);

  ASSERT_TRUE(startHostapd());
  EventLog events;
  c.onEvent([&](std::string_view d) { events.all.emplace_back(d); });
  ASSERT_TRUE(openClient(c));
  auto r = call(c, "DISABLE");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "OK\n");
  ASSERT_TRUE(runUntil([&] { return events.has("<3>AP-DISABLED"); }, 2s));  // attached to the new one
  runFor(700ms);
  EXPECT_TRUE(c.isOpen());
}

TEST_F(HostapdControlTest, TerminatingHostapdIsLostAtOnce) {
  ASSERT_TRUE(startHostapd());
  HostapdControl c(io_, ctrlPath_, clientDir_, fast(2000ms, 60000ms));  // no PING in time
  EventLog events;
  c.onEvent([&](std::string_view d) { events.all.emplace_back(d); });
  auto lost = slot<Error>();
  c.onLost([lost](const Error& e) { lost->emplace(e); });
  ASSERT_TRUE(openClient(c));

  auto t0 = Clock::now();
  hostapd_.signal(SIGTERM);
  ASSERT_TRUE(runUntil([&] { return lost->has_value(); }, 3s));
  EXPECT_LT(msSince(t0), 1000);
  EXPECT_TRUE(events.has("<3>CTRL-EVENT-TERMINATING"));
  EXPECT_EQ((*lost)->code, Errc::ServiceUnavail);
  EXPECT_NE((*lost)->message.find("terminating"), std::string::npos) << (*lost)->message;
  ASSERT_TRUE(hostapd_.waitExit(3s));
  expectFullyClosed(c);

  ASSERT_TRUE(startHostapd());
  ASSERT_TRUE(openClient(c));
  auto r = call(c, "PING");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "PONG\n");
}

// hostapd sends events with a blocking sendmsg() on its one control socket, and a datagram
// waiting at a monitor counts against that socket's send buffer (~208 KiB) until the monitor
// reads it: ~277 AP-ENABLED-sized events, or ~400 of the short EAP ones used here, and hostapd
// blocks in sock_alloc_send_pskb, answering nothing. 300 made-up stations make 600 events.
constexpr int kBurstStations = 300;

TEST_F(HostapdControlTest, BurstOfEventsNeverStallsHostapd) {
  ASSERT_TRUE(startHostapd());
  // One client counts the events; the other is attached with no handler at all: both drain.
  HostapdControl counting(io_, ctrlPath_, clientDir_);
  HostapdControl silent(io_, ctrlPath_, clientDir_);
  size_t eventCount = 0;
  counting.onEvent([&](std::string_view) { ++eventCount; });
  ASSERT_TRUE(openClient(counting));
  ASSERT_TRUE(openClient(silent));

  ASSERT_TRUE(knock(kBurstStations));
  // All of them unless hostapd's packet socket dropped a few frames; far more than a send
  // buffer holds in any case.
  runUntil([&] { return eventCount >= 2 * kBurstStations; }, 3s);
  EXPECT_GE(eventCount, 500u);
  auto t0 = Clock::now();
  for (auto* c : {&silent, &counting}) {
    auto r = call(*c, "PING", 1s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, "PONG\n");
  }
  EXPECT_LT(msSince(t0), 1000);

  // Every made-up station is there: a long STA-FIRST/STA-NEXT walk.
  auto list = stationsOf(counting);
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_GE(list->size(), 250u);
  EXPECT_LE(list->size(), static_cast<size_t>(kBurstStations));
  for (const auto& s : *list) EXPECT_TRUE(s.starts_with("02:00:00:00:")) << s.substr(0, 40);
}

// The control experiment for the test above: the same burst stalls hostapd when its monitor
// does not read, until that monitor goes away.
TEST_F(HostapdControlTest, SameBurstStallsHostapdWhenItsMonitorDoesNotRead) {
  ASSERT_TRUE(startHostapd());
  RawSocket deaf;
  ASSERT_TRUE(deaf.bind(dir_ + "/deaf-monitor"));
  ASSERT_TRUE(deaf.connect(ctrlPath_));
  ASSERT_TRUE(deaf.send("ATTACH"));
  auto attached = deaf.receive(1000);
  ASSERT_TRUE(attached && *attached == "OK\n");

  ASSERT_TRUE(knock(kBurstStations));
  EXPECT_EQ(rawRequest("PING", 1000).value_or("(no answer)"), "(no answer)") << "the burst is too small to prove anything";
  deaf.close();
  EXPECT_EQ(rawRequest("PING", 1000).value_or("(no answer)"), "PONG\n");
}

TEST_F(HostapdControlTest, RequestsTimeOutWhileHostapdIsStopped) {
  ASSERT_TRUE(startHostapd());
  HostapdControl c(io_, ctrlPath_, clientDir_, fast(300ms, 60000ms));
  EventLog events;
  c.onEvent([&](std::string_view d) { events.all.emplace_back(d); });
  auto lost = slot<Error>();
  c.onLost([lost](const Error& e) { lost->emplace(e); });
  ASSERT_TRUE(openClient(c));

  hostapd_.signal(SIGSTOP);
  auto t0 = Clock::now();
  auto r = call(c, "STATUS", 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Timeout) << r.error().message;
  EXPECT_GE(msSince(t0), 250);
  EXPECT_LT(msSince(t0), 1000);
  r = call(c, "GET_CONFIG", 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Timeout);
  EXPECT_TRUE(c.isOpen());
  EXPECT_EQ(filesIn(clientDir_), 2u);  // the replaced command socket's file went

  hostapd_.signal(SIGCONT);
  // hostapd now answers STATUS and GET_CONFIG to sockets that are gone: the next reply is
  // PING's own.
  r = call(c, "PING", 2s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "PONG\n");
  r = call(c, "DISABLE", 2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "OK\n");
  ASSERT_TRUE(runUntil([&] { return events.has("<3>AP-DISABLED"); }, 2s));  // still attached
  EXPECT_FALSE(lost->has_value());
}

TEST_F(HostapdControlTest, UnansweredHealthPingIsLost) {
  ASSERT_TRUE(startHostapd());
  HostapdControl c(io_, ctrlPath_, clientDir_, fast(300ms, 300ms));
  auto lost = slot<Error>();
  c.onLost([lost](const Error& e) { lost->emplace(e); });
  ASSERT_TRUE(openClient(c));
  hostapd_.signal(SIGSTOP);
  auto t0 = Clock::now();
  ASSERT_TRUE(runUntil([&] { return lost->has_value(); }, 3s));
  EXPECT_LT(msSince(t0), 1200);  // interval + timeout, and some slack
  EXPECT_EQ((*lost)->code, Errc::Timeout) << (*lost)->message;
  EXPECT_NE((*lost)->message.find("PING"), std::string::npos) << (*lost)->message;
  expectFullyClosed(c);
  hostapd_.signal(SIGCONT);
}

TEST_F(HostapdControlTest, PendingCallbacksGetAnErrorWhenDestroyed) {
  ASSERT_TRUE(startHostapd());
  auto c = std::make_unique<HostapdControl>(io_, ctrlPath_, clientDir_);
  ASSERT_TRUE(openClient(*c));
  hostapd_.signal(SIGSTOP);
  std::vector<Errc> codes;
  for (int i = 0; i < 3; ++i)
    c->request("STATUS", [&](Result<std::string> r) { codes.push_back(r ? Errc::Ok : r.error().code); });
  runFor(50ms);  // the first is sent, two wait
  EXPECT_TRUE(codes.empty());
  c.reset();
  EXPECT_EQ(codes, std::vector<Errc>(3, Errc::ServiceUnavail));
  EXPECT_EQ(filesIn(clientDir_), 0u);
  runFor(300ms);
  EXPECT_EQ(codes.size(), 3u);
  hostapd_.signal(SIGCONT);
}

TEST_F(HostapdControlTest, DestroyedFromInsideItsOwnCallbacks) {
  ASSERT_TRUE(startHostapd());

  {  // open's callback
    auto c = std::make_unique<HostapdControl>(io_, ctrlPath_, clientDir_);
    bool called = false;
    c->open([&](Status s) {
      EXPECT_TRUE(s);
      called = true;
      c.reset();
    });
    ASSERT_TRUE(runUntil([&] { return called; }, 2s));
    EXPECT_EQ(filesIn(clientDir_), 0u);
  }
  {  // a reply's callback, with another request waiting behind it
    auto c = std::make_unique<HostapdControl>(io_, ctrlPath_, clientDir_);
    ASSERT_TRUE(openClient(*c));
    int first = 0, second = 0;
    Errc secondCode = Errc::Ok;
    c->request("PING", [&](Result<std::string> r) {
      EXPECT_TRUE(r);
      ++first;
      c.reset();
    });
    c->request("PING", [&](Result<std::string> r) {
      ++second;
      secondCode = r ? Errc::Ok : r.error().code;
    });
    ASSERT_TRUE(runUntil([&] { return first == 1; }, 2s));
    EXPECT_EQ(second, 1);  // failed by the destructor, not later
    EXPECT_EQ(secondCode, Errc::ServiceUnavail);
    runFor(100ms);
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second, 1);
  }
  {  // an event's callback, with more events right behind it
    auto c = std::make_unique<HostapdControl>(io_, ctrlPath_, clientDir_);
    int events = 0;
    c->onEvent([&](std::string_view) {
      ++events;
      c.reset();
    });
    ASSERT_TRUE(openClient(*c));
    ASSERT_TRUE(injectEapolStarts(kPeerIf, 0, 20));
    ASSERT_TRUE(runUntil([&] { return events > 0; }, 2s));
    runFor(200ms);
    EXPECT_EQ(events, 1);
  }
  {  // stations()' callback
    auto c = std::make_unique<HostapdControl>(io_, ctrlPath_, clientDir_);
    ASSERT_TRUE(openClient(*c));
    bool called = false;
    c->stations([&](Result<std::vector<std::string>> r) {
      EXPECT_TRUE(r);
      called = true;
      c.reset();
    });
    ASSERT_TRUE(runUntil([&] { return called; }, 3s));
  }
  {  // onLost
    auto c = std::make_unique<HostapdControl>(io_, ctrlPath_, clientDir_);
    bool lost = false;
    c->onLost([&](const Error&) {
      lost = true;
      c.reset();
    });
    ASSERT_TRUE(openClient(*c));
    hostapd_.signal(SIGTERM);
    ASSERT_TRUE(runUntil([&] { return lost; }, 3s));
    runFor(100ms);
  }
  EXPECT_EQ(filesIn(clientDir_), 0u);
  io_.restart();
  auto t0 = Clock::now();
  io_.run();  // nothing left behind in the loop either
  EXPECT_LT(msSince(t0), 100);
}

// ---------------------------------------------------------------------------------------
// A fake hostapd: the test's own socket at the control path.

class FakeHostapdTest : public LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(::mkdir(ctrlDir_.c_str(), 0700), 0);
    ctrlPath_ = ctrlDir_ + "/fake0";
    ASSERT_TRUE(fake_.bind(ctrlPath_));
  }
  void TearDown() override {
    fake_.close();
    LoopTest::TearDown();
  }

  // The next datagram a client sends to the fake, running the loop meanwhile.
  std::optional<std::string> nextRequest(std::chrono::milliseconds limit = 2s) {
    std::optional<std::string> got;
    runUntil([&] { return (got = fake_.receive()).has_value(); }, limit);
    return got;
  }

  // Opens `c` against the fake; returns the event socket's address.
  ::testing::AssertionResult openAgainstFake(HostapdControl& c, sockaddr_un& eventAddr, socklen_t& eventLen) {
    auto r = slot<Status>();
    c.open([r](Status s) { r->emplace(std::move(s)); });
    auto attach = nextRequest();
    if (!attach || *attach != "ATTACH") return ::testing::AssertionFailure() << "no ATTACH";
    eventAddr = fake_.from();
    eventLen = fake_.fromLen();
    fake_.reply("OK\n");
    if (!runUntil([&] { return r->has_value(); }, 2s) || !**r) return ::testing::AssertionFailure() << "open failed";
    return ::testing::AssertionSuccess();
  }

  std::string ctrlPath_;
  RawSocket fake_;
};

TEST_F(FakeHostapdTest, EventsOnTheCommandSocketAndOversizedDatagrams) {
  HostapdControl c(io_, ctrlPath_, clientDir_);
  EventLog events;
  c.onEvent([&](std::string_view d) { events.all.emplace_back(d); });
  auto lost = slot<Error>();
  c.onLost([lost](const Error& e) { lost->emplace(e); });
  sockaddr_un eventAddr{};
  socklen_t eventLen = 0;
  ASSERT_TRUE(openAgainstFake(c, eventAddr, eventLen));

  auto reply = slot<Result<std::string>>();
  auto ask = [&](const std::string& command) {
    reply->reset();
    c.request(command, [reply](Result<std::string> r) { reply->emplace(std::move(r)); });
    auto got = nextRequest();
    EXPECT_EQ(got.value_or("(nothing)"), command);
  };

  // An event before the reply, on the command socket: an event, not the reply.
  ask("STATUS");
  fake_.reply("<3>AP-STA-CONNECTED 02:00:00:00:00:01");
  fake_.reply("state=ENABLED\n");
  ASSERT_TRUE(runUntil([&] { return reply->has_value(); }, 2s));
  ASSERT_TRUE(**reply);
  EXPECT_EQ(***reply, "state=ENABLED\n");
  EXPECT_EQ(events.all, std::vector<std::string>{"<3>AP-STA-CONNECTED 02:00:00:00:00:01"});

  // 4096 bytes is the most a reply may have; longer is an error, and the next reply is fine.
  ask("BIG");
  fake_.reply(std::string(4096, 'a'));
  ASSERT_TRUE(runUntil([&] { return reply->has_value(); }, 2s));
  ASSERT_TRUE(**reply);
  EXPECT_EQ((**reply)->size(), 4096u);
  ask("HUGE");
  fake_.reply(std::string(4097, 'b'));
  ASSERT_TRUE(runUntil([&] { return reply->has_value(); }, 2s));
  ASSERT_FALSE(**reply);
  EXPECT_EQ((*reply)->error().code, Errc::SystemError);
  ask("PING");
  fake_.reply("PONG\n");
  ASSERT_TRUE(runUntil([&] { return reply->has_value(); }, 2s));
  ASSERT_TRUE(**reply);
  EXPECT_EQ(***reply, "PONG\n");

  // Requests: 4095 bytes go out whole; empty or longer are refused, from the loop.
  ask(std::string(4095, 'x'));
  fake_.reply("OK\n");
  ASSERT_TRUE(runUntil([&] { return reply->has_value(); }, 2s));
  for (const std::string& bad : {std::string(), std::string(4096, 'x')}) {
    reply->reset();
    c.request(bad, [reply](Result<std::string> r) { reply->emplace(std::move(r)); });
    EXPECT_FALSE(reply->has_value());
    ASSERT_TRUE(runUntil([&] { return reply->has_value(); }, 1s));
    ASSERT_FALSE(**reply);
    EXPECT_EQ((*reply)->error().code, Errc::InvalidArgument);
  }
  EXPECT_FALSE(fake_.receive(50).has_value());

  // An oversized event is dropped; the next one arrives.
  events.all.clear();
  ASSERT_TRUE(fake_.sendTo(eventAddr, eventLen, "<3>" + std::string(5000, 'e')));
  ASSERT_TRUE(fake_.sendTo(eventAddr, eventLen, "<3>AP-DISABLED "));
  ASSERT_TRUE(runUntil([&] { return !events.all.empty(); }, 2s));
  EXPECT_EQ(events.all, std::vector<std::string>{"<3>AP-DISABLED "});

  // Terminating, announced on the event socket.
  ASSERT_TRUE(fake_.sendTo(eventAddr, eventLen, "<3>CTRL-EVENT-TERMINATING "));
  ASSERT_TRUE(runUntil([&] { return lost->has_value(); }, 2s));
  EXPECT_EQ((*lost)->code, Errc::ServiceUnavail);
  auto detach = fake_.receive(500);  // the client said goodbye
  EXPECT_EQ(detach.value_or("(nothing)"), "DETACH");
  expectFullyClosed(c);
}

TEST_F(FakeHostapdTest, ReopenFromInsideOnLostAndRequestsOfTheOldSessionFail) {
  HostapdControl c(io_, ctrlPath_, clientDir_);
  sockaddr_un eventAddr{};
  socklen_t eventLen = 0;
  ASSERT_TRUE(openAgainstFake(c, eventAddr, eventLen));

  // A request of the old session waits for its reply when hostapd goes.
  auto old = slot<Result<std::string>>();
  c.request("STATUS", [old](Result<std::string> r) { old->emplace(std::move(r)); });
  ASSERT_EQ(nextRequest().value_or(""), "STATUS");

  int lostCount = 0;
  auto reopened = slot<Status>();
  c.onLost([&](const Error&) {
    ++lostCount;
    EXPECT_FALSE(c.isOpen());
    c.open([reopened](Status s) { reopened->emplace(std::move(s)); });
  });
  ASSERT_TRUE(fake_.sendTo(eventAddr, eventLen, "<3>CTRL-EVENT-TERMINATING "));
  std::optional<std::string> attach;
  ASSERT_TRUE(runUntil([&] { return (attach = fake_.receive()).has_value() && *attach == "ATTACH"; }, 2s));
  ASSERT_TRUE(old->has_value());
  ASSERT_FALSE(**old);
  EXPECT_EQ((*old)->error().code, Errc::ServiceUnavail);
  EXPECT_EQ(lostCount, 1);
  fake_.reply("OK\n");
  ASSERT_TRUE(runUntil([&] { return reopened->has_value(); }, 2s));
  ASSERT_TRUE(**reopened);
  EXPECT_TRUE(c.isOpen());
  EXPECT_EQ(filesIn(clientDir_), 2u);
  EXPECT_EQ(lostCount, 1);
}

TEST_F(FakeHostapdTest, OpenFailures) {
  HostapdControl::Options o;
  o.requestTimeout = 200ms;
  {  // nobody at the path
    HostapdControl c(io_, ctrlDir_ + "/nothing0", clientDir_, o);
    auto r = slot<Status>();
    c.open([r](Status s) { r->emplace(std::move(s)); });
    EXPECT_FALSE(r->has_value());
    ASSERT_TRUE(runUntil([&] { return r->has_value(); }, 1s));
    ASSERT_FALSE(**r);
    EXPECT_EQ((*r)->error().code, Errc::ServiceUnavail) << (*r)->error().message;
    expectFullyClosed(c);
  }
  {  // ATTACH refused
    HostapdControl c(io_, ctrlPath_, clientDir_, o);
    auto r = slot<Status>();
    c.open([r](Status s) { r->emplace(std::move(s)); });
    auto attach = nextRequest();
    ASSERT_EQ(attach.value_or(""), "ATTACH");
    fake_.reply("FAIL\n");
    ASSERT_TRUE(runUntil([&] { return r->has_value(); }, 1s));
    ASSERT_FALSE(**r);
    EXPECT_EQ((*r)->error().code, Errc::ServiceUnavail) << (*r)->error().message;
    expectFullyClosed(c);
  }
  {  // ATTACH unanswered; a request made while opening fails with it
    HostapdControl c(io_, ctrlPath_, clientDir_, o);
    auto r = slot<Status>();
    auto queued = slot<Result<std::string>>();
    c.open([r](Status s) { r->emplace(std::move(s)); });
    c.request("PING", [queued](Result<std::string> x) { queued->emplace(std::move(x)); });
    auto t0 = Clock::now();
    ASSERT_TRUE(runUntil([&] { return r->has_value(); }, 2s));
    EXPECT_GE(msSince(t0), 150);
    ASSERT_FALSE(**r);
    EXPECT_EQ((*r)->error().code, Errc::Timeout);
    ASSERT_TRUE(queued->has_value());
    EXPECT_EQ((*queued)->error().code, Errc::Timeout);
    while (fake_.receive()) {
    }
    expectFullyClosed(c);
  }
  {  // a directory path too long for a unix socket
    HostapdControl c(io_, ctrlPath_, "/tmp/" + std::string(120, 'd'), o);
    auto r = slot<Status>();
    c.open([r](Status s) { r->emplace(std::move(s)); });
    ASSERT_TRUE(runUntil([&] { return r->has_value(); }, 1s));
    ASSERT_FALSE(**r);
    EXPECT_EQ((*r)->error().code, Errc::InvalidArgument);
  }
}

TEST_F(FakeHostapdTest, StationsWalkStopsAtTheBound) {
  HostapdControl c(io_, ctrlPath_, clientDir_);
  sockaddr_un eventAddr{};
  socklen_t eventLen = 0;
  ASSERT_TRUE(openAgainstFake(c, eventAddr, eventLen));
  auto result = slot<Result<std::vector<std::string>>>();
  c.stations([result](Result<std::vector<std::string>> r) { result->emplace(std::move(r)); });

  auto macOf = [](unsigned i) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "02:00:00:00:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
    return std::string(buf);
  };
  unsigned asked = 0;
  std::string expected = "STA-FIRST";
  for (;;) {
    std::optional<std::string> got;
    runUntil([&] { return result->has_value() || (got = fake_.receive()).has_value(); }, 2s);
    if (!got) break;
    ASSERT_EQ(*got, expected);
    fake_.reply(macOf(asked) + "\nflags=[AUTHORIZED]\n");  // always one more
    expected = "STA-NEXT " + macOf(asked);
    ++asked;
  }
  ASSERT_TRUE(runUntil([&] { return result->has_value(); }, 1s));
  ASSERT_TRUE(**result);
  EXPECT_EQ((**result)->size(), HostapdControl::kMaxStations);
  EXPECT_EQ(asked, HostapdControl::kMaxStations);
  EXPECT_EQ((**result)->back(), macOf(2047) + "\nflags=[AUTHORIZED]\n");

  // A reply that is not a station ends the walk with an error.
  result->reset();
  c.stations([result](Result<std::vector<std::string>> r) { result->emplace(std::move(r)); });
  ASSERT_EQ(nextRequest().value_or(""), "STA-FIRST");
  fake_.reply("UNKNOWN COMMAND\n");
  ASSERT_TRUE(runUntil([&] { return result->has_value(); }, 1s));
  ASSERT_FALSE(**result);
}

}  // namespace
