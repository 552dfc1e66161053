// db::Pool's bounds: the connect back-off, the queue-wait limit, a dropped connection replaced.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "db/db.h"
#include "db/pool.h"
#include "postgres.h"

namespace msrpd::db {
namespace {

using namespace std::chrono_literals;

// Runs one job and waits (bounded) for what it saw.
Result<int64_t> run_job(Pool& pool, const char* sql = "SELECT 1") {
  auto done = std::make_shared<std::promise<Result<int64_t>>>();
  auto f = done->get_future();
  bool queued = pool.submit([done, sql](Result<Connection*> c) {
    if (!c) return done->set_value(c.error());
    auto r = (*c)->query(sql);
    if (!r) return done->set_value(r.error());
    done->set_value(r->rows.at(0).at(0).i);
  });
  if (!queued) return make_error(0, "refused");
  if (f.wait_for(10s) != std::future_status::ready) return make_error(0, "no answer in 10 s");
  return f.get();
}

TEST(Pool, AFailedConnectIsRetriedAfterABackOffThatDoubles) {
  Pool::Options o;
  o.threads = 1;
  o.retry = 40ms;
  o.retry_max = 160ms;
  Pool pool(*parse_url("sqlite:///nonexistent-dir/none.db"), o);
  // About 1 s of jobs, one every 10 ms: attempts at 0, 40, 120, 280, 440, 600, 760, 920 ms (8);
  // a fixed 40 ms interval would make 25.
  auto end = std::chrono::steady_clock::now() + 1s;
  int jobs = 0;
  while (std::chrono::steady_clock::now() < end) {
    auto r = run_job(pool);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("unable to open database file"), std::string::npos) << r.error().message;
    ++jobs;
    std::this_thread::sleep_for(10ms);
  }
  uint64_t failures = pool.stats().connect_failures;
  EXPECT_GE(failures, 4u);
  EXPECT_LE(failures, 10u);
  EXPECT_EQ(pool.stats().unavailable, static_cast<uint64_t>(jobs));
  EXPECT_EQ(pool.stats().connects, 0u);
}

TEST(Pool, AJobQueuedPastItsTimeoutGetsAnErrorWithoutAsking) {
  char tmpl[] = "/tmp/msrpd-pool-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string file = std::string(tmpl) + "/t.db";
  {
    ConnectOptions c;
    c.create = true;
    ASSERT_TRUE(connect(*parse_url("sqlite://" + file), c));
  }
  Pool::Options o;
  o.threads = 1;
  o.job_timeout = 100ms;
  Pool pool(*parse_url("sqlite://" + file), o);
  std::atomic<bool> asked{false};
  ASSERT_TRUE(pool.submit([](Result<Connection*>) { std::this_thread::sleep_for(300ms); }));
  auto done = std::make_shared<std::promise<std::string>>();
  auto f = done->get_future();
  ASSERT_TRUE(pool.submit([&asked, done](Result<Connection*> c) {
    asked = c.ok();
    done->set_value(c ? "" : c.error().message);
  }));
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), "sqlite://" + file + ": no database thread within 100 ms");
  EXPECT_FALSE(asked);
  EXPECT_EQ(pool.stats().expired, 1u);
  ::unlink(file.c_str());
  ::rmdir(tmpl);
}

TEST(Pool, AConnectionTheServerDroppedIsReplacedBeforeTheNextJob) {
  itest::Postgres& pg = itest::Postgres::shared();
  ASSERT_TRUE(pg.ok()) << pg.error();
  std::string name = pg.create_database("pool_dropped");
  ASSERT_FALSE(name.empty()) << pg.error();
  Url url = *parse_url(pg.url(name));
  Pool::Options o;
  o.threads = 1;
  Pool pool(url, o);
  auto first = run_job(pool, "SELECT pg_backend_pid()");
  ASSERT_TRUE(first) << first.error().message;
  auto admin = connect(url);
  ASSERT_TRUE(admin);
  ASSERT_TRUE((*admin)->query("SELECT pg_terminate_backend(?)", {Value::integer(*first)}));
  // The backend is gone: the pool notices before the job and hands it a new connection.
  std::this_thread::sleep_for(100ms);
  auto second = run_job(pool, "SELECT pg_backend_pid()");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_NE(*second, *first);
  EXPECT_EQ(pool.stats().lost, 1u);
  EXPECT_EQ(pool.stats().connects, 2u);
}

}  // namespace
}  // namespace msrpd::db
