// tetherd: shares one upstream connection with USB, Wi-Fi and Bluetooth downstreams.
#include <cstdio>
#include <cstring>
#include <string>

#include "tether/app/daemon.h"
#include "tether/base/log.h"

static void usage(FILE* out) {
  std::fputs(
      "Usage: tetherd [OPTIONS]\n"
      "Share one upstream connection with downstream USB, Wi-Fi and Bluetooth clients.\n\n"
      "  --config PATH           configuration file (default /etc/tetherd/tetherd.conf)\n"
      "  --control-socket PATH   control socket (default /run/tetherd/tetherd.sock)\n"
      "  --log-level LEVEL       debug, info, notice, warning or error\n"
      "  --help                  show this help\n"
      "  --version               show the version\n\n"
      "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the configuration.\n",
      out);
}

int main(int argc, char** argv) {
  tetherd::DaemonOptions opts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "tetherd: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("tetherd %s\n", TETHERD_VERSION);
      return 0;
    } else if (a == "--config") {
      opts.configPath = value("--config");
      opts.configExplicit = true;
    } else if (a == "--control-socket") {
      opts.controlSocketOverride = value("--control-socket");
    } else if (a == "--log-level") {
      opts.logLevelOverride = value("--log-level");
      tetherd::log::Level l;
      if (!tetherd::log::parseLevel(opts.logLevelOverride, l)) {
        std::fprintf(stderr, "tetherd: --log-level: '%s' is not one of debug, info, notice, warning, error\n",
                     opts.logLevelOverride.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "tetherd: unknown option '%s' (try --help)\n", a.c_str());
      return 2;
    }
  }
  tetherd::Daemon daemon(std::move(opts));
  return daemon.run();
}
