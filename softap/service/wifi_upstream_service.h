// WifiUpstreamService: the travel-router case. A Wi-Fi network tetherd joins
// ([upstream.<if>] ssid/passphrase) is an upstream like any other, on the same radio that
// serves the soft AP:
// - wpa_supplicant for the station, supervised, with a generated config (0600, run_dir) and
//   spoken to over its control interface (HostapdControl: the same wpa_ctrl protocol);
// - busybox udhcpc for the station's IPv4 address and default route (tether/system/udhcpc.h),
//   from which the manager's usual upstream selection, routing and validation take over;
// - the soft AP's interface ([softap] interface) created on the station's radio through
//   nl80211 only once the station has associated, with its own MAC, and the soft AP kept on
//   the station's frequency: on CTRL-EVENT-STARTED-CHANNEL-SWITCH freq=F hostapd is sent
//   CHAN_SWITCH at once (SoftApService::followStation), so that both switch together.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "softap/hostapd/hostapd_ctrl.h"
#include "softap/hostapd/wpa_supplicant.h"
#include "softap/service/softap_service.h"
#include "tether/system/process_supervisor.h"

namespace tetherd::softap {

class WifiUpstreamService {
 public:
  struct View {
    std::string ifname;     // the station
    std::string apIfname;   // the soft AP's interface on the same radio
    std::string state;      // wpa_supplicant's wpa_state ("" before it answered)
    int freq = 0;           // the station's frequency (MHz)
    std::string bssid;
    bool apInterface = false;  // created by tetherd and present
    int switches = 0;          // channel switches followed
    std::string lastError;
  };

  // Does nothing unless config has a Wi-Fi upstream. ap: the soft AP that shares the radio.
  WifiUpstreamService(boost::asio::io_context& io, ProcessRunner& runner, const Config& config, SoftApService& ap);
  ~WifiUpstreamService();

  bool configured() const { return !ifname_.empty(); }
  // Stops what a previous run left (wpa_supplicant, udhcpc, the AP interface on the radio),
  // writes the config and starts wpa_supplicant. Errors: bad config, no such Wi-Fi interface.
  Status start();
  // udhcpc (releasing the lease), wpa_supplicant, the AP interface: done() once all are gone.
  // Call after the soft AP has stopped.
  void stop(std::function<void()> done);
  View view() const;

 private:
  std::string confPath() const;
  std::string ctrlDir() const;
  std::string pidPath(const std::string& program) const;
  void connectCtrl(int attempt);
  void onEvent(std::string_view datagram);
  void refreshStatus();
  void onStatus(const WpaStatus& s);
  void ensureApInterface(const std::string& stationMac);
  void startDhcp();
  void follow(int freq, const char* why);
  void fail(const std::string& message);
  void stopOne(std::unique_ptr<Supervisor>& s, std::function<void()> next);

  boost::asio::io_context& io_;
  ProcessRunner& runner_;
  Config config_;
  SoftApService& ap_;
  std::string ifname_, apIfname_;
  WifiUpstream network_;
  std::unique_ptr<Supervisor> wpa_, dhcp_;
  std::unique_ptr<HostapdControl> ctrl_;
  boost::asio::steady_timer connectTimer_;
  View view_;
  bool createdAp_ = false;
  bool sharedRadio_ = true;  // the soft AP's interface is (or will be made) on the station's radio
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace tetherd::softap
