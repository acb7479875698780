// The IPv4 family of iptc_tables_impl.h: libip4tc and ipt_entry.
// libiptc.h pulls in the glibc network headers; the linux/ headers must come after them.
#include <arpa/inet.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_nat.h>

#include "tether/system/netfilter/iptc_tables_impl.h"

namespace tetherd::iptc {

Error iptcError(int err, const std::string& table, const char* what, const std::string& chain) {
  std::string message = "iptables table " + table + ": " + what;
  if (!chain.empty()) message += " " + chain;
  return makeError(Errc::SystemError, message + ": " + iptc_strerror(err));
}

namespace {

struct V4 {
  using Raw = ipt_entry;
  static constexpr const char* kAccept = IPTC_LABEL_ACCEPT;
  static constexpr const char* kDrop = IPTC_LABEL_DROP;
  static constexpr uint8_t kGoto = IPT_F_GOTO;
  static constexpr size_t kMasqueradeSize = sizeof(nf_nat_ipv4_multi_range_compat);
  static void initMasquerade(void* data) { static_cast<nf_nat_ipv4_multi_range_compat*>(data)->rangesize = 1; }
  static ipt_ip& ipPart(ipt_entry* e) { return e->ip; }
  static const ipt_ip& ipPart(const ipt_entry* e) { return e->ip; }
  static void setProto(ipt_ip& ip, uint16_t proto) { ip.proto = proto; }
  static void setUlaSource(ipt_ip&) {}  // IPv6 only (buildTables never sets it)
  static void setHost(ipt_ip& ip, const std::string& address, bool source) {
    in_addr a{};
    (void)inet_pton(AF_INET, address.c_str(), &a);  // validate() let only addresses through
    (source ? ip.src : ip.dst) = a;
    (source ? ip.smsk : ip.dmsk).s_addr = 0xffffffffu;
  }
  static Error error(int err, const std::string& table, const char* what, const std::string& chain = {}) {
    return iptcError(err, table, what, chain);
  }
  static constexpr auto first_rule = iptc_first_rule;
  static constexpr auto next_rule = iptc_next_rule;
  static constexpr auto get_target = iptc_get_target;
  static constexpr auto flush_entries = iptc_flush_entries;
  static constexpr auto append_entry = iptc_append_entry;
  static constexpr auto insert_entry = iptc_insert_entry;
  static constexpr auto delete_num_entry = iptc_delete_num_entry;
  static constexpr auto is_chain = iptc_is_chain;
  static constexpr auto create_chain = iptc_create_chain;
  static constexpr auto delete_chain = iptc_delete_chain;
  static constexpr auto first_chain = iptc_first_chain;
  static constexpr auto next_chain = iptc_next_chain;
};

xtc_handle* init(const char* table) { return iptc_init(table); }
int commit(xtc_handle* h) { return iptc_commit(h); }
void freeHandle(xtc_handle* h) { iptc_free(h); }

}  // namespace

Result<bool> syncTable(xtc_handle* h, const fw::Table& table) { return impl::Ops<V4>::syncTable(h, table); }

Result<bool> removeOwn(xtc_handle* h, const std::string& table) { return impl::Ops<V4>::removeOwn(h, table); }

const Family& family4() {
  static const Family f{init, commit, freeHandle, syncTable, removeOwn, iptcError};
  return f;
}

}  // namespace tetherd::iptc
