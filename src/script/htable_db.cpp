#include "script/htable_db.h"

#include <map>

#include "script/value.h"

namespace msrpd::script {

const char* const kHtableSchema =
    "CREATE TABLE IF NOT EXISTS htable (\n"
    "  id INTEGER PRIMARY KEY NOT NULL,\n"
    "  key_name VARCHAR(64) DEFAULT '' NOT NULL,\n"
    "  key_type INTEGER DEFAULT 0 NOT NULL,\n"
    "  value_type INTEGER DEFAULT 0 NOT NULL,\n"
    "  key_value VARCHAR(128) DEFAULT '' NOT NULL,\n"
    "  expires INTEGER DEFAULT 0 NOT NULL\n"
    ");\n";

namespace {

// Kamailio reads expires only for a table with autoexpire, and only when asked (db_expires).
bool uses_expires(const HtableDef& def, const Config::HtableDb& db) {
  return def.cols.empty() && db.db_expires && def.autoexpire > 0;
}

Error row_error(const HtableDef& def, size_t row, const std::string& what) {
  return make_error(0, "table " + def.dbtable + ", row " + std::to_string(row + 1) + ": " + what);
}

// A column as text: strings as they are, integers in decimal. Null: nullopt.
std::optional<std::string> as_text(const db::Value& v) {
  if (v.is_null()) return std::nullopt;
  if (v.kind == db::Value::Kind::integer) return std::to_string(v.i);
  return v.s;
}

// key_type and value_type: 0 or 1, an integer column or its text.
std::optional<int64_t> as_flag(const db::Value& v) {
  std::optional<int64_t> n;
  if (v.kind == db::Value::Kind::integer) {
    n = v.i;
  } else if (v.kind == db::Value::Kind::text) {
    n = parse_int(v.s);
  }
  if (n && (*n == 0 || *n == 1)) return n;
  return std::nullopt;
}

}  // namespace

std::string htable_select_sql(const HtableDef& def, const Config::HtableDb& db) {
  std::vector<std::string> cols = def.cols;
  if (cols.empty()) {
    cols = {db.key_name_column, db.key_type_column, db.value_type_column, db.key_value_column};
    if (uses_expires(def, db)) cols.push_back(db.expires_column);
  }
  std::string sql = "SELECT ";
  for (size_t k = 0; k < cols.size(); ++k) {
    if (k) sql += ", ";
    sql += cols[k];
  }
  // Names were checked at load (db::is_identifier): nothing from a message reaches this text.
  sql += " FROM " + def.dbtable + " ORDER BY " + cols[0];
  return sql;
}

Result<std::vector<HTable::Item>> htable_items(const HtableDef& def, const Config::HtableDb& db,
                                               const db::Rows& rows, time_t now) {
  std::vector<HTable::Item> out;
  out.reserve(rows.rows.size());
  bool expires = uses_expires(def, db);
  std::map<std::string, int64_t> arrays;  // name -> items so far (key_type 1)
  for (size_t r = 0; r < rows.rows.size(); ++r) {
    const db::Row& row = rows.rows[r];
    auto key = as_text(row.at(0));
    if (!key) return row_error(def, r, "the key (" + rows.columns[0] + ") is NULL");
    if (!def.cols.empty()) {
      // The custom form: the value columns, packed.
      std::string packed;
      for (size_t c = 1; c < row.size(); ++c) {
        if (c > 1) packed += def.coldelim;
        auto v = as_text(row[c]);
        packed += v ? *v : def.colnull;
      }
      out.push_back({std::move(*key), Val::of_string(std::move(packed)), 0});
      continue;
    }
    time_t at = 0;
    if (expires) {
      const db::Value& e = row.at(4);
      if (e.kind == db::Value::Kind::integer) {
        at = static_cast<time_t>(e.i);
      } else if (e.kind == db::Value::Kind::text) {
        auto n = parse_int(e.s);
        if (!n) return row_error(def, r, db.expires_column + " '" + e.s + "' is not a Unix time");
        at = static_cast<time_t>(*n);
      }
      if (at > 0 && at <= now) continue;  // expired while stored
      if (at < 0) at = 0;
    }
    auto ktype = as_flag(row.at(1));
    if (!ktype) return row_error(def, r, db.key_type_column + " is not 0 or 1");
    auto vtype = as_flag(row.at(2));
    if (!vtype) return row_error(def, r, db.value_type_column + " is not 0 or 1");
    const db::Value& kv = row.at(3);
    Val value;
    if (kv.is_null()) return row_error(def, r, db.key_value_column + " is NULL");
    if (*vtype == 1) {
      std::optional<int64_t> n =
          kv.kind == db::Value::Kind::integer ? std::optional<int64_t>(kv.i) : parse_int(kv.s);
      if (!n) {
        return row_error(
            def, r,
            db.key_value_column + " '" + kv.s + "' is not an integer (" + db.value_type_column + " 1)");
      }
      value = Val::of_int(*n);
    } else {
      value = Val::of_string(*as_text(kv));
    }
    std::string name = std::move(*key);
    if (*ktype == 1) {
      int64_t& n = arrays[name];
      name += "[" + std::to_string(n) + "]";
      ++n;
    }
    out.push_back({std::move(name), std::move(value), at});
  }
  for (const auto& [name, n] : arrays) out.push_back({name + db.array_size_suffix, Val::of_int(n), 0});
  return out;
}

Result<std::vector<HTable::Item>> read_htable(db::Connection& c, const HtableDef& def,
                                              const Config::HtableDb& db, time_t now) {
  auto rows = c.query(htable_select_sql(def, db));
  if (!rows) return rows.error();
  return htable_items(def, db, *rows, now);
}

Result<size_t> write_htable(db::Connection& c, const HtableDef& def, const Config::HtableDb& db,
                            const std::vector<HTable::Item>& items) {
  if (!def.cols.empty())
    return make_error(0,
                      "table " + def.dbtable + " has custom cols: it is not written back (as in Kamailio)");
  bool expires = uses_expires(def, db);
  std::string insert = "INSERT INTO " + def.dbtable + " (" + db.key_name_column + ", " + db.key_type_column +
                       ", " + db.value_type_column + ", " + db.key_value_column;
  insert += expires ? ", " + db.expires_column + ") VALUES (?, ?, ?, ?, ?)" : ") VALUES (?, ?, ?, ?)";
  if (auto b = c.query("BEGIN"); !b) return b.error();
  auto fail = [&c](Error e) -> Result<size_t> {
    (void)c.query("ROLLBACK");
    return e;
  };
  if (auto d = c.query("DELETE FROM " + def.dbtable); !d) return fail(d.error());
  std::vector<db::Value> params;
  for (const auto& it : items) {
    params.clear();
    params.push_back(db::Value::text(it.key));
    params.push_back(db::Value::integer(0));
    params.push_back(db::Value::integer(it.value.is_int() ? 1 : 0));
    params.push_back(
        db::Value::text(it.value.is_int() ? std::to_string(it.value.i) : std::string(it.value.str())));
    if (expires) params.push_back(db::Value::integer(static_cast<int64_t>(it.expires)));
    if (auto r = c.query(insert, params); !r) return fail(r.error());
  }
  if (auto e = c.query("COMMIT"); !e) return fail(e.error());
  return items.size();
}

}  // namespace msrpd::script
