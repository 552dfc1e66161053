// Deeply nested configs are refused with file:line:column and the limit, not a stack overflow:
// expressions (parentheses, unary operators, long operator chains) and statements (blocks, if).

#include <gtest/gtest.h>

#include <cstdio>
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

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::string route_with_condition(const std::string& cond) {
  return "request_route {\nif " + cond + " { exit; }\n}\n";
}

TEST(ScriptNesting, TenThousandParenthesesAreRefusedAtTheLimit) {
  EXPECT_EQ(load_error(route_with_condition(repeat("(", 10000) + "1" + repeat(")", 10000))),
            "t.cfg:2:204: expression nested more than 200 deep");
}

TEST(ScriptNesting, TenThousandUnaryOperatorsAreRefusedAtTheLimit) {
  EXPECT_EQ(load_error(route_with_condition("(" + repeat("!", 10000) + "1)")),
            "t.cfg:2:204: expression nested more than 200 deep");
}

TEST(ScriptNesting, ParenthesesWithinTheLimitLoad) {
  EXPECT_EQ(load_error(route_with_condition(repeat("(", 199) + "1" + repeat(")", 199))), "(loaded)");
}

TEST(ScriptNesting, AnOperatorChainIsBoundedByItsHeight) {
  EXPECT_EQ(load_error(route_with_condition("(1" + repeat(" + 1", 999) + ")")), "(loaded)");
  // The 1000th '+' makes the tree 1001 deep: the message names that operator.
  EXPECT_EQ(load_error(route_with_condition("(1" + repeat("+1", 1000) + ")")),
            "t.cfg:2:2004: expression more than 1000 operators deep");
}

TEST(ScriptNesting, TenThousandNestedIfsAreRefusedAtTheLimit) {
  std::string text =
      "request_route {\n" + repeat("if (1) {\n", 10000) + "exit;\n" + repeat("}\n", 10000) + "}\n";
  EXPECT_EQ(load_error(text), "t.cfg:202:1: statements nested more than 200 deep");
}

TEST(ScriptNesting, TenThousandNestedBlocksAreRefusedAtTheLimit) {
  std::string text = "request_route {\n" + repeat("{", 10000) + repeat("}", 10000) + "\n}\n";
  EXPECT_EQ(load_error(text), "t.cfg:2:201: statements nested more than 200 deep");
}

// An else-if chain nests too: each `else if` is the else branch of the one before.
TEST(ScriptNesting, ALongElseIfChainCountsAsNesting) {
  std::string chain = "if ($var(x) == 0) exit;\n" + repeat("else if ($var(x) == 1) exit;\n", 250);
  EXPECT_EQ(load_error("request_route {\n" + chain + "}\n"),
            "t.cfg:201:24: statements nested more than 200 deep");
}

TEST(ScriptNesting, StatementsWithinTheLimitLoad) {
  std::string text = "request_route {\n" + repeat("if (1) {\n", 199) + "exit;\n" + repeat("}\n", 199) + "}\n";
  EXPECT_EQ(load_error(text), "(loaded)");
}

// `msrpd -c -f FILE` loads FILE with script::load: the same error, naming the file.
TEST(ScriptNesting, ANestedConfigFileIsRefusedWithItsFileAndLine) {
  std::string path = ::testing::TempDir() + "nested.cfg";
  {
    std::ofstream f(path);
    f << route_with_condition(repeat("(", 10000) + "1" + repeat(")", 10000));
  }
  std::string error;
  try {
    load(path);
  } catch (const LoadError& e) {
    error = e.what();
  }
  std::remove(path.c_str());
  EXPECT_EQ(error, path + ":2:204: expression nested more than 200 deep");
}

}  // namespace
}  // namespace msrpd::script
