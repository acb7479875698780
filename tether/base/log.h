// Logging to stderr with levels. Under systemd (JOURNAL_STREAM set) each line carries a
// "<N>" syslog priority prefix so journald records the level; otherwise a level word.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace tetherd::log {

enum class Level { Debug = 7, Info = 6, Notice = 5, Warning = 4, Error = 3 };

bool parseLevel(std::string_view text, Level& out);
const char* levelName(Level level);

void setLevel(Level level);
Level level();
bool enabled(Level level);
void write(Level level, std::string_view message);

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

template <class... Args>
void debug(const Args&... args) {
  if (enabled(Level::Debug)) write(Level::Debug, detail::concat(args...));
}
template <class... Args>
void info(const Args&... args) {
  if (enabled(Level::Info)) write(Level::Info, detail::concat(args...));
}
template <class... Args>
void notice(const Args&... args) {
  if (enabled(Level::Notice)) write(Level::Notice, detail::concat(args...));
}
template <class... Args>
void warning(const Args&... args) {
  if (enabled(Level::Warning)) write(Level::Warning, detail::concat(args...));
}
template <class... Args>
void error(const Args&... args) {
  if (enabled(Level::Error)) write(Level::Error, detail::concat(args...));
}

}  // namespace tetherd::log
