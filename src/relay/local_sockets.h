#pragma once
// LocalSockets: msrpd's listen sockets as msrp_set_dst's `sock` names them — "proto:ip:port",
// Kamailio's socket syntax and the form $msrp(srcsock) writes ("tcp:127.0.0.1:5060",
// "tls:[::1]:5061"). The sock chooses the local address an outbound connection is made from
// (docs/reference/functions.md). Built once at start, read without a lock by every worker.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/host_port.h"
#include "common/result.h"
#include "net/address.h"

namespace msrpd::relay {

struct ListenAddr;

class LocalSockets {
 public:
  // listen: the engine's listen entries; ports: the port each one is bound to (or, before start,
  // as configured: 0 then matches any port).
  void assign(const std::vector<ListenAddr>& listen, const std::vector<uint16_t>& ports);

  // The listen socket `s` names: its address in numeric form (inet_ntop's, as
  // net::Connection::local_ip() has it), in `buf`; nullopt when msrpd has no such socket. A
  // wildcard listen address (0.0.0.0, ::) of the same proto and port stands for every address of
  // its family (whether the address is this machine's shows when the connection is made).
  using IpText = char[64];
  std::optional<std::string_view> find(const SockName& s, IpText& buf) const;
  // "tcp:127.0.0.1:2855, tls:[::1]:2856", for messages.
  std::string describe() const;
  bool empty() const { return sockets_.empty(); }

 private:
  struct Socket {
    bool tls = false;
    net::SockAddr addr;  // port: bound (0: any, before start)
    bool wildcard = false;
    std::string text;  // "tcp:ip:port" as configured
  };
  std::vector<Socket> sockets_;
};

}  // namespace msrpd::relay
