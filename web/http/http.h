// HTTP as the admin page's handlers see it: plain request/response values, no Beast. The
// connection code (http_connection.h) parses bytes into a Request and writes serialize() of the
// Response; everything between is ordinary code that tests call directly.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tetherd::web {

struct Header {
  std::string name;
  std::string value;
};

// Limits of one request (bmcweb-like budgets): larger headers get 431, larger bodies 413.
inline constexpr size_t kMaxHeaderBytes = 8 * 1024;
inline constexpr size_t kMaxBodyBytes = 64 * 1024;

struct Request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // as sent ("/api/clients?x=1")
  std::string path;    // the target up to '?'
  std::string query;   // after '?', "" when none
  std::vector<Header> headers;
  std::string body;
  std::string peer;    // the client's address ("192.168.42.10")
  std::string local;   // the address it connected to ("192.168.42.1"; "" when unknown)

  // The first header of that name (case-insensitive), nullptr when absent.
  const std::string* header(std::string_view name) const;
  // The value of cookie `name` in the Cookie header(s), "" when absent.
  std::string cookie(std::string_view name) const;
  bool changesState() const { return method == "POST" || method == "PUT" || method == "DELETE" || method == "PATCH"; }
};

// A Server-Sent Events stream. The handler returns it in a Response; the connection writes the
// headers, then attach()es itself; the web app send()s events to it and end()s it (logout,
// session expired). Events sent before the connection attached are queued.
class EventStream {
 public:
  explicit EventStream(std::string sessionKey) : sessionKey_(std::move(sessionKey)) {}
  void attach(std::function<void(std::string)> sink, std::function<void()> end);
  void detach();  // the connection went away
  // One event: "event: <name>\ndata: <data>\n\n" (data must be one line: JSON is).
  void send(std::string_view name, std::string_view data);
  void end();
  bool ended() const { return ended_; }
  const std::string& sessionKey() const { return sessionKey_; }
  static std::string format(std::string_view name, std::string_view data);

 private:
  std::string sessionKey_;
  std::function<void(std::string)> sink_;
  std::function<void()> end_;
  std::vector<std::string> pending_;
  bool ended_ = false;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;
  std::shared_ptr<EventStream> stream;  // set: text/event-stream, the connection stays open
  bool close = false;                   // "Connection: close" after this response

  void set(std::string_view name, std::string value);  // replaces a header of that name
  const std::string* get(std::string_view name) const;
};

using Reply = std::function<void(Response)>;

const char* reasonPhrase(int status);
bool iequals(std::string_view a, std::string_view b);

// The headers every response carries: CSP (default-src 'self', no inline script), no framing,
// no sniffing, no referrer.
void addSecurityHeaders(Response& r);

// "HTTP/1.1 <status> <reason>\r\n<headers>Content-Length: n\r\nConnection: ...\r\n\r\n<body>".
// An event stream gets its headers only (no length: the body ends when the connection does).
// headOnly: the headers of a GET, without the body (HEAD).
std::string serialize(const Response& r, bool keepAlive, bool headOnly = false);

// A plain-text error for requests that never reached a handler (bad syntax, limits).
Response plainError(int status, std::string_view message);

}  // namespace tetherd::web
