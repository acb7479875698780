// Maps control-socket commands to handlers. Each subsystem registers its own commands;
// the control socket and (later) the web API dispatch through the same table.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tether/control/control_server.h"

namespace tetherd {

class CommandTable {
 public:
  void add(const std::string& command, std::string usage, control::CommandHandler handler);
  void dispatch(const control::Request& request, const control::Responder& responder) const;
  std::vector<std::string> usages() const;

 private:
  struct Entry {
    std::string usage;
    control::CommandHandler handler;
  };
  std::map<std::string, Entry> entries_;
};

}  // namespace tetherd
