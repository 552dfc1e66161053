// db_postgres against a real PostgreSQL (tests/support/postgres.h: one cluster for this program).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "db/db.h"
#include "db/subscriber.h"
#include "postgres.h"

namespace msrpd::db {
namespace {

using itest::Postgres;

class Pg : public ::testing::Test {
 protected:
  void SetUp() override {
    Postgres& pg = Postgres::shared();
    ASSERT_TRUE(pg.ok()) << pg.error();
    std::string name = pg.create_database(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_FALSE(name.empty()) << pg.error();
    url_ = *parse_url(pg.url(name));
  }
  std::unique_ptr<Connection> open(ConnectOptions o = {}) {
    auto c = connect(url_, o);
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return c ? std::move(*c) : nullptr;
  }
  Url url_;
};

TEST_F(Pg, RowsComeBackTyped) {
  auto c = open();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->driver(), Url::Driver::postgres);
  ASSERT_TRUE(c->exec_script("CREATE TABLE t (a INTEGER, b TEXT, c BIGINT);"));
  auto ins =
      c->query("INSERT INTO t VALUES (?, ?, ?)", {Value::integer(7), Value::text("x"), Value::integer(-1)});
  ASSERT_TRUE(ins) << ins.error().message;
  EXPECT_EQ(ins->changes, 1);
  ASSERT_TRUE(c->query("INSERT INTO t VALUES (?, ?, ?)",
                       {Value::null_value(), Value::null_value(), Value::null_value()}));
  auto r = c->query("SELECT a, b, c FROM t ORDER BY a IS NULL, a");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->columns, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0], (Row{Value::integer(7), Value::text("x"), Value::integer(-1)}));
  EXPECT_EQ(r->rows[1], (Row{Value::null_value(), Value::null_value(), Value::null_value()}));
  auto up = c->query("UPDATE t SET b=? WHERE b IS NULL", {Value::text("y")});
  ASSERT_TRUE(up);
  EXPECT_EQ(up->changes, 1);
}

TEST_F(Pg, ParametersAreValuesNeverSql) {
  auto c = open();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->exec_script("CREATE TABLE t (name TEXT); INSERT INTO t VALUES ('alice');"));
  for (const char* evil : {"x' OR '1'='1", "alice'; DROP TABLE t; --", "\\", ";", "$1", "?"}) {
    auto r = c->query("SELECT name FROM t WHERE name=?", {Value::text(evil)});
    ASSERT_TRUE(r) << evil << ": " << r.error().message;
    EXPECT_TRUE(r->rows.empty()) << evil;
  }
  auto nul = c->query("SELECT name FROM t WHERE name=?", {Value::text(std::string("ali\0ce", 6))});
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error().message, "postgres: parameter 1 holds a NUL byte");
  EXPECT_EQ(c->query("SELECT count(*) FROM t")->rows[0][0], Value::integer(1));
}

TEST_F(Pg, QuestionMarksInQuotesAndCommentsAreNotParameters) {
  auto c = open();
  ASSERT_TRUE(c);
  auto r = c->query("SELECT '?' AS \"a?\", E'\\'?' , ? -- what?\n, /* ? */ ?",
                    {Value::text("one"), Value::text("two")});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0], (Row{Value::text("?"), Value::text("'?"), Value::text("one"), Value::text("two")}));
  EXPECT_EQ(r->columns[0], "a?");
}

TEST_F(Pg, ErrorsAreResults) {
  auto c = open();
  ASSERT_TRUE(c);
  auto r = c->query("SELECT nope FROM missing");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "postgres: ERROR: relation \"missing\" does not exist LINE 1: SELECT nope FROM "
            "missing ^");
  r = c->query("SELECT ?", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "postgres: the statement has 1 parameters, 0 given");
  EXPECT_FALSE(c->broken());
  // A failed script leaves nothing behind and the connection usable.
  ASSERT_FALSE(c->exec_script("CREATE TABLE a (x INTEGER); CREATE TABLE a (x INTEGER);"));
  EXPECT_FALSE(c->query("SELECT * FROM a"));
  EXPECT_TRUE(c->query("SELECT 1"));
}

TEST_F(Pg, WrongPasswordIsAnErrorWithoutThePassword) {
  Url u = url_;
  u.password = "not-the-password";
  auto c = connect(u);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("password authentication failed for user \"msrpd\""), std::string::npos)
      << c.error().message;
  EXPECT_EQ(c.error().message.find("not-the-password"), std::string::npos);
  EXPECT_EQ(c.error().message.rfind(u.redacted() + ": ", 0), 0u) << c.error().message;
}

TEST_F(Pg, NoServerIsAnErrorAtOnce) {
  Url u = url_;
  u.port = 1;  // nothing listens there
  auto t0 = std::chrono::steady_clock::now();
  auto c = connect(u);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("Connection refused"), std::string::npos) << c.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST_F(Pg, AHostNameIsResolvedAndEachAddressTried) {
  Url u = url_;
  u.host = "localhost";  // ::1 (nothing listens there) and 127.0.0.1 (the server), in either order
  auto c = connect(u);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE((*c)->query("SELECT 1"));
}

TEST_F(Pg, AnUnknownHostIsAnErrorWithinTheConnectTimeout) {
  Url u = url_;
  u.host = "no-such-host.invalid";  // RFC 6761: never resolves
  ConnectOptions o;
  o.connect_timeout_ms = 1000;
  auto t0 = std::chrono::steady_clock::now();
  auto c = connect(u, o);
  ASSERT_FALSE(c);
  // NXDOMAIN at once, or a resolver that does not answer: either way within the bound.
  EXPECT_NE(c.error().message.find("resolv"), std::string::npos) << c.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
}

TEST_F(Pg, ASlowStatementIsCancelledAfterQueryTimeout) {
  ConnectOptions o;
  o.query_timeout_ms = 300;
  auto c = open(o);
  ASSERT_TRUE(c);
  auto t0 = std::chrono::steady_clock::now();
  auto r = c->query("SELECT pg_sleep(5)");
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "postgres: ERROR: canceling statement due to statement timeout");
  EXPECT_LT(took, std::chrono::milliseconds(2000));
  EXPECT_FALSE(c->broken());
  EXPECT_TRUE(c->query("SELECT 1"));
}

TEST_F(Pg, ReadOnlyConnectionsCannotWrite) {
  {
    auto w = open();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->exec_script("CREATE TABLE t (v INTEGER);"));
  }
  ConnectOptions o;
  o.read_only = true;
  auto c = open(o);
  ASSERT_TRUE(c);
  auto r = c->query("INSERT INTO t VALUES (1)");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("read-only transaction"), std::string::npos) << r.error().message;
  EXPECT_TRUE(c->query("SELECT v FROM t"));
}

TEST_F(Pg, ATerminatedBackendMakesTheConnectionBroken) {
  auto c = open();
  ASSERT_TRUE(c);
  auto pid = c->query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid);
  auto k = open();
  ASSERT_TRUE(k->query("SELECT pg_terminate_backend(?)", {pid->rows[0][0]}));
  auto r = c->query("SELECT 1");
  ASSERT_FALSE(r);
  EXPECT_TRUE(c->broken());
}

TEST_F(Pg, SubscribersAsKamctlStoresThem) {
  auto c = open();
  ASSERT_TRUE(c);
  auto s0 = init_schema(*c);
  ASSERT_TRUE(s0) << s0.error().message;
  ASSERT_TRUE(init_schema(*c));  // again: nothing changes
  Account a{"alice", "example.com"};
  ASSERT_TRUE(add_subscriber(*c, a, "secret", false));
  auto dup = add_subscriber(*c, a, "other", false);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "alice@example.com exists already");
  auto s = find_subscriber(*c, a);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id, 1);
  EXPECT_EQ(s->password, "");
  EXPECT_EQ(s->ha1, md5_hex("alice:example.com:secret"));
  EXPECT_EQ(s->ha1b, md5_hex("alice@example.com:example.com:secret"));
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

}  // namespace
}  // namespace msrpd::db
