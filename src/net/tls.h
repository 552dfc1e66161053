#pragma once
// TLS for the transport: the settings (as Kamailio's tls module names them), the shared OpenSSL
// context built from them, and what a TLS connection learned about its peer's certificate.
//
//   TlsSettings s;
//   s.certificate = "/etc/msrpd/relay.pem";
//   s.private_key = "/etc/msrpd/relay.key";
//   s.ca_list = "/etc/msrpd/ca.pem";
//   s.verify_certificate = true;                 // RFC 4976 §6.1: send a CertificateRequest
//   auto ctx = TlsContext::create(s);            // start-up: names the file that is wrong
//   if (!ctx) die(ctx.error().message);
//
//   ListenOptions lo;  lo.transport = Transport::tls;  lo.tls = ctx->get();     // msrps listener
//   ConnectOptions co; co.transport = Transport::tls;  co.tls = ctx->get();
//   co.verify_host = "relay.example.com";        // RFC 4975 §6: the host of the next hop's URI
//
// One TlsContext serves every worker (OpenSSL's SSL_CTX is shared read-only once built) and both
// directions: accepted connections run the server side, outbound ones the client side. A relay
// presents the same certificate as a client to other relays (RFC 4976 §9.2: mutual TLS).
// The context must outlive the listeners and connectors that use it; established connections keep
// what they need themselves.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX, kept out of our headers

namespace msrpd::net {

struct TlsSettings {
  std::string certificate;  // PEM certificate (chain) file; needed to listen
  std::string private_key;  // PEM key file; empty: the key is read from `certificate`
  std::string ca_list;      // PEM file of trusted CAs; empty: the system's default CA paths
  // Server side: send a CertificateRequest and check what the client sends (RFC 4976 §6.1: a
  // client certificate that verifies marks the peer as a relay; without one it is a client).
  bool verify_certificate = false;
  // Server side: refuse clients that send no certificate or one that does not verify. Implies
  // verify_certificate.
  bool require_certificate = false;
  // Outbound: verify the server's chain and its name against the host we connect to. RFC 4975
  // §6 makes this a MUST for msrps; turn it off only for tests against self-signed peers.
  bool verify_server = true;
  // Kamailio's tls_method: "TLSv1.2+" (default), "TLSv1.3+", "TLSv1.2", "TLSv1.3". "SSLv23",
  // "TLSv1+" and "TLSv1.1+" are taken as "TLSv1.2+": nothing older than TLS 1.2 is ever spoken.
  std::string tls_method = "TLSv1.2+";
  std::string cipher_list;  // OpenSSL cipher string for TLS 1.2; empty: OpenSSL's default
  // SNI sent on outbound connects whose target host is an IP literal (a name is sent as is).
  std::string server_name;
  uint32_t handshake_timeout_ms = 10000;  // a handshake not done by then is dropped
  int verify_depth = 9;
};

class TlsContext {
 public:
  // Start-up only. Errors name the file or the setting: "tls certificate /x.pem: No such file or
  // directory", "tls private_key /k.pem does not match certificate /c.pem", "tls_method SSLv3:
  // older than TLS 1.2".
  static Result<std::unique_ptr<TlsContext>> create(const TlsSettings& s);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  const TlsSettings& settings() const { return settings_; }
  bool has_certificate() const { return has_certificate_; }
  // The subjectAltName dNSName entries of this relay's own certificate (RFC 4976 §6.2: names the
  // relay answers to); empty without a certificate.
  std::vector<std::string> certificate_dns_names() const;
  ssl_ctx_st* native() const { return ctx_; }

 private:
  TlsContext(const TlsSettings& s, ssl_ctx_st* ctx, bool has_cert);
  TlsSettings settings_;
  ssl_ctx_st* ctx_;
  bool has_certificate_;
};

// What the handshake established about the peer's certificate (kept per connection).
struct PeerCertificate {
  bool present = false;                // the peer sent a certificate
  bool verified = false;               // ... and it verified against ca_list (and the host, outbound)
  std::string subject;                 // RFC 2253 text, e.g. "CN=relay.example.com,O=Example"
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries, in certificate order
  std::string verify_error;            // why it did not verify ("unable to get local issuer...")
  std::string version;                 // "TLSv1.3"
  std::string cipher;                  // "TLS_AES_256_GCM_SHA384"
};

}  // namespace msrpd::net
