// RFC 4975 §12: a header the relay does not know is ignored, and a relay forwards it unchanged. Header
// names are RFC 4975 §9 tokens, which allow "# $ & ^ { | }" beside RFC 3261's token characters.

#include <gtest/gtest.h>

#include <string>

#include "engine_fixture.h"
#include "forwarded.h"

namespace msrpd::relay {
namespace {

using engine_test::Client;
using engine_test::EngineRelayTest;

TEST_F(EngineRelayTest, SendWithMsrpOnlyTokenCharactersInHeaderNamesIsRelayedWithThoseLinesByteExact) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty()) << last_auth_reply_;
  const std::string unknown = "X-A&B: 1\r\nX-{|}^#$: v  with  spaces\r\n";
  ASSERT_TRUE(alice.send(send_frame("send0001", sessid, "hello", "SEND", unknown)));
  auto ok = alice.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "MSRP send0001 200 OK\r\nTo-Path: " + std::string(kAlice) + "\r\nFrom-Path: " +
                     relay_session_uri(sessid) + "\r\nMessage-ID: msg0001\r\n-------send0001$\r\n");
  auto relayed = bob.frame();
  ASSERT_TRUE(relayed.has_value());
  // With a transaction id of the relay's (RFC 4976 §6.4).
  EXPECT_EQ(testing::forwarded_as(*relayed, "send0001"),
            "MSRP send0001 SEND\r\n"
            "To-Path: msrp://bob.example.com:7777/bobsess;tcp\r\n"
            "From-Path: msrp://127.0.0.1:" +
                std::to_string(port_) + "/" + sessid +
                ";tcp msrp://alice.example.com:9999/alicesess;tcp\r\n"
                "Message-ID: msg0001\r\n"
                "X-A&B: 1\r\n"
                "X-{|}^#$: v  with  spaces\r\n"
                "Byte-Range: 1-5/5\r\n"
                "Content-Type: text/plain\r\n"
                "\r\n"
                "hello\r\n"
                "-------send0001$\r\n");
  EXPECT_EQ(engine_->stats().relayed(msrp::Method::send), 1u);
}

TEST_F(EngineRelayTest, SendWithAtSignInAHeaderNameGets400) {
  Client alice(port_);
  ASSERT_TRUE(alice.send(send_frame("send0001", "anysession", "hello", "SEND", "X-A@B: 1\r\n")));
  auto f = alice.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f, "MSRP send0001 400 Bad Request\r\nTo-Path: " + std::string(kAlice) +
                    "\r\nFrom-Path: " + relay_session_uri("anysession") + "\r\n-------send0001$\r\n");
}

}  // namespace
}  // namespace msrpd::relay
