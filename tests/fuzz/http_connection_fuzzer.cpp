// Whole HTTP requests through the real connection code (web/http/http_connection.h) over
// beast::test::stream, with a small router behind it: GET /hello answers, POST echoes its body,
// /events opens an event stream (two events, then its end), /later answers from a posted
// handler. The first input byte chooses how the rest arrives: all at once or in chunks of
// 1..127 bytes with the loop run between them (partial headers, a body after "100 Continue").
// Then the client closes and the io_context runs until nothing is left.
// Properties: no crash or sanitizer report; the loop ends (no handler or timer left waiting on a
// closed client); the connection is closed and freed (nothing keeps it alive); whatever the
// client received starts as an HTTP/1.1 response; the bytes sent back stay bounded (at most
// the responses to the requests that fit in the input, never more than 1 MiB).
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tests/fuzz/fuzz_check.h"
#include "web/http/http_connection.h"

namespace beast = boost::beast;

namespace tetherd::web {
template <>
struct StreamOps<beast::test::stream> {
  static void shutdownSend(beast::test::stream& s) { s.close(); }
  static void close(beast::test::stream& s) { s.close(); }
};
}  // namespace tetherd::web

using namespace tetherd::web;

namespace {

void route(boost::asio::io_context& io, Request req, Reply reply) {
  Response r;
  r.set("Content-Type", "text/plain");
  if (req.path == "/events") {
    auto events = std::make_shared<EventStream>("k");
    events->send("hello", "{}");
    r.set("Content-Type", "text/event-stream");
    r.stream = events;
    reply(std::move(r));
    events->send("status", "{\"a\":1}");
    boost::asio::post(io, [events] { events->end(); });
    return;
  }
  if (req.path == "/later") {
    boost::asio::post(io, [reply, r]() mutable {
      r.body = "later";
      reply(std::move(r));
    });
    return;
  }
  if (req.method == "POST") r.body = req.body;
  else r.body = "hi";
  reply(std::move(r));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = data[0] & 0x7f;  // 0: all at once
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  boost::asio::io_context io;
  beast::test::stream client(io);
  std::weak_ptr<HttpConnection<beast::test::stream>> weak;
  size_t received = 0;
  bool sawFirst = false;
  auto collect = [&] {
    const auto view = client.str();
    std::string_view got(view.data(), view.size());
    if (!sawFirst && got.size() >= 9) {
      FUZZ_CHECK(got.substr(0, 9) == "HTTP/1.1 ");
      sawFirst = true;
    }
    received += got.size();
    if (sawFirst) client.clear();
  };
  {
    beast::test::stream server(io);
    client.connect(server);
    ConnectionLimits limits;
    limits.header = std::chrono::milliseconds(2000);
    limits.request = std::chrono::milliseconds(3000);
    limits.linger = std::chrono::milliseconds(50);
    auto conn = std::make_shared<HttpConnection<beast::test::stream>>(
        std::move(server), "192.168.42.10", [&io](Request req, Reply reply) { route(io, std::move(req), std::move(reply)); },
        limits);
    conn->setLocal("192.168.42.1");
    weak = conn;
    conn->start();
  }
  io.poll();
  for (size_t at = 0; at < input.size();) {
    const size_t n = chunk ? std::min(chunk, input.size() - at) : input.size();
    boost::system::error_code ec;
    boost::asio::write(client, boost::asio::buffer(input.data() + at, n), ec);
    if (ec) break;  // the server closed
    at += n;
    io.restart();
    io.poll();
    collect();
  }
  client.close();  // EOF after the input: every read ends
  io.restart();
  const auto start = std::chrono::steady_clock::now();
  io.run();
  collect();
  // Nothing waited for a deadline: all ended on the client's close.
  FUZZ_CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));
  FUZZ_CHECK(weak.expired());
  FUZZ_CHECK(received <= 1024 * 1024);
  return 0;
}
