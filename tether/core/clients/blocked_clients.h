// The blocked-clients file (state_dir/blocked-clients): one MAC a line, written by tetherd
// (formatBlockedClients, 0600, replaced atomically) and read back at start
// (parseBlockedClients). Pure, so that the manager's loader and a fuzzer
// (tests/fuzz/blocked_fuzzer.cpp) run the same code.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tetherd {

struct BlockedClientsFile {
  std::set<std::string> macs;  // normalised unicast MACs, at most the limit given
  struct Bad {
    int line = 0;       // 1-based
    std::string cause;  // "'<text>' is not a MAC address", "... is a multicast address", "more than N ..."
    bool operator==(const Bad&) const = default;
  };
  std::vector<Bad> bad;  // in line order
  bool operator==(const BlockedClientsFile&) const = default;
};

// Lines are split on '\n'; an empty line or one starting with '#' is skipped; spaces, tabs and
// '\r' around a MAC are ignored (a hand-edited file). A line is taken only if blockClient would
// take it: a MAC address (any case) of a unicast station; a line after `maxMacs` different MACs
// is refused (named in `bad`). A refused line's text is quoted at most 32 bytes, control bytes
// as '?'.
BlockedClientsFile parseBlockedClients(std::string_view text, size_t maxMacs);

// The file's text: each MAC on its own line, in order.
std::string formatBlockedClients(const std::set<std::string>& macs);

}  // namespace tetherd
