#pragma once
// The drivers behind db::connect (db.cpp): one per Url::Driver.

#include <memory>

#include "db/db.h"

namespace msrpd::db {

Result<std::unique_ptr<Connection>> connect_sqlite(const Url& url, const ConnectOptions& options);
Result<std::unique_ptr<Connection>> connect_postgres(const Url& url, const ConnectOptions& options);

}  // namespace msrpd::db
