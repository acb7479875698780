// IptcFirewall: fw::buildTables() written into the kernel's legacy x_tables with libiptc.
// The table content itself (entries built byte for byte, rules recognised by key) is
// iptc_tables.cpp; here are the xtables lock, the transaction per table and the counters.
#include "tether/system/netfilter/iptc_firewall.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include <libiptc/libiptc.h>

#include "tether/base/files.h"
#include "tether/base/log.h"
#include "tether/system/netfilter/iptc_tables.h"

namespace tetherd {
namespace {

using iptc::iptcError;

constexpr int kLockAttempts = 4;
constexpr auto kLockRetryDelay = std::chrono::milliseconds(2);  // at most ~6 ms of waiting
constexpr int kCommitAttempts = 5;
constexpr const char* kTables[] = {"filter", "nat", "mangle"};

struct HandleDeleter {
  void operator()(xtc_handle* h) const { iptc_free(h); }
};
using Handle = std::unique_ptr<xtc_handle, HandleDeleter>;

// A handle of either family (freed by its own library).
struct AnyHandle {
  const iptc::Family* family;
  xtc_handle* h;
  AnyHandle(const iptc::Family& f, xtc_handle* handle) : family(&f), h(handle) {}
  AnyHandle(const AnyHandle&) = delete;
  AnyHandle& operator=(const AnyHandle&) = delete;
  ~AnyHandle() {
    if (h != nullptr) family->free(h);
  }
};

// Where IptcFirewall keeps a table's tally and trust: IPv4 tables by name ("filter"), IPv6
// ones as "ip6:<name>".
std::string tableKey(const fw::Table& t) { return t.family == 6 ? "ip6:" + t.name : t.name; }

// ---- xtables lock ----------------------------------------------------------------------

// flock(LOCK_EX) on the lock file iptables-legacy uses; released when closed.
class XtablesLock {
 public:
  static Result<XtablesLock> acquire(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return systemError("open xtables lock " + path, errno);
    XtablesLock lock(fd);
    for (int attempt = 1;;) {
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return Result<XtablesLock>(std::move(lock));
      if (errno == EINTR) continue;
      if (errno != EWOULDBLOCK) return systemError("flock " + path, errno);
      if (attempt++ >= kLockAttempts) {
        return makeError(Errc::Busy, "xtables lock " + path + " is held by another process");
      }
      std::this_thread::sleep_for(kLockRetryDelay);
    }
  }

  XtablesLock(XtablesLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  XtablesLock& operator=(XtablesLock&&) = delete;
  ~XtablesLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit XtablesLock(int fd) : fd_(fd) {}
  int fd_;
};

// Under the lock: init -> modify -> commit on one table. `modify` returns whether it changed
// anything; an unchanged table is not committed. A commit that fails with EAGAIN (another
// process replaced the table since init) is redone from a fresh snapshot. Returns whether the
// table was committed; `reads` counts the iptc_init calls.
using Modify = std::function<Result<bool>(xtc_handle*)>;

Result<bool> transact(const iptc::Family& family, const std::string& lockPath, const std::string& table, unsigned& reads,
                      const Modify& modify) {
  auto lock = XtablesLock::acquire(lockPath);
  if (!lock) return lock.error();
  for (int attempt = 1;; ++attempt) {
    ++reads;
    AnyHandle h(family, family.init(table.c_str()));
    if (h.h == nullptr) return family.error(errno, table, "iptc_init", {});
    auto changed = modify(h.h);
    if (!changed) return changed.error();
    if (!*changed) return false;
    if (family.commit(h.h) != 0) return true;
    const int err = errno;
    if (err != EAGAIN || attempt >= kCommitAttempts) return family.error(err, table, "iptc_commit", {});
    log::debug("firewall: table ", table, " changed under us, redoing (attempt ", attempt, ")");
  }
}

std::string ifaceName(const char* via) { return std::string(via, strnlen(via, IFNAMSIZ)); }

}  // namespace

// ---- IptcFirewall -------------------------------------------------------------------------

std::string IptcFirewall::defaultLockPath() {
  const char* env = std::getenv("XTABLES_LOCKFILE");
  return env != nullptr && *env != '\0' ? env : "/run/xtables.lock";
}

IptcFirewall::IptcFirewall() : IptcFirewall(defaultLockPath()) {}

IptcFirewall::IptcFirewall(std::string lockPath) : lockPath_(std::move(lockPath)) {}

unsigned IptcFirewall::commitCount() const {
  unsigned n = 0;
  for (const auto& [table, tally] : tally_) n += tally.commits;
  return n;
}

unsigned IptcFirewall::commitCount(std::string_view table) const {
  auto it = tally_.find(table);
  return it == tally_.end() ? 0 : it->second.commits;
}

unsigned IptcFirewall::readCount() const {
  unsigned n = 0;
  for (const auto& [table, tally] : tally_) n += tally.reads;
  return n;
}

unsigned IptcFirewall::readCount(std::string_view table) const {
  auto it = tally_.find(table);
  return it == tally_.end() ? 0 : it->second.reads;
}

Status IptcFirewall::reset() {
  applied_.clear();
  for (const char* table : kTables) {
    Tally& tally = tally_[table];
    auto committed =
        transact(iptc::family4(), lockPath_, table, tally.reads, [&](xtc_handle* h) { return iptc::removeOwn(h, table); });
    if (!committed) return committed.error();
    if (*committed) {
      ++tally.commits;
      log::debug("firewall: removed tetherd chains from table ", table);
    }
    if (std::string_view(table) == "filter") countedPairs_.clear(), countedClients_.clear(), countedClients6_.clear();
  }
  // IPv6: only the tables the kernel has (/proc/net/ip6_tables_names lists a table once
  // anything used it): reading one would create it, and load its module, for nothing.
  std::string names;
  if (auto text = readFile("/proc/net/ip6_tables_names", 4096)) names = *text;
  for (const char* table : kTables) {
    if (("\n" + names).find("\n" + std::string(table) + "\n") == std::string::npos) continue;
    Tally& tally = tally_[std::string("ip6:") + table];
    auto committed =
        transact(iptc::family6(), lockPath_, table, tally.reads, [&](xtc_handle* h) { return iptc::family6().removeOwn(h, table); });
    if (!committed && committed.error().code == Errc::Busy) return committed.error();
    if (!committed) log::warning("firewall: ", committed.error().message);
    else if (*committed) ++tally.commits;
  }
  return {};
}

Status IptcFirewall::apply(const FirewallState& s) {
  if (auto valid = fw::validate(s); !valid) return valid;
  // One transaction per table whose desired content differs from what the last successful
  // apply() left in it; the others are not read (trusted: see iptc_firewall.h). If a later
  // table fails (Busy), the earlier ones stay applied, but every table is forgotten: the retry
  // reads all three, finds the earlier ones done (no commit) and finishes the job.
  auto tables = fw::buildTables(s);
  for (auto& t : fw::buildTables6(s)) tables.push_back(std::move(t));
  // A state that no longer wants IPv6: tetherd's IPv6 chains go (read once, then trusted).
  if (!s.ipv6 && applied_.count("ip6:filter") != 0) {
    FirewallState none;
    none.ipv6 = true;
    for (auto t : fw::buildTables6(none)) {
      for (const auto& c : t.chains) t.absent.push_back(c.name);  // with those already absent
      t.chains.clear();
      tables.push_back(std::move(t));
    }
  }
  std::set<std::string> clientChains, clientChains6;
  for (const auto& [d, a] : s.clients) {
    if (s.downstreams.count(d) == 0) continue;
    if (std::any_of(a.begin(), a.end(), [](const auto& x) { return x.find(':') == std::string::npos; })) clientChains.insert(d);
    if (s.ipv6 && std::any_of(a.begin(), a.end(), [](const auto& x) { return x.find(':') != std::string::npos; }))
      clientChains6.insert(d);
  }
  if (!s.ipv6) countedClients6_.clear();
  for (auto& table : tables) {
    const bool filter = table.name == "filter" && table.family == 4;
    const bool filter6 = table.name == "filter" && table.family == 6 && s.ipv6;
    const std::string key = tableKey(table);
    if (auto it = applied_.find(key); it != applied_.end() && it->second == table) {
      if (filter) countedPairs_ = s.pairs, countedClients_ = clientChains;
      if (filter6) countedClients6_ = clientChains6;
      continue;
    }
    Tally& tally = tally_[key];
    const auto& family = table.family == 6 ? iptc::family6() : iptc::family4();
    auto committed = transact(family, lockPath_, table.name, tally.reads, [&](xtc_handle* h) { return family.syncTable(h, table); });
    if (!committed) {
      applied_.clear();
      return committed.error();
    }
    if (*committed) {
      ++tally.commits;
      log::debug("firewall: committed table ", table.name);
    }
    if (filter) countedPairs_ = s.pairs, countedClients_ = clientChains;
    if (filter6) countedClients6_ = clientChains6;
    if (table.chains.empty() && table.family == 6 && !s.ipv6) applied_.erase(key);  // all gone
    else applied_.insert_or_assign(key, std::move(table));
  }
  return {};
}

Result<std::vector<TrafficCounter>> IptcFirewall::counters() {
  std::vector<TrafficCounter> out;
  if (countedPairs_.empty()) return out;

  // Whatever goes wrong below, filter is not what apply() left: the next apply() reads it.
  auto untrusted = [this](Error error) {
    applied_.erase("filter");
    return error;
  };
  ++tally_["filter"].reads;
  Handle h(iptc_init("filter"));
  if (!h) {
    const int err = errno;
    return untrusted(iptcError(err, "filter", "iptc_init"));
  }
  const std::string chain(fw::kCountersChain);
  if (!iptc_is_chain(chain.c_str(), h.get())) {
    return untrusted(makeError(Errc::NotFound, "chain " + chain + " is missing (removed outside tetherd?)"));
  }
  // tetherd_counters holds one "-i a -o b -j ACCEPT" per direction of each pair.
  std::map<std::pair<std::string, std::string>, xt_counters> byDirection;
  for (const ipt_entry* e = iptc_first_rule(chain.c_str(), h.get()); e != nullptr; e = iptc_next_rule(e, h.get())) {
    byDirection.emplace(std::pair(ifaceName(e->ip.iniface), ifaceName(e->ip.outiface)), e->counters);
  }
  for (const auto& [d, u] : countedPairs_) {
    auto tx = byDirection.find({d, u});
    auto rx = byDirection.find({u, d});
    if (tx == byDirection.end() || rx == byDirection.end()) {
      return untrusted(makeError(Errc::NotFound, "counter rules for " + d + " <-> " + u + " are missing in " + chain));
    }
    out.push_back(TrafficCounter{d, u, tx->second.bcnt, tx->second.pcnt, rx->second.bcnt, rx->second.pcnt});
  }

  // The whole table is in memory anyway: check the rest of tetherd's part of it against what
  // apply() wrote, by syncing this private snapshot (never committed; the counts above are
  // already copied out). A difference withdraws the trust in filter.
  if (auto it = applied_.find("filter"); it != applied_.end()) {
    auto changed = iptc::syncTable(h.get(), it->second);
    if (!changed || *changed) {
      log::notice("firewall: tetherd's rules in table filter were changed outside tetherd; the next apply restores them");
      applied_.erase(it);
    }
  }
  return out;
}

}  // namespace tetherd

namespace tetherd {

Result<std::vector<ClientCounter>> IptcFirewall::clientCounters() {
  std::vector<ClientCounter> out;
  if (!countedClients6_.empty()) {  // IPv6 after IPv4 (below)
    ++tally_["ip6:filter"].reads;
    auto v6 = iptc::clientCounters6(countedClients6_);
    if (!v6) {
      applied_.erase("ip6:filter");
      return v6.error();
    }
    out = std::move(*v6);
  }
  if (countedClients_.empty()) return out;
  std::vector<ClientCounter> v6 = std::move(out);
  out.clear();
  ++tally_["filter"].reads;
  Handle h(iptc_init("filter"));
  if (!h) {
    const int err = errno;
    applied_.erase("filter");
    return iptcError(err, "filter", "iptc_init");
  }
  auto text = [](const in_addr& a) {
    char buf[INET_ADDRSTRLEN] = {};
    return std::string(inet_ntop(AF_INET, &a, buf, sizeof(buf)) != nullptr ? buf : "");
  };
  for (const auto& d : countedClients_) {
    const std::string chain = fw::clientChain(d);
    if (!iptc_is_chain(chain.c_str(), h.get())) {
      applied_.erase("filter");
      return makeError(Errc::NotFound, "chain " + chain + " is missing (removed outside tetherd?)");
    }
    // Rules come in pairs per address: "-s a -j RETURN" (upload), then "-d a -j RETURN"
    // (a client with a quota: after its two jumps to its quota chain).
    for (const ipt_entry* e = iptc_first_rule(chain.c_str(), h.get()); e != nullptr; e = iptc_next_rule(e, h.get())) {
      const char* target = iptc_get_target(e, h.get());
      if (target == nullptr || std::string_view(target) != "RETURN") continue;  // a quota's jump
      const bool up = e->ip.smsk.s_addr == 0xffffffffu;
      if (!up && e->ip.dmsk.s_addr != 0xffffffffu) continue;
      const std::string address = text(up ? e->ip.src : e->ip.dst);
      if (out.empty() || out.back().downstream != d || out.back().address != address) out.push_back({d, address});
      auto& c = out.back();
      (up ? c.txBytes : c.rxBytes) += e->counters.bcnt;
      (up ? c.txPackets : c.rxPackets) += e->counters.pcnt;
    }
  }
  out.insert(out.end(), v6.begin(), v6.end());
  return out;
}

}  // namespace tetherd
