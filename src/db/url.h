#pragma once
// A database URL as Kamailio's db_url writes it:
//   sqlite:///var/lib/msrpd/msrpd.db          (an absolute path after the third slash)
//   sqlite://relative/file.db                 (relative to the config file's directory)
//   postgres://user:pass@host:port/dbname     (postgres:// and postgresql://, libpq)
// The password of a URL never appears in messages (redacted()).

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace msrpd::db {

struct Url {
  enum class Driver : uint8_t { sqlite, postgres };
  Driver driver = Driver::sqlite;
  std::string path;  // sqlite: the file
  std::string user, password, host, database;
  uint16_t port = 0;  // 0: the driver's default

  // The URL as written, with the password replaced by "***" (for logs and errors).
  std::string redacted() const;
};

// Parses a db_url. Errors name what is wrong ("db_url: unknown scheme 'mysql' ...").
// dir: where a relative sqlite path is taken from (the config file's directory); empty: as is.
Result<Url> parse_url(std::string_view text, std::string_view dir = {});

}  // namespace msrpd::db
