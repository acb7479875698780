// Rate limits (issue 14) as plain values, the tc operations that make them, and the narrow
// port that puts those in the kernel (NlShaper: libnl-route, never the tc program).
//
// One downstream's shaping (LinkShaping): download is shaped on its egress, upload on the
// egress of an ifb device of tetherd's own (ifbName: "tifb-<ifname>") that its ingress
// redirects everything to (ingress qdisc + u32 match-all + mirred). On each of the two an HTB
// tree with tetherd's major number (kShapingMajor, 7e:):
//   7e:1        the downstream's limit (none: kUnlimitedBits)
//   7e:2        under 7e:1, the default: unlimited clients and the router's own traffic
//   7e:<0x10+i> under 7e:1, the i-th limited client (by address): rate = ceil = its limit
// each leaf with its own queue (fq_codel when the kernel has it, else pfifo), and a u32 filter
// per limited client on its IPv4 address (dst on the downstream, src on the ifb).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tether/base/ip.h"
#include "tether/base/result.h"

namespace tetherd {

constexpr uint32_t kShapingMajor = 0x7e;
constexpr uint64_t kUnlimitedBits = 10'000'000'000ULL;  // the top class of a link without its own limit
constexpr uint32_t kLeafPfifoLimit = 128;               // packets

struct ClientShaping {
  std::string mac;
  Ipv4Address ip;
  uint64_t down = 0, up = 0;  // bits per second; 0: none that way
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

// "tifb-<ifname>", at most 15 characters: a longer ifname keeps its first 6 characters and
// gets 4 hex digits of a hash of the whole name.
std::string ifbName(const std::string& ifname);
bool isIfbName(const std::string& name);  // starts with "tifb-"

// One step, in tc's words.
struct TcOp {
  enum class Kind { Ifb, Ingress, Htb, Leaf, Class, Filter, Redirect } kind = Kind::Htb;
  std::string dev{};
  uint32_t parent = 0;   // class or qdisc handle (major << 16 | minor)
  uint32_t handle = 0;   // qdisc handle or classid
  uint32_t defaultMinor = 0;       // Htb
  uint64_t rate = 0, ceil = 0;     // Class, bits per second
  uint32_t quantum = 0;            // Class, bytes
  bool fqCodel = false;            // Leaf
  Ipv4Address ip{};                // Filter
  bool matchSource = false;        // Filter: ip src (else dst)
  uint32_t flowid = 0;             // Filter
  std::string target{};            // Redirect: the ifb
  std::string str() const;  // like tc's arguments: "class add dev usb0 parent 7e:1 classid 7e:10 htb rate 5000000bit ceil 5000000bit quantum 62500"
  bool operator==(const TcOp&) const = default;
};

// The steps that make `s` on `ifname` from nothing (tetherd's qdiscs absent, its ifb absent).
std::vector<TcOp> tcPlan(const std::string& ifname, const LinkShaping& s);

// The port. Errors name the operation and the kernel's reason.
class TrafficShaper {
 public:
  virtual ~TrafficShaper() = default;
  // Whether the kernel has fq_codel (asked once, then remembered).
  virtual bool fqCodel() = 0;
  // Carries the steps out in order; stops at the first failure.
  virtual Status install(const std::vector<TcOp>& ops) = 0;
  // Takes tetherd's shaping off ifname: its root qdisc when it is tetherd's (7e:), its ingress
  // qdisc, its ifb. What is not there is success.
  virtual Status clear(const std::string& ifname) = 0;
  // Deletes every ifb named tifb-* (a crash's leftovers). Returns how many went.
  virtual Result<int> removeIfbs() = 0;
};

}  // namespace tetherd
