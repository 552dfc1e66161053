// htable's tables in a database (issue 13 item 5): rows to items (Kamailio's default schema,
// arrays, value types, expires, the custom cols form), the write-back of dbmode=1, and the
// Script's load / reload / save / mod-init over a real SQLite file.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "db/db.h"
#include "script/htable.h"
#include "script/htable_db.h"
#include "script/script.h"

namespace msrpd::script {
namespace {

// Items as "key=value" (strings) / "key=#value" (integers), sorted, for exact comparisons.
std::vector<std::string> shown(const std::vector<HTable::Item>& items) {
  std::vector<std::string> out;
  for (const auto& it : items)
    out.push_back(it.key + "=" +
                  (it.value.is_int() ? "#" + std::to_string(it.value.i) : std::string(it.value.str())));
  std::sort(out.begin(), out.end());
  return out;
}

class HtableDb : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/msrpd-htdb-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/ht.db";
    db::ConnectOptions o;
    o.create = true;
    auto c = db::connect(*db::parse_url("sqlite://" + path_), o);
    ASSERT_TRUE(c) << c.error().message;
    conn_ = std::move(*c);
    ASSERT_TRUE(conn_->exec_script(kHtableSchema));
    def_.name = "t";
    def_.dbtable = "htable";
  }
  void TearDown() override {
    conn_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void row(const std::string& k, int ktype, int vtype, const std::string& v, int64_t expires = 0) {
    auto r = conn_->query(
        "INSERT INTO htable (key_name, key_type, value_type, key_value, expires) VALUES (?, ?, ?, ?, ?)",
        {db::Value::text(k), db::Value::integer(ktype), db::Value::integer(vtype), db::Value::text(v),
         db::Value::integer(expires)});
    ASSERT_TRUE(r) << r.error().message;
  }
  Result<std::vector<HTable::Item>> read(time_t now = 1000) { return read_htable(*conn_, def_, cfg_, now); }

  std::string dir_, path_;
  std::unique_ptr<db::Connection> conn_;
  HtableDef def_;
  Config::HtableDb cfg_;
};

TEST_F(HtableDb, DefaultSchemaRowsBecomeStringAndIntegerItems) {
  row("alice", 0, 0, "allow");
  row("limit", 0, 1, "42");
  row("neg", 0, 1, "-7");
  auto items = read();
  ASSERT_TRUE(items) << items.error().message;
  EXPECT_EQ(shown(*items), (std::vector<std::string>{"alice=allow", "limit=#42", "neg=#-7"}));
}

TEST_F(HtableDb, ArrayRowsBecomeIndexedKeysAndASize) {
  row("route", 1, 0, "a");
  row("route", 1, 0, "b");
  row("route", 1, 0, "c");
  row("x", 0, 0, "y");
  auto items = read();
  ASSERT_TRUE(items) << items.error().message;
  EXPECT_EQ(shown(*items),
            (std::vector<std::string>{"route::size=#3", "route[0]=a", "route[1]=b", "route[2]=c", "x=y"}));
  cfg_.array_size_suffix = "-count";
  items = read();
  ASSERT_TRUE(items);
  EXPECT_EQ(shown(*items).front(), "route-count=#3");
}

TEST_F(HtableDb, ExpiresIsReadOnlyWithDbExpiresOnAnAutoexpireTable) {
  row("old", 0, 0, "gone", 900);
  row("fresh", 0, 0, "kept", 2000);
  row("never", 0, 0, "kept", 0);
  // Without db_expires (Kamailio's default) the column is not even selected.
  EXPECT_EQ(htable_select_sql(def_, cfg_),
            "SELECT key_name, key_type, value_type, key_value FROM htable ORDER BY key_name");
  auto items = read();
  ASSERT_TRUE(items);
  EXPECT_EQ(items->size(), 3u);
  cfg_.db_expires = true;
  def_.autoexpire = 60;
  EXPECT_EQ(htable_select_sql(def_, cfg_),
            "SELECT key_name, key_type, value_type, key_value, expires FROM htable ORDER BY key_name");
  items = read(1000);
  ASSERT_TRUE(items);
  EXPECT_EQ(shown(*items), (std::vector<std::string>{"fresh=kept", "never=kept"}));
  for (const auto& it : *items) EXPECT_EQ(it.expires, it.key == "fresh" ? 2000 : 0) << it.key;
}

TEST_F(HtableDb, UnusableRowsFailTheWholeLoadNamingTheRow) {
  row("a", 0, 1, "12x");
  auto items = read();
  ASSERT_FALSE(items);
  EXPECT_EQ(items.error().message, "table htable, row 1: key_value '12x' is not an integer (value_type 1)");
  ASSERT_TRUE(conn_->query("DELETE FROM htable"));
  row("a", 0, 7, "x");
  items = read();
  ASSERT_FALSE(items);
  EXPECT_EQ(items.error().message, "table htable, row 1: value_type is not 0 or 1");
  ASSERT_TRUE(
      conn_->exec_script("DROP TABLE htable; CREATE TABLE htable (key_name TEXT, key_type INTEGER, "
                         "value_type INTEGER, key_value TEXT, expires INTEGER);"));
  ASSERT_TRUE(conn_->query("INSERT INTO htable VALUES (NULL, 0, 0, 'v', 0)"));
  items = read();
  ASSERT_FALSE(items);
  EXPECT_EQ(items.error().message, "table htable, row 1: the key (key_name) is NULL");
}

TEST_F(HtableDb, CustomColsPackTheValueColumns) {
  ASSERT_TRUE(
      conn_->exec_script("CREATE TABLE routes (dst TEXT, host TEXT, port INTEGER, note TEXT);"
                         "INSERT INTO routes VALUES ('bob', '10.0.0.2', 2855, NULL);"
                         "INSERT INTO routes VALUES ('carol', 'relay.example', 2856, 'backup');"));
  def_.dbtable = "routes";
  def_.cols = {"dst", "host", "port", "note"};
  EXPECT_EQ(htable_select_sql(def_, cfg_), "SELECT dst, host, port, note FROM routes ORDER BY dst");
  auto items = read();
  ASSERT_TRUE(items) << items.error().message;
  EXPECT_EQ(shown(*items),
            (std::vector<std::string>{"bob=10.0.0.2,2855,", "carol=relay.example,2856,backup"}));
  def_.coldelim = '|';
  def_.colnull = "-";
  items = read();
  ASSERT_TRUE(items);
  EXPECT_EQ(shown(*items),
            (std::vector<std::string>{"bob=10.0.0.2|2855|-", "carol=relay.example|2856|backup"}));
  // Never written back (Kamailio disables it for cols).
  EXPECT_FALSE(write_htable(*conn_, def_, cfg_, *items));
}

TEST_F(HtableDb, WriteBackReplacesTheRowsAndReadsBackTheSame) {
  row("stale", 0, 0, "old");
  std::vector<HTable::Item> items;
  items.push_back({"alice", Val::of_string("allow"), 0});
  items.push_back({"hits", Val::of_int(5), 0});
  auto w = write_htable(*conn_, def_, cfg_, items);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(*w, 2u);
  auto rows = conn_->query("SELECT key_name, key_type, value_type, key_value FROM htable ORDER BY key_name");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), 2u);
  EXPECT_EQ(rows->rows[0], (db::Row{db::Value::text("alice"), db::Value::integer(0), db::Value::integer(0),
                                    db::Value::text("allow")}));
  EXPECT_EQ(rows->rows[1], (db::Row{db::Value::text("hits"), db::Value::integer(0), db::Value::integer(1),
                                    db::Value::text("5")}));
  auto back = read();
  ASSERT_TRUE(back);
  EXPECT_EQ(shown(*back), (std::vector<std::string>{"alice=allow", "hits=#5"}));
}

TEST_F(HtableDb, WriteBackKeepsTheOldRowsWhenAnInsertFails) {
  row("keep", 0, 0, "me");
  def_.dbtable = "htable";
  Config::HtableDb bad = cfg_;
  bad.key_value_column = "no_such_column";
  std::vector<HTable::Item> items{{"x", Val::of_string("y"), 0}};
  EXPECT_FALSE(write_htable(*conn_, def_, bad, items));
  auto back = read();
  ASSERT_TRUE(back);
  EXPECT_EQ(shown(*back), (std::vector<std::string>{"keep=me"}));
}

TEST(HtableReplace, SwapsTheWholeContentAndGivesAutoexpire) {
  HtableDef def;
  def.name = "t";
  def.autoexpire = 30;
  HTable t(def);
  t.set("old", Val::of_string("x"), 100);
  std::vector<HTable::Item> items{{"a", Val::of_int(1), 0}, {"b", Val::of_string("two"), 500}};
  EXPECT_EQ(t.replace(std::move(items), 100), 2u);
  EXPECT_TRUE(t.get("old", 100).is_null());
  EXPECT_EQ(t.get("a", 100).i, 1);
  EXPECT_EQ(t.expire_in("a", 100), 30);   // autoexpire from the swap
  EXPECT_EQ(t.expire_in("b", 100), 400);  // the row's own time
}

// The Script's side: a config naming the file, load at start, reload, save, mod-init.
class HtableScript : public HtableDb {
 protected:
  Script load(const std::string& attrs, const std::string& extra = "") {
    std::string cfg =
        "loadmodule \"pv.so\"\nloadmodule \"xlog.so\"\nloadmodule \"htable.so\"\n"
        "loadmodule \"db_sqlite.so\"\n"
        "modparam(\"htable\", \"db_url\", \"sqlite://" +
        path_ + "\")\nmodparam(\"htable\", \"htable\", \"t=>size=4;" + attrs + "\")\n" + extra;
    return load_text(cfg, "t.cfg");
  }
};

TEST_F(HtableScript, LoadAtStartThenReloadSeesTheChangedFile) {
  row("alice", 0, 0, "allow");
  Script s = load("dbtable=htable;");
  auto n = s.load_htables();
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(s.htable("t")->get("alice", std::time(nullptr)).str(), "allow");
  ASSERT_TRUE(conn_->query("UPDATE htable SET key_value='deny' WHERE key_name='alice'"));
  row("bob", 0, 1, "3");
  n = s.reload_htable("t");
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(s.htable("t")->get("alice", std::time(nullptr)).str(), "deny");
  EXPECT_EQ(s.htable("t")->get("bob", std::time(nullptr)).i, 3);
  EXPECT_EQ(s.reload_htable("nope").error().message, "No such htable");
}

TEST_F(HtableScript, ATableThatCannotBeReadRefusesTheStartNamingTheLine) {
  Script s = load("dbtable=htable;");
  ASSERT_TRUE(conn_->exec_script("DROP TABLE htable;"));
  auto n = s.load_htables();
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message,
            "t.cfg:6:20: htable 't': cannot load from sqlite://" + path_ + ": sqlite: no such table: htable");
}

TEST_F(HtableScript, UnknownColumnIsALoadErrorWithFileLine) {
  try {
    load("dbtable=htable;cols='key_name,nope';");
    FAIL() << "loaded";
  } catch (const LoadError& e) {
    EXPECT_EQ(std::string(e.what()),
              "t.cfg:6:20: htable 't': table htable in sqlite://" + path_ + ": sqlite: no such column: nope");
  }
}

TEST_F(HtableScript, DbmodeOneWritesBackOnSave) {
  Script s = load("dbtable=htable;dbmode=1;");
  ASSERT_TRUE(s.load_htables());
  s.htable("t")->set("k", Val::of_string("v"), std::time(nullptr));
  EXPECT_TRUE(s.save_htables().empty());
  auto back = read();
  ASSERT_TRUE(back);
  EXPECT_EQ(shown(*back), (std::vector<std::string>{"k=v"}));
}

TEST_F(HtableScript, ModInitRunsWithNoMessageAndSetsItems) {
  Script s =
      load("", "event_route[htable:mod-init] {\n  $sht(t=>ready) = 1;\n  $sht(t=>who) = \"init\";\n}\n");
  ASSERT_TRUE(s.has_htable_mod_init());
  WorkerEnv env(s, 0);
  s.run_htable_mod_init(env);
  EXPECT_EQ(s.htable("t")->get("ready", std::time(nullptr)).i, 1);
  EXPECT_EQ(s.htable("t")->get("who", std::time(nullptr)).str(), "init");
  EXPECT_TRUE(s.warnings().empty()) << s.warnings().front();
}

}  // namespace
}  // namespace msrpd::script
