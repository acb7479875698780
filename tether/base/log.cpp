#include "tether/base/log.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace tetherd::log {
namespace {
Level gLevel = Level::Info;
bool journal() {
  static const bool isJournal = std::getenv("JOURNAL_STREAM") != nullptr;
  return isJournal;
}
}  // namespace

bool parseLevel(std::string_view text, Level& out) {
  if (text == "debug") out = Level::Debug;
  else if (text == "info") out = Level::Info;
  else if (text == "notice") out = Level::Notice;
  else if (text == "warning") out = Level::Warning;
  else if (text == "error") out = Level::Error;
  else return false;
  return true;
}

const char* levelName(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Notice: return "notice";
    case Level::Warning: return "warning";
    case Level::Error: return "error";
  }
  return "?";
}

void setLevel(Level level) { gLevel = level; }
Level level() { return gLevel; }
bool enabled(Level level) { return static_cast<int>(level) <= static_cast<int>(gLevel); }

void write(Level level, std::string_view message) {
  std::string line;
  line.reserve(message.size() + 16);
  if (journal()) {
    line += '<';
    line += std::to_string(static_cast<int>(level));
    line += '>';
  } else {
    line += levelName(level);
    line += ": ";
  }
  // One record per line: fold embedded newlines so a message cannot forge another record.
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  // A single write() keeps lines whole even when stderr is shared.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace tetherd::log
