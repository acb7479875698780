#include "web/hash_worker.h"

#include <sodium.h>

#include <boost/asio/post.hpp>
#include <cstring>

namespace tetherd::web {

HashParams defaultHashParams() { return HashParams{2, 19u * 1024 * 1024}; }
HashParams fastHashParams() { return HashParams{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

HashWorker::HashWorker(boost::asio::io_context& io, HashParams params, size_t maxQueued)
    : io_(io), params_(params), maxQueued_(maxQueued) {}

// libsodium is loaded and initialised by the first job, on the hashing thread (web/lazy_libs.cpp).
Status HashWorker::ready() {
  if (auto e = hashLibraryError(); !e.empty()) return makeError(Errc::ServiceUnavail, "password hashing unavailable: " + e);
  if (sodium_init() < 0) return makeError(Errc::ServiceUnavail, "password hashing unavailable: libsodium could not be initialised");
  return {};
}

HashWorker::~HashWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t HashWorker::queued() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

bool HashWorker::enqueue(std::function<std::function<void()>()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= maxQueued_) return false;
    jobs_.push_back(std::move(job));
    // Started on first use: no thread while nobody sets or checks a password.
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  wake_.notify_one();
  return true;
}

void HashWorker::run() {
  for (;;) {
    std::function<std::function<void()>()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    auto completion = job();
    std::weak_ptr<char> alive = alive_;
    boost::asio::post(io_, [alive, completion = std::move(completion)] {
      if (!alive.expired()) completion();
    });
  }
}

bool HashWorker::hash(std::string password, std::function<void(Result<std::string>)> done) {
  const HashParams p = params_;
  return enqueue([p, password = std::move(password), done = std::move(done)]() mutable -> std::function<void()> {
    if (auto st = ready(); !st) {
      ::explicit_bzero(password.data(), password.size());
      return [done = std::move(done), e = st.error()] { done(e); };
    }
    char out[crypto_pwhash_STRBYTES];
    const int rc = crypto_pwhash_str(out, password.data(), password.size(), p.opsLimit, p.memLimit);
    ::explicit_bzero(password.data(), password.size());
    // The completion takes `done` over: whatever it holds is released on the loop, never here.
    if (rc != 0) return [done = std::move(done)] { done(makeError(Errc::SystemError, "argon2id: out of memory")); };
    std::string h(out);
    return [done = std::move(done), h] { done(h); };
  });
}

bool HashWorker::verify(std::string password, std::string hash, std::function<void(bool)> done) {
  return enqueue([password = std::move(password), hash = std::move(hash), done = std::move(done)]() mutable
                 -> std::function<void()> {
    const bool ok = !hash.empty() && ready() && crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
    ::explicit_bzero(password.data(), password.size());
    return [done = std::move(done), ok] { done(ok); };
  });
}

}  // namespace tetherd::web
