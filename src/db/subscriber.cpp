#include "db/subscriber.h"

#include <openssl/evp.h>

namespace msrpd::db {

const char* const kSubscriberSchema = R"(CREATE TABLE IF NOT EXISTS version (
    id INTEGER PRIMARY KEY NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    table_version INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT version_table_name_idx UNIQUE (table_name)
);
CREATE TABLE IF NOT EXISTS subscriber (
    id INTEGER PRIMARY KEY NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL,
    domain VARCHAR(64) DEFAULT '' NOT NULL,
    password VARCHAR(64) DEFAULT '' NOT NULL,
    ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    ha1b VARCHAR(128) DEFAULT '' NOT NULL,
    CONSTRAINT subscriber_account_idx UNIQUE (username, domain)
);
CREATE INDEX IF NOT EXISTS subscriber_username_idx ON subscriber (username);
INSERT OR IGNORE INTO version (table_name, table_version) VALUES ('subscriber', 7);
)";

// The same tables in PostgreSQL's words, as Kamailio's own PostgreSQL schema has them (SERIAL ids).
const char* const kSubscriberSchemaPostgres = R"(CREATE TABLE IF NOT EXISTS version (
    id SERIAL PRIMARY KEY NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    table_version INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT version_table_name_idx UNIQUE (table_name)
);
CREATE TABLE IF NOT EXISTS subscriber (
    id SERIAL PRIMARY KEY NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL,
    domain VARCHAR(64) DEFAULT '' NOT NULL,
    password VARCHAR(64) DEFAULT '' NOT NULL,
    ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    ha1b VARCHAR(128) DEFAULT '' NOT NULL,
    CONSTRAINT subscriber_account_idx UNIQUE (username, domain)
);
CREATE INDEX IF NOT EXISTS subscriber_username_idx ON subscriber (username);
INSERT INTO version (table_name, table_version) VALUES ('subscriber', 7) ON CONFLICT (table_name) DO NOTHING;
)";

Result<Account> parse_account(std::string_view text, std::string_view default_domain) {
  Account a;
  auto at = text.rfind('@');
  if (at == std::string_view::npos) {
    if (default_domain.empty())
      return make_error(0, "'" + std::string(text) + "' has no @domain (and MSRPD_DOMAIN is not set)");
    a.username.assign(text);
    a.domain.assign(default_domain);
  } else {
    a.username.assign(text.substr(0, at));
    a.domain.assign(text.substr(at + 1));
  }
  if (a.username.empty() || a.domain.empty())
    return make_error(0, "'" + std::string(text) + "': an empty user or domain");
  return a;
}

std::string md5_hex(std::string_view text) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(text.data(), text.size(), d, &n, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned k = 0; k < n; ++k) {
    out += kHex[d[k] >> 4];
    out += kHex[d[k] & 15];
  }
  return out;
}

std::string ha1_of(const Account& a, std::string_view password) {
  return md5_hex(a.username + ":" + a.domain + ":" + std::string(password));
}

std::string ha1b_of(const Account& a, std::string_view password) {
  return md5_hex(a.username + "@" + a.domain + ":" + a.domain + ":" + std::string(password));
}

Result<void> init_schema(Connection& c) {
  return c.exec_script(c.driver() == Url::Driver::postgres ? kSubscriberSchemaPostgres : kSubscriberSchema);
}

Result<void> add_subscriber(Connection& c, const Account& a, std::string_view password, bool store_plain) {
  auto r = c.query("INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?, ?, ?, ?, ?)",
                   {Value::text(a.username), Value::text(a.domain), Value::text(store_plain ? password : ""),
                    Value::text(ha1_of(a, password)), Value::text(ha1b_of(a, password))});
  if (!r) {
    // SQLite: "UNIQUE constraint failed"; PostgreSQL: "duplicate key value violates unique constraint".
    const std::string& m = r.error().message;
    if (m.find("UNIQUE") != std::string::npos || m.find("duplicate key") != std::string::npos)
      return make_error(0, a.username + "@" + a.domain + " exists already");
    return r.error();
  }
  return {};
}

Result<void> set_password(Connection& c, const Account& a, std::string_view password, bool store_plain) {
  auto r = c.query("UPDATE subscriber SET password=?, ha1=?, ha1b=? WHERE username=? AND domain=?",
                   {Value::text(store_plain ? password : ""), Value::text(ha1_of(a, password)),
                    Value::text(ha1b_of(a, password)), Value::text(a.username), Value::text(a.domain)});
  if (!r) return r.error();
  if (r->changes == 0) return make_error(0, "no user " + a.username + "@" + a.domain);
  return {};
}

Result<void> remove_subscriber(Connection& c, const Account& a) {
  auto r = c.query("DELETE FROM subscriber WHERE username=? AND domain=?",
                   {Value::text(a.username), Value::text(a.domain)});
  if (!r) return r.error();
  if (r->changes == 0) return make_error(0, "no user " + a.username + "@" + a.domain);
  return {};
}

namespace {

std::string text_of(const Value& v) {
  return v.kind == Value::Kind::text      ? v.s
         : v.kind == Value::Kind::integer ? std::to_string(v.i)
                                          : std::string();
}

Subscriber subscriber_of(const Row& r) {
  Subscriber s;
  s.id = r[0].kind == Value::Kind::integer ? r[0].i : 0;
  s.username = text_of(r[1]);
  s.domain = text_of(r[2]);
  s.password = text_of(r[3]);
  s.ha1 = text_of(r[4]);
  s.ha1b = text_of(r[5]);
  return s;
}

}  // namespace

Result<std::vector<Subscriber>> list_subscribers(Connection& c) {
  auto r =
      c.query("SELECT id, username, domain, password, ha1, ha1b FROM subscriber ORDER BY domain, username");
  if (!r) return r.error();
  std::vector<Subscriber> out;
  for (const Row& row : r->rows) out.push_back(subscriber_of(row));
  return out;
}

Result<Subscriber> find_subscriber(Connection& c, const Account& a) {
  auto r = c.query(
      "SELECT id, username, domain, password, ha1, ha1b FROM subscriber WHERE username=? AND domain=?",
      {Value::text(a.username), Value::text(a.domain)});
  if (!r) return r.error();
  if (r->rows.empty()) return make_error(0, "no user " + a.username + "@" + a.domain);
  return subscriber_of(r->rows[0]);
}

}  // namespace msrpd::db
