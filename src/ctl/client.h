#pragma once
// A binrpc client (what msrpctl and the tests use): one request, one reply, bounded waits.

#include <string>
#include <string_view>

#include "common/result.h"
#include "ctl/binrpc.h"
#include "ctl/rpc.h"

namespace msrpd::ctl {

// Calls `method` on the control socket `address` (unix:/path, tcp:host:port...). The Error is a
// connection or protocol failure; a fault from the server is a Reply with is_fault set.
Result<binrpc::Reply> binrpc_call(std::string_view address, std::string_view method, const Params& params,
                                  int timeout_ms = 5000);

}  // namespace msrpd::ctl
