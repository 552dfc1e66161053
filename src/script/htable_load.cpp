// The htable module's tables from their definitions to the database and back: the modparam
// ("name=>size=..;dbtable=..;dbmode=..;cols=.."), the load-time checks, the load at start
// (Script::load_htables), htable.reload (Script::reload_htable), the write-back at stop
// (Script::save_htables) and event_route[htable:mod-init] (Script::run_htable_mod_init).
//
// Kamailio refuses to start when a table cannot be loaded (its htable mod_init fails), and so
// does msrpd: load_htables' error ends the start, naming the modparam's file:line.

#include <algorithm>

#include "script/external.h"
#include "script/htable_db.h"
#include "script/internal.h"

namespace msrpd::script {

namespace {

std::string unquote(std::string_view v) {
  if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front())
    v = v.substr(1, v.size() - 2);
  return std::string(v);
}

std::vector<std::string> split_cols(std::string_view v) {
  std::vector<std::string> out;
  while (true) {
    size_t c = v.find(',');
    std::string_view item = v.substr(0, c);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    out.emplace_back(item);
    if (c == std::string_view::npos) break;
    v.remove_prefix(c + 1);
  }
  return out;
}

// db::connect's errors start with the URL: the messages here name it once. db_postgres's
// timeout bounds the connect and each statement (so a reload's wait, on the control thread).
Result<std::unique_ptr<db::Connection>> open(const db::Url& url, const Config& cfg, bool write) {
  db::ConnectOptions o;
  o.read_only = !write;
  o.connect_timeout_ms = cfg.db_postgres.timeout * 1000;
  o.query_timeout_ms = cfg.db_postgres.timeout * 1000;
  auto c = db::connect(url, o);
  if (c) return c;
  std::string m = c.error().message, prefix = url.redacted() + ": ";
  if (m.starts_with(prefix)) m.erase(0, prefix.size());
  return make_error(0, m);
}

}  // namespace

void define_htable(LoadState& ls, const std::string& spec, Loc loc) {
  size_t sep = spec.find("=>");
  if (sep == std::string::npos || sep == 0)
    ls.src->fail(loc, "expected \"name=>size=N;autoexpire=S;\" for modparam htable, found \"" + spec + "\"");
  HtableDef def;
  def.name = spec.substr(0, sep);
  def.where = ls.src->where(loc);
  std::string_view rest = std::string_view(spec).substr(sep + 2);
  while (!rest.empty()) {
    size_t e = rest.find(';');
    std::string_view item = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string key(item.substr(0, eq));
    std::string val(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
    auto num = [&]() {
      auto i = parse_int(val);
      if (!i || *i < 0 || *i > INT32_MAX) {
        std::string m = "expected an integer for htable attribute '";
        m.append(key).append("', found \"").append(val).append("\"");
        ls.src->fail(loc, m);
      }
      return static_cast<int>(*i);
    };
    if (key == "size") {
      def.size = num();
      if (def.size < 1 || def.size > 16)
        ls.src->fail(loc, "htable size must be 1..16 (2^size slots), found " + val);
    } else if (key == "autoexpire") {
      def.autoexpire = num();
    } else if (key == "initval") {
      def.initval = val;
    } else if (key == "dbtable") {
      def.dbtable = unquote(val);
      // Written into SQL: a name, never text to interpret.
      if (!def.dbtable.empty() && !db::is_identifier(def.dbtable))
        ls.src->fail(loc,
                     "htable dbtable must be a table name ([A-Za-z_][A-Za-z0-9_]*), found \"" + val + "\"");
    } else if (key == "dbmode") {
      def.dbmode = num();
      if (def.dbmode > 1) ls.src->fail(loc, "htable dbmode must be 0 or 1, found " + val);
    } else if (key == "cols") {
      def.cols = split_cols(unquote(val));
      if (def.cols.size() < 2)
        ls.src->fail(loc,
                     "htable cols needs the key column and at least one value column, found \"" + val + "\"");
      for (const auto& c : def.cols) {
        if (!db::is_identifier(c))
          ls.src->fail(loc,
                       "htable cols: expected column names ([A-Za-z_][A-Za-z0-9_]*), found \"" + c + "\"");
      }
    } else if (key == "coldelim") {
      std::string d = unquote(val);
      if (d.size() != 1) ls.src->fail(loc, "htable coldelim must be one character, found \"" + val + "\"");
      def.coldelim = d[0];
    } else if (key == "colnull") {
      def.colnull = unquote(val);
    } else if (key == "updateexpire" || key == "dmqreplicate") {
      ls.warn(loc, "htable attribute '" + key + "' has no effect in msrpd");
    } else {
      ls.src->fail(loc, "unknown htable attribute '" + key + "' (expected size, autoexpire or initval)");
    }
  }
  if (def.dbmode == 1 && !def.cols.empty()) {
    ls.warn(loc, "htable '" + def.name + "': dbmode=1 with cols is not written back (as in Kamailio)");
    def.dbmode = 0;
  }
  if (ls.htable_index.count(def.name)) ls.src->fail(loc, "htable '" + def.name + "' is declared twice");
  ls.htable_index[def.name] = static_cast<int>(ls.data->htables.size());
  ls.data->htables.push_back(std::make_unique<HTable>(def));
  ls.data->config.htables.push_back(def);
}

void finish_htable_db(LoadState& ls) {
  ScriptData& d = *ls.data;
  bool any = std::any_of(d.htables.begin(), d.htables.end(),
                         [](const auto& t) { return !t->def().dbtable.empty(); });
  if (!any) return;
  if (!d.htable_url) {
    // Kamailio loads nothing then, and says nothing: a config of its keeps loading here.
    for (const auto& t : d.config.htables) {
      if (!t.dbtable.empty())
        d.warnings.push_back(
            t.where + ": htable '" + t.name + "': dbtable " + t.dbtable +
            " is not loaded without modparam(\"htable\", \"db_url\", \"sqlite:///path/file.db\")");
    }
    return;
  }
  const char* driver_module = d.htable_url->driver == db::Url::Driver::postgres ? "db_postgres" : "db_sqlite";
  if (!ls.has_module(driver_module)) {
    ls.src->fail(ls.htable_db_url_loc, "htable's db_url " + d.htable_url->redacted() +
                                           " needs loadmodule \"" + driver_module + ".so\"");
  }
  // As auth_db: an unknown table or column is a load error when the database is there to ask
  // (msrpd -c); one that cannot be opened now is only a warning here, and refuses the start.
  auto c = open(*d.htable_url, d.config, false);
  if (!c) {
    ls.warn(ls.htable_db_url_loc, "htable: cannot open the database now (" + c.error().message +
                                      "): msrpd does not start until it can be read");
    return;
  }
  for (const auto& t : d.htables) {
    const HtableDef& def = t->def();
    if (def.dbtable.empty()) continue;
    auto r = (*c)->query(htable_select_sql(def, d.config.htable_db) + " LIMIT 0");
    if (!r) {
      throw LoadError(def.where + ": htable '" + def.name + "': table " + def.dbtable + " in " +
                      d.htable_url->redacted() + ": " + r.error().message);
    }
  }
}

Result<size_t> Script::load_htables() const {
  const ScriptData& d = *data_;
  if (!d.htable_url) return size_t{0};
  size_t total = 0;
  std::unique_ptr<db::Connection> conn;
  for (const auto& t : d.htables) {
    const HtableDef& def = t->def();
    if (def.dbtable.empty()) continue;
    auto fail = [&](const std::string& why) {
      return make_error(0, def.where + ": htable '" + def.name + "': cannot load from " +
                               d.htable_url->redacted() + ": " + why);
    };
    if (!conn) {
      auto c = open(*d.htable_url, d.config, false);
      if (!c) return fail(c.error().message);
      conn = std::move(*c);
    }
    time_t now = std::time(nullptr);
    auto items = read_htable(*conn, def, d.config.htable_db, now);
    if (!items) return fail(items.error().message);
    total += t->replace(std::move(*items), now);
  }
  return total;
}

Result<size_t> Script::reload_htable(std::string_view name) const {
  const ScriptData& d = *data_;
  HTable* t = htable(name);
  if (!t) return make_error(0, "No such htable");
  if (!d.htable_url) return make_error(0, "No htable db_url");
  const HtableDef& def = t->def();
  const std::string failed = "Htable reload failed: ";
  if (def.dbtable.empty()) return make_error(0, failed + "htable '" + def.name + "' has no dbtable");
  auto c = open(*d.htable_url, d.config, false);
  if (!c) return make_error(0, failed + c.error().message);
  // The read happens here, on the caller's thread (the control server's), never on a worker's
  // loop; the routes see the old items until the swap.
  time_t now = std::time(nullptr);
  auto items = read_htable(**c, def, d.config.htable_db, now);
  if (!items) return make_error(0, failed + items.error().message);
  return t->replace(std::move(*items), now);
}

std::vector<std::string> Script::save_htables() const {
  const ScriptData& d = *data_;
  std::vector<std::string> errors;
  if (!d.htable_url) return errors;
  std::unique_ptr<db::Connection> conn;
  for (const auto& t : d.htables) {
    const HtableDef& def = t->def();
    if (def.dbtable.empty() || def.dbmode != 1) continue;
    std::string what = "htable '" + def.name + "': cannot write back to " + d.htable_url->redacted() + ": ";
    if (!conn) {
      auto c = open(*d.htable_url, d.config, true);
      if (!c) {
        errors.push_back(what + c.error().message);
        return errors;
      }
      conn = std::move(*c);
    }
    auto w = write_htable(*conn, def, d.config.htable_db, t->dump(std::time(nullptr)));
    if (!w) errors.push_back(what + w.error().message);
  }
  return errors;
}

bool Script::has_htable_mod_init() const {
  const auto& mods = data_->config.loaded_modules;
  return std::find(mods.begin(), mods.end(), "htable") != mods.end() &&
         data_->event_routes.count("htable:mod-init") != 0;
}

RunResult Script::run_htable_mod_init(WorkerEnv& env) const {
  // No message: the route sets $sht and $var, logs, calls sht_*; msrp_* functions answer -1.
  ExternalRun x(*this, env);
  return run_event_route("htable:mod-init", x.context(), env);
}

}  // namespace msrpd::script
