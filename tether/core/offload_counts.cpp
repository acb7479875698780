#include "tether/core/offload_counts.h"

#include "tether/base/log.h"
#include "tether/core/offload.h"

namespace tetherd {

void OffloadLedger::setClients(std::set<Ipv4Address> clients) {
  clients_ = std::move(clients);
  std::erase_if(totals_, [this](const auto& t) { return !clients_.count(t.first); });
}

OffloadLedger::Key OffloadLedger::keyOf(const CtCounted& f) {
  const CtTuple& o = f.entry.original;
  return {f.id, o.src.value, o.dst.value, o.proto, o.srcPort, o.dstPort};
}

void OffloadLedger::add(const CtCounted& now, const CtCounted* before) {
  auto moved = [](uint64_t n, uint64_t b) { return n >= b ? n - b : n; };  // a reused id: all of it
  const uint64_t ob = moved(now.origBytes, before ? before->origBytes : 0);
  const uint64_t op = moved(now.origPackets, before ? before->origPackets : 0);
  const uint64_t rb = moved(now.replyBytes, before ? before->replyBytes : 0);
  const uint64_t rp = moved(now.replyPackets, before ? before->replyPackets : 0);
  if (clients_.count(now.entry.original.src)) {  // the client opened it (tethered traffic out)
    Bytes& b = totals_[now.entry.original.src];
    b.tx += ob, b.txPackets += op, b.rx += rb, b.rxPackets += rp;
  } else if (clients_.count(now.entry.reply.src)) {  // opened towards the client (a port forward)
    Bytes& b = totals_[now.entry.reply.src];
    b.tx += rb, b.txPackets += rp, b.rx += ob, b.rxPackets += op;
  }
}

void OffloadLedger::sample(const std::vector<CtCounted>& flows) {
  std::map<Key, CtCounted> next;
  for (const auto& f : flows) {
    const Key k = keyOf(f);
    auto it = last_.find(k);
    add(f, it != last_.end() ? &it->second : nullptr);
    next.emplace(k, f);
  }
  last_ = std::move(next);
}

void OffloadLedger::ended(const CtCounted& flow) {
  const Key k = keyOf(flow);
  auto it = last_.find(k);
  add(flow, it != last_.end() ? &it->second : nullptr);
  if (it != last_.end()) last_.erase(it);
}

Status OffloadCountedFirewall::apply(const FirewallState& s) {
  std::map<std::string, std::set<Ipv4Address>> clients;
  std::set<Ipv4Address> all;
  for (const auto& [ds, addrs] : s.clients)
    for (const auto& a : addrs)
      if (auto ip = Ipv4Address::parse(a)) clients[ds].insert(*ip), all.insert(*ip);
  clientsOf_ = std::move(clients);
  ledger_.setClients(std::move(all));
  return inner_.apply(s);
}

void OffloadCountedFirewall::read() {
  if (!active_ || !active_()) return;
  if (drain_) drain_();  // flows that ended are taken from their events first, not forgotten
  auto flows = conntrack_.markedFlows(kOffloadMark);
  if (!flows) {
    log::debug("offload: offloaded flows not read: ", flows.error().message);
    return;
  }
  ledger_.sample(*flows);
}

Result<std::vector<ClientCounter>> OffloadCountedFirewall::clientCounters() {
  auto r = inner_.clientCounters();
  if (!r) return r;
  read();
  const auto& totals = ledger_.totals();
  for (auto& c : *r) {
    auto ip = Ipv4Address::parse(c.address);
    auto it = ip ? totals.find(*ip) : totals.end();
    if (it == totals.end()) continue;
    c.txBytes += it->second.tx, c.txPackets += it->second.txPackets;
    c.rxBytes += it->second.rx, c.rxPackets += it->second.rxPackets;
  }
  return r;
}

// Per pair: a downstream's clients' offloaded bytes go to its pair with the upstream (the one
// pair of a tethered downstream; with manual NAT pairs too, to the first).
Result<std::vector<TrafficCounter>> OffloadCountedFirewall::counters() {
  auto r = inner_.counters();
  if (!r) return r;
  read();
  const auto& totals = ledger_.totals();
  std::set<std::string> done;
  for (auto& c : *r) {
    if (!done.insert(c.downstream).second) continue;
    auto it = clientsOf_.find(c.downstream);
    if (it == clientsOf_.end()) continue;
    for (const auto& a : it->second) {
      auto t = totals.find(a);
      if (t == totals.end()) continue;
      c.txBytes += t->second.tx, c.txPackets += t->second.txPackets;
      c.rxBytes += t->second.rx, c.rxPackets += t->second.rxPackets;
    }
  }
  return r;
}

}  // namespace tetherd
