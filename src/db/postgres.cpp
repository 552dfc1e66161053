// db_postgres: the Connection over libpq. The interface's `?` parameters become PostgreSQL's
// $1, $2... (outside quotes and comments) and are sent apart from the statement
// (PQsendQueryParams), never spliced into its text. Every wait is bounded: connecting by
// connect_timeout_ms (the host name resolved under that bound, then libpq's non-blocking connect
// under our own poll), a statement by the server's statement_timeout, and the wait for its answer
// by query_timeout_ms + 500 ms, after which the connection is marked broken (a server that went
// silent) and its owner connects anew.

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "db/db.h"
#include "db/drivers.h"

namespace msrpd::db {

namespace {

using Clock = std::chrono::steady_clock;

// libpq's messages end in newlines and indent their hints: one line for a log.
std::string one_line(const char* m) {
  std::string out;
  bool space = false;
  for (const char* p = m ? m : ""; *p; ++p) {
    if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += *p;
  }
  return out.empty() ? "unknown error" : out;
}

// The interface's `?` placeholders as $1..$n, skipping quoted text, quoted names and comments.
std::string numbered_placeholders(std::string_view sql, size_t& count) {
  enum class In : uint8_t { code, text, escaped_text, name, line_comment, block_comment };
  In in = In::code;
  std::string out;
  out.reserve(sql.size() + 8);
  count = 0;
  for (size_t k = 0; k < sql.size(); ++k) {
    char c = sql[k];
    char next = k + 1 < sql.size() ? sql[k + 1] : '\0';
    switch (in) {
      case In::code:
        if (c == '?') {
          out += '$';
          out += std::to_string(++count);
          continue;
        }
        if (c == '\'') {
          // E'...' strings take backslash escapes (\' does not end them).
          bool e = k > 0 && (sql[k - 1] == 'E' || sql[k - 1] == 'e');
          in = e ? In::escaped_text : In::text;
        } else if (c == '"') {
          in = In::name;
        } else if (c == '-' && next == '-') {
          in = In::line_comment;
        } else if (c == '/' && next == '*') {
          in = In::block_comment;
        }
        break;
      case In::text:
        if (c == '\'') in = In::code;  // '' re-enters at once
        break;
      case In::escaped_text:
        if (c == '\\' && next != '\0') {
          out += c;
          out += next;
          ++k;
          continue;
        }
        if (c == '\'') in = In::code;
        break;
      case In::name:
        if (c == '"') in = In::code;
        break;
      case In::line_comment:
        if (c == '\n') in = In::code;
        break;
      case In::block_comment:
        if (c == '*' && next == '/') {
          out += "*/";
          ++k;
          in = In::code;
          continue;
        }
        break;
    }
    out += c;
  }
  return out;
}

// Integer types come back as integers (the rest as text), as SQLite's INTEGER does.
bool is_integer_type(Oid t) {
  return t == 20 || t == 21 || t == 23 || t == 26;  // int8, int2, int4, oid
}

// The addresses of `host` (at most 8, comma-separated, as libpq's hostaddr takes them), found
// within `ms`: libpq resolves a name with a blocking getaddrinfo that no timeout of its own bounds,
// so the name is resolved here, on a thread of its own that is left to finish alone when the wait
// is over. An address written as such is returned as it is.
Result<std::string> resolve(const std::string& host, int ms, size_t& count) {
  in6_addr probe{};
  count = 1;
  if (::inet_pton(AF_INET, host.c_str(), &probe) == 1 || ::inet_pton(AF_INET6, host.c_str(), &probe) == 1)
    return host;
  struct Answer {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    int rc = 0;
    std::vector<std::string> addresses;
  };
  auto answer = std::make_shared<Answer>();
  std::thread([answer, host] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
    std::vector<std::string> found;
    for (addrinfo* p = rc == 0 ? res : nullptr; p && found.size() < 8; p = p->ai_next) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* a = p->ai_family == AF_INET6
                          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr)
                          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr);
      if ((p->ai_family == AF_INET || p->ai_family == AF_INET6) &&
          ::inet_ntop(p->ai_family, a, text, sizeof(text)) &&
          std::find(found.begin(), found.end(), text) == found.end())
        found.emplace_back(text);
    }
    if (res) ::freeaddrinfo(res);
    std::lock_guard lk(answer->mu);
    answer->done = true;
    answer->rc = rc;
    answer->addresses = std::move(found);
    answer->cv.notify_all();
  }).detach();
  std::unique_lock lk(answer->mu);
  if (!answer->cv.wait_for(lk, std::chrono::milliseconds(ms), [&] { return answer->done; }))
    return make_error(0, "resolving \"" + host + "\" took longer than " + std::to_string(ms) + " ms");
  if (answer->rc != 0 || answer->addresses.empty()) {
    return make_error(0, "could not resolve \"" + host +
                             "\": " + (answer->rc != 0 ? ::gai_strerror(answer->rc) : "no address"));
  }
  std::string joined;
  for (const auto& a : answer->addresses) joined += (joined.empty() ? "" : ",") + a;
  count = answer->addresses.size();
  return joined;
}

class PostgresConnection final : public Connection {
 public:
  PostgresConnection(PGconn* c, std::string name, int query_timeout_ms)
      : c_(c), name_(std::move(name)), query_timeout_ms_(query_timeout_ms) {}
  ~PostgresConnection() override { PQfinish(c_); }

  Url::Driver driver() const override { return Url::Driver::postgres; }
  // An idle connection has nothing to read: bytes (a FATAL "terminating connection", an EOF)
  // mean the server is ending it, noticed here before a statement is sent on it.
  bool broken() const override {
    if (broken_ || PQstatus(c_) != CONNECTION_OK) return true;
    pollfd p{PQsocket(c_), POLLIN, 0};
    if (::poll(&p, 1, 0) != 0) broken_ = true;
    return broken_;
  }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    if (broken()) return make_error(0, name_ + ": the connection is lost");
    size_t n = 0;
    std::string text = numbered_placeholders(sql, n);
    if (n != params.size()) {
      return make_error(0, "postgres: the statement has " + std::to_string(n) + " parameters, " +
                               std::to_string(params.size()) + " given");
    }
    std::vector<std::string> ints;
    ints.reserve(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0);
    for (size_t k = 0; k < params.size(); ++k) {
      const Value& v = params[k];
      if (v.kind == Value::Kind::integer) {
        values[k] = ints.emplace_back(std::to_string(v.i)).c_str();
      } else if (v.kind == Value::Kind::text) {
        // PostgreSQL's text holds no NUL byte: refused here rather than cut short there.
        if (v.s.find('\0') != std::string::npos)
          return make_error(0, "postgres: parameter " + std::to_string(k + 1) + " holds a NUL byte");
        values[k] = v.s.c_str();
      }
    }
    // Parameter types are left to the server (0: inferred from where each $n stands).
    if (!PQsendQueryParams(c_, text.c_str(), static_cast<int>(n), nullptr, values.data(), nullptr, nullptr,
                           0))
      return failed();
    Rows out;
    std::string error;
    auto r = results([&](PGresult* res) {
      auto st = PQresultStatus(res);
      if (st == PGRES_TUPLES_OK) {
        int ncol = PQnfields(res), nrow = PQntuples(res);
        out.columns.clear();
        for (int c = 0; c < ncol; ++c) out.columns.emplace_back(PQfname(res, c));
        for (int r = 0; r < nrow; ++r) {
          Row& row = out.rows.emplace_back(static_cast<size_t>(ncol));
          for (int c = 0; c < ncol; ++c) {
            if (PQgetisnull(res, r, c)) continue;
            const char* p = PQgetvalue(res, r, c);
            auto len = static_cast<size_t>(PQgetlength(res, r, c));
            row[static_cast<size_t>(c)] = is_integer_type(PQftype(res, c))
                                              ? Value::integer(std::strtoll(p, nullptr, 10))
                                              : Value::text(std::string_view(p, len));
          }
        }
        out.changes = 0;
      } else if (st == PGRES_COMMAND_OK) {
        out.changes = std::atoll(PQcmdTuples(res));
      } else if (error.empty()) {
        error = "postgres: " + one_line(PQresultErrorMessage(res));
      }
    });
    if (!r) return r.error();
    if (!error.empty()) return make_error(0, error);
    return out;
  }

  Result<void> exec_script(std::string_view sql) override {
    if (broken()) return make_error(0, name_ + ": the connection is lost");
    // One simple query: PostgreSQL runs its statements in one transaction and stops at the first
    // error (the transaction then rolled back).
    std::string all = "BEGIN;\n" + std::string(sql) + "\nCOMMIT;";
    if (!PQsendQuery(c_, all.c_str())) return failed();
    std::string error;
    auto r = results([&](PGresult* res) {
      auto st = PQresultStatus(res);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && error.empty())
        error = "postgres: " + one_line(PQresultErrorMessage(res));
    });
    if (!r) return r;
    if (!error.empty()) {
      PQclear(PQexec(c_, "ROLLBACK"));
      return make_error(0, error);
    }
    return {};
  }

 private:
  // Waits (bounded) for every result of the statement sent, handing each to `each`.
  template <typename Each>
  Result<void> results(Each each) {
    auto deadline = Clock::now() + std::chrono::milliseconds(query_timeout_ms_ > 0 ? query_timeout_ms_ + 500
                                                                                   : 24 * 3600 * 1000);
    for (;;) {
      while (PQisBusy(c_)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd p{PQsocket(c_), POLLIN, 0};
        int rc = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
        if (rc == 0) {
          broken_ = true;
          return make_error(0,
                            name_ + ": no answer within " + std::to_string(query_timeout_ms_ + 500) + " ms");
        }
        if (rc < 0 && errno == EINTR) continue;
        if (!PQconsumeInput(c_)) return failed();
      }
      PGresult* res = PQgetResult(c_);
      if (!res) return {};
      each(res);
      PQclear(res);
    }
  }

  Error failed() {
    if (PQstatus(c_) != CONNECTION_OK) broken_ = true;
    return make_error(0, name_ + ": " + one_line(PQerrorMessage(c_)));
  }

  PGconn* c_;
  std::string name_;  // the URL, redacted, for messages
  int query_timeout_ms_;
  mutable bool broken_ = false;
};

}  // namespace

Result<std::unique_ptr<Connection>> connect_postgres(const Url& url, const ConnectOptions& options) {
  std::string port = url.port ? std::to_string(url.port) : std::string();
  // Notices ("relation ... already exists, skipping") are not errors: only warnings and worse.
  std::string settings = "-c client_min_messages=warning ";
  if (options.query_timeout_ms > 0)
    settings += "-c statement_timeout=" + std::to_string(options.query_timeout_ms);
  if (options.read_only) settings += " -c default_transaction_read_only=on";
  int connect_ms = options.connect_timeout_ms > 0 ? options.connect_timeout_ms : 3000;
  // libpq's own bound is in whole seconds (and applies per address tried); ours is the poll below.
  std::string connect_s = std::to_string((connect_ms + 999) / 1000);
  // A server that stops acknowledging (cable cut, host gone) is noticed by the kernel too.
  std::string user_timeout = std::to_string(connect_ms + std::max(options.query_timeout_ms, 0) + 500);
  std::string name = url.redacted();
  auto deadline = Clock::now() + std::chrono::milliseconds(connect_ms);
  size_t naddresses = 1;
  auto address = resolve(url.host, connect_ms, naddresses);
  if (!address) return make_error(0, name + ": " + address.error().message);
  // libpq pairs host and hostaddr entry by entry: the name once per address.
  std::string hosts = url.host;
  for (size_t k = 1; k < naddresses; ++k) hosts += "," + url.host;
  std::vector<const char*> keys, values;
  auto set = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    keys.push_back(k);
    values.push_back(v.c_str());
  };
  set("host", hosts);  // still named: for TLS's name check and libpq's messages
  if (*address != url.host) set("hostaddr", *address);
  set("port", port);
  set("user", url.user);
  set("password", url.password);
  set("dbname", url.database);
  set("options", settings);
  set("connect_timeout", connect_s);
  set("tcp_user_timeout", user_timeout);
  static const std::string kApp = "msrpd", kUtf8 = "UTF8";
  set("application_name", kApp);
  set("client_encoding", kUtf8);
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* c = PQconnectStartParams(keys.data(), values.data(), 0);
  if (!c) return make_error(0, name + ": out of memory");
  auto give_up = [&](const std::string& why) {
    PQfinish(c);
    return make_error(0, name + ": " + why);
  };
  if (PQstatus(c) == CONNECTION_BAD) return give_up(one_line(PQerrorMessage(c)));
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) return give_up(one_line(PQerrorMessage(c)));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{PQsocket(c), static_cast<short>(st == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    int rc = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
    if (rc == 0) return give_up("connecting took longer than " + std::to_string(connect_ms) + " ms");
    if (rc < 0 && errno != EINTR) return give_up("poll failed");
    st = PQconnectPoll(c);
  }
  // libpq prints notices and warnings to stderr by default: to the log instead.
  PQsetNoticeProcessor(
      c, [](void*, const char* m) { LM_WARN("db: postgres: %s", one_line(m).c_str()); }, nullptr);
  // The statements msrpd sends are small: sending them blocks no longer than a socket write.
  return std::unique_ptr<Connection>(std::make_unique<PostgresConnection>(c, name, options.query_timeout_ms));
}

}  // namespace msrpd::db
