#include "softap/service/wifi_upstream_service.h"

#include <net/if.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <filesystem>

#include "softap/service/wifi_combinations.h"
#include "tether/base/files.h"
#include "tether/base/log.h"
#include "tether/system/nl80211.h"
#include "tether/system/udhcpc.h"

namespace tetherd::softap {

namespace asio = boost::asio;

WifiUpstreamService::WifiUpstreamService(asio::io_context& io, ProcessRunner& runner, const Config& config,
                                         SoftApService& ap)
    : io_(io), runner_(runner), config_(config), ap_(ap), connectTimer_(io) {
  if (config.wifiUpstreams.empty()) return;
  ifname_ = config.wifiUpstreams.begin()->first;
  network_ = config.wifiUpstreams.begin()->second;
  apIfname_ = config.softapInterface;
  view_.ifname = ifname_;
  view_.apIfname = apIfname_;
}

WifiUpstreamService::~WifiUpstreamService() {
  ctrl_.reset();
  dhcp_.reset();  // SIGKILLs running children
  wpa_.reset();
}

std::string WifiUpstreamService::confPath() const { return config_.runDir + "/wpa_supplicant-" + ifname_ + ".conf"; }
std::string WifiUpstreamService::ctrlDir() const { return config_.runDir + "/wpa_supplicant"; }
std::string WifiUpstreamService::pidPath(const std::string& program) const {
  return config_.runDir + "/" + program + "-" + ifname_ + ".pid";
}

void WifiUpstreamService::fail(const std::string& message) {
  view_.lastError = message;
  log::error("Wi-Fi upstream ", ifname_, ": ", message);
}

Status WifiUpstreamService::start() {
  if (!configured() || wpa_) return {};
  const std::string script = udhcpcScriptPath(config_.runDir, ifname_);
  (void)killStalePidFile(pidPath("udhcpc"), "udhcpc");
  (void)killStaleWithArgument("udhcpc", script);
  (void)killStalePidFile(pidPath("wpa_supplicant"), "wpa_supplicant");
  (void)killStaleWithArgument("wpa_supplicant", confPath());
  ::unlink(wifiUpstreamResolvPath(config_.runDir, ifname_).c_str());  // a previous lease's servers
  auto phy = wiphyOf(ifname_);
  if (!phy) return makeError(Errc::UnavailIface, "[upstream." + ifname_ + "]: " + phy.error().message);
  // An AP interface on this radio is a previous run's: the AP may start only on the station's
  // channel, so it is made again once the station has one.
  if (auto apPhy = wiphyOf(apIfname_); apPhy && *apPhy == *phy) {
    if (auto st = deleteWifiInterface(apIfname_); !st) log::warning("Wi-Fi upstream: ", st.error().message);
    else log::info("Wi-Fi upstream: removed ", apIfname_, " (left on ", ifname_, "'s radio by a previous run)");
  } else if (apPhy) {
    log::notice("Wi-Fi upstream: the soft AP ", apIfname_, " is on another radio than ", ifname_, ": channels independent");
    sharedRadio_ = false;
  }
  ap_.shareRadio(sharedRadio_);
  // Up front, from what the radio advertises: refused with the reason, not after joining.
  if (sharedRadio_) {
    if (auto modes = wiphyModes(*phy); !modes)
      log::notice("Wi-Fi upstream: ", modes.error().message, " (unknown: trying)");
    else if (auto why = stationPlusApProblem(*modes))
      return makeError(Errc::Unsupported, "[upstream." + ifname_ + "]: " + ifname_ + "'s radio cannot also serve the soft AP " +
                                              apIfname_ + ": " + *why);
    else
      log::info("Wi-Fi upstream: ", ifname_, "'s radio can run a station beside an access point (", modes->combinations.size(),
                " interface combination(s), first: ", describeCombination(modes->combinations.front()), ")");
  }
  if (auto st = ensureDir(ctrlDir(), 0750); !st) return st;
  WpaSupplicantOptions o{ifname_, ctrlDir()};
  auto text = wpaSupplicantConf(network_, o);
  if (!text) return makeError(Errc::InvalidArgument, "[upstream." + ifname_ + "] " + text.error().message);
  if (auto st = writeFileAtomic(confPath(), *text, 0600); !st) return st;  // holds the passphrase
  if (!network_.networkFile.empty() && ::access(network_.networkFile.c_str(), R_OK) != 0)
    return systemError("[upstream." + ifname_ + "] network_file: " + network_.networkFile, errno);
  auto argv = wpaSupplicantArgv(network_.wpaSupplicantPath, ifname_, confPath(), network_.networkFile);
  if (!argv) return argv.error();
  wpa_ = std::make_unique<Supervisor>(runner_, io_, ProcessSpec{"wpa_supplicant-" + ifname_, *argv, {}});
  wpa_->onStarted([this](pid_t pid) {
    if (auto st = writeFileAtomic(pidPath("wpa_supplicant"), std::to_string(pid) + "\n", 0644); !st)
      log::warning("Wi-Fi upstream: ", st.error().message);
    connectCtrl(0);
  });
  wpa_->onExited([this](int status, bool willRestart) {
    connectTimer_.cancel();
    ctrl_.reset();
    view_.state.clear();
    view_.freq = 0;
    fail("wpa_supplicant " + describeExit(status) + (willRestart ? " (restarting)" : ""));
  });
  log::info("Wi-Fi upstream: joining ", network_.networkFile.empty() ? "'" + network_.ssid + "'" : "the networks of " + network_.networkFile, " on ", ifname_, " (soft AP ", apIfname_, " on the same radio)");
  return wpa_->start();
}

// wpa_supplicant creates its control socket a moment after it starts: every 100 ms, bounded.
void WifiUpstreamService::connectCtrl(int attempt) {
  if (!wpa_ || !wpa_->running()) return;
  const std::string path = ctrlDir() + "/" + ifname_;
  auto retry = [this, attempt] {
    connectTimer_.expires_after(std::chrono::milliseconds(100));
    connectTimer_.async_wait([this, attempt](boost::system::error_code ec) {
      if (!ec) connectCtrl(attempt + 1);
    });
  };
  if (attempt > 300) return fail("wpa_supplicant did not open its control interface " + path);
  if (!std::filesystem::exists(path)) return retry();
  const std::string localDir = config_.runDir + "/wpa_supplicant-client";
  if (auto st = ensureDir(localDir, 0700); !st) return fail(st.error().message);
  ctrl_ = std::make_unique<HostapdControl>(io_, path, localDir);
  ctrl_->onEvent([this](std::string_view d) { onEvent(d); });
  ctrl_->onLost([this](const Error& e) {
    fail("lost wpa_supplicant's control interface: " + e.message);
    if (wpa_ && wpa_->running()) wpa_->restart();
  });
  std::weak_ptr<char> alive = alive_;
  ctrl_->open([this, alive, retry](Status st) {
    if (alive.expired()) return;
    if (!st) {
      ctrl_.reset();
      return retry();
    }
    refreshStatus();
  });
}

void WifiUpstreamService::refreshStatus() {
  if (!ctrl_) return;
  std::weak_ptr<char> alive = alive_;
  ctrl_->request("STATUS", [this, alive](Result<std::string> r) {
    if (alive.expired()) return;
    if (!r) return fail("wpa_supplicant STATUS: " + r.error().message);
    auto s = parseWpaStatus(*r);
    if (!s) return fail(s.error().message);
    onStatus(*s);
  });
}

void WifiUpstreamService::onStatus(const WpaStatus& s) {
  view_.state = s.state;
  view_.bssid = s.bssid;
  if (!s.completed()) return;
  bool first = view_.freq == 0;
  view_.freq = s.freq;
  if (first) log::info("Wi-Fi upstream: ", ifname_, " associated with ", s.bssid, " on ", s.freq, " MHz");
  if (sharedRadio_) {
    follow(s.freq, "station associated");
    ensureApInterface(s.address);
  }
  startDhcp();
}

void WifiUpstreamService::onEvent(std::string_view datagram) {
  auto e = parseWpaEvent(datagram);
  if (!e) return;
  using T = WpaEvent::Type;
  switch (e->type) {
    case T::Connected:
      refreshStatus();
      break;
    case T::Disconnected:
      log::info("Wi-Fi upstream: ", ifname_, ": ", e->text);
      view_.state = "DISCONNECTED";
      break;
    case T::ChannelSwitchStarted:
      if (!sharedRadio_) break;
      // At once: the kernel disconnects the station when the radio's other interface (the
      // AP) does not switch with it (platform-facts-2.md section 5).
      view_.freq = e->freq;
      follow(e->freq, "station's channel switch started");
      break;
    case T::ChannelSwitched:
      if (!sharedRadio_) break;
      view_.freq = e->freq;
      follow(e->freq, "station's channel switched");
      break;
    case T::Terminating:
    case T::Other:
      break;
  }
}

void WifiUpstreamService::follow(int freq, const char* why) {
  if (ap_.apFreq() != 0 && ap_.apFreq() != freq) {
    ++view_.switches;
    log::info("Wi-Fi upstream: soft AP ", ap_.apFreq(), " -> ", freq, " MHz (", why, ")");
  }
  std::weak_ptr<char> alive = alive_;
  ap_.followStation(freq, [this, alive](Status st) {
    if (!alive.expired() && !st) fail("soft AP did not follow the station: " + st.error().message);
  });
}

void WifiUpstreamService::ensureApInterface(const std::string& stationMac) {
  if (if_nametoindex(apIfname_.c_str()) != 0) {
    view_.apInterface = true;
    return;
  }
  std::string mac = network_.apAddress.empty() ? wifiApAddressFor(stationMac) : network_.apAddress;
  if (mac.empty()) return fail("no MAC for " + apIfname_ + ": wpa_supplicant reported no address for " + ifname_);
  if (auto st = createApInterface(ifname_, apIfname_, mac); !st) return fail(st.error().message);
  createdAp_ = true;
  view_.apInterface = true;
  // The manager sees it appear (netlink) and starts the soft AP on it, on the station's channel.
  log::info("Wi-Fi upstream: created ", apIfname_, " (", mac, ") on ", ifname_, "'s radio");
}

void WifiUpstreamService::startDhcp() {
  if (dhcp_) return;
  const std::string script = udhcpcScriptPath(config_.runDir, ifname_);
  auto text = udhcpcScript(ifname_, wifiUpstreamResolvPath(config_.runDir, ifname_));
  auto argv = udhcpcArgv(network_.udhcpcPath, ifname_, script);
  if (!text) return fail(text.error().message);
  if (!argv) return fail(argv.error().message);
  if (auto st = writeFileAtomic(script, *text, 0755); !st) return fail(st.error().message);
  dhcp_ = std::make_unique<Supervisor>(runner_, io_, ProcessSpec{"udhcpc-" + ifname_, *argv, {}});
  dhcp_->onStarted([this](pid_t pid) {
    if (auto st = writeFileAtomic(pidPath("udhcpc"), std::to_string(pid) + "\n", 0644); !st)
      log::warning("Wi-Fi upstream: ", st.error().message);
  });
  if (auto st = dhcp_->start(); !st) fail("udhcpc: " + st.error().message);
}

// udhcpc first: it releases the lease while the station is still associated.
void WifiUpstreamService::stop(std::function<void()> done) {
  connectTimer_.cancel();
  ctrl_.reset();
  stopOne(dhcp_, [this, done = std::move(done)] {
    stopOne(wpa_, [this, done] {
      if (createdAp_) {
        if (auto st = deleteWifiInterface(apIfname_); !st) log::warning("Wi-Fi upstream: ", st.error().message);
        createdAp_ = false;
        view_.apInterface = false;
      }
      for (const char* p : {"udhcpc", "wpa_supplicant"}) ::unlink(pidPath(p).c_str());
      ::unlink(confPath().c_str());
      ::unlink(udhcpcScriptPath(config_.runDir, ifname_).c_str());
      ::unlink(wifiUpstreamResolvPath(config_.runDir, ifname_).c_str());
      if (done) done();
    });
  });
}

void WifiUpstreamService::stopOne(std::unique_ptr<Supervisor>& s, std::function<void()> next) {
  if (!s) return asio::post(io_, std::move(next));
  s->onExited(nullptr);
  s->onStarted(nullptr);
  Supervisor* raw = s.release();
  raw->stop([this, raw, next = std::move(next)] {
    asio::post(io_, [raw, next] {
      delete raw;
      next();
    });
  });
}

WifiUpstreamService::View WifiUpstreamService::view() const { return view_; }

}  // namespace tetherd::softap
