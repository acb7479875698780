// The admin page's authentication state, all on the event loop: the password file, login
// sessions (random 256-bit cookie tokens, only their BLAKE2b hash kept, idle and absolute
// expiry, bounded table), CSRF tokens, and the per-address login rate limit. Time comes from
// an injected clock so that tests can expire sessions and locks without sleeping.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/result.h"

namespace tetherd::web {

using TimePoint = std::chrono::steady_clock::time_point;
using Clock = std::function<TimePoint()>;

inline constexpr std::string_view kSessionCookie = "tetherd_session";
inline constexpr size_t kMinPasswordBytes = 8;
inline constexpr size_t kMaxPasswordBytes = 256;  // bounds the work one request can ask for

// Random bytes from libsodium, as lower-case hex (2 characters per byte).
std::string randomHex(size_t bytes);
// Equal length and equal content, in time independent of where they differ.
bool constantTimeEquals(std::string_view a, std::string_view b);
// "" or why the password is refused (too short/long, NUL or control characters).
std::string passwordProblem(std::string_view password);

struct Session {
  std::string key;   // BLAKE2b-256 of the cookie token, hex: the table key
  std::string csrf;  // required in X-CSRF-Token on every state-changing request
  std::string peer;  // the address that logged in (for the log)
  TimePoint created{};
  TimePoint lastUsed{};
};

class SessionStore {
 public:
  SessionStore(Clock clock, std::chrono::seconds idle, std::chrono::seconds lifetime, size_t maxSessions = 32);

  // A new session. Returns the cookie token (known only to the client from now on) and the
  // session. When the table is full the least recently used session is dropped.
  std::pair<std::string, Session*> create(const std::string& peer);
  // The live session of a cookie token (nullptr: unknown, malformed or expired). touch: counts
  // as activity (resets the idle deadline).
  Session* find(std::string_view token, bool touch = true);
  // The session with this key if still live (no activity recorded): for open event streams.
  const Session* byKey(const std::string& key);
  void remove(const std::string& key);
  void removeAllExcept(const std::string& key);
  size_t size();  // live sessions
  void setLimits(std::chrono::seconds idle, std::chrono::seconds lifetime);
  std::chrono::seconds idle() const { return idle_; }
  static std::string keyOf(std::string_view token);

 private:
  bool expired(const Session& s, TimePoint now) const;
  void expire();
  Clock clock_;
  std::chrono::seconds idle_, lifetime_;
  size_t max_;
  std::map<std::string, Session> sessions_;
};

// Login attempts, throttled without ever locking anyone out. Failures are counted in scopes,
// each with some free failures and then a wait before the next attempt that doubles with every
// failure up to a cap (429 + Retry-After; the right password waits too):
//   - the client address: 5 free, then base (2 s) doubling up to cap (60 s); loopback's cap
//     is 5 s, so a local flood (or a typo-prone SSH-tunnelled admin) costs other local admins
//     seconds at most;
//   - its /24 (a downstream: a client that changes its address stays in it): 10 free, 1 s up
//     to 30 s;
//   - every address but loopback together: 20 free, 1 s up to 10 s;
//   - a request that carries a live session (a browser that logged in before) is counted only
//     against that session (5 free, 2 s up to 60 s): floods of others never slow it.
// Attempts whose verification is still running count as failures until they are known, so a
// burst cannot slip through. Entries are forgotten an hour after their last failure; the table
// is bounded.
class LoginLimiter {
 public:
  static constexpr int kFreeFailures = 5;
  LoginLimiter(Clock clock, std::chrono::seconds base = std::chrono::seconds(2),
               std::chrono::seconds cap = std::chrono::seconds(60), size_t maxEntries = 1024);

  // 0: may try now; else the seconds to wait. session: the key of the live session the
  // request carries, "" for none.
  std::chrono::seconds retryAfter(const std::string& peer, const std::string& session = "");
  void begin(const std::string& peer, const std::string& session = "");  // a verification starts
  void failed(const std::string& peer, const std::string& session = "");
  void abandoned(const std::string& peer, const std::string& session = "");  // a begun one that never ran
  void succeeded(const std::string& peer, const std::string& session = "");
  int failures(const std::string& peer) const;  // of the address

 private:
  struct Limits {
    int free;
    std::chrono::seconds base, cap;
  };
  struct Scope {
    std::string key;
    Limits limits;
  };
  struct Entry {
    int failures = 0;
    int inflight = 0;
    TimePoint lastFailure{};
    TimePoint lockedUntil{};
  };
  std::vector<Scope> scopesOf(const std::string& peer, const std::string& session) const;
  void prune(TimePoint now);
  Clock clock_;
  std::chrono::seconds base_, cap_;
  size_t max_;
  std::map<std::string, Entry> entries_;
};

// state_dir/web-password: one argon2id hash string ("$argon2id$v=19$..."), mode 0600, replaced
// atomically.
class PasswordFile {
 public:
  explicit PasswordFile(std::string path) : path_(std::move(path)) {}
  Status load();  // a missing file is "no password yet"
  bool isSet() const { return !hash_.empty(); }
  const std::string& hash() const { return hash_; }
  Status store(const std::string& hash);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string hash_;
};

}  // namespace tetherd::web
