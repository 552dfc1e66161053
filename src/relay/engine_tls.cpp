#include "relay/engine_tls.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "common/ascii.h"

namespace msrpd::relay {

namespace {

using ascii::iequals;

// A value or key of tls.cfg: white space (a CR of a CRLF file too) trimmed, then one pair of quotes.
std::string_view unquoted(std::string_view s) {
  s = ascii::trim_space(s);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    s = s.substr(1, s.size() - 2);
  return s;
}

Result<bool> boolean(std::string_view where, std::string_view v) {
  std::string_view l = unquoted(v);
  if (l == "1" || iequals(l, "yes") || iequals(l, "on") || iequals(l, "true")) return true;
  if (l == "0" || iequals(l, "no") || iequals(l, "off") || iequals(l, "false")) return false;
  return make_error(0, std::string(where) + ": '" + std::string(v) + "' is not a boolean");
}

std::string path_in(std::string_view base_dir, std::string_view p) {
  p = unquoted(p);
  if (p.empty() || p.front() == '/' || base_dir.empty()) return std::string(p);
  std::string out(base_dir);
  if (out.back() != '/') out.push_back('/');
  out.append(p);
  return out;
}

enum class Side { server, client };

// One key of either form; `set` says which keys were given (for the client section's fill-in).
Result<void> apply(net::TlsSettings& s, Side side, std::string_view key, std::string_view value,
                   std::string_view where, std::string_view base_dir, bool fill_only) {
  std::string_view k = key;
  std::string_view v = unquoted(value);
  auto set_str = [&](std::string& field, std::string val) {
    if (!fill_only || field.empty()) field = std::move(val);
  };
  if (iequals(k, "certificate")) {
    set_str(s.certificate, path_in(base_dir, v));
  } else if (iequals(k, "private_key")) {
    set_str(s.private_key, path_in(base_dir, v));
  } else if (iequals(k, "ca_list")) {
    set_str(s.ca_list, path_in(base_dir, v));
  } else if (iequals(k, "tls_method") || iequals(k, "method")) {
    if (!fill_only) s.tls_method = std::string(v);
  } else if (iequals(k, "cipher_list")) {
    set_str(s.cipher_list, std::string(v));
  } else if (iequals(k, "server_name")) {
    set_str(s.server_name, std::string(v));
  } else if (iequals(k, "verify_certificate")) {
    auto b = boolean(where, v);
    if (!b) return b.error();
    // Server side: ask for (and check) client certificates. Client side: check the server's.
    if (side == Side::server) {
      s.verify_certificate = *b;
    } else {
      s.verify_server = *b;
    }
  } else if (iequals(k, "require_certificate")) {
    auto b = boolean(where, v);
    if (!b) return b.error();
    if (side == Side::server) s.require_certificate = *b;
  } else if (iequals(k, "verify_depth")) {
    int d = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), d);
    if (r.ec != std::errc() || r.ptr != v.data() + v.size() || d < 0)
      return make_error(0, std::string(where) + ": '" + std::string(v) + "' is not a number");
    s.verify_depth = d;
  }
  // Other keys (crl, ca_path, session_cache...) are accepted and have no effect.
  return {};
}

}  // namespace

Result<void> apply_tls_cfg(net::TlsSettings& s, std::string_view text, std::string_view path,
                           std::string_view base_dir) {
  enum class Section { none, server, client, other } sec = Section::none;
  size_t pos = 0;
  int line_no = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    std::string where = "tls.cfg " + std::string(path) + ":" + std::to_string(line_no);
    size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = unquoted(line);
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']') return make_error(0, where + ": expected [section]");
      std::string_view name = unquoted(line.substr(1, line.size() - 2));
      if (iequals(name, "server:default")) {
        sec = Section::server;
      } else if (iequals(name, "client:default")) {
        sec = Section::client;
      } else {
        sec = Section::other;
      }
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return make_error(0, where + ": expected key = value");
    if (sec == Section::none) return make_error(0, where + ": key outside a [section]");
    if (sec == Section::other) continue;
    std::string_view key = unquoted(line.substr(0, eq));
    Side side = sec == Section::server ? Side::server : Side::client;
    if (auto r = apply(s, side, key, line.substr(eq + 1), where, base_dir, sec == Section::client); !r)
      return r.error();
  }
  return {};
}

Result<net::TlsSettings> tls_settings_from_params(const std::map<std::string, std::string>& params,
                                                  std::string_view base_dir) {
  net::TlsSettings s;
  for (const auto& [k, v] : params) {
    if (k == "config") continue;
    if (auto r = apply(s, Side::server, k, v, "tls " + k, base_dir, false); !r) return r.error();
  }
  auto cfg = params.find("config");
  if (cfg != params.end() && !unquoted(cfg->second).empty()) {
    std::string path = path_in(base_dir, cfg->second);
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(0, "tls config " + path + ": cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (auto r = apply_tls_cfg(s, text, path, base_dir); !r) return r.error();
  }
  return s;
}

}  // namespace msrpd::relay
