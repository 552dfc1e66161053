#include "net/next_hop.h"

#include <gtest/gtest.h>

#include <optional>

#include "fake_dns.h"
#include "net/listener.h"
#include "recorder.h"

namespace msrpd::net {
namespace {

using testing::FakeDns;
using testing::Recorder;

TEST(SpecialName, InvalidNamesAreRecognised) {
  EXPECT_EQ(special_name("invalid"), SpecialName::invalid);
  EXPECT_EQ(special_name("relay.invalid"), SpecialName::invalid);
  EXPECT_EQ(special_name("Relay.INVALID."), SpecialName::invalid);
  EXPECT_EQ(special_name("notinvalid"), SpecialName::none);
  EXPECT_EQ(special_name("invalid.example.com"), SpecialName::none);
}

TEST(SpecialName, LocalhostNamesAreRecognised) {
  EXPECT_EQ(special_name("localhost"), SpecialName::localhost);
  EXPECT_EQ(special_name("LOCALHOST."), SpecialName::localhost);
  EXPECT_EQ(special_name("relay.localhost"), SpecialName::localhost);
  EXPECT_EQ(special_name("mylocalhost"), SpecialName::none);
  EXPECT_EQ(special_name("localhost.example.com"), SpecialName::none);
  EXPECT_EQ(special_name("127.0.0.1"), SpecialName::none);
  EXPECT_EQ(special_name(""), SpecialName::none);
}

TEST(SrvName, SecureAndPlainServices) {
  EXPECT_EQ(srv_name("example.com", true), "_msrps._tcp.example.com");
  EXPECT_EQ(srv_name("example.com", false), "_msrp._tcp.example.com");
}

TEST(ChooseSrv, LowestPriorityWinsOverWeight) {
  std::vector<SrvTarget> r{{"a", 1, 20, 100}, {"b", 2, 10, 1}, {"c", 3, 30, 900}};
  ASSERT_NE(choose_srv(r), nullptr);
  EXPECT_EQ(choose_srv(r)->host, "b");
}

TEST(ChooseSrv, HighestWeightWinsAmongEqualPriorities) {
  std::vector<SrvTarget> r{{"a", 1, 10, 5}, {"b", 2, 10, 50}, {"c", 3, 10, 7}};
  EXPECT_EQ(choose_srv(r)->host, "b");
}

TEST(ChooseSrv, FirstOfEqualRecordsWins) {
  std::vector<SrvTarget> r{{"a", 1, 10, 5}, {"b", 2, 10, 5}};
  EXPECT_EQ(choose_srv(r)->host, "a");
}

TEST(ChooseSrv, NoRecordsNoChoice) {
  EXPECT_EQ(choose_srv({}), nullptr);
}

// A loop with a fake DNS server, a resolver asking only it, a connector, and listeners.
struct NextHopTest : ::testing::Test {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  FakeDns dns{loop};
  std::unique_ptr<Resolver> resolver;
  std::unique_ptr<Connector> connector;
  Recorder sink;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::vector<int> accepted;
  std::optional<Result<Connection*>> got;

  void SetUp() override {
    auto r = Resolver::create(loop, dns.options());
    ASSERT_TRUE(r.ok()) << r.error().message;
    resolver = std::move(*r);
    connector = std::make_unique<Connector>(connections, resolver.get());
  }

  uint16_t listen() {
    ListenOptions lo;
    lo.ip = "127.0.0.1";
    size_t i = listeners.size();
    accepted.push_back(0);
    auto l = Listener::open(connections, lo, [this, i](Connection& c) {
      c.set_handler(&sink);
      ++accepted[i];
    });
    EXPECT_TRUE(l.ok());
    listeners.push_back(std::move(*l));
    return listeners.back()->port();
  }

  void connect(const NextHop& hop, uint32_t timeout_ms = 3000) {
    ConnectOptions o;
    o.timeout_ms = timeout_ms;
    connect_next_hop(loop, *connector, resolver.get(), hop, o, [this](Result<Connection*> r) {
      if (r) (*r)->set_handler(&sink);
      got = std::move(r);
    });
    EXPECT_FALSE(got.has_value());  // never inside the call
  }

  bool wait(int ms = 4000) {
    return loop.run_until([this] { return got.has_value(); }, ms);
  }
};

TEST_F(NextHopTest, InvalidNameFailsWithoutADnsQuery) {
  connect({"relay.example.invalid", 2855, false, true});
  ASSERT_TRUE(wait());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().message, "resolve relay.example.invalid: Domain name not found (RFC 6761 .invalid)");
  EXPECT_EQ(dns.questions(), 0);
}

TEST_F(NextHopTest, InvalidNameWithAPortFailsWithoutADnsQuery) {
  connect({"invalid.", 9, true, false});
  ASSERT_TRUE(wait());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().message, "resolve invalid.: Domain name not found (RFC 6761 .invalid)");
  EXPECT_EQ(dns.questions(), 0);
}

TEST_F(NextHopTest, LocalhostIsTheLoopbackWithoutSrv) {
  uint16_t port = listen();
  connect({"localhost", port, false, false});
  ASSERT_TRUE(wait());
  ASSERT_TRUE(got->ok()) << got->error().message;
  EXPECT_EQ(got->value()->peer_ip(), "127.0.0.1");
  EXPECT_EQ(got->value()->peer_port(), port);
  EXPECT_EQ(dns.asked_type(FakeDns::kSrv), 0);
}

TEST_F(NextHopTest, IpLiteralIsConnectedWithoutDns) {
  uint16_t port = listen();
  connect({"127.0.0.1", port, false, false});
  ASSERT_TRUE(wait());
  ASSERT_TRUE(got->ok()) << got->error().message;
  EXPECT_EQ(got->value()->peer_port(), port);
  EXPECT_EQ(dns.questions(), 0);
}

TEST_F(NextHopTest, PortlessNameConnectsToTheBestSrvTarget) {
  uint16_t near = listen();
  uint16_t far = listen();
  dns.add_srv("_msrp._tcp.relay.test", {"far.test.", far, 20, 100});
  dns.add_srv("_msrp._tcp.relay.test", {"near.test.", near, 10, 1});
  dns.add_a("far.test", "127.0.0.1");
  dns.add_a("near.test", "127.0.0.1");
  connect({"relay.test", 2855, false, false});
  ASSERT_TRUE(wait());
  ASSERT_TRUE(got->ok()) << got->error().message;
  EXPECT_EQ(got->value()->peer_port(), near);
  EXPECT_EQ(dns.asked("_msrp._tcp.relay.test", FakeDns::kSrv), 1);
  EXPECT_EQ(dns.asked("far.test", FakeDns::kA), 0);
}

TEST_F(NextHopTest, SecureHopAsksTheMsrpsService) {
  uint16_t port = listen();
  dns.add_srv("_msrps._tcp.relay.test", {"tls.test", port, 0, 0});
  dns.add_a("tls.test", "127.0.0.1");
  connect({"relay.test", 2855, false, true});  // opts stay TCP: only the SRV name is under test
  ASSERT_TRUE(wait());
  ASSERT_TRUE(got->ok()) << got->error().message;
  EXPECT_EQ(got->value()->peer_port(), port);
  EXPECT_EQ(dns.asked("_msrps._tcp.relay.test", FakeDns::kSrv), 1);
  EXPECT_EQ(dns.asked("_msrp._tcp.relay.test", FakeDns::kSrv), 0);
}

TEST_F(NextHopTest, WithoutSrvTheHostIsConnectedOnTheUriPort) {
  uint16_t port = listen();
  dns.add_a("relay.test", "127.0.0.1");
  connect({"relay.test", port, false, false});
  ASSERT_TRUE(wait());
  ASSERT_TRUE(got->ok()) << got->error().message;
  EXPECT_EQ(got->value()->peer_port(), port);
  EXPECT_EQ(dns.asked("_msrp._tcp.relay.test", FakeDns::kSrv), 1);
  EXPECT_EQ(dns.asked("relay.test", FakeDns::kA), 1);
}

TEST_F(NextHopTest, PortGivenSkipsSrv) {
  uint16_t port = listen();
  dns.add_srv("_msrp._tcp.relay.test", {"elsewhere.test", 1, 0, 0});
  dns.add_a("relay.test", "127.0.0.1");
  connect({"relay.test", port, true, false});
  ASSERT_TRUE(wait());
  ASSERT_TRUE(got->ok()) << got->error().message;
  EXPECT_EQ(got->value()->peer_port(), port);
  EXPECT_EQ(dns.asked_type(FakeDns::kSrv), 0);
}

TEST_F(NextHopTest, OneDeadlineCoversTheSrvLookup) {
  dns.silent = true;  // the SRV lookup times out (300 ms) after the 100 ms deadline
  connect({"relay.test", 2855, false, false}, 100);
  ASSERT_TRUE(wait());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().message, "connect relay.test: timeout");
}

}  // namespace
}  // namespace msrpd::net
