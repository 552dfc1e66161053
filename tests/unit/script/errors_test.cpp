// Malformed configs: each is refused at load with file:line:column and what was expected.

#include <gtest/gtest.h>

#include <fstream>

#include "script/script.h"

namespace msrpd::script {
namespace {

std::string load_error(const std::string& text) {
  try {
    load_text(text, "t.cfg");
  } catch (const LoadError& e) {
    return e.what();
  }
  return "(loaded)";
}

const std::string kMods = "loadmodule \"sl.so\"\nloadmodule \"msrp.so\"\nloadmodule \"pv.so\"\n";

TEST(ScriptErrors, MissingSemicolonAfterACall) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  sl_send_reply(\"403\", \"x\")\n}\n"),
            "t.cfg:6:1: expected ';', found '}'");
}

TEST(ScriptErrors, UnknownFunction) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  sl_send_replyy(\"403\", \"x\");\n}\n"),
            "t.cfg:5:3: unknown function 'sl_send_replyy'");
}

TEST(ScriptErrors, FunctionOfAModuleNotLoaded) {
  EXPECT_EQ(load_error("event_route[msrp:frame-in] {\n\tmsrp_relay();\n}\n"),
            "t.cfg:2:2: function 'msrp_relay' needs loadmodule \"msrp.so\"");
}

TEST(ScriptErrors, UnknownModule) {
  EXPECT_EQ(load_error("loadmodule \"foo.so\"\n"),
            "t.cfg:1:12: unknown module 'foo' (msrpd provides sl, xlog, pv, auth, auth_db, db_sqlite, "
            "db_postgres, htable, "
            "msrp, cfgutils, kex, ctl, tls, app_lua)");
}

TEST(ScriptErrors, UnknownModuleParameter) {
  EXPECT_EQ(load_error(kMods + "modparam(\"msrp\", \"auth_min_expiresl\", 90)\n"),
            "t.cfg:4:18: unknown parameter 'auth_min_expiresl' of module 'msrp'");
}

TEST(ScriptErrors, ModparamBeforeLoadmodule) {
  EXPECT_EQ(load_error("modparam(\"msrp\", \"cmap_size\", 8)\nloadmodule \"msrp.so\"\n"),
            "t.cfg:1:18: modparam for module 'msrp' before loadmodule \"msrp.so\"");
}

TEST(ScriptErrors, UnknownPseudoVariableClass) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  $foo(x) = 1;\n}\n"),
            "t.cfg:5:3: unknown pseudo-variable class '$foo'");
}

TEST(ScriptErrors, UnknownMsrpKey) {
  EXPECT_EQ(
      load_error(kMods + "event_route[msrp:frame-in] {\n  if ($msrp(fromhop) == 1) { exit; }\n}\n"),
      "t.cfg:5:7: unknown $msrp key 'fromhop' (expected buf, body, code, hdrs, msgid, method, buflen, "
      "sessid, "
      "reason, crthop, bodylen, transid, prevhop, nexthop, lasthop, firsthop, prevhops, nexthops, srcaddr, "
      "srcsock or conid)");
}

TEST(ScriptErrors, UnknownPseudoVariableInsideAString) {
  EXPECT_EQ(load_error(kMods + "event_route[msrp:frame-in] {\n  msrp_reply(\"403\", \"no $foo here\");\n}\n"),
            "t.cfg:5:25: unknown pseudo-variable class '$foo'");
}

TEST(ScriptErrors, WrongArgumentCount) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  sl_send_reply(\"403\");\n}\n"),
            "t.cfg:5:3: function 'sl_send_reply' takes 2 arguments, found 1");
}

TEST(ScriptErrors, NonNumericIntegerArgument) {
  EXPECT_EQ(load_error(kMods + "event_route[msrp:frame-in] {\n  msrp_relay_flags(\"one\");\n}\n"),
            "t.cfg:5:20: expected an integer for argument 1 of msrp_relay_flags(), found string \"one\"");
}

TEST(ScriptErrors, UndefinedRoute) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  route(AUTH);\n}\n"),
            "t.cfg:5:9: route 'AUTH' is not defined");
}

TEST(ScriptErrors, UnterminatedString) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  sl_send_reply(\"403\", \"x);\n}\n"),
            "t.cfg:5:24: unterminated string: missing closing \"");
}

TEST(ScriptErrors, IfdefWithoutEndif) {
  EXPECT_EQ(load_error("#!define A\n#!ifdef A\ndebug=1\n"), "t.cfg:2:1: #!ifdef/#!ifndef without #!endif");
}

TEST(ScriptErrors, EndifWithoutIfdef) {
  EXPECT_EQ(load_error("debug=1\n  #!endif\n"), "t.cfg:2:3: #!endif without #!ifdef/#!ifndef");
}

TEST(ScriptErrors, UnknownCoreParameter) {
  EXPECT_EQ(load_error("debug=2\nchildrn=4\n"), "t.cfg:2:1: unknown core parameter 'childrn'");
}

TEST(ScriptErrors, BadCoreParameterValue) {
  EXPECT_EQ(load_error("children=four\n"), "t.cfg:1:10: expected an integer for 'children', found 'four'");
  EXPECT_EQ(load_error("log_stderror=maybe\n"),
            "t.cfg:1:14: expected yes or no for 'log_stderror', found 'maybe'");
}

TEST(ScriptErrors, BadListenPort) {
  EXPECT_EQ(load_error("listen=tcp:127.0.0.1:70000\n"),
            "t.cfg:1:8: expected a port 1..65535 in listen=tcp:127.0.0.1:70000");
}

TEST(ScriptErrors, BadRegularExpression) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  if ($rm =~ \"(ab\") { exit; }\n}\n").substr(0, 42),
            "t.cfg:5:14: bad regular expression \"(ab\": ");
}

TEST(ScriptErrors, AssignmentToAReadOnlyPseudoVariable) {
  EXPECT_EQ(load_error(kMods + "event_route[msrp:frame-in] {\n  $msrp(method) = \"SEND\";\n}\n"),
            "t.cfg:5:3: cannot assign to '$msrp(method)' (only $var(name), $sht(table=>key) and "
            "$shtex(table=>key) can be assigned)");
}

TEST(ScriptErrors, UnclosedConditionParenthesis) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  if ($rm == \"INVITE\" { exit; }\n}\n"),
            "t.cfg:5:23: expected ')', found '{'");
}

TEST(ScriptErrors, IfWithoutACondition) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  if { exit; }\n}\n"),
            "t.cfg:5:6: expected a condition after if, found '{'");
}

TEST(ScriptErrors, SingleEqualsInACondition) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  if ($var(x) = 1) { exit; }\n}\n"),
            "t.cfg:5:15: expected '==' for a comparison, found '='");
}

TEST(ScriptErrors, StatementBeforeTheFirstCase) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  switch ($rm) {\n    exit;\n  }\n}\n"),
            "t.cfg:6:5: expected 'case' or 'default', found identifier 'exit'");
}

TEST(ScriptErrors, SecondRequestRoute) {
  EXPECT_EQ(load_error("request_route {\n exit;\n}\nroute {\n exit;\n}\n"),
            "t.cfg:4:1: request_route is already defined at t.cfg:1:1");
}

TEST(ScriptErrors, UndeclaredHtable) {
  EXPECT_EQ(load_error("loadmodule \"htable.so\"\nrequest_route {\n  $sht(sess=>a) = 1;\n}\n"),
            "t.cfg:3:3: unknown htable 'sess' (declare it with modparam(\"htable\", \"htable\", "
            "\"sess=>size=8;\"))");
}

TEST(ScriptErrors, UnknownRouteBlock) {
  EXPECT_EQ(
      load_error("requset_route {\n exit;\n}\n"),
      "t.cfg:1:1: unknown route block 'requset_route' (expected request_route, reply_route, route[NAME] or "
      "event_route[NAME])");
}

TEST(ScriptErrors, MissingClosingBrace) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  exit;\n"), "t.cfg:6:1: expected '}', found end of file");
}

TEST(ScriptErrors, UnknownTransformation) {
  EXPECT_EQ(load_error(kMods + "request_route {\n  $var(x) = $(rm{s.foo});\n}\n"),
            "t.cfg:5:13: unknown transformation {s.foo}");
}

TEST(ScriptErrors, ErrorInAnIncludedFileNamesThatFile) {
  std::string dir = ::testing::TempDir();
  {
    std::ofstream f(dir + "/inc-bad.cfg");
    f << "# included\nrequest_route {\n  exit\n}\n";
  }
  {
    std::ofstream f(dir + "/main-inc.cfg");
    f << "debug=1\ninclude_file \"inc-bad.cfg\"\n";
  }
  try {
    load(dir + "/main-inc.cfg");
    FAIL() << "loaded";
  } catch (const LoadError& e) {
    EXPECT_EQ(std::string(e.what()), dir + "/inc-bad.cfg:4:1: expected ';', found '}'");
  }
}

TEST(ScriptErrors, ColumnsAreThoseWrittenBeforeASubstitution) {
  // MAX becomes 3600 before lexing; the error still points at the column the operator wrote.
  EXPECT_EQ(load_error("#!substdef \"!MAX!3600!g\"\n" + kMods + "request_route {\n  $var(x) = MAX + ;\n}\n"),
            "t.cfg:6:19: expected an expression, found ';'");
}

TEST(ScriptErrors, MissingConfigFile) {
  EXPECT_THROW(load("/nonexistent/msrpd.cfg"), LoadError);
}

}  // namespace
}  // namespace msrpd::script
