#include "net/resolver.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>

#include "net/connector.h"
#include "net/listener.h"

namespace msrpd::net {
namespace {

// Tests never reach a real DNS server: short timeouts so a lookup that needs one fails quickly.
ResolverOptions quick() {
  ResolverOptions o;
  o.timeout_ms = 500;
  o.tries = 1;
  return o;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(Resolver, NumericIpv4IsAnsweredWithoutDns) {
  EventLoop loop;
  auto r = Resolver::create(loop, quick());
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::optional<Result<std::vector<std::string>>> got;
  (*r)->resolve("127.0.0.1", [&](Result<std::vector<std::string>> res) { got = std::move(res); });
  EXPECT_FALSE(got.has_value());  // never inside resolve()
  ASSERT_TRUE(loop.run_until([&] { return got.has_value(); }, 1000));
  ASSERT_TRUE(got->ok());
  EXPECT_EQ(got->value(), std::vector<std::string>{"127.0.0.1"});
}

TEST(Resolver, NumericIpv6InBracketsIsAnsweredWithoutDns) {
  EventLoop loop;
  auto r = Resolver::create(loop, quick());
  ASSERT_TRUE(r.ok());
  std::optional<Result<std::vector<std::string>>> got;
  (*r)->resolve("[::1]", [&](Result<std::vector<std::string>> res) { got = std::move(res); });
  ASSERT_TRUE(loop.run_until([&] { return got.has_value(); }, 1000));
  ASSERT_TRUE(got->ok());
  EXPECT_EQ(got->value(), std::vector<std::string>{"::1"});
}

TEST(Resolver, LocalhostResolvesToTheLoopback) {
  EventLoop loop;
  auto r = Resolver::create(loop, quick());
  ASSERT_TRUE(r.ok());
  std::optional<Result<std::vector<std::string>>> got;
  (*r)->resolve(
      "localhost", [&](Result<std::vector<std::string>> res) { got = std::move(res); }, AF_INET);
  ASSERT_TRUE(loop.run_until([&] { return got.has_value(); }, 3000));
  ASSERT_TRUE(got->ok()) << got->error().message;
  EXPECT_TRUE(contains(got->value(), "127.0.0.1"));
  for (auto& ip : got->value()) EXPECT_EQ(ip.find(':'), std::string::npos) << ip;
}

TEST(Resolver, SrvLookupFailsCleanlyWithinItsTimeout) {
  EventLoop loop;
  auto r = Resolver::create(loop, quick());
  ASSERT_TRUE(r.ok());
  std::optional<Result<std::vector<SrvTarget>>> got;
  int64_t start = loop.now();
  (*r)->resolve_srv("_msrps._tcp.example.invalid",
                    [&](Result<std::vector<SrvTarget>> res) { got = std::move(res); });
  ASSERT_TRUE(loop.run_until([&] { return got.has_value(); }, 5000));
  EXPECT_LT(loop.now() - start, 5000);
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().message.rfind("SRV _msrps._tcp.example.invalid: ", 0), 0u) << got->error().message;
}

TEST(Resolver, UnreachableServerTimesOutWithAnError) {
  EventLoop loop;
  ResolverOptions o = quick();
  o.servers = {"127.0.0.1:9"};  // discard port: nothing answers
  auto r = Resolver::create(loop, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::optional<Result<std::vector<std::string>>> got;
  (*r)->resolve("relay.example.invalid", [&](Result<std::vector<std::string>> res) { got = std::move(res); });
  ASSERT_TRUE(loop.run_until([&] { return got.has_value(); }, 5000));
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().message.rfind("resolve relay.example.invalid: ", 0), 0u) << got->error().message;
}

TEST(Resolver, DestroyedResolverNeverCallsBack) {
  EventLoop loop;
  ResolverOptions o = quick();
  o.servers = {"127.0.0.1:9"};
  auto r = Resolver::create(loop, o);
  ASSERT_TRUE(r.ok());
  bool called = false;
  (*r)->resolve("relay.example.invalid", [&](Result<std::vector<std::string>>) { called = true; });
  (*r)->resolve("127.0.0.1", [&](Result<std::vector<std::string>>) { called = true; });
  r->reset();
  loop.run_for(50);
  EXPECT_FALSE(called);
}

TEST(Connector, ConnectHostResolvesLocalhostAndConnects) {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  auto res = Resolver::create(loop, quick());
  ASSERT_TRUE(res.ok());
  struct Sink : ConnectionHandler {
    size_t on_data(Connection&, std::string_view d) override { return d.size(); }
  } sink;
  ListenOptions lo;
  lo.ip = "127.0.0.1";
  int accepted = 0;
  auto l = Listener::open(connections, lo, [&](Connection& c) {
    c.set_handler(&sink);
    ++accepted;
  });
  ASSERT_TRUE(l.ok());
  Connector c(connections, res->get());
  std::optional<Result<Connection*>> got;
  ConnectOptions co;
  co.timeout_ms = 3000;
  c.connect_host(
      "localhost", (*l)->port(),
      [&](Result<Connection*> r) {
        if (r) (*r)->set_handler(&sink);
        got = std::move(r);
      },
      co);
  ASSERT_TRUE(loop.run_until([&] { return got.has_value() && accepted == 1; }, 4000));
  ASSERT_TRUE(got->ok()) << got->error().message;
  EXPECT_EQ((*got).value()->peer_ip(), "127.0.0.1");
}

}  // namespace
}  // namespace msrpd::net
