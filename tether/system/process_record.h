// A child that rewrites its own argv and environ (dhcpcd: "dhcpcd: wan0 [ip6]") cannot be
// recognised in /proc after a crash of tetherd. So tetherd records it itself when it starts
// one: "<pid> <start time>\n" (the start time in clock ticks since boot, field 22 of
// /proc/<pid>/stat, which a recycled pid does not repeat), and the next run stops only a
// process that matches both and whose /proc/<pid>/exe is the expected binary.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tether/base/result.h"

namespace tetherd {

// Field 22 (starttime) of a /proc/<pid>/stat text; nullopt when malformed (the command name,
// field 2, may hold spaces and parentheses: the fields are counted after the last ')').
std::optional<uint64_t> procStatStartTime(std::string_view statText);

// Writes "<pid> <start time>\n" atomically (0644). Fails when /proc/<pid>/stat is unreadable.
Status recordChild(const std::string& path, pid_t pid);

// At start-up: stops the recorded process (SIGTERM, then SIGKILL; blocks at most ~1 s) when it
// still runs with the recorded start time and its exe is `exe` (symlinks resolved), then
// SIGKILLs what is left of its process group (helpers it forked, when it led its group), and
// removes the record in every case. A missing record is success.
// termWaitMs: how long it may take to exit after SIGTERM (dhcpcd gives its helpers up to 5 s).
Status killRecordedChild(const std::string& path, const std::string& exe, int termWaitMs = 700);

}  // namespace tetherd
