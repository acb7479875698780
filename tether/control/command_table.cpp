#include "tether/control/command_table.h"

namespace tetherd {

void CommandTable::add(const std::string& command, std::string usage, control::CommandHandler handler) {
  entries_[command] = Entry{std::move(usage), std::move(handler)};
}

void CommandTable::dispatch(const control::Request& request, const control::Responder& responder) const {
  auto it = entries_.find(request.command);
  if (it == entries_.end()) {
    responder.finish(control::code::CommandSyntaxError, "Command not recognized: " + request.command.substr(0, 64));
    return;
  }
  it->second.handler(request, responder);
}

std::vector<std::string> CommandTable::usages() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(e.usage);
  return out;
}

}  // namespace tetherd
