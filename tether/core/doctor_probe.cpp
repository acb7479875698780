// The facts `tether doctor` looks at, read from the running system: no process is spawned
// (libnftables for the nftables ruleset, libiptc for iptables-legacy's FORWARD chain).
//
// libnftables (with libnftnl, libmnl, libxtables, libjansson, libgmp behind it) is loaded with
// dlopen() on the first `tether doctor`, not linked: a daemon that is never asked does not
// carry it resident (docs/PERFORMANCE.md).
#include <nftables/libnftables.h>

#include <arpa/inet.h>
#include <net/if.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>
#include <algorithm>

// libiptc.h pulls in the glibc network headers.
#include <libiptc/libiptc.h>

#include "tether/core/doctor.h"
#include "tether/system/netfilter/firewall.h"
#include "tether/system/netfilter/nft_ruleset.h"
#include "tether/core/rp_filter.h"
#include "tether/core/tether_manager.h"

namespace tetherd::doctor {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  const size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);  // the first line says what failed
}

// `list ruleset` through libnftables, in tetherd's network namespace: JSON, or text with the
// rules' handles.
Result<std::string> readNftRuleset(bool asJson) {
  const NftLib& n = nftLib();
  if (!n.error.empty()) return makeError(Errc::SystemError, "libnftables: " + n.error);
  std::unique_ptr<nft_ctx, void (*)(nft_ctx*)> ctx(n.ctxNew(NFT_CTX_DEFAULT), n.ctxFree);
  if (!ctx) return makeError(Errc::SystemError, "nft_ctx_new failed");
  n.outputSetFlags(ctx.get(), asJson ? NFT_CTX_OUTPUT_JSON : NFT_CTX_OUTPUT_HANDLE);
  if (n.bufferOutput(ctx.get()) != 0 || n.bufferError(ctx.get()) != 0)
    return makeError(Errc::SystemError, "libnftables: cannot buffer its output");
  const int rc = n.runCmd(ctx.get(), "list ruleset");
  const char* out = n.outputBuffer(ctx.get());
  const char* err = n.errorBuffer(ctx.get());
  if (rc != 0) return makeError(Errc::SystemError, "list ruleset: " + trim(err != nullptr ? err : "failed"));
  return std::string(out != nullptr ? out : "");
}

// An interface as iptables prints it: "usb+" when the mask stops before the name's end.
std::string ifaceText(const char* name, const unsigned char* mask) {
  const size_t len = strnlen(name, IFNAMSIZ);
  std::string s(name, len);
  if (len > 0 && len < IFNAMSIZ && mask[len] == 0 && s.back() != '+') s += '+';  // iptables keeps the '+' itself
  return s;
}

std::optional<Ipv4Prefix> prefixOf(in_addr addr, in_addr mask) {
  const uint32_t m = ntohl(mask.s_addr);
  if (m == 0) return std::nullopt;
  return Ipv4Prefix{Ipv4Address{ntohl(addr.s_addr) & m}, std::popcount(m)};
}

LegacyRule legacyRule(const ipt_entry* e, xtc_handle* h) {
  LegacyRule r;
  r.in = ifaceText(e->ip.iniface, e->ip.iniface_mask);
  r.out = ifaceText(e->ip.outiface, e->ip.outiface_mask);
  r.inInvert = (e->ip.invflags & IPT_INV_VIA_IN) != 0;
  r.outInvert = (e->ip.invflags & IPT_INV_VIA_OUT) != 0;
  r.src = prefixOf(e->ip.src, e->ip.smsk);
  r.dst = prefixOf(e->ip.dst, e->ip.dmsk);
  r.srcInvert = (e->ip.invflags & IPT_INV_SRCIP) != 0;
  r.dstInvert = (e->ip.invflags & IPT_INV_DSTIP) != 0;
  r.proto = e->ip.proto;
  r.protoInvert = (e->ip.invflags & IPT_INV_PROTO) != 0;
  r.fragment = (e->ip.flags & IPT_F_FRAG) != 0;
  for (size_t off = sizeof(ipt_entry); off + sizeof(xt_entry_match) <= e->target_offset;) {
    const auto* m = reinterpret_cast<const xt_entry_match*>(reinterpret_cast<const unsigned char*>(e) + off);
    if (m->u.match_size == 0) break;
    r.matches.emplace_back(m->u.user.name, strnlen(m->u.user.name, sizeof m->u.user.name));
    off += m->u.match_size;
  }
  const char* target = iptc_get_target(e, h);
  r.target = target != nullptr ? target : "";
  r.isGoto = (e->ip.flags & IPT_F_GOTO) != 0;
  return r;
}

// iptables-legacy's filter table: FORWARD and the user chains.
Result<LegacyFilter> readLegacyFilter() {
  struct Free {
    void operator()(xtc_handle* h) const { iptc_free(h); }
  };
  std::unique_ptr<xtc_handle, Free> h(iptc_init("filter"));
  if (!h) {
    const int err = errno;
    return makeError(Errc::SystemError, std::string("table filter: ") + iptc_strerror(err));
  }
  std::vector<std::string> names;
  for (const char* c = iptc_first_chain(h.get()); c != nullptr; c = iptc_next_chain(h.get())) names.emplace_back(c);
  LegacyFilter f;
  for (const auto& name : names) {
    const bool builtin = iptc_builtin(name.c_str(), h.get()) != 0;
    if (builtin && name != "FORWARD") continue;
    xt_chainlabel label{};  // libiptc may read all 32 bytes of a chain name
    std::memcpy(label, name.c_str(), std::min(name.size(), sizeof label - 1));
    LegacyChain chain;
    if (builtin) {
      xt_counters counters{};
      const char* policy = iptc_get_policy(label, &counters, h.get());
      chain.policy = policy != nullptr ? policy : "";
    }
    for (const ipt_entry* e = iptc_first_rule(label, h.get()); e != nullptr; e = iptc_next_rule(e, h.get()))
      chain.rules.push_back(legacyRule(e, h.get()));
    f.emplace(name, std::move(chain));
  }
  return f;
}

}  // namespace

Facts gatherFacts(TetherManager& m) {
  Facts f;
  f.tethering = m.tetheringStarted();
  for (const auto& d : m.downstreams()) {
    if (d.state != TetherInterfaceMachine::State::Tethered) continue;
    f.tethered.push_back(d.ifname);
    if (d.address) f.subnets.emplace(d.ifname, Ipv4Prefix{d.address->network(), d.address->length});
    if (!d.dhcpRunning) f.dnsmasqStopped.push_back(d.ifname);
  }
  f.upstream = m.upstream();
  f.upstreamPriority = m.upstreamPriority();
  const auto v6 = m.ipv6Upstream();
  f.ipv6Configured = ipv6ModeName(v6.configured);
  f.ipv6Mode = ipv6ModeName(v6.mode);
  f.pdAsked = v6.pdAsked;
  if (v6.delegated) f.delegated = v6.delegated->str();
  f.pdLeft = v6.pdLeft;
  f.upstreamIpv6Address = v6.address;
  f.upstreamIpv6Route = v6.route;
  f.upstreamSlaac64 = v6.slaac64;
  if (v6.relayed) f.relayed = v6.relayed->str();
  f.relayDownstreams.assign(v6.relayDownstreams.begin(), v6.relayDownstreams.end());
  f.relayHosts = v6.relayHosts;
  f.ipForward = m.ipfwdKernelOn();
  if (const auto o = m.offload(); o.configured) f.offload = o.active ? "active" : o.reason;
  ProcSysctl sysctl;
  for (const auto& n : f.upstreamPriority)
    if (effectiveRpFilter(sysctl, n) == 1) f.strictRpFilter.push_back(n);
  f.legacyFilter = readLegacyFilter();
  f.nftRuleset = readNftRuleset(true);
  if (auto text = readNftRuleset(false)) f.nftText = std::move(*text);  // only to name the rules
  return f;
}

}  // namespace tetherd::doctor
