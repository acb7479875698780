// HttpConnection driven with raw bytes through beast::test::stream: what a client sends, what
// it gets back, byte for byte where it matters (limits, errors, keep-alive, event streams).
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <chrono>

#include <gtest/gtest.h>

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

class HttpConnectionTest : public ::testing::Test {
 protected:
  // A connection whose handler answers "GET /hello" with "hi", echoes bodies, and keeps an
  // event stream for "/events".
  void open(ConnectionLimits limits = fastLimits()) {
    client = std::make_unique<beast::test::stream>(io);
    beast::test::stream server(io);
    client->connect(server);
    conn = std::make_shared<HttpConnection<beast::test::stream>>(
        std::move(server), "192.168.42.10",
        [this](Request req, Reply reply) {
          requests.push_back(req);
          Response r;
          if (req.path == "/events") {
            events = std::make_shared<EventStream>("k");
            events->send("hello", "{}");
            r.set("Content-Type", "text/event-stream");
            r.stream = events;
          } else if (req.method == "POST") {
            r.set("Content-Type", "text/plain");
            r.body = req.body;
          } else if (req.path == "/later") {
            pending = std::move(reply);
            return;
          } else {
            r.set("Content-Type", "text/plain");
            r.body = "hi";
          }
          reply(std::move(r));
        },
        limits);
    conn->start();
  }

  static ConnectionLimits fastLimits() {
    ConnectionLimits l;
    l.header = std::chrono::milliseconds(300);
    l.request = std::chrono::milliseconds(400);
    l.linger = std::chrono::milliseconds(100);
    return l;
  }

  void send(const std::string& bytes) {
    boost::asio::write(*client, boost::asio::buffer(bytes));
  }

  // Runs the loop until the client has received `until` (or the deadline passes).
  std::string receive(const std::string& until, std::chrono::milliseconds deadline = std::chrono::milliseconds(2000)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
      if (std::string(client->str()).find(until) != std::string::npos) break;
    }
    return std::string(client->str());
  }

  void runFor(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }

  boost::asio::io_context io;
  std::unique_ptr<beast::test::stream> client;
  std::shared_ptr<HttpConnection<beast::test::stream>> conn;
  std::vector<Request> requests;
  std::shared_ptr<EventStream> events;
  Reply pending;
};

TEST_F(HttpConnectionTest, AnswersAndKeepsTheConnectionAlive) {
  open();
  send("GET /hello HTTP/1.1\r\nHost: 192.168.42.1:8080\r\n\r\n");
  EXPECT_EQ(receive("hi"), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi");
  client->clear();
  send("GET /hello?x=1 HTTP/1.1\r\nHost: 192.168.42.1:8080\r\n\r\n");
  EXPECT_NE(receive("hi").find("200 OK"), std::string::npos);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].path, "/hello");
  EXPECT_EQ(requests[1].query, "x=1");
  EXPECT_EQ(requests[1].peer, "192.168.42.10");
  EXPECT_FALSE(conn->closed());
}

TEST_F(HttpConnectionTest, PipelinedRequestsAreAnsweredInOrder) {
  open();
  send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
  auto out = receive("abc");
  EXPECT_LT(out.find("\r\n\r\nhi"), out.find("\r\n\r\nabc"));
}

TEST_F(HttpConnectionTest, ConnectionCloseIsHonoured) {
  open();
  send("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_NE(receive("hi").find("Connection: close\r\n"), std::string::npos);
  runFor(std::chrono::milliseconds(300));
  EXPECT_TRUE(conn->closed());
}

TEST_F(HttpConnectionTest, Http10ClosesUnlessAskedToKeepAlive) {
  open();
  send("GET /hello HTTP/1.0\r\n\r\n");
  EXPECT_NE(receive("hi").find("Connection: close\r\n"), std::string::npos);
}

TEST_F(HttpConnectionTest, OversizedBodyGets413BeforeItIsRead) {
  open();
  send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n");
  auto out = receive("\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(requests.empty()) << "the handler never sees it";
}

// curl sends "Expect: 100-continue" for bodies over 1 KiB and waits (1 s) for the go-ahead.
TEST_F(HttpConnectionTest, ExpectContinueGetsTheGoAheadBeforeTheBody) {
  open();
  send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(receive("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_TRUE(requests.empty()) << "no body yet";
  client->clear();
  send("{}");
  auto out = receive("\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, "{}");
  // Too large: refused at once, no go-ahead.
  client->clear();
  send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 70000\r\n\r\n");
  EXPECT_EQ(receive("\r\n\r\n").rfind("HTTP/1.1 413 ", 0), 0u);
}

TEST_F(HttpConnectionTest, OversizedChunkedBodyGets413) {
  open();
  std::string chunk(40000, 'x');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size) + "\r\n" + chunk + "\r\n" +
       size + "\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(receive("\r\n\r\n").rfind("HTTP/1.1 413 ", 0), 0u);
  EXPECT_TRUE(requests.empty());
}

TEST_F(HttpConnectionTest, OversizedHeadersGet431) {
  open();
  send("GET /hello HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
  EXPECT_EQ(receive("\r\n\r\n").rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u);
  EXPECT_TRUE(requests.empty());
}

TEST_F(HttpConnectionTest, GarbageGets400AndAClose) {
  open();
  send("HELLO THERE\r\n\r\n");
  auto out = receive("\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << out;
  runFor(std::chrono::milliseconds(300));
  EXPECT_TRUE(conn->closed());
}

TEST_F(HttpConnectionTest, MissingHostAndAbsoluteTargetsAre400) {
  open();
  send("GET /hello HTTP/1.1\r\n\r\n");
  EXPECT_EQ(receive("\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  open();
  send("GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(receive("\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_TRUE(requests.empty());
}

TEST_F(HttpConnectionTest, HeadGetsHeadersWithoutTheBody) {
  open();
  send("HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n");
  auto out = receive("\r\n\r\n");
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n");
}

// The attack of issue 15: "Expect: 100-continue" and then no body. The go-ahead is written, and
// the request's deadline still runs: the connection goes when it passes.
TEST_F(HttpConnectionTest, ExpectContinueWithoutABodyIsClosedAtTheRequestDeadline) {
  ConnectionLimits l = fastLimits();
  l.header = std::chrono::milliseconds(200);
  l.request = std::chrono::milliseconds(600);
  open(l);
  send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(receive("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  runFor(std::chrono::milliseconds(300));
  EXPECT_FALSE(conn->closed()) << "past the header deadline, but the header is in: the body has until the request deadline";
  runFor(std::chrono::milliseconds(500));
  EXPECT_TRUE(conn->closed()) << "the request deadline passed without the body";
  EXPECT_TRUE(requests.empty());
}

// A header trickling in byte by byte does not postpone its deadline, which is shorter than the
// request's; a body trickling in has the request's deadline.
TEST_F(HttpConnectionTest, TheHeaderHasAShorterDeadlineThanTheRequest) {
  ConnectionLimits l = fastLimits();
  l.header = std::chrono::milliseconds(200);
  l.request = std::chrono::milliseconds(1000);
  open(l);
  const std::string head = "GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: ";
  for (int i = 0; i < 6 && !conn->closed(); ++i) {
    send(head.substr(static_cast<size_t>(i) * 5, 5));
    runFor(std::chrono::milliseconds(60));
  }
  EXPECT_TRUE(conn->closed()) << "the header was not complete 200 ms after the connection was ready for it";

  open(l);
  send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{");
  runFor(std::chrono::milliseconds(500));
  EXPECT_FALSE(conn->closed()) << "the header came in time; the body has the request's deadline";
  runFor(std::chrono::milliseconds(700));
  EXPECT_TRUE(conn->closed());
}

// A connection in a session-only slot: the header decides, before any go-ahead for a body.
TEST_F(HttpConnectionTest, ASessionOnlySlotRefusesAHeaderWithoutASession) {
  open();
  conn->checkFirstRequest([](const Request& r) -> std::string {
    return r.cookie("tetherd_session") == "good" ? "" : "only logged-in sessions now";
  });
  send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  auto out = receive("only logged-in sessions now");
  EXPECT_EQ(out.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Retry-After: 5\r\n"), std::string::npos);
  EXPECT_TRUE(requests.empty());

  open();
  conn->checkFirstRequest([](const Request& r) -> std::string {
    return r.cookie("tetherd_session") == "good" ? "" : "only logged-in sessions now";
  });
  send("GET /hello HTTP/1.1\r\nHost: a\r\nCookie: tetherd_session=good\r\n\r\n");
  EXPECT_NE(receive("hi").find("200 OK"), std::string::npos);
}

TEST_F(HttpConnectionTest, SilentClientsAreClosed) {
  open();
  runFor(std::chrono::milliseconds(500));
  EXPECT_TRUE(conn->closed());
}

TEST_F(HttpConnectionTest, HalfARequestThenSilenceIsClosed) {
  open();
  send("GET /hello HTTP/1.1\r\nHo");
  runFor(std::chrono::milliseconds(500));
  EXPECT_TRUE(conn->closed());
  EXPECT_TRUE(requests.empty());
}

TEST_F(HttpConnectionTest, EventStreamStaysOpenAndCarriesEvents) {
  open();
  send("GET /events HTTP/1.1\r\nHost: a\r\n\r\n");
  auto out = receive("event: hello");
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\nevent: hello\ndata: {}\n\n");
  runFor(std::chrono::milliseconds(500));  // longer than the idle limit: an event stream is not idle
  EXPECT_FALSE(conn->closed());
  events->send("status", "{\"a\":1}");
  EXPECT_NE(receive("status").find("event: status\ndata: {\"a\":1}\n\n"), std::string::npos);
  events->end();  // logout: the server ends it
  runFor(std::chrono::milliseconds(300));
  EXPECT_TRUE(conn->closed());
}

TEST_F(HttpConnectionTest, EventStreamEndsWhenTheClientLeaves) {
  open();
  send("GET /events HTTP/1.1\r\nHost: a\r\n\r\n");
  receive("event: hello");
  client->close();
  runFor(std::chrono::milliseconds(100));
  EXPECT_TRUE(conn->closed());
  EXPECT_TRUE(events->ended());
}

TEST_F(HttpConnectionTest, AnAnswerAfterTheClientLeftIsDropped) {
  open();
  send("GET /later HTTP/1.1\r\nHost: a\r\n\r\n");
  runFor(std::chrono::milliseconds(50));
  ASSERT_TRUE(pending);
  client->close();
  runFor(std::chrono::milliseconds(50));
  Response r;
  r.body = "late";
  pending(std::move(r));  // must not crash or write to a dead stream
  runFor(std::chrono::milliseconds(50));
  SUCCEED();
}

TEST(HttpSerialize, ExactTextAndNoHeaderSplitting) {
  Response r;
  r.status = 404;
  r.set("Content-Type", "text/plain");
  r.set("X-Evil", "a\r\nSet-Cookie: x=1");  // never written: it would split the header
  r.body = "no";
  EXPECT_EQ(serialize(r, true), "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nno");
  Response nm;
  nm.status = 304;
  nm.set("ETag", "\"x\"");
  EXPECT_EQ(serialize(nm, false), "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nConnection: close\r\n\r\n");
}

TEST(HttpRequest, HeadersAndCookies) {
  Request r;
  r.headers = {{"cookie", "a=1; tetherd_session=abc ; b=2"}, {"X-CSRF-Token", "t"}};
  EXPECT_EQ(r.cookie("tetherd_session"), "abc");
  EXPECT_EQ(r.cookie("b"), "2");
  EXPECT_EQ(r.cookie("c"), "");
  ASSERT_NE(r.header("x-csrf-token"), nullptr);
  EXPECT_EQ(*r.header("x-csrf-token"), "t");
}

}  // namespace
