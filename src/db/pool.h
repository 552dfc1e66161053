#pragma once
// Pool: a few threads that own the database connections, so that no event loop ever waits for a
// database (issue 13: an AUTH waits for its credentials while every other frame of its worker
// flows). A worker submits a job; a pool thread runs it with its own connection (opened on first
// use, and again after a failure, at most once per retry interval); the job posts what it found
// back to the worker's loop (net::EventLoop::post), where the worker goes on.
//
//   pool.submit([loop, user](Result<db::Connection*> c) {
//     auto rows = c ? (*c)->query(sql, {db::Value::text(user)}) : Result<db::Rows>(c.error());
//     loop->post([rows = std::move(rows)]() mutable { ... });   // back on the worker
//   });
//
// Bounded: at most `queue_limit` jobs wait; submit() refuses more (the caller answers at once, as
// for a database that is down). Jobs run in submission order per thread, not across threads.

#include <chrono>
#include <condition_variable>
#include <cstddef>
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
    std::chrono::milliseconds retry{500};  // a failed connect is tried again after this long
  };

  Pool(Url url, Options options);
  ~Pool();  // runs the jobs already queued (each sees its connection or the error), then joins
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // From any thread. False when the queue is full or the pool is stopping: the job is not run.
  bool submit(Job job);
  const Url& url() const { return url_; }
  size_t queued() const;

 private:
  void run();

  Url url_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;   // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace msrpd::db
