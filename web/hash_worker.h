// The one thread besides the event loop: argon2id is slow on purpose (tens to hundreds of
// milliseconds and megabytes of memory per password), so hashing and verifying run here, one at
// a time, and their results are posted back to the loop. Nothing else crosses threads: a job
// gets copies of its strings and the completion runs on the loop. The queue is bounded; a full
// queue refuses new work (the caller answers 503), so a flood of logins cannot pile up memory.
#pragma once

#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tether/base/result.h"

namespace tetherd::web {

// Why libsodium (loaded on first use, web/lazy_libs.cpp) is not available; "" when it is.
std::string hashLibraryError();

struct HashParams {
  unsigned long long opsLimit;
  size_t memLimit;  // bytes
};
// OWASP's argon2id recommendation: 19 MiB, 2 passes (about 50 ms on a small ARM board's core).
HashParams defaultHashParams();
// libsodium's minimum: for tests only.
HashParams fastHashParams();

class HashWorker {
 public:
  HashWorker(boost::asio::io_context& io, HashParams params, size_t maxQueued = 8);
  ~HashWorker();  // stops the thread; queued jobs are dropped, their completions never run
  HashWorker(const HashWorker&) = delete;
  HashWorker& operator=(const HashWorker&) = delete;

  // false (and done never called) when the queue is full.
  bool hash(std::string password, std::function<void(Result<std::string>)> done);
  bool verify(std::string password, std::string hash, std::function<void(bool)> done);
  size_t queued() const;

 private:
  static Status ready();  // on the hashing thread: libsodium loaded and initialised
  void run();
  bool enqueue(std::function<std::function<void()>()> job);

  boost::asio::io_context& io_;
  HashParams params_;
  size_t maxQueued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  // A job runs on the worker and returns the completion to post to the loop.
  std::deque<std::function<std::function<void()>()>> jobs_;
  bool stopping_ = false;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  std::thread thread_;
};

}  // namespace tetherd::web
