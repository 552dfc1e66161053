#pragma once
// Lua routing (Kamailio's KEMI with app_lua): `cfgengine "lua"` in the config, the Lua files named
// by modparam("app_lua", "load", ...), and a `KSR` table through which Lua reaches the relay (the
// action API, relay/context.h) and the config language's pseudo-variables and module functions.
//
//   auto lua = kemi::LuaEngine::create(script, env);      // one per worker thread, never shared
//   lua->run("ksr_msrp_event", ctx, "msrp:frame-in");     // per MSRP frame
//
// KSR functions (docs/reference/kemi.md lists them with their arguments and return values):
//   KSR.info/dbg/notice/warn/err/crit/alert(msg), KSR.log(level, msg)
//   KSR.msrp.relay/reply/is_request/is_reply/set_dst/relay_flags/reply_flags/cmap_save/cmap_lookup
//   KSR.pv.get/gete/getw/getvn/getvs/sets/seti/unset/is_null
//   KSR.hdr.get/is_present
//   KSR.x.exit/drop/modf
//   KSR.htable.sht_get/sht_gets/sht_sets/sht_seti/sht_is_null
//   KSR.<module>.<function>(...) for the loaded modules' functions (sl, auth, htable, xlog, cfgutils)

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "relay/context.h"
#include "script/script.h"

namespace msrpd::kemi {

class LuaEngine {
 public:
  // A new Lua state with the standard libraries and KSR; loads and runs the app_lua files in order.
  // Error: "file.lua:3: syntax error near 'x'" (or "cannot open file.lua"), or a runtime error of
  // a file's top level, "file.lua:7: message".
  static Result<std::unique_ptr<LuaEngine>> create(const script::Script& script, script::WorkerEnv& env);
  ~LuaEngine();
  LuaEngine(const LuaEngine&) = delete;
  LuaEngine& operator=(const LuaEngine&) = delete;

  // A global Lua function of that name exists.
  bool has_function(const std::string& name) const;

  struct Outcome {
    bool ok = true;        // false: a Lua error (logged) or no such function
    bool exited = false;   // KSR.x.exit()
    bool dropped = false;  // KSR.x.drop()
  };
  // Calls the global function `function` (with `arg` as its one argument, if given) for the message
  // `ctx`. A Lua error never escapes: it is logged at error level as "file:line: message" through
  // the WorkerEnv, and the outcome is !ok; what the function did before it stays done.
  Outcome run(const std::string& function, relay::Context& ctx, std::optional<std::string_view> arg = {});

  // The same call resolved once, for the per-frame path: the function and its argument are kept as
  // references in the Lua registry, so run(call, ctx) looks nothing up by name.
  struct Call {
    std::string function;  // for messages
    int fn = -2;           // registry references (LUA_NOREF: none)
    int arg = -2;
  };
  // nullopt when no global function of that name exists.
  std::optional<Call> prepare(const std::string& function, std::optional<std::string_view> arg = {});
  Outcome run(const Call& call, relay::Context& ctx);

  // Lua instructions one run (or a file's top level) may execute before it is stopped with an
  // error: a loop that never ends must not stall a worker forever.
  static constexpr uint64_t kInstructionLimit = 10'000'000;
  static constexpr uint64_t kLoadInstructionLimit = 100'000'000;

  struct Impl;  // lua.cpp: the state, the script bridge, the instruction budget

 private:
  explicit LuaEngine(std::unique_ptr<Impl> impl);
  Outcome call_on_stack(int nargs, relay::Context& ctx, int top);  // the function and args pushed
  std::unique_ptr<Impl> impl_;
};

// The Lua function SIP requests run with cfgengine "lua".
inline constexpr const char* kRequestRouteFunction = "ksr_request_route";
// The argument msrp's event_callback gets for each MSRP frame.
inline constexpr const char* kFrameInEvent = "msrp:frame-in";

// The start-up check (`msrpd -c` and before serving): with cfgengine "lua", the files load and
// their top level runs, and event_callback names a Lua function; with cfgengine "native",
// event_callback is not set. Returns warnings (no ksr_request_route: SIP requests get no route).
Result<std::vector<std::string>> check(const script::Script& script);

}  // namespace msrpd::kemi
