#include "tether/core/clients/tc_plan.h"

#include <algorithm>
#include <cstdio>

namespace tetherd {

namespace {

std::string handleStr(uint32_t h) {
  char buf[24];
  if ((h & 0xffff) == 0) std::snprintf(buf, sizeof buf, "%x:", h >> 16);
  else std::snprintf(buf, sizeof buf, "%x:%x", h >> 16, h & 0xffff);
  return buf;
}

uint32_t classId(uint32_t minor) { return kShapingMajor << 16 | minor; }

uint32_t quantumFor(uint64_t bits) {
  // HTB's own default is rate / r2q (10) in bytes; kept between one full frame and 60000.
  return static_cast<uint32_t>(std::clamp<uint64_t>(bits / 8 / 10, 1600, 60000));
}

// One HTB tree on dev for one direction.
void htbTree(std::vector<TcOp>& ops, const std::string& dev, uint64_t limit, const std::vector<ClientShaping>& clients,
             bool upload, bool fqCodel) {
  const uint64_t top = limit ? limit : kUnlimitedBits;
  ops.push_back({.kind = TcOp::Kind::Htb, .dev = dev, .parent = 0, .handle = classId(0), .defaultMinor = 2});
  ops.push_back({.kind = TcOp::Kind::Class, .dev = dev, .parent = classId(0), .handle = classId(1), .rate = top, .ceil = top,
                 .quantum = quantumFor(top)});
  struct Leaf {
    uint32_t minor;
    uint64_t rate;
    Ipv4Address ip;
    std::vector<Ipv6Address> ip6;
  };
  std::vector<Leaf> leaves;
  uint64_t reserved = 0;
  uint32_t next = 0x10;
  for (const auto& c : clients) {
    const uint64_t want = upload ? c.up : c.down;
    if (want == 0) continue;
    const uint64_t rate = std::min(want, top);
    leaves.push_back({next++, rate, c.ip, c.ip6});
    reserved += rate;
  }
  const uint64_t rest = std::max<uint64_t>(reserved < top ? top - reserved : 0, std::max<uint64_t>(top / 100, 8000));
  ops.push_back({.kind = TcOp::Kind::Class, .dev = dev, .parent = classId(1), .handle = classId(2), .rate = rest, .ceil = top,
                 .quantum = quantumFor(rest)});
  ops.push_back({.kind = TcOp::Kind::Leaf, .dev = dev, .parent = classId(2), .handle = (0x100u + 2) << 16, .fqCodel = fqCodel});
  for (const auto& l : leaves) {
    ops.push_back({.kind = TcOp::Kind::Class, .dev = dev, .parent = classId(1), .handle = classId(l.minor), .rate = l.rate,
                   .ceil = l.rate, .quantum = quantumFor(l.rate)});
    ops.push_back({.kind = TcOp::Kind::Leaf, .dev = dev, .parent = classId(l.minor), .handle = (0x100u + l.minor) << 16,
                   .fqCodel = fqCodel});
  }
  for (const auto& l : leaves)
    ops.push_back({.kind = TcOp::Kind::Filter, .dev = dev, .parent = classId(0), .ip = l.ip, .matchSource = upload,
                   .flowid = classId(l.minor)});
  for (const auto& l : leaves)
    for (const auto& a : l.ip6)
      ops.push_back({.kind = TcOp::Kind::Filter, .dev = dev, .parent = classId(0), .ip6 = a, .matchSource = upload,
                     .flowid = classId(l.minor)});
}

}  // namespace

bool LinkShaping::download() const {
  return down != 0 || std::any_of(clients.begin(), clients.end(), [](const auto& c) { return c.down != 0; });
}

bool LinkShaping::upload() const {
  return up != 0 || std::any_of(clients.begin(), clients.end(), [](const auto& c) { return c.up != 0; });
}

std::vector<TcOp> tcPlan(const std::string& ifname, const LinkShaping& s) {
  std::vector<TcOp> ops;
  if (s.download()) htbTree(ops, ifname, s.down, s.clients, false, s.fqCodel);
  if (s.upload()) {
    const std::string ifb = ifbName(ifname);
    ops.push_back({.kind = TcOp::Kind::Ifb, .dev = ifb});
    htbTree(ops, ifb, s.up, s.clients, true, s.fqCodel);
    ops.push_back({.kind = TcOp::Kind::Ingress, .dev = ifname, .handle = 0xffff0000u});
    ops.push_back({.kind = TcOp::Kind::Redirect, .dev = ifname, .parent = 0xffff0000u, .target = ifb});
  }
  return ops;
}

std::string ifbName(const std::string& ifname) {
  if (ifname.size() <= 10) return kIfbPrefix + ifname;
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : ifname) h = (h ^ c) * 16777619u;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04x", h & 0xffff);
  return kIfbPrefix + ifname.substr(0, 6) + buf;
}

bool isIfbName(const std::string& name) { return name.rfind(kIfbPrefix, 0) == 0; }

std::string tcText(const TcOp& op) {
  const std::string dev = " dev " + op.dev;
  switch (op.kind) {
    case TcOp::Kind::Ifb:
      return "link add " + op.dev + " type ifb";
    case TcOp::Kind::Ingress:
      return "qdisc add" + dev + " handle ffff: ingress";
    case TcOp::Kind::Redirect:
      return "filter add" + dev + " parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev " + op.target;
    case TcOp::Kind::Htb:
      return "qdisc add" + dev + " root handle " + handleStr(op.handle) + " htb default " + std::to_string(op.defaultMinor);
    case TcOp::Kind::Leaf:
      return "qdisc add" + dev + " parent " + handleStr(op.parent) + " handle " + handleStr(op.handle) +
             (op.fqCodel ? " fq_codel" : " pfifo limit " + std::to_string(kLeafPfifoLimit));
    case TcOp::Kind::Class:
      return "class add" + dev + " parent " + handleStr(op.parent) + " classid " + handleStr(op.handle) + " htb rate " +
             std::to_string(op.rate) + "bit ceil " + std::to_string(op.ceil) + "bit quantum " + std::to_string(op.quantum);
    case TcOp::Kind::Filter:
      if (op.ip6)
        return "filter add" + dev + " parent " + handleStr(op.parent) + " protocol ipv6 prio 2 u32 match ip6 " +
               (op.matchSource ? "src " : "dst ") + op.ip6->str() + "/128 flowid " + handleStr(op.flowid);
      return "filter add" + dev + " parent " + handleStr(op.parent) + " protocol ip prio 1 u32 match ip " +
             (op.matchSource ? "src " : "dst ") + op.ip.str() + "/32 flowid " + handleStr(op.flowid);
  }
  return "";
}

}  // namespace tetherd
