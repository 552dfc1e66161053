// The auth_db module: Digest authentication of AUTH requests against Kamailio's subscriber table
// through a database (db_sqlite or db_postgres), with each worker keeping the rows it read for cache_ttl.
//
// www_authorize(realm, table) and auth_check(realm, table, flags) return pv_www_authenticate's
// codes (auth.cpp), and -3 when the table has no row for the user. A row whose password column
// is NULL, not text, or (calculate_ha1 0) not an HA1 of 32 hex digits, and a database error, are
// -1, logged.
//
// A route never waits for the database (docs/ARCHITECTURE.md, "Credentials from a database"):
// before an AUTH is routed, the engine asks the router whether it is ready (Router::ready, here
// Script::prepare_auth). When the worker's cache has no row for the Authorization's user in a
// table that the script's auth_db calls name, the query goes to the pool's threads and the AUTH
// waits, its connection paused; the answer comes back through the worker's loop into the cache,
// and the AUTH is routed from the start, once, finding the row. A row fetched for a waiting AUTH
// serves that AUTH even if cache_ttl is 0 or passed meanwhile.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <unordered_map>

#include "common/log.h"
#include "db/db.h"
#include "db/pool.h"
#include "relay/digest.h"
#include "script/internal.h"

namespace msrpd::script {

struct AuthDbState {
  Config::AuthDb cfg;
  db::Url url;
  std::vector<std::string> tables;
  std::vector<std::string> sql;  // per table: SELECT password_column FROM table WHERE user_column=? ...
  std::once_flag pool_once;
  std::unique_ptr<db::Pool> pool;                   // made on the first lookup (not by msrpd -c)
  std::atomic<const db::Pool*> pool_made{nullptr};  // for readers on other threads (db_stats)

  int timeout_ms = 2000;  // db_postgres's timeout: connect, statement, and a query's wait for a thread

  db::ConnectOptions connect_options() const {
    db::ConnectOptions o;
    o.read_only = true;  // the relay only reads subscribers
    o.connect_timeout_ms = timeout_ms;
    o.query_timeout_ms = timeout_ms;
    return o;
  }
  db::Pool& get_pool() {
    std::call_once(pool_once, [&] {
      db::Pool::Options o;
      o.threads = static_cast<unsigned>(cfg.db_threads);
      o.queue_limit = static_cast<size_t>(cfg.db_queue);
      o.connect = connect_options();
      o.job_timeout = std::chrono::milliseconds(timeout_ms);
      pool = std::make_unique<db::Pool>(url, o);
      pool_made.store(pool.get(), std::memory_order_release);
    });
    return *pool;
  }
};

// One user's row as a worker has it.
struct CredEntry {
  enum class Status : uint8_t {
    pending,  // the query is out; waiters are the AUTHs behind the first one
    found,    // secret: the password (calculate_ha1) or the HA1
    missing,  // no row
    bad,      // a row, unusable (message says why)
    error,    // the database failed (message); used once, then asked again
  };
  Status status = Status::pending;
  std::string secret;
  std::string message;
  int64_t expires_ms = 0;
  bool used = false;     // a route has read it: from now on it lives until expires_ms
  bool dropped = false;  // auth_db.cache_drop while pending: serves its waiters, then expires
  std::vector<relay::Resume> waiters;
};

struct CredCache {
  std::unordered_map<std::string, CredEntry> rows;
  // A database that is down fails every AUTH: one line a second per worker says so (with how
  // many were left out); the pool's own line says why.
  int64_t error_logged_ms = -1;
  uint64_t errors_not_logged = 0;
};

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string cache_key(size_t table, std::string_view user, std::string_view domain) {
  std::string k;
  k.reserve(user.size() + domain.size() + 3);
  k += static_cast<char>('0' + table % 64);
  k.append(user);
  k += '\0';
  k.append(domain);
  return k;
}

struct Lookup {
  CredEntry::Status status = CredEntry::Status::error;
  std::string secret, message;
};

// On a pool thread.
Lookup fetch(const AuthDbState& a, size_t table, const Result<db::Connection*>& c, const std::string& user,
             const std::string& domain) {
  using S = CredEntry::Status;
  if (!c) return {S::error, {}, c.error().message};
  std::vector<db::Value> params{db::Value::text(user)};
  if (a.cfg.use_domain) params.push_back(db::Value::text(domain));
  auto rows = (*c)->query(a.sql[table], params);
  if (!rows) return {S::error, {}, rows.error().message};
  if (rows->rows.empty()) return {S::missing, {}, {}};
  const db::Value& v = rows->rows[0][0];
  const std::string& col = a.cfg.password_column;
  if (v.is_null()) return {S::bad, {}, "its " + col + " is NULL"};
  if (v.kind != db::Value::Kind::text) return {S::bad, {}, "its " + col + " is not text"};
  if (a.cfg.calculate_ha1) {
    if (v.s.empty()) return {S::bad, {}, "its " + col + " is empty"};
  } else if (!relay::is_ha1_hex(v.s)) {
    return {S::bad,
            {},
            "its " + col + " is " + std::to_string(v.s.size()) + " characters, not an HA1 of 32 hex digits"};
  }
  return {S::found, v.s, {}};
}

// On the worker: the lookup's answer into the cache; the AUTHs waiting behind the first go on.
void store(CredCache& cache, const std::string& key, Lookup l, int ttl_s) {
  auto it = cache.rows.find(key);
  if (it == cache.rows.end()) return;  // dropped meanwhile (the cache was full)
  CredEntry& e = it->second;
  e.status = l.status;
  e.secret = std::move(l.secret);
  e.message = std::move(l.message);
  e.used = false;
  // A failed query is not kept: the next AUTH asks again.
  bool keep = l.status != CredEntry::Status::error && !e.dropped;
  e.expires_ms = now_ms() + (keep ? int64_t{ttl_s} * 1000 : 0);
  e.dropped = false;
  std::vector<relay::Resume> waiters = std::move(e.waiters);
  e.waiters.clear();
  for (auto& w : waiters) w({});
}

void make_room(CredCache& cache, size_t limit) {
  if (cache.rows.size() < limit) return;
  int64_t now = now_ms();
  // Expired rows first; if every row is fresh, all settled ones: a flood of made-up user names
  // costs at most cache_size rows and one query each.
  std::erase_if(cache.rows, [&](const auto& kv) {
    return kv.second.status != CredEntry::Status::pending && kv.second.used && kv.second.expires_ms <= now;
  });
  if (cache.rows.size() < limit) return;
  std::erase_if(cache.rows, [](const auto& kv) { return kv.second.status != CredEntry::Status::pending; });
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

int authorize(Run& run, const Call& c, const char* fname) {
  std::string s1;
  std::string_view realm = arg_str(run, c.args[0], s1);
  auto table = static_cast<size_t>(c.args[1].const_int);
  const AuthDbState* a = run.s.auth_db.get();
  return digest_authenticate(
      run, c.loc, fname, realm, run.ctx.method(), [&](const relay::DigestCredentials& cr) -> Secret {
        using S = CredEntry::Status;
        const char* why = nullptr;
        CredEntry* e = nullptr;
        if (!a || table >= a->tables.size()) {
          why = "a table named only at run time";
        } else if (!run.env.creds) {
          why = "no row was looked up (only AUTH requests are looked up before their route)";
        } else {
          auto it =
              run.env.creds->rows.find(cache_key(table, cr.username, a->cfg.use_domain ? cr.realm : ""));
          if (it == run.env.creds->rows.end() || it->second.status == S::pending) {
            why = "no row was looked up (only AUTH requests are looked up before their route)";
          } else {
            e = &it->second;
          }
        }
        if (!e) {
          run.log(kLogErr, run.s.where(c.loc) + ": " + fname + ": " + why + "\n");
          return Secret{{}, false, -1};
        }
        e->used = true;
        std::string who = "'" + std::string(cr.username) + "'";
        if (a->cfg.use_domain) who += "@'" + std::string(cr.realm) + "'";
        switch (e->status) {
          case S::found:
            return Secret{e->secret, !a->cfg.calculate_ha1};
          case S::missing:
            run.log(kLogDbg, run.s.where(c.loc) + ": " + fname + ": no user " + who + " in " +
                                 a->tables[table] + "\n");
            return Secret{{}, false, -3};
          case S::bad:
            run.log(kLogErr, run.s.where(c.loc) + ": " + fname + ": the row of " + who + " in " +
                                 a->tables[table] + " is unusable: " + e->message + "\n");
            return Secret{{}, false, -1};
          case S::error:
          case S::pending:
            break;
        }
        CredCache& cache = *run.env.creds;
        int64_t now = now_ms();
        if (cache.error_logged_ms >= 0 && now - cache.error_logged_ms < 1000) {
          ++cache.errors_not_logged;
          return Secret{{}, false, -1};
        }
        std::string more;
        if (cache.errors_not_logged > 0)
          more = " (and " + std::to_string(cache.errors_not_logged) + " more since the previous line)";
        cache.error_logged_ms = now;
        cache.errors_not_logged = 0;
        run.log(kLogErr, run.s.where(c.loc) + ": " + fname + ": " + a->url.redacted() + ": " + e->message +
                             more + "\n");
        return Secret{{}, false, -1};
      });
}

}  // namespace

int fn_www_authorize(Run& run, const Call& c) {
  return authorize(run, c, "www_authorize");
}

// flags: Kamailio's bit 1 compares the authenticated user with the SIP From/To user; an MSRP
// AUTH has no such user (its URIs name sessions), so no flag changes the check here.
int fn_auth_check(Run& run, const Call& c) {
  return authorize(run, c, "auth_check");
}

bool Script::prepare_auth(std::optional<std::string_view> authorization, WorkerEnv& env,
                          const relay::Resume& resume) const {
  const std::shared_ptr<AuthDbState>& a = data_->auth_db;
  if (!a || a->tables.empty() || !authorization) return true;
  auto creds = relay::parse_authorization(trim(*authorization));
  if (!creds) return true;  // the route's call answers it (-1)
  WorkerEnv::State& st = env.state();
  if (!st.creds) st.creds = std::make_shared<CredCache>();
  CredCache& cache = *st.creds;
  std::string_view domain = a->cfg.use_domain ? creds->realm : std::string_view();
  bool ready = true;
  int64_t now = now_ms();
  for (size_t t = 0; t < a->tables.size(); ++t) {
    std::string key = cache_key(t, creds->username, domain);
    auto it = cache.rows.find(key);
    if (it != cache.rows.end()) {
      CredEntry& e = it->second;
      if (e.status == CredEntry::Status::pending) {
        e.waiters.push_back(resume);
        ready = false;
        continue;
      }
      if (!e.used || now < e.expires_ms) continue;
      cache.rows.erase(it);
    }
    make_room(cache, static_cast<size_t>(a->cfg.cache_size));
    cache.rows[key];  // pending
    std::shared_ptr<CredCache> keep = st.creds;
    auto job = [a, t, key, user = std::string(creds->username), dom = std::string(domain), keep,
                resume](const Result<db::Connection*>& c) {
      Lookup l = fetch(*a, t, c, user, dom);
      int ttl = a->cfg.cache_ttl;
      resume([keep, key, l = std::move(l), ttl]() mutable { store(*keep, key, std::move(l), ttl); });
    };
    if (a->get_pool().submit(std::move(job))) {
      ready = false;
    } else {
      CredEntry& e = cache.rows[key];
      e.status = CredEntry::Status::error;
      e.message = "too many queries waiting (db_queue)";
      e.expires_ms = now;
    }
  }
  return ready;
}

std::vector<std::pair<std::string, uint64_t>> Script::db_stats() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  auto a = data_ ? data_->auth_db : nullptr;
  if (!a) return out;
  const db::Pool* p = a->pool_made.load(std::memory_order_acquire);
  auto get = [p](auto member) -> uint64_t {
    return p ? (p->stats().*member).load(std::memory_order_relaxed) : 0;
  };
  using S = db::Pool::Stats;
  out.emplace_back("db:connects", get(&S::connects));
  out.emplace_back("db:connect_failures", get(&S::connect_failures));
  out.emplace_back("db:connections_lost", get(&S::lost));
  out.emplace_back("db:lookups_unavailable", get(&S::unavailable));
  out.emplace_back("db:lookups_expired", get(&S::expired));
  out.emplace_back("db:lookups_refused", get(&S::refused));
  return out;
}

size_t Script::drop_credentials(WorkerEnv& env, std::string_view user, std::string_view domain) const {
  const std::shared_ptr<AuthDbState>& a = data_->auth_db;
  WorkerEnv::State& st = env.state();
  if (!a || !st.creds) return 0;
  bool by_domain = a->cfg.use_domain && !domain.empty();
  size_t n = 0;
  // Keys are table digit, user, NUL, domain (cache_key): a drop walks the worker's rows, at
  // most cache_size of them, on its own loop.
  for (auto it = st.creds->rows.begin(); it != st.creds->rows.end();) {
    std::string_view k = it->first;
    size_t nul = k.find('\0', 1);
    std::string_view u = k.substr(1, nul - 1), d = nul == std::string_view::npos ? "" : k.substr(nul + 1);
    bool match = user.empty() || (u == user && (!by_domain || d == domain));
    if (!match) {
      ++it;
    } else if (it->second.status == CredEntry::Status::pending) {
      it->second.dropped = true;  // its waiters still need the row being fetched
      ++n;
      ++it;
    } else {
      it = st.creds->rows.erase(it);
      ++n;
    }
  }
  return n;
}

void finish_auth_db(LoadState& ls) {
  if (!ls.has_module("auth_db")) return;
  if (!ls.has_module("auth")) ls.src->fail(ls.auth_db_loc, "auth_db needs loadmodule \"auth.so\" before it");
  if (!ls.db_url) {
    ls.src->fail(ls.auth_db_loc,
                 "auth_db needs modparam(\"auth_db\", \"db_url\", \"sqlite:///path/file.db\")");
  }
  const char* driver_module = ls.db_url->driver == db::Url::Driver::postgres ? "db_postgres" : "db_sqlite";
  if (!ls.has_module(driver_module)) {
    ls.src->fail(ls.db_url_loc, "auth_db's db_url " + ls.db_url->redacted() + " needs loadmodule \"" +
                                    driver_module + ".so\"");
  }
  auto a = std::make_shared<AuthDbState>();
  a->cfg = ls.data->config.auth_db;
  a->timeout_ms = ls.data->config.db_postgres.timeout * 1000;
  a->url = *ls.db_url;
  a->tables = ls.db_tables;
  for (const auto& t : a->tables) {
    std::string sql =
        "SELECT " + a->cfg.password_column + " FROM " + t + " WHERE " + a->cfg.user_column + "=?";
    if (a->cfg.use_domain) sql += " AND " + a->cfg.domain_column + "=?";
    a->sql.push_back(sql + " LIMIT 1");
  }
  // An unknown table or column is a load error when the database is there to ask (msrpd -c); a
  // missing file is only a warning: it may be made after the config is checked.
  if (!a->tables.empty()) {
    auto c = db::connect(a->url, a->connect_options());
    if (!c) {
      ls.warn(ls.db_url_loc, "auth_db: cannot open the database now (" + c.error().message +
                                 "): AUTHs fail (-1) until it can be opened");
    } else {
      for (size_t t = 0; t < a->tables.size(); ++t) {
        std::vector<db::Value> params(a->cfg.use_domain ? 2 : 1);
        auto r = (*c)->query(a->sql[t], params);
        if (!r) {
          ls.src->fail(ls.db_table_locs[t],
                       "table " + a->tables[t] + " in " + a->url.redacted() + ": " + r.error().message);
        }
      }
    }
  }
  ls.data->auth_db = std::move(a);
}

}  // namespace msrpd::script
