// The delegated /64s each downstream has announced to its clients, and until when the clients
// may hold an address in them (issue 12, RFC 9096). A /64 that is no longer the downstream's
// own (the delegation changed or was lost, IPv6 left pd for relay or nat66, or tetherd stopped
// and the next run is given another prefix) must still be announced, deprecated (preferred
// lifetime 0), until its valid lifetime ends: a client keeps an address preferred until told
// otherwise, and would keep choosing a source address that no longer routes.
//
// While dnsmasq runs, a router address set to preferred 0 is announced deprecated at once
// (applier.cpp, renumber6). A dnsmasq started later ignores an address that is deprecated
// already (its constructor skips IFACE_DEPRECATED, ipv6-facts.md section 3): so an announced
// /64 that comes back, after a restart of tetherd or of the downstream's dnsmasq, is put on the
// downstream with a short preferred lifetime (kRevivedPreferredSec) and its valid time left.
// The new dnsmasq finds it usable and announces it with at most that preferred time (the
// client deprecates it by itself when that ends), and the kernel deprecates it then, which
// dnsmasq sees and announces with preferred 0 until the valid time ends.
//
// Kept in state_dir (pd-announced) so that a clean restart, a crash and a reboot keep them;
// times there are wall-clock (Unix seconds), in memory steady (PdLease::Clock).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/ip6.h"
#include "tether/core/pd_subnets.h"

namespace tetherd {

struct AnnouncedPrefix {
  Ipv6Prefix address;                     // the router's own address in the /64 (<pfx>::1/64)
  PdLease::Clock::time_point validUntil;  // the clients' addresses in it are valid until then
  bool operator==(const AnnouncedPrefix&) const = default;
};
using AnnouncedPrefixes = std::map<std::string, std::vector<AnnouncedPrefix>>;  // per downstream

// A revived /64's preferred lifetime: long enough for the dnsmasq started right after to see it
// (tens of milliseconds), short enough that the clients deprecate it by themselves soon.
constexpr uint32_t kRevivedPreferredSec = 5;
// At most this many per downstream (the latest valid ends): each is an address on it.
constexpr size_t kMaxAnnouncedPerDownstream = 8;
// An infinite or absurd valid end is taken as this far away (as renumber6 does).
constexpr auto kMaxAnnouncedValid = std::chrono::hours(24 * 365);

// Adds `p` to `list`: the same address keeps the later valid end; past kMaxAnnouncedPerDownstream
// the earliest ending one goes. The list stays ordered by address.
void addAnnounced(std::vector<AnnouncedPrefix>& list, const AnnouncedPrefix& p);

// The state file: "<downstream> <address>/<length> <valid until, Unix seconds>\n" per entry,
// in name then address order; entries ended by `now` are left out. wallNow is the same instant
// on the system clock.
std::string formatAnnounced(const AnnouncedPrefixes& all, PdLease::Clock::time_point now,
                            std::chrono::system_clock::time_point wallNow);
// Its parse: ended entries and malformed lines (not a valid interface name, a /64 and a
// decimal number) are left out; the rest as formatted, each end capped at kMaxAnnouncedValid.
AnnouncedPrefixes parseAnnounced(std::string_view text, PdLease::Clock::time_point now,
                                 std::chrono::system_clock::time_point wallNow);

}  // namespace tetherd
