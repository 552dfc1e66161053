// The Lua engine: states, loading the app_lua files, protected calls with an instruction budget,
// and how Lua errors are reported. The KSR table is ksr.cpp.
//
// Lua reports errors with longjmp (liblua5.4 is C), which skips C++ destructors: every KSR
// function checks its Lua arguments before it creates any C++ object, and raises an error only
// after the C++ objects of its frame are gone (guarded). C++ exceptions never cross Lua.

#include "kemi/lua.h"

#include <algorithm>
#include <cstring>

#include "kemi/lua_internal.h"

namespace msrpd::kemi {

char kExitTag;
char kDropTag;

namespace {

using Impl = LuaEngine::Impl;

constexpr int kHookEvery = 1000;  // instructions between two hook calls

// The file name of a chunk: its path as loaded ("@path"), else Lua's short form.
const char* source_name(const lua_Debug& ar) {
  return ar.source[0] == '@' ? ar.source + 1 : ar.short_src;
}

// Lua cuts file names in its messages to 60 characters ("...ting/kamailio-1.18.lua:3: x"): put
// the whole path back when `msg` starts with a cut form of `path`.
std::string with_full_path(std::string msg, std::string_view path) {
  if (msg.rfind("...", 0) != 0) return msg;
  for (size_t k = std::min(path.size(), msg.size() - 3); k > 0; --k) {
    if (msg.size() > 3 + k && msg[3 + k] == ':' && msg.compare(3, k, path.substr(path.size() - k)) == 0)
      return std::string(path) + msg.substr(3 + k);
  }
  return msg;
}

// The message handler of every protected call: a string error gets the place of the innermost
// Lua code when it has none (errors raised by C functions: bad arguments, KSR misuse).
int message_handler(lua_State* L) {
  void* tag = lua_touserdata(L, 1);
  if (tag == &kExitTag || tag == &kDropTag) return 1;
  const char* msg = lua_tostring(L, 1);
  if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); ++level) {
    lua_getinfo(L, "Sl", &ar);
    if (ar.currentline <= 0) continue;
    size_t n = std::strlen(ar.short_src);
    if (std::strncmp(msg, ar.short_src, n) == 0 && msg[n] == ':') {  // already placed
      if (ar.source[0] == '@' && ar.short_src[0] == '.') {
        std::string full = with_full_path(msg, ar.source + 1);  // no Lua error while this lives
        lua_pushlstring(L, full.data(), full.size());
        return 1;
      }
      break;
    }
    lua_pushfstring(L, "%s:%d: %s", source_name(ar), ar.currentline, msg);
    return 1;
  }
  lua_pushstring(L, msg);
  return 1;
}

void count_hook(lua_State* L, lua_Debug*) {
  Impl& w = impl(L);
  if (++w.ticks <= w.max_ticks) return;
  // In a hook, level 0 is the Lua function that was running.
  luaL_where(L, 0);
  lua_pushfstring(L, "stopped after %d million Lua instructions (an endless loop?)",
                  static_cast<int>(w.max_ticks * kHookEvery / 1000000));
  lua_concat(L, 2);
  lua_error(L);
}

// Runs the function below `nargs` arguments on the stack, protected, with the instruction limit.
// Returns LUA_OK or the error code; the error object (or nothing) is left on the stack.
int protected_call(Impl& w, int nargs, uint64_t instruction_limit) {
  lua_State* L = w.L;
  int handler = lua_gettop(L) - nargs;
  lua_pushcfunction(L, message_handler);
  lua_insert(L, handler);
  w.ticks = 0;
  w.max_ticks = instruction_limit / kHookEvery;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, kHookEvery);
  int rc = lua_pcall(L, nargs, 0, handler);
  lua_sethook(L, nullptr, 0, 0);
  lua_remove(L, handler);
  return rc;
}

}  // namespace

std::string caller_place(lua_State* L, std::string* file, int* line) {
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); ++level) {
    lua_getinfo(L, "Sl", &ar);
    if (ar.currentline > 0) {
      if (file) *file = source_name(ar);
      if (line) *line = ar.currentline;
      return std::string(source_name(ar)) + ":" + std::to_string(ar.currentline) + ": ";
    }
  }
  return {};
}

LuaEngine::LuaEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LuaEngine::~LuaEngine() = default;

Result<std::unique_ptr<LuaEngine>> LuaEngine::create(const script::Script& script, script::WorkerEnv& env) {
  auto w = std::make_unique<Impl>(script, env);
  w->L = luaL_newstate();
  if (!w->L) return make_error(0, "cannot create a Lua state (out of memory)");
  lua_State* L = w->L;
  *static_cast<Impl**>(lua_getextraspace(L)) = w.get();
  luaL_openlibs(L);
  lua_pushcfunction(L, open_ksr);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    std::string e = lua_tostring(L, -1) ? lua_tostring(L, -1) : "cannot build the KSR table";
    return make_error(0, e);
  }
  for (const auto& file : script.config().app_lua.load) {
    if (luaL_loadfile(L, file.c_str()) != LUA_OK) {
      // "file.lua:3: syntax error near 'x'", or "cannot open file.lua: No such file or directory"
      std::string e = lua_tostring(L, -1) ? with_full_path(lua_tostring(L, -1), file) : "cannot load " + file;
      lua_pop(L, 1);
      return make_error(0, e);
    }
    if (protected_call(*w, 0, kLoadInstructionLimit) != LUA_OK) {
      void* tag = lua_touserdata(L, -1);
      std::string e = tag ? std::string() : (lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
      lua_pop(L, 1);
      if (!tag) return make_error(0, e);  // KSR.x.exit() at top level just ends that file
    }
  }
  return std::unique_ptr<LuaEngine>(new LuaEngine(std::move(w)));
}

bool LuaEngine::has_function(const std::string& name) const {
  lua_State* L = impl_->L;
  bool yes = lua_getglobal(L, name.c_str()) == LUA_TFUNCTION;
  lua_pop(L, 1);
  return yes;
}

LuaEngine::Outcome LuaEngine::run(const std::string& function, relay::Context& ctx,
                                  std::optional<std::string_view> arg) {
  Impl& w = *impl_;
  lua_State* L = w.L;
  int top = lua_gettop(L);
  if (lua_getglobal(L, function.c_str()) != LUA_TFUNCTION) {
    lua_settop(L, top);
    w.env.log(common::kLogErr, "no Lua function '" + function + "' to run\n");
    Outcome out;
    out.ok = false;
    return out;
  }
  if (arg) lua_pushlstring(L, arg->data(), arg->size());
  return call_on_stack(arg ? 1 : 0, ctx, top);
}

std::optional<LuaEngine::Call> LuaEngine::prepare(const std::string& function,
                                                  std::optional<std::string_view> arg) {
  lua_State* L = impl_->L;
  if (lua_getglobal(L, function.c_str()) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return std::nullopt;
  }
  Call c;
  c.function = function;
  c.fn = luaL_ref(L, LUA_REGISTRYINDEX);
  if (arg) {
    lua_pushlstring(L, arg->data(), arg->size());
    c.arg = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return c;
}

LuaEngine::Outcome LuaEngine::run(const Call& call, relay::Context& ctx) {
  lua_State* L = impl_->L;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, call.fn);
  if (call.arg != LUA_NOREF) lua_rawgeti(L, LUA_REGISTRYINDEX, call.arg);
  return call_on_stack(call.arg != LUA_NOREF ? 1 : 0, ctx, top);
}

LuaEngine::Outcome LuaEngine::call_on_stack(int nargs, relay::Context& ctx, int top) {
  Impl& w = *impl_;
  lua_State* L = w.L;
  Outcome out;
  w.ext.begin(ctx);
  int rc = protected_call(w, nargs, kInstructionLimit);
  w.ext.end();
  if (rc != LUA_OK) {
    void* tag = lua_touserdata(L, -1);
    if (tag == &kExitTag) {
      out.exited = true;
    } else if (tag == &kDropTag) {
      out.dropped = true;
    } else {
      const char* msg = lua_tostring(L, -1);
      w.env.log(common::kLogErr, std::string(msg ? msg : "Lua error") + "\n");
      out.ok = false;
    }
  }
  lua_settop(L, top);
  return out;
}

Result<std::vector<std::string>> check(const script::Script& script) {
  const script::Config& c = script.config();
  std::vector<std::string> warnings;
  const std::string cb = c.msrp.event_callback;
  if (c.cfgengine != "lua") {
    if (!cb.empty()) {
      return make_error(0, "modparam(\"msrp\", \"event_callback\", \"" + cb +
                               "\") names a Lua function: it needs cfgengine \"lua\"");
    }
    if (!c.app_lua.load.empty())
      warnings.push_back("modparam(\"app_lua\", \"load\", ...) has no effect: cfgengine is \"native\"");
    return warnings;
  }
  script::WorkerEnv env(script, 0);
  auto lua = LuaEngine::create(script, env);
  if (!lua) return lua.error();
  std::string files;
  for (const auto& f : c.app_lua.load) files += (files.empty() ? "" : ", ") + f;
  if (!cb.empty() && !(*lua)->has_function(cb)) {
    return make_error(0, "modparam(\"msrp\", \"event_callback\", \"" + cb + "\"): no Lua function '" + cb +
                             "' in " + files);
  }
  if (!(*lua)->has_function(kRequestRouteFunction)) {
    warnings.push_back(std::string("no Lua function '") + kRequestRouteFunction + "' in " + files +
                       ": SIP requests get no route");
  }
  if (cb.empty() && !script.has_event_route()) {
    warnings.push_back(
        "cfgengine \"lua\" without modparam(\"msrp\", \"event_callback\", ...): MSRP frames get no route");
  }
  return warnings;
}

}  // namespace msrpd::kemi
