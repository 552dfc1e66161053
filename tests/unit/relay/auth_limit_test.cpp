// RFC 4976 §6.3: a relay SHOULD close the connection of a client that keeps failing AUTH. The
// engine counts 401/403 answers to AUTHs from directly connected clients (one From-Path URI) on
// each connection; at auth_max_failures (3) the connection closes once that answer is out.

#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "engine_fixture.h"

namespace msrpd::relay {
namespace {

using engine_test::Client;
using engine_test::EngineRelayTest;

class AuthLimitTest : public EngineRelayTest {
 protected:
  // The exact 401 to an AUTH from `to_path`, its nonce aside.
  std::string challenge_re(std::string_view tid, std::string_view to_path) const {
    return "MSRP " + std::string(tid) + " 401 Unauthorized\r\nTo-Path: " + escaped(to_path) +
           "\r\nFrom-Path: msrp://127\\.0\\.0\\.1:" + std::to_string(port_) +
           ";tcp\r\nWWW-Authenticate: Digest realm=\"myrealm\", nonce=\"[A-Za-z0-9_-]+\", "
           "opaque=\"[A-Za-z0-9_-]{22}\", "
           "qop=\"auth\", "
           "algorithm=MD5\r\n-------" +
           std::string(tid) + "\\$\r\n";
  }
  static std::string escaped(std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c == '.' || c == '/' || c == '$') out.push_back('\\');
      out.push_back(c);
    }
    return out;
  }
  // Sends an AUTH and expects its exact 401; returns the 401 (empty if none came).
  std::string expect_401(Client& c, const std::string& tid, std::string_view from,
                         std::string_view extra = {}) {
    EXPECT_TRUE(c.send(auth_frame(tid, relay_uri_, from, extra)));
    auto f = c.frame();
    EXPECT_TRUE(f.has_value()) << tid;
    if (!f) return {};
    EXPECT_TRUE(std::regex_match(*f, std::regex(challenge_re(tid, from)))) << *f;
    return *f;
  }
};

TEST_F(AuthLimitTest, ThirdFailedAuthIsAnsweredThenTheConnectionCloses) {
  Client bob(port_);
  ASSERT_TRUE(bob.connected());
  std::string first = expect_401(bob, "fail0001", kBob);
  // Credentials with a wrong password for the relay's nonce: still 401.
  std::string wrong = authorization(nonce_of(first));
  wrong.replace(wrong.find("response=\"") + 10, 4, "0000");
  expect_401(bob, "fail0002", kBob, wrong);
  expect_401(bob, "fail0003", kBob);
  // The third answer was the last: EOF follows it, and a fourth AUTH is not answered.
  (void)bob.send(auth_frame("fail0004", relay_uri_, kBob));
  EXPECT_TRUE(bob.closed());
  EXPECT_EQ(bob.buffered(), "");
  EXPECT_EQ(engine_->stats().auth_limit_closes.load(), 1u);
  EXPECT_EQ(engine_->stats().auth_failures.load(), 3u);
}

TEST_F(AuthLimitTest, SuccessfulAuthStartsTheCountAgain) {
  Client bob(port_);
  ASSERT_TRUE(bob.connected());
  expect_401(bob, "fail0001", kBob);
  std::string second = expect_401(bob, "fail0002", kBob);
  ASSERT_TRUE(bob.send(auth_frame("good0001", relay_uri_, kBob, authorization(nonce_of(second)))));
  auto ok = bob.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->rfind("MSRP good0001 200 OK\r\n", 0), 0u) << *ok;
  // Two more failures after the 200 leave the connection open: the third closes it.
  expect_401(bob, "fail0003", kBob);
  expect_401(bob, "fail0004", kBob);
  EXPECT_FALSE(bob.closed(200));
  expect_401(bob, "fail0005", kBob);
  EXPECT_TRUE(bob.closed());
  EXPECT_EQ(engine_->stats().auth_limit_closes.load(), 1u);
}

TEST_F(AuthLimitTest, AuthsRelayedByAnInnerRelayAreNotCounted) {
  // From-Path with two URIs: a relay peer AUTHing on behalf of its clients (RFC 4976 §6.3).
  Client inner(port_);
  ASSERT_TRUE(inner.connected());
  std::string from = "msrp://inner.example.com:2855;tcp " + std::string(kBob);
  for (int i = 0; i < 5; ++i) expect_401(inner, "peer000" + std::to_string(i), from);
  EXPECT_FALSE(inner.closed(200));
  EXPECT_EQ(engine_->stats().auth_limit_closes.load(), 0u);
}

TEST_F(AuthLimitTest, OtherClientsAreNotAffected) {
  Client mallory(port_);
  Client bob(port_);
  ASSERT_TRUE(mallory.connected());
  ASSERT_TRUE(bob.connected());
  expect_401(bob, "bob00001", kBob);
  for (int i = 1; i <= 3; ++i) expect_401(mallory, "mal0000" + std::to_string(i), kAlice);
  EXPECT_TRUE(mallory.closed());
  // bob's one failure is still his own: he AUTHs and gets his 200.
  std::string sessid = authenticate(bob);
  EXPECT_FALSE(sessid.empty()) << last_auth_reply_;
}

}  // namespace
}  // namespace msrpd::relay
