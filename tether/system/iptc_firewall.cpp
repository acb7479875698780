// IptcFirewall: fw::buildTables() written into the kernel's legacy x_tables with libiptc.
// The table content itself (entries built byte for byte, rules recognised by key) is
// iptc_tables.cpp; here are the xtables lock, the transaction per table and the counters.
#include "tether/system/iptc_firewall.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include <libiptc/libiptc.h>

#include "tether/base/log.h"
#include "tether/system/iptc_tables.h"

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
// table was committed.
using Modify = std::function<Result<bool>(xtc_handle*)>;

Result<bool> transact(const std::string& lockPath, const std::string& table, const Modify& modify) {
  auto lock = XtablesLock::acquire(lockPath);
  if (!lock) return lock.error();
  for (int attempt = 1;; ++attempt) {
    Handle h(iptc_init(table.c_str()));
    if (!h) return iptcError(errno, table, "iptc_init");
    auto changed = modify(h.get());
    if (!changed) return changed.error();
    if (!*changed) return false;
    if (iptc_commit(h.get()) != 0) return true;
    const int err = errno;
    if (err != EAGAIN || attempt >= kCommitAttempts) return iptcError(err, table, "iptc_commit");
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

Status IptcFirewall::reset() {
  for (const char* table : kTables) {
    auto committed = transact(lockPath_, table, [&](xtc_handle* h) { return iptc::removeOwn(h, table); });
    if (!committed) return committed.error();
    if (*committed) {
      ++commits_;
      log::debug("firewall: removed tetherd chains from table ", table);
    }
    if (std::string_view(table) == "filter") countedPairs_.clear();
  }
  return {};
}

Status IptcFirewall::apply(const FirewallState& s) {
  if (auto valid = fw::validate(s); !valid) return valid;
  // One transaction per table. If a later table fails (Busy), the earlier ones stay applied:
  // apply() is idempotent, and the retry finishes the job without touching them again.
  for (const auto& table : fw::buildTables(s)) {
    auto committed = transact(lockPath_, table.name, [&](xtc_handle* h) { return iptc::syncTable(h, table); });
    if (!committed) return committed.error();
    if (*committed) {
      ++commits_;
      log::debug("firewall: committed table ", table.name);
    }
    if (table.name == "filter") countedPairs_ = s.pairs;
  }
  return {};
}

Result<std::vector<TrafficCounter>> IptcFirewall::counters() {
  std::vector<TrafficCounter> out;
  if (countedPairs_.empty()) return out;

  Handle h(iptc_init("filter"));
  if (!h) {
    const int err = errno;
    return iptcError(err, "filter", "iptc_init");
  }
  const std::string chain(fw::kCountersChain);
  if (!iptc_is_chain(chain.c_str(), h.get())) {
    return makeError(Errc::NotFound, "chain " + chain + " is missing (removed outside tetherd?)");
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
      return makeError(Errc::NotFound, "counter rules for " + d + " <-> " + u + " are missing in " + chain);
    }
    out.push_back(TrafficCounter{d, u, tx->second.bcnt, tx->second.pcnt, rx->second.bcnt, rx->second.pcnt});
  }
  return out;
}

}  // namespace tetherd
