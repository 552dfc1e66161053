#pragma once
// TLS streams (internal to src/net): the handshake as a small state machine on the event loop,
// then a Stream over the established SSL for Connection.
//
// Why the handshake is not inside Connection: a Connection exists only once its handshake
// succeeded, so the reuse pool never hands out a connection whose peer is not authenticated yet,
// the accept/connect callbacks already see the peer certificate, and a failed handshake on an
// outbound connect reaches the connect callback as an error (RFC 4975 §6 / RFC 4976 §9: the
// caller learns "certificate verify failed: hostname mismatch", not a connection that closes).
//
// I/O goes through a tiny socket BIO of our own: OpenSSL reads and writes the fd directly (no
// memory BIO copy), with MSG_NOSIGNAL so a peer reset is an error value, never SIGPIPE.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/event_loop.h"
#include "net/stream.h"
#include "net/tls.h"

struct ssl_st;

namespace msrpd::net {

// Runs one handshake on a connected non-blocking socket, driven by the loop; owns the fd and the
// SSL until it ends. It ends exactly once: done(stream) on success (the stream owns the fd),
// done(error) on failure or after the handshake timeout (the fd is closed before done runs). done
// is the last thing the handshake does, so the owner may destroy the handshake inside done.
// Destroying it earlier abandons it (closes the fd) without calling done.
class TlsHandshake final : private IoHandler {
 public:
  using DoneFn = std::function<void(Result<std::unique_ptr<Stream>>)>;

  // Server side (after accept). Error only if OpenSSL cannot make the SSL object.
  static Result<std::unique_ptr<TlsHandshake>> accept(EventLoop& loop, int fd, const TlsContext& ctx,
                                                      std::string peer, DoneFn done);
  // Client side (after connect). verify_host: the name or IP literal the server certificate must
  // match (RFC 4975 §6); empty: the chain only. SNI is verify_host when it is a name, else the
  // context's server_name.
  static Result<std::unique_ptr<TlsHandshake>> connect(EventLoop& loop, int fd, const TlsContext& ctx,
                                                       std::string_view verify_host, std::string peer,
                                                       DoneFn done);
  ~TlsHandshake() override;
  TlsHandshake(const TlsHandshake&) = delete;
  TlsHandshake& operator=(const TlsHandshake&) = delete;

  // "ip:port" of the peer, as used in the error messages.
  const std::string& peer() const { return peer_; }

 private:
  TlsHandshake(EventLoop& loop, int fd, ssl_st* ssl, std::string peer, uint32_t timeout_ms, DoneFn done,
               bool server);
  void on_io(uint32_t events) override;
  void step();
  void fail(const std::string& why);
  void release();  // unregister, free the SSL, close the fd

  EventLoop& loop_;
  int fd_;
  ssl_st* ssl_;
  std::string peer_;
  DoneFn done_;
  Timer timer_;
  bool server_;
  bool registered_ = false;
};

}  // namespace msrpd::net
