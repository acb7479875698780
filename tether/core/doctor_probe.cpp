// The facts `tether doctor` looks at, read from the running system: no process is spawned
// (libnftables for the nftables ruleset, libiptc for iptables-legacy's FORWARD chain).
//
// libnftables (with libnftnl, libmnl, libxtables, libjansson, libgmp behind it) is loaded with
// dlopen() on the first `tether doctor`, not linked: a daemon that is never asked does not
// carry it resident (docs/PERFORMANCE.md).
#include <nftables/libnftables.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

// libiptc.h pulls in the glibc network headers.
#include <libiptc/libiptc.h>

#include "tether/core/doctor.h"
#include "tether/system/firewall.h"
#include "tether/base/lazy_library.h"
#include "tether/core/tether_manager.h"

namespace tetherd::doctor {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  const size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);  // the first line says what failed
}

// The libnftables functions doctor uses, resolved once from libnftables.so.1.
struct Nft {
  decltype(&nft_ctx_new) ctxNew = nullptr;
  decltype(&nft_ctx_free) ctxFree = nullptr;
  decltype(&nft_ctx_output_set_flags) outputSetFlags = nullptr;
  decltype(&nft_ctx_buffer_output) bufferOutput = nullptr;
  decltype(&nft_ctx_buffer_error) bufferError = nullptr;
  decltype(&nft_run_cmd_from_buffer) runCmd = nullptr;
  decltype(&nft_ctx_get_output_buffer) outputBuffer = nullptr;
  decltype(&nft_ctx_get_error_buffer) errorBuffer = nullptr;
  std::string error;  // "" when loaded
};

const Nft& nft() {
  static const Nft loaded = [] {
    static LazyLibrary lib("libnftables.so.1");
    Nft n;
    auto sym = [](auto& fn, const char* name) { fn = lib.function<std::remove_reference_t<decltype(fn)>>(name); };
    sym(n.ctxNew, "nft_ctx_new");
    sym(n.ctxFree, "nft_ctx_free");
    sym(n.outputSetFlags, "nft_ctx_output_set_flags");
    sym(n.bufferOutput, "nft_ctx_buffer_output");
    sym(n.bufferError, "nft_ctx_buffer_error");
    sym(n.runCmd, "nft_run_cmd_from_buffer");
    sym(n.outputBuffer, "nft_ctx_get_output_buffer");
    sym(n.errorBuffer, "nft_ctx_get_error_buffer");
    n.error = lib.error();
    return n;
  }();
  return loaded;
}

// `list ruleset` through libnftables, JSON output, in tetherd's network namespace.
Result<std::string> readNftRuleset() {
  const Nft& n = nft();
  if (!n.error.empty()) return makeError(Errc::SystemError, "libnftables: " + n.error);
  std::unique_ptr<nft_ctx, void (*)(nft_ctx*)> ctx(n.ctxNew(NFT_CTX_DEFAULT), n.ctxFree);
  if (!ctx) return makeError(Errc::SystemError, "nft_ctx_new failed");
  n.outputSetFlags(ctx.get(), NFT_CTX_OUTPUT_JSON);
  if (n.bufferOutput(ctx.get()) != 0 || n.bufferError(ctx.get()) != 0)
    return makeError(Errc::SystemError, "libnftables: cannot buffer its output");
  const int rc = n.runCmd(ctx.get(), "list ruleset");
  const char* out = n.outputBuffer(ctx.get());
  const char* err = n.errorBuffer(ctx.get());
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
