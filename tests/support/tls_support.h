#pragma once
// Integration-test support for TLS and relay chains: the seed's Example 1.18 config rewritten for
// one test relay (its own port as use_path_addr or none, tls modparams, no ctl/mi_fifo sockets),
// and TlsProxy, which lets the blocking MSRP test client (client::Client, plain TCP) talk to an
// msrps port: it accepts one local TCP connection and carries its bytes over a TLS connection to
// the relay, both ways, closing one side when the other closes.

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "tls_certs.h"

namespace msrpd::itest {

using net::testing::test_certs;

// A free port that differs from the ones given (free_port() may hand out the same port twice).
inline uint16_t free_port_except(const std::vector<uint16_t>& taken) {
  for (;;) {
    uint16_t p = free_port();
    bool clash = false;
    for (uint16_t t : taken) clash = clash || t == p;
    if (!clash) return p;
  }
}

struct RelayCfg {
  std::string use_path_addr;            // empty: no use_path_addr (Use-Path from the local socket)
  std::vector<std::string> tls_params;  // modparam("tls", ...) lines' "name", "value" pairs
};

// Writes the config to a temporary file and returns its path.
inline std::string write_relay_cfg(const RelayCfg& rc) {
  std::string text = read_file(source_path("examples/kamailio-1.18.cfg"));
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos + 1);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.find("mi_fifo") != std::string::npos || line.find("\"ctl") != std::string::npos) continue;
    if (line.find("\"use_path_addr\"") != std::string::npos) {
      if (!rc.use_path_addr.empty())
        out += "modparam(\"msrp\", \"use_path_addr\", \"" + rc.use_path_addr + "\")\n";
      continue;
    }
    out += line;
    if (line.rfind("loadmodule \"msrp.so\"", 0) == 0 && !rc.tls_params.empty()) {
      out += "loadmodule \"tls.so\"\n";
      for (size_t i = 0; i + 1 < rc.tls_params.size(); i += 2)
        out += "modparam(\"tls\", \"" + rc.tls_params[i] + "\", \"" + rc.tls_params[i + 1] + "\")\n";
    }
  }
  char tmpl[] = "/tmp/msrpd-itest-cfg-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ::close(fd);
  std::ofstream(tmpl) << out;
  return tmpl;
}

// tls modparams of a relay with the test server certificate (DNS:localhost, IP:127.0.0.1) that
// trusts the test CA.
inline std::vector<std::string> relay_tls_params(std::vector<std::string> extra = {}) {
  const auto& c = test_certs();
  std::vector<std::string> p = {"certificate", c.server_cert, "private_key", c.server_key, "ca_list", c.ca};
  p.insert(p.end(), extra.begin(), extra.end());
  return p;
}

class TlsProxy {
 public:
  struct Options {
    std::string cert, key;  // client certificate; empty: none
    std::string ca;         // trusted CA (server verification against 127.0.0.1); empty: no check
  };
  // Connects to 127.0.0.1:port with TLS (bounded), then listens locally. nullptr when the
  // handshake fails (error() of the last attempt is in last_error()).
  static std::unique_ptr<TlsProxy> open(uint16_t port, const Options& o, std::string* error = nullptr) {
    auto p = std::unique_ptr<TlsProxy>(new TlsProxy);
    if (!p->start(port, o, error)) return nullptr;
    return p;
  }
  ~TlsProxy() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    for (int fd : {tls_fd_, listen_fd_, local_fd_})
      if (fd >= 0) ::close(fd);
  }
  // The plain MSRP client on the local side.
  client::Client connect() {
    auto c = client::Client::connect("127.0.0.1", local_port_);
    return c ? std::move(*c) : client::Client();
  }
  uint16_t tls_local_port() const { return tls_local_port_; }  // what the relay sees as the peer

 private:
  TlsProxy() = default;
  bool start(uint16_t port, const Options& o, std::string* error) {
    auto fail = [&](const std::string& m) {
      char buf[256];
      unsigned long e = ERR_get_error();
      std::string msg = m;
      if (e) {
        ERR_error_string_n(e, buf, sizeof buf);
        msg += ": " + std::string(buf);
      }
      ERR_clear_error();
      if (error) *error = msg;
      return false;
    };
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) return fail("SSL_CTX_new");
    if (!o.cert.empty() && (SSL_CTX_use_certificate_chain_file(ctx_, o.cert.c_str()) != 1 ||
                            SSL_CTX_use_PrivateKey_file(ctx_, o.key.c_str(), SSL_FILETYPE_PEM) != 1))
      return fail("client certificate");
    if (!o.ca.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_, o.ca.c_str(), nullptr) != 1) return fail("ca");
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    tls_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(tls_fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(tls_fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(tls_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("connect");
    socklen_t len = sizeof a;
    ::getsockname(tls_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    tls_local_port_ = ntohs(a.sin_port);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, tls_fd_);
    if (!o.ca.empty()) {
      X509_VERIFY_PARAM* vp = SSL_get0_param(ssl_);
      X509_VERIFY_PARAM_set1_ip_asc(vp, "127.0.0.1");
    }
    if (SSL_connect(ssl_) != 1) return fail("tls handshake");
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 1);
    len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    local_port_ = ntohs(a.sin_port);
    ::fcntl(tls_fd_, F_SETFL, ::fcntl(tls_fd_, F_GETFL) | O_NONBLOCK);
    thread_ = std::thread([this] { run(); });
    return true;
  }

  void run() {
    // Wait (bounded by stop_) for the local client.
    while (!stop_ && local_fd_ < 0) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) local_fd_ = ::accept(listen_fd_, nullptr, nullptr);
    }
    char buf[16384];
    while (!stop_) {
      pollfd ps[2] = {{local_fd_, POLLIN, 0}, {tls_fd_, POLLIN, 0}};
      if (SSL_pending(ssl_) == 0 && ::poll(ps, 2, 50) <= 0) continue;
      if (ps[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::read(local_fd_, buf, sizeof buf);
        if (n <= 0) break;
        if (!write_tls(buf, static_cast<size_t>(n))) break;
      }
      if (SSL_pending(ssl_) > 0 || (ps[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        int n = SSL_read(ssl_, buf, sizeof buf);
        if (n > 0) {
          if (!write_all(local_fd_, buf, static_cast<size_t>(n))) break;
        } else {
          int e = SSL_get_error(ssl_, n);
          if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) break;
        }
      }
    }
    // One side closed: close the other (the local client sees the relay's close).
    ::shutdown(local_fd_, SHUT_RDWR);
    ::shutdown(tls_fd_, SHUT_RDWR);
  }
  bool write_tls(const char* p, size_t n) {
    while (n > 0 && !stop_) {
      int w = SSL_write(ssl_, p, static_cast<int>(n));
      if (w > 0) {
        p += w;
        n -= static_cast<size_t>(w);
        continue;
      }
      int e = SSL_get_error(ssl_, w);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return false;
      pollfd pf{tls_fd_, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      ::poll(&pf, 1, 50);
    }
    return n == 0;
  }
  static bool write_all(int fd, const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd, p, n);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int tls_fd_ = -1, listen_fd_ = -1, local_fd_ = -1;
  uint16_t local_port_ = 0, tls_local_port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace msrpd::itest
