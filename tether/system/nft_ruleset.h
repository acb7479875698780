// nftables transactions through libnftables, loaded with dlopen() on first use (as `tether
// doctor` does: a daemon with offload off never maps libnftables and the libraries behind it).
// One call is one nft_run_cmd_from_buffer: one netlink batch, committed whole or not at all.
// No nft process is spawned.
#pragma once

#include <string>

#include "tether/base/result.h"

namespace tetherd {

class NftRuleset {
 public:
  virtual ~NftRuleset() = default;
  // Runs `commands` (nft's syntax) as one transaction. The error is libnftables' own text.
  virtual Status run(const std::string& commands) = 0;
};

class LibNftables : public NftRuleset {
 public:
  Status run(const std::string& commands) override;
};

}  // namespace tetherd
