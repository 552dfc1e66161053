#pragma once
// SockAddr: an IPv4 or IPv6 socket address, parsed from numeric text ("127.0.0.1", "::1",
// "[::1]") and formatted back. No name resolution here (see resolver.h).

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace msrpd::net {

enum class Transport : uint8_t { tcp, tls };
std::string_view transport_name(Transport t);  // "tcp" / "tls"

// "host:port" for messages, an IPv6 host bracketed once ("[::1]:2855"), the port even when 0.
std::string endpoint_text(std::string_view host, uint16_t port);

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;

  // Numeric IPv4 or IPv6 (brackets allowed around IPv6); error for anything else.
  static Result<SockAddr> parse(std::string_view ip, uint16_t port);
  static SockAddr from(const sockaddr* sa, socklen_t len);
  static bool is_numeric(std::string_view host);

  int family() const { return storage.ss_family; }
  uint16_t port() const;
  std::string ip() const;   // "127.0.0.1", "::1" (no brackets)
  std::string str() const;  // "127.0.0.1:2855", "[::1]:2855"
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&storage); }
};

}  // namespace msrpd::net
