#include "tether/core/pd_announced.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "tether/base/ip.h"

namespace tetherd {

void addAnnounced(std::vector<AnnouncedPrefix>& list, const AnnouncedPrefix& p) {
  auto same = std::find_if(list.begin(), list.end(), [&](const AnnouncedPrefix& e) { return e.address == p.address; });
  if (same != list.end()) {
    same->validUntil = std::max(same->validUntil, p.validUntil);
    return;
  }
  list.push_back(p);
  if (list.size() > kMaxAnnouncedPerDownstream)
    list.erase(std::min_element(list.begin(), list.end(),
                                [](const AnnouncedPrefix& a, const AnnouncedPrefix& b) { return a.validUntil < b.validUntil; }));
  std::sort(list.begin(), list.end(), [](const AnnouncedPrefix& a, const AnnouncedPrefix& b) { return a.address < b.address; });
}

std::string formatAnnounced(const AnnouncedPrefixes& all, PdLease::Clock::time_point now,
                            std::chrono::system_clock::time_point wallNow) {
  std::string text;
  for (const auto& [name, list] : all)
    for (const auto& p : list) {
      if (p.validUntil <= now) continue;
      const auto left = std::min(p.validUntil - now, std::chrono::duration_cast<PdLease::Clock::duration>(kMaxAnnouncedValid));
      const auto until = std::chrono::floor<std::chrono::seconds>(wallNow.time_since_epoch() + left).count();
      text += name + " " + p.address.str() + " " + std::to_string(until) + "\n";
    }
  return text;
}

AnnouncedPrefixes parseAnnounced(std::string_view text, PdLease::Clock::time_point now,
                                 std::chrono::system_clock::time_point wallNow) {
  AnnouncedPrefixes out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, address, until, extra;
    if (!(fields >> name >> address >> until) || (fields >> extra) || !validIfname(name)) continue;
    auto p = Ipv6Prefix::parse(address);
    long long seconds = 0;
    auto [end, ec] = std::from_chars(until.data(), until.data() + until.size(), seconds);
    if (!p || p->length != 64 || ec != std::errc{} || end != until.data() + until.size()) continue;
    const auto left = std::chrono::seconds(seconds) - wallNow.time_since_epoch();
    if (left <= decltype(left)::zero()) continue;
    const auto capped = std::min<PdLease::Clock::duration>(std::chrono::duration_cast<PdLease::Clock::duration>(left),
                                                           kMaxAnnouncedValid);
    addAnnounced(out[name], AnnouncedPrefix{*p, now + capped});
  }
  return out;
}

}  // namespace tetherd
