#pragma once
// Connector: outbound non-blocking TCP connects on one loop, bounded by a timeout.
//
//   connector.connect("127.0.0.1", 2855, [&](Result<Connection*> r) {
//     if (!r) return log(r.error().message);      // "connect 127.0.0.1:2855: Connection refused"
//     (*r)->set_handler(&h);
//   });
//
// The callback runs on the loop's thread, exactly once, never inside connect() itself. On
// success the Connection is in the registry (so it joins the reuse pool) and
// must get a handler in the callback, or it is closed when the callback returns. Destroying the
// Connector abandons the attempts in progress without calling their callbacks.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "net/connection.h"
#include "net/event_loop.h"
#include "net/tls.h"

namespace msrpd::net {

class Resolver;

// TLS (msrps next hops): transport = Transport::tls and tls = the context. After the TCP connect
// the client handshake runs on the loop; the callback gets the Connection only once it succeeded,
// else an error such as "tls handshake with 127.0.0.1:2856: certificate verify failed: hostname
// mismatch". The server certificate must match verify_host (RFC 4975 §6, RFC 4976 §9: the host
// of the next hop's URI, a name or an IP literal); empty: connect() checks the ip it connects to,
// connect_host() the host it was given. SNI carries verify_host when it is a name.
struct ConnectOptions {
  uint32_t timeout_ms = 5000;  // whole attempt, resolution and TLS handshake included
  ConnectionSettings settings;
  Transport transport = Transport::tcp;
  const TlsContext* tls = nullptr;  // required for Transport::tls; must outlive the attempt
  std::string verify_host;
  // The local address the connection is made from (numeric, no port: the kernel picks one); empty:
  // the system's choice (msrp_set_dst's sock, bound before connect). A next hop of the other
  // address family cannot be reached from it (an error, as a refused connect).
  std::string local_ip;
};

class Connector {
 public:
  using ConnectFn = std::function<void(Result<Connection*>)>;

  // resolver: needed only by connect_host() for names that are not numeric addresses.
  explicit Connector(ConnectionRegistry& connections, Resolver* resolver = nullptr);
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // ip must be numeric (IPv4, IPv6, or [IPv6]).
  void connect(std::string_view ip, uint16_t port, ConnectFn fn, const ConnectOptions& opts = {});
  // host may be a name: A/AAAA lookup, then the addresses are tried in order until one connects.
  void connect_host(std::string_view host, uint16_t port, ConnectFn fn, const ConnectOptions& opts = {});

  size_t pending() const { return attempts_.size(); }

 private:
  struct Attempt;
  void finish(Attempt* a, Result<Connection*> r);
  void fail_soon(ConnectFn fn, std::string msg);

  ConnectionRegistry& connections_;
  EventLoop& loop_;
  Resolver* resolver_;
  uint64_t next_attempt_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Attempt>> attempts_;
  std::shared_ptr<bool> alive_;
};

}  // namespace msrpd::net
