// ScriptRouter: which route a frame and a SIP request run, per cfgengine, on which worker.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "fake_context.h"
#include "kemi/router.h"
#include "script/script.h"

namespace msrpd::kemi {
namespace {

using script::testing::FakeContext;
using ::testing::ElementsAre;

const std::string kModules =
    "loadmodule \"sl.so\"\nloadmodule \"msrp.so\"\nloadmodule \"pv.so\"\nloadmodule \"app_lua.so\"\n";

FakeContext send_frame() {
  return FakeContext::request("SEND", {"msrp://127.0.0.1:25060/s1;tcp", "msrp://127.0.0.1:40000/c1;tcp"},
                              {"msrp://10.0.0.9:7000/peer;tcp"});
}

FakeContext sip_request() {
  FakeContext c;
  c.kind_ = relay::MessageKind::sip_request;
  c.method_ = "OPTIONS";
  return c;
}

TEST(ScriptRouter, NativeFramesRunTheEventRouteAndSipRunsRequestRoute) {
  script::Script s =
      script::load_text(kModules +
                            "event_route[msrp:frame-in] { msrp_set_dst(\"w$pp\", \"tcp:127.0.0.1:2855\"); }\n"
                            "request_route { sl_send_reply(\"200\", \"OK $pp\"); }\n",
                        "t.cfg");
  std::vector<unsigned> started;
  ScriptRouter router(s, 2, [&](unsigned w) { started.push_back(w); });
  router.on_worker_start(0);
  router.on_worker_start(1);
  EXPECT_THAT(started, ElementsAre(0u, 1u));
  FakeContext frame = send_frame();
  router.msrp_frame(frame, 1);
  FakeContext sip = sip_request();
  router.sip_request(sip, 0);
  EXPECT_THAT(frame.actions, ElementsAre("set_dst w2 tcp:127.0.0.1:2855"));
  EXPECT_THAT(sip.actions, ElementsAre("sl 200 OK 1"));
}

TEST(ScriptRouter, NativeWithoutRequestRouteLeavesSipAlone) {
  script::Script s = script::load_text(kModules + "event_route[msrp:frame-in] { msrp_relay(); }\n", "t.cfg");
  ScriptRouter router(s, 1);
  router.on_worker_start(0);
  FakeContext sip = sip_request();
  router.sip_request(sip, 0);
  EXPECT_TRUE(sip.actions.empty());
}

class LuaRouter : public ::testing::Test {
 protected:
  script::Script load(const std::string& lua, const std::string& extra) {
    path_ = "/tmp/msrpd-unit-kemi-router-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".lua";
    std::ofstream(path_) << lua;
    return script::load_text(
        kModules + extra + "modparam(\"app_lua\", \"load\", \"" + path_ + "\")\ncfgengine \"lua\"\n",
        "t.cfg");
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(LuaRouter, FramesRunTheEventCallbackAndSipRunsKsrRequestRoute) {
  script::Script s = load(
      "function on_frame(ev) KSR.msrp.set_dst(ev, 'y') end\n"
      "function ksr_request_route() KSR.sl.sl_send_reply(202, 'Lua') end\n",
      "modparam(\"msrp\", \"event_callback\", \"on_frame\")\n");
  ScriptRouter router(s, 1);
  router.on_worker_start(0);
  FakeContext frame = send_frame();
  router.msrp_frame(frame, 0);
  FakeContext sip = sip_request();
  router.sip_request(sip, 0);
  EXPECT_THAT(frame.actions, ElementsAre("set_dst msrp:frame-in y"));
  EXPECT_THAT(sip.actions, ElementsAre("sl 202 Lua"));
}

TEST_F(LuaRouter, WithoutEventCallbackFramesRunTheEventRoute) {
  script::Script s =
      load("function ksr_request_route() end\n",
           "event_route[msrp:frame-in] { msrp_set_dst(\"native\", \"tcp:127.0.0.1:2855\"); }\n");
  ScriptRouter router(s, 1);
  router.on_worker_start(0);
  FakeContext frame = send_frame();
  router.msrp_frame(frame, 0);
  EXPECT_THAT(frame.actions, ElementsAre("set_dst native tcp:127.0.0.1:2855"));
}

}  // namespace
}  // namespace msrpd::kemi
