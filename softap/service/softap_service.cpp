#include "softap/service/softap_service.h"

#include <sys/random.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <csignal>
#include <filesystem>

#include "tether/base/files.h"
#include "tether/base/log.h"

namespace tetherd::softap {

namespace asio = boost::asio;
namespace fs = std::filesystem;

SoftApService::SoftApService(asio::io_context& io, ProcessRunner& runner, const DhcpService& dhcp, const Config& config,
                             EventSink events, std::function<void(const std::string&)> ready,
                             std::function<void(const std::string&, const Error&)> lost)
    : io_(io), runner_(runner), dhcp_(dhcp), config_(config), events_(std::move(events)), ready_(std::move(ready)),
      lost_(std::move(lost)), connectTimer_(io) {}

SoftApService::~SoftApService() {
  ctrl_.reset();
  hostapd_.reset();  // SIGKILLs a running child
}

std::string SoftApService::settingsPath() const { return config_.stateDir + "/softap.conf"; }
std::string SoftApService::denyPath() const { return config_.stateDir + "/softap-deny"; }
std::string SoftApService::confPath() const { return config_.runDir + "/hostapd-" + config_.softapInterface + ".conf"; }
std::string SoftApService::ctrlDir() const { return config_.runDir + "/hostapd"; }
std::string SoftApService::pidPath() const { return config_.runDir + "/hostapd-" + config_.softapInterface + ".pid"; }

Status SoftApService::load() {
  (void)killStalePidFile(pidPath(), "hostapd");
  (void)killStaleWithArgument("hostapd", confPath());  // killed before the pid file was written
  auto text = readFile(settingsPath(), 64 * 1024);
  if (text) {
    auto s = parseSettings(*text);
    if (!s) return makeError(Errc::InvalidArgument, settingsPath() + ": " + s.error().message);
    settings_ = *s;
  } else if (text.error().code == Errc::NotFound) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::string random(16, '\0');
    if (::getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size()))
      return systemError("getrandom", errno);
    settings_ = defaultSettings(host, random);
    if (auto st = persistSettings(settings_); !st) return st;
    log::notice("soft AP: first run, SSID '", settings_.ssid, "' with a random passphrase (tetherctl softap get passphrase)");
  } else {
    return text.error();
  }
  auto deny = readFile(denyPath(), 256 * 1024);
  if (deny) {
    auto macs = parseMacList(*deny);
    if (!macs) return makeError(Errc::InvalidArgument, denyPath() + ": " + macs.error().message);
    blocked_ = *macs;
  }
  return {};
}

void SoftApService::reconfigure(const Config& config) { config_ = config; }

Status SoftApService::persistSettings(const Settings& s) {
  return writeFileAtomic(settingsPath(), serializeSettings(s), 0600);
}

Status SoftApService::writeConf() {
  HostapdOptions o;
  o.ifname = config_.softapInterface;
  o.driver = config_.softapDriver;
  o.ctrlDir = ctrlDir();
  o.denyFile = denyPath();
  o.eapUserFile = config_.softapDriver == "wired" ? config_.softapEapUserFile : "";
  auto settings = confSettings();
  if (!settings) return settings.error();
  auto text = hostapdConf(*settings, o);
  if (!text) return text.error();
  if (auto st = writeFileAtomic(denyPath(), formatMacList(blocked_), 0600); !st) return st;
  return writeFileAtomic(confPath(), *text, 0600);  // holds the passphrase
}

// What can be known before starting hostapd, said plainly instead of hostapd's driver errors.
Status SoftApService::precheck() const {
  const std::string sys = "/sys/class/net/" + config_.softapInterface;
  if (!fs::exists(sys)) return makeError(Errc::UnavailIface, config_.softapInterface + " does not exist");
  if (config_.softapDriver != "nl80211") return {};
  if (!fs::exists(sys + "/phy80211"))
    return makeError(Errc::Unsupported, config_.softapInterface + " is not a Wi-Fi interface (no phy80211)");
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(sys + "/phy80211", ec)) {
    if (e.path().filename().string().rfind("rfkill", 0) != 0) continue;
    for (const char* kind : {"soft", "hard"}) {
      auto v = readFile(e.path().string() + "/" + kind, 16);
      if (v && !v->empty() && (*v)[0] == '1')
        return makeError(Errc::UnavailIface, config_.softapInterface + " is blocked by rfkill (" + kind + ")");
    }
  }
  return {};
}

bool SoftApService::isApInterface(const std::string& ifname) const {
  if (ifname != config_.softapInterface) return false;
  if (config_.softapDriver != "nl80211") return true;
  return fs::exists("/sys/class/net/" + ifname + "/phy80211");
}

Status SoftApService::start(const std::string& ifname) {
  if (!isApInterface(ifname)) return makeError(Errc::UnknownIface, ifname + " is not the soft AP interface");
  if (hostapd_) {  // running, or waiting out its restart backoff: the supervisor owns it
    if (enabled_) {
      std::weak_ptr<char> alive = alive_;
      asio::post(io_, [this, alive, ifname] {
        if (!alive.expired()) ready_(ifname);
      });
    }
    return {};
  }
  if (sharedRadio_ && stationFreq_ == 0)
    return makeError(Errc::Busy, ifname + " shares the Wi-Fi upstream's radio: waiting for the station to associate");
  if (auto st = precheck(); !st) return st;
  if (auto st = ensureDir(ctrlDir(), 0750); !st) return st;
  if (auto st = writeConf(); !st) return st;
  // No -P: hostapd writes it only when it daemonizes (-B), yet removes it when it exits, also
  // when that is after the next hostapd started. tetherd writes the pid file itself: the next
  // run's load() then finds a hostapd this run left behind (tetherd killed) and stops it.
  // -d: hostapd 2.10 tells of a failed SAE authentication only in its debug output
  // (softap/hostapd/hostapd_output.h); the log keeps the lines worth reading, the rest is debug.
  ProcessSpec spec{"hostapd", {config_.hostapdPath, "-d", confPath()}, hostapdLineWorthLogging};
  hostapd_ = std::make_unique<Supervisor>(runner_, io_, std::move(spec));
  hostapd_->onOutput([this](std::string_view line) {
    if (auto f = parseAuthFailure(line)) authFailed(*f);
  });
  hostapd_->onStarted([this](pid_t pid) {
    if (auto st = writeFileAtomic(pidPath(), std::to_string(pid) + "\n", 0644); !st)
      log::warning("soft AP: ", st.error().message);
    enabled_ = false;
    connectCtrl(0);
  });
  hostapd_->onExited([this](int status, bool willRestart) { onHostapdExit(status, willRestart); });
  lastError_.clear();
  return hostapd_->start();
}

void SoftApService::stop(const std::string& ifname) {
  if (!isApInterface(ifname)) return;
  connectTimer_.cancel();
  ctrl_.reset();
  enabled_ = false;
  connected_.clear();
  if (hostapd_) {
    Supervisor* raw = hostapd_.release();
    // Its exit no longer concerns this service, which may be running the next hostapd by then.
    raw->onStarted(nullptr);
    raw->onExited(nullptr);
    raw->onOutput(nullptr);
    const std::string pidText = std::to_string(raw->pid()) + "\n";
    ++pendingStops_;
    raw->stop([this, raw, pidText] {
      if (auto t = readFile(pidPath(), 64); t && *t == pidText) ::unlink(pidPath().c_str());
      asio::post(io_, [this, raw] {
        delete raw;
        if (--pendingStops_ == 0) {
          auto waiters = std::move(stopWaiters_);
          for (auto& w : waiters) w();
        }
      });
    });
  }
  ::unlink(confPath().c_str());
}

void SoftApService::stopAll(std::function<void()> done) {
  if (hostapd_) stop(config_.softapInterface);
  if (pendingStops_ == 0) {
    asio::post(io_, std::move(done));
    return;
  }
  stopWaiters_.push_back(std::move(done));
}

// hostapd creates its ctrl socket a moment after it starts: try every 100 ms, bounded.
void SoftApService::connectCtrl(int attempt) {
  if (!hostapd_ || !hostapd_->running()) return;
  const std::string path = ctrlDir() + "/" + config_.softapInterface;
  if (!fs::exists(path)) {
    if (attempt > 300) {
      lastError_ = "hostapd did not open its control interface " + path;
      log::error("soft AP: ", lastError_);
      return;
    }
    connectTimer_.expires_after(std::chrono::milliseconds(100));
    connectTimer_.async_wait([this, attempt](boost::system::error_code ec) {
      if (!ec) connectCtrl(attempt + 1);
    });
    return;
  }
  // The client's own sockets live beside, not inside, hostapd's ctrl dir (hostapd removes
  // that dir when it exits).
  const std::string localDir = config_.runDir + "/hostapd-client";
  if (auto st = ensureDir(localDir, 0700); !st) {
    lastError_ = st.error().message;
    return;
  }
  ctrl_ = std::make_unique<HostapdControl>(io_, path, localDir);
  ctrl_->onEvent([this](std::string_view d) { onCtrlEvent(d); });
  ctrl_->onLost([this](const Error& e) {
    log::warning("soft AP: lost hostapd's control interface: ", e.message);
    // The process may still exist (hung): restart it; if it is gone the supervisor knows.
    if (hostapd_ && hostapd_->running()) hostapd_->restart();
  });
  std::weak_ptr<char> alive = alive_;
  ctrl_->open([this, alive, attempt](Status st) {
    if (alive.expired()) return;
    if (!st) {
      ctrl_.reset();
      connectTimer_.expires_after(std::chrono::milliseconds(100));
      connectTimer_.async_wait([this, attempt](boost::system::error_code ec) {
        if (!ec) connectCtrl(attempt + 1);
      });
      return;
    }
    // Attached: learn the current state and resync the stations (after a restart too).
    ctrl_->request("STATUS", [this, alive](Result<std::string> r) {
      if (alive.expired() || !r) return;
      auto s = parseStatus(*r);
      if (s && s->state == "ENABLED" && !enabled_) {
        enabled_ = true;
        enabledAgain();
        ready_(config_.softapInterface);
      }
    });
    ctrl_->stations([this, alive](Result<std::vector<std::string>> r) {
      if (alive.expired() || !r) return;
      connected_.clear();
      for (const auto& d : *r) {
        auto sta = parseStaReply(d);
        if (sta && sta->kind == StaReplyKind::Station) connected_[sta->station.mac] = std::chrono::steady_clock::now();
      }
    });
  });
}

// Once per station and cause a minute: a station retries a wrong password several times.
void SoftApService::authFailed(const AuthFailure& f) {
  const auto now = std::chrono::steady_clock::now();
  const std::string key = f.mac + (f.cause == AuthFailure::Cause::SaeMismatch ? " sae" : " psk");
  auto it = authFailures_.find(key);
  if (it != authFailures_.end() && now - it->second < std::chrono::minutes(1)) return;
  if (authFailures_.size() > 256) authFailures_.clear();  // bounded: a flood of random MACs
  authFailures_[key] = now;
  const std::string& ifname = config_.softapInterface;
  log::warning("soft AP: station ", f.mac, " failed to authenticate on ", ifname, ": ", authFailureText(f.cause));
  if (events_) events_({events::StationAuthFailed{f.mac, ifname, authFailureText(f.cause)}});
}

void SoftApService::onCtrlEvent(std::string_view datagram) {
  auto ev = parseEvent(datagram);
  if (!ev) return;
  // The same failure also appears on stdout: whichever comes first is reported, once.
  if (auto f = parseAuthFailure(ev->text)) return authFailed(*f);
  const std::string& ifname = config_.softapInterface;
  using T = HostapdEvent::Type;
  switch (ev->type) {
    case T::ApEnabled:
      if (!enabled_) {
        enabled_ = true;
        log::info("soft AP: enabled on ", ifname);
        enabledAgain();
        ready_(ifname);
      }
      break;
    case T::ApDisabled:
      if (enabled_) {
        enabled_ = false;
        lost_(ifname, makeError(Errc::ServiceUnavail, "hostapd disabled the AP on " + ifname));
      }
      break;
    case T::StaConnected:
      connected_[ev->mac] = std::chrono::steady_clock::now();
      if (events_) events_({events::ClientChanged{events::ClientChanged::Kind::StationConnected, ev->mac, ifname}});
      break;
    case T::StaDisconnected:
      connected_.erase(ev->mac);
      if (events_) events_({events::ClientChanged{events::ClientChanged::Kind::StationDisconnected, ev->mac, ifname}});
      break;
    case T::Terminating:
    case T::Other:
      break;
  }
}

void SoftApService::onHostapdExit(int status, bool willRestart) {
  connectTimer_.cancel();
  ctrl_.reset();
  connected_.clear();
  // hostapd's own reason: the last line it printed that looks like an error.
  std::string out = hostapd_ ? hostapd_->lastOutput() : "";
  std::string reason;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? out.size() : nl + 1;
    if (line.find("ould not") != std::string::npos || line.find("ailed") != std::string::npos ||
        line.find("rror") != std::string::npos || line.find("busy") != std::string::npos ||
        line.find("rfkill") != std::string::npos || line.find("invalid") != std::string::npos)
      reason = line;
  }
  lastError_ = "hostapd " + describeExit(status) + (reason.empty() ? "" : ": " + reason);
  log::warning("soft AP: ", lastError_, willRestart ? " (restarting)" : "");
  bool wasEnabled = enabled_;
  enabled_ = false;
  (void)wasEnabled;
  lost_(config_.softapInterface, makeError(Errc::ServiceUnavail, lastError_));
}

void SoftApService::apply() {
  if (!hostapd_ || !hostapd_->running()) return;
  if (auto st = writeConf(); !st) {
    log::error("soft AP: ", st.error().message);
    return;
  }
  (void)hostapd_->signal(SIGHUP);  // re-reads hostapd.conf and the deny list
}

Status SoftApService::set(const std::string& key, const std::string& value) {
  Settings next = settings_;
  if (auto st = setField(next, key, value); !st) return st;
  return setAll(next);
}

Status SoftApService::setAll(const Settings& next) {
  if (auto st = validate(next); !st) return st;
  if (auto st = persistSettings(next); !st) return st;  // nothing applied unless it is saved
  settings_ = next;
  apply();
  return {};
}

Status SoftApService::block(const std::string& mac) {
  auto m = normalizeMac(mac);
  if (!m) return makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 32) + "' is not a MAC address");
  if (std::find(blocked_.begin(), blocked_.end(), *m) != blocked_.end()) return {};
  auto next = blocked_;
  next.push_back(*m);
  if (auto st = writeFileAtomic(denyPath(), formatMacList(next), 0600); !st) return st;
  blocked_ = std::move(next);
  apply();
  if (ctrl_ && connected_.count(*m)) ctrl_->request("DEAUTHENTICATE " + *m, [](Result<std::string>) {});
  return {};
}

Status SoftApService::unblock(const std::string& mac) {
  auto m = normalizeMac(mac);
  if (!m) return makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 32) + "' is not a MAC address");
  auto it = std::find(blocked_.begin(), blocked_.end(), *m);
  if (it == blocked_.end()) return makeError(Errc::NotFound, *m + " is not blocked");
  auto next = blocked_;
  next.erase(next.begin() + (it - blocked_.begin()));
  if (auto st = writeFileAtomic(denyPath(), formatMacList(next), 0600); !st) return st;
  blocked_ = std::move(next);
  apply();
  return {};
}

void SoftApService::deauth(const std::string& mac, std::function<void(Status)> done) {
  auto m = normalizeMac(mac);
  if (!m) return done(makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 32) + "' is not a MAC address"));
  if (!ctrl_ || !ctrl_->isOpen()) return done(makeError(Errc::ServiceUnavail, "the soft AP is not running"));
  if (!connected_.count(*m)) return done(makeError(Errc::NotFound, *m + " is not connected"));
  ctrl_->request("DEAUTHENTICATE " + *m, [done, mac = *m](Result<std::string> r) {
    if (!r) return done(r.error());
    if (!isOkReply(*r)) return done(makeError(Errc::SystemError, "hostapd refused to deauthenticate " + mac));
    done({});
  });
}

ClientHooks SoftApService::clientHooks() {
  ClientHooks h;
  h.isWifiStation = [this](const std::string& mac) { return hasStation(mac); };
  h.wifiKick = [this](const std::string& mac, std::function<void(Status)> done) { deauth(mac, std::move(done)); };
  h.wifiBlock = [this](const std::string& mac) { return block(mac); };
  h.wifiUnblock = [this](const std::string& mac) { return unblock(mac); };
  h.wifiBlocked = [this] { return blocked(); };
  return h;
}

void SoftApService::stations(std::function<void(Result<std::vector<StationView>>)> done) {
  if (!ctrl_ || !ctrl_->isOpen()) return done(std::vector<StationView>{});
  std::weak_ptr<char> alive = alive_;
  ctrl_->stations([this, alive, done](Result<std::vector<std::string>> r) {
    if (alive.expired()) return;
    if (!r) return done(r.error());
    std::map<std::string, Lease> byMac;  // the AP interface's leases, from the one lease reader
    for (auto& l : dhcp_.leases(config_.softapInterface))
      if (!l.mac.empty()) byMac[l.mac] = std::move(l);
    std::vector<StationView> out;
    for (const auto& d : *r) {
      auto sta = parseStaReply(d);
      if (!sta || sta->kind != StaReplyKind::Station) continue;
      const Station& s = sta->station;
      // A station hostapd still lists for a moment after it left has no [ASSOC]/[AUTHORIZED].
      bool associated = std::find(s.flags.begin(), s.flags.end(), "ASSOC") != s.flags.end();
      if (!s.authorized() && !associated) continue;
      StationView v;
      v.mac = s.mac;
      v.connectedSec = s.connectedTimeSec;
      if (v.connectedSec < 0) {  // drivers without connected_time (wired): since our event
        if (auto it = connected_.find(s.mac); it != connected_.end())
          v.connectedSec = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - it->second).count();
      }
      v.signalDbm = s.signalDbm;
      v.rxBytes = s.rxBytes;
      v.txBytes = s.txBytes;
      v.rxPackets = s.rxPackets;
      v.txPackets = s.txPackets;
      v.rxRate = s.rxRate;
      v.txRate = s.txRate;
      v.authorized = s.authorized();
      if (auto it = byMac.find(s.mac); it != byMac.end()) {
        v.ip = it->second.ip.str();
        v.hostname = it->second.hostname;
      }
      out.push_back(std::move(v));
    }
    done(std::move(out));
  });
}

void SoftApService::status(std::function<void(ApStatus)> done) {
  ApStatus s;
  s.running = hostapd_ && hostapd_->running();
  s.enabled = enabled_;
  s.restarts = hostapd_ ? hostapd_->restartCount() : 0;
  s.stations = static_cast<int>(connected_.size());
  s.lastError = lastError_;
  if (!ctrl_ || !ctrl_->isOpen()) return done(s);
  std::weak_ptr<char> alive = alive_;
  ctrl_->request("STATUS", [alive, s, done](Result<std::string> r) mutable {
    if (alive.expired()) return;
    if (r) {
      if (auto st = parseStatus(*r)) {
        s.state = st->state;
        s.channel = st->channel;
        s.freq = st->freq;
        s.stations = st->numStations;
      }
    }
    done(s);
  });
}

}  // namespace tetherd::softap
