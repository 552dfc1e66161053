#pragma once
// Listener: a listening TCP socket on one loop. With SO_REUSEPORT every worker opens its own
// Listener on the same ip:port and the kernel spreads the incoming connections between them.
// Port 0 binds an ephemeral port: open the first listener with port 0, read port(), then open the
// others with that port.
//
//   ConnectionRegistry connections(loop);
//   auto l = Listener::open(connections, {"127.0.0.1", 0}, [&](Connection& c) { c.set_handler(&h); });
//   if (!l) die(l.error().message);
//   uint16_t port = (*l)->port();
//
// The accept callback runs on the loop's thread with the new Connection, already in the
// registry. It must set a handler (reading starts then) or close it; a connection
// left without a handler is closed after the callback returns.
//
// TLS (transport = Transport::tls, tls = a TlsContext with a certificate): each accepted socket
// first runs the server handshake on the loop; the accept callback sees only connections whose
// handshake succeeded (Connection::peer_certificate_verified() is already known). A handshake
// that fails or does not finish within the context's handshake_timeout_ms closes the socket
// without any callback (handshake_failures() counts them, last_handshake_error() says why).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "net/address.h"
#include "net/connection.h"
#include "net/event_loop.h"
#include "net/tls.h"

namespace msrpd::net {

class TlsHandshake;

struct ListenOptions {
  std::string ip = "0.0.0.0";  // numeric IPv4 or IPv6 ("::1", "::", "0.0.0.0")
  uint16_t port = 0;           // 0 = ephemeral
  bool reuse_port = true;      // SO_REUSEPORT: one accepting socket per worker
  // Before binding, fail with "address already in use" when any other socket holds the address
  // (sock::claim_address): set on the first listener of a group, so that SO_REUSEPORT spreads
  // connections among our own workers only, never with another process. Ignored for port 0.
  bool exclusive = false;
  int backlog = 1024;
  ConnectionSettings settings;  // for the accepted connections
  Transport transport = Transport::tcp;
  const TlsContext* tls = nullptr;  // required for Transport::tls; must outlive the listener
};

class Stream;

class Listener final : private IoHandler {
 public:
  using AcceptFn = std::function<void(Connection&)>;

  // Binds and listens (start-up; returns an error such as "bind 127.0.0.1:5060: Address in use").
  static Result<std::unique_ptr<Listener>> open(ConnectionRegistry& connections, const ListenOptions& opts,
                                                AcceptFn on_accept);
  ~Listener() override;  // on the loop's thread (or when the loop is not running)

  const std::string& ip() const { return ip_; }
  uint16_t port() const { return port_; }
  int fd() const { return fd_; }
  EventLoop& loop() const { return loop_; }
  uint64_t accepted() const { return accepted_; }
  Transport transport() const { return transport_; }
  size_t handshakes_in_progress() const { return handshakes_.size(); }
  uint64_t handshake_failures() const { return handshake_failures_; }
  const std::string& last_handshake_error() const { return last_handshake_error_; }

 private:
  Listener(ConnectionRegistry& connections, int fd, const ListenOptions& opts, AcceptFn fn);
  void on_io(uint32_t events) override;
  // The one accept tail, for TCP and for TLS once the handshake succeeded: adopt, on_accept,
  // close if no handler was set.
  void accepted(std::unique_ptr<Stream> stream);
  void start_handshake(int fd);
  void handshake_done(uint64_t key, Result<std::unique_ptr<Stream>> r);

  ConnectionRegistry& connections_;
  EventLoop& loop_;
  int fd_;
  std::string ip_;
  uint16_t port_ = 0;
  ConnectionSettings settings_;
  AcceptFn on_accept_;
  uint64_t accepted_ = 0;
  Transport transport_ = Transport::tcp;
  const TlsContext* tls_ = nullptr;
  uint64_t next_handshake_ = 1;
  uint64_t handshake_failures_ = 0;
  std::string last_handshake_error_;
  std::unordered_map<uint64_t, std::unique_ptr<TlsHandshake>> handshakes_;
  Timer backoff_;  // out of fds: stop accepting for a moment instead of spinning
};

}  // namespace msrpd::net
