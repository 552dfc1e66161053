#include "kemi/router.h"

#include "common/log.h"

namespace msrpd::kemi {

ScriptRouter::ScriptRouter(const script::Script& script, unsigned workers, WorkerHook worker_started)
    : script_(script),
      worker_started_(std::move(worker_started)),
      envs_(workers),
      lua_(workers),
      lua_engine_(script.config().cfgengine == "lua"),
      lua_frames_(lua_engine_ && !script.config().msrp.event_callback.empty()) {}

void ScriptRouter::on_worker_start(unsigned worker) {
  if (worker_started_) worker_started_(worker);
  envs_[worker] = std::make_unique<script::WorkerEnv>(script_, static_cast<int>(worker) + 1);
  if (!lua_engine_) return;
  // Checked at start-up, so this fails only if a file changed since: its frames get no route.
  auto lua = LuaEngine::create(script_, *envs_[worker]);
  if (!lua) {
    LM_ERR("worker %u: %s", worker + 1, lua.error().message.c_str());
    return;
  }
  Lua& l = lua_[worker];
  l.engine = std::move(*lua);
  const std::string& callback = script_.config().msrp.event_callback;
  if (!callback.empty()) l.frame_in = l.engine->prepare(callback, kFrameInEvent);
  l.request = l.engine->prepare(kRequestRouteFunction);
}

void ScriptRouter::msrp_frame(relay::Context& ctx, unsigned worker) {
  if (lua_frames_) {
    Lua& l = lua_[worker];
    if (l.frame_in) l.engine->run(*l.frame_in, ctx);
    return;
  }
  script_.run_event_route(ctx, *envs_[worker]);
}

bool ScriptRouter::ready(const msrp::Frame& f, unsigned worker, const relay::Resume& resume) {
  if (!envs_[worker]) return true;
  return script_.prepare_auth(f.header("Authorization"), *envs_[worker], resume);
}

size_t ScriptRouter::drop_credentials(unsigned worker, std::string_view user, std::string_view domain) {
  if (worker >= envs_.size() || !envs_[worker]) return 0;
  return script_.drop_credentials(*envs_[worker], user, domain);
}

void ScriptRouter::sip_request(relay::Context& ctx, unsigned worker) {
  if (lua_engine_) {
    Lua& l = lua_[worker];
    if (l.request) l.engine->run(*l.request, ctx);
    return;
  }
  if (script_.has_request_route()) script_.run_request_route(ctx, *envs_[worker]);
}

}  // namespace msrpd::kemi
