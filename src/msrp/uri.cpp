#include "msrp/uri.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#include "common/ascii.h"
#include "common/host_port.h"
#include "msrp/status.h"

namespace msrpd::msrp {
namespace {

using ascii::hex_value;
using ascii::iequals;
using ascii::is_alnum;
using ascii::is_digit;
using ascii::is_hex;
using ascii::istarts_with;
using ascii::lower;

// RFC 3986 §2.3: unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
constexpr ascii::CharClass kUnreserved{true, "-._~"};
// RFC 3986 §2.2: sub-delims
constexpr ascii::CharClass kSubDelim{false, "!$&'()*+,;="};
// RFC 4975 §9: session-id = 1*( unreserved / "+" / "=" / "/" )
constexpr ascii::CharClass kSessionChar{true, "-._~+=/"};

Error fail(std::string message) {
  return make_error(Status::bad_request, std::move(message));
}

std::string show_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return std::string(1, c);
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", u);
  return buf;
}

Error bad_char(std::string_view text, size_t pos, const char* where) {
  return fail("bad character '" + show_char(text[pos]) + "' in " + where + " at " + std::to_string(pos));
}

// Checks a pct-encoded triplet at pos (text[pos] == '%').
bool pct_ok(std::string_view text, size_t pos) {
  return pos + 2 < text.size() && is_hex(text[pos + 1]) && is_hex(text[pos + 2]);
}

// RFC 3986 §3.2.2: dec-octet "." dec-octet "." dec-octet "." dec-octet, no leading zeros.
bool parse_ipv4(std::string_view s, uint8_t* out) {
  size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= s.size() || s[pos] != '.') return false;
      ++pos;
    }
    size_t start = pos;
    unsigned v = 0;
    while (pos < s.size() && is_digit(s[pos]) && pos - start < 3) v = v * 10 + (s[pos++] - '0');
    size_t n = pos - start;
    if (n == 0 || v > 255 || (n > 1 && s[start] == '0')) return false;
    out[part] = static_cast<uint8_t>(v);
  }
  return pos == s.size();
}

bool parse_ipv6(std::string_view s, uint8_t* out) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (s.empty() || s.size() >= sizeof buf) return false;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  return inet_pton(AF_INET6, buf, out) == 1;
}

// Host names compare case-insensitively after percent-decoding (RFC 4975 §6.1, RFC 3986 §6.2.2).
class DecodedChars {
 public:
  explicit DecodedChars(std::string_view s) : s_(s) {}
  bool next(char& c) {
    if (pos_ >= s_.size()) return false;
    if (s_[pos_] == '%' && pos_ + 2 < s_.size() && is_hex(s_[pos_ + 1]) && is_hex(s_[pos_ + 2])) {
      c = static_cast<char>(hex_value(s_[pos_ + 1]) * 16 + hex_value(s_[pos_ + 2]));
      pos_ += 3;
    } else {
      c = s_[pos_++];
    }
    c = lower(c);
    return true;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

bool same_host_name(std::string_view a, std::string_view b) {
  DecodedChars da(a), db(b);
  char ca = 0, cb = 0;
  for (;;) {
    bool ha = da.next(ca), hb = db.next(cb);
    if (ha != hb) return false;
    if (!ha) return true;
    if (ca != cb) return false;
  }
}

}  // namespace

// ---- parameters ----

void UriParams::iterator::load() {
  if (at_end_) return;
  size_t semi = rest_.find(';');
  std::string_view item = rest_.substr(0, semi);
  size_t eq = item.find('=');
  cur_.name = item.substr(0, eq);
  cur_.has_value = eq != std::string_view::npos;
  cur_.value = cur_.has_value ? item.substr(eq + 1) : std::string_view();
}

UriParams::iterator& UriParams::iterator::operator++() {
  size_t semi = rest_.find(';');
  if (semi == std::string_view::npos) {
    at_end_ = true;
    rest_ = {};
  } else {
    rest_ = rest_.substr(semi + 1);
    load();
  }
  return *this;
}

std::optional<UriParam> UriParams::find(std::string_view name) const {
  for (const UriParam& p : *this)
    if (iequals(p.name, name)) return p;
  return std::nullopt;
}

// ---- parse ----

// RFC 4975 §9:
//   MSRP-URI = msrp-scheme "://" authority ["/" session-id] ";" transport *( ";" URI-parameter)
//   authority = [ userinfo "@" ] host [ ":" port ]      (RFC 3986 §3.2)
Result<Uri> parse_uri(std::string_view text) {
  Uri uri;
  size_t pos;
  // RFC 4975 §6: the scheme is case-insensitive.
  if (istarts_with(text, "msrp://")) {
    uri.scheme = text.substr(0, 4);
    pos = 7;
  } else if (istarts_with(text, "msrps://")) {
    uri.scheme = text.substr(0, 5);
    uri.secure = true;
    pos = 8;
  } else {
    return fail("bad scheme: want msrp:// or msrps://");
  }

  // userinfo: an '@' before the path. Neither session-id nor host may hold one, and the userinfo may
  // hold ';' (a sub-delim), so look for '@' rather than stop at the first ';'.
  size_t slash = text.find('/', pos);
  size_t at = text.substr(0, slash).find('@', pos);
  if (at != std::string_view::npos) {
    for (size_t i = pos; i < at; ++i) {
      char c = text[i];
      // RFC 4975 §6: the userinfo MUST NOT contain a password.
      if (c == ':') return fail("password not allowed in userinfo at " + std::to_string(i));
      if (c == '%') {
        if (!pct_ok(text, i)) return bad_char(text, i, "userinfo");
        i += 2;
        continue;
      }
      if (!kUnreserved(c) && !kSubDelim(c)) return bad_char(text, i, "userinfo");
    }
    uri.has_userinfo = true;
    uri.userinfo = text.substr(pos, at - pos);
    pos = at + 1;
  }

  // host = IP-literal / IPv4address / reg-name
  if (pos < text.size() && text[pos] == '[') {
    size_t close = text.find(']', pos);
    if (close == std::string_view::npos) return fail("unterminated IPv6 literal at " + std::to_string(pos));
    uri.host = text.substr(pos + 1, close - pos - 1);
    if (uri.host.empty()) return fail("empty host");
    if (!parse_ipv6(uri.host, uri.ip.data()))
      return fail("bad IPv6 address '" + std::string(uri.host) + "' at " + std::to_string(pos));
    uri.host_kind = HostKind::ipv6;
    pos = close + 1;
    if (pos < text.size() && text[pos] != ':' && text[pos] != '/' && text[pos] != ';')
      return bad_char(text, pos, "host");
  } else {
    size_t start = pos;
    for (; pos < text.size(); ++pos) {
      char c = text[pos];
      if (c == ':' || c == '/' || c == ';') break;
      if (c == '%') {
        if (!pct_ok(text, pos)) return bad_char(text, pos, "host");
        pos += 2;
        continue;
      }
      if (!kUnreserved(c) && !kSubDelim(c)) return bad_char(text, pos, "host");
    }
    uri.host = text.substr(start, pos - start);
    if (uri.host.empty()) return fail("empty host");
    // RFC 3986 §3.2.2: what matches IPv4address is an address, anything else a reg-name.
    if (parse_ipv4(uri.host, uri.ip.data())) uri.host_kind = HostKind::ipv4;
  }

  if (pos < text.size() && text[pos] == ':') {
    size_t start = ++pos;
    uint32_t port = 0;
    for (; pos < text.size() && text[pos] != '/' && text[pos] != ';'; ++pos) {
      if (!is_digit(text[pos])) return bad_char(text, pos, "port");
      if (port <= 65535) port = port * 10 + (text[pos] - '0');
    }
    if (pos == start) return fail("empty port at " + std::to_string(start));
    if (port == 0 || port > 65535) return fail("port out of range at " + std::to_string(start));
    uri.has_port = true;
    uri.port = static_cast<uint16_t>(port);
  }

  if (pos < text.size() && text[pos] == '/') {
    size_t start = ++pos;
    for (; pos < text.size() && text[pos] != ';'; ++pos)
      if (!kSessionChar(text[pos])) return bad_char(text, pos, "session-id");
    if (pos == start) return fail("empty session-id at " + std::to_string(start));
    uri.has_session = true;
    uri.session_id = text.substr(start, pos - start);
  }

  // RFC 4975 §6: the transport parameter is mandatory; transport = "tcp" / 1*ALPHANUM.
  if (pos >= text.size()) return fail("missing ;transport");
  size_t start = ++pos;  // text[pos - 1] == ';'
  for (; pos < text.size() && text[pos] != ';'; ++pos)
    if (!is_alnum(text[pos])) return bad_char(text, pos, "transport");
  if (pos == start) return fail("empty transport at " + std::to_string(start));
  uri.transport = text.substr(start, pos - start);

  // URI-parameter = token ["=" token]
  if (pos < text.size()) {
    size_t params_start = pos + 1;
    while (pos < text.size()) {
      size_t name_start = ++pos;  // past ';'
      for (; pos < text.size() && text[pos] != ';' && text[pos] != '='; ++pos)
        if (!ascii::kMsrpToken(text[pos])) return bad_char(text, pos, "parameter");
      if (pos == name_start) return fail("empty parameter at " + std::to_string(name_start));
      if (pos < text.size() && text[pos] == '=') {
        size_t value_start = ++pos;
        for (; pos < text.size() && text[pos] != ';'; ++pos)
          if (!ascii::kMsrpToken(text[pos])) return bad_char(text, pos, "parameter value");
        if (pos == value_start) return fail("empty parameter value at " + std::to_string(value_start));
      }
    }
    uri.params_text = text.substr(params_start);
  }
  return uri;
}

// ---- format ----

void format_uri(const Uri& uri, std::string& out) {
  out += uri.secure ? "msrps://" : "msrp://";
  if (uri.has_userinfo) {
    out += uri.userinfo;
    out += '@';
  }
  append_host(out, uri.host);
  if (uri.has_port) {
    out += ':';
    append_port(out, uri.port);
  }
  if (uri.has_session) {
    out += '/';
    out += uri.session_id;
  }
  out += ';';
  out += uri.transport;
  if (!uri.params_text.empty()) {
    out += ';';
    out += uri.params_text;
  }
}

std::string to_string(const Uri& uri) {
  std::string out;
  format_uri(uri, out);
  return out;
}

// ---- compare ----

// RFC 4975 §6.1
bool same_uri(const Uri& a, const Uri& b) {
  // 1. scheme, case-insensitively (already folded into `secure`).
  if (a.secure != b.secure) return false;
  // 2. authority: IP addresses by value, names case-insensitively; userinfo is not compared.
  if (a.host_kind != b.host_kind) return false;
  if (a.host_kind == HostKind::name) {
    if (!same_host_name(a.host, b.host)) return false;
  } else {
    size_t n = a.host_kind == HostKind::ipv4 ? 4 : 16;
    if (std::memcmp(a.ip.data(), b.ip.data(), n) != 0) return false;
  }
  // 3. a URI with an explicit port never equals one without.
  if (a.has_port != b.has_port || a.port != b.port) return false;
  // 4. session-id case-sensitively; none never equals some.
  if (a.has_session != b.has_session || a.session_id != b.session_id) return false;
  // 5. transport case-insensitively.
  return iequals(a.transport, b.transport);
}

// ---- Kamailio {msrpuri.key} ----

std::optional<MsrpUriKey> msrpuri_key(std::string_view name) {
  static constexpr std::pair<std::string_view, MsrpUriKey> kKeys[] = {
      {"user", MsrpUriKey::user},         {"host", MsrpUriKey::host},     {"port", MsrpUriKey::port},
      {"session", MsrpUriKey::session},   {"proto", MsrpUriKey::proto},   {"params", MsrpUriKey::params},
      {"userinfo", MsrpUriKey::userinfo}, {"scheme", MsrpUriKey::scheme},
  };
  for (const auto& [key_name, key] : kKeys)
    if (iequals(key_name, name)) return key;
  return std::nullopt;
}

// Kamailio's splitting, rule by rule (research/kamailio-msrp.md §3, and the module's behaviour):
// - the parts are cut in order at the first ':' (host|port), then the first '/' (|session), then the
//   first ';' (|params), each searched in what is left; a separator that ends the text is an error;
// - an IPv6 literal "[...]" keeps its brackets and its ':'s do not end the host;
// - an '@' anywhere ends the userinfo, which is kept only when no ';' comes before that '@';
// - the last part is trimmed of white space;
// - the port is read like str2sint: an optional sign and the leading digits (so "12ab" is 12, "" is
//   no port), and must then be 1..65535;
// - proto/params: see the header.
Result<MsrpUriParts> split_msrpuri(std::string_view text) {
  MsrpUriParts parts;
  if (text.size() < 8) return fail("msrp uri too short");
  size_t pos;
  if (istarts_with(text, "msrp://")) {
    parts.scheme = text.substr(0, 4);
    pos = 7;
  } else if (istarts_with(text, "msrps://")) {
    parts.scheme = text.substr(0, 5);
    pos = 8;
  } else {
    return fail("bad scheme: want msrp:// or msrps://");
  }
  constexpr size_t npos = std::string_view::npos;

  size_t at = text.find('@', pos);
  if (at != npos) {
    size_t semi = text.find(';', pos);
    if (semi == npos || at < semi) {
      parts.userinfo = text.substr(pos, at - pos);
      parts.user = parts.userinfo.substr(0, parts.userinfo.find_first_of(";:"));
    }
    // The host starts after the '@' even when the userinfo was not kept.
    pos = at + 1;
    if (pos >= text.size()) return fail("nothing after '@'");
  }

  // The part being cut; each separator found closes it and opens the next one.
  std::string_view* part = &parts.host;
  size_t part_start = pos;
  auto cut = [&](size_t sep_search_from, char sep, std::string_view* next) -> bool {
    size_t p = text.find(sep, sep_search_from);
    if (p == npos) return true;
    *part = text.substr(part_start, p - part_start);
    part = next;
    part_start = pos = p + 1;
    return pos < text.size();
  };
  size_t colon_from = pos;
  if (pos < text.size() && text[pos] == '[') {
    size_t close = text.find(']', pos);
    if (close != npos) colon_from = close + 1;
  }
  if (!cut(colon_from, ':', &parts.port)) return fail("nothing after ':'");
  if (!cut(pos, '/', &parts.session)) return fail("nothing after '/'");
  if (!cut(pos, ';', &parts.params)) return fail("nothing after ';'");
  *part = text.substr(part_start);
  // Kamailio trims SP/HTAB in front and SP/HTAB/CR/LF behind.
  *part = ascii::ltrim(*part);
  while (!part->empty() && ascii::is_space(part->back())) part->remove_suffix(1);

  if (parts.host.empty()) return fail("empty host");
  if (!parts.port.empty()) {
    std::string_view digits = parts.port;
    int64_t sign = 1;
    if (digits.front() == '+' || digits.front() == '-') {
      sign = digits.front() == '-' ? -1 : 1;
      digits.remove_prefix(1);
    }
    int64_t port = 0;
    for (size_t i = 0; i < digits.size() && is_digit(digits[i]) && port <= 65535; ++i)
      port = port * 10 + (digits[i] - '0');
    port *= sign;
    if (port < 1 || port > 65535) return fail("port out of range");
  }

  if (!parts.params.empty()) {
    std::string_view p = parts.params;
    // Kamailio's quirk: params beginning with "tcp" (longer than it) or "ws" (longer than it) give
    // that proto and are left whole; otherwise the first parameter is the proto and params the rest.
    if (p.size() > 3 && istarts_with(p, "tcp")) {
      parts.proto = p.substr(0, 3);
    } else if (p.size() > 2 && istarts_with(p, "ws")) {
      parts.proto = p.substr(0, 2);
    } else {
      size_t next = p.find(';');
      parts.proto = p.substr(0, next);
      parts.params = next == npos ? std::string_view() : p.substr(next + 1);
    }
  }
  return parts;
}

std::string_view msrpuri_get(const MsrpUriParts& parts, MsrpUriKey key) {
  switch (key) {
    case MsrpUriKey::user:
      return parts.user;
    case MsrpUriKey::host:
      return parts.host;
    case MsrpUriKey::port:
      return parts.port;
    case MsrpUriKey::session:
      return parts.session;
    case MsrpUriKey::proto:
      return parts.proto;
    case MsrpUriKey::params:
      return parts.params;
    case MsrpUriKey::userinfo:
      return parts.userinfo;
    case MsrpUriKey::scheme:
      return parts.scheme;
  }
  return {};
}

}  // namespace msrpd::msrp
