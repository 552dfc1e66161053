#pragma once
// htable's tables in a database, as Kamailio's htable module keeps them (issue 13 item 5):
// modparam("htable", "db_url", URL) and, per table, dbtable= (loaded at start and by
// htable.reload), dbmode=1 (written back when msrpd stops) and cols= (other columns than the
// default schema). Through db::Connection only, so any driver msrpd has serves.
//
// The default schema is Kamailio's htable table: key_name, key_type (0 a key, 1 an array item:
// the rows of one name become name[0], name[1]... and name::size), value_type (0 a string,
// 1 an integer), key_value, and expires (an absolute Unix time, read and written only with
// db_expires=1 on a table with autoexpire). With cols='k,v1,v2' the first column is the key and
// the others are joined with coldelim (',') into a string value; such a table is never written.
//
//   auto items = script::read_htable(conn, def, cfg.htable_db, time(nullptr));
//   if (items) table.replace(std::move(*items), time(nullptr));

#include <ctime>
#include <string>
#include <vector>

#include "common/result.h"
#include "db/db.h"
#include "script/config.h"
#include "script/htable.h"

namespace msrpd::script {

// Kamailio's htable table (kamdbctl's, for SQLite and PostgreSQL alike): for tests and msrpctl.
extern const char* const kHtableSchema;

// The SELECT that reads `def`'s table, ordered by the key column (so an array's rows follow
// each other, as Kamailio numbers them).
std::string htable_select_sql(const HtableDef& def, const Config::HtableDb& db);

// That SELECT's rows as items. A row that cannot be stored (a NULL key or value, a key_type or
// value_type that is not 0/1, a value_type 1 value that is not an integer) is an error naming
// the row: the whole load fails and the table keeps what it had (Kamailio refuses such a table
// too). Rows whose expires has passed are skipped; an item's expires is the row's (absolute) or
// 0 (autoexpire from when it is stored).
Result<std::vector<HTable::Item>> htable_items(const HtableDef& def, const Config::HtableDb& db,
                                               const db::Rows& rows, time_t now);

// Reads the table: the SELECT, then htable_items.
Result<std::vector<HTable::Item>> read_htable(db::Connection& c, const HtableDef& def,
                                              const Config::HtableDb& db, time_t now);

// dbmode=1: the table's rows become `items` (a dump: not expired), in one transaction: every
// row deleted, one row per item inserted (key_type 0; arrays were flattened when loaded, as
// Kamailio writes them). Returns the rows written. A table with cols is not written (an error).
Result<size_t> write_htable(db::Connection& c, const HtableDef& def, const Config::HtableDb& db,
                            const std::vector<HTable::Item>& items);

}  // namespace msrpd::script
