#include "tether/core/relay_applier.h"

#include <unistd.h>

#include <sstream>

#include "tether/base/files.h"
#include "tether/base/ip.h"
#include "tether/base/log.h"

namespace tetherd {

std::string RelayApplier::formatRecord(const std::string& upstream, const std::set<RelayHost>& hosts) {
  std::string text;
  for (const auto& h : hosts) text += h.downstream + " " + upstream + " " + h.address.str() + "\n";
  return text;
}

void RelayApplier::saveRecord(const std::set<RelayHost>& extra) {
  if (record_.empty()) return;
  auto hosts = have_.hosts;
  hosts.insert(extra.begin(), extra.end());
  if (hosts.empty()) {
    ::unlink(record_.c_str());
    return;
  }
  if (auto st = writeFileAtomic(record_, formatRecord(have_.upstream, hosts), 0644); !st) log::warning(st.error().message);
}

Status RelayApplier::apply(const RelayState& want) {
  if (!port_ || have_ == want) return {};
  Status first;
  auto note = [&first](Status st) {
    if (st) return true;
    log::warning("IPv6 relay: ", st.error().message);
    if (first) first = st;
    return false;
  };
  // Gone, or the upstream changed: every old host goes.
  const bool moved = have_.upstream != want.upstream;
  for (auto it = have_.hosts.begin(); it != have_.hosts.end();) {
    if (!moved && want.hosts.count(*it)) {
      ++it;
      continue;
    }
    bool ok = note(port_->removeProxy(have_.upstream, it->address));
    ok = note(port_->removeRoute(it->downstream, it->address)) && ok;
    it = ok ? have_.hosts.erase(it) : std::next(it);
  }
  if (have_.hosts.empty()) have_.upstream = want.upstream;
  std::set<RelayHost> adding;
  for (const auto& h : want.hosts)
    if (!have_.hosts.count(h)) adding.insert(h);
  if (!adding.empty() && have_.upstream == want.upstream) {
    saveRecord(adding);  // named before it exists: a crash in between leaves nothing unknown
    for (const auto& h : adding) {
      if (!note(port_->addRoute(h.downstream, h.address))) continue;
      if (!note(port_->addProxy(want.upstream, h.address))) {
        (void)port_->removeRoute(h.downstream, h.address);
        continue;
      }
      have_.hosts.insert(h);
    }
  }
  if (have_.hosts.size() == want.hosts.size()) {  // all in place
    have_.prefix = want.prefix;
    have_.downstreams = want.downstreams;
  }
  saveRecord({});
  return first;
}

void RelayApplier::reset() {
  if (!port_ || record_.empty()) return;
  auto text = readFile(record_, 256 * 1024);
  if (!text) return;
  std::istringstream in(*text);
  std::string downstream, upstream, address;
  while (in >> downstream >> upstream >> address) {
    auto a = Ipv6Address::parse(address);
    if (!a || !validIfname(downstream) || !validIfname(upstream)) continue;
    (void)port_->removeProxy(upstream, *a);
    (void)port_->removeRoute(downstream, *a);
    log::notice("removed the IPv6 relay of ", address, " (", downstream, ", ", upstream, ") left by a previous run");
  }
  ::unlink(record_.c_str());
}

}  // namespace tetherd
