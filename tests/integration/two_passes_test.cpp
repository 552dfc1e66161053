// A message between two clients of one relay passes it twice (RFC 4976 §5: To-Path = the sender's
// session URI, the receiver's session URI, the receiver): the first pass hands it to the second
// through the worker's self link. A failure still gets exactly one REPORT to the sender (RFC 4976
// §6.4.1, §6.4.3): the second pass refusing the frame for a session that has gone (a 481 in place
// of its 200) is REPORTed by the first pass, and an error of the receiver's by the second pass
// only. Found by bench/soak.sh (killed receivers: chunks neither delivered nor REPORTed). Against
// the real msrpd with etc/msrpd.cfg and the seed's Example 1.18, one worker and two; exact bytes,
// every wait bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <tuple>

#include "forwarded.h"
#include "harness.h"
#include "test_config.h"

namespace msrpd::itest {
namespace {

using client::Client;
using Param = std::tuple<const char*, int>;

class TwoPasses : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cfg_.write(source_path(std::get<0>(GetParam())), {})) << cfg_.error();
    ASSERT_TRUE(d_.start(cfg_.path(), {"-n", std::to_string(std::get<1>(GetParam()))})) << d_.log();
    alice_ = auth_receiver(d_, "alice");
    bob_ = auth_receiver(d_, "bob");
    ASSERT_FALSE(alice_.use_path.empty());
    ASSERT_FALSE(bob_.use_path.empty());
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
  }

  std::string to() const { return alice_.use_path + " " + bob_.use_path + " " + bob_.uri; }
  // A SEND without Byte-Range: its REPORTs give the total as '*' (RFC 4975 §7.1.2: unknown).
  std::string send(const std::string& tid, const std::string& mid) const {
    return client::make_send(tid, to(), alice_.uri, mid, "hello");
  }
  // The relay's 200 to alice's SEND (msrp_reply_flags("1"): Message-ID echoed).
  std::string ok(const std::string& tid, const std::string& mid) const {
    return "MSRP " + tid + " 200 OK\r\nTo-Path: " + alice_.uri + "\r\nFrom-Path: " + alice_.use_path +
           "\r\nMessage-ID: " + mid + "\r\n-------" + tid + "$\r\n";
  }
  std::string report(const std::string& tid, const std::string& from, const std::string& mid,
                     const std::string& status) const {
    return "MSRP " + tid + " REPORT\r\nTo-Path: " + alice_.uri + "\r\nFrom-Path: " + from +
           "\r\nMessage-ID: " + mid + "\r\nByte-Range: 1-5/*\r\nStatus: " + status + "\r\n-------" + tid +
           "$\r\n";
  }
  // One message goes through both passes: bob gets it, answers 200.
  void deliver(const std::string& tid, const std::string& mid) {
    ASSERT_TRUE(alice_.c.send(send(tid, mid)));
    auto a = alice_.c.read_frame();
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->raw, ok(tid, mid));
    auto b = bob_.c.read_frame();
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(testing::forwarded_as(b->raw, tid),
              "MSRP " + tid + " SEND\r\nTo-Path: " + bob_.uri + "\r\nFrom-Path: " + bob_.use_path + " " +
                  alice_.use_path + " " + alice_.uri + "\r\nMessage-ID: " + mid +
                  "\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------" + tid + "$\r\n");
    ASSERT_TRUE(bob_.c.send(client::make_response(b->tid, 200, "OK", bob_.use_path, bob_.uri)));
  }

  TestConfig cfg_;
  Msrpd d_;
  Receiver alice_, bob_;
};

INSTANTIATE_TEST_SUITE_P(Configs, TwoPasses,
                         ::testing::Combine(::testing::Values("etc/msrpd.cfg", "examples/kamailio-1.18.cfg"),
                                            ::testing::Values(1, 2)),
                         [](const ::testing::TestParamInfo<Param>& i) {
                           return std::string(std::get<0>(i.param)[0] == 'e' && std::get<0>(i.param)[1] == 't'
                                                  ? "Default"
                                                  : "Example18") +
                                  "Workers" + std::to_string(std::get<1>(i.param));
                         });

TEST_P(TwoPasses, AReceiverWhoseSessionWentAwayGivesTheSenderOne481Report) {
  deliver("tp000001", "m-first");
  bob_.c.close();
  // Bob's session goes with his connection (RFC 4976 §6.3): the second pass answers 481.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(alice_.c.send(send("tp000002", "m-second")));
  auto a = alice_.c.read_frame();
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->raw, ok("tp000002", "m-second"));
  auto r = alice_.c.read_frame();
  ASSERT_TRUE(r) << "no REPORT: " << r.error().message;
  EXPECT_EQ(r->raw, report(r->tid, alice_.use_path, "m-second", "000 481 Session-does-not-exist"));
  auto more = alice_.c.read_frame(700);
  EXPECT_FALSE(more) << "a second answer: " << more->raw;
}

TEST_P(TwoPasses, AReceiversErrorGivesTheSenderOneReport) {
  deliver("tp000011", "m-first");
  auto ack = alice_.c.read_frame(700);  // bob's 200 ends with the relay: nothing for alice
  EXPECT_FALSE(ack) << ack->raw;
  ASSERT_TRUE(alice_.c.send(send("tp000012", "m-second")));
  auto a = alice_.c.read_frame();
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->raw, ok("tp000012", "m-second"));
  auto b = bob_.c.read_frame();
  ASSERT_TRUE(b) << b.error().message;
  ASSERT_TRUE(bob_.c.send(client::make_response(b->tid, 415, "Unsupported", bob_.use_path, bob_.uri)));
  // The second pass REPORTs (its next hop answered 415); the REPORT crosses the first pass, which
  // relays it to alice on her session.
  auto r = alice_.c.read_frame();
  ASSERT_TRUE(r) << "no REPORT: " << r.error().message;
  EXPECT_EQ(testing::forwarded_as(r->raw, "tpreport"),
            "MSRP tpreport REPORT\r\nTo-Path: " + alice_.uri + "\r\nFrom-Path: " + alice_.use_path + " " +
                bob_.use_path +
                "\r\nMessage-ID: m-second\r\nByte-Range: 1-5/*\r\nStatus: 000 415 Unsupported\r\n"
                "-------tpreport$\r\n");
  auto more = alice_.c.read_frame(700);
  EXPECT_FALSE(more) << "a second answer: " << more->raw;
}

}  // namespace
}  // namespace msrpd::itest
