// Atomic file replacement, bounded reads and directories, in a private temporary directory.
#include "tether/base/files.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

using namespace tetherd;
namespace fs = std::filesystem;

namespace {

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tetherd-files-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir, fs::perms::owner_all, ec);
    fs::remove_all(dir, ec);
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static mode_t modeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  // Names in the directory other than `keep` (left-over temporary files).
  std::vector<std::string> strays(const std::string& keep) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename() != keep) out.push_back(e.path().filename().string());
    return out;
  }

  std::string dir;
};

TEST_F(FilesTest, WritesContentWithExactModeWhateverTheUmask) {
  std::string path = dir + "/servers.conf";
  mode_t old = ::umask(0077);
  auto st = writeFileAtomic(path, "server=1.1.1.1\n", 0644);
  ::umask(old);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(slurp(path), "server=1.1.1.1\n");
  EXPECT_EQ(modeOf(path), 0644u);

  ASSERT_TRUE(writeFileAtomic(path, "secret", 0600));
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_TRUE(strays("servers.conf").empty());
}

// Issue 15: state_dir was 0755 (lease files, client MACs and hostnames, readable by anyone).
TEST_F(FilesTest, PrivateDirCreatedTightAndALooseOneTightened) {
  std::string state = dir + "/var/lib/tetherd";
  mode_t old = ::umask(0);
  auto made = ensurePrivateDir(state, 0750);
  ::umask(old);
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_FALSE(made->has_value());  // created, nothing to tighten
  EXPECT_EQ(modeOf(state), 0750u);
  ASSERT_EQ(::chmod(state.c_str(), 0755), 0);
  auto again = ensurePrivateDir(state, 0750);
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ(**again, 0755u);
  EXPECT_EQ(modeOf(state), 0750u);
  ASSERT_EQ(::chmod(state.c_str(), 0700), 0);  // tighter than asked: kept
  auto tight = ensurePrivateDir(state, 0750);
  ASSERT_TRUE(tight);
  EXPECT_FALSE(tight->has_value());
  EXPECT_EQ(modeOf(state), 0700u);
  // A shared sticky directory is refused, never changed.
  std::string shared = dir + "/shared";
  ASSERT_EQ(::mkdir(shared.c_str(), 01777), 0);
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
  auto refused = ensurePrivateDir(shared, 0750);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("shared directory"), std::string::npos);
  EXPECT_EQ(modeOf(shared), 01777u);
}

TEST_F(FilesTest, PrivateFileCreatedOrTightenedKeepingContentNeverThroughSymlink) {
  std::string leases = dir + "/dnsmasq-usb0.leases";
  ASSERT_TRUE(ensurePrivateFile(leases, 0600));
  EXPECT_EQ(modeOf(leases), 0600u);
  ASSERT_TRUE(writeFileAtomic(leases, "1 02:00:00:00:00:01 10.0.0.2 * *\n", 0644));
  ASSERT_TRUE(ensurePrivateFile(leases, 0600));
  EXPECT_EQ(modeOf(leases), 0600u);
  EXPECT_EQ(slurp(leases), "1 02:00:00:00:00:01 10.0.0.2 * *\n");
  std::string link = dir + "/link.leases";
  ASSERT_EQ(::symlink(leases.c_str(), link.c_str()), 0);
  EXPECT_FALSE(ensurePrivateFile(link, 0600));
  ASSERT_EQ(::mkdir((dir + "/d").c_str(), 0700), 0);
  EXPECT_FALSE(ensurePrivateFile(dir + "/d", 0600));
}

TEST_F(FilesTest, ReplacesExistingFileByRename) {
  std::string path = dir + "/state";
  ASSERT_TRUE(writeFileAtomic(path, "old content that is longer", 0644));
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  ASSERT_TRUE(writeFileAtomic(path, "new", 0644));
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(slurp(path), "new");
  EXPECT_NE(before.st_ino, after.st_ino);  // a new file took the name: readers see old or new, never half
  EXPECT_TRUE(strays("state").empty());
}

TEST_F(FilesTest, EmptyContentIsAFile) {
  std::string path = dir + "/empty";
  ASSERT_TRUE(writeFileAtomic(path, "", 0644));
  EXPECT_TRUE(fs::is_regular_file(path));
  EXPECT_EQ(fs::file_size(path), 0u);
}

TEST_F(FilesTest, MissingDirectoryFailsNamingPathAndCause) {
  std::string path = dir + "/no-such-dir/file";
  auto st = writeFileAtomic(path, "x", 0644);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::SystemError);
  EXPECT_NE(st.error().message.find(path), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("No such file or directory"), std::string::npos) << st.error().message;
}

TEST_F(FilesTest, FailedRenameLeavesTargetAndNoTemporary) {
  // The target is a non-empty directory: rename fails after the data was written.
  std::string path = dir + "/target";
  fs::create_directories(path + "/inside");
  auto st = writeFileAtomic(path, "data", 0644);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("rename"), std::string::npos) << st.error().message;
  EXPECT_TRUE(fs::is_directory(path + "/inside"));
  EXPECT_TRUE(strays("target").empty());
}

TEST_F(FilesTest, WriteFailureLeavesOldFileIntact) {
  // RLIMIT_FSIZE makes write() fail with EFBIG part-way, like a full disk would, without root.
  std::string path = dir + "/leases";
  ASSERT_TRUE(writeFileAtomic(path, "old lease data\n", 0644));

  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto oldHandler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto st = writeFileAtomic(path, std::string(64 * 1024, 'x'), 0644);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, oldHandler);

  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find(path), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("File too large"), std::string::npos) << st.error().message;
  EXPECT_EQ(slurp(path), "old lease data\n");
  EXPECT_TRUE(strays("leases").empty());
}

// Permissions are checked for real: as root (CI), the write is tried by a child that has
// dropped to nobody; as another user, by the test itself.
TEST_F(FilesTest, UnwritableDirectoryLeavesOldFile) {
  std::string path = dir + "/conf";
  ASSERT_TRUE(writeFileAtomic(path, "old", 0644));
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  if (::geteuid() != 0) {
    fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
    auto st = writeFileAtomic(path, "new", 0644);
    fs::permissions(dir, fs::perms::owner_all);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("Permission denied"), std::string::npos) << st.error().message;
  } else {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
      auto st = writeFileAtomic(path, "new", 0644);
      if (st) ::_exit(2);
      if (st.error().message.find("Permission denied") == std::string::npos) ::_exit(3);
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "check number " << WEXITSTATUS(status) << " failed in the child";
  }
  EXPECT_EQ(slurp(path), "old");
}

// ENOSPC for real: a 64 KiB tmpfs in a private mount namespace of a child process (root only).
TEST_F(FilesTest, FullFilesystemLeavesOldFileIntact) {
  // CI runs as root; elsewhere this test says plainly that it cannot run rather than skip.
  ASSERT_EQ(::geteuid(), 0u) << "needs root for a private tmpfs";
  std::string mnt = dir + "/small";
  fs::create_directories(mnt);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // No gtest in the child: report by exit code.
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(77);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(77);
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k") != 0) ::_exit(77);
    std::string path = mnt + "/leases";
    if (!writeFileAtomic(path, "old lease data\n", 0644)) ::_exit(2);
    auto st = writeFileAtomic(path, std::string(256 * 1024, 'x'), 0644);
    if (st) ::_exit(3);
    if (st.error().message.find("No space left on device") == std::string::npos) ::_exit(4);
    if (st.error().message.find(path) == std::string::npos) ::_exit(5);
    if (slurp(path) != "old lease data\n") ::_exit(6);
    int entries = 0;
    for (const auto& e : fs::directory_iterator(mnt)) entries += e.path().filename() == "leases" ? 0 : 1;
    if (entries != 0) ::_exit(7);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "check number " << WEXITSTATUS(status) << " failed in the child";
}

TEST_F(FilesTest, ReadFileBounded) {
  std::string path = dir + "/pid";
  ASSERT_TRUE(writeFileAtomic(path, "1234\n", 0644));
  auto r = readFile(path, 64);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "1234\n");
  auto exact = readFile(path, 5);
  ASSERT_TRUE(exact);
  auto big = readFile(path, 4);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("larger than 4 bytes"), std::string::npos) << big.error().message;
}

TEST_F(FilesTest, ReadMissingFileIsNotFound) {
  auto r = readFile(dir + "/absent", 64);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::NotFound);
  EXPECT_NE(r.error().message.find(dir + "/absent"), std::string::npos);
}

TEST_F(FilesTest, ReadProcFileWithoutSize) {
  auto r = readFile("/proc/self/comm", 64);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->empty());
}

TEST_F(FilesTest, EnsureDirCreatesNestedWithModeAndAcceptsExisting) {
  std::string path = dir + "/a/b/run";
  mode_t old = ::umask(0077);
  auto st = ensureDir(path, 0755);
  ::umask(old);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_EQ(modeOf(path), 0755u);
  EXPECT_EQ(modeOf(dir + "/a"), 0755u);

  ::chmod(path.c_str(), 0700);
  EXPECT_TRUE(ensureDir(path, 0755));
  EXPECT_EQ(modeOf(path), 0700u);  // an existing directory is left as it is
  EXPECT_TRUE(ensureDir(path + "/", 0755));
}

TEST_F(FilesTest, EnsureDirRefusesAFile) {
  std::string path = dir + "/file";
  ASSERT_TRUE(writeFileAtomic(path, "", 0644));
  auto st = ensureDir(path, 0755);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("not a directory"), std::string::npos) << st.error().message;
  EXPECT_FALSE(ensureDir(path + "/sub", 0755));
}

TEST(LeftoverFiles, OwnerPidOnlyFromOurOwnNames) {
  EXPECT_EQ(leftoverOwnerPid(".ip_forward.orig.tmp-5918-0-174516"), std::optional<pid_t>(5918));
  EXPECT_EQ(leftoverOwnerPid("tetherd-ctrl-5326-1"), std::optional<pid_t>(5326));
  EXPECT_EQ(leftoverOwnerPid("dnsmasq-usb0.pid"), std::nullopt);
  EXPECT_EQ(leftoverOwnerPid("downstream-addresses"), std::nullopt);
  EXPECT_EQ(leftoverOwnerPid(".tmp-12-0"), std::nullopt);           // no base name
  EXPECT_EQ(leftoverOwnerPid(".x.tmp-12a-0"), std::nullopt);          // not a number
  EXPECT_EQ(leftoverOwnerPid(".x.tmp--0"), std::nullopt);
  EXPECT_EQ(leftoverOwnerPid("tetherd-ctrl-0-1"), std::nullopt);
  EXPECT_EQ(leftoverOwnerPid("tetherd-ctrl-99999999999-1"), std::nullopt);  // overlong pid
  EXPECT_EQ(leftoverOwnerPid("tetherd-ctrl-42"), std::nullopt);
}

TEST_F(FilesTest, LeftoversOfDeadProcessesRemovedLiveOnesKept) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // a pid that no longer runs
  const std::string dead = std::to_string(child), self = std::to_string(::getpid());
  for (const std::string& n : {".leases.tmp-" + dead + "-0-1", "tetherd-ctrl-" + dead + "-2", ".leases.tmp-" + self + "-0-1",
                               "tetherd-ctrl-" + self + "-1", std::string("tetherd-ctrl-1-1"), std::string("keep.conf")})
    ASSERT_TRUE(writeFileAtomic(dir + "/" + n, "", 0600));
  EXPECT_EQ(removeLeftoversOfDeadProcesses(dir), 2);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  std::vector<std::string> kept{".leases.tmp-" + self + "-0-1", "keep.conf", "tetherd-ctrl-" + self + "-1",
                                "tetherd-ctrl-1-1"};  // pid 1 runs
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(left, kept);
  EXPECT_EQ(removeLeftoversOfDeadProcesses(dir + "/missing"), 0);
}

}  // namespace
