// The daemon's running configuration and the one path by which it changes (issue 11, point 7).
// SIGHUP (reload: tetherd.conf read again, the web page's saved settings on top) and the web
// page's Settings (the running configuration with the page's change, checked and saved by
// config/runtime_settings.h) both end in applyConfig(): the same subsystems are reconfigured in
// the same order, the same line is logged and the same "Config reloaded" event is sent.
// A configuration that does not load or validate never reaches applyConfig: nothing changes.
#pragma once

#include <functional>
#include <vector>

#include "config/config.h"
#include "tether/base/result.h"

namespace tetherd {

class RunningConfig {
 public:
  using Loader = std::function<Result<Config>()>;          // the file, argv, the page's settings
  using Follower = std::function<void(const Config&)>;     // a subsystem's reconfigure
  using Announce = std::function<void()>;                  // "Config reloaded" to the listeners

  RunningConfig(Loader load, Announce announce);
  RunningConfig(const RunningConfig&) = delete;
  RunningConfig& operator=(const RunningConfig&) = delete;

  const Config& current() const { return config_; }

  // At start: the first configuration, and its log level (nobody follows yet, no event).
  Status load();
  // Followers are called by applyConfig in the order they were added.
  void follow(Follower f);
  // SIGHUP: load again, then applyConfig. A configuration that does not load is refused
  // (logged, returned) and changes nothing.
  Status reload();
  // The one path: control_socket is kept (it changes on restart only), the log level set, every
  // follower reconfigured, "configuration reloaded from <source>" logged, the event announced.
  void applyConfig(const Config& next);

 private:
  Loader load_;
  Announce announce_;
  std::vector<Follower> followers_;
  Config config_;
};

}  // namespace tetherd
