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

void LoginLimiter::prune(TimePoint now) {
  std::erase_if(entries_, [&](const auto& kv) {
    const Entry& e = kv.second;
    return e.inflight == 0 && now >= e.lockedUntil && now - e.lastFailure >= std::chrono::hours(1);
  });
  while (entries_.size() > max_) {
    // Full of recent failures from many addresses: forget the oldest one.
    auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                   [](const auto& a, const auto& b) { return a.second.lastFailure < b.second.lastFailure; });
    entries_.erase(oldest);
  }
}

std::chrono::seconds LoginLimiter::retryAfter(const std::string& peer) {
  const TimePoint now = clock_();
  prune(now);
  auto it = entries_.find(peer);
  if (it == entries_.end()) return std::chrono::seconds(0);
  const Entry& e = it->second;
  if (now < e.lockedUntil)
    return std::chrono::ceil<std::chrono::seconds>(e.lockedUntil - now);
  // Verifications still running would, if wrong, use up the free attempts.
  if (e.failures < kFreeFailures && e.failures + e.inflight >= kFreeFailures) return std::chrono::seconds(1);
  if (e.failures >= kFreeFailures && e.inflight > 0) return std::chrono::seconds(1);
  return std::chrono::seconds(0);
}

void LoginLimiter::begin(const std::string& peer) { ++entries_[peer].inflight; }

void LoginLimiter::failed(const std::string& peer) {
  const TimePoint now = clock_();
  Entry& e = entries_[peer];
  if (e.inflight > 0) --e.inflight;
  ++e.failures;
  e.lastFailure = now;
  if (e.failures >= kFreeFailures) {
    const int doublings = std::min(e.failures - kFreeFailures, 20);
    auto wait = std::min<std::chrono::seconds>(cap_, base_ * (1LL << doublings));
    e.lockedUntil = now + wait;
  }
}

void LoginLimiter::abandoned(const std::string& peer) {
  auto it = entries_.find(peer);
  if (it != entries_.end() && it->second.inflight > 0) --it->second.inflight;
}

void LoginLimiter::succeeded(const std::string& peer) {
  auto it = entries_.find(peer);
  if (it == entries_.end()) return;
  if (it->second.inflight > 1) {
    --it->second.inflight;
    it->second.failures = 0;
    return;
  }
  entries_.erase(it);
}

int LoginLimiter::failures(const std::string& peer) const {
  auto it = entries_.find(peer);
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
