#pragma once
// ScriptRouter: the relay::Router that runs a loaded script for the engine. MSRP frames run
// event_route[msrp:frame-in], SIP requests on the same port run request_route; with cfgengine
// "lua", each worker also has its own Lua state: frames run msrp's event_callback function (or
// event_route[msrp:frame-in] when none is set), SIP requests run ksr_request_route().
//
//   kemi::ScriptRouter router(script, ec.children, daemon::note_worker_thread);
//   relay::Engine engine(ec, router);
//
// It lives in src/kemi because it needs both the config language (src/script) and Lua.

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "kemi/lua.h"
#include "relay/engine.h"
#include "script/script.h"

namespace msrpd::kemi {

class ScriptRouter final : public relay::Router {
 public:
  // `worker_started` runs first on each worker thread (the daemon records the thread for core.psx).
  using WorkerHook = std::function<void(unsigned worker)>;
  ScriptRouter(const script::Script& script, unsigned workers, WorkerHook worker_started = {});

  // One WorkerEnv ($var, $pp = worker + 1...) per worker, and its Lua state with cfgengine "lua".
  void on_worker_start(unsigned worker) override;
  void msrp_frame(relay::Context& ctx, unsigned worker) override;
  // auth_db: the AUTH's credentials are looked up before its route (script::Script::prepare_auth).
  bool ready(const msrp::Frame& f, unsigned worker, const relay::Resume& resume) override;
  void sip_request(relay::Context& ctx, unsigned worker) override;
  // auth_db.cache_drop, on worker `worker`'s thread: its cached rows of user (and domain) dropped
  // (script::Script::drop_credentials); how many.
  size_t drop_credentials(unsigned worker, std::string_view user, std::string_view domain);

 private:
  struct Lua {
    std::unique_ptr<LuaEngine> engine;
    std::optional<LuaEngine::Call> frame_in, request;  // resolved once: no lookup by name per frame
  };
  const script::Script& script_;
  WorkerHook worker_started_;
  std::vector<std::unique_ptr<script::WorkerEnv>> envs_;
  std::vector<Lua> lua_;  // per worker, with cfgengine lua
  bool lua_engine_;
  bool lua_frames_;  // cfgengine lua and an event_callback: frames go to Lua
};

}  // namespace msrpd::kemi
