// auth_db over db_sqlite (issue 13 items 1, 2, 4): per-user AUTH against Kamailio's subscriber
// table in a real SQLite file, made by msrpctl db init / user add or by the test itself, with the
// real msrpd binary. The lookup runs on the database pool while the worker serves other frames.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "db/db.h"
#include "db/subscriber.h"
#include "harness.h"
#include "relay/digest.h"

namespace msrpd::itest {
namespace {

using client::Client;

std::string msrpctl_path() {
  std::string p = MSRPD_BINARY;
  return p.substr(0, p.rfind('/') + 1) + "msrpctl";
}

// A private directory with the database file and the config, removed at the end.
class DbAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/msrpd-dbauth-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    db_ = dir_ + "/msrpd.db";
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
    d_.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<db::Connection> open_db() {
    db::ConnectOptions o;
    o.create = true;
    auto c = db::connect(*db::parse_url("sqlite://" + db_), o);
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return c ? std::move(*c) : nullptr;
  }

  // The subscriber schema with alice (HA1 only, as msrpctl stores it) and bob (plain password too).
  void make_users() {
    auto c = open_db();
    ASSERT_TRUE(c);
    ASSERT_TRUE(db::init_schema(*c));
    ASSERT_TRUE(db::add_subscriber(*c, {"alice", "myrealm"}, "secret", false));
    ASSERT_TRUE(db::add_subscriber(*c, {"bob", "myrealm"}, "bobpass", true));
  }

  std::string config(const std::string& modparams, const std::string& table = "subscriber",
                     const std::string& url = "") const {
    return "#!KAMAILIO\n"
           "debug=3\nchildren=1\nlog_stderror=yes\nauto_aliases=no\ntcp_accept_no_cl=yes\n"
           "loadmodule \"sl.so\"\nloadmodule \"msrp.so\"\nloadmodule \"pv.so\"\nloadmodule \"xlog.so\"\n"
           "loadmodule \"auth.so\"\nloadmodule \"db_sqlite.so\"\nloadmodule \"auth_db.so\"\n"
           "modparam(\"msrp\", \"cmap_size\", 8)\n"
           "modparam(\"auth_db\", \"db_url\", \"" +
           (url.empty() ? "sqlite://" + db_ : url) + "\")\n" + modparams +
           "event_route[msrp:frame-in] {\n"
           "  msrp_reply_flags(\"1\");\n"
           "  if ($msrp(method) == \"AUTH\") {\n"
           "    if (!www_authorize(\"myrealm\", \"" +
           table +
           "\")) {\n"
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

  bool log_has(const std::string& text, int timeout_ms = 2000) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (d_.log().find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  std::string dir_, db_, cfg_;
  Msrpd d_;
};

TEST_F(DbAuth, RightPasswordGets200WithAuthenticationInfo) {
  make_users();
  start(config(""));
  client::AuthResult a;
  EXPECT_EQ(auth("alice", "secret", &a), 200) << a.answer.raw;
  EXPECT_EQ(a.challenge.code, 401);
  // RFC 4976 §9.1: the 200 carries Authentication-Info, its rspauth made from the row's HA1.
  EXPECT_NE(a.answer.header("Authentication-Info").find("rspauth=\""), std::string::npos) << a.answer.raw;
  EXPECT_EQ(a.use_path.size(), 1u) << a.answer.raw;
}

TEST_F(DbAuth, WrongPasswordGets401) {
  make_users();
  start(config(""));
  client::AuthResult a;
  EXPECT_EQ(auth("alice", "wrong", &a), 401);
  EXPECT_NE(a.answer.header("WWW-Authenticate").find("realm=\"myrealm\""), std::string::npos);
}

TEST_F(DbAuth, UnknownUserGets401) {
  make_users();
  start(config(""));
  EXPECT_EQ(auth("mallory", "secret"), 401);
  EXPECT_TRUE(log_has("no user 'mallory' in subscriber"));
}

TEST_F(DbAuth, EachUserHasHisOwnPassword) {
  make_users();
  start(config(""));
  EXPECT_EQ(auth("bob", "bobpass"), 200);
  EXPECT_EQ(auth("bob", "secret"), 401);
  EXPECT_EQ(auth("alice", "bobpass"), 401);
  EXPECT_EQ(auth("alice", "secret"), 200);  // from the worker's cache now
}

TEST_F(DbAuth, PlainPasswordColumnWithCalculateHa1) {
  make_users();
  start(
      config("modparam(\"auth_db\", \"calculate_ha1\", 1)\nmodparam(\"auth_db\", \"password_column\", "
             "\"password\")\n"));
  EXPECT_EQ(auth("bob", "bobpass"), 200);
  // alice has no plain password stored (msrpctl's default): her row cannot serve, logged.
  EXPECT_EQ(auth("alice", "secret"), 401);
  EXPECT_TRUE(log_has("the row of 'alice' in subscriber is unusable: its password is empty"));
}

TEST_F(DbAuth, UseDomainMatchesTheRealm) {
  auto c = open_db();
  ASSERT_TRUE(db::init_schema(*c));
  ASSERT_TRUE(db::add_subscriber(*c, {"alice", "otherrealm"}, "secret", false));
  c.reset();
  start(config("modparam(\"auth_db\", \"use_domain\", 1)\n"));
  // Only a row of domain "otherrealm": the realm is myrealm (and its HA1 was made for the other).
  EXPECT_EQ(auth("alice", "secret"), 401);
  EXPECT_TRUE(log_has("no user 'alice'@'myrealm' in subscriber"));
}

TEST_F(DbAuth, InjectionThroughTheUserNameHasNoEffect) {
  make_users();
  start(config(""));
  // Bound as a parameter, the name is a name: no row matches it, nothing else happens.
  EXPECT_EQ(auth("x' OR '1'='1", "secret"), 401);
  EXPECT_EQ(auth("alice' --", "secret"), 401);
  EXPECT_EQ(auth("alice'; DROP TABLE subscriber; --", "secret"), 401);
  EXPECT_TRUE(log_has("no user 'x' OR '1'='1' in subscriber"));
  EXPECT_EQ(auth("alice", "secret"), 200);  // the table is still there
  auto c = open_db();
  auto all = db::list_subscribers(*c);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(DbAuth, RowsWithNullOrMalformedHa1FailCleanly) {
  auto c = open_db();
  // A table as a careless import makes it: NULLs allowed.
  ASSERT_TRUE(
      c->exec_script("CREATE TABLE subscriber (id INTEGER PRIMARY KEY, username TEXT, domain TEXT, "
                     "password TEXT, ha1, ha1b TEXT);"));
  ASSERT_TRUE(c->query("INSERT INTO subscriber (username, domain, ha1) VALUES ('nullha1', 'myrealm', NULL)"));
  ASSERT_TRUE(
      c->query("INSERT INTO subscriber (username, domain, ha1) VALUES ('shortha1', 'myrealm', 'abc123')"));
  ASSERT_TRUE(c->query("INSERT INTO subscriber (username, domain, ha1) VALUES ('intha1', 'myrealm', 42)"));
  ASSERT_TRUE(c->query("INSERT INTO subscriber (username, domain, ha1) VALUES ('good', 'myrealm', ?)",
                       {db::Value::text(relay::compute_ha1("good", "myrealm", "pw"))}));
  c.reset();
  start(config(""));
  EXPECT_EQ(auth("nullha1", "pw"), 401);
  EXPECT_TRUE(log_has("the row of 'nullha1' in subscriber is unusable: its ha1 is NULL"));
  EXPECT_EQ(auth("shortha1", "pw"), 401);
  EXPECT_TRUE(
      log_has("the row of 'shortha1' in subscriber is unusable: its ha1 is 6 characters, not an HA1"));
  EXPECT_EQ(auth("intha1", "pw"), 401);
  EXPECT_TRUE(log_has("the row of 'intha1' in subscriber is unusable: its ha1 is not text"));
  EXPECT_EQ(auth("good", "pw"), 200);
}

TEST_F(DbAuth, MsrpctlDbInitAndUserAddThenAuthWorks) {
  std::string ctl = msrpctl_path() + " -d sqlite://" + db_ + " ";
  ASSERT_EQ(std::system((ctl + "db init >/dev/null").c_str()), 0);
  ASSERT_EQ(std::system((ctl + "user add carol@myrealm c4r0l >/dev/null").c_str()), 0);
  start(config(""));
  EXPECT_EQ(auth("carol", "c4r0l"), 200);
  EXPECT_EQ(auth("carol", "other"), 401);
  // A new password reaches the relay once the worker's row expires (cache_ttl 0 here: at once).
  d_.stop();
  start(config("modparam(\"auth_db\", \"cache_ttl\", 0)\n"));
  EXPECT_EQ(auth("carol", "c4r0l"), 200);
  ASSERT_EQ(std::system((ctl + "user passwd carol@myrealm n3w >/dev/null").c_str()), 0);
  EXPECT_EQ(auth("carol", "n3w"), 200);
  ASSERT_EQ(std::system((ctl + "user rm carol@myrealm >/dev/null").c_str()), 0);
  EXPECT_EQ(auth("carol", "n3w"), 401);
}

TEST_F(DbAuth, OtherConnectionsOfTheWorkerFlowWhileALookupWaits) {
  make_users();
  start(config(""));  // children=1: every connection on the one worker
  // A writer holds the database: the pool's query waits for the lock (busy_timeout 2 s).
  sqlite3* lock = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &lock), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(lock, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  Client a = d_.connect();
  std::string me = my_uri(a, "alice");
  ASSERT_TRUE(a.send(client::make_request("chal0001", "AUTH", d_.uri(), me)));
  auto ch = a.read_frame(3000);
  ASSERT_TRUE(ch);
  ASSERT_EQ(ch->code, 401);
  std::string www = ch->header("WWW-Authenticate");
  relay::DigestCredentials cr;
  std::string nonce = client::digest_param(www, "nonce"), opaque = client::digest_param(www, "opaque");
  std::string uri = d_.uri();
  cr.username = "alice";
  cr.realm = "myrealm";
  cr.nonce = nonce;
  cr.uri = uri;
  cr.cnonce = "0a4f113b";
  cr.nc = "00000001";
  cr.qop = "auth";
  std::string h = "Authorization: Digest username=\"alice\", realm=\"myrealm\", nonce=\"" + nonce +
                  "\", uri=\"" + uri + "\", response=\"" + relay::response_for(cr, "AUTH", "secret") +
                  "\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", opaque=\"" + opaque + "\"\r\n";
  ASSERT_TRUE(a.send(client::make_request("auth0002", "AUTH", d_.uri(), me, h)));
  // Meanwhile another connection of the same worker is answered at once.
  Client b = d_.connect();
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.send(client::make_request("other001", "AUTH", d_.uri(), my_uri(b, "bob"))));
  auto other = b.read_frame(1000);
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(other->code, 401);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(800));
  // The AUTH waits for its row: nothing yet.
  auto early = a.read_frame(300);
  EXPECT_FALSE(early) << early->raw;
  sqlite3_exec(lock, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(lock);
  auto answer = a.read_frame(3000);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->code, 200) << answer->raw;
  EXPECT_EQ(answer->tid, "auth0002");
}

TEST_F(DbAuth, MalformedDbUrlNamesFileAndLine) {
  cfg_ = dir_ + "/msrpd.cfg";
  std::ofstream(cfg_) << config("", "subscriber", "mysql://kamailio:kamailiorw@localhost/kamailio");
  RunResult r = run_msrpd({"-c", "-f", cfg_});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find(cfg_ + ":15:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unknown scheme 'mysql'"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("kamailiorw"), std::string::npos) << r.output;
}

TEST_F(DbAuth, UnknownColumnNamesTheCall) {
  make_users();
  cfg_ = dir_ + "/msrpd.cfg";
  std::ofstream(cfg_) << config("modparam(\"auth_db\", \"password_column\", \"hash\")\n");
  RunResult r = run_msrpd({"-c", "-f", cfg_});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find(cfg_ + ":20:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no such column: hash"), std::string::npos) << r.output;
}

TEST_F(DbAuth, TableNameMustBeAConstantIdentifier) {
  make_users();
  cfg_ = dir_ + "/msrpd.cfg";
  std::ofstream(cfg_) << config("", "subscriber; DROP TABLE x");
  RunResult r = run_msrpd({"-c", "-f", cfg_});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("expected a table name"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace msrpd::itest

namespace msrpd::itest {
namespace {

// pv_www_authenticate's flag 1: the password argument is the HA1 (issue 13 item 3).
class PvHa1 : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
    d_.stop();
    ::unlink(cfg_.c_str());
  }
  void start(const std::string& password, const std::string& flags) {
    char tmpl[] = "/tmp/msrpd-pvha1-XXXXXX";
    int fd = ::mkstemp(tmpl);
    ::close(fd);
    cfg_ = tmpl;
    std::ofstream(cfg_) << "#!KAMAILIO\nchildren=1\nlog_stderror=yes\nauto_aliases=no\n"
                           "loadmodule \"sl.so\"\nloadmodule \"msrp.so\"\nloadmodule \"pv.so\"\n"
                           "loadmodule \"auth.so\"\nmodparam(\"msrp\", \"cmap_size\", 8)\n"
                           "event_route[msrp:frame-in] {\n"
                           "  if (!pv_www_authenticate(\"myrealm\", \"" +
                               password + "\", \"" + flags +
                               "\")) {\n"
                               "    auth_get_www_authenticate(\"myrealm\", \"1\", \"$var(w)\");\n"
                               "    msrp_reply(\"401\", \"Unauthorized\", \"$var(w)\");\n"
                               "    exit;\n"
                               "  }\n"
                               "  msrp_cmap_save();\n"
                               "}\n";
    ASSERT_TRUE(d_.start(cfg_)) << d_.log();
  }
  int auth(const std::string& password) {
    Client c = d_.connect();
    auto a = client::authenticate(c, d_.uri(), my_uri(c, "u"), "alice", password);
    EXPECT_TRUE(a) << (a ? "" : a.error().message);
    return a ? a->answer.code : -1;
  }
  std::string cfg_;
  Msrpd d_;
};

TEST_F(PvHa1, Flag1TakesThePasswordArgumentAsHa1) {
  start(relay::compute_ha1("alice", "myrealm", "secret"), "1");
  EXPECT_EQ(auth("secret"), 200);
  EXPECT_EQ(auth("wrong"), 401);
}

TEST_F(PvHa1, Flag0TakesItAsThePassword) {
  start(relay::compute_ha1("alice", "myrealm", "secret"), "0");
  EXPECT_EQ(auth("secret"), 401);
  EXPECT_EQ(auth(relay::compute_ha1("alice", "myrealm", "secret")), 200);
}

TEST_F(PvHa1, Flag1WithSomethingElseThanAnHa1Fails) {
  start("secret", "1");
  EXPECT_EQ(auth("secret"), 401);
}

}  // namespace
}  // namespace msrpd::itest
