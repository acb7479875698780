// The real PosixProcessRunner and Supervisor with /bin/sh children on a real io_context.
// Every wait is for a condition with a deadline (run the loop until it holds), never a sleep.
#include "tether/system/process_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>

#include "tether/base/files.h"

using namespace tetherd;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

ProcessSpec sh(const std::string& name, const std::string& script) { return {name, {"/bin/sh", "-c", script}, {}}; }

bool processExists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

class SupervisorTest : public ::testing::Test {
 protected:
  // Run the loop until pred holds; false when the deadline passes first.
  bool runUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    while (!pred()) {
      auto now = Clock::now();
      if (now >= deadline) return false;
      io.restart();
      if (io.run_one_for(deadline - now) == 0 && io.stopped() && !pred()) {
        // Nothing left to run: pred can no longer change.
        return pred();
      }
    }
    return true;
  }

  Supervisor::Options fast() {
    Supervisor::Options o;
    o.initialBackoff = 50ms;
    o.maxBackoff = 200ms;
    o.stableAfter = 10s;
    o.stopTimeout = 2s;
    return o;
  }

  // No timer, wait or read is pending any more: the loop runs out of work at once
  // (completions of just-cancelled operations still run first).
  bool loopGoesIdle() {
    auto t0 = Clock::now();
    io.restart();
    io.run_for(2s);
    return Clock::now() - t0 < 1s;
  }

  void stopAndWait(Supervisor& s) {
    bool done = false;
    s.stop([&] { done = true; });
    ASSERT_TRUE(runUntil([&] { return done; }));
  }

  // Declared first so that it is destroyed last.
  boost::asio::io_context io;
  PosixProcessRunner runner{io};
};

TEST_F(SupervisorTest, StartsChildAndDetectsItsExit) {
  Supervisor s(runner, io, sh("exit3", "exit 3"), Supervisor::Options{1s, 5s, 10s, 2s});
  pid_t started = 0;
  int status = -1;
  bool willRestart = false;
  s.onStarted([&](pid_t p) { started = p; });
  s.onExited([&](int st, bool again) {
    status = st;
    willRestart = again;
  });
  ASSERT_TRUE(s.start());
  EXPECT_GT(started, 0);
  EXPECT_EQ(s.pid(), started);
  EXPECT_TRUE(s.running());
  ASSERT_TRUE(runUntil([&] { return status != -1; }));
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_TRUE(willRestart);
  EXPECT_FALSE(s.running());
  EXPECT_TRUE(s.restartPending());
  EXPECT_EQ(s.restartDelay(), 1s);
  EXPECT_FALSE(processExists(started));  // reaped: not even a zombie
  EXPECT_EQ(runner.childCount(), 0u);
  stopAndWait(s);
  EXPECT_FALSE(s.restartPending());
}

TEST_F(SupervisorTest, RestartsWithExponentialBackoff) {
  Supervisor s(runner, io, sh("crasher", "exit 1"), fast());
  std::vector<Clock::time_point> starts;
  std::vector<std::chrono::milliseconds> delays;
  s.onStarted([&](pid_t) { starts.push_back(Clock::now()); });
  s.onExited([&](int, bool again) {
    if (again) delays.push_back(s.restartDelay());
  });
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(runUntil([&] { return starts.size() >= 5; }));
  EXPECT_EQ(s.restartCount(), 4);
  ASSERT_GE(delays.size(), 4u);
  EXPECT_EQ(delays[0], 50ms);
  EXPECT_EQ(delays[1], 100ms);
  EXPECT_EQ(delays[2], 200ms);
  EXPECT_EQ(delays[3], 200ms);  // capped at maxBackoff
  // Timers never fire early: each gap is at least its delay.
  for (size_t i = 0; i + 1 < starts.size() && i < delays.size(); ++i)
    EXPECT_GE(starts[i + 1] - starts[i], delays[i]) << "restart " << i + 1;
  stopAndWait(s);
  EXPECT_FALSE(s.running());
}

TEST_F(SupervisorTest, BackoffStartsOverAfterStableUptime) {
  auto o = fast();
  o.stableAfter = 300ms;
  Supervisor s(runner, io, sh("flaky", "exit 1"), o);
  std::vector<std::chrono::milliseconds> delays;
  s.onExited([&](int, bool) { delays.push_back(s.restartDelay()); });
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(runUntil([&] { return delays.size() >= 3; }));
  EXPECT_EQ(delays[2], 200ms);
  // The next child lives longer than stableAfter: after it, the delay is back to the start.
  s.setSpec(sh("flaky", "echo up; exec sleep 0.4"));
  ASSERT_TRUE(runUntil([&] { return delays.size() >= 4; }));
  EXPECT_EQ(delays[3], 50ms);
  EXPECT_EQ(s.lastOutput(), "up");
  stopAndWait(s);
}

TEST_F(SupervisorTest, LogFilterKeepsTheLinesWorthReadingAndOnOutputSeesAll) {
  // A child in a verbose mode (hostapd -d): lastOutput() keeps what the filter accepts (what the
  // exit reason is read from), onOutput gets every line.
  ProcessSpec spec = sh("chatty", "echo 'debug: a'; echo 'Could not x'; echo 'debug: b'; exec sleep 100");
  spec.logFilter = [](std::string_view line) { return line.rfind("debug:", 0) != 0; };
  Supervisor s(runner, io, spec, fast());
  std::vector<std::string> seen;
  s.onOutput([&](std::string_view line) { seen.emplace_back(line); });
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(runUntil([&] { return seen.size() >= 3; }));
  EXPECT_EQ(seen, (std::vector<std::string>{"debug: a", "Could not x", "debug: b"}));
  EXPECT_EQ(s.lastOutput(), "Could not x");
  stopAndWait(s);
}

TEST_F(SupervisorTest, StopSendsSigtermAndReaps) {
  Supervisor s(runner, io, sh("sleeper", "echo ready; exec sleep 100"), fast());
  int status = -1;
  bool willRestart = true;
  s.onExited([&](int st, bool again) {
    status = st;
    willRestart = again;
  });
  ASSERT_TRUE(s.start());
  pid_t pid = s.pid();
  ASSERT_TRUE(runUntil([&] { return s.lastOutput() == "ready"; }));
  auto t0 = Clock::now();
  stopAndWait(s);
  EXPECT_LT(Clock::now() - t0, 1s);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_FALSE(willRestart);
  EXPECT_FALSE(s.running());
  EXPECT_EQ(s.pid(), 0);
  EXPECT_FALSE(processExists(pid));
  EXPECT_EQ(s.restartCount(), 0);
  EXPECT_TRUE(loopGoesIdle());
}

TEST_F(SupervisorTest, ChildIgnoringSigtermGetsSigkill) {
  auto o = fast();
  o.stopTimeout = 300ms;
  Supervisor s(runner, io, sh("stubborn", "trap '' TERM; echo ready; exec sleep 100"), o);
  int status = -1;
  s.onExited([&](int st, bool) { status = st; });
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(runUntil([&] { return s.lastOutput() == "ready"; }));
  auto t0 = Clock::now();
  stopAndWait(s);
  EXPECT_GE(Clock::now() - t0, 300ms);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(SupervisorTest, StopWhileWaitingToRestartCancelsIt) {
  Supervisor s(runner, io, sh("once", "exit 1"), Supervisor::Options{10s, 10s, 10s, 1s});
  int starts = 0;
  s.onStarted([&](pid_t) { ++starts; });
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(runUntil([&] { return s.restartPending(); }));
  stopAndWait(s);
  EXPECT_FALSE(s.restartPending());
  EXPECT_TRUE(loopGoesIdle());  // the 10 s timer is gone
  EXPECT_EQ(starts, 1);
}

TEST_F(SupervisorTest, OutputLinesCapturedInLastOutput) {
  Supervisor s(runner, io, sh("talker", "echo 'dnsmasq: bad option'; echo 'to stderr' >&2; printf 'no newline'; exit 4"),
               Supervisor::Options{10s, 10s, 10s, 1s});
  std::string atExit;
  s.onExited([&](int, bool) { atExit = s.lastOutput(); });
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(runUntil([&] { return !atExit.empty(); }));
  // Everything the child wrote is there by the time its exit is reported.
  EXPECT_EQ(atExit, "dnsmasq: bad option\nto stderr\nno newline");
  stopAndWait(s);
}

TEST_F(SupervisorTest, LastOutputKeepsTheLastTwentyLines) {
  Supervisor s(runner, io, sh("chatty", "i=1; while [ $i -le 30 ]; do echo line$i; i=$((i+1)); done; exit 1"),
               Supervisor::Options{10s, 10s, 10s, 1s});
  bool exited = false;
  s.onExited([&](int, bool) { exited = true; });
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(runUntil([&] { return exited; }));
  std::string expected;
  for (int i = 11; i <= 30; ++i) expected += (i == 11 ? "" : "\n") + ("line" + std::to_string(i));
  EXPECT_EQ(s.lastOutput(), expected);
  stopAndWait(s);
}

TEST_F(SupervisorTest, SignalReachesTheChild) {
  Supervisor s(runner, io, sh("hup", "trap 'echo got-hup' HUP; echo ready; while :; do sleep 0.05; done"), fast());
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(runUntil([&] { return s.lastOutput() == "ready"; }));
  ASSERT_TRUE(s.signal(SIGHUP));
  ASSERT_TRUE(runUntil([&] { return s.lastOutput() == "ready\ngot-hup"; }));
  EXPECT_EQ(s.restartCount(), 0);
  stopAndWait(s);
  auto st = s.signal(SIGHUP);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::NotFound);
}

TEST_F(SupervisorTest, RestartUsesTheNewSpecAtOnce) {
  Supervisor s(runner, io, sh("svc", "echo v1; exec sleep 100"), fast());
  std::vector<pid_t> pids;
  std::vector<bool> restarts;
  s.onStarted([&](pid_t p) { pids.push_back(p); });
  s.onExited([&](int, bool again) { restarts.push_back(again); });
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(runUntil([&] { return s.lastOutput() == "v1"; }));
  s.setSpec(sh("svc", "echo v2; exec sleep 100"));
  EXPECT_EQ(s.lastOutput(), "v1");  // the spec waits for the next start
  s.restart();
  ASSERT_TRUE(runUntil([&] { return s.lastOutput() == "v2"; }));
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_NE(pids[0], pids[1]);
  ASSERT_EQ(restarts.size(), 1u);
  EXPECT_TRUE(restarts[0]);
  EXPECT_EQ(s.restartCount(), 0);  // asked for, not an unexpected exit
  EXPECT_FALSE(processExists(pids[0]));
  stopAndWait(s);
}

TEST_F(SupervisorTest, StopFromExitCallbackPreventsRestart) {
  Supervisor s(runner, io, sh("giveup", "exit 2"), fast());
  int starts = 0;
  bool done = false;
  s.onStarted([&](pid_t) { ++starts; });
  s.onExited([&](int, bool) { s.stop([&] { done = true; }); });
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(runUntil([&] { return done; }));
  EXPECT_TRUE(loopGoesIdle());
  EXPECT_EQ(starts, 1);
  EXPECT_FALSE(s.restartPending());
}

TEST_F(SupervisorTest, MayBeDestroyedFromItsOwnCallbacks) {
  // From onExited after an unexpected exit (a restart was pending).
  auto a = std::make_unique<Supervisor>(runner, io, sh("a", "exit 1"), fast());
  a->onExited([&](int, bool) { a.reset(); });
  ASSERT_TRUE(a->start());
  ASSERT_TRUE(runUntil([&] { return a == nullptr; }));
  // From the stop callback, which runs as the child is reaped.
  auto b = std::make_unique<Supervisor>(runner, io, sh("b", "exec sleep 100"), fast());
  ASSERT_TRUE(b->start());
  b->stop([&] { b.reset(); });
  ASSERT_TRUE(runUntil([&] { return b == nullptr; }));
  EXPECT_TRUE(loopGoesIdle());
  EXPECT_EQ(runner.childCount(), 0u);
}

TEST_F(SupervisorTest, SpawnFailureIsReported) {
  Supervisor s(runner, io, {"missing", {"/nonexistent/tetherd-test-binary", "-x"}, {}}, fast());
  auto st = s.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("/nonexistent/tetherd-test-binary"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("No such file"), std::string::npos) << st.error().message;
  EXPECT_FALSE(s.running());
  EXPECT_FALSE(s.restartPending());
  Supervisor relative(runner, io, {"relative", {"sh", "-c", "true"}, {}}, fast());
  EXPECT_FALSE(relative.start());
}

TEST_F(SupervisorTest, DestroyingARunningSupervisorKillsItsChild) {
  pid_t pid = 0;
  {
    Supervisor s(runner, io, sh("orphan", "exec sleep 100"), fast());
    ASSERT_TRUE(s.start());
    pid = s.pid();
  }
  ASSERT_TRUE(runUntil([&] { return runner.childCount() == 0; }));
  EXPECT_FALSE(processExists(pid));
}

TEST_F(SupervisorTest, ChildGetsDevNullStdinAndOnlyStdio) {
  // A descriptor tetherd forgot to mark close-on-exec must not reach the child.
  int leaky = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  ASSERT_GE(leaky, 0);
  ::signal(SIGPIPE, SIG_IGN);  // inherited dispositions are reset in the child
  Supervisor s(runner, io,
               sh("hygiene", "readlink /proc/self/fd/0; ls /proc/self/fd | tr '\\n' ' '; echo; "
                             "grep -E '^(SigIgn|SigBlk)' /proc/self/status; exit 0"),
               Supervisor::Options{10s, 10s, 10s, 1s});
  bool exited = false;
  s.onExited([&](int, bool) { exited = true; });
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(runUntil([&] { return exited; }));
  ::close(leaky);
  ::signal(SIGPIPE, SIG_DFL);
  std::string out = s.lastOutput();
  EXPECT_EQ(out.rfind("/dev/null\n", 0), 0u) << out;
  // readlink, ls and grep are children of sh: ls sees 0 1 2 and its own directory fd 3.
  EXPECT_NE(out.find("\n0 1 2 3 \n"), std::string::npos) << out;
  // (Tabs in child output are logged as spaces.) No signal blocked; none of the standard
  // signals ignored. glibc's posix_spawn itself leaves its internal signals 32 and 33 ignored.
  EXPECT_NE(out.find("SigBlk: 0000000000000000"), std::string::npos) << out;
  auto ign = out.find("SigIgn: ");
  ASSERT_NE(ign, std::string::npos) << out;
  unsigned long long ignored = std::stoull(out.substr(ign + 8, 16), nullptr, 16);
  EXPECT_EQ(ignored & 0x7fffffffULL, 0u) << out;
  stopAndWait(s);
}

// --- stale children from a previous run -------------------------------------------------

class SupervisorStalePidFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tetherd-pid-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    pidFile = dir + "/dnsmasq-usb0.pid";
  }
  void TearDown() override {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    std::filesystem::remove_all(dir);
  }
  // A `sleep` process, as a previous tetherd would have left behind (here our own child, so
  // that the test can collect its status).
  pid_t startSleep(bool ignoreTerm, const std::string& seconds = "100") {
    int sync[2];
    EXPECT_EQ(::pipe2(sync, O_CLOEXEC), 0);
    pid_t p = ::fork();
    if (p == 0) {
      if (ignoreTerm) ::signal(SIGTERM, SIG_IGN);
      ::execl("/bin/sleep", "sleep", seconds.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // The write end closes when exec succeeds: from then on its comm is "sleep".
    ::close(sync[1]);
    char c;
    while (::read(sync[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::close(sync[0]);
    return p;
  }
  int reap() {
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    pid = 0;
    return status;
  }

  std::string dir, pidFile;
  pid_t pid = 0;
};

TEST_F(SupervisorStalePidFileTest, KillsMatchingProcessAndRemovesFile) {
  pid = startSleep(false);
  ASSERT_TRUE(writeFileAtomic(pidFile, std::to_string(pid) + "\n", 0644));
  auto st = killStalePidFile(pidFile, "sleep");
  ASSERT_TRUE(st) << st.error().message;
  int status = reap();
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_FALSE(std::filesystem::exists(pidFile));
}

TEST_F(SupervisorStalePidFileTest, SigkillsProcessIgnoringSigtermWithinOneSecond) {
  pid = startSleep(true);
  ASSERT_TRUE(writeFileAtomic(pidFile, std::to_string(pid), 0644));
  auto t0 = Clock::now();
  auto st = killStalePidFile(pidFile, "sleep");
  auto took = Clock::now() - t0;
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_LE(took, 1100ms);
  int status = reap();
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_FALSE(std::filesystem::exists(pidFile));
}

TEST_F(SupervisorStalePidFileTest, RefusesPidOfAnotherProgram) {
  pid = startSleep(false);  // the pid was "recycled" by sleep; we look for dnsmasq
  ASSERT_TRUE(writeFileAtomic(pidFile, std::to_string(pid) + "\n", 0644));
  ASSERT_TRUE(killStalePidFile(pidFile, "dnsmasq"));
  EXPECT_TRUE(processExists(pid));
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), 0);  // still running, not signalled
  EXPECT_FALSE(std::filesystem::exists(pidFile));  // the file was stale all the same
}

// Found by the fault suite: tetherd SIGKILLed while starting a child leaves it running before
// any pid file names it (hostapd never writes one in the foreground).
TEST_F(SupervisorStalePidFileTest, KillsByArgumentWhenNoPidFileNamesIt) {
  // An argument only this test's sleep has: its duration.
  const std::string seconds = std::to_string(900000 + ::getpid() % 90000) + ".25";
  pid = startSleep(false, seconds);
  ASSERT_TRUE(killStaleWithArgument("dnsmasq", seconds));  // another program: left alone
  ASSERT_TRUE(killStaleWithArgument("sleep", seconds + "9"));  // another argument: left alone
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), 0);
  auto st = killStaleWithArgument("sleep", seconds.substr(0, seconds.size() - 3));  // a prefix
  ASSERT_TRUE(st) << st.error().message;
  status = reap();
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

// Issue 15: the pid file is not trusted (dnsmasq's is owned by "nobody"): a process with the
// right name whose command line is not our instance survives; our own instance is stopped.
TEST_F(SupervisorStalePidFileTest, DecoyWithAnotherCommandLineSurvivesOursIsStopped) {
  const std::string base = std::to_string(800000 + ::getpid() % 90000);
  const std::string oursArg = base + ".5", decoyArg = base + ".75";
  pid_t decoy = startSleep(false, decoyArg);
  struct KillAtEnd {
    pid_t p;
    ~KillAtEnd() {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
  } decoyGuard{decoy};
  pid = startSleep(false, oursArg);
  auto ours = [&oursArg](const std::vector<std::string>& argv) { return argv.size() == 2 && argv[1] == oursArg; };
  // A pid file aimed at the decoy: removed, the decoy left alone.
  ASSERT_TRUE(writeFileAtomic(pidFile, std::to_string(decoy) + "\n", 0644));
  ASSERT_TRUE(killStalePidFile(pidFile, "sleep", ours));
  EXPECT_FALSE(std::filesystem::exists(pidFile));
  int status = 0;
  EXPECT_EQ(::waitpid(decoy, &status, WNOHANG), 0);
  // The scan by argument: both match the prefix, only ours is stopped.
  auto st = killStaleWithArgument("sleep", base + ".", ours);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(::waitpid(decoy, &status, WNOHANG), 0);
  status = reap();
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  // And through its pid file, our own instance is stopped.
  pid = startSleep(false, oursArg);
  ASSERT_TRUE(writeFileAtomic(pidFile, std::to_string(pid) + "\n", 0644));
  ASSERT_TRUE(killStalePidFile(pidFile, "sleep", ours));
  status = reap();
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_EQ(::waitpid(decoy, &status, WNOHANG), 0);  // survived all of it
}

TEST_F(SupervisorStalePidFileTest, MissingFileGoneProcessAndGarbageAreFine) {
  EXPECT_TRUE(killStalePidFile(pidFile, "dnsmasq"));  // no file
  for (const std::string& content : std::vector<std::string>{"", "abc\n", "-1\n", "1\n", "0", "99999999999", std::to_string(::getpid())}) {
    ASSERT_TRUE(writeFileAtomic(pidFile, content, 0644));
    auto st = killStalePidFile(pidFile, "unit_tests");
    EXPECT_TRUE(st) << content;
    EXPECT_FALSE(std::filesystem::exists(pidFile)) << content;
  }
  EXPECT_TRUE(processExists(::getpid()));
  // A process that is gone: its pid from a reaped child.
  pid = startSleep(false);
  pid_t dead = pid;
  ::kill(pid, SIGKILL);
  reap();
  ASSERT_TRUE(writeFileAtomic(pidFile, std::to_string(dead), 0644));
  EXPECT_TRUE(killStalePidFile(pidFile, "sleep"));
  EXPECT_FALSE(std::filesystem::exists(pidFile));
}

}  // namespace
