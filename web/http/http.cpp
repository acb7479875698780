#include "web/http/http.h"

#include <algorithm>

namespace tetherd::web {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

const std::string* Request::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

std::string Request::cookie(std::string_view name) const {
  for (const auto& h : headers) {
    if (!iequals(h.name, "cookie")) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      size_t semi = v.find(';');
      std::string_view pair = v.substr(0, semi);
      v = semi == std::string_view::npos ? std::string_view{} : v.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (pair.substr(0, eq) == name) {
        std::string_view value = pair.substr(eq + 1);
        while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
        return std::string(value);
      }
    }
  }
  return {};
}

void EventStream::attach(std::function<void(std::string)> sink, std::function<void()> end) {
  sink_ = std::move(sink);
  end_ = std::move(end);
  for (auto& p : pending_) sink_(std::move(p));
  pending_.clear();
  if (ended_ && end_) {
    auto e = std::move(end_);
    end_ = nullptr;
    e();
  }
}

void EventStream::detach() {
  sink_ = nullptr;
  end_ = nullptr;
  ended_ = true;
}

std::string EventStream::format(std::string_view name, std::string_view data) {
  std::string out = "event: ";
  out += name;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

void EventStream::send(std::string_view name, std::string_view data) {
  if (ended_) return;
  std::string text = format(name, data);
  if (sink_) sink_(std::move(text));
  else if (pending_.size() < 16) pending_.push_back(std::move(text));
}

void EventStream::end() {
  if (ended_) return;
  ended_ = true;
  sink_ = nullptr;
  if (end_) {
    auto e = std::move(end_);
    end_ = nullptr;
    e();
  }
}

void Response::set(std::string_view name, std::string value) {
  for (auto& h : headers) {
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  }
  headers.push_back(Header{std::string(name), std::move(value)});
}

const std::string* Response::get(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
  }
  return "Unknown";
}

void addSecurityHeaders(Response& r) {
  r.set("Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  r.set("X-Frame-Options", "DENY");
  r.set("X-Content-Type-Options", "nosniff");
  r.set("Referrer-Policy", "no-referrer");
  r.set("Cross-Origin-Resource-Policy", "same-origin");
}

std::string serialize(const Response& r, bool keepAlive, bool headOnly) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reasonPhrase(r.status) + "\r\n";
  for (const auto& h : r.headers) {
    // Header values come from code, never from a request unfiltered; still, a CR or LF must
    // never split a header.
    if (h.value.find_first_of("\r\n") != std::string::npos || h.name.find_first_of("\r\n:") != std::string::npos) continue;
    out += h.name + ": " + h.value + "\r\n";
  }
  if (r.stream) {
    out += "Connection: close\r\n\r\n";
    return out;
  }
  if (r.status != 304 && r.status != 204) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += keepAlive && !r.close ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "\r\n";
  if (!headOnly && r.status != 304 && r.status != 204) out += r.body;
  return out;
}

Response plainError(int status, std::string_view message) {
  Response r;
  r.status = status;
  r.set("Content-Type", "text/plain; charset=utf-8");
  r.set("Cache-Control", "no-store");
  r.body = std::string(message) + "\n";
  addSecurityHeaders(r);
  return r;
}

}  // namespace tetherd::web
