#pragma once
// What the Lua engine (lua.cpp) and its KSR table (ksr.cpp) share: the per-state data and the
// place of the Lua code calling a C function.

#include <lua.hpp>

#include <cstdint>
#include <string>

#include "kemi/lua.h"
#include "script/external.h"

namespace msrpd::kemi {

// Error objects of KSR.x.exit() and KSR.x.drop(): they end the run without being errors.
extern char kExitTag;
extern char kDropTag;

struct LuaEngine::Impl {
  const script::Script& script;
  script::WorkerEnv& env;
  script::ExternalRun ext;
  lua_State* L = nullptr;
  uint64_t ticks = 0;  // instruction-count hook calls in this run
  uint64_t max_ticks = 0;

  Impl(const script::Script& s, script::WorkerEnv& e) : script(s), env(e), ext(s, e) {}
  ~Impl() {
    if (L) lua_close(L);
  }
};

// The Impl of a state (kept in its extra space).
inline LuaEngine::Impl& impl(lua_State* L) {
  return **static_cast<LuaEngine::Impl**>(lua_getextraspace(L));
}

// "file.lua:12: " of the Lua code that called the running C function (empty when not known).
std::string caller_place(lua_State* L, std::string* file = nullptr, int* line = nullptr);

// Builds the global KSR table for the state's script (a lua_CFunction: run it protected).
int open_ksr(lua_State* L);

}  // namespace msrpd::kemi
