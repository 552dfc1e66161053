// htable from the database (issue 13 item 5) and auth_db's cache RPC (item 2), against the real
// msrpd binary: a table loaded from a real SQLite file at start steers the route (exact status
// codes), htable.sets / htable.seti / htable.reload over kamcmd (Debian's) and JSON-RPC change
// its answer, event_route[htable:mod-init] runs before the first frame, dbmode=1 writes the
// table back when msrpd stops, and auth_db.cache_drop makes a password changed with msrpctl
// count at the next AUTH.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <sstream>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "db/db.h"
#include "harness.h"
#include "postgres.h"

namespace msrpd::itest {
namespace {

using client::Client;

const char* kKamcmd = "/usr/sbin/kamcmd";

// Kamailio's htable table, as kamdbctl makes it for SQLite.
const char* kHtableTable =
    "CREATE TABLE htable (id INTEGER PRIMARY KEY NOT NULL, key_name VARCHAR(64) DEFAULT '' NOT NULL, "
    "key_type INTEGER DEFAULT 0 NOT NULL, value_type INTEGER DEFAULT 0 NOT NULL, "
    "key_value VARCHAR(128) DEFAULT '' NOT NULL, expires INTEGER DEFAULT 0 NOT NULL);";

std::string msrpctl_path() {
  std::string p = MSRPD_BINARY;
  return p.substr(0, p.rfind('/') + 1) + "msrpctl";
}

// A program run to completion (bounded): its exit code and stdout + stderr.
struct Output {
  int code = -1;
  std::string out;
};
Output run(const std::vector<std::string>& argv, int timeout_s = 10) {
  char tmpl[] = "/tmp/msrpd-htdb-out-XXXXXX";
  int fd = ::mkstemp(tmpl);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    _exit(127);
  }
  ::close(fd);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Output o;
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.out = read_file(tmpl);
  ::unlink(tmpl);
  return o;
}

// The route answers an AUTH by the table "acl": policy "deny" 403, limit 0 423, policy "allow"
// 420, nothing 481 (no frame is relayed: the codes say which branch ran).
const char* kRoute =
    "event_route[msrp:frame-in] {\n"
    "  if ($sht(acl=>policy) == \"deny\") { msrp_reply(\"403\", \"Denied By Table\"); exit; }\n"
    "  if ($sht(acl=>limit) == 0) { msrp_reply(\"423\", \"Limit Zero\"); exit; }\n"
    "  if ($sht(acl=>policy) == \"allow\") { msrp_reply(\"420\", \"Allowed By Table\"); exit; }\n"
    "  msrp_reply(\"481\", \"No Policy\");\n"
    "}\n";

class HtableDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/msrpd-htdb-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    db_ = dir_ + "/msrpd.db";
    sock_ = dir_ + "/ctl.sock";
    http_port_ = free_port();
    auto c = open_db();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->exec_script(kHtableTable));
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
  void row(const std::string& key, int vtype, const std::string& value) {
    auto c = open_db();
    ASSERT_TRUE(c->query("DELETE FROM htable WHERE key_name=?", {db::Value::text(key)}));
    ASSERT_TRUE(c->query("INSERT INTO htable (key_name, key_type, value_type, key_value) VALUES (?, 0, ?, ?)",
                         {db::Value::text(key), db::Value::integer(vtype), db::Value::text(value)}));
  }

  std::string config(const std::string& table_attrs, const std::string& extra = "") const {
    return "#!KAMAILIO\n"
           "debug=2\nchildren=1\nlog_stderror=yes\nauto_aliases=no\ntcp_accept_no_cl=yes\n"
           "loadmodule \"sl.so\"\nloadmodule \"msrp.so\"\nloadmodule \"pv.so\"\nloadmodule \"xlog.so\"\n"
           "loadmodule \"htable.so\"\nloadmodule \"" +
           driver_ +
           ".so\"\nloadmodule \"ctl.so\"\n"
           "modparam(\"ctl\", \"binrpc\", \"unix:" +
           sock_ + "\")\nmodparam(\"ctl\", \"http\", \"tcp:127.0.0.1:" + std::to_string(http_port_) +
           "\")\n"
           "modparam(\"htable\", \"db_url\", \"" +
           (url_.empty() ? "sqlite://" + db_ : url_) +
           "\")\nmodparam(\"htable\", \"htable\", \"acl=>size=4;" + table_attrs + "\")\n" + extra + kRoute;
  }

  void start(const std::string& text) {
    cfg_ = dir_ + "/msrpd.cfg";
    std::ofstream(cfg_) << text;
    ASSERT_TRUE(d_.start(cfg_)) << d_.log();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    struct stat st {};
    while (::stat(sock_.c_str(), &st) != 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(::stat(sock_.c_str(), &st), 0) << d_.log();
  }

  // An AUTH without credentials: the route's answer, "CODE comment".
  std::string answer() {
    Client c = d_.connect();
    EXPECT_GE(c.fd(), 0);
    EXPECT_TRUE(c.send(client::make_request(client::random_id(), "AUTH", d_.uri(), my_uri(c, "u1"))));
    auto f = c.read_frame(3000);
    if (!f) return "no answer";
    return std::to_string(f->code) + " " + f->comment;
  }

  Output kamcmd(std::vector<std::string> args) {
    args.insert(args.begin(), {kKamcmd, "-s", "unix:" + sock_});
    return run(args);
  }
  // One JSON-RPC call over HTTP: the reply's JSON (null when there is none within 5 s).
  nlohmann::json jsonrpc(const std::string& method, const nlohmann::json& params) {
    nlohmann::json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
    std::string body = req.dump();
    std::string http =
        "POST /RPC HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(http_port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::send(fd, http.data(), http.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(http.size())) {
      ::close(fd);
      return nullptr;
    }
    std::string got;
    char buf[4096];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
      // One reply per connection: whole once the body has its Content-Length.
      size_t h = got.find("\r\n\r\n");
      size_t cl = got.find("Content-Length: ");
      if (h != std::string::npos && cl != std::string::npos && cl < h &&
          got.size() >= h + 4 + std::stoul(got.substr(cl + 16)))
        break;
    }
    ::close(fd);
    size_t p = got.find("\r\n\r\n");
    return p == std::string::npos ? nlohmann::json()
                                  : nlohmann::json::parse(got.substr(p + 4), nullptr, false);
  }

  std::string dir_, db_, sock_, cfg_;
  std::string url_;                   // another database than the SQLite file db_ (PostgreSQL)
  std::string driver_ = "db_sqlite";  // the driver module the config loads
  uint16_t http_port_ = 0;
  Msrpd d_;
};

TEST_F(HtableDbTest, TableLoadedFromTheFileSteersTheRoute) {
  row("policy", 0, "deny");
  start(config("dbtable=htable;"));
  EXPECT_EQ(answer(), "403 Denied By Table");
  EXPECT_NE(d_.log().find("htable: 1 items loaded from the database"), std::string::npos);
  Output o = kamcmd({"htable.get", "acl", "policy"});
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_EQ(o.out,
            "{\n\titem: {\n\t\tname: policy\n\t\tvalue: deny\n\t\tflags: 2\n\t\texpire: NEVER\n\t}\n}\n");
}

TEST_F(HtableDbTest, IntegerRowsAreIntegers) {
  row("limit", 1, "0");
  start(config("dbtable=htable;"));
  EXPECT_EQ(answer(), "423 Limit Zero");
}

TEST_F(HtableDbTest, SetsAndSetiChangeTheAnswerAtOnce) {
  start(config("dbtable=htable;"));
  EXPECT_EQ(answer(), "481 No Policy");
  Output o = kamcmd({"htable.sets", "acl", "policy", "allow"});
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_EQ(o.out, "Ok. Key set to new value.\n");
  EXPECT_EQ(answer(), "420 Allowed By Table");
  // kamcmd sends 0 as an int: seti stores an integer, which the route's == 0 matches.
  o = kamcmd({"htable.seti", "acl", "limit", "0"});
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_EQ(answer(), "423 Limit Zero");
  // JSON-RPC reaches the same commands, in the same argument order.
  auto j = jsonrpc("htable.sets", {"acl", "policy", "deny"});
  EXPECT_EQ(j["result"], "Ok. Key set to new value.") << j.dump();
  EXPECT_EQ(answer(), "403 Denied By Table");
  j = jsonrpc("htable.seti", {"acl", "limit", "x"});
  EXPECT_EQ(j["error"]["code"], 500) << j.dump();
  EXPECT_EQ(j["error"]["message"], "Not enough parameters (htable name, key name and value)") << j.dump();
  j = jsonrpc("htable.sets", {"nope", "k", "v"});
  EXPECT_EQ(j["error"]["message"], "No such htable") << j.dump();
  o = kamcmd({"htable.get", "acl", "limit"});
  EXPECT_NE(o.out.find("value: 0"), std::string::npos) << o.out;
}

TEST_F(HtableDbTest, ReloadReadsTheChangedFile) {
  row("policy", 0, "deny");
  start(config("dbtable=htable;"));
  EXPECT_EQ(answer(), "403 Denied By Table");
  row("policy", 0, "allow");
  EXPECT_EQ(answer(), "403 Denied By Table");  // read at start only
  Output o = kamcmd({"htable.reload", "acl"});
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_EQ(o.out, "Ok. Htable reloaded.\n");
  EXPECT_EQ(answer(), "420 Allowed By Table");
  // An item set meanwhile is gone after a reload: the table is what the file holds.
  ASSERT_EQ(kamcmd({"htable.seti", "acl", "limit", "0"}).code, 0);
  EXPECT_EQ(answer(), "423 Limit Zero");
  auto j = jsonrpc("htable.reload", {"acl"});
  EXPECT_EQ(j["result"], "Ok. Htable reloaded.") << j.dump();
  EXPECT_EQ(answer(), "420 Allowed By Table");
  // A file that cannot be read any more: the fault says why, the table keeps its items.
  ASSERT_TRUE(open_db()->exec_script("DROP TABLE htable;"));
  j = jsonrpc("htable.reload", {"acl"});
  EXPECT_EQ(j["error"]["message"], "Htable reload failed: sqlite: no such table: htable") << j.dump();
  EXPECT_EQ(answer(), "420 Allowed By Table");
}

TEST_F(HtableDbTest, ModInitRunsOnceBeforeTheFirstFrame) {
  row("policy", 0, "deny");
  start(config("dbtable=htable;",
               "event_route[htable:mod-init] {\n"
               "  xlog(\"L_NOTICE\", \"mod-init sees policy=$sht(acl=>policy)\\n\");\n"
               "  $sht(acl=>policy) = \"allow\";\n"
               "}\n"));
  // After the load (it saw the row), before any frame (the first AUTH already sees its value).
  EXPECT_EQ(answer(), "420 Allowed By Table");
  std::string log = d_.log();
  EXPECT_NE(log.find("mod-init sees policy=deny"), std::string::npos) << log;
  EXPECT_EQ(log.find("mod-init sees"), log.rfind("mod-init sees"));  // once
  EXPECT_EQ(log.find("is never run"), std::string::npos) << log;
}

// cfgengine "lua": htable's event_callback gets "htable:mod-init" once, after the load.
TEST_F(HtableDbTest, LuaEventCallbackRunsAsModInit) {
  row("policy", 0, "deny");
  std::string lua = dir_ + "/route.lua";
  std::ofstream(lua) << "function ksr_htable_event(ev)\n"
                        "  KSR.notice(\"htable event \" .. ev .. \" sees \" .. KSR.htable.sht_get(\"acl\", "
                        "\"policy\") .. \"\\n\")\n"
                        "  KSR.htable.sht_sets(\"acl\", \"policy\", \"allow\")\n"
                        "end\n"
                        "function ksr_msrp_event(ev)\n"
                        "  KSR.msrp.reply(\"420\", KSR.htable.sht_gets(\"acl\", \"policy\"))\n"
                        "end\n";
  start(config("dbtable=htable;",
               "loadmodule \"app_lua.so\"\nmodparam(\"app_lua\", \"load\", \"" + lua +
                   "\")\nmodparam(\"htable\", \"event_callback\", \"ksr_htable_event\")\n"
                   "modparam(\"msrp\", \"event_callback\", \"ksr_msrp_event\")\ncfgengine \"lua\"\n"));
  EXPECT_EQ(answer(), "420 allow");
  std::string log = d_.log();
  EXPECT_NE(log.find("htable event htable:mod-init sees deny"), std::string::npos) << log;
  EXPECT_EQ(log.find("htable event"), log.rfind("htable event"));  // once
}

TEST_F(HtableDbTest, DbmodeOneWritesTheTableBackOnStop) {
  row("policy", 0, "deny");
  start(config("dbtable=htable;dbmode=1;"));
  ASSERT_EQ(kamcmd({"htable.sets", "acl", "policy", "allow"}).code, 0);
  ASSERT_EQ(kamcmd({"htable.seti", "acl", "limit", "7"}).code, 0);
  int status = d_.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto c = open_db();
  auto rows = c->query("SELECT key_name, key_type, value_type, key_value FROM htable ORDER BY key_name");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), 2u);
  EXPECT_EQ(rows->rows[0], (db::Row{db::Value::text("limit"), db::Value::integer(0), db::Value::integer(1),
                                    db::Value::text("7")}));
  EXPECT_EQ(rows->rows[1], (db::Row{db::Value::text("policy"), db::Value::integer(0), db::Value::integer(0),
                                    db::Value::text("allow")}));
  // And the next start reads what was written.
  start(config("dbtable=htable;dbmode=1;"));
  EXPECT_EQ(answer(), "420 Allowed By Table");
}

TEST_F(HtableDbTest, WithoutDbmodeNothingIsWritten) {
  row("policy", 0, "deny");
  start(config("dbtable=htable;"));
  ASSERT_EQ(kamcmd({"htable.sets", "acl", "policy", "allow"}).code, 0);
  d_.stop();
  auto rows = open_db()->query("SELECT key_value FROM htable");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->rows[0][0], db::Value::text("deny"));
}

TEST_F(HtableDbTest, ATableThatCannotBeReadRefusesTheStart) {
  // An unknown column: msrpd -c names the modparam's file:line.
  std::string bad_cfg = dir_ + "/bad.cfg";
  std::ofstream(bad_cfg) << config("dbtable=htable;cols='key_name,nope';");
  RunResult r = run_msrpd({"-c", "-f", bad_cfg});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find(bad_cfg + ":17:20: htable 'acl': table htable in sqlite://" + db_ +
                          ": sqlite: no such column: nope"),
            std::string::npos)
      << r.output;
  // A file that is not there: a warning at the check, and the start fails (Kamailio's htable
  // refuses to start too: its mod_init fails).
  db_ = dir_ + "/missing.db";
  cfg_ = dir_ + "/msrpd.cfg";
  std::ofstream(cfg_) << config("dbtable=htable;");
  r = run_msrpd({"-c", "-f", cfg_});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: " + cfg_ + ":16:20: htable: cannot open the database now"),
            std::string::npos)
      << r.output;
  r = run_msrpd({"-f", cfg_, "-E", "-l", "tcp:127.0.0.1:" + std::to_string(free_port())});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("msrpd: " + cfg_ + ":17:20: htable 'acl': cannot load from sqlite://" + db_ +
                          ": unable to open database file"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("started"), std::string::npos) << r.output;
}

// The same on PostgreSQL (the fixture's cluster, Kamailio's PostgreSQL schema): loaded at start,
// changed by RPC, reloaded after the table changed, written back by dbmode=1.
TEST_F(HtableDbTest, OnPostgresqlLoadReloadAndWriteBack) {
  Postgres& pg = Postgres::shared();
  ASSERT_TRUE(pg.ok()) << pg.error();
  std::string name = pg.create_database("htable");
  ASSERT_FALSE(name.empty()) << pg.error();
  url_ = pg.url(name);
  driver_ = "db_postgres";
  auto conn = [&] {
    auto c = db::connect(*db::parse_url(url_));
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return c ? std::move(*c) : nullptr;
  };
  ASSERT_TRUE(conn()->exec_script(
      "CREATE TABLE htable (id SERIAL PRIMARY KEY NOT NULL, key_name VARCHAR(64) DEFAULT '' NOT NULL, "
      "key_type INTEGER DEFAULT 0 NOT NULL, value_type INTEGER DEFAULT 0 NOT NULL, "
      "key_value VARCHAR(128) DEFAULT '' NOT NULL, expires INTEGER DEFAULT 0 NOT NULL);"
      "INSERT INTO htable (key_name, key_type, value_type, key_value) VALUES ('policy', 0, 0, 'deny');"));
  start(config("dbtable=htable;dbmode=1;"));
  EXPECT_EQ(answer(), "403 Denied By Table");
  ASSERT_TRUE(conn()->query("UPDATE htable SET key_value='allow' WHERE key_name='policy'"));
  EXPECT_EQ(answer(), "403 Denied By Table");
  Output o = kamcmd({"htable.reload", "acl"});
  EXPECT_EQ(o.out, "Ok. Htable reloaded.\n");
  EXPECT_EQ(answer(), "420 Allowed By Table");
  ASSERT_EQ(kamcmd({"htable.seti", "acl", "limit", "0"}).code, 0);
  EXPECT_EQ(answer(), "423 Limit Zero");
  d_.stop();
  auto rows = conn()->query("SELECT key_name, key_type, value_type, key_value FROM htable ORDER BY key_name");
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->rows.size(), 2u);
  EXPECT_EQ(rows->rows[0], (db::Row{db::Value::text("limit"), db::Value::integer(0), db::Value::integer(1),
                                    db::Value::text("0")}));
  EXPECT_EQ(rows->rows[1], (db::Row{db::Value::text("policy"), db::Value::integer(0), db::Value::integer(0),
                                    db::Value::text("allow")}));
  EXPECT_EQ(d_.log().find(Postgres::role_password()), std::string::npos);  // never logged
}

// kamcmd's htable.dump as sorted "name=value" lines (its slots differ between the two servers).
std::vector<std::string> dumped(const std::string& out) {
  std::vector<std::string> items;
  std::istringstream in(out);
  std::string line, name;
  while (std::getline(in, line)) {
    size_t p = line.find_first_not_of('\t');
    if (p == std::string::npos) continue;
    std::string_view l = std::string_view(line).substr(p);
    if (l.starts_with("name: ")) name = std::string(l.substr(6));
    if (l.starts_with("value: ")) items.push_back(name + "=" + std::string(l.substr(7)));
  }
  std::sort(items.begin(), items.end());
  return items;
}

// Kamailio 5.6 (Debian's, with kamailio-sqlite-modules) on the same file: the same items, and the
// same rows written back by dbmode=1.
TEST_F(HtableDbTest, KamailioLoadsAndWritesTheSameFileTheSameWay) {
  const char* kamailio = "/usr/sbin/kamailio";
  if (::access(kamailio, X_OK) != 0 ||
      ::access("/usr/lib/x86_64-linux-gnu/kamailio/modules/db_sqlite.so", R_OK) != 0)
    GTEST_SKIP() << "kamailio or its sqlite modules are not installed (scripts/test installs them)";
  row("policy", 0, "deny");
  row("n", 1, "5");
  {
    auto c = open_db();
    ASSERT_TRUE(
        c->exec_script("INSERT INTO htable (key_name, key_type, value_type, key_value) VALUES "
                       "('route', 1, 0, 'a'), ('route', 1, 0, 'b');"));
  }
  auto copy = [&](const std::string& to) { std::filesystem::copy_file(db_, to); };
  std::string kdb = dir_ + "/kamailio.db";
  copy(kdb);
  std::string ksock = dir_ + "/k.sock";
  // Kamailio's db_sqlite takes the path after "sqlite://" less one slash: four for an absolute one.
  std::string kcfg = dir_ + "/kamailio.cfg";
  std::ofstream(kcfg)
      << "#!KAMAILIO\ndebug=1\nchildren=1\nlog_stderror=yes\nlisten=tcp:127.0.0.1:" +
             std::to_string(free_port()) +
             "\nmpath=\"/usr/lib/x86_64-linux-gnu/kamailio/modules/\"\n"
             "loadmodule \"sl.so\"\nloadmodule \"pv.so\"\nloadmodule \"db_sqlite.so\"\n"
             "loadmodule \"htable.so\"\nloadmodule \"ctl.so\"\n"
             "modparam(\"ctl\", \"binrpc\", \"unix:" +
             ksock + "\")\nmodparam(\"htable\", \"db_url\", \"sqlite:///" + kdb +
             "\")\nmodparam(\"htable\", \"htable\", \"acl=>size=4;dbtable=htable;dbmode=1;\")\n"
             "request_route {\n  sl_send_reply(\"404\", \"No\");\n}\n";
  pid_t k = ::fork();
  if (k == 0) {
    int fd = ::open((dir_ + "/kamailio.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(kamailio, kamailio, "-f", kcfg.c_str(), "-DD", "-E", "-w", dir_.c_str(), nullptr);
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  struct stat st {};
  while (::stat(ksock.c_str(), &st) != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(::stat(ksock.c_str(), &st), 0) << read_file(dir_ + "/kamailio.log");
  Output kd = run({kKamcmd, "-s", "unix:" + ksock, "htable.dump", "acl"});
  ASSERT_EQ(run({kKamcmd, "-s", "unix:" + ksock, "htable.sets", "acl", "x", "new"}).code, 0);
  ::kill(k, SIGTERM);
  int status = 0;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (::waitpid(k, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(k, SIGKILL);
      ::waitpid(k, &status, 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  start(config("dbtable=htable;dbmode=1;"));
  Output md = kamcmd({"htable.dump", "acl"});
  EXPECT_EQ(dumped(md.out), dumped(kd.out)) << md.out << kd.out;
  EXPECT_EQ(dumped(md.out),
            (std::vector<std::string>{"n=5", "policy=deny", "route::size=2", "route[0]=a", "route[1]=b"}));
  ASSERT_EQ(kamcmd({"htable.sets", "acl", "x", "new"}).code, 0);
  d_.stop();
  auto rows_of = [](const std::string& file) {
    db::ConnectOptions o;
    auto c = db::connect(*db::parse_url("sqlite://" + file), o);
    std::vector<std::string> out;
    if (!c) return out;
    auto r = (*c)->query("SELECT key_name, key_type, value_type, key_value FROM htable");
    if (!r) return out;
    for (const auto& row : r->rows) {
      out.push_back(row[0].s + "|" + std::to_string(row[1].i) + "|" + std::to_string(row[2].i) + "|" +
                    row[3].s);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(rows_of(db_), rows_of(kdb));
  EXPECT_EQ(rows_of(db_), (std::vector<std::string>{"n|0|1|5", "policy|0|0|deny", "route::size|0|1|2",
                                                    "route[0]|0|0|a", "route[1]|0|0|b", "x|0|0|new"}));
}

// auth_db.cache_drop: the worker's cache keeps a row for cache_ttl (60 s here); the RPC drops it.
class CacheDropTest : public HtableDbTest {
 protected:
  std::string auth_config() const {
    return "#!KAMAILIO\n"
           "debug=2\nchildren=1\nlog_stderror=yes\nauto_aliases=no\ntcp_accept_no_cl=yes\n"
           "loadmodule \"sl.so\"\nloadmodule \"msrp.so\"\nloadmodule \"pv.so\"\nloadmodule \"xlog.so\"\n"
           "loadmodule \"auth.so\"\nloadmodule \"db_sqlite.so\"\nloadmodule \"auth_db.so\"\nloadmodule "
           "\"ctl.so\"\n"
           "modparam(\"ctl\", \"binrpc\", \"unix:" +
           sock_ + "\")\nmodparam(\"ctl\", \"http\", \"tcp:127.0.0.1:" + std::to_string(http_port_) +
           "\")\nmodparam(\"msrp\", \"cmap_size\", 8)\n"
           "modparam(\"auth_db\", \"db_url\", \"sqlite://" +
           db_ +
           "\")\nmodparam(\"auth_db\", \"use_domain\", 1)\n"
           "event_route[msrp:frame-in] {\n"
           "  if ($msrp(method) == \"AUTH\") {\n"
           "    if (!www_authorize(\"myrealm\", \"subscriber\")) {\n"
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
  int auth(const std::string& user, const std::string& password) {
    Client c = d_.connect();
    auto a = client::authenticate(c, d_.uri(), my_uri(c, "u1"), user, password);
    EXPECT_TRUE(a) << (a ? "" : a.error().message);
    return a ? a->answer.code : -1;
  }
  Output msrpctl_db(const std::string& args) {
    std::vector<std::string> argv{msrpctl_path(), "-d", "sqlite://" + db_};
    std::istringstream in(args);
    for (std::string w; in >> w;) argv.push_back(w);
    return run(argv);
  }
};

TEST_F(CacheDropTest, NewPasswordWorksAtOnceAfterTheDrop) {
  ASSERT_EQ(msrpctl_db("db init").code, 0);
  ASSERT_EQ(msrpctl_db("user add carol@myrealm c4r0l").code, 0);
  start(auth_config());
  EXPECT_EQ(auth("carol", "c4r0l"), 200);
  Output p = msrpctl_db("user passwd carol@myrealm n3w");
  ASSERT_EQ(p.code, 0) << p.out;
  // The worker still has the old row (cache_ttl 60 s).
  EXPECT_EQ(auth("carol", "n3w"), 401);
  Output o = kamcmd({"auth_db.cache_drop", "carol@myrealm"});
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_EQ(o.out, "{\n\tworkers: 1\n\tdropped: 1\n}\n");
  EXPECT_EQ(auth("carol", "n3w"), 200);
  EXPECT_EQ(auth("carol", "c4r0l"), 401);
}

TEST_F(CacheDropTest, OtherUsersAndDomainsStayCached) {
  ASSERT_EQ(msrpctl_db("db init").code, 0);
  ASSERT_EQ(msrpctl_db("user add carol@myrealm c4r0l").code, 0);
  ASSERT_EQ(msrpctl_db("user add dave@myrealm d4v3").code, 0);
  start(auth_config());
  EXPECT_EQ(auth("carol", "c4r0l"), 200);
  EXPECT_EQ(auth("dave", "d4v3"), 200);
  ASSERT_EQ(msrpctl_db("user passwd carol@myrealm n3w").code, 0);
  ASSERT_EQ(msrpctl_db("user passwd dave@myrealm n3w").code, 0);
  // Another domain's carol: nothing of this realm's dropped.
  Output o = kamcmd({"auth_db.cache_drop", "carol@otherrealm"});
  EXPECT_EQ(o.out, "{\n\tworkers: 1\n\tdropped: 0\n}\n");
  EXPECT_EQ(auth("carol", "n3w"), 401);
  // A user without a domain: that user in every domain; msrpctl's binrpc reaches it too.
  Output m = run({msrpctl_path(), "-s", "unix:" + sock_, "--json", "auth_db.cache_drop", "carol"});
  EXPECT_EQ(m.code, 0) << m.out;
  auto j = nlohmann::json::parse(m.out, nullptr, false);
  EXPECT_EQ(j["dropped"], 1) << m.out;
  EXPECT_EQ(auth("carol", "n3w"), 200);
  EXPECT_EQ(auth("dave", "n3w"), 401);  // still dave's old row
  auto r = jsonrpc("auth_db.cache_drop", {"all"});
  EXPECT_EQ(r["result"]["workers"], 1) << r.dump();
  EXPECT_EQ(auth("dave", "n3w"), 200);
  r = jsonrpc("auth_db.cache_drop", {"@myrealm"});
  EXPECT_EQ(r["error"]["message"], "Expected user@domain, user or all") << r.dump();
}

}  // namespace
}  // namespace msrpd::itest
