// tetherctl: send one command to tetherd and print the answer (or --json); `monitor` prints events.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tether/control/ctl_client.h"

static void usage(FILE* out) {
  std::fputs(
      "Usage: tetherctl [--socket PATH] [--json] [--timeout SECONDS] COMMAND [ARGS...]\n"
      "       tetherctl [--socket PATH] monitor\n\n"
      "Examples: tetherctl ping | tetherctl status | tetherctl help | tetherctl monitor\n"
      "Exit status: 0 ok, 1 operation failed (4xx), 2 bad command (5xx), 3 no connection.\n",
      out);
}

int main(int argc, char** argv) {
  std::string socketPath = "/run/tetherd/tetherd.sock";
  if (const char* env = std::getenv("TETHERD_SOCKET")) socketPath = env;
  bool json = false;
  int timeoutMs = 30000;
  std::vector<std::string> words;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--json") {
      json = true;
    } else if ((a == "--socket" || a == "--timeout") && i + 1 < argc) {
      if (a == "--socket") socketPath = argv[++i];
      else {
        char* end = nullptr;
        long secs = std::strtol(argv[++i], &end, 10);
        if (*end != '\0' || secs <= 0 || secs > 3600) {
          std::fprintf(stderr, "tetherctl: --timeout: '%s' is not a number of seconds (1-3600)\n", argv[i]);
          return 2;
        }
        timeoutMs = static_cast<int>(secs) * 1000;
      }
    } else if (a.size() > 2 && a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "tetherctl: unknown option '%s'\n", a.c_str());
      return 2;
    } else {
      break;
    }
  }
  for (; i < argc; ++i) words.emplace_back(argv[i]);
  // `web set-password -`: the password from one line of stdin, so that it never shows in the
  // process list (an argument does, to every user of the machine).
  if (words.size() == 3 && words[0] == "web" && words[1] == "set-password" && words[2] == "-") {
    std::string line;
    for (int ch; (ch = std::getchar()) != EOF && ch != '\n';) line += static_cast<char>(ch);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    words[2] = line;
  }
  if (words.empty()) {
    usage(stderr);
    return 2;
  }
  tetherd::ctl::Client client;
  if (auto st = client.connect(socketPath, timeoutMs); !st) {
    std::fprintf(stderr, "tetherctl: %s\n", st.error().message.c_str());
    return 3;
  }
  if (words.size() == 1 && words[0] == "monitor") {
    auto st = client.monitor([json](const tetherd::control::Reply& r) {
      if (json) {
        nlohmann::json j{{"code", r.code}, {"event", r.message}};
        std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      }
      else std::printf("%d %s\n", r.code, r.message.c_str());
      std::fflush(stdout);
    });
    std::fprintf(stderr, "tetherctl: %s\n", st.error().message.c_str());
    return 3;
  }
  auto outcome = client.call(words);
  if (!outcome) {
    std::fprintf(stderr, "tetherctl: %s\n", outcome.error().message.c_str());
    return 3;
  }
  if (json) {
    std::printf("%s\n", tetherd::ctl::outcomeToJson(*outcome).c_str());
  } else {
    for (const auto& l : outcome->lines) std::printf("%s\n", l.message.c_str());
    FILE* out = outcome->final.code >= 400 ? stderr : stdout;
    std::fprintf(out, "%s\n", outcome->final.message.c_str());
  }
  return tetherd::ctl::exitStatusFor(outcome->final);
}
