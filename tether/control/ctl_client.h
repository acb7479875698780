// tetherctl's side of the control protocol: a blocking client (a command-line tool may block).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tether/control/control_protocol.h"
#include "tether/base/result.h"

namespace tetherd::ctl {

struct Outcome {
  std::vector<control::Reply> lines;  // 1xx continuation lines, in order
  control::Reply final;               // the 2xx/4xx/5xx that ended the command
};

class Client {
 public:
  ~Client();
  Status connect(const std::string& socketPath, int timeoutMs);
  // Sends one command and collects its replies (6xx events that arrive meanwhile are skipped).
  Result<Outcome> call(const std::vector<std::string>& words);
  // Reads lines until the connection closes, calling onEvent for each 6xx.
  Status monitor(const std::function<void(const control::Reply&)>& onEvent);

 private:
  Result<std::string> readLine();
  int fd_ = -1;
  int timeoutMs_ = 10000;
  std::string buf_;
};

// "key=value key2="two words" free text" -> JSON-ready pairs, quoted values unquoted
// (control::quoteValue's quoting); words without '=' are ignored.
std::vector<std::pair<std::string, std::string>> splitFields(const std::string& message);
std::string outcomeToJson(const Outcome& outcome);
int exitStatusFor(const control::Reply& final);  // 0 for 2xx, 1 for 4xx, 2 for 5xx

}  // namespace tetherd::ctl
