// JSON-RPC over the control plane's HTTP port: inputs found by fuzz/fuzz_http.cpp.

#include <gtest/gtest.h>

#include <string>

#include "ctl/http.h"
#include "ctl/rpc.h"

namespace msrpd::ctl {
namespace {

std::string nested_params(int depth) {
  return R"({"jsonrpc":"2.0","method":"core.echo","params":[)" + std::string(depth, '[') +
         std::string(depth, ']') + R"(],"id":1})";
}

void add_echo(Registry& reg) {
  reg.add("core.echo", "", [](const Params& p) -> Result<Value> { return Value::list(p); });
}

// 200 KB of brackets (the port takes 1 MiB) used to overflow the stack of the control thread.
TEST(JsonRpc, ParamsNestedDeeperThanTheLimitAreAnInvalidRequest) {
  Registry reg;
  add_echo(reg);
  EXPECT_EQ(jsonrpc_handle(nested_params(100000), reg),
            R"({"error":{"code":-32600,"message":"Invalid Request"},"id":null,"jsonrpc":"2.0"})");
}

TEST(JsonRpc, ParamsNestedUpToTheLimitAreEchoed) {
  Registry reg;
  add_echo(reg);
  // The request object, params and 30 arrays: 32 levels.
  EXPECT_EQ(jsonrpc_handle(nested_params(30), reg),
            R"({"id":1,"jsonrpc":"2.0","result":[)" + std::string(30, '[') + std::string(30, ']') + "]}");
}

}  // namespace
}  // namespace msrpd::ctl
