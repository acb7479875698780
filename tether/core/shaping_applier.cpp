#include "tether/core/shaping_applier.h"

#include <cstdio>
#include <set>
#include <sstream>

#include "tether/base/files.h"
#include "tether/base/log.h"

namespace tetherd {

void ShapingApplier::saveRecord(const ShapingState& extra) {
  if (record_.empty()) return;
  std::set<std::string> names;
  for (const auto& [n, s] : have_) names.insert(n);
  for (const auto& [n, s] : extra) names.insert(n);
  if (names.empty()) {
    (void)std::remove(record_.c_str());
    return;
  }
  std::string text;
  for (const auto& n : names) text += n + "\n";
  if (auto st = writeFileAtomic(record_, text, 0644); !st) log::warning("rate limits record: ", st.error().message);
}

Status ShapingApplier::apply(const ShapingState& want) {
  if (!port_ || want == have_) return {};
  Status first;
  saveRecord(want);
  for (auto it = have_.begin(); it != have_.end();) {
    auto w = want.find(it->first);
    if (w != want.end() && w->second == it->second) {
      ++it;
      continue;
    }
    if (auto st = port_->clear(it->first, ifbName(it->first)); !st) {
      log::warning("rate limits on ", it->first, ": ", st.error().message);
      if (first) first = st;
    }
    it = have_.erase(it);
  }
  for (const auto& [ifname, s] : want) {
    if (have_.count(ifname)) continue;
    Status st;
    for (const auto& op : tcPlan(ifname, s)) {
      st = port_->add(op);
      if (!st) {
        st = makeError(st.error().code, tcText(op) + ": " + st.error().message);
        break;
      }
    }
    if (!st) {
      log::warning("rate limits on ", ifname, ": ", st.error().message);
      (void)port_->clear(ifname, ifbName(ifname));
      if (first) first = st;
      continue;
    }
    log::info("rate limits on ", ifname, ": ", s.clients.size(), " limited client(s)");
    have_[ifname] = s;
  }
  saveRecord({});
  return first;
}

void ShapingApplier::reset() {
  have_.clear();
  if (!port_) return;
  if (!record_.empty()) {
    if (auto text = readFile(record_, 64 * 1024)) {
      std::istringstream in(*text);
      for (std::string name; std::getline(in, name);)
        if (!name.empty()) {
          if (auto st = port_->clear(name, ifbName(name)); !st) log::warning("a previous run's rate limits on ", name, ": ", st.error().message);
          else log::info("removed a previous run's rate limits on ", name);
        }
    }
    (void)std::remove(record_.c_str());
  }
  if (auto n = port_->removeIfbs(); !n) log::warning("a previous run's ifb devices: ", n.error().message);
  else if (*n > 0) log::info("removed ", *n, " ifb device(s) a previous run left");
}

}  // namespace tetherd
