#include "net/ws_handshake.h"

#include <openssl/evp.h>

#include "common/ascii.h"

namespace msrpd::net {
namespace {

// RFC 6455 §1.3: the GUID appended to the client's key.
constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

WsHandshake fail(int status) {
  WsHandshake r;
  r.status = WsHandshake::Status::error;
  r.error_status = status;
  return r;
}

// True when the comma-separated list `value` holds `token` (case-insensitive, RFC 9110 §5.6.1).
bool list_has(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = ascii::trim(value.substr(0, comma));
    if (ascii::iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// RFC 6455 §4.1: the key is 16 random bytes in base64: 22 characters and "==".
bool valid_key(std::string_view k) {
  if (k.size() != 24 || k[22] != '=' || k[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i) {
    char c = k[i];
    if (!ascii::is_alnum(c) && c != '+' && c != '/') return false;
  }
  return true;
}

}  // namespace

WsHandshake parse_ws_handshake(std::string_view bytes, const WsHandshakeLimits& limits) {
  size_t end = bytes.substr(0, limits.max_bytes).find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (bytes.size() >= limits.max_bytes) return fail(431);
    // A request line must start with a token: garbage is refused before the limit.
    for (char c : bytes.substr(0, bytes.find(' '))) {
      if (!ascii::kHttpToken(c)) return fail(400);
    }
    return {};
  }
  std::string_view head = bytes.substr(0, end + 2);
  WsHandshake r;
  r.consumed = end + 4;

  // Request line: method SP target SP HTTP/1.x CRLF (RFC 9112 §3).
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return fail(400);
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return fail(400);
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (r.method.empty() || !ascii::kHttpToken.all_of(r.method) || r.target.empty() || r.target[0] != '/')
    return fail(400);
  for (char c : r.target) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return fail(400);
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return fail(400);

  std::string_view upgrade, connection, ws_version, protocols;
  bool has_host = false, has_protocol = false;
  size_t count = 0;
  std::string_view rest = head.substr(eol + 2);
  while (!rest.empty()) {
    size_t nl = rest.find("\r\n");
    std::string_view h = rest.substr(0, nl);
    rest.remove_prefix(nl + 2);
    if (++count > limits.max_headers) return fail(431);
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(400);
    std::string_view name = h.substr(0, colon), value = ascii::trim(h.substr(colon + 1));
    // RFC 9112 §5: no whitespace before the colon, no obsolete line folding.
    if (!ascii::kHttpToken.all_of(name)) return fail(400);
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7f) return fail(400);
    }
    if (ascii::iequals(name, "Host")) {
      if (has_host) return fail(400);
      has_host = true;
      r.host = value;
    } else if (ascii::iequals(name, "Upgrade")) {
      upgrade = value;
    } else if (ascii::iequals(name, "Connection")) {
      connection = value;
    } else if (ascii::iequals(name, "Sec-WebSocket-Key")) {
      if (!r.key.empty()) return fail(400);
      r.key = value;
    } else if (ascii::iequals(name, "Sec-WebSocket-Version")) {
      ws_version = value;
    } else if (ascii::iequals(name, "Sec-WebSocket-Protocol")) {
      // RFC 6455 §11.3.4: the header may appear more than once; `msrp` in any of them counts.
      has_protocol = has_protocol || list_has(value, "msrp");
      protocols = value;
    }
  }
  if (!has_host && version == "HTTP/1.1") return fail(400);  // RFC 9112 §3.2
  r.status = WsHandshake::Status::ok;
  bool wants_upgrade = list_has(upgrade, "websocket");
  if (!wants_upgrade) return r;  // plain HTTP
  // RFC 6455 §4.2.1: an upgrade request is GET over HTTP/1.1 with all of these.
  if (r.method != "GET" || version != "HTTP/1.1" || !list_has(connection, "Upgrade") || !valid_key(r.key))
    return fail(400);
  // RFC 6455 §4.4: another version is answered 426 with the one we speak.
  if (ws_version != "13") return fail(426);
  (void)protocols;
  r.kind = has_protocol ? WsRequestKind::msrp_websocket : WsRequestKind::other_websocket;
  return r;
}

std::string ws_accept_key(std::string_view key) {
  std::string input(key);
  input.append(kWsGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha1(), nullptr);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, static_cast<int>(len));
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

std::string ws_upgrade_response(std::string_view key) {
  std::string r =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\nSec-WebSocket-Accept: ";
  r.append(ws_accept_key(key));
  r.append("\r\nSec-WebSocket-Protocol: msrp\r\n\r\n");
  return r;
}

std::string ws_http_error_response(int status) {
  std::string_view reason = status == 400   ? "Bad Request"
                            : status == 404 ? "Not Found"
                            : status == 426 ? "Upgrade Required"
                            : status == 431 ? "Request Header Fields Too Large"
                                            : "Error";
  std::string r = "HTTP/1.1 " + std::to_string(status) + " ";
  r.append(reason).append("\r\n");
  if (status == 426) r.append("Sec-WebSocket-Version: 13\r\n");
  r.append("Content-Length: 0\r\nConnection: close\r\n\r\n");
  return r;
}

}  // namespace msrpd::net
