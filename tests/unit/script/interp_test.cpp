// The language at run time: truth rules, control flow, values, pseudo-variables, transformations,
// module functions.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "common/log.h"
#include "fake_context.h"
#include "script/htable.h"
#include "script/script.h"

namespace msrpd::script {
namespace {

using ::testing::ElementsAre;
using testing::FakeContext;

const std::string kHead =
    "debug=2\nloadmodule \"sl.so\"\nloadmodule \"msrp.so\"\nloadmodule \"pv.so\"\nloadmodule \"xlog.so\"\n"
    "loadmodule \"htable.so\"\nloadmodule \"auth.so\"\n"
    "modparam(\"htable\", \"htable\", \"t=>size=4;autoexpire=60;\")\n";

FakeContext send_frame() {
  return FakeContext::request("SEND", {"msrp://127.0.0.1:25060/s1;tcp", "msrp://127.0.0.1:40000/c1;tcp"},
                              {"msrp://10.0.0.9:7000/peer;tcp"});
}

class InterpTest : public ::testing::Test {
 protected:
  // Runs `body` as event_route[msrp:frame-in] (plus `extra` top-level text) for `c`.
  RunResult run(const std::string& body, FakeContext& c, const std::string& extra = "") {
    script_ = load_text(kHead + extra + "event_route[msrp:frame-in] {\n" + body + "\n}\n", "t.cfg");
    env_ = std::make_unique<WorkerEnv>(script_, 5);
    env_->set_log_sink([this](int level, std::string_view t) {
      log_.push_back(std::to_string(level) + " " + std::string(t));
    });
    return script_.run_event_route(c, *env_);
  }
  // Runs `body` and returns the replies the script sent ("reply 200 <text>").
  std::vector<std::string> out(const std::string& body, const std::string& extra = "") {
    FakeContext c = send_frame();
    run(body, c, extra);
    return c.actions;
  }

  Script script_;
  std::unique_ptr<WorkerEnv> env_;
  std::vector<std::string> log_;
};

TEST_F(InterpTest, NegativeFunctionResultIsFalsePositiveIsTrue) {
  EXPECT_THAT(out("if (msrp_is_reply()) { msrp_reply(\"200\", \"reply\"); } else { msrp_reply(\"200\", "
                  "\"request\"); }"),
              ElementsAre("reply 200 request"));
  EXPECT_THAT(out("if (!msrp_is_reply() && msrp_is_request()) { msrp_reply(\"200\", \"yes\"); }"),
              ElementsAre("reply 200 yes"));
}

TEST_F(InterpTest, FunctionReturningZeroEndsTheScript) {
  FakeContext c = send_frame();
  c.relay_rc = 0;
  RunResult r = run("msrp_relay();\nmsrp_reply(\"200\", \"after\");", c);
  EXPECT_THAT(c.actions, ElementsAre("relay"));
  EXPECT_TRUE(r.exited);
}

TEST_F(InterpTest, RouteReturnValuesFollowTheTruthRules) {
  const std::string routes =
      "route[NEG] { return(-1); }\nroute[POS] { return 2; }\nroute[PLAIN] { $var(p) = 1; }\n";
  EXPECT_THAT(out("if (route(NEG)) { msrp_reply(\"1\", \"neg\"); }\n"
                  "if (route(POS)) { msrp_reply(\"2\", \"pos $rc\"); }\n"
                  "if (route(PLAIN)) { msrp_reply(\"3\", \"plain $var(p)\"); }",
                  routes),
              ElementsAre("reply 2 pos 2", "reply 3 plain 1"));
}

TEST_F(InterpTest, ReturnZeroInASubrouteEndsTheScript) {
  FakeContext c = send_frame();
  RunResult r = run("route(STOP);\nmsrp_reply(\"200\", \"after\");", c, "route[STOP] { return(0); }\n");
  EXPECT_TRUE(c.actions.empty());
  EXPECT_TRUE(r.exited);
}

TEST_F(InterpTest, ExitStopsAndDropIsReported) {
  FakeContext c = send_frame();
  EXPECT_TRUE(run("exit;\nmsrp_relay();", c).exited);
  EXPECT_TRUE(c.actions.empty());
  FakeContext d = send_frame();
  EXPECT_TRUE(run("drop;", d).dropped);
}

TEST_F(InterpTest, WhileLoopsAndBreak) {
  EXPECT_THAT(
      out("$var(i) = 0;\nwhile ($var(i) < 5) { $var(i) = $var(i) + 1; }\nmsrp_reply(\"200\", \"$var(i)\");"),
      ElementsAre("reply 200 5"));
  EXPECT_THAT(out("$var(i) = 0;\nwhile (1) { $var(i) = $var(i) + 1; if ($var(i) >= 3) break; }\n"
                  "msrp_reply(\"200\", \"$var(i)\");"),
              ElementsAre("reply 200 3"));
}

TEST_F(InterpTest, SwitchFallsThroughUntilBreak) {
  const std::string sw =
      "switch ($var(x)) {\n case 1: msrp_reply(\"1\", \"one\");\n case 2: msrp_reply(\"2\", \"two\"); "
      "break;\n"
      " case \"s\": msrp_reply(\"3\", \"str\");\n default: msrp_reply(\"4\", \"default\");\n}\n";
  EXPECT_THAT(out("$var(x) = 1;\n" + sw), ElementsAre("reply 1 one", "reply 2 two"));
  EXPECT_THAT(out("$var(x) = 2;\n" + sw), ElementsAre("reply 2 two"));
  EXPECT_THAT(out("$var(x) = \"s\";\n" + sw), ElementsAre("reply 3 str", "reply 4 default"));
  EXPECT_THAT(out("$var(x) = 9;\n" + sw), ElementsAre("reply 4 default"));
}

TEST_F(InterpTest, SwitchOnTheAuthReturnCode) {
  FakeContext c = send_frame();
  run("pv_www_authenticate(\"r\", \"p\", \"0\");\nswitch ($rc) {\n case -5: msrp_reply(\"401\", \"none\"); "
      "exit;\n default: msrp_relay();\n}",
      c);
  EXPECT_THAT(c.actions, ElementsAre("reply 401 none"));
}

TEST_F(InterpTest, ElseIfChains) {
  EXPECT_THAT(out("if ($msrp(method) == \"AUTH\") { msrp_reply(\"1\", \"a\"); }\n"
                  "else if ($msrp(method) == \"SEND\") { msrp_reply(\"2\", \"s\"); }\n"
                  "else msrp_reply(\"3\", \"x\");"),
              ElementsAre("reply 2 s"));
}

TEST_F(InterpTest, PlusAddsIntegersAndConcatenatesStrings) {
  EXPECT_THAT(out("$var(a) = 1 + 2 * 3;\n$var(b) = \"n=\" + $var(a) + \"!\";\n$var(c) = 10 + \"5\";\n"
                  "$var(d) = (int)\"42abc\" - 2;\n$var(e) = (str)7 + 1;\n$var(f) = 17 % 5 + (20 / 4);\n"
                  "msrp_reply(\"200\", \"$var(a) $var(b) $var(c) $var(d) $var(e) $var(f)\");"),
              ElementsAre("reply 200 7 n=7! 15 40 71 7"));
}

TEST_F(InterpTest, ComparisonsFollowTheLeftOperandType) {
  EXPECT_THAT(out("$var(n) = \"10\";\n"
                  "if ($msrp(nexthops) == 1) msrp_reply(\"1\", \"int\");\n"
                  "if ($msrp(nexthops) == \"1\") msrp_reply(\"2\", \"int-str\");\n"
                  "if ($var(n) > 9) msrp_reply(\"3\", \"gt\");\n"
                  "if (\"abc\" != \"abd\") msrp_reply(\"4\", \"ne\");\n"
                  "if ($msrp(code) == $null) msrp_reply(\"5\", \"null\");\n"
                  "if ($var(unset) == 0) msrp_reply(\"6\", \"var0\");\n"
                  "if ($hdr(To-Path) != $null) msrp_reply(\"7\", \"hdr\");"),
              ElementsAre("reply 1 int", "reply 2 int-str", "reply 3 gt", "reply 4 ne", "reply 5 null",
                          "reply 6 var0", "reply 7 hdr"));
}

TEST_F(InterpTest, LogicalOperatorsAndKeywords) {
  EXPECT_THAT(out("if (method == \"send\" and ($msrp(nexthops) == 5 or 1)) msrp_reply(\"1\", \"a\");\n"
                  "if (!($msrp(nexthops) > 0) || 0) msrp_reply(\"2\", \"b\");"),
              ElementsAre("reply 1 a"));
}

TEST_F(InterpTest, ConditionsNeedNoOuterParentheses) {
  EXPECT_THAT(out("if ($msrp(nexthops) > 0) && ($msrp(method) == \"SEND\") { msrp_reply(\"1\", \"a\"); }\n"
                  "if $msrp(prevhops) == 1 { msrp_reply(\"2\", \"b\"); }"),
              ElementsAre("reply 1 a", "reply 2 b"));
}

TEST_F(InterpTest, EveryMsrpKeyReadsItsOwnContextValue) {
  const char* keys[] = {"buf",     "body",     "code",     "hdrs",     "msgid",   "method",  "buflen",
                        "sessid",  "reason",   "crthop",   "bodylen",  "transid", "prevhop", "nexthop",
                        "lasthop", "firsthop", "prevhops", "nexthops", "srcaddr", "srcsock", "conid"};
  FakeContext c;
  std::string fmt;
  for (int i = 0; i < relay::kMsrpKeyCount; ++i) {
    c.set_str(static_cast<relay::MsrpKey>(i), "v" + std::to_string(i));
    fmt += std::string(i ? " " : "") + "$msrp(" + keys[i] + ")";
  }
  run("msrp_reply(\"200\", \"" + fmt + "\");", c);
  std::string want = "reply 200";
  for (int i = 0; i < relay::kMsrpKeyCount; ++i) want += (i ? " v" : " v") + std::to_string(i);
  EXPECT_THAT(c.actions, ElementsAre(want));
}

TEST_F(InterpTest, DefinedStrlenAndStrempty) {
  EXPECT_THAT(out("$var(s) = \"abc\";\n"
                  "if (defined $msrp(transid) && !defined $msrp(code)) msrp_reply(\"1\", \"def\");\n"
                  "if (strlen($var(s)) == 3 && strempty($msrp(code)) && !strempty($var(s))) "
                  "msrp_reply(\"2\", \"len\");"),
              ElementsAre("reply 1 def", "reply 2 len"));
}

TEST_F(InterpTest, SlashSlashStartsALineCommentAsInKamailio) {
  EXPECT_THAT(out("// a comment\nmsrp_reply(\"200\", \"a//b\"); // another"), ElementsAre("reply 200 a//b"));
}

TEST_F(InterpTest, ALeftValueSurvivesARouteThatReassignsIt) {
  EXPECT_THAT(
      out("$var(x) = \"1\";\n$var(y) = $var(x) + route(R);\nmsrp_reply(\"200\", \"$var(y)\");",
          "route[R] { $var(x) = \"a string long enough to need a heap buffer of its own\"; return(2); }\n"),
      ElementsAre("reply 200 12"));
}

TEST_F(InterpTest, RegexMatch) {
  EXPECT_THAT(
      out("if ($msrp(crthop) =~ \"^msrp://127\\.0\\.0\\.1:[0-9]+/s1;tcp$\") msrp_reply(\"1\", \"m\");\n"
          "$var(re) = \"^SE\";\nif ($msrp(method) =~ $var(re)) msrp_reply(\"2\", \"d\");\n"
          "if ($msrp(method) =~ \"^AUTH\") msrp_reply(\"3\", \"no\");"),
      ElementsAre("reply 1 m", "reply 2 d"));
}

TEST_F(InterpTest, Transformations) {
  EXPECT_THAT(out("msrp_reply(\"200\", \"$(msrp(crthop){msrpuri.session}) $(msrp(crthop){msrpuri.host}) "
                  "$(msrp(crthop){msrpuri.port}) $(msrp(crthop){msrpuri.proto}) $(msrp(method){s.len}) "
                  "$(msrp(method){s.tolower}) $(msrp(transid){s.toupper}) $(msrp(transid){s.substr,1,3}) "
                  "$(msrp(crthop){msrpuri.scheme}{s.len})\");"),
              ElementsAre("reply 200 s1 127.0.0.1 25060 tcp 4 send TID1234 id1 4"));
}

TEST_F(InterpTest, StringIntTransformation) {
  EXPECT_THAT(out("$var(x) = \"12\";\n$var(y) = $(var(x){s.int}) + 1;\nmsrp_reply(\"200\", \"$var(y)\");"),
              ElementsAre("reply 200 13"));
}

TEST_F(InterpTest, PvPrintfAndWorkerId) {
  EXPECT_THAT(
      out("$var(cnt) = $var(cnt) + 1;\npv_printf(\"$var(s)\", \"s.$(pp).$(var(cnt)).[$msrp(method)]\");\n"
          "msrp_reply(\"200\", \"$var(s)\");"),
      ElementsAre("reply 200 s.5.1.[SEND]"));
}

TEST_F(InterpTest, VarsLastAcrossMessagesOfOneWorkerOnly) {
  script_ = load_text(
      kHead + "event_route[msrp:frame-in] {\n$var(n) = $var(n) + 1;\nmsrp_reply(\"200\", \"$var(n)\");\n}\n",
      "t.cfg");
  WorkerEnv w1(script_, 1), w2(script_, 2);
  FakeContext a = send_frame(), b = send_frame(), c = send_frame();
  script_.run_event_route(a, w1);
  script_.run_event_route(b, w1);
  script_.run_event_route(c, w2);
  EXPECT_THAT(b.actions, ElementsAre("reply 200 2"));
  EXPECT_THAT(c.actions, ElementsAre("reply 200 1"));
}

TEST_F(InterpTest, HtableSetGetExpireAndRemove) {
  EXPECT_THAT(out("$var(k) = \"abc\";\n$sht(t=>$var(k)::x) = \"v1\";\n$sht(t=>n) = 5;\n$shtex(t=>n) = 100;\n"
                  "msrp_reply(\"1\", \"$sht(t=>abc::x) $shtex(t=>n)\");\n"
                  "sht_rm(\"t\", \"abc::x\");\n$sht(t=>n) = $null;\n"
                  "if ($sht(t=>abc::x) == $null && $sht(t=>n) == $null) msrp_reply(\"2\", \"gone\");"),
              ElementsAre("reply 1 v1 100", "reply 2 gone"));
}

TEST_F(InterpTest, HtableItemsExpire) {
  HtableDef def;
  def.name = "x";
  def.autoexpire = 10;
  HTable t(def);
  t.set("k", Val::of_int(1), 1000);
  EXPECT_EQ(t.get("k", 1009).i, 1);
  EXPECT_TRUE(t.get("k", 1010).is_null());
  t.set("k2", Val::of_view("v"), 1000);
  t.set_expire("k2", 0, 1000);  // never
  EXPECT_EQ(t.clean(5000), 1u);
  EXPECT_EQ(t.get("k2", 5000).str(), "v");
}

TEST_F(InterpTest, XlogHonoursTheDebugLevel) {
  FakeContext c = send_frame();
  run("xdbg(\"dbg\\n\");\nxinfo(\"info $msrp(method)\\n\");\nxlog(\"L_DBG\", \"ldbg\\n\");\n"
      "xlog(\"L_NOTICE\", \"notice\\n\");\nxlog(\"plain\\n\");\nxerr(\"err\\n\");",
      c);
  EXPECT_THAT(log_, ElementsAre("2 info SEND\n", "1 notice\n", "-1 plain\n", "-1 err\n"));
}

TEST_F(InterpTest, WithoutASinkXlogWritesToTheDaemonLoggerAtItsLevel) {
  script_ = load_text(
      kHead + "event_route[msrp:frame-in] {\nxinfo(\"hello $msrp(method)\\n\");\nxdbg(\"dbg\\n\");\n}\n",
      "t.cfg");
  WorkerEnv env(script_, 1);
  static std::vector<std::string> lines;
  lines.clear();
  common::log_set_sink([](int level, std::string_view line,
                          void*) { lines.push_back(std::to_string(level) + " " + std::string(line)); },
                       nullptr);
  int saved = common::log_level();
  common::set_log_level(2);
  FakeContext c = send_frame();
  script_.run_event_route(c, env);
  common::set_log_level(saved);
  common::log_set_sink(nullptr, nullptr);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].starts_with("2 ")) << lines[0];
  EXPECT_TRUE(lines[0].ends_with("<script>: hello SEND")) << lines[0];
}

TEST_F(InterpTest, SourcePseudoVariables) {
  EXPECT_THAT(out("msrp_reply(\"200\", \"$si:$sp $Ri:$Rp $proto $rm $conid $msrp(nexthops) $null\");"),
              ElementsAre("reply 200 127.0.0.1:40000 127.0.0.1:25060 tcp MSRP 7 1 <null>"));
}

TEST_F(InterpTest, AuthUserAndRealmComeFromTheAuthorizationHeader) {
  FakeContext c = send_frame();
  c.headers_.emplace_back(
      "Authorization",
      "Digest username=\"bob\", realm=\"r1\", nonce=\"n\", uri=\"msrp://a:1;tcp\", "
      "response=\"0123456789abcdef0123456789abcdef\", qop=auth, nc=00000001, cnonce=\"c\"");
  run("msrp_reply(\"200\", \"$au@$ar\");", c);
  EXPECT_THAT(c.actions, ElementsAre("reply 200 bob@r1"));
}

TEST_F(InterpTest, ArgumentsWithPseudoVariablesAreEvaluatedPerCall) {
  EXPECT_THAT(out("$var(code) = \"486\";\nmsrp_reply(\"$var(code)\", \"Busy \" \"Here\");\n"
                  "msrp_set_dst(\"$msrp(nexthop)\", \"tcp:$Ri:$Rp\");\nmsrp_relay_flags(\"$var(code)\");"),
              ElementsAre("reply 486 Busy Here", "set_dst msrp://127.0.0.1:40000/c1;tcp tcp:127.0.0.1:25060",
                          "relay_flags 486"));
}

TEST_F(InterpTest, DivisionByZeroIsLoggedAndYieldsNull) {
  EXPECT_THAT(out("$var(z) = 0;\n$var(x) = 5 / $var(z);\nmsrp_reply(\"200\", \"$var(x)\");"),
              ElementsAre("reply 200 0"));
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_EQ(log_[0], "-1 t.cfg:11:13: division by zero\n");
}

TEST_F(InterpTest, TheParsedScriptIsSharedByConcurrentWorkers) {
  script_ = load_text(kHead +
                          "event_route[msrp:frame-in] {\n$var(n) = $var(n) + 1;\n$sht(t=>k$pp) = $var(n);\n"
                          "if ($msrp(method) == \"SEND\" && $msrp(nexthops) > 0) { msrp_relay(); }\n}\n",
                      "t.cfg");
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([this, w] {
      WorkerEnv env(script_, w);
      for (int i = 0; i < 500; ++i) {
        FakeContext c = send_frame();
        script_.run_event_route(c, env);
      }
    });
  }
  for (auto& t : threads) t.join();
  HTable* t = script_.htable("t");
  for (int w = 0; w < 4; ++w) EXPECT_EQ(t->get("k" + std::to_string(w), time(nullptr)).i, 500);
}

}  // namespace
}  // namespace msrpd::script
