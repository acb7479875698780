#include "tether/base/working_set.h"

#include <sys/mman.h>

#include <charconv>
#include <string>

#include "tether/base/files.h"

namespace tetherd {

namespace {

struct Parsed {
  MappingRange range;
  bool candidate = false;
  size_t rssKb = 0;
  bool anonymous = false;
};

bool hexRange(std::string_view s, uintptr_t& a, uintptr_t& b) {
  const auto dash = s.find('-');
  if (dash == std::string_view::npos) return false;
  auto r1 = std::from_chars(s.data(), s.data() + dash, a, 16);
  auto r2 = std::from_chars(s.data() + dash + 1, s.data() + s.size(), b, 16);
  return r1.ec == std::errc{} && r2.ec == std::errc{} && r1.ptr == s.data() + dash && r2.ptr == s.data() + s.size() && b > a;
}

size_t kbField(std::string_view line) {  // "Rss:                 123 kB"
  const auto colon = line.find(':');
  size_t i = colon == std::string_view::npos ? line.size() : colon + 1;
  while (i < line.size() && line[i] == ' ') ++i;
  size_t v = 0;
  std::from_chars(line.data() + i, line.data() + line.size(), v);
  return v;
}

std::vector<std::pair<MappingRange, size_t>> parse(std::string_view smaps) {
  std::vector<std::pair<MappingRange, size_t>> out;
  Parsed cur;
  auto finish = [&] {
    if (cur.candidate && !cur.anonymous && cur.rssKb > 0) out.emplace_back(cur.range, cur.rssKb * 1024);
    cur = Parsed{};
  };
  while (!smaps.empty()) {
    const auto nl = smaps.find('\n');
    const std::string_view line = smaps.substr(0, nl);
    smaps = nl == std::string_view::npos ? std::string_view{} : smaps.substr(nl + 1);
    // A mapping's header: "start-end perms offset dev inode [path]".
    const auto sp = line.find(' ');
    uintptr_t a = 0, b = 0;
    if (sp != std::string_view::npos && hexRange(line.substr(0, sp), a, b)) {
      finish();
      const std::string_view rest = line.substr(sp + 1);
      const std::string_view perms = rest.substr(0, 4);
      const auto slash = rest.find('/');  // a file's path (not [heap], [stack], [vdso], anonymous)
      cur.range = {a, static_cast<size_t>(b - a)};
      cur.candidate = perms.size() == 4 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && slash != std::string_view::npos;
      continue;
    }
    if (line.starts_with("Rss:")) cur.rssKb = kbField(line);
    // Any private or anonymous page (a COW copy, e.g. RELRO after relocation): never drop.
    else if (line.starts_with("Anonymous:") || line.starts_with("Private_Dirty:") || line.starts_with("Swap:")) {
      if (kbField(line) != 0) cur.anonymous = true;
    }
  }
  finish();
  return out;
}

}  // namespace

std::vector<MappingRange> cleanFileMappings(std::string_view smaps) {
  std::vector<MappingRange> out;
  for (const auto& [r, rss] : parse(smaps)) out.push_back(r);
  return out;
}

size_t trimWorkingSet() {
  auto text = readFile("/proc/self/smaps", 4 * 1024 * 1024);
  if (!text) return 0;
  size_t dropped = 0;
  for (const auto& [r, rss] : parse(*text)) {
    if (::madvise(reinterpret_cast<void*>(r.start), r.length, MADV_DONTNEED) == 0) dropped += rss;
  }
  return dropped;
}

}  // namespace tetherd
