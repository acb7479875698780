// The facts `tether doctor` looks at, read from the running system: no process is spawned
// (libnftables for the nftables ruleset, libiptc for iptables-legacy's FORWARD chain).
#include <nftables/libnftables.h>

#include <cerrno>
#include <cstring>
#include <memory>

// libiptc.h pulls in the glibc network headers.
#include <libiptc/libiptc.h>

#include "tether/doctor.h"
#include "tether/firewall.h"
#include "tether/tether_manager.h"

namespace tetherd::doctor {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  const size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);  // the first line says what failed
}

// `list ruleset` through libnftables, JSON output, in tetherd's network namespace.
Result<std::string> readNftRuleset() {
  std::unique_ptr<nft_ctx, void (*)(nft_ctx*)> ctx(nft_ctx_new(NFT_CTX_DEFAULT), nft_ctx_free);
  if (!ctx) return makeError(Errc::SystemError, "nft_ctx_new failed");
  nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
  if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0)
    return makeError(Errc::SystemError, "libnftables: cannot buffer its output");
  const int rc = nft_run_cmd_from_buffer(ctx.get(), "list ruleset");
  const char* out = nft_ctx_get_output_buffer(ctx.get());
  const char* err = nft_ctx_get_error_buffer(ctx.get());
  if (rc != 0) return makeError(Errc::SystemError, "list ruleset: " + trim(err != nullptr ? err : "failed"));
  return std::string(out != nullptr ? out : "");
}

Result<LegacyForward> readLegacyForward() {
  struct Free {
    void operator()(xtc_handle* h) const { iptc_free(h); }
  };
  std::unique_ptr<xtc_handle, Free> h(iptc_init("filter"));
  if (!h) {
    const int err = errno;
    return makeError(Errc::SystemError, std::string("table filter: ") + iptc_strerror(err));
  }
  xt_chainlabel forward{};  // libiptc may read all 32 bytes of a chain name
  std::memcpy(forward, "FORWARD", sizeof "FORWARD");
  xt_counters counters{};
  const char* policy = iptc_get_policy(forward, &counters, h.get());
  LegacyForward l;
  l.policy = policy != nullptr ? policy : "";
  bool first = true;
  for (const ipt_entry* e = iptc_first_rule(forward, h.get()); e != nullptr; e = iptc_next_rule(e, h.get())) {
    const char* target = iptc_get_target(e, h.get());
    const bool ours = target != nullptr && fw::kForwardChain == target;
    if (ours) l.jumpPresent = true;
    if (first) l.jumpFirst = ours;
    first = false;
  }
  return l;
}

}  // namespace

Facts gatherFacts(TetherManager& m) {
  Facts f;
  f.tethering = m.tetheringStarted();
  for (const auto& d : m.downstreams()) {
    if (d.state != TetherInterfaceMachine::State::Tethered) continue;
    f.tethered.push_back(d.ifname);
    if (!d.dhcpRunning) f.dnsmasqStopped.push_back(d.ifname);
  }
  f.upstream = m.upstream();
  f.upstreamPriority = m.upstreamPriority();
  f.ipForward = m.ipfwdKernelOn();
  f.legacyForward = readLegacyForward();
  f.nftRuleset = readNftRuleset();
  return f;
}

}  // namespace tetherd::doctor
