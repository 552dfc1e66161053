// One argument fixup for the config language and KEMI (args.cpp): the same rules, each caller's
// own wording of a bad value.

#include <gtest/gtest.h>

#include "fake_context.h"
#include "script/external.h"
#include "script/script.h"

namespace msrpd::script {
namespace {

const char* kMods = "debug=3\nloadmodule \"xlog.so\"\nloadmodule \"msrp.so\"\nloadmodule \"pv.so\"\n";

std::string load_error(const std::string& text) {
  try {
    load_text(text, "t.cfg");
  } catch (const LoadError& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST(ScriptArgs, TheConfigNamesTheBadTokenAndItsPlace) {
  EXPECT_EQ(
      load_error(std::string(kMods) + "request_route {\n  xlog(\"3\", \"x\");\n}\n"),
      "t.cfg:6:8: expected a log level (L_ALERT, L_BUG, L_CRIT, L_ERR, L_WARN, L_NOTICE, L_INFO, L_DBG) "
      "for argument 1 of xlog(), found string \"3\"");
  EXPECT_EQ(
      load_error(std::string(kMods) + "request_route {\n  pv_printf(\"$msrp(method)\", \"x\");\n}\n"),
      "t.cfg:6:13: expected a writable pseudo-variable (like \"$var(x)\") for argument 1 of pv_printf(), "
      "found string \"$msrp(method)\"");
  EXPECT_EQ(load_error(std::string(kMods) + "request_route {\n  msrp_relay(1);\n}\n"),
            "t.cfg:6:3: function 'msrp_relay' takes 0 arguments, found 1");
}

class KemiArgs : public ::testing::Test {
 protected:
  Script script_ = load_text(kMods, "t.cfg");
  WorkerEnv env_{script_};
  ExternalRun x_{script_, env_};
  std::vector<std::string> log_;
  void SetUp() override {
    env_.set_log_sink([this](int level, std::string_view t) {
      log_.push_back(std::to_string(level) + " " + std::string(t));
    });
  }
};

TEST_F(KemiArgs, ValuesAreCheckedWithoutAPlace) {
  EXPECT_EQ(x_.call("msrp", "msrp_relay_flags", {Val::of_string("one")}).error().message,
            "expected an integer for argument 1 of msrp_relay_flags()");
  EXPECT_EQ(
      x_.call("pv", "pv_printf", {Val::of_string("$msrp(method)"), Val::of_string("x")}).error().message,
      "expected a writable pseudo-variable (like \"$var(x)\") for argument 1 of pv_printf()");
  EXPECT_EQ(x_.call("msrp", "msrp_relay", {Val::of_int(1)}).error().message,
            "function 'msrp.msrp_relay' takes 0 arguments, found 1");
}

TEST_F(KemiArgs, ALevelMayBeANumberOrAName) {
  ASSERT_TRUE(x_.call("xlog", "xlog", {Val::of_string("3"), Val::of_string("a\n")}));
  ASSERT_TRUE(x_.call("xlog", "xlog", {Val::of_string("L_INFO"), Val::of_string("b\n")}));
  ASSERT_TRUE(x_.call("xlog", "xlog", {Val::of_string("L_NONE"), Val::of_string("c\n")}));  // L_ERR
  EXPECT_EQ(log_, (std::vector<std::string>{"3 a\n", "2 b\n", "-1 c\n"}));
}

}  // namespace
}  // namespace msrpd::script
