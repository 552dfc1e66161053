// Sessions on the default config (etc/msrpd.cfg), issue 12: a connection that carries a live
// session outlives tcp_connection_lifetime until the session expires (RFC 4976 §6.5: MSRP has no
// keep-alive), and requests of methods the relay does not know, NICKNAME first (RFC 7701), are
// forwarded to the session's client and answered by it (RFC 4976 §6.4.2). The real msrpd binary,
// exact bytes.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "forwarded.h"
#include "harness.h"
#include "test_config.h"

namespace msrpd::itest {
namespace {

using client::Client;
using Clock = std::chrono::steady_clock;

const std::string kDefault = source_path("etc/msrpd.cfg");

long ms_since(Clock::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

// A SEND from a new client to bob's session: the relay's 200 to the sender, the SEND to bob
// byte-exact (with the relay's transaction id), and bob's 200 back to the relay.
void send_through(Msrpd& d, Receiver& bob, Client& from, const std::string& tid, const std::string& body) {
  std::string from_uri = my_uri(from, "alice");
  ASSERT_TRUE(from.send(client::make_send(tid, bob.use_path + " " + bob.uri, from_uri, "m-" + tid, body)));
  auto ok = from.read_frame(3000);
  ASSERT_TRUE(ok) << ok.error().message << "\n" << d.log();
  EXPECT_EQ(ok->raw, "MSRP " + tid + " 200 OK\r\nTo-Path: " + from_uri + "\r\nFrom-Path: " + bob.use_path +
                         "\r\nMessage-ID: m-" + tid + "\r\n-------" + tid + "$\r\n");
  auto got = bob.c.read_frame(3000);
  ASSERT_TRUE(got) << got.error().message << "\n" << d.log();
  EXPECT_EQ(testing::forwarded_as(got->raw, tid),
            "MSRP " + tid + " SEND\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + bob.use_path + " " +
                from_uri + "\r\nMessage-ID: m-" + tid + "\r\nContent-Type: text/plain\r\n\r\n" + body +
                "\r\n-------" + tid + "$\r\n");
  ASSERT_TRUE(bob.c.send(client::make_response(std::string(testing::transaction_id_of(got->raw)), 200, "OK",
                                               bob.use_path, bob.uri)));
}

// tcp_connection_lifetime=1 (1 s idle limit) and sessions of 4 s: bob's connection, idle for 2 s,
// still delivers; alice's (no session) is closed after 1 s idle; bob's is closed once its
// session has expired and it has been idle for the limit.
TEST(IdleSessions, SessionConnectionOutlivesTheIdleLimitUntilTheSessionExpires) {
  TestConfig cfg;
  ConfigEdits edits;
  edits.replace = {{"tcp_connection_lifetime=", "tcp_connection_lifetime=1"}};
  edits.lines = {"modparam(\"msrp\", \"auth_min_expires\", 1)"};
  ASSERT_TRUE(cfg.write(kDefault, edits)) << cfg.error();
  Msrpd d;
  ASSERT_TRUE(d.start(cfg.path(), {"-n", "2"})) << d.log();

  Receiver bob;
  bob.c = d.connect();
  bob.uri = my_uri(bob.c, "bob");
  auto a = client::authenticate(bob.c, d.uri(), bob.uri, "bob", "xyz123", 4);
  Clock::time_point authed = Clock::now();
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
  ASSERT_EQ(a->answer.header("Expires"), "4") << a->answer.raw;
  ASSERT_EQ(a->use_path.size(), 1u) << a->answer.raw;
  bob.use_path = a->use_path[0];

  Client alice = d.connect();
  ASSERT_NO_FATAL_FAILURE(send_through(d, bob, alice, "idle0001", "before the pause"));
  Clock::time_point alice_quiet = Clock::now();

  // No session on alice's connection: closed after the idle limit (1 s), as before.
  EXPECT_TRUE(alice.wait_closed(2500)) << d.log();
  EXPECT_GE(ms_since(alice_quiet), 900);

  // bob has been idle for longer than the limit: his connection still carries his session.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Client carol = d.connect();
  ASSERT_NO_FATAL_FAILURE(send_through(d, bob, carol, "idle0002", "after the pause"));
  EXPECT_GE(ms_since(authed), 2000);

  // Once the session has expired (4 s after the AUTH) the idle connection is closed.
  EXPECT_TRUE(bob.c.wait_closed(5000)) << d.log();
  EXPECT_GE(ms_since(authed), 3900) << "closed before its session expired";
  EXPECT_EQ(bob.c.pending(), 0u);
}

// Example 1.17 writes its 200's Expires itself (3600 without an Expires in the AUTH): the idle
// connection is kept for auth_max_expires (2 s here) at most, not for what the script wrote.
TEST(IdleSessions, ScriptWrittenExpiresKeepsTheConnectionNoLongerThanAuthMaxExpires) {
  TestConfig cfg;
  ConfigEdits edits;
  edits.replace = {{"tcp_connection_lifetime=", "tcp_connection_lifetime=1"}};
  edits.lines = {"modparam(\"msrp\", \"auth_max_expires\", 2)"};
  ASSERT_TRUE(cfg.write(source_path("examples/kamailio-1.17.cfg"), edits)) << cfg.error();
  Msrpd d;
  ASSERT_TRUE(d.start(cfg.path(), {"-n", "1"})) << d.log();
  Client bob = d.connect();
  auto a = client::authenticate(bob, d.uri(), my_uri(bob, "bob"), "bob", "xyz123");
  Clock::time_point authed = Clock::now();
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
  ASSERT_EQ(a->answer.header("Expires"), "3600") << a->answer.raw;
  EXPECT_TRUE(bob.wait_closed(4000)) << d.log();
  EXPECT_GE(ms_since(authed), 1900) << "closed before auth_max_expires";
}

// Two relays (Example 1.18, 1 s idle limit, 4 s sessions): bob AUTHs at relay1 (U1) and through
// it at relay2 (U2, bound at relay2 to relay1's connection). Idle for 2 s, relay1 must not close
// that connection (relay2 would drop U2): alice on relay2 still reaches bob along "U2 U1 bob".
TEST(IdleSessions, ConnectionToTheRelayOfAForwardedAuthOutlivesTheIdleLimit) {
  ConfigEdits edits;
  edits.drop_use_path_addr = true;  // each relay's Use-Path names its own socket
  edits.replace = {{"tcp_connection_lifetime=", "tcp_connection_lifetime=1"}};
  edits.lines = {"modparam(\"msrp\", \"auth_min_expires\", 1)"};
  TestConfig cfg1, cfg2;
  const std::string example18 = source_path("examples/kamailio-1.18.cfg");
  ASSERT_TRUE(cfg1.write(example18, edits)) << cfg1.error();
  ASSERT_TRUE(cfg2.write(example18, edits)) << cfg2.error();
  Msrpd r1, r2;
  ASSERT_TRUE(r2.start(cfg2.path(), {"-n", "2"})) << r2.log();
  ASSERT_TRUE(r1.start(cfg1.path(), {"-n", "2"})) << r1.log();

  Receiver bob;
  bob.c = r1.connect();
  bob.uri = my_uri(bob.c, "bob");
  auto a1 = client::authenticate(bob.c, r1.uri(), bob.uri, "bob", "xyz123", 4);
  ASSERT_TRUE(a1) << a1.error().message;
  ASSERT_EQ(a1->answer.code, 200) << a1->answer.raw;
  std::string u1 = a1->answer.header("Use-Path");
  auto a2 = client::authenticate(bob.c, u1 + " " + r2.uri(), bob.uri, "bob", "xyz123", 4);
  Clock::time_point authed = Clock::now();
  ASSERT_TRUE(a2) << a2.error().message;
  ASSERT_EQ(a2->answer.code, 200) << a2->answer.raw << "\n" << r1.log() << "\n" << r2.log();
  std::string u2 = a2->answer.header("Use-Path");
  ASSERT_EQ(u2.rfind("msrp://127.0.0.1:" + std::to_string(r2.port()) + "/", 0), 0u) << u2;

  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  Client alice = r2.connect();
  std::string alice_uri = my_uri(alice, "alice");
  ASSERT_TRUE(
      alice.send(client::make_send("chain001", u2 + " " + u1 + " " + bob.uri, alice_uri, "mc1", "hi")));
  auto ok = alice.read_frame(3000);
  ASSERT_TRUE(ok) << ok.error().message << "\n" << r2.log();
  EXPECT_EQ(ok->raw, "MSRP chain001 200 OK\r\nTo-Path: " + alice_uri + "\r\nFrom-Path: " + u2 +
                         "\r\nMessage-ID: mc1\r\n-------chain001$\r\n");
  auto got = bob.c.read_frame(3000);
  ASSERT_TRUE(got) << got.error().message << "\n" << r1.log() << "\n" << r2.log();
  EXPECT_EQ(testing::forwarded_as(got->raw, "chain001"),
            "MSRP chain001 SEND\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + u1 + " " + u2 + " " +
                alice_uri +
                "\r\nMessage-ID: mc1\r\nContent-Type: text/plain\r\n\r\nhi\r\n-------chain001$\r\n");
  EXPECT_GE(ms_since(authed), 2000);
}

// RFC 4976 §6.4.2, RFC 7701: a NICKNAME for bob's session is forwarded to bob byte-exact (no
// 501, no answer of the relay's), and bob's answer goes back to the sender.
TEST(DefaultConfig, NicknameIsForwardedToTheSessionAndItsResponseComesBack) {
  TestConfig cfg;
  ASSERT_TRUE(cfg.write(kDefault)) << cfg.error();
  Msrpd d;
  ASSERT_TRUE(d.start(cfg.path(), {"-n", "2"})) << d.log();
  Receiver bob = auth_receiver(d, "bob");
  ASSERT_FALSE(bob.use_path.empty());

  Client alice = d.connect();
  std::string alice_uri = my_uri(alice, "alice");
  std::string nick = client::make_request("nick0001", "NICKNAME", bob.use_path + " " + bob.uri, alice_uri,
                                          "Use-Nickname: \"Alice the Great\"\r\n");
  ASSERT_TRUE(alice.send(nick));
  auto got = bob.c.read_frame(3000);
  ASSERT_TRUE(got) << got.error().message << "\n" << d.log();
  EXPECT_EQ(testing::forwarded_as(got->raw, "nick0001"),
            "MSRP nick0001 NICKNAME\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + bob.use_path + " " +
                alice_uri + "\r\nUse-Nickname: \"Alice the Great\"\r\n-------nick0001$\r\n");
  // The relay itself does not answer it.
  auto early = alice.read_frame(300);
  EXPECT_FALSE(early) << "the relay answered a NICKNAME itself: " << early->raw;

  // RFC 4975 §7.2: the response to a non-SEND request goes along the whole From-Path.
  std::string relay_tid(testing::transaction_id_of(got->raw));
  ASSERT_TRUE(
      bob.c.send(client::make_response(relay_tid, 200, "OK", bob.use_path + " " + alice_uri, bob.uri)));
  auto answer = alice.read_frame(3000);
  ASSERT_TRUE(answer) << answer.error().message << "\n" << d.log();
  EXPECT_EQ(answer->raw, "MSRP nick0001 200 OK\r\nTo-Path: " + alice_uri + "\r\nFrom-Path: " + bob.use_path +
                             " " + bob.uri + "\r\n-------nick0001$\r\n");

  // A method nobody knows travels the same way, and its error answer too.
  ASSERT_TRUE(
      alice.send(client::make_request("unkn0001", "FOOBAR", bob.use_path + " " + bob.uri, alice_uri)));
  auto other = bob.c.read_frame(3000);
  ASSERT_TRUE(other) << other.error().message << "\n" << d.log();
  EXPECT_EQ(testing::forwarded_as(other->raw, "unkn0001"), "MSRP unkn0001 FOOBAR\r\nTo-Path: " + bob.uri +
                                                               "\r\nFrom-Path: " + bob.use_path + " " +
                                                               alice_uri + "\r\n-------unkn0001$\r\n");
  ASSERT_TRUE(bob.c.send(client::make_response(std::string(testing::transaction_id_of(other->raw)), 501,
                                               "Unknown method", bob.use_path + " " + alice_uri, bob.uri)));
  auto refused = alice.read_frame(3000);
  ASSERT_TRUE(refused) << refused.error().message << "\n" << d.log();
  EXPECT_EQ(refused->raw, "MSRP unkn0001 501 Unknown method\r\nTo-Path: " + alice_uri +
                              "\r\nFrom-Path: " + bob.use_path + " " + bob.uri + "\r\n-------unkn0001$\r\n");
}

// The relay is still the terminating node of a request addressed to it alone (RFC 4975 §12):
// an unknown method for no session gets its 501 from the default config, as before.
TEST(DefaultConfig, UnknownMethodForTheRelayItselfGets501) {
  TestConfig cfg;
  ASSERT_TRUE(cfg.write(kDefault)) << cfg.error();
  Msrpd d;
  ASSERT_TRUE(d.start(cfg.path(), {"-n", "1"})) << d.log();
  Client c = d.connect();
  std::string me = my_uri(c, "alice");
  ASSERT_TRUE(c.send(client::make_request("tx501d", "NICKNAME", d.uri(), me)));
  auto f = c.read_frame(3000);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, "MSRP tx501d 501 Request-method-not-understood\r\nTo-Path: " + me +
                        "\r\nFrom-Path: " + d.uri() + "\r\n-------tx501d$\r\n");
}

}  // namespace
}  // namespace msrpd::itest
