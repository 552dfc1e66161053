#include "common/host_port.h"

#include <arpa/inet.h>

#include <charconv>

#include "common/ascii.h"

namespace msrpd {

void append_host(std::string& out, std::string_view host) {
  bool bracket = host.find(':') != std::string_view::npos && !host.starts_with('[');
  if (bracket) out.push_back('[');
  out.append(host);
  if (bracket) out.push_back(']');
}

void append_port(std::string& out, uint16_t port) {
  char buf[8];
  auto r = std::to_chars(buf, buf + sizeof buf, port);
  out.append(buf, r.ptr);
}

std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

Result<HostPort> HostPort::parse(std::string_view text, bool zero_port_ok) {
  auto bad = [text](std::string_view why) {
    std::string m = "'";
    m.append(text).append("': ").append(why);
    return make_error(0, std::move(m));
  };
  HostPort hp;
  std::string_view host = text, port;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':port' after ']'");
      port = rest.substr(1);
      hp.port_given = true;
    }
  } else {
    size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
      hp.port_given = true;
    }  // two colons or more: a bare IPv6 address, no port
  }
  if (host.empty()) return bad("no host");
  if (hp.port_given && (!ascii::parse_uint(port, hp.port) || (hp.port == 0 && !zero_port_ok)))
    return bad("bad port");
  hp.host.assign(host);
  return hp;
}

void HostPort::append_to(std::string& out) const {
  append_host(out, host);
  if (port != 0) {
    out.push_back(':');
    append_port(out, port);
  }
}

std::string HostPort::str() const {
  std::string s;
  append_to(s);
  return s;
}

Result<SockName> SockName::parse(std::string_view text) {
  auto bad = [](const char* why) { return make_error(0, why); };
  SockName s;
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return bad("no proto");
  s.proto = text.substr(0, colon);
  if (s.proto != "tcp" && s.proto != "tls") return bad("the proto is tcp or tls");
  std::string_view rest = text.substr(colon + 1);
  // The port follows the last ':' (an IPv6 address is bracketed, so its own colons come before).
  size_t last = rest.rfind(':');
  if (last == std::string_view::npos || last == 0) return bad("no port");
  std::string_view ip = rest.substr(0, last);
  if (ip.front() == '[' && ip.back() != ']') return bad("unclosed '['");
  bool bracketed = ip.front() == '[';
  s.ip = strip_brackets(ip);
  if (!ascii::parse_uint(rest.substr(last + 1), s.port) || s.port == 0) return bad("bad port");
  // Numeric: a socket is an address of this machine, never a name.
  char buf[64];
  unsigned char addr[16];
  if (s.ip.empty() || s.ip.size() >= sizeof buf) return bad("the address must be numeric");
  s.ip.copy(buf, s.ip.size());
  buf[s.ip.size()] = 0;
  bool v6 = s.ip.find(':') != std::string_view::npos;
  if (v6 != bracketed || ::inet_pton(v6 ? AF_INET6 : AF_INET, buf, addr) != 1)
    return bad(v6 != bracketed && v6 ? "an IPv6 address is bracketed" : "the address must be numeric");
  return s;
}

}  // namespace msrpd
