// Global parameters and module parameters end up in Config, typed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "script/script.h"

namespace msrpd::script {
namespace {

using ::testing::ElementsAre;

TEST(ScriptConfig, ListensWithProtocolsIpv6AdvertiseAndName) {
  Script s = load_text(
      "listen=127.0.0.1:5060\n"
      "listen=tls:[::1]:5061 advertise msrp.example.org:5061 name \"pub\"\n"
      "listen = tcp:0.0.0.0:2855 # comment\n"
      "listen=udp:127.0.0.1:5060\n"
      "listen=relay.example.org\n",
      "t.cfg");
  const auto& l = s.config().listen;
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0].proto, "tcp");
  EXPECT_EQ(l[0].host, "127.0.0.1");
  EXPECT_EQ(l[0].port, 5060);
  EXPECT_EQ(l[1].proto, "tls");
  EXPECT_EQ(l[1].host, "::1");
  EXPECT_EQ(l[1].port, 5061);
  EXPECT_EQ(l[1].advertise, "msrp.example.org:5061");
  EXPECT_EQ(l[1].name, "pub");
  EXPECT_EQ(l[2].host, "0.0.0.0");
  EXPECT_EQ(l[2].port, 2855);
  EXPECT_EQ(l[3].host, "relay.example.org");
  EXPECT_EQ(l[3].port, 0);
  EXPECT_THAT(s.warnings(),
              ElementsAre("t.cfg:4:8: listen=udp:127.0.0.1:5060 ignored: msrpd listens on tcp and tls only"));
}

TEST(ScriptConfig, CoreParameters) {
  Script s = load_text(
      "debug=-1\nchildren=2\nlog_stderror=no\nlog_facility=LOG_LOCAL0\nauto_aliases=yes\n"
      "tcp_accept_no_cl=on\ntcp_connection_lifetime=300;\ntcp_max_connections=100\nalias=relay.example.org\n"
      "alias=\"r2.example.org\"\nmemdbg=5\nmemlog=5\nmpath=\"/x/\"\n",
      "t.cfg");
  const Config& c = s.config();
  EXPECT_EQ(c.debug, -1);
  EXPECT_EQ(c.children, 2);
  EXPECT_FALSE(c.log_stderror);
  EXPECT_EQ(c.log_facility, "LOG_LOCAL0");
  EXPECT_TRUE(c.auto_aliases);
  EXPECT_TRUE(c.tcp_accept_no_cl);
  EXPECT_EQ(c.tcp_connection_lifetime, 300);
  EXPECT_EQ(c.tcp_max_connections, 100);
  EXPECT_THAT(c.aliases, ElementsAre("relay.example.org", "r2.example.org"));
  EXPECT_EQ(c.other_core.at("memdbg"), "5");
  EXPECT_EQ(c.mpath, "/x/");
}

TEST(ScriptConfig, ModuleParameters) {
  Script s = load_text(
      "loadmodule \"/usr/lib/kamailio/modules/msrp.so\"\nloadmodule \"auth\"\nloadmodule \"ctl.so\"\n"
      "loadmodule \"tls.so\"\nloadmodule \"xlog.so\"\nloadmodule \"htable.so\"\n"
      "modparam(\"msrp\", \"sipmsg\", 0)\nmodparam(\"msrp\", \"timer_interval\", \"90\")\n"
      "modparam(\"msrp\", \"auth_min_expires\", 120)\nmodparam(\"msrp\", \"auth_max_expires\", 1800)\n"
      "modparam(\"msrp\", \"event_callback\", \"ksr_msrp_event\")\n"
      "modparam(\"auth\", \"nonce_expire\", 60)\nmodparam(\"auth\", \"secret\", \"s3\")\n"
      "modparam(\"auth\", \"one_time_nonce\", 1)\n"
      "modparam(\"ctl\", \"binrpc\", \"unix:/run/msrpd/ctl\")\nmodparam(\"ctl\", \"binrpc\", "
      "\"tcp:127.0.0.1:2049\")\n"
      "modparam(\"tls\", \"certificate\", \"/etc/msrpd/cert.pem\")\n"
      "modparam(\"xlog\", \"prefix\", \"[x] \")\n"
      "modparam(\"htable\", \"htable\", \"a=>size=2;\")\nmodparam(\"htable\", \"htable\", "
      "\"b=>autoexpire=5;initval=0\")\n",
      "t.cfg");
  const Config& c = s.config();
  EXPECT_FALSE(c.msrp.sipmsg);
  EXPECT_EQ(c.msrp.timer_interval, 90);
  EXPECT_EQ(c.msrp.auth_min_expires, 120);
  EXPECT_EQ(c.msrp.auth_max_expires, 1800);
  EXPECT_EQ(c.msrp.event_callback, "ksr_msrp_event");
  EXPECT_EQ(c.auth.nonce_expire, 60);
  EXPECT_EQ(c.auth.secret, "s3");
  EXPECT_THAT(c.ctl_binrpc, ElementsAre("unix:/run/msrpd/ctl", "tcp:127.0.0.1:2049"));
  EXPECT_EQ(c.tls.at("certificate"), "/etc/msrpd/cert.pem");
  EXPECT_EQ(c.xlog.prefix, "[x] ");
  ASSERT_EQ(c.htables.size(), 2u);
  EXPECT_EQ(c.htables[0].size, 2);
  EXPECT_EQ(c.htables[1].size, 4);
  EXPECT_EQ(c.htables[1].autoexpire, 5);
  EXPECT_THAT(c.loaded_modules, ElementsAre("msrp", "auth", "ctl", "tls", "xlog", "htable"));
  EXPECT_THAT(s.warnings(),
              ElementsAre("t.cfg:14:18: modparam(\"auth\", \"one_time_nonce\") has no effect in msrpd"));
  EXPECT_NE(s.htable("b"), nullptr);
  EXPECT_EQ(s.htable("c"), nullptr);
}

TEST(ScriptConfig, BadModuleParameterValues) {
  auto err = [](const std::string& text) -> std::string {
    try {
      load_text(text, "t.cfg");
    } catch (const LoadError& e) {
      return e.what();
    }
    return "(loaded)";
  };
  EXPECT_EQ(err("loadmodule \"msrp.so\"\nmodparam(\"msrp\", \"cmap_size\", \"big\")\n"),
            "t.cfg:2:18: expected an integer for modparam(\"msrp\", \"cmap_size\"), found \"big\"");
  EXPECT_EQ(
      err("loadmodule \"auth.so\"\nmodparam(\"auth\", \"qop\", \"auth-int\")\n"),
      "t.cfg:2:18: modparam(\"auth\", \"qop\"): msrpd supports qop \"auth\" only (RFC 4976 §9.1), found "
      "\"auth-int\"");
  EXPECT_EQ(err("loadmodule \"htable.so\"\nmodparam(\"htable\", \"htable\", \"a=>size=40;\")\n"),
            "t.cfg:2:20: htable size must be 1..16 (2^size slots), found 40");
  EXPECT_EQ(err("loadmodule \"htable.so\"\nmodparam(\"htable\", \"htable\", \"a=>sizes=4;\")\n"),
            "t.cfg:2:20: unknown htable attribute 'sizes' (expected size, autoexpire or initval)");
  EXPECT_EQ(err("loadmodule \"sl.so\"\nloadmodule \"sl.so\"\n"), "t.cfg:2:12: module 'sl' is loaded twice");
}

}  // namespace
}  // namespace msrpd::script
