// Tests of the real adapters against the real kernel. The process first moves into a
// network namespace of its own, so its netfilter tables and links are private and
// vanish with it: nothing can leak onto the machine, also when a test fails.
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::testing::GTEST_FLAG(list_tests)) return RUN_ALL_TESTS();
  if (::geteuid() != 0) {
    std::fprintf(stderr, "root_tests: must run as root (CI runs as root); refusing to skip silently\n");
    return 1;
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    std::perror("root_tests: unshare(CLONE_NEWNET)");
    return 1;
  }
  if (std::system("ip link set lo up") != 0) return 1;
  return RUN_ALL_TESTS();
}
