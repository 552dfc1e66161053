#pragma once
// Config: every global parameter and module parameter of a loaded routing script, typed, for the
// daemon to read (listen sockets, workers, logging, msrp/auth/htable/tls/ctl settings).
// Defaults are Kamailio's where the parameter exists there.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace msrpd::script {

// listen=[proto:]host[:port] [advertise host:port] [name "x"]
struct Listen {
  std::string proto;  // "tcp" or "tls" (no proto given: "tcp"; udp/sctp are refused at load)
  std::string host;   // "127.0.0.1", "::1" (brackets removed), a name, or "*"
  uint16_t port = 0;  // 0 = not given (the daemon picks its default: 2855, tls 2855)
  std::string advertise;
  std::string name;
  std::string text;  // as written, for messages
};

// modparam("htable", "htable", "name=>size=8;autoexpire=3600;dbtable=t;dbmode=1;cols='k,v';")
struct HtableDef {
  std::string name;
  int size = 4;         // 2^size slots
  int autoexpire = 0;   // seconds; 0 = items never expire
  std::string initval;  // not used: kept for dumps
  // Loaded from htable's db_url at start (script/htable_db.h); empty: not.
  std::string dbtable;
  int dbmode = 0;                 // 1: written back to dbtable when msrpd stops
  std::vector<std::string> cols;  // the key column, then the value columns (packed with coldelim)
  char coldelim = ',';
  std::string colnull;  // a NULL value column in the packed value
  std::string where;    // "file:line:col" of the modparam, for messages at start
};

struct Config {
  // core
  int debug = 0;  // Kamailio levels: -1 err, 0 warn, 1 notice, 2 info, 3 dbg
  int children = 8;
  bool log_stderror = false;
  std::string log_facility = "LOG_DAEMON";
  bool auto_aliases = true;
  bool tcp_accept_no_cl = false;
  int tcp_connection_lifetime = 120;  // seconds
  int tcp_max_connections = 0;        // 0: no limit but the descriptors (Kamailio's default is 2048)
  int open_files_limit = 0;           // 0: the hard limit
  std::vector<Listen> listen;
  std::vector<std::string> aliases;
  std::string mpath;
  std::vector<std::string> loaded_modules;        // the module names, in loadmodule order
  std::map<std::string, std::string> other_core;  // accepted core params msrpd does not use
  // cfgengine "native" (the routes of this file) or "lua" (KEMI: app_lua's files route SIP
  // requests through ksr_request_route(), MSRP frames through msrp's event_callback).
  std::string cfgengine = "native";

  struct Msrp {
    bool sipmsg = true;
    int cmap_size = 0;  // exponent: 2^n slots, 0 = no map
    int timer_interval = 60;
    int auth_min_expires = 60;
    int auth_max_expires = 3600;
    std::string use_path_addr;
    std::string event_callback;
    // msrpd's additions (issue 11, docs/SECURITY.md): the engine's authorization rules.
    bool open_relay = false;       // 1: no RFC 4976 §6 checks (labs only: dangerous)
    int max_to_path = 16;          // To-Path URIs a request may carry
    int max_self_passes = 3;       // times one frame may pass through this relay
    int auth_max_failures = 3;     // failed AUTHs before a client's connection is closed
    int unauth_memory_kb = 32768;  // buffered bytes of all not-yet-successful connections
    int route_body_limit = 65536;  // body bytes the route waits for (the whole frame up to it)
    // Body bytes a SEND chunk relayed to a next hop may carry (0: any): max_chunk_size for every
    // next hop, max_chunk_size_hop "host[:port]=bytes" rows for some (the first match applies).
    int max_chunk_size = 0;
    struct ChunkHop {
      std::string host;   // no brackets
      uint16_t port = 0;  // 0: any port
      int bytes = 0;
    };
    std::vector<ChunkHop> max_chunk_size_hop;
  } msrp;

  struct Auth {
    int nonce_count = 0;  // 1: check nc (replay protection)
    std::string qop;      // "auth" or empty
    std::string secret;
    int nonce_expire = 30;  // seconds
    std::string algorithm = "MD5";
  } auth;

  // auth_db (Kamailio's names and defaults; docs/reference/module-parameters.md).
  struct AuthDb {
    std::string db_url;                   // required: sqlite:///path/file.db
    bool calculate_ha1 = false;           // 1: password_column holds plain passwords
    std::string password_column = "ha1";  // the column read for the user
    std::string user_column = "username";
    std::string domain_column = "domain";
    bool use_domain = false;  // 1: the row's domain must be the credentials' realm
    // msrpd's additions: how long a worker keeps a user's row (also a missing one), how many
    // rows a worker keeps, how many threads query the database and how many queries may wait.
    int cache_ttl = 60;      // seconds
    int cache_size = 10000;  // rows per worker
    int db_threads = 2;
    int db_queue = 1024;
  } auth_db;

  // db_postgres: Kamailio's `timeout` (seconds): bounds a connect and a statement (the server's
  // statement_timeout). Kamailio's default is 0 (none); msrpd always bounds them.
  struct DbPostgres {
    int timeout = 2;
  } db_postgres;

  std::vector<HtableDef> htables;
  // The htable module's database parameters (Kamailio's names and defaults).
  struct HtableDb {
    std::string db_url;  // empty: no table is loaded
    std::string key_name_column = "key_name";
    std::string key_type_column = "key_type";
    std::string value_type_column = "value_type";
    std::string key_value_column = "key_value";
    std::string expires_column = "expires";
    std::string array_size_suffix = "::size";
    bool db_expires = false;  // 1: expires is read and written (tables with autoexpire only)
    // KEMI (cfgengine "lua"): the Lua function run with "htable:mod-init" at start, in place of
    // event_route[htable:mod-init].
    std::string event_callback;
  } htable_db;

  struct Xlog {
    std::string prefix = "<script>: ";
  } xlog;

  struct Sl {
    int default_code = 500;
    std::string default_reason = "Server Internal Error";
  } sl;

  struct AppLua {
    // modparam("app_lua", "load", "file.lua"), in order; a relative path is taken from the
    // directory of the config file that names it.
    std::vector<std::string> load;
  } app_lua;

  int cfgutils_probability = 10;  // modparam("cfgutils", "initial_probability"), rand_event()

  std::vector<std::string> ctl_binrpc;     // modparam("ctl", "binrpc", ...), in order
  std::map<std::string, std::string> ctl;  // the other ctl params (http, http_token, metrics, mode...)
  // Where each ctl param was written ("file:line:col"; binrpc: one per value), for start errors.
  std::vector<std::string> ctl_binrpc_where;
  std::map<std::string, std::string> ctl_where;
  struct CtlLimits {
    int idle_timeout = 5000;           // ms without a byte in or out: a control connection is closed
    int request_timeout = 10000;       // ms for a whole request
    int max_connections = 64;          // per control listener thread
    int max_client_connections = 8;    // per client address (tcp) or uid (unix)
    bool binrpc_allow_remote = false;  // a tcp binrpc on a non-loopback address
  } ctl_limits;
  std::map<std::string, std::string> tls;  // tls module params as written

  // msrp_set_dst's sock written as a literal, and where ("file:line:col"): it must name one of
  // the listen sockets, which are known once -l is applied (script::check_local_sockets).
  struct SockUse {
    std::string where;
    std::string sock;
  };
  std::vector<SockUse> local_sockets;
};

}  // namespace msrpd::script
