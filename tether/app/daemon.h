// The daemon: owns the one io_context (single-threaded), the signals, the configuration,
// the control socket and the subsystems. main() only parses arguments and calls run().
#pragma once

#include <memory>
#include <string>

#include "config/config.h"

namespace tetherd {

struct DaemonOptions {
  std::string configPath = "/etc/tetherd/tetherd.conf";
  bool configExplicit = false;      // --config given: a missing file is an error
  std::string controlSocketOverride;  // --control-socket
  std::string logLevelOverride;       // --log-level
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options);
  ~Daemon();
  int run();  // returns the process exit status

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd
