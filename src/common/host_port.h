#pragma once
// HostPort: a host (name, IPv4 or IPv6 address, kept without brackets) and a port, read from and
// written to the "host:port" text of URIs, listen addresses and settings, where an IPv6 address
// is bracketed ("[::1]:2855", RFC 3986 §3.2.2). The one place that adds or strips brackets.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace msrpd {

// Appends `host`, bracketed when it is an IPv6 address (contains ':') and not bracketed yet.
void append_host(std::string& out, std::string_view host);
// Appends a port in decimal.
void append_port(std::string& out, uint16_t port);
// "[::1]" -> "::1"; anything else unchanged.
std::string_view strip_brackets(std::string_view host);

struct HostPort {
  std::string host;  // no brackets
  uint16_t port = 0;
  bool port_given = false;  // the text had ":port"

  // "host", "host:port", "[v6]", "[v6]:port", or a bare IPv6 address ("::1", no port then).
  // An empty host, a bad or zero port, an unclosed bracket: an error naming the text. Port 0 is
  // accepted when `zero_port_ok` (a listening address: "any free port").
  static Result<HostPort> parse(std::string_view text, bool zero_port_ok = false);

  void append_to(std::string& out) const;  // "host:port", IPv6 bracketed; no ":port" when port is 0
  std::string str() const;
  bool operator==(const HostPort&) const = default;
};

// A local socket as Kamailio writes one (msrp_set_dst's sock, $msrp(srcsock)): "proto:ip:port",
// the ip numeric and bracketed when IPv6 ("tcp:127.0.0.1:5060", "tls:[::1]:5061"). Views into
// the text; the ip without brackets.
struct SockName {
  std::string_view proto;  // "tcp" or "tls" (msrpd's transports)
  std::string_view ip;
  uint16_t port = 0;

  // An error says what is wrong, in a few words ("no port", "the address must be numeric").
  static Result<SockName> parse(std::string_view text);
};

}  // namespace msrpd
