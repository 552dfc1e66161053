#pragma once
// Control socket addresses, as Kamailio's ctl module and kamcmd write them:
//   unix:/path  unixs:/path  /path      a unix stream socket
//   tcp:host:port  tcp:host  host:port   tcp (default port 2049, ctl's); [v6]:port or a bare v6
// (unixd:/udp: datagram sockets are not offered.)

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace msrpd::ctl {

constexpr uint16_t kDefaultCtlPort = 2049;

struct CtlAddress {
  enum class Kind { Unix, Tcp };
  Kind kind = Kind::Unix;
  std::string path;  // Unix
  std::string host;  // Tcp: a name or a numeric address (without brackets)
  uint16_t port = 0;

  std::string to_string() const;  // "unix:/path" or "tcp:host:port"
};

// default_port applies when a tcp address has none.
Result<CtlAddress> parse_ctl_address(std::string_view spec, uint16_t default_port = kDefaultCtlPort);

// Connected / listening sockets (blocking connect with a timeout; non-blocking listeners).
// Errors name the address and errno's text.
Result<int> connect_ctl(const CtlAddress& a, int timeout_ms);
// For Unix: removes a stale socket file first; mode is applied to the file.
Result<int> listen_ctl(const CtlAddress& a, int unix_mode);
// The port a tcp listener got (for port 0).
uint16_t bound_port(int fd);

}  // namespace msrpd::ctl
