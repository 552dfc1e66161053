// The KSR table: Lua's way to the relay (the action API), to the config language's
// pseudo-variables and module functions, and to the htables (docs/reference/kemi.md).
//
// Every function checks its Lua arguments before it creates any C++ object, and raises an error
// only after the C++ objects of its frame are gone (guarded): Lua's errors are longjmps.

#include <cmath>
#include <ctime>

#include "kemi/lua_internal.h"
#include "script/htable.h"
#include "script/log_levels.h"

namespace msrpd::kemi {

namespace {

using Impl = LuaEngine::Impl;
using script::Val;

// ---- values ----

Val to_val(lua_State* L, int i) {
  switch (lua_type(L, i)) {
    case LUA_TNUMBER:
      if (lua_isinteger(L, i)) return Val::of_int(lua_tointeger(L, i));
      {
        lua_Number d = lua_tonumber(L, i);
        if (std::floor(d) == d && std::fabs(d) < 9e15) return Val::of_int(static_cast<int64_t>(d));
        size_t n = 0;
        const char* s = lua_tolstring(L, i, &n);
        return Val::of_string(std::string(s, n));
      }
    case LUA_TSTRING: {
      size_t n = 0;
      const char* s = lua_tolstring(L, i, &n);
      return Val::of_string(std::string(s, n));
    }
    case LUA_TBOOLEAN:
      return Val::of_int(lua_toboolean(L, i) ? 1 : 0);
    default:
      return Val::null();
  }
}

void push_val(lua_State* L, const Val& v) {
  if (v.is_int()) {
    lua_pushinteger(L, v.i);
  } else if (v.is_str()) {
    lua_pushlstring(L, v.str().data(), v.str().size());
  } else {
    lua_pushnil(L);
  }
}

std::string_view view(const char* s, size_t n) {
  return {s, n};
}

// A KSR function's failure to raise once its C++ objects are destroyed: the body fills `error`
// and returns -1, or returns how many results it pushed.
template <typename Body>
int guarded(lua_State* L, Body&& body) {
  int n = 0;
  {
    std::string error;
    try {
      n = body(error);
    } catch (const std::exception& e) {
      error = e.what();
      n = -1;
    }
    if (n < 0) lua_pushlstring(L, error.data(), error.size());
  }
  if (n < 0) return lua_error(L);
  return n;
}

// ---- KSR logging ----

template <int Level>
int l_log_at(lua_State* L) {
  size_t n = 0;
  const char* s = luaL_checklstring(L, 1, &n);
  Impl& w = impl(L);
  if (w.ext.log_enabled(Level)) w.ext.log(Level, view(s, n));
  return 0;
}

int l_log(lua_State* L) {
  // luaL_checkoption over the one level table (script/log_levels.h), with its message.
  const char* name = luaL_checkstring(L, 1);
  auto level = script::level_by_kemi_name(name);
  if (!level) return luaL_argerror(L, 1, lua_pushfstring(L, "invalid option '%s'", name));
  size_t n = 0;
  const char* s = luaL_checklstring(L, 2, &n);
  Impl& w = impl(L);
  if (w.ext.log_enabled(*level)) w.ext.log(*level, view(s, n));
  return 0;
}

// ---- KSR.msrp: the action API ----

// Kamailio's KEMI msrp functions answer 1 where the config function answers 0.
int push_rc(lua_State* L, int rc) {
  lua_pushinteger(L, rc == 0 ? 1 : rc);
  return 1;
}

int l_msrp_relay(lua_State* L) {
  return push_rc(L, impl(L).ext.context().msrp_relay());
}
int l_msrp_reply(lua_State* L) {
  size_t n1 = 0, n2 = 0, n3 = 0;
  const char* code = luaL_checklstring(L, 1, &n1);
  const char* text = luaL_checklstring(L, 2, &n2);
  const char* hdrs = luaL_optlstring(L, 3, "", &n3);
  return push_rc(L, impl(L).ext.context().msrp_reply(view(code, n1), view(text, n2), view(hdrs, n3)));
}
int l_msrp_is_request(lua_State* L) {
  lua_pushinteger(L, impl(L).ext.context().msrp_is_request() ? 1 : -1);
  return 1;
}
int l_msrp_is_reply(lua_State* L) {
  lua_pushinteger(L, impl(L).ext.context().msrp_is_reply() ? 1 : -1);
  return 1;
}
int l_msrp_set_dst(lua_State* L) {
  size_t n1 = 0, n2 = 0;
  const char* addr = luaL_checklstring(L, 1, &n1);
  const char* sock = luaL_optlstring(L, 2, "", &n2);
  return push_rc(L, impl(L).ext.context().msrp_set_dst(view(addr, n1), view(sock, n2)));
}
int l_msrp_relay_flags(lua_State* L) {
  auto f = luaL_checkinteger(L, 1);
  return push_rc(L, impl(L).ext.context().msrp_relay_flags(static_cast<int>(f)));
}
int l_msrp_reply_flags(lua_State* L) {
  auto f = luaL_checkinteger(L, 1);
  return push_rc(L, impl(L).ext.context().msrp_reply_flags(static_cast<int>(f)));
}
int l_msrp_cmap_save(lua_State* L) {
  return push_rc(L, impl(L).ext.context().msrp_cmap_save());
}
int l_msrp_cmap_lookup(lua_State* L) {
  return push_rc(L, impl(L).ext.context().msrp_cmap_lookup());
}

// ---- KSR.pv ----

// How a null value reads: nil (get), "" (gete), "<<null>>" (getw), the default (getvn/getvs).
enum class NullAs { nil, empty, word, default_arg };

template <NullAs How>
int l_pv_get(lua_State* L) {
  size_t n = 0;
  const char* name = luaL_checklstring(L, 1, &n);
  if (How == NullAs::default_arg) luaL_checkany(L, 2);
  return guarded(L, [&](std::string&) {
    Impl& w = impl(L);
    auto v = w.ext.pv_get(view(name, n));
    if (!v) {
      w.ext.log(common::kLogErr, caller_place(L) + "KSR.pv: " + v.error().message + "\n");
    } else if (!v->is_null()) {
      push_val(L, *v);
      return 1;
    }
    switch (How) {
      case NullAs::nil:
        lua_pushnil(L);
        break;
      case NullAs::empty:
        lua_pushliteral(L, "");
        break;
      case NullAs::word:
        lua_pushliteral(L, "<<null>>");
        break;
      case NullAs::default_arg:
        lua_pushvalue(L, 2);
        break;
    }
    return 1;
  });
}

int pv_set(lua_State* L, int value_index) {
  size_t n = 0;
  const char* name = luaL_checklstring(L, 1, &n);
  return guarded(L, [&](std::string&) {
    Impl& w = impl(L);
    Val v = value_index ? to_val(L, value_index) : Val::null();
    if (auto r = w.ext.pv_set(view(name, n), std::move(v)); !r)
      w.ext.log(common::kLogErr, caller_place(L) + "KSR.pv: " + r.error().message + "\n");
    return 0;
  });
}

int l_pv_sets(lua_State* L) {
  luaL_checkstring(L, 2);
  return pv_set(L, 2);
}
int l_pv_seti(lua_State* L) {
  luaL_checkinteger(L, 2);
  return pv_set(L, 2);
}
int l_pv_unset(lua_State* L) {
  return pv_set(L, 0);
}
int l_pv_is_null(lua_State* L) {
  size_t n = 0;
  const char* name = luaL_checklstring(L, 1, &n);
  return guarded(L, [&](std::string&) {
    auto v = impl(L).ext.pv_get(view(name, n));
    lua_pushboolean(L, !v || v->is_null());
    return 1;
  });
}

// ---- KSR.hdr ----

int l_hdr_get(lua_State* L) {
  size_t n = 0;
  const char* name = luaL_checklstring(L, 1, &n);
  auto h = impl(L).ext.context().header(view(name, n));
  if (h) {
    lua_pushlstring(L, h->data(), h->size());
  } else {
    lua_pushnil(L);
  }
  return 1;
}
int l_hdr_is_present(lua_State* L) {
  size_t n = 0;
  const char* name = luaL_checklstring(L, 1, &n);
  lua_pushinteger(L, impl(L).ext.context().header(view(name, n)) ? 1 : -1);
  return 1;
}

// ---- KSR.x ----

int l_x_exit(lua_State* L) {
  lua_pushlightuserdata(L, &kExitTag);
  return lua_error(L);
}
int l_x_drop(lua_State* L) {
  lua_pushlightuserdata(L, &kDropTag);
  return lua_error(L);
}

// Calls a module function of the config language with the Lua arguments from `first` on.
int call_module_function(lua_State* L, const char* module, const char* name, int first) {
  return guarded(L, [&](std::string& error) {
    std::vector<Val> args;
    for (int i = first; i <= lua_gettop(L); ++i) args.push_back(to_val(L, i));
    std::string file;
    int line = 0;
    caller_place(L, &file, &line);
    auto rc = impl(L).ext.call(module, name, args, file, line);
    if (!rc) {
      error = rc.error().message;
      return -1;
    }
    lua_pushinteger(L, *rc);
    return 1;
  });
}

// KSR.x.modf("function", args...): any loaded module's function by its config name.
int l_x_modf(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  return call_module_function(L, "", name, 2);
}

// KSR.<module>.<function>(args...): upvalues are the module and function names.
int l_bridge(lua_State* L) {
  const char* module = lua_tostring(L, lua_upvalueindex(1));
  const char* name = lua_tostring(L, lua_upvalueindex(2));
  return call_module_function(L, module, name, 1);
}

// ---- KSR.htable ----

script::HTable* table_arg(lua_State* L, const char* name) {
  script::HTable* t = impl(L).script.htable(name);
  if (!t) {
    Impl& w = impl(L);
    w.ext.log(common::kLogErr, caller_place(L) + "KSR.htable: unknown htable '" + name + "'\n");
  }
  return t;
}

template <bool AsString>
int l_sht_get(lua_State* L) {
  const char* table = luaL_checkstring(L, 1);
  size_t n = 0;
  const char* key = luaL_checklstring(L, 2, &n);
  return guarded(L, [&](std::string&) {
    script::HTable* t = table_arg(L, table);
    Val v = t ? t->get(view(key, n), std::time(nullptr)) : Val::null();
    if (AsString && v.is_int()) v = Val::of_string(std::to_string(v.i));
    push_val(L, v);
    return 1;
  });
}

int sht_set(lua_State* L) {
  const char* table = luaL_checkstring(L, 1);
  size_t n = 0;
  const char* key = luaL_checklstring(L, 2, &n);
  return guarded(L, [&](std::string&) {
    script::HTable* t = table_arg(L, table);
    if (t) t->set(view(key, n), to_val(L, 3), std::time(nullptr));
    lua_pushinteger(L, t ? 1 : -1);
    return 1;
  });
}
int l_sht_sets(lua_State* L) {
  luaL_checkstring(L, 3);
  return sht_set(L);
}
int l_sht_seti(lua_State* L) {
  luaL_checkinteger(L, 3);
  return sht_set(L);
}
int l_sht_is_null(lua_State* L) {
  const char* table = luaL_checkstring(L, 1);
  size_t n = 0;
  const char* key = luaL_checklstring(L, 2, &n);
  return guarded(L, [&](std::string&) {
    script::HTable* t = table_arg(L, table);
    bool null = !t || t->get(view(key, n), std::time(nullptr)).is_null();
    lua_pushinteger(L, null ? 1 : -1);
    return 1;
  });
}

// ---- the KSR table ----

// KSR[name], created when missing; left on the stack.
void sub_table(lua_State* L, int ksr, const char* name) {
  if (lua_getfield(L, ksr, name) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, ksr, name);
  }
}

void set_functions(lua_State* L, int ksr, const char* name, const luaL_Reg* fns) {
  sub_table(L, ksr, name);
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 1);
}

bool module_loaded(const script::Script& s, std::string_view m) {
  for (const auto& l : s.config().loaded_modules)
    if (l == m) return true;
  return false;
}

}  // namespace

int open_ksr(lua_State* L) {
  const script::Script& s = impl(L).script;
  lua_newtable(L);
  int ksr = lua_gettop(L);
  static const luaL_Reg kCore[] = {{"dbg", l_log_at<common::kLogDbg>},
                                   {"info", l_log_at<common::kLogInfo>},
                                   {"notice", l_log_at<common::kLogNotice>},
                                   {"warn", l_log_at<common::kLogWarn>},
                                   {"err", l_log_at<common::kLogErr>},
                                   {"crit", l_log_at<common::kLogCrit>},
                                   {"alert", l_log_at<common::kLogAlert>},
                                   {"log", l_log},
                                   {nullptr, nullptr}};
  luaL_setfuncs(L, kCore, 0);
  static const luaL_Reg kPv[] = {{"get", l_pv_get<NullAs::nil>},
                                 {"gete", l_pv_get<NullAs::empty>},
                                 {"getw", l_pv_get<NullAs::word>},
                                 {"getvn", l_pv_get<NullAs::default_arg>},
                                 {"getvs", l_pv_get<NullAs::default_arg>},
                                 {"sets", l_pv_sets},
                                 {"seti", l_pv_seti},
                                 {"unset", l_pv_unset},
                                 {"is_null", l_pv_is_null},
                                 {nullptr, nullptr}};
  set_functions(L, ksr, "pv", kPv);
  static const luaL_Reg kHdr[] = {{"get", l_hdr_get}, {"is_present", l_hdr_is_present}, {nullptr, nullptr}};
  set_functions(L, ksr, "hdr", kHdr);
  static const luaL_Reg kX[] = {
      {"exit", l_x_exit}, {"drop", l_x_drop}, {"modf", l_x_modf}, {nullptr, nullptr}};
  set_functions(L, ksr, "x", kX);
  if (module_loaded(s, "msrp")) {
    static const luaL_Reg kMsrp[] = {{"relay", l_msrp_relay},
                                     {"reply", l_msrp_reply},
                                     {"is_request", l_msrp_is_request},
                                     {"is_reply", l_msrp_is_reply},
                                     {"set_dst", l_msrp_set_dst},
                                     {"relay_flags", l_msrp_relay_flags},
                                     {"reply_flags", l_msrp_reply_flags},
                                     {"cmap_save", l_msrp_cmap_save},
                                     {"cmap_lookup", l_msrp_cmap_lookup},
                                     {nullptr, nullptr}};
    set_functions(L, ksr, "msrp", kMsrp);
  }
  if (module_loaded(s, "htable")) {
    static const luaL_Reg kHtable[] = {{"sht_get", l_sht_get<false>},  {"sht_gets", l_sht_get<true>},
                                       {"sht_sets", l_sht_sets},       {"sht_seti", l_sht_seti},
                                       {"sht_is_null", l_sht_is_null}, {nullptr, nullptr}};
    set_functions(L, ksr, "htable", kHtable);
  }
  // The rest of the loaded modules' functions, by their config names. msrp's and pv's have KSR
  // names of their own above.
  for (const auto& f : script::exported_functions(s)) {
    if (f.module == "msrp" || f.module == "pv") continue;
    sub_table(L, ksr, f.module.c_str());
    if (lua_getfield(L, -1, f.name.c_str()) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushstring(L, f.module.c_str());
      lua_pushstring(L, f.name.c_str());
      lua_pushcclosure(L, l_bridge, 2);
      lua_setfield(L, -2, f.name.c_str());
    } else {
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_setglobal(L, "KSR");
  return 0;
}

}  // namespace msrpd::kemi
