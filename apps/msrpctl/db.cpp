// msrpctl db init | user add|passwd|rm|list|show: the subscriber database, opened directly (not
// through msrpd), as kamctl does it. The work is in src/db/subscriber.cpp.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "db/db.h"
#include "db/subscriber.h"
#include "db_command.h"

namespace msrpctl {

namespace {

int fail(const std::string& m) {
  std::fprintf(stderr, "msrpctl: %s\n", m.c_str());
  return 1;
}

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

const char* const kDbUsage =
    "       msrpctl [-d DB_URL] db init\n"
    "       msrpctl [-d DB_URL] user add USER[@DOMAIN] PASSWORD [--store-plain]\n"
    "       msrpctl [-d DB_URL] user passwd USER[@DOMAIN] PASSWORD [--store-plain]\n"
    "       msrpctl [-d DB_URL] user rm USER[@DOMAIN]\n"
    "       msrpctl [-d DB_URL] user list\n"
    "       msrpctl [-d DB_URL] user show USER[@DOMAIN]\n"
    "  -d DB_URL    the subscriber database: sqlite:///path/file.db or "
    "postgres://user:pass@host[:port]/dbname\n"
    "               (default $MSRPD_DB_URL, else sqlite:///var/lib/msrpd/msrpd.db);\n"
    "               USER without @DOMAIN takes $MSRPD_DOMAIN; the Digest realm is the domain\n";

bool is_db_command(std::string_view word) {
  return word == "db" || word == "user";
}

int db_command(std::string db_url, const std::vector<std::string>& args) {
  if (db_url.empty()) db_url = env_or("MSRPD_DB_URL", "sqlite:///var/lib/msrpd/msrpd.db");
  auto url = msrpd::db::parse_url(db_url);
  if (!url) return fail(url.error().message);
  bool init = args.size() == 2 && args[0] == "db" && args[1] == "init";
  if (!init && (args.size() < 2 || args[0] != "user")) {
    std::fprintf(stderr, "Usage:\n%s", kDbUsage);
    return 2;
  }
  msrpd::db::ConnectOptions o;
  o.create = init;  // sqlite: the file; postgres: the database must exist (createdb), the tables are made
  // An administrator's command may wait longer than a relay's lookup, but not forever.
  o.query_timeout_ms = 10000;
  auto conn = msrpd::db::connect(*url, o);
  if (!conn) return fail(conn.error().message);
  msrpd::db::Connection& c = **conn;
  if (init) {
    auto r = msrpd::db::init_schema(c);
    if (!r) return fail(r.error().message);
    std::printf("subscriber table ready in %s\n", url->redacted().c_str());
    return 0;
  }
  const std::string& verb = args[1];
  std::vector<std::string> rest(args.begin() + 2, args.end());
  bool store_plain = false;
  std::erase_if(rest,
                [&](const std::string& a) { return a == "--store-plain" ? (store_plain = true) : false; });
  if (verb == "list" && rest.empty()) {
    auto all = msrpd::db::list_subscribers(c);
    if (!all) return fail(all.error().message);
    for (const auto& s : *all) std::printf("%s@%s\n", s.username.c_str(), s.domain.c_str());
    return 0;
  }
  size_t want = verb == "add" || verb == "passwd" ? 2 : verb == "rm" || verb == "show" ? 1 : 0;
  if (want == 0 || rest.size() != want) {
    std::fprintf(stderr, "Usage:\n%s", kDbUsage);
    return 2;
  }
  auto account = msrpd::db::parse_account(rest[0], env_or("MSRPD_DOMAIN", ""));
  if (!account) return fail(account.error().message);
  msrpd::Result<void> done;
  if (verb == "add") {
    done = msrpd::db::add_subscriber(c, *account, rest[1], store_plain);
  } else if (verb == "passwd") {
    done = msrpd::db::set_password(c, *account, rest[1], store_plain);
  } else if (verb == "rm") {
    done = msrpd::db::remove_subscriber(c, *account);
  } else {
    auto s = msrpd::db::find_subscriber(c, *account);
    if (!s) return fail(s.error().message);
    std::printf("id: %lld\nusername: %s\ndomain: %s\npassword: %s\nha1: %s\nha1b: %s\n",
                static_cast<long long>(s->id), s->username.c_str(), s->domain.c_str(),
                s->password.empty() ? "(not stored)" : s->password.c_str(), s->ha1.c_str(), s->ha1b.c_str());
    return 0;
  }
  if (!done) return fail(done.error().message);
  return 0;
}

}  // namespace msrpctl
