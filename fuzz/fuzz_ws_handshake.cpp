// libFuzzer target for the WebSocket opening handshake parser (src/net/ws_handshake.h), driven as
// a connection receives bytes: parse_ws_handshake over growing prefixes. Checked on every input:
// - the outcome only goes need_more -> one final answer, and every longer prefix gives the same;
// - ok consumes exactly up to and including the first CRLF CRLF, within the limit;
// - an error is one of 400, 426, 431 and its response is one well-formed HTTP/1.1 response;
// - an msrp upgrade's key gives a 28-character accept value.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/ws_handshake.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr msrpd::net::WsHandshakeLimits kLimits{1024, 16};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using msrpd::net::WsHandshake;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  WsHandshake whole = msrpd::net::parse_ws_handshake(in, kLimits);
  if (whole.status == WsHandshake::Status::ok) {
    check(whole.consumed == in.find("\r\n\r\n") + 4 && whole.consumed <= kLimits.max_bytes);
    if (whole.kind == msrpd::net::WsRequestKind::msrp_websocket) {
      check(msrpd::net::ws_accept_key(whole.key).size() == 28);
      check(msrpd::net::ws_upgrade_response(whole.key).starts_with("HTTP/1.1 101 "));
    }
  } else if (whole.status == WsHandshake::Status::error) {
    int s = whole.error_status;
    check(s == 400 || s == 426 || s == 431);
    std::string r = msrpd::net::ws_http_error_response(s);
    check(r.starts_with("HTTP/1.1 ") && r.ends_with("\r\nConnection: close\r\n\r\n"));
  } else {
    check(size < kLimits.max_bytes);
  }
  bool final = false;
  for (size_t k = 0; k <= size; k += size <= 256 ? 1 : 1 + k / 16) {
    WsHandshake p = msrpd::net::parse_ws_handshake(in.substr(0, k), kLimits);
    if (p.status == WsHandshake::Status::need_more) {
      check(!final);
      continue;
    }
    final = true;
    check(p.status == whole.status && p.error_status == whole.error_status && p.consumed == whole.consumed &&
          p.kind == whole.kind);
  }
  return 0;
}
