// A config text -> relay::EngineConfig: listen sockets (and -l), workers, the msrp and tls modules.

#include <gtest/gtest.h>

#include "script/engine_config.h"
#include "script/script.h"

namespace msrpd::script {
namespace {

std::string describe(const std::vector<relay::ListenAddr>& v) {
  std::string s;
  for (const auto& l : v) s += l.proto + " " + l.ip + " " + std::to_string(l.port) + "\n";
  return s;
}

TEST(EngineConfigFromScript, ListenChildrenAndModparamsExactly) {
  Script s = load_text(
      "children=3\ntcp_max_connections=500\ntcp_connection_lifetime=90\n"
      "listen=127.0.0.1:5060\nlisten=tcp:[::1]\nlisten=*:2900\nlisten=relay.example.org\n"
      "loadmodule \"msrp.so\"\n"
      "modparam(\"msrp\", \"cmap_size\", 10)\nmodparam(\"msrp\", \"timer_interval\", 15)\n"
      "modparam(\"msrp\", \"auth_min_expires\", 30)\nmodparam(\"msrp\", \"auth_max_expires\", 600)\n"
      "modparam(\"msrp\", \"use_path_addr\", \"msrp://relay.example.org:2855\")\n"
      "modparam(\"msrp\", \"sipmsg\", 0)\n",
      "t.cfg");
  auto ec = engine_config(s.config(), "/etc/msrpd/msrpd.cfg");
  ASSERT_TRUE(ec) << ec.error().message;
  EXPECT_EQ(describe(ec->listen),
            "tcp 127.0.0.1 5060\ntcp ::1 2855\ntcp 0.0.0.0 2900\ntcp relay.example.org 2855\n");
  EXPECT_EQ(ec->children, 3u);
  EXPECT_EQ(ec->max_connections, 500u);
  EXPECT_EQ(ec->tcp_connection_lifetime, 90u);
  EXPECT_EQ(ec->cmap_size, 10u);
  EXPECT_EQ(ec->timer_interval, 15u);
  EXPECT_EQ(ec->auth_min_expires, 30u);
  EXPECT_EQ(ec->auth_max_expires, 600u);
  EXPECT_EQ(ec->use_path_addr, "msrp://relay.example.org:2855");
  EXPECT_FALSE(ec->sipmsg);
  EXPECT_TRUE(ec->tls.certificate.empty());
}

TEST(EngineConfigFromScript, WithoutListenLinesItListensOnLoopback2855) {
  Script s = load_text("debug=1\n", "t.cfg");
  auto ec = engine_config(s.config(), "t.cfg");
  ASSERT_TRUE(ec);
  EXPECT_EQ(describe(ec->listen), "tcp 127.0.0.1 2855\n");
  EXPECT_EQ(ec->children, 8u);
  EXPECT_EQ(ec->timer_interval, 60u);
}

TEST(EngineConfigFromScript, ListenOverridesReplaceTheConfigsLines) {
  Script s = load_text("listen=127.0.0.1:5060\nchildren=2\n", "t.cfg");
  // A tls listener needs a certificate.
  EXPECT_FALSE(engine_config(s.config(), "t.cfg", {{"tls:[::1]:2856"}}));
  auto tcp = engine_config(s.config(), "t.cfg", {{"[::1]:2856", "10.0.0.1", "*:7000"}, 5});
  ASSERT_TRUE(tcp);
  EXPECT_EQ(describe(tcp->listen), "tcp ::1 2856\ntcp 10.0.0.1 2855\ntcp 0.0.0.0 7000\n");
  EXPECT_EQ(tcp->children, 5u);
}

TEST(EngineConfigFromScript, ErrorsNameWhatIsWrong) {
  Script s = load_text("debug=1\n", "t.cfg");
  EXPECT_EQ(engine_config(s.config(), "t.cfg", {{"[::1"}}).error().message, "bad listen address '[::1'");
  EXPECT_EQ(engine_config(s.config(), "t.cfg", {{"udp:127.0.0.1:5060"}}).error().message,
            "bad listen address 'udp:127.0.0.1:5060'");
  EXPECT_EQ(engine_config(s.config(), "t.cfg", {{"tls:127.0.0.1:2856"}}).error().message,
            "listen=tls: needs modparam(\"tls\", \"certificate\", \"FILE\")");
}

TEST(EngineConfigFromScript, TlsModparamsReachTheSettings) {
  Script s = load_text(
      "loadmodule \"tls.so\"\nlisten=tls:127.0.0.1:2856\n"
      "modparam(\"tls\", \"certificate\", \"/etc/msrpd/cert.pem\")\n"
      "modparam(\"tls\", \"private_key\", \"key.pem\")\n",
      "t.cfg");
  auto ec = engine_config(s.config(), "/etc/msrpd/msrpd.cfg");
  ASSERT_TRUE(ec) << ec.error().message;
  EXPECT_EQ(describe(ec->listen), "tls 127.0.0.1 2856\n");
  EXPECT_EQ(ec->tls.certificate, "/etc/msrpd/cert.pem");
  EXPECT_EQ(ec->tls.private_key, "/etc/msrpd/key.pem");
}

// The next hops' chunk caps: a default and per-hop rows, in order (the first match applies).
TEST(EngineConfigFromScript, ChunkCapsForEveryNextHopAndPerHop) {
  Script s = load_text(
      "loadmodule \"msrp.so\"\n"
      "modparam(\"msrp\", \"max_chunk_size\", 65536)\n"
      "modparam(\"msrp\", \"max_chunk_size_hop\", \"Kamailio.example.com:5060=8192\")\n"
      "modparam(\"msrp\", \"max_chunk_size_hop\", \"[2001:db8::1]=0\")\n",
      "t.cfg");
  auto ec = engine_config(s.config(), "/etc/msrpd/msrpd.cfg");
  ASSERT_TRUE(ec) << ec.error().message;
  EXPECT_EQ(ec->max_chunk.all, 65536u);
  ASSERT_EQ(ec->max_chunk.hops.size(), 2u);
  EXPECT_EQ(ec->max_chunk.for_hop("kamailio.example.com", 5060), 8192u);
  EXPECT_EQ(ec->max_chunk.for_hop("2001:db8::1", 2855), 0u);
  EXPECT_EQ(ec->max_chunk.for_hop("relay.example.com", 2855), 65536u);
  Script none = load_text("debug=1\n", "t.cfg");
  auto plain = engine_config(none.config(), "t.cfg");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->max_chunk.all, 0u);
  EXPECT_TRUE(plain->max_chunk.hops.empty());
}

TEST(DefaultMaxConnections, DescriptorLimitLessTenPercentAndAtLeast64) {
  EXPECT_EQ(default_max_connections(1048576), 943719u);  // 1048576 - 104857
  EXPECT_EQ(default_max_connections(65536), 58983u);
  EXPECT_EQ(default_max_connections(1024), 922u);
  EXPECT_EQ(default_max_connections(640), 576u);                  // 10 % would be 64 too
  EXPECT_EQ(default_max_connections(300), 236u);                  // 10 % is 30: the reserve is 64
  EXPECT_EQ(default_max_connections(100), 50u);                   // below 128: half
  EXPECT_EQ(default_max_connections(1), 1u);                      // never 0, which is no limit
  EXPECT_EQ(default_max_connections(~uint64_t{0}), 4294967295u);  // RLIM_INFINITY
}

}  // namespace
}  // namespace msrpd::script
