// auth_db over db_postgres (issue 13 items 1 and 6): per-user AUTH against Kamailio's subscriber
// table in a real PostgreSQL (tests/support/postgres.h), with the real msrpd binary; a database
// that is slow, down at start, or stopped and started during a run gives the AUTH its bounded
// error (the script answers 500 on auth_db's -1) and msrpd recovers when it is back; msrpctl
// manages the same table on PostgreSQL.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "db/db.h"
#include "db/subscriber.h"
#include "harness.h"
#include "postgres.h"

namespace msrpd::itest {
namespace {

using client::Client;
using Clock = std::chrono::steady_clock;

std::string msrpctl_path() {
  std::string p = MSRPD_BINARY;
  return p.substr(0, p.rfind('/') + 1) + "msrpctl";
}

// Each test its own database in the program's cluster; the tests that stop PostgreSQL use a
// cluster of their own (use_own()).
class DbPg : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/msrpd-dbpg-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
      if (pg_) std::fprintf(stderr, "--- postgres log ---\n%s\n", pg_->log().c_str());
    }
    d_.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The shared cluster, a new database in it.
  void use_shared() {
    pg_ = &Postgres::shared();
    ASSERT_TRUE(pg_->ok()) << pg_->error();
    make_database();
  }
  // A cluster apart from the shared one, for the tests that stop and start it (made once, started
  // again if a previous test left it stopped).
  void use_own() {
    static Postgres own;
    pg_ = &own;
    if (pg_->ok() && !pg_->running()) pg_->start();
    ASSERT_TRUE(pg_->ok()) << pg_->error();
    make_database();
  }
  void make_database() {
    std::string name = pg_->create_database(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_FALSE(name.empty()) << pg_->error();
    url_ = pg_->url(name);
  }

  std::unique_ptr<db::Connection> open_db() {
    auto c = db::connect(*db::parse_url(url_));
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return c ? std::move(*c) : nullptr;
  }

  // The subscriber schema with alice (HA1 only, as msrpctl stores it) and bob (plain password too).
  void make_users() {
    auto c = open_db();
    ASSERT_TRUE(c);
    auto s = db::init_schema(*c);
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE(db::add_subscriber(*c, {"alice", "myrealm"}, "secret", false));
    ASSERT_TRUE(db::add_subscriber(*c, {"bob", "myrealm"}, "bobpass", true));
  }

  // auth_db's -1 (the database failed) is the script's to answer: 500 here.
  std::string config(const std::string& modparams) const {
    return "#!KAMAILIO\n"
           "debug=3\nchildren=1\nlog_stderror=yes\nauto_aliases=no\ntcp_accept_no_cl=yes\n"
           "loadmodule \"sl.so\"\nloadmodule \"msrp.so\"\nloadmodule \"pv.so\"\nloadmodule \"xlog.so\"\n"
           "loadmodule \"auth.so\"\nloadmodule \"db_postgres.so\"\nloadmodule \"auth_db.so\"\n"
           "modparam(\"msrp\", \"cmap_size\", 8)\n"
           "modparam(\"auth_db\", \"db_url\", \"" +
           url_ + "\")\n" + modparams +
           "event_route[msrp:frame-in] {\n"
           "  msrp_reply_flags(\"1\");\n"
           "  if ($msrp(method) == \"AUTH\") {\n"
           "    if (!www_authorize(\"myrealm\", \"subscriber\")) {\n"
           "      if ($rc == -1) {\n"
           "        msrp_reply(\"500\", \"Server Internal Error\");\n"
           "        exit;\n"
           "      }\n"
           "      if (auth_get_www_authenticate(\"myrealm\", \"1\", \"$var(wauth)\")) {\n"
           "        msrp_reply(\"401\", \"Unauthorized\", \"$var(wauth)\");\n"
           "      }\n"
           "      exit;\n"
           "    }\n"
           "    msrp_cmap_save();\n"
           "    exit;\n"
           "  }\n"
           "  msrp_reply(\"501\", \"Not Here\");\n"
           "}\n";
  }

  void start(const std::string& cfg_text) {
    cfg_ = dir_ + "/msrpd.cfg";
    std::ofstream(cfg_) << cfg_text;
    ASSERT_TRUE(d_.start(cfg_)) << d_.log();
  }

  // One AUTH exchange as user/password on a new connection: the final answer's code.
  int auth(const std::string& user, const std::string& password, client::AuthResult* out = nullptr) {
    Client c = d_.connect();
    EXPECT_GE(c.fd(), 0);
    auto a = client::authenticate(c, d_.uri(), my_uri(c, "u1"), user, password);
    EXPECT_TRUE(a) << (a ? "" : a.error().message);
    if (!a) return -1;
    if (out) *out = *a;
    return a->answer.code;
  }

  // AUTHs until one gets `code` (each bounded), for at most timeout_ms.
  bool auth_until(int code, const std::string& user, const std::string& password, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      if (auth(user, password) == code) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  bool log_has(const std::string& text, int timeout_ms = 2000) const {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (d_.log().find(text) == std::string::npos) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  // A db:* counter through the ctl socket (msrpctl stats.get_statistics), -1 when not found.
  int64_t db_stat(const std::string& sock, const std::string& name) {
    std::string out = dir_ + "/stat.out";
    std::string cmd =
        msrpctl_path() + " -s unix:" + sock + " stats.get_statistics " + name + " >" + out + " 2>&1";
    if (std::system(cmd.c_str()) != 0) return -1;
    std::string text = read_file(out);
    auto at = text.find(name + " = ");
    if (at == std::string::npos) return -1;
    return std::atoll(text.c_str() + at + name.size() + 3);
  }

  std::string redacted() const { return db::parse_url(url_)->redacted(); }

  std::string dir_, cfg_, url_;
  Postgres* pg_ = nullptr;
  Msrpd d_;
};

TEST_F(DbPg, RightPasswordGets200FromAnHa1OnlyRow) {
  use_shared();
  make_users();
  start(config(""));
  client::AuthResult a;
  EXPECT_EQ(auth("alice", "secret", &a), 200) << a.answer.raw;
  EXPECT_EQ(a.challenge.code, 401);
  // RFC 4976 §9.1: the 200 carries Authentication-Info, its rspauth made from the row's HA1.
  EXPECT_NE(a.answer.header("Authentication-Info").find("rspauth=\""), std::string::npos) << a.answer.raw;
  EXPECT_EQ(a.use_path.size(), 1u) << a.answer.raw;
}

TEST_F(DbPg, WrongPasswordGets401) {
  use_shared();
  make_users();
  start(config(""));
  client::AuthResult a;
  EXPECT_EQ(auth("alice", "wrong", &a), 401);
  EXPECT_NE(a.answer.header("WWW-Authenticate").find("realm=\"myrealm\""), std::string::npos);
}

TEST_F(DbPg, UnknownUserGets401) {
  use_shared();
  make_users();
  start(config(""));
  EXPECT_EQ(auth("mallory", "secret"), 401);
  EXPECT_TRUE(log_has("no user 'mallory' in subscriber"));
}

TEST_F(DbPg, EachUserHasHisOwnPasswordAndPlainPasswordsWork) {
  use_shared();
  make_users();
  start(config(""));
  EXPECT_EQ(auth("bob", "bobpass"), 200);
  EXPECT_EQ(auth("bob", "secret"), 401);
  EXPECT_EQ(auth("alice", "bobpass"), 401);
  EXPECT_EQ(auth("alice", "secret"), 200);
  d_.stop();
  start(
      config("modparam(\"auth_db\", \"calculate_ha1\", 1)\n"
             "modparam(\"auth_db\", \"password_column\", \"password\")\n"));
  EXPECT_EQ(auth("bob", "bobpass"), 200);
  // alice has no plain password stored: her row cannot serve (-1, which this script answers 500).
  EXPECT_EQ(auth("alice", "secret"), 500);
  EXPECT_TRUE(log_has("the row of 'alice' in subscriber is unusable: its password is empty"));
}

TEST_F(DbPg, InjectionThroughTheUserNameHasNoEffect) {
  use_shared();
  make_users();
  start(config(""));
  EXPECT_EQ(auth("x' OR '1'='1", "secret"), 401);
  EXPECT_EQ(auth("alice'; DROP TABLE subscriber; --", "secret"), 401);
  EXPECT_EQ(auth("al?ce", "secret"), 401);
  EXPECT_TRUE(log_has("no user 'x' OR '1'='1' in subscriber"));
  EXPECT_EQ(auth("alice", "secret"), 200);
  auto c = open_db();
  auto all = db::list_subscribers(*c);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(DbPg, UnknownColumnNamesTheCall) {
  use_shared();
  make_users();
  cfg_ = dir_ + "/msrpd.cfg";
  std::ofstream(cfg_) << config("modparam(\"auth_db\", \"password_column\", \"hash\")\n");
  RunResult r = run_msrpd({"-c", "-f", cfg_});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find(cfg_ + ":20:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("column \"hash\" does not exist"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(Postgres::role_password()), std::string::npos) << r.output;
}

TEST_F(DbPg, DbPostgresMustBeLoaded) {
  use_shared();
  cfg_ = dir_ + "/msrpd.cfg";
  std::string text = config("");
  text.replace(text.find("loadmodule \"db_postgres.so\"\n"), 27, "");
  std::ofstream(cfg_) << text;
  RunResult r = run_msrpd({"-c", "-f", cfg_});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("needs loadmodule \"db_postgres.so\""), std::string::npos) << r.output;
}

// A statement that waits (the table locked by another session) is cancelled by the server after
// db_postgres's timeout: the AUTH gets the script's 500 within that bound, then works again.
TEST_F(DbPg, ASlowDatabaseGivesTheAuthItsBoundedError) {
  use_shared();
  make_users();
  start(config("modparam(\"db_postgres\", \"timeout\", 1)\nmodparam(\"auth_db\", \"cache_ttl\", 0)\n"));
  EXPECT_EQ(auth("alice", "secret"), 200);
  auto lock = open_db();
  ASSERT_TRUE(lock->query("BEGIN"));
  ASSERT_TRUE(lock->query("LOCK TABLE subscriber IN ACCESS EXCLUSIVE MODE"));
  auto t0 = Clock::now();
  EXPECT_EQ(auth("alice", "secret"), 500);
  auto took = Clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(900));
  EXPECT_LT(took, std::chrono::milliseconds(3000));
  EXPECT_TRUE(log_has("canceling statement due to statement timeout"));
  ASSERT_TRUE(lock->query("ROLLBACK"));
  EXPECT_EQ(auth("alice", "secret"), 200);
}

TEST_F(DbPg, DownAtStartThenUp) {
  use_own();
  make_users();
  ASSERT_TRUE(pg_->stop()) << pg_->error();
  std::string sock = dir_ + "/ctl.sock";
  start(
      config("modparam(\"db_postgres\", \"timeout\", 1)\nloadmodule \"ctl.so\"\nmodparam(\"ctl\", "
             "\"binrpc\", \"unix:" +
             sock + "\")\n"));
  // msrpd runs, says so, and each AUTH gets the bounded error.
  EXPECT_TRUE(log_has("auth_db: cannot open the database now"));
  for (int k = 0; k < 3; ++k) {
    auto t0 = Clock::now();
    EXPECT_EQ(auth("alice", "secret"), 500);
    EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(2500));
  }
  EXPECT_TRUE(log_has("db: " + redacted() + ": connection to server at \"127.0.0.1\""));
  EXPECT_TRUE(log_has("Connection refused"));
  EXPECT_EQ(d_.log().find(Postgres::role_password()), std::string::npos);
  // Logged at most once a second per worker: three quick failures are not three lines.
  size_t lines = 0;
  std::string log = d_.log(), what = "www_authorize: " + redacted() + ": ";
  for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++lines;
  EXPECT_GE(lines, 1u);
  EXPECT_LT(lines, 3u) << log;
  // Counted: each of the three lookups failed without a connection.
  EXPECT_EQ(db_stat(sock, "db:lookups_unavailable"), 3);
  EXPECT_GE(db_stat(sock, "db:connect_failures"), 1);
  EXPECT_EQ(db_stat(sock, "db:connects"), 0);
  // Back: within the back-off's bound (4 s) an AUTH succeeds again.
  ASSERT_TRUE(pg_->start()) << pg_->error();
  EXPECT_TRUE(auth_until(200, "alice", "secret", 8000));
  EXPECT_GE(db_stat(sock, "db:connects"), 1);
}

TEST_F(DbPg, StoppedAndStartedDuringARun) {
  use_own();
  make_users();
  start(config("modparam(\"db_postgres\", \"timeout\", 1)\nmodparam(\"auth_db\", \"cache_ttl\", 0)\n"));
  EXPECT_EQ(auth("alice", "secret"), 200);
  ASSERT_TRUE(pg_->stop()) << pg_->error();
  auto t0 = Clock::now();
  EXPECT_EQ(auth("alice", "secret"), 500);
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(2500));
  EXPECT_EQ(auth("bob", "bobpass"), 500);
  ASSERT_TRUE(pg_->start()) << pg_->error();
  EXPECT_TRUE(auth_until(200, "alice", "secret", 8000));
  // A restart while msrpd holds a connection: the dropped connection is noticed before use.
  ASSERT_TRUE(pg_->stop()) << pg_->error();
  ASSERT_TRUE(pg_->start()) << pg_->error();
  EXPECT_EQ(auth("bob", "bobpass"), 200);
}

TEST_F(DbPg, MsrpctlManagesUsersOnPostgres) {
  use_shared();
  std::string ctl = msrpctl_path() + " -d '" + url_ + "' ";
  ASSERT_EQ(std::system((ctl + "db init >/dev/null").c_str()), 0);
  ASSERT_EQ(std::system((ctl + "db init >/dev/null").c_str()), 0);  // again: nothing changes
  ASSERT_EQ(std::system((ctl + "user add carol@myrealm c4r0l >/dev/null").c_str()), 0);
  EXPECT_NE(std::system((ctl + "user add carol@myrealm other 2>/dev/null").c_str()), 0);
  ASSERT_EQ(std::system((ctl + "user add dave@myrealm d4v3 --store-plain >/dev/null").c_str()), 0);
  std::string out = dir_ + "/out";
  ASSERT_EQ(std::system((ctl + "user list >" + out).c_str()), 0);
  EXPECT_EQ(read_file(out), "carol@myrealm\ndave@myrealm\n");
  ASSERT_EQ(std::system((ctl + "user show dave@myrealm >" + out).c_str()), 0);
  // PostgreSQL's SERIAL: the refused duplicate took id 2.
  EXPECT_EQ(read_file(out), "id: 3\nusername: dave\ndomain: myrealm\npassword: d4v3\nha1: " +
                                db::ha1_of({"dave", "myrealm"}, "d4v3") +
                                "\nha1b: " + db::ha1b_of({"dave", "myrealm"}, "d4v3") + "\n");
  // The same table Kamailio's PostgreSQL schema has: its column names, its version row.
  auto c = open_db();
  auto cols = c->query(
      "SELECT column_name FROM information_schema.columns WHERE table_name='subscriber' ORDER BY "
      "ordinal_position");
  ASSERT_TRUE(cols);
  std::string names;
  for (const auto& r : cols->rows) names += r[0].s + " ";
  EXPECT_EQ(names, "id username domain password ha1 ha1b ");
  EXPECT_EQ(c->query("SELECT table_version FROM version WHERE table_name='subscriber'")->rows.at(0).at(0),
            db::Value::integer(7));
  start(config("modparam(\"auth_db\", \"cache_ttl\", 0)\n"));
  EXPECT_EQ(auth("carol", "c4r0l"), 200);
  EXPECT_EQ(auth("carol", "other"), 401);
  ASSERT_EQ(std::system((ctl + "user passwd carol@myrealm n3w >/dev/null").c_str()), 0);
  EXPECT_EQ(auth("carol", "n3w"), 200);
  ASSERT_EQ(std::system((ctl + "user rm carol@myrealm >/dev/null").c_str()), 0);
  EXPECT_EQ(auth("carol", "n3w"), 401);
  EXPECT_NE(std::system((ctl + "user rm carol@myrealm 2>/dev/null").c_str()), 0);
}

TEST_F(DbPg, MsrpctlSaysWhyWhenPostgresIsDown) {
  url_ = "postgres://msrpd:topsecret@127.0.0.1:1/nope";
  std::string out = dir_ + "/out";
  int rc = std::system((msrpctl_path() + " -d '" + url_ + "' user list >" + out + " 2>&1").c_str());
  EXPECT_NE(rc, 0);
  std::string text = read_file(out);
  EXPECT_NE(text.find("msrpctl: postgres://msrpd:***@127.0.0.1:1/nope: connection to server at"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("topsecret"), std::string::npos) << text;
}

}  // namespace
}  // namespace msrpd::itest
