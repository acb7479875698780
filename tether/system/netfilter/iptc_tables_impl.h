// Making one table of a libiptc handle hold exactly a fw::Table: IptcFirewall's work inside
// one transaction (iptc_firewall.cpp has the lock, the transaction and the commit). Written
// once for both families: `F` is the family's libiptc (iptc_tables.cpp: libip4tc and
// ipt_entry; ip6tc_tables.cpp: libip6tc and ip6t_entry). Included by those two files only,
// each after its own libiptc header (the two headers cannot share a translation unit).
//
// Entries are built by hand, byte for byte what iptables-legacy/ip6tables-legacy would build
// for the same rule text (the root tests compare their `-S` with renderFirewallRules()). An
// existing rule is recognised by a key made of its ip part, its matches (name, revision, data)
// and its target (the verdict label for standard targets, else name, revision, data).
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <linux/netfilter/xt_IDLETIMER.h>
#include <linux/netfilter/xt_TCPMSS.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_mac.h>
#include <linux/netfilter/xt_quota.h>
#include <linux/netfilter/xt_tcpudp.h>

#include "tether/base/log.h"
#include "tether/system/netfilter/iptc_tables.h"

namespace tetherd::iptc::impl {


using fw::Rule;

// ip6t_icmp (linux/netfilter_ipv6/ip6_tables.h), spelt out so that this file needs no
// family header; ip6tc_tables.cpp checks the layout.
struct Icmp6Info {
  uint8_t type;
  uint8_t code[2];
  uint8_t invflags;
};

// The model's ctstate bits are the kernel's.
static_assert(fw::kCtInvalid == XT_CONNTRACK_STATE_INVALID);
static_assert(fw::kCtEstablished == XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED));
static_assert(fw::kCtRelated == XT_CONNTRACK_STATE_BIT(IP_CT_RELATED));
static_assert(fw::kCtNew == XT_CONNTRACK_STATE_BIT(IP_CT_NEW));

// Bits of the TCP flags byte (FIN is 0x01).
inline constexpr uint8_t kTcpSyn = 0x02, kTcpRst = 0x04;

// libiptc declares chain arguments as `const char[32]` and may read all 32 bytes; gcc 12 warns
// (rightly) when a shorter literal is passed. This is a zero-padded copy.
struct Label {
  xt_chainlabel buf{};
  explicit Label(std::string_view name) {
    std::memcpy(buf, name.data(), std::min(name.size(), sizeof(buf) - 1));
  }
};

// ---- entries ----------------------------------------------------------------------------

template <class F>
struct Ops {

// One entry (F::Raw) with its matches and target, zero-filled (so padding compares equal).
// std::vector storage comes from operator new: aligned for F::Raw (8 bytes).
class Entry {
 public:
  explicit Entry(size_t size) : bytes_(size, 0) {}
  typename F::Raw* get() { return reinterpret_cast<typename F::Raw*>(bytes_.data()); }
  template <class T>
  T* at(size_t offset) {
    return reinterpret_cast<T*>(bytes_.data() + offset);
  }

 private:
  std::vector<unsigned char> bytes_;
};

static bool isStandard(Rule::Target t) {
  return t == Rule::Target::Accept || t == Rule::Target::Drop || t == Rule::Target::Jump ||
         t == Rule::Target::Goto || t == Rule::Target::Return;
}

// The target's name in the entry; for standard targets, also what F::get_target() returns.
static std::string targetLabel(const Rule& r) {
  switch (r.target) {
    case Rule::Target::Accept: return F::kAccept;
    case Rule::Target::Drop: return F::kDrop;
    case Rule::Target::Jump:
    case Rule::Target::Goto: return r.targetChain;
    case Rule::Target::Masquerade: return "MASQUERADE";
    case Rule::Target::ClampMssToPmtu: return "TCPMSS";
    case Rule::Target::IdleTimer: return "IDLETIMER";
    case Rule::Target::Return: return "RETURN";  // IPTC_LABEL_RETURN, IP6TC_LABEL_RETURN
  }
  return {};
}

static size_t targetDataSize(Rule::Target t) {
  switch (t) {
    case Rule::Target::Masquerade: return F::kMasqueradeSize;
    case Rule::Target::ClampMssToPmtu: return sizeof(xt_tcpmss_info);
    case Rule::Target::IdleTimer: return sizeof(idletimer_tg_info_v1);
    default: return sizeof(int);  // xt_standard_target's verdict
  }
}

// "-i name" as iptables encodes it: the name, and a mask over its bytes plus the final NUL
// (an exact match; tetherd never uses "+" wildcards).
static void setIface(const std::string& name, char* via, unsigned char* mask) {
  if (name.empty()) return;
  const size_t n = std::min<size_t>(name.size(), IFNAMSIZ - 1);
  std::memcpy(via, name.data(), n);
  std::memset(mask, 0xff, n + 1);
}

static void setName(char* dst, size_t capacity, std::string_view name) {
  std::memcpy(dst, name.data(), std::min(name.size(), capacity - 1));
}

static Entry buildEntry(const Rule& r) {
  constexpr size_t kConntrackSize = XT_ALIGN(sizeof(xt_entry_match)) + XT_ALIGN(sizeof(xt_conntrack_mtinfo3));
  constexpr size_t kTcpSize = XT_ALIGN(sizeof(xt_entry_match)) + XT_ALIGN(sizeof(xt_tcp));
  constexpr size_t kMacSize = XT_ALIGN(sizeof(xt_entry_match)) + XT_ALIGN(sizeof(xt_mac_info));
  constexpr size_t kIcmp6Size = XT_ALIGN(sizeof(xt_entry_match)) + XT_ALIGN(sizeof(Icmp6Info));
  constexpr size_t kQuotaSize = XT_ALIGN(sizeof(xt_entry_match)) + XT_ALIGN(sizeof(xt_quota_info));
  const bool icmp6Match = r.icmp6Type >= 0;
  const bool tcpMatch = r.tcpSyn || r.dport != 0;
  const bool macMatch = !r.macSource.empty();
  const size_t targetOffset = sizeof(typename F::Raw) + (macMatch ? kMacSize : 0) + (r.ctstate != 0 ? kConntrackSize : 0) +
                              (r.quota ? kQuotaSize : 0) +
                              (icmp6Match ? kIcmp6Size : 0) +
                              (tcpMatch ? kTcpSize : 0);
  const size_t targetSize = XT_ALIGN(sizeof(xt_entry_target)) + XT_ALIGN(targetDataSize(r.target));

  Entry entry(targetOffset + targetSize);
  typename F::Raw* e = entry.get();
  auto& ip = F::ipPart(e);
  setIface(r.in, ip.iniface, ip.iniface_mask);
  setIface(r.out, ip.outiface, ip.outiface_mask);
  if (r.ulaSource) F::setUlaSource(ip);
  if (!r.src.empty()) F::setHost(ip, r.src, true);
  if (!r.dst.empty()) F::setHost(ip, r.dst, false);
  if (tcpMatch) F::setProto(ip, IPPROTO_TCP);
  if (icmp6Match) F::setProto(ip, IPPROTO_ICMPV6);
  if (r.target == Rule::Target::Goto) ip.flags |= F::kGoto;
  e->target_offset = static_cast<uint16_t>(targetOffset);
  e->next_offset = static_cast<uint16_t>(targetOffset + targetSize);

  // Matches, in the order Rule::toString() prints them.
  size_t offset = sizeof(typename F::Raw);
  if (macMatch) {
    auto* m = entry.template at<xt_entry_match>(offset);
    m->u.user.match_size = kMacSize;
    setName(m->u.user.name, sizeof(m->u.user.name), "mac");
    auto* info = reinterpret_cast<xt_mac_info*>(m->data);
    // validate() let only "aa:bb:cc:dd:ee:ff" through.
    for (size_t i = 0; i < ETH_ALEN && i * 3 + 1 < r.macSource.size(); ++i)
      info->srcaddr[i] = static_cast<unsigned char>(std::stoi(r.macSource.substr(i * 3, 2), nullptr, 16));
    offset += kMacSize;
  }
  if (r.ctstate != 0) {
    auto* m = entry.template at<xt_entry_match>(offset);
    m->u.user.match_size = kConntrackSize;
    setName(m->u.user.name, sizeof(m->u.user.name), "conntrack");
    m->u.user.revision = 3;
    auto* info = reinterpret_cast<xt_conntrack_mtinfo3*>(m->data);
    info->match_flags = XT_CONNTRACK_STATE;
    info->state_mask = r.ctstate;
    offset += kConntrackSize;
  }
  if (r.quota) {
    // As iptables 1.8.9 builds it: flags 0, the bytes; the kernel's pointer after them stays
    // zero (the kernel gives back only what comes before it).
    auto* m = entry.template at<xt_entry_match>(offset);
    m->u.user.match_size = kQuotaSize;
    setName(m->u.user.name, sizeof(m->u.user.name), "quota");
    reinterpret_cast<xt_quota_info*>(m->data)->quota = *r.quota;
    offset += kQuotaSize;
  }
  if (icmp6Match) {
    auto* m = entry.template at<xt_entry_match>(offset);
    m->u.user.match_size = kIcmp6Size;
    setName(m->u.user.name, sizeof(m->u.user.name), "icmp6");
    auto* info = reinterpret_cast<Icmp6Info*>(m->data);
    info->type = static_cast<uint8_t>(r.icmp6Type);
    info->code[0] = r.icmp6Code < 0 ? 0 : static_cast<uint8_t>(r.icmp6Code);
    info->code[1] = r.icmp6Code < 0 ? 0xff : static_cast<uint8_t>(r.icmp6Code);
    offset += kIcmp6Size;
  }
  if (tcpMatch) {
    auto* m = entry.template at<xt_entry_match>(offset);
    m->u.user.match_size = kTcpSize;
    setName(m->u.user.name, sizeof(m->u.user.name), "tcp");
    auto* tcp = reinterpret_cast<xt_tcp*>(m->data);
    tcp->spts[1] = 0xffff;  // any port, as iptables fills them
    if (r.dport != 0) {
      tcp->dpts[0] = tcp->dpts[1] = r.dport;  // --dport N: the range N:N
    } else {
      tcp->dpts[1] = 0xffff;
    }
    if (r.tcpSyn) {
      tcp->flg_mask = kTcpSyn | kTcpRst;
      tcp->flg_cmp = kTcpSyn;
    }
  }

  auto* t = entry.template at<xt_entry_target>(targetOffset);
  t->u.user.target_size = static_cast<uint16_t>(targetSize);
  // For standard targets libiptc maps the label ("ACCEPT", "DROP", a chain) to the verdict.
  setName(t->u.user.name, sizeof(t->u.user.name), targetLabel(r));
  if (r.target == Rule::Target::Masquerade) {
    F::initMasquerade(t->data);
  } else if (r.target == Rule::Target::ClampMssToPmtu) {
    reinterpret_cast<xt_tcpmss_info*>(t->data)->mss = XT_TCPMSS_CLAMP_PMTU;
  } else if (r.target == Rule::Target::IdleTimer) {
    // Revision 1, as iptables 1.8.9 builds it (timer_type 0: no --alarm); the kernel's timer
    // pointer after it stays zero (the kernel gives back zeros there).
    t->u.user.revision = 1;
    auto* info = reinterpret_cast<idletimer_tg_info_v1*>(t->data);
    info->timeout = r.idle.timeoutSec;
    setName(info->label, sizeof(info->label), r.idle.label);
  }
  return entry;
}

static void appendBytes(std::string& key, const void* p, size_t n) { key.append(static_cast<const char*>(p), n); }

// What makes two entries the same rule (see the file comment). Counters, offsets and the
// kernel's bookkeeping fields are left out; so are the bytes after a name's NUL, which the
// kernel does not copy back.
static std::string ruleKey(const typename F::Raw* e, bool standardTarget, std::string_view label) {
  std::string key;
  appendBytes(key, &F::ipPart(e), sizeof(F::ipPart(e)));
  const auto* base = reinterpret_cast<const unsigned char*>(e);
  for (size_t off = sizeof(typename F::Raw); off + sizeof(xt_entry_match) <= e->target_offset;) {
    const auto* m = reinterpret_cast<const xt_entry_match*>(base + off);
    const size_t size = m->u.match_size;
    if (size < sizeof(xt_entry_match) || off + size > e->target_offset) {
      key += "|malformed";
      break;
    }
    key += "|m:";
    key.append(m->u.user.name, strnlen(m->u.user.name, sizeof(m->u.user.name)));
    key += '/';
    key += static_cast<char>(m->u.user.revision);
    appendBytes(key, m->data, size - sizeof(xt_entry_match));
    off += size;
  }
  key += "|t:";
  if (standardTarget) {
    key += label;
  } else {
    const auto* t = reinterpret_cast<const xt_entry_target*>(base + e->target_offset);
    key.append(t->u.user.name, strnlen(t->u.user.name, sizeof(t->u.user.name)));
    key += '/';
    key += static_cast<char>(t->u.user.revision);
    if (t->u.target_size >= sizeof(xt_entry_target)) appendBytes(key, t->data, t->u.target_size - sizeof(xt_entry_target));
  }
  return key;
}

// The key of an entry read from the kernel through `h`.
static std::string installedKey(const typename F::Raw* e, xtc_handle* h) {
  const auto* t = reinterpret_cast<const xt_entry_target*>(reinterpret_cast<const unsigned char*>(e) + e->target_offset);
  // Standard targets (verdicts and jumps) come back from the kernel with an empty name.
  const bool standard = t->u.user.name[0] == '\0';
  const char* label = F::get_target(e, h);
  return ruleKey(e, standard, label != nullptr ? label : "");
}

struct Desired {
  Entry entry;
  std::string key;
};

static Desired desiredEntry(const Rule& r) {
  Entry entry = buildEntry(r);
  std::string key = ruleKey(entry.get(), isStandard(r.target), targetLabel(r));
  return Desired{std::move(entry), std::move(key)};
}

// ---- synchronising one table ------------------------------------------------------------

// Makes an own chain's content equal `chain.rules`. Unchanged chains are left alone; a changed
// chain is flushed and refilled, and each rule that stays gets the counters of its old entry
// back (libiptc commits the counters set in appended entries as they are).
static Result<bool> syncChain(xtc_handle* h, const std::string& table, const fw::Chain& chain) {
  std::vector<Desired> desired;
  for (const auto& r : chain.rules) desired.push_back(desiredEntry(r));

  std::vector<std::pair<std::string, xt_counters>> installed;
  for (const typename F::Raw* e = F::first_rule(chain.name.c_str(), h); e != nullptr; e = F::next_rule(e, h)) {
    installed.emplace_back(installedKey(e, h), e->counters);
  }
  if (installed.size() == desired.size() &&
      std::equal(desired.begin(), desired.end(), installed.begin(),
                 [](const Desired& d, const auto& i) { return d.key == i.first; })) {
    return false;
  }

  std::map<std::string, std::deque<xt_counters>> kept;
  for (const auto& [key, counters] : installed) kept[key].push_back(counters);

  const Label label(chain.name);
  if (!F::flush_entries(label.buf, h)) return F::error(errno, table, "flush", chain.name);
  for (auto& d : desired) {
    if (auto it = kept.find(d.key); it != kept.end() && !it->second.empty()) {
      d.entry.get()->counters = it->second.front();
      it->second.pop_front();
    }
    if (!F::append_entry(label.buf, d.entry.get(), h)) return F::error(errno, table, "append to", chain.name);
  }
  log::debug("firewall: ", table, " ", chain.name, ": ", installed.size(), " -> ", desired.size(), " rules");
  return true;
}

// Makes sure the hook chain jumps into `chain` exactly once. A missing jump is inserted at
// position 0; duplicates (leftovers) are removed. A single existing jump stays where it is,
// so a table that already has it is not committed again.
static Result<bool> syncHook(xtc_handle* h, const std::string& table, const fw::Chain& chain) {
  Desired jump = desiredEntry(fw::hookJump(chain));
  std::vector<unsigned> jumps;  // rule numbers (0-based) of every rule targeting `chain`
  bool exact = false;           // the single jump is exactly ours (no match, no interface)
  unsigned num = 0;
  for (const typename F::Raw* e = F::first_rule(chain.hook.c_str(), h); e != nullptr; e = F::next_rule(e, h), ++num) {
    const char* target = F::get_target(e, h);
    if (target == nullptr || chain.name != target) continue;
    if (jumps.empty()) {
      exact = installedKey(e, h) == jump.key;
      jump.entry.get()->counters = e->counters;
    }
    jumps.push_back(num);
  }
  if (jumps.size() == 1 && exact) return false;

  const Label hook(chain.hook);
  for (auto it = jumps.rbegin(); it != jumps.rend(); ++it) {
    if (!F::delete_num_entry(hook.buf, *it, h)) return F::error(errno, table, "delete from", chain.hook);
  }
  if (!F::insert_entry(hook.buf, jump.entry.get(), 0, h)) return F::error(errno, table, "insert into", chain.hook);
  return true;
}

// Removes one own chain the state no longer needs: the jumps into it (from any chain), its
// rules, the chain itself. Returns whether it existed.
static Result<bool> removeChain(xtc_handle* h, const std::string& table, const std::string& name) {
  if (!F::is_chain(name.c_str(), h)) return false;
  std::vector<std::string> chains;
  for (const char* c = F::first_chain(h); c != nullptr; c = F::next_chain(h)) chains.emplace_back(c);
  for (const auto& chain : chains) {
    if (chain == name) continue;
    std::vector<unsigned> jumps;
    unsigned num = 0;
    for (const typename F::Raw* e = F::first_rule(chain.c_str(), h); e != nullptr; e = F::next_rule(e, h), ++num) {
      const char* target = F::get_target(e, h);
      if (target != nullptr && name == target) jumps.push_back(num);
    }
    const Label label(chain);
    for (auto it = jumps.rbegin(); it != jumps.rend(); ++it) {
      if (!F::delete_num_entry(label.buf, *it, h)) return F::error(errno, table, "delete from", chain);
    }
  }
  const Label label(name);
  if (!F::flush_entries(label.buf, h)) return F::error(errno, table, "flush", name);
  if (!F::delete_chain(label.buf, h)) return F::error(errno, table, "delete chain", name);
  return true;
}


static Result<bool> syncTable(xtc_handle* h, const fw::Table& table) {
  bool changed = false;
  std::vector<std::string> absent = table.absent;
  // Per-client and quota chains no longer in the state: gone.
  for (const char* c = F::first_chain(h); c != nullptr; c = F::next_chain(h)) {
    const std::string_view n(c);
    if (!n.starts_with(fw::kClientChainPrefix) && !n.starts_with(fw::kQuotaChainPrefix) && !n.starts_with(fw::kDownstreamQuotaPrefix))
      continue;
    if (std::none_of(table.chains.begin(), table.chains.end(), [c](const fw::Chain& k) { return k.name == c; }))
      absent.emplace_back(c);
  }
  for (const auto& name : absent) {
    auto r = removeChain(h, table.name, name);
    if (!r) return r.error();
    changed = changed || *r;
  }
  // Chains first: the rules below jump into them.
  for (const auto& chain : table.chains) {
    if (F::is_chain(chain.name.c_str(), h)) continue;
    if (!F::create_chain(Label(chain.name).buf, h)) return F::error(errno, table.name, "create", chain.name);
    changed = true;
  }
  for (const auto& chain : table.chains) {
    auto r = syncChain(h, table.name, chain);
    if (!r) return r.error();
    changed = changed || *r;
  }
  for (const auto& chain : table.chains) {
    if (chain.hook.empty()) continue;
    auto r = syncHook(h, table.name, chain);
    if (!r) return r.error();
    changed = changed || *r;
  }
  return changed;
}

// Removes every chain named tetherd_* and every rule elsewhere that jumps into one.
static Result<bool> removeOwn(xtc_handle* h, const std::string& table) {
  std::vector<std::string> own, others;
  for (const char* c = F::first_chain(h); c != nullptr; c = F::next_chain(h)) {
    (fw::isOwnChain(c) ? own : others).emplace_back(c);
  }
  if (own.empty()) return false;  // no own chain, so no jump into one either

  const std::set<std::string> ownSet(own.begin(), own.end());
  for (const auto& chain : others) {
    std::vector<unsigned> jumps;
    unsigned num = 0;
    for (const typename F::Raw* e = F::first_rule(chain.c_str(), h); e != nullptr; e = F::next_rule(e, h), ++num) {
      const char* target = F::get_target(e, h);
      if (target != nullptr && ownSet.count(target) != 0) jumps.push_back(num);
    }
    const Label label(chain);
    for (auto it = jumps.rbegin(); it != jumps.rend(); ++it) {
      if (!F::delete_num_entry(label.buf, *it, h)) return F::error(errno, table, "delete from", chain);
    }
  }
  // Flush all before deleting any: own chains jump into each other ("Too many links").
  for (const auto& chain : own) {
    if (!F::flush_entries(Label(chain).buf, h)) return F::error(errno, table, "flush", chain);
  }
  for (const auto& chain : own) {
    if (!F::delete_chain(Label(chain).buf, h)) return F::error(errno, table, "delete chain", chain);
  }
  return true;
}

};

}  // namespace tetherd::iptc::impl
