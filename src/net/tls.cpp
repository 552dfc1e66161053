#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/ascii.h"

namespace msrpd::net {

namespace {

// The reason of the most recent OpenSSL error, and the queue emptied.
std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  const char* r = e ? ERR_reason_error_string(e) : nullptr;
  std::string s = r ? r : (e ? "error " + std::to_string(e) : "unknown error");
  ERR_clear_error();
  return s;
}

// A clear message for a file we cannot open, before OpenSSL's vaguer one.
Result<void> readable(const char* what, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return make_error(0, std::string("tls ") + what + " " + path + ": " + std::strerror(errno));
  std::fclose(f);
  return {};
}

struct VersionRange {
  int min = TLS1_2_VERSION;
  int max = 0;  // 0 = the newest OpenSSL knows
};

Result<VersionRange> parse_method(const std::string& m) {
  auto is = [&m](std::string_view s) { return ascii::iequals(m, s); };
  if (m.empty() || is("TLSv1.2+") || is("SSLv23") || is("TLSv1+") || is("TLSv1.1+")) return VersionRange{};
  if (is("TLSv1.2")) return VersionRange{TLS1_2_VERSION, TLS1_2_VERSION};
  if (is("TLSv1.3")) return VersionRange{TLS1_3_VERSION, TLS1_3_VERSION};
  if (is("TLSv1.3+")) return VersionRange{TLS1_3_VERSION, 0};
  if (is("TLSv1") || is("TLSv1.1") || is("SSLv3") || is("SSLv2"))
    return make_error(0, "tls_method " + m + ": older than TLS 1.2");
  return make_error(0, "tls_method " + m + ": unknown (use TLSv1.2+, TLSv1.3+, TLSv1.2 or TLSv1.3)");
}

}  // namespace

TlsContext::TlsContext(const TlsSettings& s, ssl_ctx_st* ctx, bool has_cert)
    : settings_(s), ctx_(ctx), has_certificate_(has_cert) {}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

Result<std::unique_ptr<TlsContext>> TlsContext::create(const TlsSettings& s) {
  auto range = parse_method(s.tls_method);
  if (!range) return range.error();
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (!ctx) return make_error(0, "tls: cannot create a context: " + openssl_reason());
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> guard(ctx, SSL_CTX_free);

  SSL_CTX_set_min_proto_version(ctx, range->min);
  SSL_CTX_set_max_proto_version(ctx, range->max);
  // No renegotiation (a TLS 1.2 peer cannot start one mid-stream), no compression (CRIME), and an
  // EOF without close_notify is an ordinary close: MSRP frames carry their own end-lines, so a
  // truncated frame is seen by the parser anyway.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Partial writes: SSL_write returns after each record, like a socket's write. Moving buffer:
  // a write retried after WANT_WRITE may come from the connection's queue instead of the caller's
  // buffer (same bytes, different address).
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  static const unsigned char kSessionContext[] = "msrpd";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);

  if (!s.cipher_list.empty() && SSL_CTX_set_cipher_list(ctx, s.cipher_list.c_str()) != 1)
    return make_error(0, "tls cipher_list '" + s.cipher_list + "': " + openssl_reason());

  bool has_cert = false;
  if (!s.certificate.empty()) {
    if (auto r = readable("certificate", s.certificate); !r) return r.error();
    if (SSL_CTX_use_certificate_chain_file(ctx, s.certificate.c_str()) != 1)
      return make_error(0, "tls certificate " + s.certificate + ": " + openssl_reason());
    const std::string& key = s.private_key.empty() ? s.certificate : s.private_key;
    if (auto r = readable("private_key", key); !r) return r.error();
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) != ERR_LIB_X509 || ERR_GET_REASON(e) != X509_R_KEY_VALUES_MISMATCH)
        return make_error(0, "tls private_key " + key + ": " + openssl_reason());
      ERR_clear_error();
      return make_error(0, "tls private_key " + key + " does not match certificate " + s.certificate);
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      return make_error(0, "tls private_key " + key + " does not match certificate " + s.certificate);
    }
    has_cert = true;
  } else if (!s.private_key.empty()) {
    return make_error(0, "tls private_key " + s.private_key + " given without a certificate");
  }

  if (!s.ca_list.empty()) {
    if (auto r = readable("ca_list", s.ca_list); !r) return r.error();
    if (SSL_CTX_load_verify_locations(ctx, s.ca_list.c_str(), nullptr) != 1)
      return make_error(0, "tls ca_list " + s.ca_list + ": " + openssl_reason());
    // The CertificateRequest names the CAs we accept, so a client can pick its certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.ca_list.c_str()))
      SSL_CTX_set_client_CA_list(ctx, names);
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    ERR_clear_error();  // no system CA store: only an explicit ca_list can verify then
  }
  SSL_CTX_set_verify_depth(ctx, s.verify_depth);
  ERR_clear_error();
  return std::unique_ptr<TlsContext>(new TlsContext(s, guard.release(), has_cert));
}

}  // namespace msrpd::net
