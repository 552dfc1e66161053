#pragma once
// Kamailio's subscriber table, as msrpctl manages it (kamctl's add/passwd/rm on the same columns,
// so kamctl with DBENGINE=SQLITE and msrpctl can share one file): id, username, domain, password,
// ha1 = MD5(username:domain:password), ha1b = MD5(username@domain:domain:password), both lowercase
// hex, the realm being the domain as kamctl has it. The plain password is stored only when asked.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "db/db.h"

namespace msrpd::db {

// The schema msrpctl db init makes (version table included, subscriber at Kamailio's version 7).
extern const char* const kSubscriberSchema;
extern const char* const kSubscriberSchemaPostgres;  // the same for PostgreSQL (init_schema picks)

struct Account {
  std::string username, domain;
};
// "alice@example.com" -> {alice, example.com}; without '@' the domain is default_domain (an error
// when that is empty). Neither part may be empty.
Result<Account> parse_account(std::string_view text, std::string_view default_domain);

struct Subscriber {
  int64_t id = 0;
  std::string username, domain, password, ha1, ha1b;
};

std::string md5_hex(std::string_view text);
std::string ha1_of(const Account& a, std::string_view password);   // MD5(user:domain:password)
std::string ha1b_of(const Account& a, std::string_view password);  // MD5(user@domain:domain:password)

Result<void> init_schema(Connection& c);
// Errors: the account exists (add), does not exist (passwd, rm).
Result<void> add_subscriber(Connection& c, const Account& a, std::string_view password, bool store_plain);
Result<void> set_password(Connection& c, const Account& a, std::string_view password, bool store_plain);
Result<void> remove_subscriber(Connection& c, const Account& a);
Result<std::vector<Subscriber>> list_subscribers(Connection& c);
Result<Subscriber> find_subscriber(Connection& c, const Account& a);

}  // namespace msrpd::db
