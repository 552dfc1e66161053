// msrp_set_dst's sock (issue 12 item 13): a literal is Kamailio's "proto:ip:port" when the call is
// parsed, and one of msrpd's listen sockets once those are known (-l applied); a value from a
// variable is left to the call. Errors carry the call's file:line:column.

#include <gtest/gtest.h>

#include "common/host_port.h"
#include "script/engine_config.h"
#include "script/local_sockets.h"
#include "script/script.h"

namespace msrpd::script {
namespace {

const std::string kHead = "loadmodule \"msrp.so\"\nloadmodule \"pv.so\"\nevent_route[msrp:frame-in] {\n";

std::string set_dst(const std::string& sock) {
  return kHead + "  msrp_set_dst(\"msrp://127.0.0.1:9;tcp\", \"" + sock + "\");\n}\n";
}

std::string load_error(const std::string& text) {
  try {
    load_text(text, "t.cfg");
  } catch (const LoadError& e) {
    return e.what();
  }
  return "(loaded)";
}

// The load check as msrpd runs it: the script, then the listen sockets (-l when given).
std::string check(const std::string& text, std::vector<std::string> listen = {}) {
  Script s = load_text(text, "t.cfg");
  auto ec = engine_config(s.config(), "t.cfg", {std::move(listen)});
  if (!ec) return "engine_config: " + ec.error().message;
  auto r = check_local_sockets(s.config(), *ec);
  return r ? "ok" : r.error().message;
}

TEST(LocalSocketSyntax, IsProtoIpPort) {
  auto s = SockName::parse("tcp:127.0.0.2:5060");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->proto, "tcp");
  EXPECT_EQ(s->ip, "127.0.0.2");
  EXPECT_EQ(s->port, 5060);
  auto v6 = SockName::parse("tls:[::1]:5061");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->proto, "tls");
  EXPECT_EQ(v6->ip, "::1");
  EXPECT_EQ(v6->port, 5061);
}

TEST(LocalSocketSyntax, ErrorsSayWhatIsWrong) {
  EXPECT_EQ(SockName::parse("127.0.0.1").error().message, "no proto");
  EXPECT_EQ(SockName::parse("udp:127.0.0.1:5060").error().message, "the proto is tcp or tls");
  EXPECT_EQ(SockName::parse("tcp:127.0.0.1").error().message, "no port");
  EXPECT_EQ(SockName::parse("tcp:127.0.0.1:0").error().message, "bad port");
  EXPECT_EQ(SockName::parse("tcp:relay.example.com:5060").error().message, "the address must be numeric");
  EXPECT_EQ(SockName::parse("tcp:::1:5060").error().message, "an IPv6 address is bracketed");
  EXPECT_EQ(SockName::parse("tcp:[::1:5060").error().message, "unclosed '['");
}

TEST(LocalSocketLoad, AMalformedLiteralIsRefusedWhereItIsWritten) {
  EXPECT_EQ(
      load_error(set_dst("tcp:127.0.0.2")),
      "t.cfg:4:42: expected a local socket proto:ip:port (like \"tcp:127.0.0.1:5060\") for argument 2 of "
      "msrp_set_dst(), found string \"tcp:127.0.0.2\": no port");
}

TEST(LocalSocketLoad, ALiteralNamingNoListenSocketIsRefusedWithItsPlace) {
  EXPECT_EQ(check(set_dst("tcp:127.0.0.2:5060"), {"tcp:127.0.0.1:5060"}),
            "t.cfg:4:42: msrp_set_dst: 'tcp:127.0.0.2:5060' is not a listen socket of msrpd (it listens on "
            "tcp:127.0.0.1:5060)");
  // The right address on another port, or another proto, is not that socket either.
  EXPECT_EQ(check(set_dst("tcp:127.0.0.1:5061"), {"tcp:127.0.0.1:5060"}).substr(0, 24),
            "t.cfg:4:42: msrp_set_dst");
  EXPECT_EQ(check(set_dst("tls:127.0.0.1:5060"), {"tcp:127.0.0.1:5060"}).substr(0, 24),
            "t.cfg:4:42: msrp_set_dst");
  // Without -l, the config's own listen lines (none: 127.0.0.1:2855).
  EXPECT_EQ(check(set_dst("tcp:127.0.0.1:2855")), "ok");
  EXPECT_EQ(check("listen=tcp:127.0.0.2:5060\n" + set_dst("tcp:127.0.0.1:2855")),
            "t.cfg:5:42: msrp_set_dst: 'tcp:127.0.0.1:2855' is not a listen socket of msrpd (it listens on "
            "tcp:127.0.0.2:5060)");
}

TEST(LocalSocketLoad, ALiteralNamingAListenSocketLoads) {
  EXPECT_EQ(check(set_dst("tcp:127.0.0.2:5060"), {"tcp:127.0.0.1:5060", "tcp:127.0.0.2:5060"}), "ok");
  EXPECT_EQ(check(set_dst("tcp:[::1]:5060"), {"tcp:[::1]:5060"}), "ok");
  // A wildcard listen address stands for every address of its family on that port.
  EXPECT_EQ(check(set_dst("tcp:127.0.0.2:5060"), {"tcp:0.0.0.0:5060"}), "ok");
  EXPECT_EQ(check(set_dst("tcp:127.0.0.2:5060"), {"tcp:[::]:5060"}).substr(0, 24),
            "t.cfg:4:42: msrp_set_dst");
  // No socket at all (Kamailio's configs pass "" when they have none).
  EXPECT_EQ(check(set_dst(""), {"tcp:127.0.0.1:5060"}), "ok");
}

TEST(LocalSocketLoad, AValueFromAVariableIsLeftToTheCall) {
  EXPECT_EQ(check(kHead + "  $var(s) = \"tcp:10.9.9.9:1\";\n  msrp_set_dst(\"msrp://127.0.0.1:9;tcp\", "
                          "\"$var(s)\");\n}\n",
                  {"tcp:127.0.0.1:5060"}),
            "ok");
}

}  // namespace
}  // namespace msrpd::script
