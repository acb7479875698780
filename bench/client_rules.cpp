// Per-client counter rules (issue 14): what one lease change costs in netfilter with N clients
// counted on one downstream: IptcFirewall::apply of the state with one client address replaced
// (one lease goes, another comes), as the applier does it after a lease file changes. Timed
// per apply; counted: commits and table reads per change (only filter should be committed,
// once). Must run in a private network namespace (`unshare -n bench_client_rules ...`): it
// flushes tetherd's chains. Uses its own xtables lock file (--lock).
//
// Output: one JSON object per line on stdout (bench/clients.py reads them).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tether/system/netfilter/firewall.h"
#include "tether/system/netfilter/iptc_firewall.h"

using namespace tetherd;

namespace {

std::string address(int i) { return "10.42." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 2); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string lock = "/tmp/bench-client-rules.lock";
  int reps = 51;
  std::vector<int> sizes = {0, 250};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--lock") == 0) lock = argv[i + 1];
    else if (std::strcmp(argv[i], "--reps") == 0) reps = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--sizes") == 0) {
      sizes.clear();
      for (char* p = std::strtok(argv[i + 1], ","); p != nullptr; p = std::strtok(nullptr, ",")) sizes.push_back(std::atoi(p));
    }
  }
  for (int n : sizes) {
    IptcFirewall fw(lock);
    if (auto st = fw.reset(); !st) {
      std::fprintf(stderr, "reset: %s\n", st.error().message.c_str());
      return 1;
    }
    FirewallState s{{"usb0"}, {{"usb0", "eth0"}}};
    for (int i = 0; i < n; ++i) s.clients["usb0"].insert(address(i));
    if (auto st = fw.apply(s); !st) {
      std::fprintf(stderr, "apply: %s\n", st.error().message.c_str());
      return 1;
    }
    std::vector<double> ms;
    const unsigned commits0 = fw.commitCount(), reads0 = fw.readCount();
    for (int r = 0; r < reps; ++r) {
      // One lease goes, a new one comes (with no client: one comes, then goes again).
      if (n > 0) s.clients["usb0"].erase(address(r % n));
      const std::string fresh = address(10000 + r);
      if (n > 0 || r % 2 == 0) s.clients["usb0"].insert(fresh);
      else s.clients.erase("usb0");
      const auto t0 = std::chrono::steady_clock::now();
      if (auto st = fw.apply(s); !st) {
        std::fprintf(stderr, "apply: %s\n", st.error().message.c_str());
        return 1;
      }
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (n > 0) {
        s.clients["usb0"].erase(fresh);
        s.clients["usb0"].insert(address(r % n));
        (void)fw.apply(s);  // back to N (not timed, not counted below: counted as its own change)
      }
    }
    const double changes = n > 0 ? 2.0 * reps : reps;
    std::printf("{\"clients\": %d, \"reps\": %d, \"apply_ms_median\": %.3f, \"apply_ms_max\": %.3f, "
                "\"commits_per_change\": %.2f, \"reads_per_change\": %.2f}\n",
                n, reps, median(ms), *std::max_element(ms.begin(), ms.end()), (fw.commitCount() - commits0) / changes,
                (fw.readCount() - reads0) / changes);
    (void)fw.reset();
  }
  return 0;
}
