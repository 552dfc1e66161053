// The script-side modules: which Kamailio modules msrpd provides, their functions and parameters,
// the modules it knows but does not provide, and the core parameters.

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "script/internal.h"
#include "script/log_levels.h"

namespace msrpd::script {

namespace {

using P = ParamKind;

// ---- function implementations ----

int fn_sl_send_reply(Run& run, const Call& c) {
  auto code = arg_int(run, c.args[0]);
  if (!code || *code < 100 || *code > 699) {
    run.log(kLogErr, run.s.where(c.loc) + ": sl_send_reply: bad status code\n");
    return -1;
  }
  std::string scratch;
  return run.ctx.sl_send_reply(static_cast<int>(*code), arg_str(run, c.args[1], scratch));
}

int fn_sl_reply_error(Run& run, const Call&) {
  return run.ctx.sl_send_reply(run.s.config.sl.default_code, run.s.config.sl.default_reason);
}

int xlog_at(Run& run, int level, const Arg& fmt) {
  if (!run.log_enabled(level)) return 1;
  std::string text;
  render(run, fmt.fmt, text);
  run.log(level, text);
  return 1;
}

int fn_xlog(Run& run, const Call& c) {
  if (c.args.size() == 1) return xlog_at(run, kLogErr, c.args[0]);
  const Arg& l = c.args[0];
  int level = kLogErr;
  if (l.is_const_int) {
    level = static_cast<int>(l.const_int);
  } else {
    std::string scratch;
    std::string_view n = arg_str(run, l, scratch);
    if (auto v = level_by_xlog_name(n)) {
      level = *v;
    } else if (auto i = parse_int(n)) {
      level = static_cast<int>(*i);
    }
  }
  return xlog_at(run, level, c.args[1]);
}

int fn_xdbg(Run& run, const Call& c) {
  return xlog_at(run, kLogDbg, c.args[0]);
}
int fn_xinfo(Run& run, const Call& c) {
  return xlog_at(run, kLogInfo, c.args[0]);
}
int fn_xnotice(Run& run, const Call& c) {
  return xlog_at(run, kLogNotice, c.args[0]);
}
int fn_xwarn(Run& run, const Call& c) {
  return xlog_at(run, kLogWarn, c.args[0]);
}
int fn_xerr(Run& run, const Call& c) {
  return xlog_at(run, kLogErr, c.args[0]);
}
int fn_xbug(Run& run, const Call& c) {
  return xlog_at(run, kLogBug, c.args[0]);
}
int fn_xcrit(Run& run, const Call& c) {
  return xlog_at(run, kLogCrit, c.args[0]);
}
int fn_xalert(Run& run, const Call& c) {
  return xlog_at(run, kLogAlert, c.args[0]);
}

int fn_pv_printf(Run& run, const Call& c) {
  std::string s;
  render(run, c.args[1].fmt, s);
  return assign_pv(run, *c.args[0].out, Val::of_string(std::move(s))) ? 1 : -1;
}

int fn_pv_unset(Run& run, const Call& c) {
  return assign_pv(run, *c.args[0].out, Val::null()) ? 1 : -1;
}

int fn_pv_isset(Run& run, const Call& c) {
  return eval_pv(run, *c.args[0].out).is_null() ? -1 : 1;
}

int fn_sht_rm(Run& run, const Call& c) {
  std::string scratch;
  std::string_view key = arg_str(run, c.args[1], scratch);
  run.s.htables[static_cast<size_t>(c.args[0].const_int)]->remove(key);
  return 1;
}

int fn_sht_reset(Run& run, const Call& c) {
  HTable& t = *run.s.htables[static_cast<size_t>(c.args[0].const_int)];
  for (const auto& item : t.dump(time(nullptr))) t.remove(item.key);
  return 1;
}

int fn_msrp_relay(Run& run, const Call&) {
  return run.ctx.msrp_relay();
}

int fn_msrp_reply(Run& run, const Call& c) {
  std::string s1, s2, s3;
  std::string_view code = arg_str(run, c.args[0], s1);
  std::string_view text = arg_str(run, c.args[1], s2);
  std::string_view hdrs = c.args.size() > 2 ? arg_str(run, c.args[2], s3) : std::string_view();
  return run.ctx.msrp_reply(code, text, hdrs);
}

int fn_msrp_is_request(Run& run, const Call&) {
  return run.ctx.msrp_is_request() ? 1 : -1;
}
int fn_msrp_is_reply(Run& run, const Call&) {
  return run.ctx.msrp_is_reply() ? 1 : -1;
}

int fn_msrp_set_dst(Run& run, const Call& c) {
  std::string s1, s2;
  std::string_view addr = arg_str(run, c.args[0], s1);
  std::string_view sock = arg_str(run, c.args[1], s2);
  return run.ctx.msrp_set_dst(addr, sock);
}

int fn_msrp_relay_flags(Run& run, const Call& c) {
  auto f = arg_int(run, c.args[0]);
  if (!f) return -1;
  return run.ctx.msrp_relay_flags(static_cast<int>(*f));
}

int fn_msrp_reply_flags(Run& run, const Call& c) {
  auto f = arg_int(run, c.args[0]);
  if (!f) return -1;
  return run.ctx.msrp_reply_flags(static_cast<int>(*f));
}

int fn_msrp_cmap_save(Run& run, const Call&) {
  return run.ctx.msrp_cmap_save();
}
int fn_msrp_cmap_lookup(Run& run, const Call&) {
  return run.ctx.msrp_cmap_lookup();
}

void sleep_for(std::chrono::microseconds d) {
  // A worker that sleeps stalls its connections: cap at 10 s.
  std::this_thread::sleep_for(std::min<std::chrono::microseconds>(d, std::chrono::seconds(10)));
}

int fn_sleep(Run& run, const Call& c) {
  auto s = arg_int(run, c.args[0]);
  if (!s || *s < 0) return -1;
  sleep_for(std::chrono::seconds(*s));
  return 1;
}

int fn_usleep(Run& run, const Call& c) {
  auto s = arg_int(run, c.args[0]);
  if (!s || *s < 0) return -1;
  sleep_for(std::chrono::microseconds(*s));
  return 1;
}

int fn_rand_event(Run& run, const Call&) {
  thread_local std::mt19937 rng{std::random_device{}()};
  return static_cast<int>(rng() % 100) < run.s.config.cfgutils_probability ? 1 : -1;
}

int fn_true(Run&, const Call&) {
  return 1;
}

constexpr FunctionDef kFunctions[] = {
    {"sl", "sl_send_reply", 2, 2, {P::num, P::str}, fn_sl_send_reply},
    {"sl", "send_reply", 2, 2, {P::num, P::str}, fn_sl_send_reply},
    {"sl", "sl_reply_error", 0, 0, {}, fn_sl_reply_error},
    {"xlog", "xlog", 1, 2, {P::level, P::str}, fn_xlog},
    {"xlog", "xdbg", 1, 1, {P::str}, fn_xdbg},
    {"xlog", "xinfo", 1, 1, {P::str}, fn_xinfo},
    {"xlog", "xnotice", 1, 1, {P::str}, fn_xnotice},
    {"xlog", "xwarn", 1, 1, {P::str}, fn_xwarn},
    {"xlog", "xerr", 1, 1, {P::str}, fn_xerr},
    {"xlog", "xbug", 1, 1, {P::str}, fn_xbug},
    {"xlog", "xcrit", 1, 1, {P::str}, fn_xcrit},
    {"xlog", "xalert", 1, 1, {P::str}, fn_xalert},
    {"pv", "pv_printf", 2, 2, {P::pvout, P::str}, fn_pv_printf},
    {"pv", "pv_unset", 1, 1, {P::pvout}, fn_pv_unset},
    {"pv", "pv_isset", 1, 1, {P::pvout}, fn_pv_isset},
    {"auth", "pv_www_authenticate", 3, 4, {P::str, P::str, P::num, P::str}, fn_pv_www_authenticate},
    {"auth", "auth_get_www_authenticate", 3, 3, {P::str, P::num, P::pvout}, fn_auth_get_www_authenticate},
    {"auth", "consume_credentials", 0, 0, {}, fn_consume_credentials},
    {"auth_db", "www_authorize", 2, 2, {P::str, P::dbtable}, fn_www_authorize},
    {"auth_db", "auth_check", 3, 3, {P::str, P::dbtable, P::num}, fn_auth_check},
    {"htable", "sht_rm", 2, 2, {P::htable, P::str}, fn_sht_rm},
    {"htable", "sht_reset", 1, 1, {P::htable}, fn_sht_reset},
    {"msrp", "msrp_relay", 0, 0, {}, fn_msrp_relay},
    {"msrp", "msrp_reply", 2, 3, {P::str, P::str, P::str}, fn_msrp_reply},
    {"msrp", "msrp_is_request", 0, 0, {}, fn_msrp_is_request},
    {"msrp", "msrp_is_reply", 0, 0, {}, fn_msrp_is_reply},
    {"msrp", "msrp_set_dst", 2, 2, {P::str, P::sock}, fn_msrp_set_dst},
    {"msrp", "msrp_relay_flags", 1, 1, {P::num}, fn_msrp_relay_flags},
    {"msrp", "msrp_reply_flags", 1, 1, {P::num}, fn_msrp_reply_flags},
    {"msrp", "msrp_cmap_save", 0, 0, {}, fn_msrp_cmap_save},
    {"msrp", "msrp_cmap_lookup", 0, 0, {}, fn_msrp_cmap_lookup},
    {"cfgutils", "sleep", 1, 1, {P::num}, fn_sleep},
    {"cfgutils", "usleep", 1, 1, {P::num}, fn_usleep},
    {"cfgutils", "rand_event", 0, 0, {}, fn_rand_event},
    {"cfgutils", "shm_summary", 0, 0, {}, fn_true},
    {"cfgutils", "pkg_summary", 0, 0, {}, fn_true},
};

// ---- modules ----

// app_lua runs cfgengine "lua" (src/kemi/).
constexpr const char* kProvided[] = {"sl",        "xlog",        "pv",     "auth",   "auth_db",
                                     "db_sqlite", "db_postgres", "htable", "msrp",   "cfgutils",
                                     "kex",       "ctl",         "tls",    "app_lua"};

struct Unprovided {
  const char* name;
  const char* what;
};
constexpr Unprovided kUnprovided[] = {
    {"mi_fifo", "the MI FIFO control interface (msrpd's control is the ctl binrpc socket and JSON-RPC)"},
    {"mi_rpc", "MI commands over RPC (msrpd's control is the ctl binrpc socket and JSON-RPC)"},
    {"mi_datagram", "the MI datagram control interface (use ctl)"},
    {"jsonrpcs", "JSON-RPC over FIFO/HTTP (msrpd serves JSON-RPC itself)"},
    {"textops", "SIP message text operations"},
    {"textopsx", "SIP message text operations"},
    {"siputils", "SIP utility functions"},
    {"tm", "SIP transactions (msrpd answers SIP statelessly with sl)"},
    {"tmx", "SIP transaction extensions"},
    {"rr", "SIP record-routing"},
    {"maxfwd", "SIP Max-Forwards handling"},
    {"sanity", "SIP message sanity checks"},
    {"usrloc", "the SIP location table"},
    {"registrar", "SIP registrations"},
    {"nathelper", "SIP NAT traversal"},
    {"rtpengine", "RTP proxying"},
    {"dialog", "SIP dialog tracking"},
    {"acc", "accounting"},
    {"dispatcher", "SIP load balancing"},
    {"permissions", "address permission tables"},
    {"pike", "flood detection"},
    {"websocket", "the WebSocket transport"},
    {"xhttp", "HTTP request routing"},
    {"sqlops", "SQL queries"},
    {"avpops", "AVP operations"},
    {"corex", "core extensions"},
    {"debugger", "the config debugger"},
    {"uac", "SIP UAC functions"},
    {"path", "SIP Path headers"},
    {"outbound", "SIP outbound"},
    {"db_mysql", "the MySQL database connector"},
    {"db_text", "the text database connector"},
    {"presence", "SIP presence"},
    {"pua", "SIP presence user agent"},
    {"nat_traversal", "SIP NAT traversal"},
    {"topoh", "SIP topology hiding"},
    {"statistics", "script statistics"},
    {"kemix", "KEMI extensions"},
    {"app_python3", "Python routing"},
};

}  // namespace

bool is_provided_module(std::string_view m) {
  for (const char* p : kProvided)
    if (m == p) return true;
  return false;
}

namespace {

std::string provided_list() {
  std::string s;
  for (const char* p : kProvided) {
    if (!s.empty()) s += ", ";
    s += p;
  }
  return s;
}

}  // namespace

const FunctionDef* find_function(std::string_view name, const std::vector<std::string>&) {
  for (const auto& f : kFunctions)
    if (name == f.name) return &f;
  return nullptr;
}

const FunctionDef* find_module_function(std::string_view module, std::string_view name) {
  for (const auto& f : kFunctions)
    if (name == f.name && (module.empty() || module == f.module)) return &f;
  return nullptr;
}

std::vector<const FunctionDef*> all_functions() {
  std::vector<const FunctionDef*> v;
  for (const auto& f : kFunctions) v.push_back(&f);
  return v;
}

void load_module(LoadState& ls, const std::string& path, Loc loc) {
  std::string name = path;
  auto slash = name.rfind('/');
  if (slash != std::string::npos) name = name.substr(slash + 1);
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0) name.resize(name.size() - 3);
  if (name.empty()) ls.src->fail(loc, "expected a module file name, found \"" + path + "\"");
  for (const auto& l : ls.loaded)
    if (l == name) ls.src->fail(loc, "module '" + name + "' is loaded twice");
  if (is_provided_module(name)) {
    if (name == "auth_db") ls.auth_db_loc = loc;
    ls.loaded.push_back(name);
    ls.data->config.loaded_modules.push_back(name);
    return;
  }
  for (const auto& u : kUnprovided) {
    if (name == u.name) {
      ls.unprovided.push_back(name);
      ls.warn(loc, "module '" + name + "' is not provided by msrpd: " + u.what +
                       " is not available; its parameters are ignored");
      return;
    }
  }
  ls.src->fail(loc, "unknown module '" + name + "' (msrpd provides " + provided_list() + ")");
}

void finish_modules(LoadState& ls) {
  if (ls.has_module("auth")) ls.data->auth = make_auth_state(ls.data->config);
  finish_auth_db(ls);
  finish_htable_db(ls);
  const Config& c = ls.data->config;
  if (c.cfgengine == "lua") {
    if (!ls.has_module("app_lua"))
      ls.src->fail(ls.cfgengine_loc, "cfgengine \"lua\" needs loadmodule \"app_lua.so\"");
    if (c.app_lua.load.empty()) {
      ls.src->fail(ls.cfgengine_loc,
                   "cfgengine \"lua\" needs a Lua file: modparam(\"app_lua\", \"load\", \"FILE.lua\")");
    }
  }
}

}  // namespace msrpd::script
