// Module parameters (modparam) and core parameters (name=value): one row per parameter, saying
// what kind of value it takes, where in Config it goes and how it is checked. Parameters Kamailio
// has and msrpd does not use are rows too: accepted with a warning (modparam) or kept as written
// (core), so a Kamailio config loads.

#include <algorithm>
#include <climits>

#include "common/ascii.h"
#include "common/host_port.h"
#include "db/db.h"
#include "script/internal.h"
#include "script/listen.h"

namespace msrpd::script {

namespace {

// ---- values ----

std::optional<bool> parse_bool(std::string_view v) {
  static constexpr std::string_view kTrue[] = {"yes", "on", "true", "enable", "enabled", "1"};
  static constexpr std::string_view kFalse[] = {"no", "off", "false", "disable", "disabled", "0"};
  for (auto t : kTrue)
    if (v == t) return true;
  for (auto f : kFalse)
    if (v == f) return false;
  return std::nullopt;
}

// Where a value goes in Config.
using IntField = int& (*)(Config&);
using BoolField = bool& (*)(Config&);
using TextField = std::string& (*)(Config&);
using ListField = std::vector<std::string>& (*)(Config&);
using MapField = std::map<std::string, std::string>& (*)(Config&);

// ---- modparam rows ----

struct ModParamSite {
  LoadState& ls;
  const std::string& module;
  const std::string& param;
  const Val& value;
  Loc loc;
  std::string what;  // modparam("module", "param"), for messages

  int integer() const {
    auto i = to_int(value);
    if (!i || *i < INT32_MIN || *i > INT32_MAX)
      ls.src->fail(loc, "expected an integer for " + what + ", found \"" + to_text(value) + "\"");
    return static_cast<int>(*i);
  }
  std::string text() const { return to_text(value); }
  [[noreturn]] void fail(const std::string& why) const { ls.src->fail(loc, why); }
};

enum class ModKind : uint8_t {
  integer,  // an int field, within [lo, hi]
  flag,     // an integer, stored as != 0
  text,     // a string field
  append,   // appended to a list (repeatable)
  keyed,    // map[param] = text: kept as written for the module that reads it (tls, ctl)
  ignored,  // Kamailio's, no effect in msrpd: a warning
  special,  // its own setter
};

struct ModParamDef {
  std::string_view module;
  std::string_view name;
  ModKind kind;
  IntField int_field = nullptr;
  BoolField bool_field = nullptr;
  TextField text_field = nullptr;
  ListField list_field = nullptr;
  MapField map_field = nullptr;
  int lo = INT_MIN;  // integer: the accepted range, and what the message adds after it
  int hi = INT_MAX;
  const char* range_note = "";
  void (*check)(const ModParamSite&, Config&) = nullptr;  // after the value is stored
  void (*set)(const ModParamSite&, Config&) = nullptr;    // special
};

constexpr ModParamDef integer(std::string_view m, std::string_view n, IntField f, int lo = INT_MIN,
                              int hi = INT_MAX, const char* note = "") {
  return {m, n, ModKind::integer, f, nullptr, nullptr, nullptr, nullptr, lo, hi, note};
}
constexpr ModParamDef flag(std::string_view m, std::string_view n, BoolField f) {
  return {m, n, ModKind::flag, nullptr, f};
}
constexpr ModParamDef text(std::string_view m, std::string_view n, TextField f,
                           void (*check)(const ModParamSite&, Config&) = nullptr) {
  return {m, n, ModKind::text, nullptr, nullptr, f, nullptr, nullptr, INT_MIN, INT_MAX, "", check};
}
constexpr ModParamDef append(std::string_view m, std::string_view n, ListField f) {
  return {m, n, ModKind::append, nullptr, nullptr, nullptr, f};
}
constexpr ModParamDef keyed(std::string_view m, std::string_view n, MapField f) {
  return {m, n, ModKind::keyed, nullptr, nullptr, nullptr, nullptr, f};
}
constexpr ModParamDef ignored(std::string_view m, std::string_view n) {
  return {m, n, ModKind::ignored};
}
constexpr ModParamDef special(std::string_view m, std::string_view n,
                              void (*set)(const ModParamSite&, Config&)) {
  return {m,       n,       ModKind::special, nullptr, nullptr, nullptr, nullptr,
          nullptr, INT_MIN, INT_MAX,          "",      nullptr, set};
}

void htable_def(const ModParamSite& p, Config&) {
  define_htable(p.ls, p.text(), p.loc);
}

void app_lua_load(const ModParamSite& p, Config& c) {
  std::string path = p.text();
  if (path.empty()) p.fail(p.what + ": expected a Lua file name");
  if (path.front() != '/') {
    // Relative to the directory of the config file that names it (not the daemon's cwd).
    const std::string& cfg = p.ls.src->files.at(p.loc.file);
    auto slash = cfg.rfind('/');
    if (slash != std::string::npos) path = cfg.substr(0, slash + 1) + path;
  }
  c.app_lua.load.push_back(path);
  p.ls.data->files.push_back(path);  // runtime messages of KSR calls name the Lua file
}

void timer_interval(const ModParamSite& p, Config& c) {
  c.msrp.timer_interval = p.integer();
  if (c.msrp.timer_interval <= 0) c.msrp.timer_interval = 60;
}

void qop_auth_only(const ModParamSite& p, Config& c) {
  if (!c.auth.qop.empty() && c.auth.qop != "auth")
    p.fail(p.what + ": msrpd supports qop \"auth\" only (RFC 4976 §9.1), found \"" + c.auth.qop + "\"");
}

void algorithm_md5_only(const ModParamSite& p, Config& c) {
  if (c.auth.algorithm != "MD5" && !c.auth.algorithm.empty())
    p.fail(p.what + ": msrpd supports MD5 only, found \"" + c.auth.algorithm + "\"");
}

void db_url_check(const ModParamSite& p, Config& c) {
  const std::string& cfg = p.ls.src->files.at(p.loc.file);
  auto slash = cfg.rfind('/');
  auto u =
      db::parse_url(c.auth_db.db_url, slash == std::string::npos ? std::string() : cfg.substr(0, slash + 1));
  if (!u) p.fail(p.what + ": " + u.error().message);
  p.ls.db_url = *u;
  p.ls.db_url_loc = p.loc;
}

// htable's own db_url (Kamailio's modules each have one): any driver db::connect knows; a driver
// msrpd lacks is refused when the tables are loaded at start.
void htable_db_url_check(const ModParamSite& p, Config& c) {
  const std::string& cfg = p.ls.src->files.at(p.loc.file);
  auto slash = cfg.rfind('/');
  auto u = db::parse_url(c.htable_db.db_url,
                         slash == std::string::npos ? std::string() : cfg.substr(0, slash + 1));
  if (!u) p.fail(p.what + ": " + u.error().message);
  p.ls.data->htable_url = *u;
  p.ls.htable_db_url_loc = p.loc;
}

void load_credentials(const ModParamSite& p, Config&) {
  // Kamailio loads other columns of the row into AVPs; msrpd has no AVPs: only "" is meaningful.
  if (!p.text().empty()) {
    p.ls.warn(p.loc,
              p.what + " has no effect in msrpd (no AVPs): the columns \"" + p.text() + "\" are not loaded");
  }
}

void db_identifier(const ModParamSite& p, Config&) {
  if (!db::is_identifier(p.text()))
    p.fail(p.what + ": expected a column name ([A-Za-z_][A-Za-z0-9_]*), found \"" + p.text() + "\"");
}

// A chunk cap: 0 (none) or kMinChunkCap..kMaxChunkCap body bytes. Below a few hundred bytes the
// heads of the pieces would outweigh their bodies.
constexpr int kMinChunkCap = 256, kMaxChunkCap = 1 << 30;

std::optional<int> chunk_cap(std::string_view v) {
  uint64_t n = 0;
  if (!ascii::parse_uint(v, n) || (n != 0 && (n < kMinChunkCap || n > kMaxChunkCap))) return std::nullopt;
  return static_cast<int>(n);
}

void max_chunk_size(const ModParamSite& p, Config& c) {
  auto n = chunk_cap(p.text());
  if (!n)
    p.fail(p.what + ": expected 0 or " + std::to_string(kMinChunkCap) + ".." + std::to_string(kMaxChunkCap) +
           " (body bytes), found \"" + p.text() + "\"");
  c.msrp.max_chunk_size = *n;
}

// "host[:port]=bytes": the cap for one next hop, as its URI (or msrp_set_dst) names it.
void max_chunk_size_hop(const ModParamSite& p, Config& c) {
  std::string spec = p.text();
  size_t eq = spec.rfind('=');
  std::optional<HostPort> hp;
  std::optional<int> n;
  if (eq != std::string::npos) {
    if (auto r = HostPort::parse(spec.substr(0, eq))) hp = std::move(*r);
    n = chunk_cap(std::string_view(spec).substr(eq + 1));
  }
  if (!hp || !n)
    p.fail(p.what + ": expected \"host[:port]=bytes\" with bytes 0 or " + std::to_string(kMinChunkCap) +
           ".." + std::to_string(kMaxChunkCap) + ", found \"" + spec + "\"");
  c.msrp.max_chunk_size_hop.push_back({hp->host, hp->port_given ? hp->port : uint16_t{0}, *n});
}

// clang-format off
constexpr ModParamDef kModParams[] = {
    flag("msrp", "sipmsg", [](Config& c) -> bool& { return c.msrp.sipmsg; }),
    integer("msrp", "cmap_size", [](Config& c) -> int& { return c.msrp.cmap_size; }, 0, 16, " (2^n slots)"),
    special("msrp", "timer_interval", timer_interval),
    integer("msrp", "auth_min_expires", [](Config& c) -> int& { return c.msrp.auth_min_expires; }),
    integer("msrp", "auth_max_expires", [](Config& c) -> int& { return c.msrp.auth_max_expires; }),
    text("msrp", "use_path_addr", [](Config& c) -> std::string& { return c.msrp.use_path_addr; }),
    text("msrp", "event_callback", [](Config& c) -> std::string& { return c.msrp.event_callback; }),
    flag("msrp", "open_relay", [](Config& c) -> bool& { return c.msrp.open_relay; }),
    integer("msrp", "route_body_limit", [](Config& c) -> int& { return c.msrp.route_body_limit; }, 0, 65536,
            " (bytes)"),
    special("msrp", "max_chunk_size", max_chunk_size),
    special("msrp", "max_chunk_size_hop", max_chunk_size_hop),
    integer("msrp", "max_to_path", [](Config& c) -> int& { return c.msrp.max_to_path; }, 2, 1000, ""),
    integer("msrp", "max_self_passes", [](Config& c) -> int& { return c.msrp.max_self_passes; }, 1, 100, ""),
    integer("msrp", "auth_max_failures", [](Config& c) -> int& { return c.msrp.auth_max_failures; }, 1, 1000000,
            ""),
    integer("msrp", "unauth_memory_kb", [](Config& c) -> int& { return c.msrp.unauth_memory_kb; }, 64,
            16 * 1024 * 1024, " (KiB)"),

    integer("auth", "nonce_count", [](Config& c) -> int& { return c.auth.nonce_count; }),
    text("auth", "qop", [](Config& c) -> std::string& { return c.auth.qop; }, qop_auth_only),
    text("auth", "secret", [](Config& c) -> std::string& { return c.auth.secret; }),
    integer("auth", "nonce_expire", [](Config& c) -> int& { return c.auth.nonce_expire; }, 1),
    text("auth", "algorithm", [](Config& c) -> std::string& { return c.auth.algorithm; }, algorithm_md5_only),
    ignored("auth", "one_time_nonce"), ignored("auth", "nid_pool_no"), ignored("auth", "nc_array_size"),
    ignored("auth", "nc_array_order"), ignored("auth", "otn_in_flight_no"),
    ignored("auth", "otn_in_flight_order"), ignored("auth", "auth_checks_register"),
    ignored("auth", "auth_checks_no_dlg"), ignored("auth", "auth_checks_in_dlg"),
    ignored("auth", "realm_prefix"), ignored("auth", "use_domain"), ignored("auth", "add_authinfo_hdr"),
    ignored("auth", "force_stateless_reply"), ignored("auth", "nonce_auth_max_drift"),
    ignored("auth", "secret_file"),

    text("auth_db", "db_url", [](Config& c) -> std::string& { return c.auth_db.db_url; }, db_url_check),
    flag("auth_db", "calculate_ha1", [](Config& c) -> bool& { return c.auth_db.calculate_ha1; }),
    text("auth_db", "password_column", [](Config& c) -> std::string& { return c.auth_db.password_column; },
         db_identifier),
    text("auth_db", "user_column", [](Config& c) -> std::string& { return c.auth_db.user_column; }, db_identifier),
    text("auth_db", "domain_column", [](Config& c) -> std::string& { return c.auth_db.domain_column; },
         db_identifier),
    flag("auth_db", "use_domain", [](Config& c) -> bool& { return c.auth_db.use_domain; }),
    special("auth_db", "load_credentials", load_credentials),
    integer("auth_db", "cache_ttl", [](Config& c) -> int& { return c.auth_db.cache_ttl; }, 0, 86400, " (seconds)"),
    integer("auth_db", "cache_size", [](Config& c) -> int& { return c.auth_db.cache_size; }, 1, 10000000, ""),
    integer("auth_db", "db_threads", [](Config& c) -> int& { return c.auth_db.db_threads; }, 1, 64, ""),
    integer("auth_db", "db_queue", [](Config& c) -> int& { return c.auth_db.db_queue; }, 1, 1000000, ""),
    ignored("auth_db", "password_column_2"), ignored("auth_db", "version_table"),
    ignored("db_sqlite", "db_set_readonly"), ignored("db_sqlite", "db_set_journal_mode"),
    ignored("db_sqlite", "db_set_busy_timeout"),
    integer("db_postgres", "timeout", [](Config& c) -> int& { return c.db_postgres.timeout; }, 1, 60, " (seconds)"),
    ignored("db_postgres", "retries"), ignored("db_postgres", "bytea_output_escape"),

    special("htable", "htable", htable_def),
    text("htable", "db_url", [](Config& c) -> std::string& { return c.htable_db.db_url; }, htable_db_url_check),
    text("htable", "key_name_column", [](Config& c) -> std::string& { return c.htable_db.key_name_column; },
         db_identifier),
    text("htable", "key_type_column", [](Config& c) -> std::string& { return c.htable_db.key_type_column; },
         db_identifier),
    text("htable", "value_type_column", [](Config& c) -> std::string& { return c.htable_db.value_type_column; },
         db_identifier),
    text("htable", "key_value_column", [](Config& c) -> std::string& { return c.htable_db.key_value_column; },
         db_identifier),
    text("htable", "expires_column", [](Config& c) -> std::string& { return c.htable_db.expires_column; },
         db_identifier),
    text("htable", "array_size_suffix", [](Config& c) -> std::string& { return c.htable_db.array_size_suffix; }),
    flag("htable", "db_expires", [](Config& c) -> bool& { return c.htable_db.db_expires; }),
    ignored("htable", "fetch_rows"), ignored("htable", "timer_interval"),
    ignored("htable", "enable_dmq"), ignored("htable", "timer_procs"), text("htable", "event_callback", [](Config& c) -> std::string& { return c.htable_db.event_callback; }),

    text("xlog", "prefix", [](Config& c) -> std::string& { return c.xlog.prefix; }),
    ignored("xlog", "buf_size"), ignored("xlog", "force_color"), ignored("xlog", "long_format"),
    ignored("xlog", "log_facility"), ignored("xlog", "log_colors"), ignored("xlog", "methods_filter"),
    ignored("xlog", "prefix_mode"),

    integer("sl", "default_code", [](Config& c) -> int& { return c.sl.default_code; }),
    text("sl", "default_reason", [](Config& c) -> std::string& { return c.sl.default_reason; }),
    ignored("sl", "bind_tm"), ignored("sl", "rich_redirect"), ignored("sl", "event_callback_fl_ack"),
    ignored("sl", "event_callback_lres_sent"),

    ignored("pv", "shvset"), ignored("pv", "varset"), ignored("pv", "avp_aliases"),

    integer("cfgutils", "initial_probability", [](Config& c) -> int& { return c.cfgutils_probability; }, 0, 100),
    ignored("cfgutils", "hash_file"), ignored("cfgutils", "lock_set_size"),

    append("ctl", "binrpc", [](Config& c) -> std::vector<std::string>& { return c.ctl_binrpc; }),
    keyed("ctl", "http", [](Config& c) -> std::map<std::string, std::string>& { return c.ctl; }),
    keyed("ctl", "mode", [](Config& c) -> std::map<std::string, std::string>& { return c.ctl; }),
    keyed("ctl", "user", [](Config& c) -> std::map<std::string, std::string>& { return c.ctl; }),
    keyed("ctl", "group", [](Config& c) -> std::map<std::string, std::string>& { return c.ctl; }),
    keyed("ctl", "fifo", [](Config& c) -> std::map<std::string, std::string>& { return c.ctl; }),
    keyed("ctl", "binrpc_buffer_size", [](Config& c) -> std::map<std::string, std::string>& { return c.ctl; }),
    keyed("ctl", "binrpc_max_body_size", [](Config& c) -> std::map<std::string, std::string>& { return c.ctl; }),
    keyed("ctl", "binrpc_struct_max_body_size",
          [](Config& c) -> std::map<std::string, std::string>& { return c.ctl; }),
    keyed("ctl", "http_token", [](Config& c) -> std::map<std::string, std::string>& { return c.ctl; }),
    keyed("ctl", "metrics", [](Config& c) -> std::map<std::string, std::string>& { return c.ctl; }),
    flag("ctl", "binrpc_allow_remote", [](Config& c) -> bool& { return c.ctl_limits.binrpc_allow_remote; }),
    integer("ctl", "idle_timeout", [](Config& c) -> int& { return c.ctl_limits.idle_timeout; }, 10, 3600000,
            " (ms)"),
    integer("ctl", "request_timeout", [](Config& c) -> int& { return c.ctl_limits.request_timeout; }, 10,
            3600000, " (ms)"),
    integer("ctl", "max_connections", [](Config& c) -> int& { return c.ctl_limits.max_connections; }, 1, 100000),
    integer("ctl", "max_client_connections",
            [](Config& c) -> int& { return c.ctl_limits.max_client_connections; }, 1, 100000),

    special("app_lua", "load", app_lua_load),
    ignored("app_lua", "reload"), ignored("app_lua", "log_mode"), ignored("app_lua", "register"),
};

// The tls module's parameters are kept as written: relay/engine_tls.h reads them (and tls.cfg).
constexpr std::string_view kTlsParams[] = {
    "config", "tls_method", "certificate", "private_key", "ca_list", "ca_path", "crl",
    "verify_certificate", "verify_depth", "require_certificate", "cipher_list", "server_name",
    "connection_timeout", "tls_log", "tls_debug", "session_cache", "session_id", "renegotiation",
    "send_timeout", "low_mem_threshold1", "low_mem_threshold2", "tls_force_run", "verify_client",
    "key_password", "ssl_release_buffers", "ssl_freelist_max_len", "ssl_max_send_fragment",
    "ssl_read_ahead", "init_mode", "engine", "provider_quirks"};
// clang-format on

const ModParamDef* find_modparam(std::string_view module, std::string_view name) {
  static constexpr ModParamDef kTls =
      keyed("tls", "", [](Config& c) -> std::map<std::string, std::string>& { return c.tls; });
  if (module == "tls") {
    for (auto t : kTlsParams)
      if (t == name) return &kTls;
    return nullptr;
  }
  for (const auto& d : kModParams)
    if (d.module == module && d.name == name) return &d;
  return nullptr;
}

std::string range_text(int lo, int hi) {
  if (hi == INT_MAX) return "> " + std::to_string(lo - 1);
  return std::to_string(lo) + ".." + std::to_string(hi);
}

// ---- core parameter rows ----

struct CoreSite {
  LoadState& ls;
  const std::string& name;
  const std::string& raw;  // as written (quotes included), for messages
  const std::string& v;    // quotes removed
  Loc loc;
};

enum class CoreKind : uint8_t {
  integer,  // an int field, within [lo, hi]
  boolean,  // yes/no, on/off, true/false, 1/0...
  text,
  append,   // repeatable: each line adds one
  special,  // its own setter
};

struct CoreParamDef {
  std::string_view name;
  CoreKind kind;
  IntField int_field = nullptr;
  BoolField bool_field = nullptr;
  TextField text_field = nullptr;
  ListField list_field = nullptr;
  int lo = INT_MIN;
  int hi = INT_MAX;
  void (*set)(const CoreSite&, Config&) = nullptr;
};

constexpr CoreParamDef core_int(std::string_view n, IntField f, int lo = INT_MIN, int hi = INT_MAX) {
  return {n, CoreKind::integer, f, nullptr, nullptr, nullptr, lo, hi};
}
constexpr CoreParamDef core_bool(std::string_view n, BoolField f) {
  return {n, CoreKind::boolean, nullptr, f};
}
constexpr CoreParamDef core_text(std::string_view n, TextField f) {
  return {n, CoreKind::text, nullptr, nullptr, f};
}
constexpr CoreParamDef core_append(std::string_view n, ListField f) {
  return {n, CoreKind::append, nullptr, nullptr, nullptr, f};
}

void listen_line(const CoreSite& p, Config& c) {
  auto l = parse_listen(p.v);
  if (!l) p.ls.src->fail(p.loc, l.error().message);
  if (l->ignored) {
    p.ls.warn(p.loc, "listen=" + p.v + " ignored: msrpd listens on tcp and tls only");
    return;
  }
  c.listen.push_back(std::move(l->listen));
}

// clang-format off
constexpr CoreParamDef kCoreParams[] = {
    core_int("debug", [](Config& c) -> int& { return c.debug; }),
    core_int("children", [](Config& c) -> int& { return c.children; }, 1, 1024),
    core_bool("log_stderror", [](Config& c) -> bool& { return c.log_stderror; }),
    core_text("log_facility", [](Config& c) -> std::string& { return c.log_facility; }),
    core_bool("auto_aliases", [](Config& c) -> bool& { return c.auto_aliases; }),
    core_bool("tcp_accept_no_cl", [](Config& c) -> bool& { return c.tcp_accept_no_cl; }),
    core_int("tcp_connection_lifetime", [](Config& c) -> int& { return c.tcp_connection_lifetime; }),
    core_int("tcp_max_connections", [](Config& c) -> int& { return c.tcp_max_connections; }),
    core_int("open_files_limit", [](Config& c) -> int& { return c.open_files_limit; }),
    core_text("mpath", [](Config& c) -> std::string& { return c.mpath; }),
    core_append("alias", [](Config& c) -> std::vector<std::string>& { return c.aliases; }),
    {"listen", CoreKind::special, nullptr, nullptr, nullptr, nullptr, INT_MIN, INT_MAX, listen_line},
};

// Kamailio's core parameters msrpd accepts and does not use: kept as written in other_core.
constexpr std::string_view kOtherCore[] = {
    "memdbg", "memlog", "fork", "disable_tcp", "enable_tls", "tcp_children", "tls_max_connections",
    "max_while_loops", "sip_warning", "server_header", "user_agent_header", "server_signature", "dns",
    "rev_dns", "dns_try_ipv6", "use_dns_cache", "dns_srv_lb", "dns_try_naptr", "tcp_rd_buf_size",
    "tcp_msg_read_timeout", "tcp_accept_protocols", "log_name", "log_prefix", "mhomed", "tcp_keepalive",
    "async_workers", "corelog", "log_color", "enable_sctp", "disable_sctp", "tcp_async", "tcp_conn_wq_max",
    "tcp_wq_max", "tcp_connect_timeout", "tcp_send_timeout", "tcp_reuse_port", "statistics",
    "shm_mem_size", "pkg_mem_size", "maxbuffer", "auto_bind_ipv6", "user", "group", "uid", "gid",
    "chroot", "workdir", "wdir", "pid_file", "tos", "latency_log", "latency_limit_action",
    "latency_limit_db", "onsend_route_reply", "received_route_mode", "log_engine_type",
    "log_engine_data", "xavp_via_params", "socket_workers", "advertised_address", "advertised_port",
    "phone2tel", "tcp_defer_accept", "tcp_keepidle", "tcp_keepintvl", "tcp_keepcnt", "tcp_crlf_ping",
    "tcp_accept_aliases", "tcp_source_ipv4", "tcp_source_ipv6", "tcp_fd_cache", "tcp_buf_write",
    "tcp_linger2", "tcp_syncnt", "tcp_delayed_ack", "tcp_clone_rcvbuf", "tcp_accept_haproxy",
    "tcp_accept_hep3", "tcp_accept_iplimit", "tcp_check_timer", "tcp_script_mode", "tcp_wait_data",
    "tcp_accept_unique", "tcp_connection_match", "tcp_main_threads", "tcp_conn_wq_timeout",
    "tcp_error_timeout", "ip_free_bind", "kemi.onsend_route_callback"};
// clang-format on

}  // namespace

void set_modparam(LoadState& ls, const std::string& module, const std::string& param, const Val& value,
                  Loc loc) {
  if (std::find(ls.unprovided.begin(), ls.unprovided.end(), module) != ls.unprovided.end()) {
    ls.warn(loc, "modparam(\"" + module + "\", \"" + param + "\") ignored: module '" + module +
                     "' is not provided by msrpd");
    return;
  }
  if (!ls.has_module(module)) {
    if (is_provided_module(module))
      ls.src->fail(loc, "modparam for module '" + module + "' before loadmodule \"" + module + ".so\"");
    ls.src->fail(loc, "modparam for unknown module '" + module + "'");
  }
  const ModParamDef* d = find_modparam(module, param);
  if (!d) ls.src->fail(loc, "unknown parameter '" + param + "' of module '" + module + "'");
  ModParamSite p{ls, module, param, value, loc, "modparam(\"" + module + "\", \"" + param + "\")"};
  Config& c = ls.data->config;
  switch (d->kind) {
    case ModKind::integer: {
      int& f = d->int_field(c);
      f = p.integer();
      if (f < d->lo || f > d->hi) p.fail(p.what + " must be " + range_text(d->lo, d->hi) + d->range_note);
      break;
    }
    case ModKind::flag:
      d->bool_field(c) = p.integer() != 0;
      break;
    case ModKind::text:
      d->text_field(c) = p.text();
      break;
    case ModKind::append:
      d->list_field(c).push_back(p.text());
      break;
    case ModKind::keyed:
      d->map_field(c)[param] = p.text();
      break;
    case ModKind::ignored:
      ls.warn(loc, p.what + " has no effect in msrpd");
      break;
    case ModKind::special:
      d->set(p, c);
      break;
  }
  if (d->check) d->check(p, c);
  // The control server's start-up errors name the line (a listener it refuses to open).
  if (module == "ctl") {
    if (param == "binrpc") {
      c.ctl_binrpc_where.push_back(ls.src->where(loc));
    } else {
      c.ctl_where[param] = ls.src->where(loc);
    }
  }
}

void set_core_param(LoadState& ls, const std::string& name, Loc name_loc, const std::string& raw, Loc loc) {
  Config& c = ls.data->config;
  if (raw.empty()) ls.src->fail(loc, "expected a value for '" + name + "', found end of line");
  std::string v = raw;
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    v = v.substr(1, v.size() - 2);
  const CoreParamDef* d = nullptr;
  for (const auto& row : kCoreParams)
    if (row.name == name) d = &row;
  if (!d) {
    for (auto a : kOtherCore) {
      if (name == a) {
        c.other_core[name] = v;
        return;
      }
    }
    ls.src->fail(name_loc, "unknown core parameter '" + name + "'");
  }
  CoreSite p{ls, name, raw, v, loc};
  switch (d->kind) {
    case CoreKind::integer: {
      auto i = parse_int(v);
      if (!i || *i < INT32_MIN || *i > INT32_MAX)
        ls.src->fail(loc, "expected an integer for '" + name + "', found '" + raw + "'");
      int& f = d->int_field(c);
      f = static_cast<int>(*i);
      if (f < d->lo || f > d->hi)
        ls.src->fail(loc, name + " must be " + range_text(d->lo, d->hi) + ", found " + raw);
      break;
    }
    case CoreKind::boolean: {
      auto b = parse_bool(v);
      if (!b) ls.src->fail(loc, "expected yes or no for '" + name + "', found '" + raw + "'");
      d->bool_field(c) = *b;
      break;
    }
    case CoreKind::text:
      d->text_field(c) = v;
      break;
    case CoreKind::append:
      d->list_field(c).push_back(v);
      break;
    case CoreKind::special:
      d->set(p, c);
      break;
  }
}

}  // namespace msrpd::script
