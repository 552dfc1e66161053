#pragma once
// Pool: a few threads that own the database connections, so that no event loop ever waits for a
// database (issue 13: an AUTH waits for its credentials while every other frame of its worker
// flows). A worker submits a job; a pool thread runs it with its own connection (opened on first
// use, and again after a failure or a lost connection); the job posts what it found back to the
// worker's loop (net::EventLoop::post), where the worker goes on.
//
//   pool.submit([loop, user](Result<db::Connection*> c) {
//     auto rows = c ? (*c)->query(sql, {db::Value::text(user)}) : Result<db::Rows>(c.error());
//     loop->post([rows = std::move(rows)]() mutable { ... });   // back on the worker
//   });
//
// Bounded, so that a slow or down database costs a waiting AUTH a bounded time and an error:
//  - at most `queue_limit` jobs wait; submit() refuses more (the caller answers at once);
//  - a job still queued `job_timeout` after its submission is not run against the database: it
//    gets an error at once (its thread was held by slower queries);
//  - connecting is bounded by connect.connect_timeout_ms and a statement by query_timeout_ms
//    (the driver's bounds, db.h);
//  - a connect that failed is tried again only after a back-off that doubles from `retry` up to
//    `retry_max` (jobs meanwhile get the last error at once); a success resets it.
// So a job's result comes at most job_timeout + connect_timeout + query_timeout + 0.5 s after
// submit(). Failures are counted (stats()) and logged at most once a second per pool.
// Jobs run in submission order per thread, not across threads.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "db/db.h"

namespace msrpd::db {

class Pool {
 public:
  using Job = std::function<void(Result<Connection*> connection)>;
  struct Options {
    unsigned threads = 2;
    size_t queue_limit = 1024;
    ConnectOptions connect;
    std::chrono::milliseconds retry{250};       // the first back-off after a failed connect
    std::chrono::milliseconds retry_max{4000};  // the back-off doubles up to this
    std::chrono::milliseconds job_timeout{2000};
  };
  // Counters (relaxed atomics, read by anyone).
  struct Stats {
    std::atomic<uint64_t> connects{0};          // connections opened
    std::atomic<uint64_t> connect_failures{0};  // connect attempts that failed
    std::atomic<uint64_t> lost{0};              // connections dropped as broken (server gone, timeout)
    std::atomic<uint64_t> unavailable{0};       // jobs given an error: no connection (down, backing off)
    std::atomic<uint64_t> expired{0};           // jobs given an error: queued past job_timeout
    std::atomic<uint64_t> refused{0};           // submit() refused: the queue was full
  };

  Pool(Url url, Options options);
  ~Pool();  // runs the jobs already queued (each sees its connection or the error), then joins
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // From any thread. False when the queue is full or the pool is stopping: the job is not run.
  bool submit(Job job);
  const Url& url() const { return url_; }
  size_t queued() const;
  const Stats& stats() const { return stats_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Queued {
    Job job;
    Clock::time_point deadline;
  };
  void run();
  // At most one line a second for the whole pool; the next says how many were left out.
  void log_failure(const std::string& what);

  Url url_;
  Options options_;
  Stats stats_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Queued> jobs_;  // guarded by mu_
  bool stopping_ = false;    // guarded by mu_
  std::mutex log_mu_;
  Clock::time_point last_log_{};  // guarded by log_mu_
  uint64_t not_logged_ = 0;       // guarded by log_mu_
  std::vector<std::thread> threads_;
};

}  // namespace msrpd::db
