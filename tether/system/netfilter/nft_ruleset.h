// nftables transactions through libnftables, loaded with dlopen() on first use (as `tether
// doctor` does: a daemon with offload off never maps libnftables and the libraries behind it).
// One call is one nft_run_cmd_from_buffer: one netlink batch, committed whole or not at all.
// No nft process is spawned.
#pragma once

#include <nftables/libnftables.h>

#include <string>

#include "tether/base/result.h"

namespace tetherd {

// The libnftables functions tetherd uses (offload's transactions, doctor's ruleset listing),
// resolved once from libnftables.so.1 on the first call; `error` is "" when it loaded.
struct NftLib {
  decltype(&nft_ctx_new) ctxNew = nullptr;
  decltype(&nft_ctx_free) ctxFree = nullptr;
  decltype(&nft_ctx_output_set_flags) outputSetFlags = nullptr;
  decltype(&nft_ctx_buffer_output) bufferOutput = nullptr;
  decltype(&nft_ctx_buffer_error) bufferError = nullptr;
  decltype(&nft_run_cmd_from_buffer) runCmd = nullptr;
  decltype(&nft_ctx_get_output_buffer) outputBuffer = nullptr;
  decltype(&nft_ctx_get_error_buffer) errorBuffer = nullptr;
  std::string error;
};
const NftLib& nftLib();

class NftRuleset {
 public:
  virtual ~NftRuleset() = default;
  // Runs `commands` (nft's syntax) as one transaction. The error is libnftables' own text.
  virtual Status run(const std::string& commands) = 0;
  // Whether the kernel has the flowtable (nf_flow_table is loaded: a transaction with a
  // flowtable has the kernel load it when it can). libnftables' error for a refused
  // transaction names only the first line of the buffer, so this tells a kernel without
  // flowtable support from other ENOENTs.
  virtual bool flowtableLoaded() { return false; }
};

class LibNftables : public NftRuleset {
 public:
  Status run(const std::string& commands) override;
  bool flowtableLoaded() override;  // /sys/module/nf_flow_table exists
};

}  // namespace tetherd
