#include "net/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/host_port.h"
#include "net/address.h"
#include "net/socket.h"

namespace msrpd::net {

namespace {

// ---- the socket BIO: recv/send on the fd, MSG_NOSIGNAL, errno kept for the error text ----

struct SocketIo {
  int fd = -1;
  int last_errno = 0;
};

int bio_write(BIO* b, const char* buf, int len) {
  auto* io = static_cast<SocketIo*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  ssize_t n = sock::send_some(io->fd, buf, static_cast<size_t>(len));
  if (n < 0) {
    io->last_errno = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
  }
  return static_cast<int>(n);
}

int bio_read(BIO* b, char* buf, int len) {
  auto* io = static_cast<SocketIo*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  ssize_t n = sock::recv_some(io->fd, buf, static_cast<size_t>(len));
  if (n < 0) {
    io->last_errno = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
  }
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // writes go straight to the socket
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO* b) {
  delete static_cast<SocketIo*>(BIO_get_data(b));
  BIO_set_data(b, nullptr);
  return 1;
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* m = [] {
    BIO_METHOD* bm =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "msrpd socket");
    BIO_meth_set_write(bm, bio_write);
    BIO_meth_set_read(bm, bio_read);
    BIO_meth_set_ctrl(bm, bio_ctrl);
    BIO_meth_set_create(bm, bio_create);
    BIO_meth_set_destroy(bm, bio_destroy);
    return bm;
  }();
  return m;
}

SocketIo* socket_io(SSL* ssl) {
  return static_cast<SocketIo*>(BIO_get_data(SSL_get_rbio(ssl)));
}

// A client-side/server-side SSL over fd with our BIO (the fd is not owned by it).
SSL* new_ssl(const TlsContext& ctx, int fd) {
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx.native());
  if (!ssl) return nullptr;
  BIO* bio = BIO_new(socket_method());
  if (!bio) {
    SSL_free(ssl);
    return nullptr;
  }
  BIO_set_data(bio, new SocketIo{fd});
  SSL_set_bio(ssl, bio, bio);
  return ssl;
}

std::string take_reason() {
  unsigned long e = ERR_peek_last_error();
  const char* r = e ? ERR_reason_error_string(e) : nullptr;
  std::string s = r ? r : "protocol error";
  ERR_clear_error();
  return s;
}

// Verify callback for a server that accepts clients without a valid certificate (RFC 4976 §6.1:
// they are clients, not relays): the chain is still checked and the result kept
// (SSL_get_verify_result), but a failure does not end the handshake.
int accept_any(int, X509_STORE_CTX*) {
  return 1;
}

// The subjectAltName dNSName entries of a certificate, in certificate order.
std::vector<std::string> dns_names_of(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type != GEN_DNS) continue;
    const unsigned char* d = ASN1_STRING_get0_data(g->d.dNSName);
    int len = ASN1_STRING_length(g->d.dNSName);
    if (d && len > 0) out.emplace_back(reinterpret_cast<const char*>(d), static_cast<size_t>(len));
  }
  GENERAL_NAMES_free(names);
  return out;
}

PeerCertificate describe_peer(SSL* ssl) {
  PeerCertificate p;
  p.version = SSL_get_version(ssl);
  if (const char* c = SSL_get_cipher_name(ssl)) p.cipher = c;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return p;
  p.present = true;
  long v = SSL_get_verify_result(ssl);
  p.verified = v == X509_V_OK && SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE;
  if (v != X509_V_OK) p.verify_error = X509_verify_cert_error_string(v);
  if (BIO* mem = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long n = BIO_get_mem_data(mem, &data);
    if (n > 0) p.subject.assign(data, static_cast<size_t>(n));
    BIO_free(mem);
  }
  p.dns_names = dns_names_of(cert);
  ERR_clear_error();
  return p;
}

// ---- the established stream ----

class TlsStream final : public Stream {
 public:
  TlsStream(int fd, SSL* ssl) : fd_(fd), ssl_(ssl), peer_(describe_peer(ssl)) {}
  ~TlsStream() override {
    // close_notify (best effort: one non-blocking attempt) unless the session already failed.
    if (!fatal_ && !shutdown_sent_) {
      ERR_clear_error();
      SSL_shutdown(ssl_);
    }
    SSL_free(ssl_);
    ERR_clear_error();
    sock::close(fd_);
  }

  int fd() const override { return fd_; }
  Transport transport() const override { return Transport::tls; }

  IoResult read(char* buf, size_t len) override {
    if (fatal_) return {IoResult::Status::error, 0, EPROTO, IoResult::Want::none};
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_read_ex(ssl_, buf, len, &n);
    if (rc == 1) return IoResult::ok(n);
    return failed(rc);
  }

  IoResult writev(const iovec* iov, int count) override {
    if (fatal_) return {IoResult::Status::error, 0, EPROTO, IoResult::Want::none};
    // OpenSSL has no writev: one SSL_write per record-sized piece; the records are what goes on
    // the wire anyway, so nothing is gathered or copied here.
    size_t total = 0;
    for (int i = 0; i < count; ++i) {
      const char* p = static_cast<const char*>(iov[i].iov_base);
      size_t left = iov[i].iov_len;
      while (left > 0) {
        size_t chunk = std::min(left, kMaxStreamRecord);
        size_t w = 0;
        ERR_clear_error();
        int rc = SSL_write_ex(ssl_, p, chunk, &w);
        if (rc != 1) {
          IoResult r = failed(rc);
          // Report what went through first: a retry after would_block starts at p, as OpenSSL
          // needs; an error is seen again (fatal_) on the next call.
          return total > 0 ? IoResult::ok(total) : r;
        }
        total += w;
        p += w;
        left -= w;
      }
    }
    return IoResult::ok(total);
  }

  void shutdown_write() override {
    if (fatal_ || shutdown_sent_) return;
    shutdown_sent_ = true;
    ERR_clear_error();
    SSL_shutdown(ssl_);  // sends close_notify; the peer's comes back as EOF on read
    ERR_clear_error();
  }

  bool has_pending() const override { return !fatal_ && SSL_has_pending(ssl_) == 1; }

  std::string error_text(int err) const override {
    if (err == EPROTO && !error_.empty()) return error_;
    return Stream::error_text(err);
  }

  const PeerCertificate* peer_certificate() const override { return &peer_; }

 private:
  IoResult failed(int rc) {
    switch (SSL_get_error(ssl_, rc)) {
      case SSL_ERROR_WANT_READ:
        return {IoResult::Status::would_block, 0, 0, IoResult::Want::read};
      case SSL_ERROR_WANT_WRITE:
        return {IoResult::Status::would_block, 0, 0, IoResult::Want::write};
      case SSL_ERROR_ZERO_RETURN:  // close_notify, or a plain EOF (SSL_OP_IGNORE_UNEXPECTED_EOF)
        return {IoResult::Status::eof, 0, 0, IoResult::Want::none};
      case SSL_ERROR_SYSCALL: {
        fatal_ = true;
        int e = socket_io(ssl_)->last_errno;
        ERR_clear_error();
        if (e == 0) return {IoResult::Status::eof, 0, 0, IoResult::Want::none};
        return {IoResult::Status::error, 0, e, IoResult::Want::none};
      }
      default:
        fatal_ = true;
        error_ = "tls: " + take_reason();
        return {IoResult::Status::error, 0, EPROTO, IoResult::Want::none};
    }
  }

  int fd_;
  SSL* ssl_;
  PeerCertificate peer_;
  std::string error_;
  bool fatal_ = false;
  bool shutdown_sent_ = false;
};

}  // namespace

// ---- TlsHandshake ----

TlsHandshake::TlsHandshake(EventLoop& loop, int fd, SSL* ssl, std::string peer, uint32_t timeout_ms,
                           DoneFn done, bool server)
    : loop_(loop),
      fd_(fd),
      ssl_(ssl),
      peer_(std::move(peer)),
      done_(std::move(done)),
      timer_(loop, [this] { fail("timeout"); }),
      server_(server) {
  // A server waits for the ClientHello; a client can write its own at once.
  registered_ = static_cast<bool>(loop_.add(fd_, server ? EPOLLIN : EPOLLOUT, this));
  if (timeout_ms) timer_.start(timeout_ms);
  if (!registered_) {
    // Cannot happen for a fresh fd; fail on the next iteration rather than inside the constructor.
    timer_.start(0);
  }
}

TlsHandshake::~TlsHandshake() {
  release();
}

void TlsHandshake::release() {
  timer_.cancel();
  if (registered_) {
    loop_.remove(fd_);
    registered_ = false;
  }
  if (ssl_) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    ERR_clear_error();
  }
  if (fd_ >= 0) {
    sock::close(fd_);
    fd_ = -1;
  }
}

Result<std::unique_ptr<TlsHandshake>> TlsHandshake::accept(EventLoop& loop, int fd, const TlsContext& ctx,
                                                           std::string peer, DoneFn done) {
  SSL* ssl = new_ssl(ctx, fd);
  if (!ssl) {
    sock::close(fd);
    return make_error(0, "tls handshake with " + peer + ": " + take_reason());
  }
  const TlsSettings& s = ctx.settings();
  if (s.require_certificate) {
    // RFC 4976 §9.2: relays authenticate each other with certificates; this port takes nobody else.
    SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else if (s.verify_certificate) {
    // RFC 4976 §6.1: ask (CertificateRequest); a client without a valid one is still welcome.
    SSL_set_verify(ssl, SSL_VERIFY_PEER, accept_any);
  } else {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
  }
  SSL_set_accept_state(ssl);
  return std::unique_ptr<TlsHandshake>(
      new TlsHandshake(loop, fd, ssl, std::move(peer), s.handshake_timeout_ms, std::move(done), true));
}

Result<std::unique_ptr<TlsHandshake>> TlsHandshake::connect(EventLoop& loop, int fd, const TlsContext& ctx,
                                                            std::string_view verify_host, std::string peer,
                                                            DoneFn done) {
  SSL* ssl = new_ssl(ctx, fd);
  if (!ssl) {
    sock::close(fd);
    return make_error(0, "tls handshake with " + peer + ": " + take_reason());
  }
  const TlsSettings& s = ctx.settings();
  std::string host(strip_brackets(verify_host));
  bool is_ip = SockAddr::is_numeric(host);
  // RFC 6066 §3: SNI carries names only, never an IP literal.
  const std::string& sni = (!host.empty() && !is_ip) ? host : s.server_name;
  bool ok = true;
  if (!sni.empty()) ok = SSL_set_tlsext_host_name(ssl, sni.c_str()) == 1;
  if (s.verify_server) {
    // RFC 4975 §6, RFC 4976 §9: the certificate must match the host of the URI we connect to
    // (subjectAltName dNSName, or iPAddress for an IP literal).
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    if (!host.empty()) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (is_ip) {
        ok = ok && X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
      } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = ok && X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
      }
    }
  } else {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
  }
  if (!ok) {
    SSL_free(ssl);
    sock::close(fd);
    ERR_clear_error();
    return make_error(0, "tls handshake with " + peer + ": bad host name '" + host + "'");
  }
  SSL_set_connect_state(ssl);
  return std::unique_ptr<TlsHandshake>(
      new TlsHandshake(loop, fd, ssl, std::move(peer), s.handshake_timeout_ms, std::move(done), false));
}

void TlsHandshake::on_io(uint32_t) {
  step();
}

void TlsHandshake::step() {
  if (!ssl_ || !registered_) return fail("cannot watch the socket");
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    timer_.cancel();
    loop_.remove(fd_);
    registered_ = false;
    std::unique_ptr<Stream> stream = std::make_unique<TlsStream>(fd_, ssl_);
    fd_ = -1;
    ssl_ = nullptr;
    DoneFn done = std::move(done_);
    done(std::move(stream));  // may destroy this
    return;
  }
  int err = SSL_get_error(ssl_, rc);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      (void)loop_.modify(fd_, EPOLLIN);
      return;
    case SSL_ERROR_WANT_WRITE:
      (void)loop_.modify(fd_, EPOLLOUT);
      return;
    case SSL_ERROR_ZERO_RETURN:
      return fail("connection closed by peer");
    case SSL_ERROR_SYSCALL: {
      int e = socket_io(ssl_)->last_errno;
      ERR_clear_error();
      return fail(e ? std::strerror(e) : "connection closed by peer");
    }
    default: {
      long v = SSL_get_verify_result(ssl_);
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
          v != X509_V_OK) {
        ERR_clear_error();
        return fail(std::string("certificate verify failed: ") + X509_verify_cert_error_string(v));
      }
      return fail(take_reason());
    }
  }
}

void TlsHandshake::fail(const std::string& why) {
  if (fd_ >= 0) {
    // Closing with unread bytes makes the kernel send a reset; a peer that spoke plain TCP to
    // the TLS port gets an orderly FIN instead if what it sent is read and dropped first.
    char sink[4096];
    for (int i = 0; i < 16 && sock::recv_some(fd_, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
    }
  }
  release();
  DoneFn done = std::move(done_);
  if (done) done(make_error(0, "tls handshake with " + peer_ + ": " + why));  // may destroy this
}

std::vector<std::string> TlsContext::certificate_dns_names() const {
  X509* cert = has_certificate_ ? SSL_CTX_get0_certificate(ctx_) : nullptr;
  return cert ? dns_names_of(cert) : std::vector<std::string>();
}

}  // namespace msrpd::net
