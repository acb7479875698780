// The IPv6 family of iptc_tables_impl.h: libip6tc and ip6t_entry. libip6tc.h has no
// extern "C" of its own (ipv6-facts.md, section 6).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <climits>  // libip6tc.h includes it under __cplusplus: not inside extern "C"

extern "C" {
#include <libiptc/libip6tc.h>
}
#include <linux/netfilter/nf_nat.h>

#include "tether/system/netfilter/iptc_tables_impl.h"

namespace tetherd::iptc {

namespace {

static_assert(sizeof(impl::Icmp6Info) == sizeof(ip6t_icmp));

Error ip6tcError(int err, const std::string& table, const char* what, const std::string& chain) {
  std::string message = "ip6tables table " + table + ": " + what;
  if (!chain.empty()) message += " " + chain;
  return makeError(Errc::SystemError, message + ": " + ip6tc_strerror(err));
}

struct V6 {
  using Raw = ip6t_entry;
  static constexpr const char* kAccept = IP6TC_LABEL_ACCEPT;
  static constexpr const char* kDrop = IP6TC_LABEL_DROP;
  static constexpr uint8_t kGoto = IP6T_F_GOTO;
  static constexpr size_t kMasqueradeSize = sizeof(nf_nat_range);
  static void initMasquerade(void*) {}  // ip6tables leaves the range all zero
  static ip6t_ip6& ipPart(ip6t_entry* e) { return e->ipv6; }
  static const ip6t_ip6& ipPart(const ip6t_entry* e) { return e->ipv6; }
  // ip6tables matches the protocol only with IP6T_F_PROTO set.
  static void setProto(ip6t_ip6& ip, uint16_t proto) {
    ip.proto = proto;
    ip.flags |= IP6T_F_PROTO;
  }
  // -s fc00::/7
  static void setUlaSource(ip6t_ip6& ip) {
    ip.src.s6_addr[0] = 0xfc;
    ip.smsk.s6_addr[0] = 0xfe;
  }
  static void setHost(ip6t_ip6& ip, const std::string& address, bool source) {
    in6_addr a{};
    (void)inet_pton(AF_INET6, address.c_str(), &a);  // validate() let only addresses through
    (source ? ip.src : ip.dst) = a;
    std::memset(&(source ? ip.smsk : ip.dmsk), 0xff, sizeof(in6_addr));
  }
  static Error error(int err, const std::string& table, const char* what, const std::string& chain = {}) {
    return ip6tcError(err, table, what, chain);
  }
  static constexpr auto first_rule = ip6tc_first_rule;
  static constexpr auto next_rule = ip6tc_next_rule;
  static constexpr auto get_target = ip6tc_get_target;
  static constexpr auto flush_entries = ip6tc_flush_entries;
  static constexpr auto append_entry = ip6tc_append_entry;
  static constexpr auto insert_entry = ip6tc_insert_entry;
  static constexpr auto delete_num_entry = ip6tc_delete_num_entry;
  static constexpr auto is_chain = ip6tc_is_chain;
  static constexpr auto create_chain = ip6tc_create_chain;
  static constexpr auto delete_chain = ip6tc_delete_chain;
  static constexpr auto first_chain = ip6tc_first_chain;
  static constexpr auto next_chain = ip6tc_next_chain;
};

xtc_handle* init(const char* table) { return ip6tc_init(table); }
int commit(xtc_handle* h) { return ip6tc_commit(h); }
void freeHandle(xtc_handle* h) { ip6tc_free(h); }
Result<bool> sync(xtc_handle* h, const fw::Table& table) { return impl::Ops<V6>::syncTable(h, table); }
Result<bool> remove(xtc_handle* h, const std::string& table) { return impl::Ops<V6>::removeOwn(h, table); }

}  // namespace

const Family& family6() {
  static const Family f{init, commit, freeHandle, sync, remove, ip6tcError};
  return f;
}

Result<std::vector<ClientCounter>> clientCounters6(const std::set<std::string>& downstreams) {
  std::vector<ClientCounter> out;
  if (downstreams.empty()) return out;
  xtc_handle* h = ip6tc_init("filter");
  if (h == nullptr) {
    const int err = errno;
    return ip6tcError(err, "filter", "ip6tc_init", {});
  }
  struct Free {
    xtc_handle* h;
    ~Free() { ip6tc_free(h); }
  } guard{h};
  in6_addr host;
  std::memset(&host, 0xff, sizeof host);
  for (const auto& d : downstreams) {
    const std::string chain = fw::clientChain(d);
    if (!ip6tc_is_chain(chain.c_str(), h))
      return makeError(Errc::NotFound, "ip6tables chain " + chain + " is missing (removed outside tetherd?)");
    // As in IPv4: "-s a -j RETURN" (upload), then "-d a -j RETURN", per address.
    for (const ip6t_entry* e = ip6tc_first_rule(chain.c_str(), h); e != nullptr; e = ip6tc_next_rule(e, h)) {
      const char* target = ip6tc_get_target(e, h);
      if (target == nullptr || std::string_view(target) != "RETURN") continue;  // a quota's jump
      const bool up = std::memcmp(&e->ipv6.smsk, &host, sizeof host) == 0;
      if (!up && std::memcmp(&e->ipv6.dmsk, &host, sizeof host) != 0) continue;
      char buf[INET6_ADDRSTRLEN] = {};
      const std::string address = inet_ntop(AF_INET6, up ? &e->ipv6.src : &e->ipv6.dst, buf, sizeof buf) != nullptr ? buf : "";
      if (out.empty() || out.back().downstream != d || out.back().address != address) out.push_back({d, address});
      auto& c = out.back();
      (up ? c.txBytes : c.rxBytes) += e->counters.bcnt;
      (up ? c.txPackets : c.rxPackets) += e->counters.pcnt;
    }
  }
  return out;
}

}  // namespace tetherd::iptc
