#pragma once
// The database interface under auth_db (and, later, sqlops and htable's dbtable): a connection
// from a db_url, statements with `?` parameters bound by position (never SQL built from values),
// rows of typed values, errors as Result. A Connection is used by one thread at a time; the
// workers never call it themselves: they go through a db::Pool (db/pool.h), whose threads own
// the connections, so a query never stalls an event loop.
//
//   auto c = db::connect(*db::parse_url("sqlite:///var/lib/msrpd/msrpd.db"));
//   auto rows = (*c)->query("SELECT ha1 FROM subscriber WHERE username=?", {db::Value::text("alice")});

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "db/url.h"

namespace msrpd::db {

// One value of a row or a parameter. SQLite's REAL and BLOB come back as text.
struct Value {
  enum class Kind : uint8_t { null, integer, text };
  Kind kind = Kind::null;
  int64_t i = 0;
  std::string s;

  static Value null_value() { return {}; }
  static Value integer(int64_t v) { return {Kind::integer, v, {}}; }
  static Value text(std::string_view v) { return {Kind::text, 0, std::string(v)}; }
  bool is_null() const { return kind == Kind::null; }
  bool operator==(const Value&) const = default;
};

using Row = std::vector<Value>;

struct Rows {
  std::vector<std::string> columns;  // the result's column names
  std::vector<Row> rows;
  int64_t changes = 0;  // rows inserted, updated or deleted by the statement
};

class Connection {
 public:
  virtual ~Connection() = default;
  // One statement, its `?` parameters bound in order.
  virtual Result<Rows> query(std::string_view sql, std::span<const Value> params) = 0;
  Result<Rows> query(std::string_view sql, std::initializer_list<Value> params = {}) {
    return query(sql, std::span<const Value>(params.begin(), params.size()));
  }
  // Several statements without parameters (a schema), in one transaction.
  virtual Result<void> exec_script(std::string_view sql) = 0;
  // Which SQL dialect this connection speaks (a schema differs: SERIAL, ON CONFLICT).
  virtual Url::Driver driver() const = 0;
  // True once the connection is unusable (the server went away, a query passed its time limit):
  // its owner drops it and connects again.
  virtual bool broken() const { return false; }
};

struct ConnectOptions {
  bool create = false;         // sqlite: make the file when missing (msrpctl db init)
  bool read_only = false;      // open read-only (the relay only reads credentials); postgres:
                               // default_transaction_read_only
  int busy_timeout_ms = 2000;  // sqlite: how long a statement waits for a writer's lock
  // postgres: how long connecting may take (TCP, TLS, authentication), in milliseconds.
  int connect_timeout_ms = 3000;
  // postgres: the server cancels a statement after this long (statement_timeout); the client
  // gives up waiting for an answer 500 ms later and drops the connection (a server that went
  // silent). 0: no limit.
  int query_timeout_ms = 2000;
};

// Opens a connection: sqlite:// (db_sqlite, libsqlite3) or postgres:// (db_postgres, libpq).
Result<std::unique_ptr<Connection>> connect(const Url& url, const ConnectOptions& options = {});

// Whether `name` may be written into SQL as a table or column name: [A-Za-z_][A-Za-z0-9_]*, at
// most 64 characters. Names come from the config (checked at load), never from a message.
bool is_identifier(std::string_view name);

}  // namespace msrpd::db
