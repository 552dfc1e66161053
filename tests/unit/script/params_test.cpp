// The parameter tables (params.cpp): each kind of row stores, checks and refuses as it says.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "script/listen.h"
#include "script/script.h"

namespace msrpd::script {
namespace {

using ::testing::ElementsAre;

std::string load_error(const std::string& text) {
  try {
    load_text(text, "t.cfg");
  } catch (const LoadError& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST(ScriptParams, IntegerRowsRefuseValuesOutsideTheirRange) {
  EXPECT_EQ(load_error("loadmodule \"msrp.so\"\nmodparam(\"msrp\", \"cmap_size\", 17)\n"),
            "t.cfg:2:18: modparam(\"msrp\", \"cmap_size\") must be 0..16 (2^n slots)");
  EXPECT_EQ(load_error("loadmodule \"auth.so\"\nmodparam(\"auth\", \"nonce_expire\", 0)\n"),
            "t.cfg:2:18: modparam(\"auth\", \"nonce_expire\") must be > 0");
  EXPECT_EQ(load_error("loadmodule \"cfgutils.so\"\nmodparam(\"cfgutils\", \"initial_probability\", 101)\n"),
            "t.cfg:2:22: modparam(\"cfgutils\", \"initial_probability\") must be 0..100");
  EXPECT_EQ(load_error("children=0\n"), "t.cfg:1:10: children must be 1..1024, found 0");
}

TEST(ScriptParams, ChunkCapsRefuseWhatIsNotACap) {
  EXPECT_EQ(load_error("loadmodule \"msrp.so\"\nmodparam(\"msrp\", \"max_chunk_size\", 100)\n"),
            "t.cfg:2:18: modparam(\"msrp\", \"max_chunk_size\"): expected 0 or 256..1073741824 (body bytes), "
            "found \"100\"");
  EXPECT_EQ(load_error("loadmodule \"msrp.so\"\nmodparam(\"msrp\", \"max_chunk_size_hop\", \"kam:5060\")\n"),
            "t.cfg:2:18: modparam(\"msrp\", \"max_chunk_size_hop\"): expected \"host[:port]=bytes\" with "
            "bytes 0 or "
            "256..1073741824, found \"kam:5060\"");
  EXPECT_EQ(
      load_error("loadmodule \"msrp.so\"\nmodparam(\"msrp\", \"max_chunk_size_hop\", \"kam:0=8192\")\n"),
      "t.cfg:2:18: modparam(\"msrp\", \"max_chunk_size_hop\"): expected \"host[:port]=bytes\" with bytes 0 "
      "or "
      "256..1073741824, found \"kam:0=8192\"");
  EXPECT_EQ(load_error("loadmodule \"msrp.so\"\nmodparam(\"msrp\", \"max_chunk_size\", 8192)\n"), "(loaded)");
}

TEST(ScriptParams, TextRowsWithAChecker) {
  EXPECT_EQ(
      load_error("loadmodule \"auth.so\"\nmodparam(\"auth\", \"qop\", \"auth-int\")\n"),
      "t.cfg:2:18: modparam(\"auth\", \"qop\"): msrpd supports qop \"auth\" only (RFC 4976 §9.1), found "
      "\"auth-int\"");
  EXPECT_EQ(load_error("loadmodule \"auth.so\"\nmodparam(\"auth\", \"algorithm\", \"SHA-256\")\n"),
            "t.cfg:2:18: modparam(\"auth\", \"algorithm\"): msrpd supports MD5 only, found \"SHA-256\"");
}

TEST(ScriptParams, EachRowKindStoresWhereItSays) {
  Script s = load_text(
      "loadmodule \"msrp.so\"\nloadmodule \"ctl.so\"\nloadmodule \"tls.so\"\nloadmodule \"xlog.so\"\n"
      "modparam(\"msrp\", \"sipmsg\", 0)\n"
      "modparam(\"msrp\", \"timer_interval\", -5)\n"
      "modparam(\"ctl\", \"binrpc\", \"unix:/tmp/a\")\n"
      "modparam(\"ctl\", \"binrpc\", \"tcp:127.0.0.1:2046\")\n"
      "modparam(\"ctl\", \"mode\", \"0600\")\n"
      "modparam(\"tls\", \"certificate\", \"/c.pem\")\n"
      "modparam(\"xlog\", \"buf_size\", 8192)\n"
      "alias=a.example.org\nalias=\"b.example.org\"\ntcp_async=yes\nauto_aliases=off\n",
      "t.cfg");
  const Config& c = s.config();
  EXPECT_FALSE(c.msrp.sipmsg);
  EXPECT_EQ(c.msrp.timer_interval, 60);
  EXPECT_THAT(c.ctl_binrpc, ElementsAre("unix:/tmp/a", "tcp:127.0.0.1:2046"));
  EXPECT_EQ(c.ctl.at("mode"), "0600");
  EXPECT_EQ(c.tls.at("certificate"), "/c.pem");
  EXPECT_THAT(c.aliases, ElementsAre("a.example.org", "b.example.org"));
  EXPECT_EQ(c.other_core.at("tcp_async"), "yes");
  EXPECT_FALSE(c.auto_aliases);
  EXPECT_THAT(s.warnings(),
              ElementsAre("t.cfg:11:18: modparam(\"xlog\", \"buf_size\") has no effect in msrpd"));
}

TEST(ScriptParams, UnknownTlsAndKexParametersAreRefused) {
  EXPECT_EQ(load_error("loadmodule \"tls.so\"\nmodparam(\"tls\", \"certificat\", \"x\")\n"),
            "t.cfg:2:17: unknown parameter 'certificat' of module 'tls'");
  EXPECT_EQ(load_error("loadmodule \"kex.so\"\nmodparam(\"kex\", \"x\", 1)\n"),
            "t.cfg:2:17: unknown parameter 'x' of module 'kex'");
}

TEST(ScriptListen, OneParserForConfigLinesAndOverrides) {
  auto l = parse_listen("tls:[::1]:5061 advertise msrp.example.org:5061 name \"pub\"");
  ASSERT_TRUE(l);
  EXPECT_FALSE(l->ignored);
  EXPECT_EQ(l->listen.proto, "tls");
  EXPECT_EQ(l->listen.host, "::1");
  EXPECT_EQ(l->listen.port, 5061);
  EXPECT_EQ(l->listen.advertise, "msrp.example.org:5061");
  EXPECT_EQ(l->listen.name, "pub");
  auto bare = parse_listen("::1");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->listen.proto, "tcp");
  EXPECT_EQ(bare->listen.host, "::1");
  EXPECT_EQ(bare->listen.port, 0);
  EXPECT_TRUE(parse_listen("sctp:127.0.0.1:5060")->ignored);
}

TEST(ScriptListen, ErrorsSayWhatWasExpected) {
  EXPECT_EQ(parse_listen("[::1").error().message, "expected ']' in listen address '[::1'");
  EXPECT_EQ(parse_listen("[::1]5060").error().message,
            "expected ':' after ']' in listen address '[::1]5060'");
  EXPECT_EQ(parse_listen("tcp::5060").error().message, "expected an address in listen=tcp::5060");
  EXPECT_EQ(parse_listen("1.2.3.4:0").error().message, "expected a port 1..65535 in listen=1.2.3.4:0");
  EXPECT_EQ(parse_listen("1.2.3.4 advertise").error().message,
            "expected a value after 'advertise' in listen=1.2.3.4 advertise");
  EXPECT_EQ(parse_listen("1.2.3.4 via x").error().message,
            "expected 'advertise' or 'name' in listen=1.2.3.4 via x, found 'via'");
}

}  // namespace
}  // namespace msrpd::script
