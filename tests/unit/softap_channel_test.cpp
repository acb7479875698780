// The travel router's channel follow (softap/service/softap_channel.cpp) when hostapd refuses
// CHAN_SWITCH (a driver without channel switch announcements): the AP is restarted on the new
// channel and the downtime reported. Over a fake ProcessRunner (hostapd "runs" while the test
// says so) and a fake hostapd control interface (a datagram socket of the test's at hostapd's
// ctrl path, answering as hostapd 2.10 does).
#include <stdlib.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/post.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "fakes.h"
#include "softap/service/softap_service.h"

using namespace tetherd;
using namespace tetherd::testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using Lines = std::vector<std::string>;

namespace {

// hostapd as a process: spawned, signalled (it exits at SIGTERM), reaped.
class FakeRunner : public ProcessRunner {
 public:
  explicit FakeRunner(asio::io_context& io) : io_(io) {}
  Lines spawned;  // argv joined by spaces
  Result<pid_t> spawn(const ProcessSpec& spec) override {
    std::string line;
    for (const auto& a : spec.argv) line += (line.empty() ? "" : " ") + a;
    spawned.push_back(line);
    return running_ = 4'000'000 + static_cast<pid_t>(spawned.size());  // beyond pid_max: never a real process
  }
  Status signal(pid_t pid, int sig) override {
    if (pid != running_) return makeError(Errc::NotFound, "no such child");
    if (sig == SIGTERM || sig == SIGKILL) {
      running_ = 0;
      asio::post(io_, [this, pid, sig] {
        if (auto it = exits_.find(pid); it != exits_.end()) it->second(sig);  // killed by sig
      });
    }
    return {};
  }
  void onExit(pid_t pid, ExitHandler handler) override { exits_[pid] = std::move(handler); }
  void onOutput(pid_t, OutputHandler) override {}

 private:
  asio::io_context& io_;
  pid_t running_ = 0;
  std::map<pid_t, ExitHandler> exits_;
};

// hostapd's control interface: every command recorded, answered like hostapd; CHAN_SWITCH
// refused ("FAIL", as hostapd answers when the driver cannot switch).
class FakeHostapdCtrl {
 public:
  FakeHostapdCtrl(asio::io_context& io, const std::string& path) : socket_(io, Protocol::endpoint(path)) { receive(); }
  Lines commands;
  int freq = 2412;
  bool acceptChanSwitch = false;  // a driver with channel switch announcements

 private:
  using Protocol = asio::local::datagram_protocol;
  std::string answer(const std::string& c) {
    if (c == "ATTACH" || c == "DETACH") return "OK\n";
    if (c == "PING") return "PONG\n";
    if (c == "STATUS") return "state=ENABLED\nfreq=" + std::to_string(freq) + "\n";
    if (c.rfind("CHAN_SWITCH ", 0) == 0 && acceptChanSwitch) return "OK\n";
    return "FAIL\n";  // CHAN_SWITCH refused, STA-FIRST (no stations)
  }
  void receive() {
    socket_.async_receive_from(asio::buffer(buf_), from_, [this](boost::system::error_code ec, size_t n) {
      if (ec) return;
      std::string c(buf_.data(), n);
      commands.push_back(c);
      auto reply = answer(c);
      socket_.send_to(asio::buffer(reply), from_, 0, ec);
      receive();
    });
  }
  Protocol::socket socket_;
  Protocol::endpoint from_;
  std::array<char, 4096> buf_{};
};

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class SoftApChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Short: hostapd's control socket path must fit a unix socket address (108 bytes).
    char name[] = "/tmp/tdch-XXXXXX";
    ASSERT_NE(::mkdtemp(name), nullptr);
    dir = name;
    config = testConfig(dir, {"wlan0"});
    config.softapInterface = "lo";  // exists; the wired driver needs no radio
    config.softapDriver = "wired";
    config.softapEapUserFile = (dir / "eap_users").string();
    config.hostapdPath = "/usr/sbin/hostapd";
    std::filesystem::create_directories(config.runDir + "/hostapd");
    std::filesystem::create_directories(config.stateDir);
    ctrl = std::make_unique<FakeHostapdCtrl>(io, config.runDir + "/hostapd/lo");
    ap = std::make_unique<softap::SoftApService>(
        io, runner, dhcp, config, nullptr, [this](const std::string& i) { ups.push_back(i); },
        [this](const std::string& i, const Error&) { downs.push_back(i); });
    auto loaded = ap->load();
    ASSERT_TRUE(loaded) << loaded.error().message;
  }
  void TearDown() override {
    ap.reset();
    ctrl.reset();
    std::filesystem::remove_all(dir);
  }
  // Runs the loop until pred holds (or 3 s).
  bool runUntil(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(10ms);
    }
    return pred();
  }
  std::string conf() { return readText(config.runDir + "/hostapd-lo.conf"); }
  size_t count(const std::string& command) { return std::count(ctrl->commands.begin(), ctrl->commands.end(), command); }

  std::filesystem::path dir;
  asio::io_context io;
  Config config;
  FakeRunner runner{io};
  FakeDhcp dhcp;
  std::unique_ptr<FakeHostapdCtrl> ctrl;
  std::unique_ptr<softap::SoftApService> ap;
  Lines ups, downs;
};

TEST_F(SoftApChannelTest, ChanSwitchRefusedRestartsTheApOnTheNewChannelAndReportsTheDowntime) {
  ap->shareRadio(true);
  std::optional<Status> followed;
  ap->followStation(2412, [&](Status st) { followed = st; });  // the station joined on channel 1
  ASSERT_TRUE(runUntil([&] { return followed.has_value(); }));
  ASSERT_TRUE(*followed);
  ASSERT_TRUE(ap->start("lo"));
  ASSERT_TRUE(runUntil([&] { return ups.size() == 1; })) << "the AP never came up";
  EXPECT_NE(conf().find("\nchannel=1\n"), std::string::npos) << conf();
  EXPECT_EQ(ap->apFreq(), 2412);
  EXPECT_FALSE(ap->followDowntimeMs());

  // The upstream AP moves to channel 6: CHAN_SWITCH, refused; hostapd restarted there.
  followed.reset();
  ap->followStation(2437, [&](Status st) { followed = st; });
  ASSERT_TRUE(runUntil([&] { return followed.has_value(); }));
  EXPECT_TRUE(*followed) << followed->error().message;
  EXPECT_EQ(count("CHAN_SWITCH 20 2437"), 1u);
  ASSERT_TRUE(runUntil([&] { return runner.spawned.size() == 2 && ups.size() == 2; }))
      << "hostapd not restarted (spawned " << runner.spawned.size() << ", enabled " << ups.size() << ")";
  EXPECT_EQ(runner.spawned[1], runner.spawned[0]);  // the same hostapd, on the rewritten conf
  EXPECT_EQ(downs, Lines{"lo"});                    // the restart took the AP down once
  EXPECT_NE(conf().find("\nchannel=6\n"), std::string::npos) << conf();
  EXPECT_EQ(ap->apFreq(), 2437);
  ASSERT_TRUE(ap->followDowntimeMs());
  EXPECT_GE(*ap->followDowntimeMs(), 0);
  EXPECT_LT(*ap->followDowntimeMs(), 3000);

  // The same channel again: nothing to do, no CHAN_SWITCH and no restart.
  followed.reset();
  ap->followStation(2437, [&](Status st) { followed = st; });
  ASSERT_TRUE(runUntil([&] { return followed.has_value(); }));
  EXPECT_TRUE(*followed);
  EXPECT_EQ(count("CHAN_SWITCH 20 2437"), 1u);
  EXPECT_EQ(runner.spawned.size(), 2u);
}

// hostapd accepting CHAN_SWITCH: no restart (the clients follow the announcement), and the
// conf says the new channel for a later restart by the supervisor.
TEST_F(SoftApChannelTest, ChanSwitchAcceptedNeedsNoRestart) {
  ctrl->acceptChanSwitch = true;
  ap->shareRadio(true);
  ap->followStation(2412, nullptr);
  ASSERT_TRUE(ap->start("lo"));
  ASSERT_TRUE(runUntil([&] { return ups.size() == 1; }));
  std::optional<Status> followed;
  ap->followStation(2437, [&](Status st) { followed = st; });
  ASSERT_TRUE(runUntil([&] { return followed.has_value(); }));
  EXPECT_TRUE(*followed);
  EXPECT_EQ(count("CHAN_SWITCH 20 2437"), 1u);
  io.restart();
  io.run_for(200ms);
  EXPECT_EQ(runner.spawned.size(), 1u);
  EXPECT_TRUE(downs.empty());
  EXPECT_EQ(ap->apFreq(), 2437);
  EXPECT_NE(conf().find("\nchannel=6\n"), std::string::npos) << conf();
  EXPECT_FALSE(ap->followDowntimeMs());
}

}  // namespace
