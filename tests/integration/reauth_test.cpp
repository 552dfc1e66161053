// A client refreshing its AUTH before Expires on the same connection (issue 12 item 11, RFC 4976
// §6.3): msrp_cmap_save hands out the same session URI with the new Expires, and the session
// stays usable after its first Expires. Short Expires: auth_min_expires lowered in the test config.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "forwarded.h"
#include "harness.h"
#include "test_config.h"

namespace msrpd::itest {
namespace {

using client::Client;

class ReAuth : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ConfigEdits edits;
    edits.lines = {"modparam(\"msrp\", \"auth_min_expires\", 1)"};
    ASSERT_TRUE(cfg_.write(source_path(GetParam()), edits)) << cfg_.error();
    ASSERT_TRUE(d_.start(cfg_.path(), {"-n", "2"})) << d_.log();
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
  }

  // AUTH (401, then credentials) with this Expires; the 200's Use-Path URI.
  std::string auth(Client& c, const std::string& me, int expires) {
    auto a = client::authenticate(c, d_.uri(), me, "bob", "xyz123", expires);
    EXPECT_TRUE(a) << (a ? "" : a.error().message);
    if (!a) return {};
    EXPECT_EQ(a->answer.code, 200) << a->answer.raw;
    EXPECT_EQ(a->answer.header("Expires"), std::to_string(expires)) << a->answer.raw;
    EXPECT_EQ(a->use_path.size(), 1u) << a->answer.raw;
    return a->use_path.empty() ? std::string() : a->use_path[0];
  }

  TestConfig cfg_;
  Msrpd d_;
};

INSTANTIATE_TEST_SUITE_P(Configs, ReAuth, ::testing::Values("etc/msrpd.cfg", "examples/kamailio-1.18.cfg"),
                         [](const ::testing::TestParamInfo<const char*>& i) {
                           return std::string(i.index == 0 ? "Default" : "Example18");
                         });

TEST_P(ReAuth, ReAuthOnTheSameConnectionKeepsTheUriAndOutlivesTheFirstExpires) {
  Client bob = d_.connect();
  std::string bob_uri = my_uri(bob, "bob");
  std::string first = auth(bob, bob_uri, 2);
  ASSERT_FALSE(first.empty());
  std::string again = auth(bob, bob_uri, 3600);
  EXPECT_EQ(again, first);

  // A client that does not refresh: its session is gone after its Expires (the control).
  Client carol = d_.connect();
  std::string carol_uri = my_uri(carol, "carol");
  std::string carols = auth(carol, carol_uri, 2);
  ASSERT_FALSE(carols.empty());
  EXPECT_NE(carols, first);

  std::this_thread::sleep_for(std::chrono::milliseconds(2500));

  Client alice = d_.connect();
  std::string alice_uri = my_uri(alice, "alice");
  ASSERT_TRUE(
      alice.send(client::make_send("late0001", first + " " + bob_uri, alice_uri, "m1", "still here")));
  auto ok = alice.read_frame(3000);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->raw, "MSRP late0001 200 OK\r\nTo-Path: " + alice_uri + "\r\nFrom-Path: " + first +
                         "\r\nMessage-ID: m1\r\n-------late0001$\r\n");
  auto got = bob.read_frame(3000);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(testing::forwarded_as(got->raw, "late0001"),
            "MSRP late0001 SEND\r\nTo-Path: " + bob_uri + "\r\nFrom-Path: " + first + " " + alice_uri +
                "\r\nMessage-ID: m1\r\nContent-Type: text/plain\r\n\r\nstill here\r\n-------late0001$\r\n");

  ASSERT_TRUE(alice.send(client::make_send("late0002", carols + " " + carol_uri, alice_uri, "m2", "gone")));
  auto gone = alice.read_frame(3000);
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_EQ(gone->raw, "MSRP late0002 481 Session-does-not-exist\r\nTo-Path: " + alice_uri +
                           "\r\nFrom-Path: " + carols + "\r\nMessage-ID: m2\r\n-------late0002$\r\n");
  EXPECT_FALSE(carol.read_frame(300)) << "an expired session must not be delivered";
}

TEST_P(ReAuth, AuthFromAnotherConnectionOrForAnotherClientGetsAnotherUri) {
  Client bob = d_.connect();
  std::string bob_uri = my_uri(bob, "bob");
  std::string first = auth(bob, bob_uri, 3600);
  ASSERT_FALSE(first.empty());
  // The same connection AUTHing for another From-Path URI (a relay in front of many clients).
  std::string other_client = auth(bob, my_uri(bob, "bob2"), 3600);
  EXPECT_NE(other_client, first);
  // The same From-Path from another connection: RFC 4976 §6.3 binds URIs to their connection.
  Client bob_again = d_.connect();
  std::string other_conn = auth(bob_again, bob_uri, 3600);
  EXPECT_NE(other_conn, first);
  EXPECT_NE(other_conn, other_client);
}

}  // namespace
}  // namespace msrpd::itest
