// Prefix delegation at run time (pd_client.h) with a real io_context, inotify and a stand-in
// for dhcpcd (a shell script that sleeps): the hook's file, renamed into run_dir, becomes the
// delegation; a bad file keeps the last good one; EXPIRE6 drops it. And the stale-child record
// (process_record.h) that lets the next run stop a dhcpcd that rewrote its argv.
#include "tether/core/pd_client.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>

#include "tether/base/files.h"
#include "tether/system/process.h"
#include "tether/system/process_record.h"

using namespace tetherd;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

class PdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("pd_client_test." + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "run");
    config.runDir = (dir / "run").string();
    config.dhcpcdPath = (dir / "fake-dhcpcd").string();
    ASSERT_TRUE(writeFileAtomic(config.dhcpcdPath, "#!/bin/sh\nexec sleep 30\n", 0755));
  }
  void TearDown() override { fs::remove_all(dir); }

  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
      io.restart();
      io.run_one_for(50ms);
    }
    return done();
  }
  void hook(const std::string& text) {
    ASSERT_TRUE(writeFileAtomic(config.runDir + "/dhcpcd-pd.env", text, 0600));
  }

  fs::path dir;
  Config config;
  boost::asio::io_context io;
  PosixProcessRunner runner{io};
};

const char* kBound =
    "reason=BOUND6\ninterface=wan0\nnew_dhcp6_ia_pd1_prefix1=2001:db8:100::\nnew_dhcp6_ia_pd1_prefix1_length=56\n"
    "new_dhcp6_ia_pd1_prefix1_pltime=40\nnew_dhcp6_ia_pd1_prefix1_vltime=60\n";

}  // namespace

TEST_F(PdClientTest, TheHooksFileBecomesTheDelegationABadOneKeepsItAndExpireDropsIt) {
  DhcpcdPdClient pd(io, runner, config);
  ASSERT_TRUE(pd.watch());
  int changes = 0;
  pd.onChange([&] { ++changes; });
  pd.setUpstream("wan0");
  EXPECT_TRUE(fs::exists(config.runDir + "/dhcpcd-pd.conf"));
  EXPECT_TRUE(fs::exists(config.runDir + "/dhcpcd-hook"));
  EXPECT_TRUE(fs::exists(config.runDir + "/dhcpcd-pd.pid")) << "pid and start time recorded";

  const auto before = PdLease::Clock::now();
  hook(kBound);
  ASSERT_TRUE(runUntil([&] { return pd.lease().has_value(); }));
  EXPECT_EQ(pd.lease()->prefix.str(), "2001:db8:100::/56");
  EXPECT_GE(pd.lease()->validUntil, before + 60s);
  EXPECT_LE(pd.lease()->validUntil, PdLease::Clock::now() + 60s);
  EXPECT_GE(pd.lease()->preferredUntil, before + 40s);
  runUntil([] { return false; }, 200ms);
  EXPECT_EQ(changes, 1);

  hook("reason=BOUND6\ninterface=eth9\n");  // not the upstream it runs on: refused, kept
  runUntil([] { return false; }, 300ms);
  ASSERT_TRUE(pd.lease());
  EXPECT_EQ(pd.lease()->prefix.str(), "2001:db8:100::/56");
  EXPECT_EQ(changes, 1);

  hook("reason=EXPIRE6\ninterface=wan0\n");
  ASSERT_TRUE(runUntil([&] { return !pd.lease(); }));
  runUntil([] { return false; }, 100ms);
  EXPECT_EQ(changes, 2);

  bool stopped = false;
  pd.stop([&] { stopped = true; });
  ASSERT_TRUE(runUntil([&] { return stopped; }));
  EXPECT_FALSE(fs::exists(config.runDir + "/dhcpcd-pd.pid"));
}

TEST_F(PdClientTest, TakeParsesChoosesTheLongestValidAndIgnoresAStoppingDhcpcd) {
  DhcpcdPdClient pd(io, runner, config);
  const auto now = PdLease::Clock::now();
  EXPECT_TRUE(pd.take(kBound, now));
  EXPECT_FALSE(pd.lease()) << "no upstream: a stopping dhcpcd's last word";
  pd.setUpstream("wan0");
  auto st = pd.take("reason=NOPE\ninterface=wan0\n", now);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("reason"), std::string::npos) << st.error().message;
  ASSERT_TRUE(pd.take(std::string(kBound) +
                          "new_dhcp6_ia_pd1_prefix2=2001:db8:200::\nnew_dhcp6_ia_pd1_prefix2_length=56\n"
                          "new_dhcp6_ia_pd1_prefix2_pltime=80\nnew_dhcp6_ia_pd1_prefix2_vltime=120\n",
                      now));
  ASSERT_TRUE(pd.lease());
  EXPECT_EQ(pd.lease()->prefix.str(), "2001:db8:200::/56");
  EXPECT_EQ(pd.lease()->validUntil, now + 120s);
  pd.setUpstream("wan1");
  EXPECT_FALSE(pd.lease()) << "another upstream: another delegation";
  bool stopped = false;
  pd.stop([&] { stopped = true; });
  ASSERT_TRUE(runUntil([&] { return stopped; }));
}

TEST(ProcessRecord, StartTimeIsField22CountedAfterTheLastParenthesis) {
  EXPECT_EQ(procStatStartTime("42 (dhcpcd: [x) y]) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21"),
            std::optional<uint64_t>(987654));
  EXPECT_EQ(procStatStartTime("42 (x) S 1 2"), std::nullopt);
  EXPECT_EQ(procStatStartTime("no parenthesis"), std::nullopt);
}

TEST(ProcessRecord, ARecordedChildIsStoppedOnlyWhenItsExeMatches) {
  const std::string path = (fs::temp_directory_path() / ("process_record_test." + std::to_string(::getpid()))).string();
  auto spawnSleep = [] {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/usr/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  };
  pid_t pid = spawnSleep();
  ASSERT_GT(pid, 0);
  usleep(50000);  // exec'd
  ASSERT_TRUE(recordChild(path, pid));
  EXPECT_TRUE(killRecordedChild(path, "/bin/true")) << "another program: left alone";
  EXPECT_FALSE(fs::exists(path));
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "still running";
  ASSERT_TRUE(recordChild(path, pid));
  EXPECT_TRUE(killRecordedChild(path, "/usr/bin/sleep"));
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(killRecordedChild(path, "/usr/bin/sleep")) << "no record: nothing to do";
}
