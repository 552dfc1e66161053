#include "db/url.h"

#include <charconv>

namespace msrpd::db {

namespace {

Error bad(std::string_view what) {
  return make_error(0, "db_url: " + std::string(what));
}

}  // namespace

std::string Url::redacted() const {
  if (driver == Driver::sqlite) return "sqlite://" + path;
  std::string s = "postgres://";
  if (!user.empty()) {
    s += user;
    if (!password.empty()) s += ":***";
    s += '@';
  }
  s += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != 0) s += ":" + std::to_string(port);
  s += "/" + database;
  return s;
}

Result<Url> parse_url(std::string_view text, std::string_view dir) {
  auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    return bad("expected scheme://..., such as sqlite:///var/lib/msrpd/msrpd.db, found \"" +
               std::string(text) + "\"");
  }
  std::string_view scheme = text.substr(0, sep), rest = text.substr(sep + 3);
  Url u;
  if (scheme == "sqlite") {
    if (rest.empty()) return bad("sqlite:// needs a file: sqlite:///path/to/file.db");
    if (rest.find('\0') != std::string_view::npos) return bad("a NUL byte in the file name");
    if (rest.front() == '/' || dir.empty()) {
      u.path.assign(rest);
    } else {
      u.path.assign(dir);
      if (u.path.back() != '/') u.path += '/';
      u.path.append(rest);
    }
    return u;
  }
  if (scheme != "postgres" && scheme != "postgresql") {
    return bad("unknown scheme '" + std::string(scheme) + "' (msrpd has sqlite:// and postgres://)");
  }
  u.driver = Url::Driver::postgres;
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size())
    return bad("postgres:// needs a database name: postgres://user:pass@host:port/dbname");
  u.database.assign(rest.substr(slash + 1));
  if (u.database.find_first_of("/?#") != std::string::npos)
    return bad("a database name with '/', '?' or '#'");
  std::string_view auth = rest.substr(0, slash);
  // The password may hold '@': the host follows the last one.
  auto at = auth.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view cred = auth.substr(0, at);
    auth = auth.substr(at + 1);
    auto colon = cred.find(':');
    u.user.assign(cred.substr(0, colon));
    if (colon != std::string_view::npos) u.password.assign(cred.substr(colon + 1));
    if (u.user.empty()) return bad("an empty user name before '@'");
  }
  std::string_view host = auth, port;
  if (!auth.empty() && auth.front() == '[') {
    auto close = auth.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 host without ']'");
    host = auth.substr(1, close - 1);
    std::string_view after = auth.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("expected ':' after ']'");
      port = after.substr(1);
      if (port.empty()) return bad("an empty port");
    }
  } else if (auto colon = auth.rfind(':'); colon != std::string_view::npos) {
    host = auth.substr(0, colon);
    port = auth.substr(colon + 1);
    if (port.empty()) return bad("an empty port");
  }
  if (host.empty()) return bad("postgres:// needs a host");
  u.host.assign(host);
  if (!port.empty()) {
    unsigned p = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || p == 0 || p > 65535)
      return bad("port '" + std::string(port) + "' is not 1..65535");
    u.port = static_cast<uint16_t>(p);
  }
  return u;
}

}  // namespace msrpd::db
