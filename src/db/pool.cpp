#include "db/pool.h"

#include <algorithm>
#include <memory>

#include "common/log.h"

namespace msrpd::db {

namespace {

uint64_t bump(std::atomic<uint64_t>& c) {
  return c.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace

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
    if (stopping_ || jobs_.size() >= options_.queue_limit) {
      if (!stopping_) bump(stats_.refused);
      return false;
    }
    jobs_.push_back({std::move(job), Clock::now() + options_.job_timeout});
  }
  cv_.notify_one();
  return true;
}

size_t Pool::queued() const {
  std::lock_guard lk(mu_);
  return jobs_.size();
}

void Pool::log_failure(const std::string& what) {
  std::lock_guard lk(log_mu_);
  auto now = Clock::now();
  if (last_log_ != Clock::time_point{} && now - last_log_ < std::chrono::seconds(1)) {
    ++not_logged_;
    return;
  }
  last_log_ = now;
  if (not_logged_ > 0) {
    LM_ERR("db: %s (and %llu more failures since the previous line)", what.c_str(),
           static_cast<unsigned long long>(not_logged_));
  } else {
    LM_ERR("db: %s", what.c_str());
  }
  not_logged_ = 0;
}

void Pool::run() {
  std::unique_ptr<Connection> conn;
  Error last_error;
  bool tried = false;
  Clock::time_point next_try;
  std::chrono::milliseconds backoff = options_.retry;
  for (;;) {
    Queued q;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left
      q = std::move(jobs_.front());
      jobs_.pop_front();
    }
    auto now = Clock::now();
    if (now > q.deadline) {
      // Its thread was held by slower queries: asking now would only make it later.
      bump(stats_.expired);
      log_failure(url_.redacted() + ": a query waited longer than " +
                  std::to_string(options_.job_timeout.count()) + " ms for a database thread");
      q.job(make_error(0, url_.redacted() + ": no database thread within " +
                              std::to_string(options_.job_timeout.count()) + " ms"));
      continue;
    }
    if (conn && conn->broken()) {
      // The server went away (restart, timeout, network): connect again, at once.
      conn.reset();
      bump(stats_.lost);
      tried = false;
      backoff = options_.retry;
    }
    if (!conn) {
      // A database that is down costs one connect attempt per back-off interval, not one per job.
      if (!tried || now >= next_try) {
        tried = true;
        auto c = connect(url_, options_.connect);
        if (c) {
          conn = std::move(*c);
          bump(stats_.connects);
          backoff = options_.retry;
        } else {
          last_error = c.error();
          bump(stats_.connect_failures);
          next_try = Clock::now() + backoff;
          log_failure(last_error.message + " (next attempt in " + std::to_string(backoff.count()) + " ms)");
          backoff = std::min(backoff * 2, options_.retry_max);
        }
      }
    }
    if (conn) {
      q.job(conn.get());
    } else {
      bump(stats_.unavailable);
      q.job(last_error);
    }
  }
}

}  // namespace msrpd::db
