// The script-side modules: which Kamailio modules msrpd provides, their functions and parameters,
// the modules it knows but does not provide, and the core parameters.

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "script/internal.h"

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

std::optional<int> level_by_name(std::string_view n) {
  static constexpr std::pair<std::string_view, int> kLevels[] = {
      {"L_ALERT", kLogAlert},   {"L_BUG", kLogBug},   {"L_CRIT2", -3},
      {"L_CRIT", kLogCrit},     {"L_ERR", kLogErr},   {"L_WARN", kLogWarn},
      {"L_NOTICE", kLogNotice}, {"L_INFO", kLogInfo}, {"L_DBG", kLogDbg},
  };
  for (auto [name, v] : kLevels)
    if (name == n) return v;
  return std::nullopt;
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
    if (auto v = level_by_name(n))
      level = *v;
    else if (auto i = parse_int(n))
      level = static_cast<int>(*i);
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
    {"htable", "sht_rm", 2, 2, {P::htable, P::str}, fn_sht_rm},
    {"htable", "sht_reset", 1, 1, {P::htable}, fn_sht_reset},
    {"msrp", "msrp_relay", 0, 0, {}, fn_msrp_relay},
    {"msrp", "msrp_reply", 2, 3, {P::str, P::str, P::str}, fn_msrp_reply},
    {"msrp", "msrp_is_request", 0, 0, {}, fn_msrp_is_request},
    {"msrp", "msrp_is_reply", 0, 0, {}, fn_msrp_is_reply},
    {"msrp", "msrp_set_dst", 2, 2, {P::str, P::str}, fn_msrp_set_dst},
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
constexpr const char* kProvided[] = {"sl",       "xlog", "pv",  "auth", "htable", "msrp",
                                     "cfgutils", "kex",  "ctl", "tls",  "app_lua"};

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
    {"db_postgres", "the PostgreSQL database connector"},
    {"db_sqlite", "the SQLite database connector"},
    {"db_text", "the text database connector"},
    {"auth_db", "database-backed authentication (load passwords into $var in the script instead)"},
    {"presence", "SIP presence"},
    {"pua", "SIP presence user agent"},
    {"nat_traversal", "SIP NAT traversal"},
    {"topoh", "SIP topology hiding"},
    {"statistics", "script statistics"},
    {"kemix", "KEMI extensions"},
    {"app_python3", "Python routing"},
};

bool is_provided(std::string_view m) {
  for (const char* p : kProvided)
    if (m == p) return true;
  return false;
}

std::string provided_list() {
  std::string s;
  for (const char* p : kProvided) {
    if (!s.empty()) s += ", ";
    s += p;
  }
  return s;
}

// ---- parameter values ----

std::optional<bool> parse_bool(std::string_view v) {
  static constexpr std::string_view kTrue[] = {"yes", "on", "true", "enable", "enabled", "1"};
  static constexpr std::string_view kFalse[] = {"no", "off", "false", "disable", "disabled", "0"};
  for (auto t : kTrue)
    if (v == t) return true;
  for (auto f : kFalse)
    if (v == f) return false;
  return std::nullopt;
}

int want_int(LoadState& ls, const Val& v, Loc loc, const std::string& what) {
  auto i = to_int(v);
  if (!i || *i < INT32_MIN || *i > INT32_MAX)
    ls.src->fail(loc, "expected an integer for " + what + ", found \"" + to_text(v) + "\"");
  return static_cast<int>(*i);
}

void parse_htable_def(LoadState& ls, const std::string& spec, Loc loc) {
  // name=>size=8;autoexpire=3600;initval=0;...
  size_t sep = spec.find("=>");
  if (sep == std::string::npos || sep == 0)
    ls.src->fail(loc, "expected \"name=>size=N;autoexpire=S;\" for modparam htable, found \"" + spec + "\"");
  HtableDef def;
  def.name = spec.substr(0, sep);
  std::string_view rest = std::string_view(spec).substr(sep + 2);
  while (!rest.empty()) {
    size_t e = rest.find(';');
    std::string_view item = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string key(item.substr(0, eq));
    std::string val(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
    auto num = [&]() {
      auto i = parse_int(val);
      if (!i || *i < 0 || *i > INT32_MAX)
        ls.src->fail(loc, "expected an integer for htable attribute '" + key + "', found \"" + val + "\"");
      return static_cast<int>(*i);
    };
    if (key == "size") {
      def.size = num();
      if (def.size < 1 || def.size > 16)
        ls.src->fail(loc, "htable size must be 1..16 (2^size slots), found " + val);
    } else if (key == "autoexpire") {
      def.autoexpire = num();
    } else if (key == "initval") {
      def.initval = val;
    } else if (key == "dbtable" || key == "dbmode" || key == "cols" || key == "updateexpire" ||
               key == "dmqreplicate" || key == "coldelim" || key == "colnull") {
      ls.warn(loc, "htable attribute '" + key + "' has no effect in msrpd");
    } else {
      ls.src->fail(loc, "unknown htable attribute '" + key + "' (expected size, autoexpire or initval)");
    }
  }
  if (ls.htable_index.count(def.name)) ls.src->fail(loc, "htable '" + def.name + "' is declared twice");
  ls.htable_index[def.name] = static_cast<int>(ls.data->htables.size());
  ls.data->htables.push_back(std::make_unique<HTable>(def));
  ls.data->config.htables.push_back(def);
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
  if (is_provided(name)) {
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

void set_modparam(LoadState& ls, const std::string& module, const std::string& param, const Val& value,
                  Loc loc) {
  for (const auto& u : ls.unprovided) {
    if (u == module) {
      ls.warn(loc, "modparam(\"" + module + "\", \"" + param + "\") ignored: module '" + module +
                       "' is not provided by msrpd");
      return;
    }
  }
  if (!ls.has_module(module)) {
    if (is_provided(module))
      ls.src->fail(loc, "modparam for module '" + module + "' before loadmodule \"" + module + ".so\"");
    ls.src->fail(loc, "modparam for unknown module '" + module + "'");
  }
  Config& c = ls.data->config;
  std::string what = "modparam(\"" + module + "\", \"" + param + "\")";
  auto str = [&] { return to_text(value); };
  auto ignored = [&] { ls.warn(loc, what + " has no effect in msrpd"); };
  auto unknown = [&]() { ls.src->fail(loc, "unknown parameter '" + param + "' of module '" + module + "'"); };
  if (module == "msrp") {
    if (param == "sipmsg")
      c.msrp.sipmsg = want_int(ls, value, loc, what) != 0;
    else if (param == "cmap_size") {
      c.msrp.cmap_size = want_int(ls, value, loc, what);
      if (c.msrp.cmap_size < 0 || c.msrp.cmap_size > 16)
        ls.src->fail(loc, what + " must be 0..16 (2^n slots)");
    } else if (param == "timer_interval") {
      c.msrp.timer_interval = want_int(ls, value, loc, what);
      if (c.msrp.timer_interval <= 0) c.msrp.timer_interval = 60;
    } else if (param == "auth_min_expires")
      c.msrp.auth_min_expires = want_int(ls, value, loc, what);
    else if (param == "auth_max_expires")
      c.msrp.auth_max_expires = want_int(ls, value, loc, what);
    else if (param == "use_path_addr")
      c.msrp.use_path_addr = str();
    else if (param == "event_callback")
      c.msrp.event_callback = str();
    else
      unknown();
  } else if (module == "auth") {
    if (param == "nonce_count")
      c.auth.nonce_count = want_int(ls, value, loc, what);
    else if (param == "qop") {
      c.auth.qop = str();
      if (!c.auth.qop.empty() && c.auth.qop != "auth")
        ls.src->fail(
            loc, what + ": msrpd supports qop \"auth\" only (RFC 4976 §9.1), found \"" + c.auth.qop + "\"");
    } else if (param == "secret")
      c.auth.secret = str();
    else if (param == "nonce_expire") {
      c.auth.nonce_expire = want_int(ls, value, loc, what);
      if (c.auth.nonce_expire <= 0) ls.src->fail(loc, what + " must be > 0");
    } else if (param == "algorithm") {
      c.auth.algorithm = str();
      if (c.auth.algorithm != "MD5" && !c.auth.algorithm.empty())
        ls.src->fail(loc, what + ": msrpd supports MD5 only, found \"" + c.auth.algorithm + "\"");
    } else if (param == "one_time_nonce" || param == "nid_pool_no" || param == "nc_array_size" ||
               param == "nc_array_order" || param == "otn_in_flight_no" || param == "otn_in_flight_order" ||
               param == "auth_checks_register" || param == "auth_checks_no_dlg" ||
               param == "auth_checks_in_dlg" || param == "realm_prefix" || param == "use_domain" ||
               param == "add_authinfo_hdr" || param == "force_stateless_reply" ||
               param == "nonce_auth_max_drift" || param == "secret_file")
      ignored();
    else
      unknown();
  } else if (module == "htable") {
    if (param == "htable")
      parse_htable_def(ls, str(), loc);
    else if (param == "db_url" || param == "key_name_column" || param == "key_type_column" ||
             param == "value_type_column" || param == "key_value_column" || param == "expires_column" ||
             param == "array_size_suffix" || param == "fetch_rows" || param == "timer_interval" ||
             param == "db_expires" || param == "enable_dmq" || param == "timer_procs" ||
             param == "event_callback")
      ignored();
    else
      unknown();
  } else if (module == "xlog") {
    if (param == "prefix")
      c.xlog.prefix = str();
    else if (param == "buf_size" || param == "force_color" || param == "long_format" ||
             param == "log_facility" || param == "log_colors" || param == "methods_filter" ||
             param == "prefix_mode")
      ignored();
    else
      unknown();
  } else if (module == "sl") {
    if (param == "default_code")
      c.sl.default_code = want_int(ls, value, loc, what);
    else if (param == "default_reason")
      c.sl.default_reason = str();
    else if (param == "bind_tm" || param == "rich_redirect" || param == "event_callback_fl_ack" ||
             param == "event_callback_lres_sent")
      ignored();
    else
      unknown();
  } else if (module == "pv") {
    if (param == "shvset" || param == "varset" || param == "avp_aliases")
      ignored();
    else
      unknown();
  } else if (module == "cfgutils") {
    if (param == "initial_probability") {
      c.cfgutils_probability = want_int(ls, value, loc, what);
      if (c.cfgutils_probability < 0 || c.cfgutils_probability > 100)
        ls.src->fail(loc, what + " must be 0..100");
    } else if (param == "hash_file" || param == "lock_set_size")
      ignored();
    else
      unknown();
  } else if (module == "ctl") {
    if (param == "binrpc")
      c.ctl_binrpc.push_back(str());
    else if (param == "http" || param == "mode" || param == "user" || param == "group" || param == "fifo" ||
             param == "binrpc_buffer_size" || param == "binrpc_max_body_size" ||
             param == "binrpc_struct_max_body_size")
      c.ctl[param] = str();
    else
      unknown();
  } else if (module == "app_lua") {
    if (param == "load") {
      std::string path = str();
      if (path.empty()) ls.src->fail(loc, what + ": expected a Lua file name");
      if (path.front() != '/') {
        // Relative to the directory of the config file that names it (not the daemon's cwd).
        const std::string& cfg = ls.src->files.at(loc.file);
        auto slash = cfg.rfind('/');
        if (slash != std::string::npos) path = cfg.substr(0, slash + 1) + path;
      }
      c.app_lua.load.push_back(path);
      ls.data->files.push_back(path);  // runtime messages of KSR calls name the Lua file
    } else if (param == "reload" || param == "log_mode" || param == "register")
      ignored();
    else
      unknown();
  } else if (module == "tls") {
    static constexpr std::string_view kTls[] = {"config",
                                                "tls_method",
                                                "certificate",
                                                "private_key",
                                                "ca_list",
                                                "ca_path",
                                                "crl",
                                                "verify_certificate",
                                                "verify_depth",
                                                "require_certificate",
                                                "cipher_list",
                                                "server_name",
                                                "connection_timeout",
                                                "tls_log",
                                                "tls_debug",
                                                "session_cache",
                                                "session_id",
                                                "renegotiation",
                                                "send_timeout",
                                                "low_mem_threshold1",
                                                "low_mem_threshold2",
                                                "tls_force_run",
                                                "verify_client",
                                                "key_password",
                                                "ssl_release_buffers",
                                                "ssl_freelist_max_len",
                                                "ssl_max_send_fragment",
                                                "ssl_read_ahead",
                                                "init_mode",
                                                "engine",
                                                "provider_quirks"};
    bool known = false;
    for (auto k : kTls) known = known || param == k;
    if (!known) unknown();
    c.tls[param] = str();
  } else {
    unknown();  // kex: no parameters
  }
}

void set_core_param(LoadState& ls, const std::string& name, Loc name_loc, const std::string& raw, Loc loc) {
  Config& c = ls.data->config;
  if (raw.empty()) ls.src->fail(loc, "expected a value for '" + name + "', found end of line");
  std::string v = raw;
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    v = v.substr(1, v.size() - 2);
  auto integer = [&]() {
    auto i = parse_int(v);
    if (!i || *i < INT32_MIN || *i > INT32_MAX)
      ls.src->fail(loc, "expected an integer for '" + name + "', found '" + raw + "'");
    return static_cast<int>(*i);
  };
  auto boolean = [&]() {
    auto b = parse_bool(v);
    if (!b) ls.src->fail(loc, "expected yes or no for '" + name + "', found '" + raw + "'");
    return *b;
  };
  if (name == "debug")
    c.debug = integer();
  else if (name == "children") {
    c.children = integer();
    if (c.children < 1 || c.children > 1024) ls.src->fail(loc, "children must be 1..1024, found " + raw);
  } else if (name == "log_stderror")
    c.log_stderror = boolean();
  else if (name == "log_facility")
    c.log_facility = v;
  else if (name == "auto_aliases")
    c.auto_aliases = boolean();
  else if (name == "tcp_accept_no_cl")
    c.tcp_accept_no_cl = boolean();
  else if (name == "tcp_connection_lifetime")
    c.tcp_connection_lifetime = integer();
  else if (name == "tcp_max_connections")
    c.tcp_max_connections = integer();
  else if (name == "open_files_limit")
    c.open_files_limit = integer();
  else if (name == "mpath")
    c.mpath = v;
  else if (name == "alias")
    c.aliases.push_back(v);
  else if (name == "listen") {
    // [proto:]host[:port] [advertise host:port] [name "x"]
    Listen l;
    l.text = v;
    std::string_view rest = v;
    size_t sp = rest.find_first_of(" \t");
    std::string_view addr = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
    for (std::string_view p : {"tcp", "tls", "udp", "sctp", "ws", "wss"}) {
      if (addr.size() > p.size() && addr.substr(0, p.size()) == p && addr[p.size()] == ':') {
        l.proto.assign(p);
        addr.remove_prefix(p.size() + 1);
      }
    }
    if (l.proto == "udp" || l.proto == "sctp" || l.proto == "ws" || l.proto == "wss") {
      ls.warn(loc, "listen=" + v + " ignored: msrpd listens on tcp and tls only");
      return;
    }
    if (l.proto.empty()) l.proto = "tcp";
    std::string_view port;
    if (!addr.empty() && addr.front() == '[') {
      size_t rb = addr.find(']');
      if (rb == std::string_view::npos) ls.src->fail(loc, "expected ']' in listen address '" + v + "'");
      l.host.assign(addr.substr(1, rb - 1));
      if (rb + 1 < addr.size()) {
        if (addr[rb + 1] != ':') ls.src->fail(loc, "expected ':' after ']' in listen address '" + v + "'");
        port = addr.substr(rb + 2);
      }
    } else {
      size_t colon = addr.rfind(':');
      if (colon != std::string_view::npos && addr.find(':') == colon) {
        l.host.assign(addr.substr(0, colon));
        port = addr.substr(colon + 1);
      } else {
        l.host.assign(addr);  // a name, an IPv4 or an IPv6 without port
      }
    }
    if (l.host.empty()) ls.src->fail(loc, "expected an address in listen=" + v);
    if (!port.empty()) {
      auto p = parse_int(port);
      if (!p || *p < 1 || *p > 65535) ls.src->fail(loc, "expected a port 1..65535 in listen=" + v);
      l.port = static_cast<uint16_t>(*p);
    }
    while (!rest.empty()) {
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      if (rest.empty()) break;
      size_t e = rest.find_first_of(" \t");
      std::string_view word = rest.substr(0, e);
      rest = e == std::string_view::npos ? std::string_view() : rest.substr(e);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      size_t e2 = rest.find_first_of(" \t");
      std::string_view val = rest.substr(0, e2);
      rest = e2 == std::string_view::npos ? std::string_view() : rest.substr(e2);
      if (val.size() >= 2 && val.front() == '"' && val.back() == '"') val = val.substr(1, val.size() - 2);
      if (val.empty()) ls.src->fail(loc, "expected a value after '" + std::string(word) + "' in listen=" + v);
      if (word == "advertise")
        l.advertise.assign(val);
      else if (word == "name")
        l.name.assign(val);
      else
        ls.src->fail(loc,
                     "expected 'advertise' or 'name' in listen=" + v + ", found '" + std::string(word) + "'");
    }
    c.listen.push_back(std::move(l));
  } else {
    static constexpr std::string_view kAccepted[] = {"memdbg",
                                                     "memlog",
                                                     "fork",
                                                     "disable_tcp",
                                                     "enable_tls",
                                                     "tcp_children",
                                                     "tls_max_connections",
                                                     "max_while_loops",
                                                     "sip_warning",
                                                     "server_header",
                                                     "user_agent_header",
                                                     "server_signature",
                                                     "dns",
                                                     "rev_dns",
                                                     "dns_try_ipv6",
                                                     "use_dns_cache",
                                                     "dns_srv_lb",
                                                     "dns_try_naptr",
                                                     "tcp_rd_buf_size",
                                                     "tcp_msg_read_timeout",
                                                     "tcp_accept_protocols",
                                                     "log_name",
                                                     "log_prefix",
                                                     "mhomed",
                                                     "tcp_keepalive",
                                                     "async_workers",
                                                     "corelog",
                                                     "log_color",
                                                     "enable_sctp",
                                                     "disable_sctp",
                                                     "tcp_async",
                                                     "tcp_conn_wq_max",
                                                     "tcp_wq_max",
                                                     "tcp_connect_timeout",
                                                     "tcp_send_timeout",
                                                     "tcp_reuse_port",
                                                     "statistics",
                                                     "shm_mem_size",
                                                     "pkg_mem_size",
                                                     "maxbuffer",
                                                     "auto_bind_ipv6",
                                                     "user",
                                                     "group",
                                                     "uid",
                                                     "gid",
                                                     "chroot",
                                                     "workdir",
                                                     "wdir",
                                                     "pid_file",
                                                     "tos",
                                                     "latency_log",
                                                     "latency_limit_action",
                                                     "latency_limit_db",
                                                     "onsend_route_reply",
                                                     "received_route_mode",
                                                     "log_engine_type",
                                                     "log_engine_data",
                                                     "xavp_via_params",
                                                     "socket_workers",
                                                     "advertised_address",
                                                     "advertised_port",
                                                     "phone2tel",
                                                     "tcp_defer_accept",
                                                     "tcp_keepidle",
                                                     "tcp_keepintvl",
                                                     "tcp_keepcnt",
                                                     "tcp_crlf_ping",
                                                     "tcp_accept_aliases",
                                                     "tcp_source_ipv4",
                                                     "tcp_source_ipv6",
                                                     "tcp_fd_cache",
                                                     "tcp_buf_write",
                                                     "tcp_linger2",
                                                     "tcp_syncnt",
                                                     "tcp_delayed_ack",
                                                     "tcp_clone_rcvbuf",
                                                     "tcp_accept_haproxy",
                                                     "tcp_accept_hep3",
                                                     "tcp_accept_iplimit",
                                                     "tcp_check_timer",
                                                     "tcp_script_mode",
                                                     "tcp_wait_data",
                                                     "tcp_accept_unique",
                                                     "tcp_connection_match",
                                                     "tcp_main_threads",
                                                     "tcp_conn_wq_timeout",
                                                     "tcp_error_timeout",
                                                     "ip_free_bind",
                                                     "kemi.onsend_route_callback"};
    for (auto a : kAccepted) {
      if (name == a) {
        c.other_core[name] = v;
        return;
      }
    }
    ls.src->fail(name_loc, "unknown core parameter '" + name + "'");
  }
}

void finish_modules(LoadState& ls) {
  if (ls.has_module("auth")) ls.data->auth = make_auth_state(ls.data->config);
  const Config& c = ls.data->config;
  if (c.cfgengine == "lua") {
    if (!ls.has_module("app_lua"))
      ls.src->fail(ls.cfgengine_loc, "cfgengine \"lua\" needs loadmodule \"app_lua.so\"");
    if (c.app_lua.load.empty())
      ls.src->fail(ls.cfgengine_loc,
                   "cfgengine \"lua\" needs a Lua file: modparam(\"app_lua\", \"load\", \"FILE.lua\")");
  }
}

}  // namespace msrpd::script
