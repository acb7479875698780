// The floor for the web benchmark: the least an HTTP server can do to answer a request — one
// thread, epoll, keep-alive, and a fixed response (the body of tetherd's /api/status, captured
// just before, with the headers a JSON API needs). No parsing beyond finding the end of each
// request's header block; requests without a body only (GET), pipelining works.
//
//   bench_http_floor --port 8081 --body FILE [--address 127.0.0.1] [--ready FILE]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "bench_http_floor: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

struct Conn {
  std::string in, out;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string bodyPath, readyPath, address = "127.0.0.1";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--port") port = std::atoi(argv[i + 1]);
    else if (a == "--body") bodyPath = argv[i + 1];
    else if (a == "--ready") readyPath = argv[i + 1];
    else if (a == "--address") address = argv[i + 1];
  }
  if (port <= 0 || bodyPath.empty()) {
    std::fprintf(stderr, "usage: bench_http_floor --port N --body FILE [--address A] [--ready FILE]\n");
    return 2;
  }
  std::ifstream f(bodyPath, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string body = ss.str();
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
                               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;

  const int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ls < 0) die("socket");
  const int one = 1;
  ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) die("address");
  if (::bind(ls, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind");
  if (::listen(ls, 128) != 0) die("listen");
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = ls;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  if (!readyPath.empty()) std::ofstream(readyPath) << ::getpid() << "\n";

  std::map<int, Conn> conns;
  auto closeConn = [&](int fd) {
    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns.erase(fd);
  };
  auto flush = [&](int fd, Conn& c) {
    while (!c.out.empty()) {
      ssize_t n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) break;
        return false;
      }
      c.out.erase(0, static_cast<size_t>(n));
    }
    epoll_event e{};
    e.events = EPOLLIN | (c.out.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
    e.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
    return true;
  };
  epoll_event events[64];
  char buf[16384];
  for (;;) {
    const int n = ::epoll_wait(ep, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == ls) {
        for (;;) {
          const int cfd = ::accept4(ls, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) break;
          ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event e{};
          e.events = EPOLLIN;
          e.data.fd = cfd;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &e);
          conns[cfd];
        }
        continue;
      }
      Conn& c = conns[fd];
      bool open = true;
      if (events[i].events & EPOLLIN) {
        for (;;) {
          const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
          if (r > 0) {
            c.in.append(buf, static_cast<size_t>(r));
            continue;
          }
          if (r == 0 || errno != EAGAIN) open = false;
          break;
        }
        for (size_t end; (end = c.in.find("\r\n\r\n")) != std::string::npos;) {
          c.in.erase(0, end + 4);
          c.out += response;
        }
      }
      if (open) open = flush(fd, c);
      if (!open) closeConn(fd);
    }
  }
}
