// The WebSocket opening handshake (RFC 6455 §4.2, RFC 7977 §4.1): parse, accept key, responses.

#include "net/ws_handshake.h"

#include <gtest/gtest.h>

#include <string>

namespace msrpd::net {
namespace {

const std::string kGood =
    "GET /msrp HTTP/1.1\r\nHost: relay.example.com\r\nUpgrade: websocket\r\nConnection: keep-alive, "
    "Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: chat, msrp\r\n\r\n";

TEST(WsHandshake, AcceptKeyIsRfc6455Example) {
  // RFC 6455 §1.3's worked example.
  EXPECT_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, MsrpUpgradeIsRecognisedWithItsLength) {
  const std::string bytes = kGood + "\x81\x85";  // the views point into it
  WsHandshake h = parse_ws_handshake(bytes);
  ASSERT_EQ(h.status, WsHandshake::Status::ok);
  EXPECT_EQ(h.consumed, kGood.size());
  EXPECT_EQ(h.kind, WsRequestKind::msrp_websocket);
  EXPECT_EQ(h.target, "/msrp");
  EXPECT_EQ(h.host, "relay.example.com");
  EXPECT_EQ(h.key, "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST(WsHandshake, EveryPrefixNeedsMore) {
  for (size_t k = 0; k < kGood.size(); ++k) {
    EXPECT_EQ(parse_ws_handshake(std::string_view(kGood).substr(0, k)).status, WsHandshake::Status::need_more)
        << k;
  }
}

TEST(WsHandshake, UpgradeWithoutMsrpIsOtherWebsocket) {
  std::string req = kGood;
  req.replace(req.find("chat, msrp"), 10, "chat");
  WsHandshake h = parse_ws_handshake(req);
  ASSERT_EQ(h.status, WsHandshake::Status::ok);
  EXPECT_EQ(h.kind, WsRequestKind::other_websocket);
}

TEST(WsHandshake, PlainGetIsPlainHttp) {
  WsHandshake h = parse_ws_handshake("GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(h.status, WsHandshake::Status::ok);
  EXPECT_EQ(h.kind, WsRequestKind::plain_http);
  EXPECT_EQ(h.target, "/index.html");
}

TEST(WsHandshake, OtherVersionIs426) {
  std::string req = kGood;
  req.replace(req.find("Version: 13"), 11, "Version: 8");
  EXPECT_EQ(parse_ws_handshake(req).error_status, 426);
  EXPECT_EQ(ws_http_error_response(426),
            "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n");
}

TEST(WsHandshake, BadKeyIs400) {
  std::string req = kGood;
  req.replace(req.find("dGhl"), 4, "dG!l");
  EXPECT_EQ(parse_ws_handshake(req).error_status, 400);
}

TEST(WsHandshake, UpgradeWithoutConnectionUpgradeIs400) {
  std::string req = kGood;
  req.replace(req.find("keep-alive, Upgrade"), 19, "keep-alive");
  EXPECT_EQ(parse_ws_handshake(req).error_status, 400);
}

TEST(WsHandshake, MissingHostIs400) {
  std::string req = kGood;
  req.erase(req.find("Host: "), 25);
  EXPECT_EQ(parse_ws_handshake(req).error_status, 400);
}

TEST(WsHandshake, TooLongIs431BeforeTheEnd) {
  std::string req = "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a');
  EXPECT_EQ(parse_ws_handshake(req).error_status, 431);
}

TEST(WsHandshake, GarbageIs400AtOnce) {
  EXPECT_EQ(parse_ws_handshake("\x16\x03\x01").error_status, 400);
}

TEST(WsHandshake, UpgradeResponseSelectsMsrp) {
  EXPECT_EQ(ws_upgrade_response("dGhlIHNhbXBsZSBub25jZQ=="),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: msrp\r\n\r\n");
}

}  // namespace
}  // namespace msrpd::net
