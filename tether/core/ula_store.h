// The appliance's unique local /48 (RFC 4193): a random 40-bit global ID made once and kept in
// state_dir, so that every downstream's nat66 /64 stays the same across restarts.
#pragma once

#include <string>

#include "tether/base/ip6.h"
#include "tether/base/result.h"

namespace tetherd {

// Reads the /48 from `path` ("fdXX:XXXX:XXXX::/48\n"); when the file does not exist, makes a
// random one and writes it atomically (0644) first. A file that is not such a /48 is an error
// naming the file and its content (it is not overwritten: the clients' prefixes depend on it).
Result<Ipv6Prefix> loadUlaPrefix(const std::string& path);

// The pure part: the file's text -> the /48, or why not.
Result<Ipv6Prefix> parseUlaPrefix(const std::string& text, const std::string& path);

}  // namespace tetherd
