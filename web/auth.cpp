#include "web/auth.h"

#include <sodium.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "tether/base/files.h"

namespace tetherd::web {

namespace {

std::string toHex(const unsigned char* p, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

bool isLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

constexpr size_t kTokenBytes = 32;  // 256 bits

}  // namespace

std::string randomHex(size_t bytes) {
  // The kernel's CSPRNG (what libsodium's randombytes uses on Linux), without the library.
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < raw.size()) {
    const ssize_t n = ::getrandom(raw.data() + got, raw.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));  // never on Linux >= 3.17
    got += static_cast<size_t>(n);
  }
  std::string out = toHex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  ::explicit_bzero(raw.data(), raw.size());
  return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  // Every byte is looked at whatever the first difference: the time says nothing about where.
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

std::string passwordProblem(std::string_view password) {
  if (password.size() < kMinPasswordBytes) return "shorter than 8 characters";
  if (password.size() > kMaxPasswordBytes) return "longer than 256 bytes";
  for (unsigned char c : password)
    if (c < 0x20 || c == 0x7f) return "contains a control character";
  return "";
}

// ---- sessions ------------------------------------------------------------------------------

SessionStore::SessionStore(Clock clock, std::chrono::seconds idle, std::chrono::seconds lifetime, size_t maxSessions)
    : clock_(std::move(clock)), idle_(idle), lifetime_(lifetime), max_(std::max<size_t>(1, maxSessions)) {}

std::string SessionStore::keyOf(std::string_view token) {
  unsigned char out[32];
  // "" when libsodium is not there: find() never matches it (and no session can be created
  // then anyway: password hashing needs the library too).
  if (crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr, 0) != 0)
    return "";
  return toHex(out, sizeof out);
}

bool SessionStore::expired(const Session& s, TimePoint now) const {
  return now - s.lastUsed >= idle_ || now - s.created >= lifetime_;
}

void SessionStore::expire() {
  const TimePoint now = clock_();
  std::erase_if(sessions_, [&](const auto& kv) { return expired(kv.second, now); });
}

std::pair<std::string, Session*> SessionStore::create(const std::string& peer) {
  expire();
  while (sessions_.size() >= max_) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(),
                                   [](const auto& a, const auto& b) { return a.second.lastUsed < b.second.lastUsed; });
    sessions_.erase(oldest);
  }
  std::string token = randomHex(kTokenBytes);
  Session s;
  s.key = keyOf(token);
  s.csrf = randomHex(kTokenBytes);
  s.peer = peer;
  s.created = s.lastUsed = clock_();
  auto [it, inserted] = sessions_.emplace(s.key, std::move(s));
  (void)inserted;
  return {std::move(token), &it->second};
}

Session* SessionStore::find(std::string_view token, bool touch) {
  if (token.size() != kTokenBytes * 2 || !isLowerHex(token)) return nullptr;
  expire();
  // The lookup is by the token's hash: comparing hashes leaks nothing useful about a token.
  const std::string key = keyOf(token);
  if (key.empty()) return nullptr;
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return nullptr;
  if (touch) it->second.lastUsed = clock_();
  return &it->second;
}

const Session* SessionStore::byKey(const std::string& key) {
  expire();
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : &it->second;
}

void SessionStore::remove(const std::string& key) { sessions_.erase(key); }

void SessionStore::removeAllExcept(const std::string& key) {
  std::erase_if(sessions_, [&](const auto& kv) { return kv.first != key; });
}

size_t SessionStore::size() {
  expire();
  return sessions_.size();
}

void SessionStore::setLimits(std::chrono::seconds idle, std::chrono::seconds lifetime) {
  idle_ = idle;
  lifetime_ = lifetime;
}

// ---- login rate limit ------------------------------------------------------------------------

LoginLimiter::LoginLimiter(Clock clock, std::chrono::seconds base, std::chrono::seconds cap, size_t maxEntries)
    : clock_(std::move(clock)), base_(base), cap_(cap), max_(std::max<size_t>(1, maxEntries)) {}

namespace {
constexpr const char* kOverall = "*";
bool loopback(const std::string& peer) { return peer.rfind("127.", 0) == 0; }
}  // namespace

std::vector<LoginLimiter::Scope> LoginLimiter::scopesOf(const std::string& peer, const std::string& session) const {
  using std::chrono::seconds;
  if (!session.empty()) return {{"s:" + session, {kFreeFailures, base_, cap_}}};
  if (loopback(peer)) return {{"a:" + peer, {kFreeFailures, base_, std::min(cap_, seconds(5))}}};
  std::vector<Scope> out{{"a:" + peer, {kFreeFailures, base_, cap_}}};
  // "a.b.c.d" -> its /24 "a.b.c"; anything else has no network scope.
  if (std::count(peer.begin(), peer.end(), '.') == 3) out.push_back({"n:" + peer.substr(0, peer.rfind('.')), {10, seconds(1), seconds(30)}});
  out.push_back({kOverall, {20, seconds(1), seconds(10)}});
  return out;
}

void LoginLimiter::prune(TimePoint now) {
  std::erase_if(entries_, [&](const auto& kv) {
    const Entry& e = kv.second;
    return e.inflight == 0 && now >= e.lockedUntil && now - e.lastFailure >= std::chrono::hours(1);
  });
  while (entries_.size() > max_) {
    // Full of recent failures from many addresses: forget the oldest one (never the overall count).
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->first != kOverall && (oldest == entries_.end() || it->second.lastFailure < oldest->second.lastFailure)) oldest = it;
    if (oldest == entries_.end()) break;
    entries_.erase(oldest);
  }
}

std::chrono::seconds LoginLimiter::retryAfter(const std::string& peer, const std::string& session) {
  const TimePoint now = clock_();
  prune(now);
  std::chrono::seconds wait{0};
  for (const auto& scope : scopesOf(peer, session)) {
    auto it = entries_.find(scope.key);
    if (it == entries_.end()) continue;
    const Entry& e = it->second;
    const int free = scope.limits.free;
    if (now < e.lockedUntil) wait = std::max(wait, std::chrono::ceil<std::chrono::seconds>(e.lockedUntil - now));
    // Verifications still running would, if wrong, use up the free attempts.
    else if ((e.failures < free && e.failures + e.inflight >= free) || (e.failures >= free && e.inflight > 0))
      wait = std::max(wait, std::chrono::seconds(1));
  }
  return wait;
}

void LoginLimiter::begin(const std::string& peer, const std::string& session) {
  for (const auto& scope : scopesOf(peer, session)) ++entries_[scope.key].inflight;
}

void LoginLimiter::failed(const std::string& peer, const std::string& session) {
  const TimePoint now = clock_();
  for (const auto& scope : scopesOf(peer, session)) {
    Entry& e = entries_[scope.key];
    if (e.inflight > 0) --e.inflight;
    ++e.failures;
    e.lastFailure = now;
    if (e.failures >= scope.limits.free) {
      const int doublings = std::min(e.failures - scope.limits.free, 20);
      e.lockedUntil = now + std::min<std::chrono::seconds>(scope.limits.cap, scope.limits.base * (1LL << doublings));
    }
  }
}

void LoginLimiter::abandoned(const std::string& peer, const std::string& session) {
  for (const auto& scope : scopesOf(peer, session)) {
    auto it = entries_.find(scope.key);
    if (it != entries_.end() && it->second.inflight > 0) --it->second.inflight;
  }
}

void LoginLimiter::succeeded(const std::string& peer, const std::string& session) {
  // The address (or session) starts afresh; what its network and everyone did is not undone.
  const auto scopes = scopesOf(peer, session);
  for (size_t i = 0; i < scopes.size(); ++i) {
    auto it = entries_.find(scopes[i].key);
    if (it == entries_.end()) continue;
    Entry& e = it->second;
    if (e.inflight > 0) --e.inflight;
    if (i == 0) e.failures = 0, e.lockedUntil = {};
    if (e.inflight == 0 && e.failures == 0) entries_.erase(it);
  }
}

int LoginLimiter::failures(const std::string& peer) const {
  auto it = entries_.find("a:" + peer);
  return it == entries_.end() ? 0 : it->second.failures;
}

// ---- password file ---------------------------------------------------------------------------

Status PasswordFile::load() {
  auto text = readFile(path_, 4096);
  if (!text) {
    if (text.error().code == Errc::NotFound) {
      hash_.clear();
      return {};
    }
    return text.error();
  }
  std::string h = *text;
  while (!h.empty() && (h.back() == '\n' || h.back() == '\r')) h.pop_back();
  if (h.rfind("$argon2id$", 0) != 0 || h.size() >= crypto_pwhash_STRBYTES)
    return makeError(Errc::InvalidArgument, path_ + ": not an argon2id hash (remove the file to set a new password)");
  hash_ = std::move(h);
  return {};
}

Status PasswordFile::store(const std::string& hash) {
  if (auto st = writeFileAtomic(path_, hash + "\n", 0600); !st) return st;
  hash_ = hash;
  return {};
}

}  // namespace tetherd::web
