#pragma once
// The tls module's settings for the engine (EngineConfig::tls), from the routing script's
// modparam("tls", ...) lines with Kamailio's names, and from a tls.cfg file as Kamailio reads it
// (modparam("tls", "config", "/etc/msrpd/tls.cfg")):
//
//   [server:default]                  # the msrps listeners
//   method = TLSv1.2+
//   certificate = /etc/msrpd/relay.pem
//   private_key = /etc/msrpd/relay.key
//   ca_list = /etc/msrpd/ca.pem
//   verify_certificate = yes          # ask clients for a certificate (RFC 4976 §6.1)
//   require_certificate = no
//   cipher_list = HIGH
//
//   [client:default]                  # outbound msrps connections to next hops
//   verify_certificate = yes          # check the next hop's certificate (RFC 4976 §9); "no" for tests
//
// One context serves both directions, so [server:default] wins for the certificate, key, CA list,
// method and ciphers; [client:default] fills in what the server section leaves unset. Values of
// the file override the modparams. Other sections ([server:1.2.3.4:5061]...) are ignored.
// Relative file names are taken relative to base_dir (the routing script's directory).

#include <map>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/tls.h"

namespace msrpd::relay {

// Start-up only. Errors name the parameter or the file and line: "tls verify_certificate: 'maybe'
// is not a boolean", "tls.cfg /etc/msrpd/tls.cfg:3: expected key = value".
Result<net::TlsSettings> tls_settings_from_params(const std::map<std::string, std::string>& params,
                                                  std::string_view base_dir = {});

// The text of a tls.cfg applied to s (path is for messages and relative names).
Result<void> apply_tls_cfg(net::TlsSettings& s, std::string_view text, std::string_view path,
                           std::string_view base_dir = {});

}  // namespace msrpd::relay
