// Lua routing end to end: the real msrpd on examples/kemi/ (the seed's Example 1.18 written in
// Lua, cfgengine "lua"). Its MSRP behaviour is checked byte for byte with the config-language
// form's in relay_test.cpp (Route18); here SIP through ksr_request_route, then Lua errors at run
// time and at `msrpd -c`.
#include <gtest/gtest.h>

#include <poll.h>

#include <fstream>

#include "harness.h"

namespace msrpd::itest {
namespace {

using client::Client;

const std::string kLua18 = source_path("examples/kemi/kamailio-1.18-lua.cfg");

class Lua18 : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d_.start(kLua18, {"-n", "2"})) << d_.log(); }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
  }
  Msrpd d_;
};

TEST_F(Lua18, SipRequestRunsKsrRequestRouteAndGets403) {
  Client c = d_.connect();
  ASSERT_TRUE(
      c.send("MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKl1\r\n"
             "From: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: l1\r\n"
             "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"));
  std::string got;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (got.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    ssize_t n = ::recv(c.fd(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(got.rfind("SIP/2.0 403 No SIP Here\r\n", 0), 0u) << got;
}

// A config and a Lua file written for one test, in /tmp.
std::string write_lua_config(const std::string& name, const std::string& lua,
                             const std::string& callback = "ksr_msrp_event") {
  std::string lua_path = "/tmp/msrpd-itest-" + name + ".lua";
  std::string cfg_path = "/tmp/msrpd-itest-" + name + ".cfg";
  std::ofstream(lua_path) << lua;
  std::ofstream(cfg_path) << "#!KAMAILIO\nloadmodule \"msrp.so\"\nloadmodule \"app_lua.so\"\n"
                             "modparam(\"app_lua\", \"load\", \""
                          << lua_path << "\")\nmodparam(\"msrp\", \"event_callback\", \"" << callback
                          << "\")\ncfgengine \"lua\"\n";
  return cfg_path;
}

TEST(LuaErrors, RuntimeErrorIsLoggedWithFileAndLineAndMsrpdKeepsServing) {
  std::string cfg = write_lua_config("lua-runtime",
                                     "function ksr_msrp_event(ev)\n"
                                     "  if KSR.pv.get(\"$msrp(method)\") == \"BOOM\" then\n"
                                     "    no_such_function()\n"
                                     "  end\n"
                                     "  KSR.msrp.reply(\"299\", ev)\n"
                                     "end\n");
  Msrpd d;
  ASSERT_TRUE(d.start(cfg, {"-n", "1"})) << d.log();
  Client c = d.connect();
  std::string me = my_uri(c, "a");
  ASSERT_TRUE(c.send(client::make_request("boom0001", "BOOM", d.uri(), me)));
  // The frame is unrouted: nothing comes back for it.
  auto none = c.read_frame(300);
  EXPECT_FALSE(none) << none->raw;
  ASSERT_TRUE(c.send(client::make_request("fine0001", "FINE", d.uri(), me)));
  auto f = c.read_frame();
  ASSERT_TRUE(f) << f.error().message << "\n" << d.log();
  EXPECT_EQ(f->raw, "MSRP fine0001 299 msrp:frame-in\r\nTo-Path: " + me + "\r\nFrom-Path: " + d.uri() +
                        "\r\n-------fine0001$\r\n");
  std::string log = d.log();
  EXPECT_NE(log.find("/tmp/msrpd-itest-lua-runtime.lua:3: attempt to call a nil value (global "
                     "'no_such_function')"),
            std::string::npos)
      << log;
}

TEST(LuaErrors, CheckReportsASyntaxErrorWithFileAndLine) {
  std::string cfg = write_lua_config("lua-syntax", "function ksr_msrp_event(ev)\n  local x = = 1\nend\n");
  RunResult r = run_msrpd({"-c", "-f", cfg});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("/tmp/msrpd-itest-lua-syntax.lua:2: unexpected symbol near '='"), std::string::npos)
      << r.output;
}

TEST(LuaErrors, CheckReportsAMissingEventCallbackFunction) {
  std::string cfg = write_lua_config("lua-nofn", "function other(ev)\nend\n", "ksr_msrp_event");
  RunResult r = run_msrpd({"-c", "-f", cfg});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("modparam(\"msrp\", \"event_callback\", \"ksr_msrp_event\"): no Lua function "
                          "'ksr_msrp_event' in /tmp/msrpd-itest-lua-nofn.lua"),
            std::string::npos)
      << r.output;
}

TEST(LuaErrors, ExampleConfigPassesTheCheck) {
  RunResult r = run_msrpd({"-c", "-f", kLua18});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("config file ok"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace msrpd::itest
