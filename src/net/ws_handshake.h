#pragma once
// The server side of the WebSocket opening handshake (RFC 6455 §4.2) for MSRP over WebSocket
// (RFC 7977): an incremental, bounded parser over the bytes received so far (no I/O inside),
// the Sec-WebSocket-Accept computation (SHA-1 and base64 from OpenSSL) and the response texts.
//
// Not wired to the listeners yet (issue 15, item 1): the framing (libwslay) and the relay path
// come next. What is here is complete and tested on its own (tests/unit/net/ws_handshake_test.cpp,
// fuzz/fuzz_ws_handshake.cpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace msrpd::net {

struct WsHandshakeLimits {
  size_t max_bytes = 8192;  // the request line and headers, CRLF CRLF included
  size_t max_headers = 64;
};

// What a complete request asked for.
enum class WsRequestKind : uint8_t {
  msrp_websocket,   // a valid RFC 6455 upgrade offering the `msrp` subprotocol (RFC 7977 §4.1)
  other_websocket,  // a valid upgrade without `msrp`: the xhttp route's (404 for now)
  plain_http,       // an HTTP request that is no upgrade: the xhttp route's (404 for now)
};

struct WsHandshake {
  enum class Status : uint8_t { need_more, ok, error };
  Status status = Status::need_more;
  // ok: the request's length (the bytes after it are the first WebSocket frames).
  size_t consumed = 0;
  // error: the HTTP status to answer before closing (400 malformed, 431 too long, 426 version).
  int error_status = 0;
  WsRequestKind kind = WsRequestKind::plain_http;
  // Views into the bytes given to parse (valid while they are).
  std::string_view method, target, host, key;
};

// Parses `bytes` (everything received so far, from the connection's first byte). need_more while
// the request is incomplete and within the limits. RFC 6455 §4.2.1: GET, HTTP/1.1, a Host, Upgrade
// naming `websocket`, Connection naming `Upgrade`, a Sec-WebSocket-Key that is the base64 of 16
// bytes and Sec-WebSocket-Version 13 make an upgrade; an upgrade with another version is 426.
WsHandshake parse_ws_handshake(std::string_view bytes, const WsHandshakeLimits& limits = {});

// RFC 6455 §4.2.2 item 5.4: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string ws_accept_key(std::string_view key);

// "HTTP/1.1 101 Switching Protocols" with Sec-WebSocket-Accept and Sec-WebSocket-Protocol: msrp
// (RFC 7977 §4.1: the server selects `msrp`).
std::string ws_upgrade_response(std::string_view key);

// A short HTTP/1.1 error response with Connection: close (426 adds Sec-WebSocket-Version: 13,
// RFC 6455 §4.4).
std::string ws_http_error_response(int status);

}  // namespace msrpd::net
