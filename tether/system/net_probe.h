// Health probes out of one upstream: a DNS query to its servers for the probe's host, then an
// HTTP GET of the probe URL (and of the fallback URL if that fails), each socket bound to the
// upstream (SO_BINDTODEVICE) and to its own address (IPv4, or IPv6 for a candidate without IPv4), so that the kernel routes it through the
// upstream's own table (tetherd's `oif` rule: platform-facts-2 §2). Asynchronous on the loop;
// every step has a deadline; the answers are read with the bounds of probe_parse.h.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tether/base/ip.h"
#include "tether/base/ip6.h"
#include "tether/system/probe_parse.h"

namespace tetherd {

struct ProbeTarget {
  std::string ifname;
  Ipv4Address source;             // the upstream's own address
  std::vector<Ipv4Address> dns;   // its servers (at most the first two are asked)
  // A candidate without IPv4 is probed over IPv6: from this address of its own, asking its
  // IPv6 servers for AAAA records (source and dns are then unused).
  std::optional<Ipv6Address> source6{};
  std::vector<Ipv6Address> dns6{};
  probe::Url url;
  std::optional<probe::Url> fallback;
  int timeoutMs = 3000;           // per step (DNS, connect + answer)
};

struct ProbeReport {
  bool dnsOk = false;  // a server answered the query for the probe's host
  probe::HttpVerdict http;
  std::string url;     // the URL the verdict is about
  int rttMs = 0;       // connect to answer
};

// The port: unit tests fake it.
class NetProber {
 public:
  virtual ~NetProber() = default;
  // Calls done exactly once, on the loop, unless the prober is destroyed first.
  virtual void probe(const ProbeTarget& target, std::function<void(ProbeReport)> done) = 0;
};

class AsioNetProber : public NetProber {
 public:
  explicit AsioNetProber(boost::asio::io_context& io);
  ~AsioNetProber() override;
  void probe(const ProbeTarget& target, std::function<void(ProbeReport)> done) override;

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<bool> alive_;
};

}  // namespace tetherd
