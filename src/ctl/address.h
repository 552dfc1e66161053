#pragma once
// Control socket addresses, as Kamailio's ctl module and kamcmd write them:
//   unix:/path  unixs:/path  /path      a unix stream socket
//   tcp:host:port  tcp:host  host:port   tcp (default port 2049, ctl's); [v6]:port or a bare v6
// (unixd:/udp: datagram sockets are not offered.)

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
// How a unix socket file is made: its mode and owner (-1: unchanged) are applied before anybody
// can connect (bound under a private name, chmod/chown, listen, then renamed into place).
struct UnixSocketOptions {
  int mode = 0600;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};
// The file a unix listener made (to remove at exit only if it is still ours).
struct UnixSocketFile {
  dev_t dev = 0;
  ino_t ino = 0;
};
// A unix socket file that a live process answers on is never taken over (error "... answers on
// it"); a stale one (nobody listening) is replaced; a file that is not a socket is an error.
Result<int> listen_ctl(const CtlAddress& a, const UnixSocketOptions& unix_opts = {},
                       UnixSocketFile* made = nullptr);
// Whether a tcp address can only be reached from this host: every address it resolves to is a
// loopback one (127.0.0.0/8, ::1, ::ffff:127.x). A wildcard (empty host, 0.0.0.0, ::) is not.
bool is_loopback(const CtlAddress& a);
// The port a tcp listener got (for port 0).
uint16_t bound_port(int fd);

}  // namespace msrpd::ctl
