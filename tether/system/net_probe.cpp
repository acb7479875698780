#include "tether/system/net_probe.h"

#include <sys/socket.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <random>

namespace tetherd {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

namespace {

template <class Socket>
bool bindTo(Socket& s, const std::string& ifname, const asio::ip::address& source, std::string& why) {
  if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(),
                   static_cast<socklen_t>(ifname.size())) != 0) {
    why = std::string("bind to ") + ifname + ": " + std::strerror(errno);
    return false;
  }
  error_code ec;
  s.bind(typename Socket::endpoint_type(source, 0), ec);
  if (ec) {
    why = "bind to " + source.to_string() + ": " + ec.message();
    return false;
  }
  return true;
}

asio::ip::address v6(const Ipv6Address& a) { return asio::ip::address_v6(a.bytes); }
asio::ip::address v4(Ipv4Address a) { return asio::ip::address_v4(a.value); }

uint16_t randomId() {
  static std::minstd_rand gen{std::random_device{}()};
  return static_cast<uint16_t>(gen());
}

// One probe: DNS, then HTTP of the URL, then (on failure) of the fallback.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::io_context& io, ProbeTarget t, std::function<void(ProbeReport)> done, std::weak_ptr<bool> alive)
      : io_(io), t_(std::move(t)), done_(std::move(done)), alive_(std::move(alive)), timer_(io), udp_(io), tcp_(io) {}

  void start() {
    // IPv6 for a candidate without IPv4: its own address, its IPv6 servers, AAAA records.
    if (t_.source6) {
      source_ = v6(*t_.source6);
      for (const auto& a : t_.dns6) servers_.push_back(v6(a));
    } else {
      source_ = v4(t_.source);
      for (const auto& a : t_.dns) servers_.push_back(v4(a));
    }
    resolve(t_.url);
  }

 private:
  using Clock = std::chrono::steady_clock;

  void finish() {
    disarm();
    error_code ignored;
    udp_.close(ignored);
    tcp_.close(ignored);
    if (alive_.lock() && done_) {
      auto done = std::move(done_);
      done_ = nullptr;
      done(std::move(report_));
    }
  }

  void disarm() {
    ++step_;
    timer_.cancel();
  }

  void arm() {
    timer_.expires_after(std::chrono::milliseconds(t_.timeoutMs));
    // A deadline that expired just as its step finished must not end the next step.
    timer_.async_wait([self = shared_from_this(), step = ++step_](error_code ec) {
      if (ec || step != self->step_) return;
      error_code ignored;
      self->udp_.close(ignored);  // the waiting operation ends with operation_aborted
      self->tcp_.close(ignored);
      self->timedOut_ = true;
    });
  }

  // ---------------------------------------------------------------- DNS
  void resolve(const probe::Url& url) {
    current_ = url;
    if (auto literal = Ipv4Address::parse(url.host)) {
      report_.dnsOk = true;  // nothing to ask
      if (t_.source6) {
        report_.http.why = "HTTP " + url.str() + ": an IPv4 address, and " + t_.ifname + " has IPv6 only";
        return fallbackOrFinish();
      }
      return connect(v4(*literal));
    }
    if (servers_.empty()) {
      report_.http.why = "no DNS server for " + t_.ifname;
      return finish();
    }
    error_code ec;
    udp_ = udp::socket(io_);
    udp_.open(t_.source6 ? udp::v6() : udp::v4(), ec);
    std::string why;
    if (ec || !bindTo(udp_, t_.ifname, source_, why)) {
      report_.http.why = ec ? "DNS socket: " + ec.message() : why;
      return finish();
    }
    id_ = randomId();
    query_ = probe::dnsQuery(id_, url.host, t_.source6 ? probe::kTypeAaaa : probe::kTypeA);
    timedOut_ = false;
    arm();
    for (size_t i = 0; i < servers_.size() && i < 2; ++i)
      udp_.async_send_to(asio::buffer(query_), udp::endpoint(servers_[i], 53),
                         [self = shared_from_this()](error_code, size_t) {});
    receive();
  }

  void receive() {
    udp_.async_receive(asio::buffer(datagram_), [self = shared_from_this()](error_code ec, size_t n) {
      if (ec) {
        self->report_.http.why = self->timedOut_
                                     ? "DNS: no answer from " + self->servers_.front().to_string() + " in time"
                                     : "DNS: " + ec.message();
        return self->fallbackOrFinish();
      }
      auto answer = self->addresses(n);
      if (!answer) return self->receive();  // not the answer (or garbage): keep waiting until the deadline
      self->disarm();
      error_code ignored;
      self->udp_.close(ignored);
      self->report_.dnsOk = true;
      if (answer->empty()) {
        self->report_.http.why = "DNS: no address for " + self->current_.host;
        return self->fallbackOrFinish();
      }
      self->connect(answer->front());
    });
  }

  // The addresses of the answer in the probe's family.
  std::optional<std::vector<asio::ip::address>> addresses(size_t n) const {
    std::optional<std::vector<asio::ip::address>> out;
    if (t_.source6) {
      if (auto a = probe::parseDnsAnswer6(datagram_.data(), n, id_)) {
        out.emplace();
        for (const auto& x : *a) out->push_back(v6(x));
      }
    } else if (auto a = probe::parseDnsAnswer(datagram_.data(), n, id_)) {
      out.emplace();
      for (const auto& x : *a) out->push_back(v4(x));
    }
    return out;
  }

  // ---------------------------------------------------------------- HTTP
  void connect(const asio::ip::address& to) {
    report_.url = current_.str();
    error_code ec;
    tcp_ = tcp::socket(io_);
    tcp_.open(t_.source6 ? tcp::v6() : tcp::v4(), ec);
    std::string why;
    if (ec || !bindTo(tcp_, t_.ifname, source_, why)) {
      report_.http.why = ec ? "HTTP socket: " + ec.message() : why;
      return finish();
    }
    request_ = probe::httpRequest(current_);
    answer_.clear();
    timedOut_ = false;
    started_ = Clock::now();
    arm();
    tcp_.async_connect(tcp::endpoint(to, current_.port),
                       [self = shared_from_this()](error_code ec) {
                         if (ec) return self->httpFailed(ec);
                         asio::async_write(self->tcp_, asio::buffer(self->request_),
                                           [self](error_code ec, size_t) {
                                             if (ec) return self->httpFailed(ec);
                                             self->read();
                                           });
                       });
  }

  void read() {
    tcp_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](error_code ec, size_t n) {
      auto& a = self->answer_;
      const size_t room = a.size() <= probe::kMaxProbeHeader ? probe::kMaxProbeHeader + 1 - a.size() : 0;
      a.append(self->chunk_.data(), std::min(n, room));  // never more than the limit (+1 to see it passed)
      const bool complete = probe::httpAnswerComplete(a);
      if (ec && !complete && !(ec == asio::error::eof && !a.empty())) return self->httpFailed(ec);
      if (!complete && !ec) return self->read();
      self->report_.rttMs = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - self->started_).count());
      self->report_.http = probe::judgeHttpAnswer(a, self->current_);
      if (self->report_.http.kind == probe::HttpVerdict::Kind::Failed) return self->fallbackOrFinish();
      self->finish();
    });
  }

  void httpFailed(error_code ec) {
    report_.http = {};
    report_.http.why = "HTTP " + current_.str() + ": " + (timedOut_ ? std::string("no answer in time") : ec.message());
    fallbackOrFinish();
  }

  void fallbackOrFinish() {
    disarm();
    error_code ignored;
    udp_.close(ignored);
    tcp_.close(ignored);
    if (t_.fallback && !triedFallback_) {
      triedFallback_ = true;
      auto why = report_.http.why;
      probe::Url next = *t_.fallback;
      // Posted: the sockets' cancelled operations finish first.
      asio::post(io_, [self = shared_from_this(), next, why] {
        self->report_.http.why = why;
        self->resolve(next);
      });
      return;
    }
    finish();
  }

  asio::io_context& io_;
  ProbeTarget t_;
  std::function<void(ProbeReport)> done_;
  std::weak_ptr<bool> alive_;
  asio::steady_timer timer_;
  udp::socket udp_;
  tcp::socket tcp_;
  ProbeReport report_;
  asio::ip::address source_;                 // the candidate's own address, in the probe's family
  std::vector<asio::ip::address> servers_;  // its DNS servers, in that family
  probe::Url current_;
  bool triedFallback_ = false;
  bool timedOut_ = false;
  unsigned step_ = 0;
  uint16_t id_ = 0;
  std::vector<uint8_t> query_;
  std::array<uint8_t, 1500> datagram_{};
  std::array<char, 4096> chunk_{};
  std::string request_, answer_;
  Clock::time_point started_;
};

}  // namespace

AsioNetProber::AsioNetProber(asio::io_context& io) : io_(io), alive_(std::make_shared<bool>(true)) {}
AsioNetProber::~AsioNetProber() = default;

void AsioNetProber::probe(const ProbeTarget& target, std::function<void(ProbeReport)> done) {
  std::make_shared<Session>(io_, target, std::move(done), alive_)->start();
}

}  // namespace tetherd
