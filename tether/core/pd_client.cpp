#include "tether/core/pd_client.h"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <csignal>
#include <utility>

#include "tether/base/file_watch.h"
#include "tether/base/files.h"
#include "tether/base/log.h"
#include "tether/system/dhcpcd.h"
#include "tether/system/dhcpcd_route.h"
#include "tether/system/process_record.h"

namespace tetherd {

namespace asio = boost::asio;

DhcpcdPdClient::DhcpcdPdClient(asio::io_context& io, ProcessRunner& runner, const Config& config)
    : io_(io), runner_(runner), config_(config), cleanRoute_(removeDhcpUnreachable6), expiry_(io) {}

namespace {
// The interface a hook file names (its `interface=` line), to parse a previous run's file.
std::string hookInterface(const std::string& text) {
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    std::string_view line(text.data() + at, (end == std::string::npos ? text.size() : end) - at);
    if (line.starts_with("interface=")) return std::string(line.substr(10));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return {};
}
}  // namespace

DhcpcdPdClient::~DhcpcdPdClient() = default;

std::string DhcpcdPdClient::recordPath() const { return config_.runDir + "/dhcpcd-pd.pid"; }

void DhcpcdPdClient::cleanupStale() {
  // A clean stop (its route removed, its helpers and files gone) before a new one starts; when
  // it had to be SIGKILLed, or was killed with the previous run, its route goes here.
  std::set<Ipv6Prefix> prefixes;
  if (auto text = readFile(dhcpcdEnvPath(config_.runDir), 64 * 1024 + 1))
    if (auto update = parseDhcpcdHookEnv(*text, hookInterface(*text)))
      for (const auto& p : update->prefixes) prefixes.insert(p.prefix);
  if (auto st = killRecordedChild(recordPath(), config_.dhcpcdPath, 6000); !st) log::warning("stale dhcpcd: ", st.error().message);
  ::unlink(dhcpcdEnvPath(config_.runDir).c_str());
  for (const auto& p : prefixes)
    if (auto st = cleanRoute_(p); !st) log::warning("stale dhcpcd: ", st.error().message);
}

Status DhcpcdPdClient::watch() {
  watch_ = std::make_unique<FileWatch>(io_, [this] { readEnvFile(); });
  return watch_->watch({dhcpcdEnvPath(config_.runDir)});
}

void DhcpcdPdClient::readEnvFile() {
  const std::string path = dhcpcdEnvPath(config_.runDir);
  auto text = readFile(path, 64 * 1024 + 1);
  if (!text) {
    if (text.error().code != Errc::NotFound) log::error(path, ": ", text.error().message);
    return;
  }
  if (auto st = take(*text, PdLease::Clock::now()); !st)
    log::error(path, ": ", st.error().message, lease_ ? " (keeping the delegation " + lease_->prefix.str() + ")" : "");
}

Status DhcpcdPdClient::take(const std::string& text, PdLease::Clock::time_point now) {
  if (!upstream_) return {};  // a stopping dhcpcd's last word
  auto update = parseDhcpcdHookEnv(text, *upstream_);
  if (!update) return update.error();
  for (const auto& why : update->ignored) log::warning("dhcpcd ", *upstream_, " (", update->reason, "): ignored ", why);
  for (const auto& p : update->prefixes) reported_.insert(p.prefix);
  if (update->kind == PdUpdate::Kind::Lost) {
    setLease(std::nullopt);
    return {};
  }
  // On a prefix change the reply may still carry the old one (lifetimes 0, left out by the
  // parser); of several usable ones, the one valid longest.
  const DelegatedPrefix* best = nullptr;
  for (const auto& p : update->prefixes)
    if (!best || p.validSec > best->validSec) best = &p;
  if (!best) log::warning("dhcpcd ", *upstream_, " (", update->reason, "): no usable delegated prefix");
  setLease(best ? std::optional<PdLease>(pdLease(*best, now)) : std::nullopt);
  return {};
}

void DhcpcdPdClient::setLease(std::optional<PdLease> lease) {
  if (lease == lease_) return;
  const bool samePrefix = lease && lease_ && lease->prefix == lease_->prefix;
  if (!samePrefix) log::notice("delegated prefix: ", lease_ ? lease_->prefix.str() : "none", " -> ", lease ? lease->prefix.str() : "none");
  lease_ = std::move(lease);
  expiry_.cancel();
  if (lease_ && lease_->validUntil != PdLease::Clock::time_point::max()) {
    expiry_.expires_at(lease_->validUntil);
    std::weak_ptr<char> alive = alive_;
    expiry_.async_wait([this, alive](boost::system::error_code ec) {
      if (ec || alive.expired()) return;
      log::warning("delegated prefix ", lease_ ? lease_->prefix.str() : "", ": valid lifetime over without a renewal");
      setLease(std::nullopt);
    });
  }
  std::weak_ptr<char> alive = alive_;
  asio::post(io_, [this, alive] {
    if (!alive.expired() && changed_) changed_();
  });
}

Status DhcpcdPdClient::startFor(const std::string& upstream) {
  DhcpcdSettings settings{upstream, config_.pdPrefixHint};
  auto conf = dhcpcdConf(settings, config_.runDir);
  if (!conf) return conf.error();
  auto hook = dhcpcdHookScript(config_.runDir);
  if (!hook) return hook.error();
  auto argv = dhcpcdArgv(config_.dhcpcdPath, settings, config_.runDir);
  if (!argv) return argv.error();
  if (auto st = writeFileAtomic(dhcpcdConfPath(config_.runDir), *conf, 0644); !st) return st;
  if (auto st = writeFileAtomic(dhcpcdHookPath(config_.runDir), *hook, 0755); !st) return st;
  // dhcpcd gives its privilege-separation helpers up to 5 s to stop (PS_PROCESS_TIMEOUT) before
  // it removes its route and exits: SIGKILL only after that.
  Supervisor::Options options;
  options.stopTimeout = std::chrono::milliseconds(7000);
  dhcpcd_ = std::make_unique<Supervisor>(runner_, io_, ProcessSpec{"dhcpcd-" + upstream, std::move(*argv), {}}, options);
  auto group = std::make_shared<pid_t>(0);
  dhcpcd_->onStarted([this, group](pid_t pid) {
    *group = pid;
    if (auto st = recordChild(recordPath(), pid); !st) log::warning("dhcpcd: ", st.error().message);
  });
  // Its privilege-separation helpers share its process group (the runner gives each child its
  // own session): when the main process was SIGKILLed (deaf to SIGTERM for 3 s, seen) they
  // outlive it, so the group goes too. No new process can take that group id while a helper
  // still holds it.
  dhcpcd_->onExited([this, group, alive = std::weak_ptr<char>(alive_)](int, bool) {
    if (*group > 1) ::kill(-*group, SIGKILL);
    *group = 0;
    if (alive.expired()) return;
    for (const auto& p : reported_)  // left behind when it was SIGKILLed (no-op otherwise)
      if (auto st = cleanRoute_(p); !st) log::warning("dhcpcd: ", st.error().message);
    reported_.clear();
  });
  return dhcpcd_->start();
}

void DhcpcdPdClient::setUpstream(const std::optional<std::string>& upstream) {
  if (upstream == upstream_) return;
  log::notice("prefix delegation: ", upstream ? "asking on " + *upstream : "off", upstream_ ? " (was " + *upstream_ + ")" : "");
  stop({});
  upstream_ = upstream;
  if (!upstream_) return;
  if (auto st = startFor(*upstream_); !st) log::error("dhcpcd on ", *upstream_, ": ", st.error().message);
}

void DhcpcdPdClient::reconfigure(const Config& config) {
  const bool restart = config.pdPrefixHint != config_.pdPrefixHint || config.dhcpcdPath != config_.dhcpcdPath;
  config_ = config;
  if (!restart || !upstream_) return;
  const std::string upstream = *upstream_;
  setUpstream(std::nullopt);
  setUpstream(upstream);
}

void DhcpcdPdClient::stop(std::function<void()> done) {
  upstream_.reset();
  setLease(std::nullopt);
  ::unlink(dhcpcdEnvPath(config_.runDir).c_str());
  if (done) waiters_.push_back(std::move(done));
  if (dhcpcd_) {
    // The supervisor lives until its child is reaped (then it is let go of on the loop).
    std::shared_ptr<Supervisor> old(std::move(dhcpcd_));
    stopping_.push_back(old);
    std::weak_ptr<char> alive = alive_;
    old->stop([this, alive, raw = old.get()] {
      if (alive.expired()) return;
      for (auto it = stopping_.begin(); it != stopping_.end(); ++it)
        if (it->get() == raw) {
          asio::post(io_, [keep = std::move(*it)] {});
          stopping_.erase(it);
          break;
        }
      stopped();
    });
  }
  if (stopping_.empty()) stopped();
}

// Every dhcpcd has exited: nothing of its is left in run_dir unless a new one runs; waiters go.
void DhcpcdPdClient::stopped() {
  if (!stopping_.empty()) return;
  if (!dhcpcd_)
    for (const auto& f : {recordPath(), dhcpcdConfPath(config_.runDir), dhcpcdHookPath(config_.runDir),
                          dhcpcdEnvPath(config_.runDir)})
      ::unlink(f.c_str());
  for (auto& w : std::exchange(waiters_, {})) asio::post(io_, std::move(w));
}

}  // namespace tetherd
