// SoftApService in travel-router mode: the AP on the channel of the station that shares its
// radio (softap/service/wifi_upstream_service.h), following it when it switches.
#include <boost/asio/post.hpp>

#include "softap/hostapd/wpa_supplicant.h"
#include "softap/service/softap_service.h"
#include "tether/base/log.h"

namespace tetherd::softap {

namespace asio = boost::asio;

Result<Settings> SoftApService::confSettings() {
  if (!sharedRadio_ || stationFreq_ == 0) {
    apFreq_ = 0;
    return settings_;
  }
  auto ch = apChannelForFreq(stationFreq_);
  if (!ch) return ch.error();
  Settings s = settings_;
  s.band = ch->ghz5 ? Band::Ghz5 : Band::Ghz24;
  s.channel = ch->channel;
  if (!ch->ghz5) s.ieee80211ac = false;  // 802.11ac is 5 GHz only
  if (auto st = validate(s); !st)
    return makeError(Errc::InvalidArgument, "soft AP on the station's channel " + std::to_string(ch->channel) + ": " +
                                                st.error().message);
  apFreq_ = stationFreq_;
  return s;
}

void SoftApService::followStation(int freq, std::function<void(Status)> done) {
  auto finish = [this, done = std::move(done)](Status st) {
    if (done) asio::post(io_, [done, st] { done(st); });
  };
  if (freq > 0 && !apChannelForFreq(freq)) return finish(apChannelForFreq(freq).error());
  stationFreq_ = freq > 0 ? freq : stationFreq_;  // a station that left keeps the AP where it is
  bool running = hostapd_ && hostapd_->running();
  ApAction action = decideAp(freq, running ? apFreq_ : 0);
  if (action != ApAction::Switch) return finish({});
  auto cmd = chanSwitchCommand(kApCsaCount, freq);
  if (!cmd) return finish(cmd.error());
  // hostapd restarted on the new channel: for when CHAN_SWITCH cannot be sent or is refused.
  auto restart = [this](int f, const std::string& why) -> Status {
    log::warning("soft AP: CHAN_SWITCH to ", f, " MHz failed (", why, "): restarting hostapd there");
    if (!hostapd_) return makeError(Errc::ServiceUnavail, "hostapd is not running");
    if (auto st = writeConf(); !st) return st;
    followRestartAt_ = std::chrono::steady_clock::now();  // the downtime runs until enabledAgain()
    hostapd_->restart();
    return {};
  };
  if (!ctrl_ || !ctrl_->isOpen()) return finish(restart(freq, "no control connection"));
  log::info("soft AP: following the station to ", freq, " MHz (", *cmd, ")");
  std::weak_ptr<char> alive = alive_;
  ctrl_->request(*cmd, [this, alive, freq, restart, finish](Result<std::string> r) {
    if (alive.expired()) return;
    if (r && isOkReply(*r)) {
      apFreq_ = freq;
      // A later restart of hostapd (by its supervisor) must start it on the new channel.
      if (auto st = writeConf(); !st) log::warning("soft AP: ", st.error().message);
      return finish({});
    }
    std::string answer = r ? r->substr(0, 40) : "";
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == ' ')) answer.pop_back();
    finish(restart(freq, r ? "hostapd answered " + answer : r.error().message));
  });
}

// The AP is enabled again: after a restart for a channel change, the clients were without
// it from the restart until now.
void SoftApService::enabledAgain() {
  if (!followRestartAt_) return;
  using std::chrono::milliseconds;
  followDowntimeMs_ =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - *followRestartAt_).count();
  followRestartAt_.reset();
  log::notice("soft AP: on ", apFreq_, " MHz after a restart for the station's channel switch: down ",
              *followDowntimeMs_, " ms");
}

}  // namespace tetherd::softap
