// SoftApService: tetherd's soft AP. It owns hostapd completely — validated settings
// (persisted 0600), the generated hostapd.conf (0600), the ctrl dir, the supervised
// process, the asynchronous control connection — and tracks stations live.
// The TetherManager sees it as an AccessPoint; readiness (AP-ENABLED) and loss (hostapd
// died, AP disabled) are reported through the callbacks given at construction.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "softap/hostapd/hostapd_ctrl.h"
#include "softap/hostapd/hostapd_output.h"
#include "softap/hostapd/hostapd_protocol.h"
#include "softap/hostapd/softap_settings.h"
#include "tether/core/client_actions.h"
#include "tether/core/events.h"
#include "tether/system/process_supervisor.h"
#include "tether/core/tether_manager.h"

namespace tetherd::softap {

struct StationView {
  std::string mac;
  std::string ip;        // from the DHCP lease ("" when none)
  std::string hostname;  // from the DHCP lease
  long connectedSec = -1;
  std::optional<int> signalDbm;
  std::optional<uint64_t> rxBytes, txBytes;
  std::optional<uint64_t> rxPackets, txPackets;
  std::optional<std::string> rxRate, txRate;
  bool authorized = false;
};

struct ApStatus {
  bool running = false;  // hostapd process exists
  bool enabled = false;  // AP-ENABLED seen (and not disabled since)
  std::string state;     // hostapd's STATUS state, when it answered
  int channel = 0;
  int freq = 0;
  int stations = 0;
  int restarts = 0;
  std::string lastError;
};

class SoftApService : public AccessPoint {
 public:
  using EventSink = std::function<void(const Event&)>;  // stations (dis)connecting
  // dhcp: whose leases() give the stations' addresses and host names.
  SoftApService(boost::asio::io_context& io, ProcessRunner& runner, const DhcpService& dhcp, const Config& config,
                EventSink events, std::function<void(const std::string&)> ready,
                std::function<void(const std::string&, const Error&)> lost);
  ~SoftApService() override;

  // Loads settings and the deny list from state_dir (first run: defaults from the hostname
  // and a random passphrase, saved). Also kills a hostapd a previous run left.
  Status load();
  void reconfigure(const Config& config);

  // AccessPoint
  // The configured interface, when hostapd can run there: a radio (phy80211) for nl80211,
  // any interface for the wired test driver. A Wi-Fi-named interface without a radio is
  // tethered as a plain downstream (its AP, if any, is someone else's).
  bool isApInterface(const std::string& ifname) const override;
  Status start(const std::string& ifname) override;
  void stop(const std::string& ifname) override;
  // Stops hostapd if it runs; done() once every hostapd this service started has exited.
  void stopAll(std::function<void()> done);

  // Operations (control socket `softap ...`, web API).
  const Settings& settings() const { return settings_; }
  Status set(const std::string& key, const std::string& value);  // validated, persisted, applied
  Status setAll(const Settings& next);                           // several fields at once
  Status block(const std::string& mac);
  Status unblock(const std::string& mac);
  const std::vector<std::string>& blocked() const { return blocked_; }
  void deauth(const std::string& mac, std::function<void(Status)> done);
  // Whether `mac` (normalised) is associated now, as hostapd's events tell.
  bool hasStation(const std::string& mac) const { return connected_.count(mac) != 0; }
  void stations(std::function<void(Result<std::vector<StationView>>)> done);
  void status(std::function<void(ApStatus)> done);
  const std::string& interface() const { return config_.softapInterface; }
  // The Wi-Fi part of ClientActions (tether/client_actions.h): stations, deauth, deny list.
  ClientHooks clientHooks();

  // Travel-router mode (softap_channel.cpp; wifi_upstream_service.h): the AP shares a station's
  // radio, which has one channel, so the AP runs on the station's frequency. While shared and
  // no frequency is known, start() refuses (Busy: waiting for the station to associate).
  void shareRadio(bool shared) { sharedRadio_ = shared; }
  // The station's frequency (MHz; 0: not associated): the next start uses it; a running AP on
  // another channel is sent CHAN_SWITCH at once (hostapd restarted on the new channel if
  // hostapd refuses). done(ok) when the AP is on freqMhz (or will start there).
  void followStation(int freqMhz, std::function<void(Status)> done);
  int apFreq() const { return apFreq_; }  // the frequency tetherd last put the AP on (0: none)
  // The last restart for a channel change (CHAN_SWITCH refused or not sendable): how long from
  // the restart until the AP was enabled again on the new channel (also logged); nullopt
  // before the first such restart has come back.
  std::optional<long long> followDowntimeMs() const { return followDowntimeMs_; }

 private:
  std::string settingsPath() const;
  std::string denyPath() const;
  std::string confPath() const;
  std::string ctrlDir() const;
  std::string pidPath() const;
  Status persistSettings(const Settings& s);
  Status writeConf();
  Status precheck() const;
  void connectCtrl(int attempt);
  void onCtrlEvent(std::string_view datagram);
  void authFailed(const AuthFailure& f);  // logged and sent as an event, once a minute per station
  void onHostapdExit(int status, bool willRestart);
  void apply();  // settings changed while running: SIGHUP (re-reads conf and deny list)
  Result<Settings> confSettings();  // settings_, on the station's channel when sharing its radio
  void enabledAgain();  // AP-ENABLED (or STATUS ENABLED): ends a channel follow's restart

  boost::asio::io_context& io_;
  ProcessRunner& runner_;
  const DhcpService& dhcp_;
  Config config_;
  EventSink events_;
  std::function<void(const std::string&)> ready_;
  std::function<void(const std::string&, const Error&)> lost_;
  Settings settings_;
  std::vector<std::string> blocked_;
  std::unique_ptr<Supervisor> hostapd_;
  std::unique_ptr<HostapdControl> ctrl_;
  boost::asio::steady_timer connectTimer_;
  bool enabled_ = false;
  std::string lastError_;
  std::map<std::string, std::chrono::steady_clock::time_point> connected_;
  std::map<std::string, std::chrono::steady_clock::time_point> authFailures_;  // "<mac> <sae|psk>"
  int pendingStops_ = 0;
  bool sharedRadio_ = false;
  int stationFreq_ = 0, apFreq_ = 0;
  std::optional<std::chrono::steady_clock::time_point> followRestartAt_;
  std::optional<long long> followDowntimeMs_;
  std::vector<std::function<void()>> stopWaiters_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace tetherd::softap
