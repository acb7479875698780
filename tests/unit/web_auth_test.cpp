// Sessions, CSRF tokens, the login rate limit and the password file, with an injected clock.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include <gtest/gtest.h>

#include "web/auth.h"
#include "web/hash_worker.h"

using namespace tetherd;
using namespace tetherd::web;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
  TimePoint now = TimePoint{} + 1000h;
  Clock fn() {
    return [this] { return now; };
  }
};

TEST(WebSessions, TokensAre256BitHexAndOnlyTheirHashIsKept) {
  FakeClock clock;
  SessionStore store(clock.fn(), 30min, 12h);
  auto [token, s] = store.create("192.168.42.10");
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(s->csrf.size(), 64u);
  EXPECT_NE(s->key, token);
  EXPECT_EQ(s->key, SessionStore::keyOf(token));
  EXPECT_EQ(store.find(token), s);
  auto [other, s2] = store.create("192.168.42.11");
  EXPECT_NE(other, token);
  EXPECT_NE(s2->csrf, s->csrf);
}

TEST(WebSessions, MalformedAndUnknownTokensFindNothing) {
  FakeClock clock;
  SessionStore store(clock.fn(), 30min, 12h);
  auto [token, s] = store.create("p");
  (void)s;
  EXPECT_EQ(store.find(""), nullptr);
  EXPECT_EQ(store.find(token.substr(1)), nullptr);
  std::string upper = token;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != token) {
    EXPECT_EQ(store.find(upper), nullptr);
  }
  EXPECT_EQ(store.find(std::string(64, 'a')), nullptr);
  EXPECT_EQ(store.find(std::string(64, 'z')), nullptr);
}

TEST(WebSessions, IdleExpiryIsResetByActivity) {
  FakeClock clock;
  SessionStore store(clock.fn(), 30min, 12h);
  auto [token, s] = store.create("p");
  (void)s;
  clock.now += 29min;
  ASSERT_NE(store.find(token), nullptr);  // activity
  clock.now += 29min;
  ASSERT_NE(store.find(token), nullptr);
  clock.now += 30min;
  EXPECT_EQ(store.find(token), nullptr);
  EXPECT_EQ(store.size(), 0u);
}

TEST(WebSessions, AbsoluteLifetimeEndsEvenAnActiveSession) {
  FakeClock clock;
  SessionStore store(clock.fn(), 30min, 12h);
  auto [token, s] = store.create("p");
  (void)s;
  for (int i = 0; i < 24; ++i) {  // active every 29 min, up to 11 h 36 min
    clock.now += 29min;
    ASSERT_NE(store.find(token), nullptr) << i;
  }
  clock.now += 29min;  // 12 h 05 min
  EXPECT_EQ(store.find(token), nullptr);
}

TEST(WebSessions, ByKeyDoesNotCountAsActivity) {
  FakeClock clock;
  SessionStore store(clock.fn(), 30min, 12h);
  auto [token, s] = store.create("p");
  const std::string key = s->key;
  clock.now += 20min;
  EXPECT_NE(store.byKey(key), nullptr);
  clock.now += 20min;
  EXPECT_EQ(store.byKey(key), nullptr) << "an open event stream alone keeps no session alive";
}

TEST(WebSessions, TableIsBoundedDroppingTheLeastRecentlyUsed) {
  FakeClock clock;
  SessionStore store(clock.fn(), 30min, 12h, 3);
  std::vector<std::string> tokens;
  for (int i = 0; i < 3; ++i) {
    tokens.push_back(store.create("p").first);
    clock.now += 1s;
  }
  ASSERT_NE(store.find(tokens[0]), nullptr);  // now the most recent
  clock.now += 1s;
  auto fourth = store.create("p").first;
  EXPECT_EQ(store.size(), 3u);
  EXPECT_NE(store.find(tokens[0]), nullptr);
  EXPECT_EQ(store.find(tokens[1]), nullptr) << "least recently used goes";
  EXPECT_NE(store.find(fourth), nullptr);
}

TEST(WebSessions, RemoveAllExcept) {
  FakeClock clock;
  SessionStore store(clock.fn(), 30min, 12h);
  auto [a, sa] = store.create("p");
  auto b = store.create("p").first;
  store.removeAllExcept(sa->key);
  EXPECT_NE(store.find(a), nullptr);
  EXPECT_EQ(store.find(b), nullptr);
}

TEST(WebCsrf, ConstantTimeEqualsNeedsSameLengthAndContent) {
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(constantTimeEquals("", "")) << "an empty token never matches";
}

TEST(WebLoginLimiter, FiveFreeFailuresThenExponentialBackoff) {
  FakeClock clock;
  LoginLimiter lim(clock.fn(), 30s, 15min);
  const std::string p = "192.168.42.10";
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(lim.retryAfter(p), 0s) << i;
    lim.begin(p);
    lim.failed(p);
  }
  EXPECT_EQ(lim.retryAfter(p), 0s);
  lim.begin(p);
  lim.failed(p);  // the fifth
  EXPECT_EQ(lim.retryAfter(p), 30s);
  EXPECT_EQ(lim.retryAfter("192.168.42.11"), 0s) << "per address";
  clock.now += 30s;
  EXPECT_EQ(lim.retryAfter(p), 0s);
  lim.begin(p);
  lim.failed(p);
  EXPECT_EQ(lim.retryAfter(p), 60s);
  clock.now += 60s;
  lim.begin(p);
  lim.failed(p);
  EXPECT_EQ(lim.retryAfter(p), 120s);
  for (int i = 0; i < 10; ++i) {
    clock.now += 1h;
    lim.begin(p);
    lim.failed(p);
  }
  EXPECT_EQ(lim.retryAfter(p), 15min) << "capped";
}

TEST(WebLoginLimiter, SuccessClearsTheAddress) {
  FakeClock clock;
  LoginLimiter lim(clock.fn());
  for (int i = 0; i < 4; ++i) {
    lim.begin("p");
    lim.failed("p");
  }
  lim.begin("p");
  lim.succeeded("p");
  EXPECT_EQ(lim.failures("p"), 0);
}

TEST(WebLoginLimiter, VerificationsInFlightCountAsFailures) {
  FakeClock clock;
  LoginLimiter lim(clock.fn());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(lim.retryAfter("p"), 0s);
    lim.begin("p");  // five parallel attempts, none answered yet
  }
  EXPECT_GT(lim.retryAfter("p"), 0s) << "a sixth parallel attempt must wait";
  lim.abandoned("p");
  EXPECT_EQ(lim.retryAfter("p"), 0s);
}

TEST(WebLoginLimiter, OldEntriesAreForgottenAndTheTableIsBounded) {
  FakeClock clock;
  LoginLimiter lim(clock.fn(), 30s, 15min, 2);
  lim.begin("a");
  lim.failed("a");
  clock.now += 1s;
  lim.begin("b");
  lim.failed("b");
  clock.now += 1s;
  lim.begin("c");
  lim.failed("c");
  (void)lim.retryAfter("x");  // prunes
  EXPECT_EQ(lim.failures("a"), 0) << "the oldest went";
  EXPECT_EQ(lim.failures("c"), 1);
  clock.now += 2h;
  (void)lim.retryAfter("x");
  EXPECT_EQ(lim.failures("c"), 0);
}

TEST(WebPassword, Policy) {
  EXPECT_NE(passwordProblem("1234567"), "");
  EXPECT_EQ(passwordProblem("12345678"), "");
  EXPECT_NE(passwordProblem(std::string(257, 'a')), "");
  EXPECT_NE(passwordProblem("abc\ndefgh"), "");
  EXPECT_EQ(passwordProblem("correct horse battery staple ✓"), "");
}

TEST(WebPassword, FileIsWrittenAtomically0600AndReadBack) {
  auto dir = std::filesystem::temp_directory_path() / ("tetherd-webpw-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "web-password").string();
  PasswordFile f(path);
  ASSERT_TRUE(f.load());
  EXPECT_FALSE(f.isSet());
  ASSERT_TRUE(f.store("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  PasswordFile again(path);
  ASSERT_TRUE(again.load());
  EXPECT_TRUE(again.isSet());
  EXPECT_EQ(again.hash(), f.hash());
  {
    std::FILE* out = std::fopen(path.c_str(), "w");
    std::fputs("plaintext\n", out);
    std::fclose(out);
  }
  EXPECT_FALSE(again.load()) << "only an argon2id hash is accepted";
  std::filesystem::remove_all(dir);
}

TEST(WebHashWorker, HashesAndVerifiesOffTheLoopAndPostsBack) {
  boost::asio::io_context io;
  HashWorker worker(io, fastHashParams());
  std::optional<std::string> hash;
  ASSERT_TRUE(worker.hash("correct horse", [&](Result<std::string> h) {
    ASSERT_TRUE(h);
    hash = *h;
  }));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!hash && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u);
  std::optional<bool> good, bad;
  ASSERT_TRUE(worker.verify("correct horse", *hash, [&](bool ok) { good = ok; }));
  ASSERT_TRUE(worker.verify("wrong horse", *hash, [&](bool ok) { bad = ok; }));
  while ((!good || !bad) && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
  EXPECT_EQ(good, true);
  EXPECT_EQ(bad, false);
}

TEST(WebHashWorker, FullQueueRefusesWork) {
  boost::asio::io_context io;
  HashWorker worker(io, defaultHashParams(), 2);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += worker.hash("password" + std::to_string(i), [](Result<std::string>) {}) ? 1 : 0;
  EXPECT_LE(accepted, 3) << "two queued plus at most one running";
  EXPECT_GE(accepted, 2);
}

TEST(WebHashWorker, DefaultParamsAreArgon2idWithOwaspCost) {
  boost::asio::io_context io;
  HashWorker worker(io, defaultHashParams());
  std::optional<std::string> hash;
  ASSERT_TRUE(worker.hash("correct horse", [&](Result<std::string> h) { hash = *h; }));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!hash && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *hash;
}

}  // namespace
