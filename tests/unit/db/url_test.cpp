#include <gtest/gtest.h>

#include "db/url.h"

namespace msrpd::db {
namespace {

TEST(DbUrl, SqliteAbsolutePath) {
  auto u = parse_url("sqlite:///var/lib/msrpd/msrpd.db");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->driver, Url::Driver::sqlite);
  EXPECT_EQ(u->path, "/var/lib/msrpd/msrpd.db");
  EXPECT_EQ(u->redacted(), "sqlite:///var/lib/msrpd/msrpd.db");
}

TEST(DbUrl, SqliteRelativePathIsTakenFromTheConfigDirectory) {
  auto u = parse_url("sqlite://users.db", "/etc/msrpd/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->path, "/etc/msrpd/users.db");
  EXPECT_EQ(parse_url("sqlite://users.db", "/etc/msrpd")->path, "/etc/msrpd/users.db");
  EXPECT_EQ(parse_url("sqlite://users.db")->path, "users.db");
}

TEST(DbUrl, SqliteWithoutAFileIsRefused) {
  auto u = parse_url("sqlite://");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().message, "db_url: sqlite:// needs a file: sqlite:///path/to/file.db");
}

TEST(DbUrl, PostgresWithEveryPart) {
  auto u = parse_url("postgres://msrpd:s3cr@t@db.example.com:5433/kamailio");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->driver, Url::Driver::postgres);
  EXPECT_EQ(u->user, "msrpd");
  EXPECT_EQ(u->password, "s3cr@t");
  EXPECT_EQ(u->host, "db.example.com");
  EXPECT_EQ(u->port, 5433);
  EXPECT_EQ(u->database, "kamailio");
  EXPECT_EQ(u->redacted(), "postgres://msrpd:***@db.example.com:5433/kamailio");
}

TEST(DbUrl, PostgresIpv6HostWithoutUserOrPort) {
  auto u = parse_url("postgresql://[::1]/msrpd");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 0);
  EXPECT_TRUE(u->user.empty());
  EXPECT_EQ(u->redacted(), "postgres://[::1]/msrpd");
}

TEST(DbUrl, MalformedUrlsSayWhatIsWrong) {
  EXPECT_EQ(
      parse_url("/var/lib/msrpd.db").error().message,
      "db_url: expected scheme://..., such as sqlite:///var/lib/msrpd/msrpd.db, found \"/var/lib/msrpd.db\"");
  EXPECT_EQ(parse_url("mysql://u:p@h/db").error().message,
            "db_url: unknown scheme 'mysql' (msrpd has sqlite:// and postgres://)");
  EXPECT_EQ(parse_url("postgres://h").error().message,
            "db_url: postgres:// needs a database name: postgres://user:pass@host:port/dbname");
  EXPECT_EQ(parse_url("postgres://h:99999/db").error().message, "db_url: port '99999' is not 1..65535");
  EXPECT_EQ(parse_url("postgres://h:/db").error().message, "db_url: an empty port");
  EXPECT_EQ(parse_url("postgres://:pw@h/db").error().message, "db_url: an empty user name before '@'");
  EXPECT_EQ(parse_url("postgres://[::1/db").error().message, "db_url: an IPv6 host without ']'");
  EXPECT_EQ(parse_url("postgres://u@/db").error().message, "db_url: postgres:// needs a host");
}

}  // namespace
}  // namespace msrpd::db
