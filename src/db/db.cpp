#include "db/db.h"

#include "db/drivers.h"

namespace msrpd::db {

Result<std::unique_ptr<Connection>> connect(const Url& url, const ConnectOptions& options) {
  switch (url.driver) {
    case Url::Driver::sqlite:
      return connect_sqlite(url, options);
    case Url::Driver::postgres:
      return connect_postgres(url, options);
  }
  return make_error(0, url.redacted() + ": no driver");
}

bool is_identifier(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t k = 0; k < name.size(); ++k) {
    char c = name[k];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(k > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace msrpd::db
