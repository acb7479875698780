// trimWorkingSet(): drops tetherd's page-table entries for clean file pages (program and
// library text and read-only data), so its resident set at idle is what it touches from then
// on. Why: the kernel maps file pages 64 KiB around each fault ("fault-around"), so after
// start-up VmRSS holds most of every library tetherd ever called into (libc alone: 1.6 MiB),
// pages shared with every other process and kept in the page cache whatever tetherd does.
// Only private read-only file mappings without a private (copied-on-write) page are touched:
// MADV_DONTNEED on them loses nothing, a later access maps the same page-cache page again (a
// minor fault, no I/O). Writable mappings, RELRO pages (written once, copied), the heap, the
// stack and the vDSO are never touched. Linux only; a no-op where /proc/self/smaps is absent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tetherd {

struct MappingRange {
  uintptr_t start = 0;
  size_t length = 0;
  bool operator==(const MappingRange&) const = default;
};

// Pure: the ranges of /proc/self/smaps text that may be dropped (read-only, private, a file,
// no anonymous page, some pages resident).
std::vector<MappingRange> cleanFileMappings(std::string_view smaps);

// Drops them; returns the bytes of resident pages whose mapping was dropped (Rss of the ranges).
size_t trimWorkingSet();

}  // namespace tetherd
