#include "db/pool.h"

#include <memory>

namespace msrpd::db {

Pool::Pool(Url url, Options options) : url_(std::move(url)), options_(options) {
  unsigned n = options_.threads == 0 ? 1 : options_.threads;
  for (unsigned k = 0; k < n; ++k) threads_.emplace_back([this] { run(); });
}

Pool::~Pool() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool Pool::submit(Job job) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ || jobs_.size() >= options_.queue_limit) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

size_t Pool::queued() const {
  std::lock_guard lk(mu_);
  return jobs_.size();
}

void Pool::run() {
  std::unique_ptr<Connection> conn;
  Error last_error;
  bool tried = false;
  std::chrono::steady_clock::time_point last_try;
  for (;;) {
    Job job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    if (!conn) {
      auto now = std::chrono::steady_clock::now();
      // A database that is down costs one connect attempt per retry interval, not one per job.
      if (!tried || now - last_try >= options_.retry) {
        tried = true;
        last_try = now;
        auto c = connect(url_, options_.connect);
        if (c) {
          conn = std::move(*c);
        } else {
          last_error = c.error();
        }
      }
    }
    if (conn) {
      job(conn.get());
    } else {
      job(last_error);
    }
  }
}

}  // namespace msrpd::db
