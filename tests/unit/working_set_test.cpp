// trimWorkingSet (tether/base/working_set.h): which mappings of /proc/self/smaps may be
// dropped (read-only private file mappings without a private page), and that dropping them
// in this very process loses nothing.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "tether/base/files.h"
#include "tether/base/working_set.h"

using namespace tetherd;

namespace {
std::string mapping(const char* header, int rssKb, int anonKb, int dirtyKb = 0) {
  return std::string(header) + "\nSize:                100 kB\nRss:                 " + std::to_string(rssKb) +
         " kB\nPrivate_Dirty:       " + std::to_string(dirtyKb) + " kB\nAnonymous:           " + std::to_string(anonKb) +
         " kB\nSwap:                  0 kB\nVmFlags: rd mr mw me\n";
}
}  // namespace

TEST(WorkingSet, OnlyCleanReadOnlyPrivateFileMappingsAreDropped) {
  const std::string smaps =
      mapping("55d0c0000000-55d0c0010000 r--p 00000000 08:01 1234 /usr/sbin/tetherd", 64, 0) +
      mapping("55d0c0010000-55d0c0200000 r-xp 00010000 08:01 1234 /usr/sbin/tetherd", 1800, 0) +
      mapping("55d0c0300000-55d0c0304000 r--p 00300000 08:01 1234 /usr/sbin/tetherd", 16, 16, 16) +  // RELRO: copied
      mapping("55d0c0304000-55d0c0306000 rw-p 00304000 08:01 1234 /usr/sbin/tetherd", 8, 8, 8) +
      mapping("55d0c1000000-55d0c1100000 rw-p 00000000 00:00 0                          [heap]", 600, 600, 600) +
      mapping("7f0000000000-7f0000190000 r-xp 00028000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6", 1600, 0) +
      mapping("7f0000200000-7f0000210000 r--s 00000000 08:01 77 /some/shared/file", 64, 0) +
      mapping("7f0000300000-7f0000310000 r--p 00000000 08:01 98 /usr/lib/locale/C.utf8/LC_CTYPE", 0, 0) +  // none resident
      mapping("7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]", 8, 0);
  EXPECT_EQ(cleanFileMappings(smaps), (std::vector<MappingRange>{{0x55d0c0000000, 0x10000},
                                                                 {0x55d0c0010000, 0x1f0000},
                                                                 {0x7f0000000000, 0x190000}}));
  EXPECT_TRUE(cleanFileMappings("").empty());
  EXPECT_TRUE(cleanFileMappings("garbage\nRss: 5 kB\n").empty());
}

TEST(WorkingSet, TrimmingThisProcessLosesNothing) {
  static const char kConst[] = "read-only data stays readable";
  std::string before = kConst;
  const size_t dropped = trimWorkingSet();
  EXPECT_GT(dropped, 0u) << "this test binary's own text is resident, so some is dropped";
  // Code, read-only data, the C library and relocated pointers all still work.
  EXPECT_EQ(std::string(kConst), before);
  EXPECT_EQ(std::strlen(kConst), before.size());
  auto text = readFile("/proc/self/status", 64 * 1024);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("VmRSS"), std::string::npos);
  EXPECT_GT(trimWorkingSet() + 1, 0u);  // and again
}
