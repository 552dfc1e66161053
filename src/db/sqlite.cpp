// db_sqlite: the Connection over libsqlite3. Statements are prepared once per SQL text and kept
// (a connection serves the same few queries again and again).

#include <sqlite3.h>

#include <map>

#include "db/db.h"
#include "db/drivers.h"

namespace msrpd::db {

namespace {

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    for (auto& [sql, st] : statements_) sqlite3_finalize(st);
    sqlite3_close(db_);
  }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    sqlite3_stmt* st = prepared(sql);
    if (!st) return failed("prepare");
    struct Reset {
      sqlite3_stmt* st;
      ~Reset() {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
      }
    } reset{st};
    if (static_cast<size_t>(sqlite3_bind_parameter_count(st)) != params.size()) {
      return make_error(0, "sqlite: the statement has " + std::to_string(sqlite3_bind_parameter_count(st)) +
                               " parameters, " + std::to_string(params.size()) + " given");
    }
    for (size_t k = 0; k < params.size(); ++k) {
      int idx = static_cast<int>(k) + 1, rc = SQLITE_OK;
      const Value& v = params[k];
      switch (v.kind) {
        case Value::Kind::null:
          rc = sqlite3_bind_null(st, idx);
          break;
        case Value::Kind::integer:
          rc = sqlite3_bind_int64(st, idx, v.i);
          break;
        case Value::Kind::text:
          rc = sqlite3_bind_text(st, idx, v.s.data(), static_cast<int>(v.s.size()), SQLITE_TRANSIENT);
          break;
      }
      if (rc != SQLITE_OK) return failed("bind");
    }
    Rows out;
    int ncol = sqlite3_column_count(st);
    for (int c = 0; c < ncol; ++c) out.columns.emplace_back(sqlite3_column_name(st, c));
    for (;;) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return failed("step");
      Row& row = out.rows.emplace_back(static_cast<size_t>(ncol));
      for (int c = 0; c < ncol; ++c) {
        switch (sqlite3_column_type(st, c)) {
          case SQLITE_NULL:
            break;
          case SQLITE_INTEGER:
            row[static_cast<size_t>(c)] = Value::integer(sqlite3_column_int64(st, c));
            break;
          default: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
            int n = sqlite3_column_bytes(st, c);
            row[static_cast<size_t>(c)] =
                Value::text(std::string_view(p ? p : "", p ? static_cast<size_t>(n) : 0));
          }
        }
      }
    }
    out.changes = sqlite3_changes64(db_);
    return out;
  }

  Url::Driver driver() const override { return Url::Driver::sqlite; }

  Result<void> exec_script(std::string_view sql) override {
    std::string all = "BEGIN;\n" + std::string(sql) + "\nCOMMIT;";
    char* msg = nullptr;
    if (sqlite3_exec(db_, all.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : sqlite3_errmsg(db_);
      sqlite3_free(msg);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return make_error(0, "sqlite: " + m);
    }
    return {};
  }

 private:
  sqlite3_stmt* prepared(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr) != SQLITE_OK)
      return nullptr;
    // A connection runs the few statements of its users: keep at most a few dozen.
    if (statements_.size() >= 64) {
      for (auto& [s, old] : statements_) sqlite3_finalize(old);
      statements_.clear();
    }
    statements_.emplace(std::string(sql), st);
    return st;
  }
  Error failed(const char* step) const {
    return make_error(0, std::string("sqlite: ") + sqlite3_errmsg(db_));
  }

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

}  // namespace

Result<std::unique_ptr<Connection>> connect_sqlite(const Url& url, const ConnectOptions& options) {
  int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (options.create && !options.read_only) flags |= SQLITE_OPEN_CREATE;
  // Each pool thread has its own connection: no shared cache, no mutex inside SQLite needed.
  flags |= SQLITE_OPEN_NOMUTEX;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(url.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return make_error(0, url.redacted() + ": " + m);
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Connection>(std::make_unique<SqliteConnection>(db));
}

}  // namespace msrpd::db
