#include "tether/system/netfilter/nft_ruleset.h"

#include <unistd.h>

#include <memory>
#include <type_traits>

#include "tether/base/lazy_library.h"

namespace tetherd {

const NftLib& nftLib() {
  static const NftLib loaded = [] {
    static LazyLibrary lib("libnftables.so.1");
    NftLib n;
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

Status LibNftables::run(const std::string& commands) {
  const NftLib& n = nftLib();
  if (!n.error.empty()) return makeError(Errc::SystemError, "libnftables: " + n.error);
  std::unique_ptr<nft_ctx, void (*)(nft_ctx*)> ctx(n.ctxNew(NFT_CTX_DEFAULT), n.ctxFree);
  if (!ctx) return makeError(Errc::SystemError, "nft_ctx_new failed");
  if (n.bufferOutput(ctx.get()) != 0 || n.bufferError(ctx.get()) != 0)
    return makeError(Errc::SystemError, "libnftables: cannot buffer its output");
  if (n.runCmd(ctx.get(), commands.c_str()) == 0) return {};
  const char* err = n.errorBuffer(ctx.get());
  return makeError(Errc::SystemError, err != nullptr && *err != '\0' ? err : "the nftables transaction failed");
}

bool LibNftables::flowtableLoaded() { return ::access("/sys/module/nf_flow_table", F_OK) == 0; }

}  // namespace tetherd
