#include "tether/core/dhcp_service.h"

#include <boost/asio/post.hpp>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>

#include "tether/system/dnsmasq.h"
#include "tether/base/files.h"
#include "tether/base/log.h"

namespace tetherd {

LeaseReader::LeaseReader(Warn warn) : warn_(std::move(warn)) {
  if (!warn_) warn_ = [](const std::string& m) { log::warning(m); };
}

std::vector<Lease> LeaseReader::read(const std::string& path) {
  auto once = [this, &path](const std::string& key, const std::string& message) {
    std::string k = path + "\n" + key;
    if (logged_.count(k)) return;
    if (logged_.size() >= kMaxRemembered) {
      if (!full_) warn_("dnsmasq lease file " + path + ": more bad lines than tetherd remembers; further ones are not logged");
      full_ = true;
      return;
    }
    logged_.insert(std::move(k));
    warn_(message);
  };
  auto text = readFile(path, 1 << 20);
  if (!text) {
    if (text.error().code != Errc::NotFound) once("read: " + text.error().message, "dnsmasq leases: " + text.error().message);
    return {};
  }
  LeaseFile file = parseLeaseFile(*text);
  for (const auto& b : file.bad)
    once(b.text, "dnsmasq lease file " + path + " line " + std::to_string(b.number) + " is not a lease, ignored: " + b.cause);
  return std::move(file.leases);
}

DnsmasqService::DnsmasqService(boost::asio::io_context& io, ProcessRunner& runner, const Config& config)
    : io_(io), runner_(runner), config_(config) {}

DnsmasqService::~DnsmasqService() = default;

std::string DnsmasqService::serversFile() const { return dnsmasqServersPath(config_.runDir); }

void DnsmasqService::cleanupStale() {
  // dnsmasq's pid file is owned by the user it drops to ("nobody"), who could point it at
  // another dnsmasq: only a process whose command line is our own instance is stopped.
  const Config& c = config_;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(config_.runDir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("dnsmasq-", 0) == 0 && name.size() > 12 && name.substr(name.size() - 4) == ".pid") {
      const std::string ifname = name.substr(8, name.size() - 12);
      auto ours = [&c, ifname](const std::vector<std::string>& argv) {
        return isOwnDnsmasq(argv, c.dnsmasqPath, c.runDir, c.stateDir, ifname);
      };
      if (auto st = killStalePidFile(entry.path().string(), "dnsmasq", ours); !st)
        log::warning("stale dnsmasq ", name, ": ", st.error().message);
      else
        log::notice("removed stale dnsmasq of a previous run (", name, ")");
    }
  }
  // Also those a killed run started before their pid file existed: found by their argument.
  std::string runDir = config_.runDir;
  while (runDir.size() > 1 && runDir.back() == '/') runDir.pop_back();
  auto ours = [&c](const std::vector<std::string>& argv) { return isOwnDnsmasq(argv, c.dnsmasqPath, c.runDir, c.stateDir); };
  if (auto st = killStaleWithArgument("dnsmasq", "--pid-file=" + (runDir == "/" ? "" : runDir) + "/dnsmasq-", ours); !st)
    log::warning("stale dnsmasq: ", st.error().message);
}

Result<std::vector<std::string>> DnsmasqService::argvFor(const Downstream& d) const {
  DnsmasqDownstream dd{d.ifname, d.subnet, d.address, config_.rangeFirstHost, config_.rangeLastHost,
                       config_.leaseTimeSec, d.address6, d.localOnly, config_.localDomain, config_.dhcp6Stateful,
                       d.offLink, dnsmasqUser().name};
  return dnsmasqArgv(config_.dnsmasqPath, dd, config_.runDir, config_.stateDir);
}

void DnsmasqService::reconfigure(const Config& config) {
  config_ = config;
  for (const auto& [ifname, d] : downstreams_) {
    auto it = instances_.find(ifname);
    if (it == instances_.end()) continue;
    auto argv = argvFor(d);
    if (!argv) {
      log::error("dnsmasq for ", ifname, ": new settings refused, keeping the running ones: ", argv.error().message);
      continue;
    }
    if (it->second->spec().argv == *argv) continue;
    log::notice("dnsmasq for ", ifname, ": DHCP settings changed, restarting it (leases kept)");
    it->second->setSpec(ProcessSpec{"dnsmasq-" + ifname, std::move(*argv), {}});
    it->second->restart();
  }
}

Status DnsmasqService::start(const Downstream& d) {
  // dnsmasq reads the servers file after dropping to nobody: the run dir must let it in.
  struct stat st {};
  if (::stat(config_.runDir.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0)
    return makeError(Errc::DhcpServerError, "run_dir " + config_.runDir +
                                                " is not searchable by others (mode 0755 needed): dnsmasq could not read its servers file");
  if (!std::filesystem::exists(serversFile()))
    if (auto st = writeFileAtomic(serversFile(), dnsmasqServersFile(servers_, servers6_), 0644); !st) return st;
  auto argv = argvFor(d);
  if (!argv) return argv.error();
  if (auto st = writeHosts(d); !st) return makeError(Errc::DhcpServerError, "dnsmasq hosts file: " + st.error().message);
  // dnsmasq creates its lease file 0644 (umask 022): made private (0600) before it opens it;
  // it rewrites the file in place, so the mode stays.
  if (auto st = ensurePrivateFile(dnsmasqLeasePath(config_.stateDir, d.ifname), 0600); !st)
    return makeError(Errc::DhcpServerError, "dnsmasq lease file: " + st.error().message);
  ProcessSpec spec{"dnsmasq-" + d.ifname, std::move(*argv), {}};
  downstreams_[d.ifname] = d;
  auto it = instances_.find(d.ifname);
  if (it != instances_.end()) {
    if (it->second->spec().argv == spec.argv && it->second->running()) return {};
    it->second->setSpec(std::move(spec));
    it->second->restart();
    return {};
  }
  auto sup = std::make_unique<Supervisor>(runner_, io_, std::move(spec));
  std::string ifname = d.ifname;
  sup->onExited([ifname](int status, bool willRestart) {
    // An exit tetherd asked for (stop) is routine; an unexpected one is worth a warning.
    if (willRestart) log::warning("dnsmasq for ", ifname, " exited (", describeExit(status), "), restarting");
    else log::debug("dnsmasq for ", ifname, " exited (", describeExit(status), ")");
  });
  if (auto st = sup->start(); !st) {
    return makeError(Errc::DhcpServerError, "cannot start dnsmasq for " + d.ifname + ": " + st.error().message);
  }
  instances_[d.ifname] = std::move(sup);
  return {};
}

void DnsmasqService::stop(const std::string& ifname) {
  downstreams_.erase(ifname);
  auto it = instances_.find(ifname);
  if (it == instances_.end()) return;
  Supervisor* raw = it->second.get();
  stopping_.push_back(std::move(it->second));
  instances_.erase(it);
  raw->stop([this, raw, pidFile = dnsmasqPidPath(config_.runDir, ifname), hosts = dnsmasqHostsPath(config_.runDir, ifname)] {
    // dnsmasq, running as nobody by then, leaves its pid file: run_dir keeps nothing of a stopped one.
    ::unlink(pidFile.c_str());
    ::unlink(hosts.c_str());
    // Destroy the supervisor after its own callback has returned.
    boost::asio::post(io_, [this, raw] {
      std::erase_if(stopping_, [raw](const std::unique_ptr<Supervisor>& s) { return s.get() == raw; });
    });
  });
}

Status DnsmasqService::setServers(const std::vector<Ipv4Address>& servers, const std::vector<Ipv6Address>& servers6) {
  servers_ = servers;
  servers6_ = servers6;
  if (auto st = writeFileAtomic(serversFile(), dnsmasqServersFile(servers_, servers6_), 0644); !st) return st;
  for (auto& [n, s] : instances_)
    if (s->running()) (void)s->signal(SIGHUP);  // re-reads the servers file, keeps leases
  return {};
}

Status DnsmasqService::writeHosts(const Downstream& d) const {
  return writeFileAtomic(dnsmasqHostsPath(config_.runDir, d.ifname), dnsmasqHostsFile(pins_, d.subnet), 0644);
}

Status DnsmasqService::setStaticLeases(const std::vector<StaticLease>& pins) {
  const auto before = pins_;
  pins_ = pins;
  Status result;
  for (const auto& [ifname, d] : downstreams_) {
    if (dnsmasqHostsFile(before, d.subnet) == dnsmasqHostsFile(pins_, d.subnet)) continue;
    if (auto st = writeHosts(d); !st) {
      result = st;
      continue;
    }
    auto it = instances_.find(ifname);
    if (it != instances_.end() && it->second->running()) (void)it->second->signal(SIGHUP);  // re-reads the hosts file
  }
  return result;
}

void DnsmasqService::stopAll(std::function<void()> done) {
  std::vector<std::string> names;
  for (auto& [n, s] : instances_) names.push_back(n);
  for (auto& n : names) stop(n);
  if (stopping_.empty()) {
    ::unlink(serversFile().c_str());
    boost::asio::post(io_, std::move(done));
    return;
  }
  auto remaining = std::make_shared<size_t>(stopping_.size());
  auto finish = std::make_shared<std::function<void()>>(std::move(done));
  for (auto& s : stopping_) {
    s->stop([this, remaining, finish] {
      if (--*remaining == 0) {
        ::unlink(serversFile().c_str());
        boost::asio::post(io_, *finish);
      }
    });
  }
}

bool DnsmasqService::running(const std::string& ifname) const {
  auto it = instances_.find(ifname);
  return it != instances_.end() && it->second->running();
}

int DnsmasqService::restarts(const std::string& ifname) const {
  auto it = instances_.find(ifname);
  return it == instances_.end() ? 0 : it->second->restartCount();
}

std::vector<Lease> DnsmasqService::leases(const std::string& ifname) const {
  return leaseReader_.read(dnsmasqLeasePath(config_.stateDir, ifname));
}

pid_t DnsmasqService::pid(const std::string& ifname) const {
  auto it = instances_.find(ifname);
  return it == instances_.end() ? 0 : it->second->pid();
}

}  // namespace tetherd
