// Who gets one of the page's connection slots: a pure decision over the connections open now,
// so that one client (or one downstream) flooding the page never locks the admin out.
//
//   - Loopback (127.0.0.0/8: the appliance itself, an SSH tunnel) has its own slots.
//   - Any other address holds at most `perAddress` connections.
//   - Of the `total` slots for other addresses, the last `reserved` are session-only: a
//     connection admitted there must show a live session cookie in its first request (the
//     server asks the page), else it gets a 503.
//   - When a pool is full, a connection that has not completed a request (its header or body
//     still coming: a client's take milliseconds) gives way to the newcomer: the oldest such one
//     of an address holding more than the newcomer's would, or of the session-only slots, or of
//     loopback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tetherd::web {

struct SlotPolicy {
  size_t total = 64;       // for addresses other than loopback, session-only slots included
  size_t reserved = 16;    // of those, kept for clients with a session
  size_t perAddress = 8;   // one address other than loopback
  size_t loopback = 16;    // loopback's own
};

// An open connection as the policy sees it.
struct SlotHolder {
  std::string peer;
  bool sessionOnly = false;     // admitted into the reserved slots
  bool awaitingRequest = false;  // its request (header or body) not complete
  uint64_t order = 0;           // accept order: lower is older
};

enum class Admission { Open, SessionOnly, Refuse };

struct SlotDecision {
  Admission admission = Admission::Refuse;
  std::optional<size_t> evict;  // index into the open connections: close it first
  std::string why;              // for Refuse: the 503's message
};

bool isLoopbackPeer(const std::string& peer);

SlotDecision admitConnection(const SlotPolicy& policy, const std::string& peer, const std::vector<SlotHolder>& open);

}  // namespace tetherd::web
