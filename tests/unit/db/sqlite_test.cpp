#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "db/db.h"
#include "db/pool.h"
#include "db/subscriber.h"

namespace msrpd::db {
namespace {

class Sqlite : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/msrpd-dbunit-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    url_ = *parse_url("sqlite://" + dir_ + "/t.db");
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::unique_ptr<Connection> open(bool create = true) {
    ConnectOptions o;
    o.create = create;
    auto c = connect(url_, o);
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return c ? std::move(*c) : nullptr;
  }
  std::string dir_;
  Url url_;
};

TEST_F(Sqlite, RowsComeBackTyped) {
  auto c = open();
  ASSERT_TRUE(c->exec_script("CREATE TABLE t (a INTEGER, b TEXT);"));
  ASSERT_TRUE(c->query("INSERT INTO t VALUES (?, ?)", {Value::integer(7), Value::text("x")}));
  ASSERT_TRUE(c->query("INSERT INTO t VALUES (?, ?)", {Value::null_value(), Value::null_value()}));
  auto r = c->query("SELECT a, b FROM t ORDER BY a IS NULL, a");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->columns, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0], (Row{Value::integer(7), Value::text("x")}));
  EXPECT_EQ(r->rows[1], (Row{Value::null_value(), Value::null_value()}));
}

TEST_F(Sqlite, ParametersAreValuesNeverSql) {
  auto c = open();
  ASSERT_TRUE(c->exec_script("CREATE TABLE t (name TEXT); INSERT INTO t VALUES ('alice');"));
  auto r = c->query("SELECT name FROM t WHERE name=?", {Value::text("x' OR '1'='1")});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->rows.empty());
  r = c->query("SELECT name FROM t WHERE name=?", {Value::text("alice'; DROP TABLE t; --")});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->rows.empty());
  EXPECT_EQ(c->query("SELECT count(*) FROM t")->rows[0][0], Value::integer(1));
}

TEST_F(Sqlite, ErrorsAreResults) {
  auto c = open();
  auto r = c->query("SELECT nope FROM missing");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "sqlite: no such table: missing");
  r = c->query("SELECT ?", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "sqlite: the statement has 1 parameters, 0 given");
}

TEST_F(Sqlite, AMissingFileIsNotCreatedUnlessAsked) {
  auto c = connect(url_, ConnectOptions{});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("unable to open database file"), std::string::npos) << c.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/t.db"));
}

TEST(DbIdentifier, OnlyPlainNames) {
  EXPECT_TRUE(is_identifier("subscriber"));
  EXPECT_TRUE(is_identifier("_ha1b"));
  EXPECT_FALSE(is_identifier(""));
  EXPECT_FALSE(is_identifier("1abc"));
  EXPECT_FALSE(is_identifier("sub scriber"));
  EXPECT_FALSE(is_identifier("t;DROP"));
  EXPECT_FALSE(is_identifier(std::string(65, 'a')));
}

TEST_F(Sqlite, SubscribersAsKamctlStoresThem) {
  auto c = open();
  ASSERT_TRUE(init_schema(*c));
  ASSERT_TRUE(init_schema(*c));  // again: nothing changes
  Account a{"alice", "example.com"};
  ASSERT_TRUE(add_subscriber(*c, a, "secret", false));
  auto dup = add_subscriber(*c, a, "other", false);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "alice@example.com exists already");
  auto s = find_subscriber(*c, a);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->password, "");
  EXPECT_EQ(s->ha1, md5_hex("alice:example.com:secret"));
  EXPECT_EQ(s->ha1b, md5_hex("alice@example.com:example.com:secret"));
  EXPECT_EQ(md5_hex("alice:example.com:secret").size(), 32u);
  ASSERT_TRUE(set_password(*c, a, "n3w", true));
  s = find_subscriber(*c, a);
  EXPECT_EQ(s->password, "n3w");
  EXPECT_EQ(s->ha1, md5_hex("alice:example.com:n3w"));
  EXPECT_EQ(list_subscribers(*c)->size(), 1u);
  ASSERT_TRUE(remove_subscriber(*c, a));
  EXPECT_EQ(remove_subscriber(*c, a).error().message, "no user alice@example.com");
  EXPECT_EQ(set_password(*c, a, "x", false).error().message, "no user alice@example.com");
  EXPECT_TRUE(list_subscribers(*c)->empty());
  auto v = c->query("SELECT table_version FROM version WHERE table_name='subscriber'");
  EXPECT_EQ(v->rows.at(0).at(0), Value::integer(7));
}

TEST(DbAccount, UserAtDomain) {
  EXPECT_EQ(parse_account("alice@example.com", "")->domain, "example.com");
  EXPECT_EQ(parse_account("alice", "d.org")->domain, "d.org");
  EXPECT_FALSE(parse_account("alice", ""));
  EXPECT_FALSE(parse_account("@d.org", ""));
  EXPECT_FALSE(parse_account("alice@", ""));
}

TEST(DbMd5, KnownValue) {
  // RFC 2617 §3.5's example: HA1 of Mufasa:testrealm@host.com:Circle Of Life.
  EXPECT_EQ(md5_hex("Mufasa:testrealm@host.com:Circle Of Life"), "939e7578ed9e3c518a452acee763bce9");
}

TEST_F(Sqlite, PoolRunsJobsOffTheCallingThreadWithItsOwnConnection) {
  {
    auto c = open();
    ASSERT_TRUE(c->exec_script("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (42);"));
  }
  Pool::Options o;
  o.threads = 2;
  Pool pool(url_, o);
  std::mutex mu;
  std::vector<int64_t> got;
  std::atomic<int> done{0};
  auto me = std::this_thread::get_id();
  for (int k = 0; k < 10; ++k) {
    ASSERT_TRUE(pool.submit([&](Result<Connection*> c) {
      EXPECT_NE(std::this_thread::get_id(), me);
      ASSERT_TRUE(c);
      auto r = (*c)->query("SELECT v FROM t");
      std::lock_guard lk(mu);
      got.push_back(r ? r->rows[0][0].i : -1);
      ++done;
    }));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (done < 10 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(got, std::vector<int64_t>(10, 42));
}

TEST_F(Sqlite, PoolQueueIsBoundedAndADownDatabaseIsAnError) {
  Pool::Options o;
  o.threads = 1;
  o.queue_limit = 2;
  o.retry = std::chrono::milliseconds(10000);
  // No file and not created: every job sees the connect error, the connect tried once.
  Pool pool(url_, o);
  std::atomic<bool> release{false};
  std::atomic<int> errors{0};
  ASSERT_TRUE(pool.submit([&](Result<Connection*> c) {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!c) ++errors;
  }));
  // The thread holds the first job; two may wait; the fourth is refused.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (pool.queued() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_TRUE(pool.submit([&](Result<Connection*> c) { errors += c ? 0 : 1; }));
  EXPECT_TRUE(pool.submit([&](Result<Connection*> c) { errors += c ? 0 : 1; }));
  EXPECT_FALSE(pool.submit([&](Result<Connection*>) {}));
  release = true;
  while (errors < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(errors, 3);
}

}  // namespace
}  // namespace msrpd::db
