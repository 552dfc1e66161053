// The Lua binding: KSR functions against a hand-written relay::Context, their return values, what
// they log, and how Lua errors are reported (never thrown at the relay).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "fake_context.h"
#include "kemi/lua.h"
#include "script/htable.h"
#include "script/script.h"

namespace msrpd::kemi {
namespace {

using script::testing::FakeContext;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kModules =
    "debug=3\nloadmodule \"sl.so\"\nloadmodule \"msrp.so\"\nloadmodule \"pv.so\"\nloadmodule \"xlog.so\"\n"
    "loadmodule \"htable.so\"\nloadmodule \"auth.so\"\nloadmodule \"app_lua.so\"\n"
    "modparam(\"htable\", \"htable\", \"t=>size=4;\")\nmodparam(\"auth\", \"qop\", \"auth\")\n";

FakeContext send_frame() {
  return FakeContext::request("SEND", {"msrp://127.0.0.1:25060/s1;tcp", "msrp://127.0.0.1:40000/c1;tcp"},
                              {"msrp://10.0.0.9:7000/peer;tcp"});
}

class LuaTest : public ::testing::Test {
 protected:
  // Loads `lua` (as /tmp/msrpd-unit-kemi-<test>.lua) with cfgengine "lua"; `extra` is more config.
  Result<std::unique_ptr<LuaEngine>> load(const std::string& lua, const std::string& extra = "") {
    path_ = "/tmp/msrpd-unit-kemi-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".lua";
    std::ofstream(path_) << lua;
    script_ = script::load_text(
        kModules + extra + "modparam(\"app_lua\", \"load\", \"" + path_ + "\")\ncfgengine \"lua\"\n",
        "t.cfg");
    env_ = std::make_unique<script::WorkerEnv>(script_, 3);
    env_->set_log_sink([this](int level, std::string_view t) {
      log_.push_back(std::to_string(level) + " " + std::string(t));
    });
    return LuaEngine::create(script_, *env_);
  }
  // Loads `body` as the body of ksr_msrp_event(ev) and runs it for `c`.
  LuaEngine::Outcome run(const std::string& body, FakeContext& c) {
    auto lua = load("function ksr_msrp_event(ev)\n" + body + "\nend\n");
    EXPECT_TRUE(lua) << lua.error().message;
    if (!lua) return {false};
    return (*lua)->run("ksr_msrp_event", c, kFrameInEvent);
  }

  std::string path_;
  script::Script script_;
  std::unique_ptr<script::WorkerEnv> env_;
  std::vector<std::string> log_;
};

TEST_F(LuaTest, CallbackGetsTheEventName) {
  FakeContext c = send_frame();
  EXPECT_TRUE(run("KSR.msrp.reply(\"200\", ev)", c).ok);
  EXPECT_THAT(c.actions, ElementsAre("reply 200 msrp:frame-in"));
}

TEST_F(LuaTest, MsrpFunctionsActOnTheContextAndReturnItsCodes) {
  FakeContext c = send_frame();
  c.cmap_lookup_rc = -4;
  ASSERT_TRUE(
      run("KSR.msrp.reply_flags(1)\n"
          "KSR.msrp.relay_flags(3)\n"
          "KSR.msrp.set_dst(\"msrp://10.0.0.1:2855;tcp\", \"tcp:127.0.0.1:2855\")\n"
          "KSR.msrp.reply(200, \"OK\", \"X-A: 1\\r\\n\")\n"
          "KSR.msrp.reply(\"rc\", tostring(KSR.msrp.cmap_lookup()) .. ' ' .. tostring(KSR.msrp.relay()) ..\n"
          "  ' ' .. KSR.msrp.is_request() .. ' ' .. KSR.msrp.is_reply() .. ' ' .. KSR.msrp.cmap_save())",
          c)
          .ok);
  EXPECT_THAT(
      c.actions,
      ElementsAre("reply_flags 1", "relay_flags 3", "set_dst msrp://10.0.0.1:2855;tcp tcp:127.0.0.1:2855",
                  "reply 200 OK |X-A: 1\r\n", "cmap_lookup", "relay", "cmap_save", "reply rc -4 1 1 -1 1"));
}

TEST_F(LuaTest, PvGetReadsMsrpKeysHeadersAndCoreVariables) {
  FakeContext c = send_frame();
  ASSERT_TRUE(
      run("local m = KSR.pv.get(\"$msrp(method)\")\n"
          "local n = KSR.pv.get(\"$msrp(nexthops)\")\n"
          "KSR.msrp.reply(\"200\", m .. '|' .. math.type(n) .. n .. '|' .. KSR.pv.get(\"$si\") .. ':' ..\n"
          "  KSR.pv.get(\"$sp\") .. '|' .. KSR.pv.get(\"$(msrp(sessid){s.toupper})\") .. '|' ..\n"
          "  KSR.pv.get(\"$hdr(from-path)\") .. '|' .. KSR.pv.get(\"$pp\") .. '|' ..\n"
          "  tostring(KSR.pv.get(\"$msrp(code)\")) .. '|' .. KSR.pv.gete(\"$msrp(code)\") .. '|' ..\n"
          "  KSR.pv.getw(\"$msrp(code)\") .. '|' .. KSR.pv.getvn(\"$msrp(code)\", 7) .. '|' ..\n"
          "  tostring(KSR.pv.is_null(\"$msrp(code)\")) .. tostring(KSR.pv.is_null(\"$si\")))",
          c)
          .ok);
  EXPECT_THAT(c.actions,
              ElementsAre("reply 200 SEND|integer1|127.0.0.1:40000|S1|msrp://10.0.0.9:7000/peer;tcp|3|"
                          "nil||<<null>>|7|truefalse"));
}

TEST_F(LuaTest, PvSetsVarsTheConfigLanguageShares) {
  FakeContext c = send_frame();
  ASSERT_TRUE(
      run("KSR.pv.sets(\"$var(a)\", \"x\")\nKSR.pv.seti(\"$var(n)\", 41)\n"
          "KSR.pv.seti(\"$var(n)\", KSR.pv.get(\"$var(n)\") + 1)\n"
          "KSR.pv.sets(\"$sht(t=>k)\", \"in-table\")\n"
          "KSR.pv.unset(\"$var(a)\")\n"
          "KSR.msrp.reply(\"200\", KSR.pv.get(\"$var(a)\") .. '|' .. KSR.pv.get(\"$var(n)\") .. '|' ..\n"
          "  KSR.htable.sht_get(\"t\", \"k\") .. '|' .. tostring(KSR.pv.get(\"$var(never)\")))",
          c)
          .ok);
  // $var starts at 0 and an unset $var reads 0, as in the config language.
  EXPECT_THAT(c.actions, ElementsAre("reply 200 0|42|in-table|0"));
  EXPECT_EQ(script_.htable("t")->get("k", 0).str(), "in-table");
}

TEST_F(LuaTest, BadPseudoVariableIsLoggedWithTheLuaPlaceAndReadsNil) {
  FakeContext c = send_frame();
  ASSERT_TRUE(run("local v = KSR.pv.get(\"$nosuch\")\nKSR.pv.sets(\"$msrp(method)\", \"X\")\n"
                  "KSR.msrp.reply(\"200\", tostring(v))",
                  c)
                  .ok);
  EXPECT_THAT(c.actions, ElementsAre("reply 200 nil"));
  EXPECT_THAT(log_, ElementsAre("-1 " + path_ + ":2: KSR.pv: unknown pseudo-variable class '$nosuch'\n",
                                "-1 " + path_ +
                                    ":3: KSR.pv: cannot assign to '$msrp(method)' (only $var(name), "
                                    "$sht(table=>key) and $shtex(table=>key) can be assigned)\n"));
}

TEST_F(LuaTest, LogFunctionsWriteAtTheirLevelWhenDebugAllows) {
  FakeContext c = send_frame();
  ASSERT_TRUE(run("KSR.info(\"i\\n\")\nKSR.err(\"e\")\nKSR.dbg(\"d\")\nKSR.warn(\"w\")\nKSR.notice(\"n\")\n"
                  "KSR.crit(\"c\")\nKSR.log(\"info\", \"l\")",
                  c)
                  .ok);
  EXPECT_THAT(log_, ElementsAre("2 i\n", "-1 e", "3 d", "0 w", "1 n", "-2 c", "2 l"));
}

TEST_F(LuaTest, LogLevelsAboveDebugAreNotWritten) {
  FakeContext c = send_frame();
  auto lua = load("function f() KSR.dbg(\"d\") KSR.info(\"i\") KSR.warn(\"w\") end", "debug=0\n");
  ASSERT_TRUE(lua) << lua.error().message;
  EXPECT_TRUE((*lua)->run("f", c).ok);
  EXPECT_THAT(log_, ElementsAre("0 w"));
}

TEST_F(LuaTest, AuthBridgeChallengesAndVerifies) {
  FakeContext c =
      FakeContext::request("AUTH", {"msrp://127.0.0.1:25060;tcp"}, {"msrp://127.0.0.1:40000/c;tcp"});
  ASSERT_TRUE(
      run("local rc = KSR.auth.pv_www_authenticate(\"myrealm\", \"xyz123\", 0, \"AUTH\")\n"
          "if rc < 0 then\n"
          "  local g = KSR.auth.auth_get_www_authenticate(\"myrealm\", 1, \"$var(wauth)\")\n"
          "  KSR.msrp.reply(\"401\", \"Unauthorized \" .. rc .. \" \" .. g, KSR.pv.get(\"$var(wauth)\"))\n"
          "end",
          c)
          .ok);
  ASSERT_EQ(c.actions.size(), 1u);
  // -5: no credentials.
  EXPECT_THAT(c.actions[0],
              HasSubstr("reply 401 Unauthorized -5 1 |WWW-Authenticate: Digest realm=\"myrealm\""));
  EXPECT_THAT(c.actions[0], HasSubstr("qop=\"auth\""));
  EXPECT_EQ(c.actions[0].substr(c.actions[0].size() - 2), "\r\n");
}

TEST_F(LuaTest, ModuleFunctionsAreReachableByModuleAndByModf) {
  FakeContext c = send_frame();
  ASSERT_TRUE(
      run("KSR.sl.sl_send_reply(403, \"No SIP Here\")\nKSR.x.modf(\"sl_send_reply\", \"404\", \"Nope\")\n"
          "KSR.htable.sht_seti(\"t\", \"n\", 5)\nKSR.htable.sht_rm(\"t\", \"n\")\n"
          "KSR.msrp.reply(\"200\", KSR.htable.sht_is_null(\"t\", \"n\") .. '')",
          c)
          .ok);
  EXPECT_THAT(c.actions, ElementsAre("sl 403 No SIP Here", "sl 404 Nope", "reply 200 1"));
}

TEST_F(LuaTest, XlogThroughTheBridgeExpandsPseudoVariables) {
  FakeContext c = send_frame();
  ASSERT_TRUE(run("KSR.xlog.xinfo(\"m=$msrp(method)\\n\")\nKSR.xlog.xlog(\"L_WARN\", \"w=$si\")\n"
                  "KSR.xlog.xlog(\"e=$sp\")",
                  c)
                  .ok);
  EXPECT_THAT(log_, ElementsAre("2 m=SEND\n", "0 w=127.0.0.1", "-1 e=40000"));
}

TEST_F(LuaTest, WrongArgumentsToAModuleFunctionAreALuaErrorWithThePlace) {
  FakeContext c = send_frame();
  EXPECT_FALSE(run("\nKSR.sl.sl_send_reply(403)\nKSR.msrp.reply(\"200\", \"not reached\")", c).ok);
  EXPECT_TRUE(c.actions.empty());
  EXPECT_THAT(log_,
              ElementsAre("-1 " + path_ + ":3: function 'sl.sl_send_reply' takes 2 arguments, found 1\n"));
}

TEST_F(LuaTest, ExitEndsTheRunWithoutError) {
  FakeContext c = send_frame();
  auto out = run("KSR.msrp.reply(\"200\", \"a\")\nKSR.x.exit()\nKSR.msrp.reply(\"200\", \"b\")", c);
  EXPECT_TRUE(out.ok);
  EXPECT_TRUE(out.exited);
  EXPECT_THAT(c.actions, ElementsAre("reply 200 a"));
  EXPECT_TRUE(log_.empty());
  FakeContext d = send_frame();
  EXPECT_TRUE(run("KSR.x.drop()", d).dropped);
}

TEST_F(LuaTest, RuntimeErrorIsLoggedAsFileLineMessageAndKeepsWhatWasDone) {
  FakeContext c = send_frame();
  auto out = run("KSR.msrp.reply(\"200\", \"a\")\nerror(\"boom\")", c);
  EXPECT_FALSE(out.ok);
  EXPECT_THAT(c.actions, ElementsAre("reply 200 a"));
  EXPECT_THAT(log_, ElementsAre("-1 " + path_ + ":3: boom\n"));
}

TEST_F(LuaTest, BadArgumentToAKsrFunctionNamesTheLuaLine) {
  FakeContext c = send_frame();
  EXPECT_FALSE(run("KSR.msrp.relay_flags(\"x\")", c).ok);
  EXPECT_THAT(log_, ElementsAre("-1 " + path_ +
                                ":2: bad argument #1 to 'relay_flags' (number expected, got string)\n"));
}

TEST_F(LuaTest, EndlessLoopIsStopped) {
  FakeContext c = send_frame();
  EXPECT_FALSE(run("while true do end", c).ok);
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_THAT(log_[0], HasSubstr(path_ + ":2: stopped after 10 million Lua instructions"));
}

TEST_F(LuaTest, TheEngineIsUsableAfterAnError) {
  FakeContext c = send_frame();
  auto lua = load("function f(ev) if ev == 'bad' then error('x') end KSR.msrp.reply('200', ev) end");
  ASSERT_TRUE(lua) << lua.error().message;
  EXPECT_FALSE((*lua)->run("f", c, "bad").ok);
  EXPECT_TRUE((*lua)->run("f", c, "good").ok);
  EXPECT_THAT(c.actions, ElementsAre("reply 200 good"));
}

TEST_F(LuaTest, ActionsOutsideAMessageAreRefused) {
  auto lua = load("rc = KSR.msrp.reply('200', 'x')\nfunction f() KSR.msrp.reply('200', tostring(rc)) end");
  ASSERT_TRUE(lua) << lua.error().message;
  FakeContext c = send_frame();
  EXPECT_TRUE((*lua)->run("f", c).ok);
  EXPECT_THAT(c.actions, ElementsAre("reply 200 -1"));
}

TEST_F(LuaTest, SyntaxErrorFailsTheLoadWithFileAndLine) {
  auto lua = load("function f()\n  x = = 1\nend\n");
  ASSERT_FALSE(lua);
  EXPECT_EQ(lua.error().message, path_ + ":2: unexpected symbol near '='");
}

TEST_F(LuaTest, TopLevelRuntimeErrorFailsTheLoad) {
  auto lua = load("local t = nil\nprint(t.x)\n");
  ASSERT_FALSE(lua);
  EXPECT_THAT(lua.error().message, HasSubstr(path_ + ":2: attempt to index a nil value"));
}

TEST_F(LuaTest, MissingFunctionIsAnErrorNotACrash) {
  auto lua = load("x = 1");
  ASSERT_TRUE(lua);
  FakeContext c = send_frame();
  EXPECT_FALSE((*lua)->has_function("ksr_msrp_event"));
  EXPECT_FALSE((*lua)->run("ksr_msrp_event", c, kFrameInEvent).ok);
  EXPECT_THAT(log_, ElementsAre("-1 no Lua function 'ksr_msrp_event' to run\n"));
}

// ---- the start-up check ----

std::string check_error(const std::string& cfg) {
  auto r = check(script::load_text(cfg, "t.cfg"));
  return r ? "ok" : r.error().message;
}

TEST_F(LuaTest, PreparedCallRunsWithItsArgumentEveryTimeAndAMissingFunctionIsNotPrepared) {
  auto lua =
      load("n = 0\nfunction ksr_msrp_event(ev)\n  n = n + 1\n  KSR.msrp.reply(\"200\", ev .. n)\nend\n");
  ASSERT_TRUE(lua) << lua.error().message;
  EXPECT_FALSE((*lua)->prepare("no_such_function"));
  auto call = (*lua)->prepare("ksr_msrp_event", kFrameInEvent);
  ASSERT_TRUE(call);
  FakeContext a = send_frame(), b = send_frame();
  EXPECT_TRUE((*lua)->run(*call, a).ok);
  EXPECT_TRUE((*lua)->run(*call, b).ok);
  EXPECT_THAT(a.actions, ElementsAre("reply 200 msrp:frame-in1"));
  EXPECT_THAT(b.actions, ElementsAre("reply 200 msrp:frame-in2"));
  // Without an argument.
  auto bare = (*lua)->prepare("ksr_msrp_event");
  ASSERT_TRUE(bare);
  FakeContext c = send_frame();
  EXPECT_FALSE((*lua)->run(*bare, c).ok);  // ev is nil: ev .. n is a Lua error, logged
  EXPECT_THAT(log_.back(), HasSubstr("attempt to concatenate"));
}

TEST(LuaCheck, EventCallbackNeedsTheLuaEngine) {
  EXPECT_EQ(check_error("loadmodule \"msrp.so\"\nmodparam(\"msrp\", \"event_callback\", \"f\")\n"),
            "modparam(\"msrp\", \"event_callback\", \"f\") names a Lua function: it needs cfgengine \"lua\"");
}

TEST(LuaCheck, EventCallbackMustNameAFunction) {
  std::ofstream("/tmp/msrpd-unit-kemi-check.lua") << "function ksr_request_route() end\n";
  EXPECT_EQ(
      check_error("loadmodule \"msrp.so\"\nloadmodule \"app_lua.so\"\nmodparam(\"msrp\", \"event_callback\", "
                  "\"ksr_msrp_event\")\nmodparam(\"app_lua\", \"load\", \"/tmp/msrpd-unit-kemi-check.lua\")\n"
                  "cfgengine \"lua\"\n"),
      "modparam(\"msrp\", \"event_callback\", \"ksr_msrp_event\"): no Lua function 'ksr_msrp_event' in "
      "/tmp/msrpd-unit-kemi-check.lua");
}

TEST(LuaCheck, WarnsWhenSipRequestsHaveNoRoute) {
  std::ofstream("/tmp/msrpd-unit-kemi-check2.lua") << "function ev(e) end\n";
  auto r = check(script::load_text(
      "loadmodule \"msrp.so\"\nloadmodule \"app_lua.so\"\nmodparam(\"msrp\", \"event_callback\", \"ev\")\n"
      "modparam(\"app_lua\", \"load\", \"/tmp/msrpd-unit-kemi-check2.lua\")\ncfgengine \"lua\"\n",
      "t.cfg"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(*r, ElementsAre("no Lua function 'ksr_request_route' in /tmp/msrpd-unit-kemi-check2.lua: SIP "
                              "requests get no route"));
}

TEST(LuaCheck, WarnsThatLuaFilesAreNotLoadedWithTheNativeEngine) {
  auto r = check(script::load_text(
      "loadmodule \"app_lua.so\"\nmodparam(\"app_lua\", \"load\", \"/tmp/never-read.lua\")\n", "t.cfg"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(*r, ElementsAre("modparam(\"app_lua\", \"load\", ...) has no effect: cfgengine is \"native\""));
}

// ---- the config statements ----

std::string load_error(const std::string& cfg) {
  try {
    script::load_text(cfg, "t.cfg");
  } catch (const script::LoadError& e) {
    return e.what();
  }
  return "ok";
}

TEST(LuaConfig, CfgengineNeedsAppLuaAndAFile) {
  EXPECT_EQ(load_error("cfgengine \"lua\"\n"),
            "t.cfg:1:1: cfgengine \"lua\" needs loadmodule \"app_lua.so\"");
  EXPECT_EQ(load_error("loadmodule \"app_lua.so\"\ncfgengine \"lua\"\n"),
            "t.cfg:2:1: cfgengine \"lua\" needs a Lua file: modparam(\"app_lua\", \"load\", \"FILE.lua\")");
  EXPECT_EQ(load_error("cfgengine \"python3\"\n"),
            "t.cfg:1:11: cfgengine \"python3\" is not provided by msrpd (expected \"native\" or \"lua\")");
  EXPECT_EQ(load_error("cfgengine \"native\"\n"), "ok");
}

TEST(LuaConfig, RelativeLoadPathIsTakenFromTheConfigDirectory) {
  script::Script s = script::load_text(
      "loadmodule \"app_lua.so\"\nmodparam(\"app_lua\", \"load\", \"r.lua\")\nmodparam(\"app_lua\", "
      "\"load\", "
      "\"/abs/s.lua\")\ncfgengine = \"lua\"\n",
      "/etc/msrpd/msrpd.cfg");
  EXPECT_EQ(s.config().cfgengine, "lua");
  EXPECT_THAT(s.config().app_lua.load, ElementsAre("/etc/msrpd/r.lua", "/abs/s.lua"));
}

}  // namespace
}  // namespace msrpd::kemi
