#pragma once
// Stream: the byte pipe under a Connection (internal to src/net). Plain TCP now; TLS later wraps
// an OpenSSL SSL over the same fd and implements the same four calls, so Connection and its users
// do not change. A TLS stream may need the opposite readiness to progress (SSL_read wanting to
// write during a renegotiation or the handshake): it says so through IoResult::want, and the
// Connection adds that interest to epoll.

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <string>

#include "net/address.h"
#include "net/tls.h"

namespace msrpd::net {

struct IoResult {
  enum class Status : uint8_t { ok, would_block, eof, error };
  enum class Want : uint8_t { none, read, write };
  Status status = Status::ok;
  size_t bytes = 0;  // bytes moved when status == ok
  int err = 0;       // errno when status == error
  Want want = Want::none;

  static IoResult ok(size_t n) { return {Status::ok, n, 0, Want::none}; }
};

class Stream {
 public:
  virtual ~Stream() = default;
  virtual int fd() const = 0;
  virtual Transport transport() const = 0;
  // Non-blocking. read(): ok with bytes > 0, would_block, eof (peer closed), or error.
  virtual IoResult read(char* buf, size_t len) = 0;
  // Writes as much as possible of the vectors; ok with the bytes written (may be partial).
  virtual IoResult writev(const iovec* iov, int count) = 0;
  // Sends what the transport needs to end the write direction (FIN; close_notify for TLS).
  virtual void shutdown_write() = 0;

  // TLS: decrypted bytes (or whole records) held inside the stream that epoll cannot announce,
  // because they already left the socket. Connection reads again without waiting for readiness.
  virtual bool has_pending() const { return false; }
  // The text for an IoResult::err (a TLS stream has protocol errors that are no errno).
  virtual std::string error_text(int err) const;
  // TLS: the peer's certificate as the handshake saw it; nullptr for TCP.
  virtual const PeerCertificate* peer_certificate() const { return nullptr; }
};

// A TLS stream may take fewer bytes than offered from one writev(). After would_block it must be
// offered the same next bytes again, at least as many as the first iovec held, up to this many:
// OpenSSL has already sealed that record. Connection's write blocks are larger than this, so the
// retry from its queue always presents the whole record again.
inline constexpr size_t kMaxStreamRecord = 16000;

// Plain TCP over a connected non-blocking socket; owns (closes) the fd.
std::unique_ptr<Stream> make_tcp_stream(int fd);

}  // namespace msrpd::net
