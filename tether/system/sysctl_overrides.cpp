#include "tether/system/sysctl_overrides.h"

#include <unistd.h>

#include <sstream>

#include "tether/base/files.h"
#include "tether/base/log.h"

namespace tetherd {

Status SysctlOverrides::save() {
  std::string text;
  for (const auto& [key, h] : held_) text += key + " " + h.original + "\n";
  if (text.empty()) {
    ::unlink(record_.c_str());
    return {};
  }
  return writeFileAtomic(record_, text, 0644);
}

Status SysctlOverrides::set(const std::string& key, const std::string& value) {
  auto it = held_.find(key);
  if (it != held_.end() && it->second.value == value) return {};
  if (it == held_.end()) {
    auto cur = sysctl_.read(key);
    if (!cur) return cur.error();
    it = held_.emplace(key, Held{*cur, ""}).first;
    if (auto st = save(); !st) {  // recorded before it is changed
      held_.erase(it);
      return st;
    }
  }
  if (auto st = sysctl_.write(key, value); !st) return st;
  it->second.value = value;
  log::info("sysctl ", key, "=", value, " (was ", it->second.original, ")");
  return {};
}

Status SysctlOverrides::restore(const std::string& key) {
  auto it = held_.find(key);
  if (it == held_.end()) return {};
  auto st = sysctl_.write(key, it->second.original);
  if (!st && sysctl_.read(key)) return st;  // still there: tried again later
  if (st) log::info("sysctl ", key, " restored to ", it->second.original);
  held_.erase(it);
  return save();
}

void SysctlOverrides::recoverFromPreviousRun() {
  auto text = readFile(record_, 64 * 1024);
  if (!text) return;
  std::istringstream in(*text);
  std::string key, value;
  while (in >> key >> value) {
    if (auto st = sysctl_.write(key, value); st)
      log::notice("restored ", key, "=", value, " left changed by a previous run");
  }
  ::unlink(record_.c_str());
}

std::map<std::string, std::string> SysctlOverrides::held() const {
  std::map<std::string, std::string> out;
  for (const auto& [key, h] : held_) out[key] = h.value;
  return out;
}

}  // namespace tetherd
