// Rate limits (issue 14) as plain values, and the tc steps that make one downstream's
// (tether/system/shaping.h has the steps and the port that carries them out). Pure.
//
// One downstream's shaping: download is shaped on its egress, upload on the
// egress of an ifb device of tetherd's own (ifbName: "tifb-<ifname>") that its ingress
// redirects everything to (ingress qdisc + u32 match-all + mirred). On each of the two an HTB
// tree with tetherd's major number (kShapingMajor, 7e:):
//   7e:1        the downstream's limit (none: kUnlimitedBits)
//   7e:2        under 7e:1, the default: unlimited clients and the router's own traffic
//   7e:<0x10+i> under 7e:1, the i-th limited client (by address): rate = ceil = its limit
// each leaf with its own queue (fq_codel when the kernel has it, else pfifo), and a u32 filter
// per limited client on its IPv4 address (dst on the downstream, src on the ifb), then one per
// IPv6 address of its (protocol ipv6, prio 2: a prio holds one protocol).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tether/system/shaping.h"

namespace tetherd {

// "tifb-<ifname>", at most 15 characters: a longer ifname keeps its first 6 characters and
// gets 4 hex digits of a hash of the whole name.
std::string ifbName(const std::string& ifname);
bool isIfbName(const std::string& name);  // starts with "tifb-"

// A step in tc's words: "class add dev usb0 parent 7e:1 classid 7e:10 htb rate 5000000bit ceil 5000000bit quantum 60000".
std::string tcText(const TcOp& op);

struct ClientShaping {
  std::string mac;
  Ipv4Address ip;
  uint64_t down = 0, up = 0;  // bits per second; 0: none that way
  std::vector<Ipv6Address> ip6{};  // its IPv6 addresses (the neighbour table's), shaped alike
  auto operator<=>(const ClientShaping&) const = default;
};

struct LinkShaping {
  uint64_t down = 0, up = 0;            // the downstream's own limits; 0: none
  std::vector<ClientShaping> clients;   // limited clients, by address
  bool fqCodel = false;                 // the leaves' queue: fq_codel, else pfifo
  bool download() const;  // anything to shape on the egress
  bool upload() const;    // anything to shape through the ifb
  bool operator==(const LinkShaping&) const = default;
};

using ShapingState = std::map<std::string, LinkShaping>;  // by downstream

// The steps that make `s` on `ifname` from nothing (tetherd's qdiscs absent, its ifb absent).
std::vector<TcOp> tcPlan(const std::string& ifname, const LinkShaping& s);

}  // namespace tetherd
