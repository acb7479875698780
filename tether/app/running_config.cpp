#include "tether/app/running_config.h"

#include "tether/base/log.h"

namespace tetherd {

RunningConfig::RunningConfig(Loader load, Announce announce)
    : load_(std::move(load)), announce_(std::move(announce)) {}

Status RunningConfig::load() {
  auto c = load_();
  if (!c) return c.error();
  config_ = std::move(c.value());
  log::setLevel(config_.logLevel);
  return {};
}

void RunningConfig::follow(Follower f) { followers_.push_back(std::move(f)); }

Status RunningConfig::reload() {
  auto c = load_();
  if (!c) {
    log::error("reload refused, keeping the running configuration: ", c.error().message);
    return c.error();
  }
  applyConfig(*c);
  return {};
}

void RunningConfig::applyConfig(const Config& next) {
  if (next.controlSocket != config_.controlSocket) log::warning("control_socket changes take effect on restart");
  const std::string socket = config_.controlSocket;
  config_ = next;
  config_.controlSocket = socket;
  log::setLevel(config_.logLevel);
  for (const auto& f : followers_) f(config_);
  log::notice("configuration reloaded from ", config_.sourceName.empty() ? "defaults" : config_.sourceName);
  if (announce_) announce_();
}

}  // namespace tetherd
