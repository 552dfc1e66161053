#pragma once
// What the parser, the interpreter and the modules share inside the script layer.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "db/url.h"
#include "script/ast.h"
#include "script/htable.h"
#include "script/script.h"

namespace msrpd::relay {
struct DigestCredentials;
}

namespace msrpd::script {

struct AuthState;    // auth.cpp: the nonce store
struct AuthDbState;  // auth_db.cpp: the subscriber queries, the database pool
struct CredCache;    // auth_db.cpp: a worker's credentials
struct Token;        // lexer.h

struct ScriptData {
  Config config;
  std::vector<std::string> warnings;
  std::vector<std::string> files;  // for runtime messages
  std::vector<Route> routes;
  int request_route = -1;
  int reply_route = -1;
  int frame_in_route = -1;
  std::map<std::string, int, std::less<>> named_routes;  // route[NAME], event_route[NAME]
  std::map<std::string, int, std::less<>> event_routes;
  std::vector<std::string> var_names;  // $var slots
  std::vector<std::unique_ptr<HTable>> htables;
  std::shared_ptr<AuthState> auth;
  std::shared_ptr<AuthDbState> auth_db;
  std::optional<db::Url> htable_url;  // modparam("htable", "db_url")

  // "file:line:col"; "file:line" when there is no column (a KSR call from a Lua file).
  std::string where(Loc l) const {
    std::string w = l.file < files.size() ? files[l.file] : std::string("?");
    w += ':';
    w += std::to_string(l.line);
    if (l.col != 0) {
      w += ':';
      w += std::to_string(l.col);
    }
    return w;
  }
};

struct WorkerEnv::State {
  int worker_id = 0;
  std::vector<Val> vars;
  LogSink log;
  // per message
  int last_auth = 0;                 // the last pv_www_authenticate result (stale nonce => stale=true)
  std::shared_ptr<CredCache> creds;  // auth_db's rows, made on first use
};

// One route run: the message, the worker, where control goes.
struct Run {
  enum class Flow : uint8_t { next, exit, drop, ret, brk };
  const ScriptData& s;
  relay::Context& ctx;
  WorkerEnv::State& env;
  Flow flow = Flow::next;
  int retcode = 1;  // return(n) of the current route
  int last_rc = 1;  // $rc: the last function's return code
  int depth = 0;

  void log(int level, std::string_view text) const;
  bool log_enabled(int level) const;
};

// pv.cpp
std::shared_ptr<PvSpec> parse_pv(const SourceText& src, std::string_view text, Loc loc, struct LoadState& ls);
// Parses "..$pv..": pseudo-variables inside a string literal (written at `loc`).
Format parse_format(const SourceText& src, std::string_view text, Loc loc, LoadState& ls);
Val eval_pv(Run& run, const PvSpec& pv);
void render(Run& run, const Format& f, std::string& out);
// Assigns to a writable pv; false on error (logged).
bool assign_pv(Run& run, const PvSpec& pv, Val v);

// modules.cpp
const FunctionDef* find_function(std::string_view name, const std::vector<std::string>& loaded);
// A function by module and name (module "" = any module), whether loaded or not.
const FunctionDef* find_module_function(std::string_view module, std::string_view name);
std::vector<const FunctionDef*> all_functions();
// A module msrpd provides (loadmodule accepts it, its parameters and functions are known).
bool is_provided_module(std::string_view module);
// loadmodule: records the module name (path and .so stripped).
void load_module(LoadState& ls, const std::string& path, Loc loc);
// Called after parsing: builds htables, the auth state.
void finish_modules(LoadState& ls);

// params.cpp
// modparam: sets Config (or warns); throws through src.fail.
void set_modparam(LoadState& ls, const std::string& module, const std::string& param, const Val& value,
                  Loc loc);
// name=value: sets Config; throws through src.fail.
void set_core_param(LoadState& ls, const std::string& name, Loc name_loc, const std::string& raw, Loc loc);

// routes.cpp
// Registers the route block `kw`[name] (written at kloc, its name at nloc) in ls.data->routes and
// the slot it fills; `next` describes the token after kw, for messages. Returns its index.
int declare_route(LoadState& ls, const std::string& kw, const std::string& name, Loc kloc, Loc nloc,
                  const std::string& next);

// args.cpp
// One argument of a module function as its caller has it: a token of the config language, or a
// value from KEMI.
struct RawArg {
  enum class Kind : uint8_t { string, integer, pv, word };
  Kind kind = Kind::string;
  std::string text;            // string: the value; pv: "$..."; integer, word: as written
  int64_t ival = 0;            // integer
  Loc loc;                     // where it is written
  bool quoted = false;         // a string literal: its text starts one column after loc
  bool formats = true;         // a string's $pv inside are evaluated per call (KEMI: xlog's only)
  bool strict_level = true;    // an xlog level must be a known name (KEMI: a number too, or read later)
  std::string found;           // how messages name the argument ("string \"x\""); empty: not named
  std::shared_ptr<PvSpec> pv;  // pvout: the caller has parsed the name already
};
// "function 'NAME' takes 2 arguments, found 3" when n does not fit def.
std::optional<std::string> arity_error(const FunctionDef& def, int n, std::string_view name);
// Argument i of n of a call to def, fixed up. An error is a message without a place; a malformed
// pseudo-variable inside throws LoadError through src.fail.
Result<Arg> fixup_arg(const SourceText& src, LoadState& ls, const FunctionDef& def, int i, int n,
                      const RawArg& raw);
// A token of the config language as an argument: strings are formats, levels must be names.
RawArg raw_arg(const Token& t);

// interp.cpp
int run_route(Run& run, int route);
Val eval(Run& run, const Expr& e);
// Function argument values.
std::string_view arg_str(Run& run, const Arg& a, std::string& scratch);
std::optional<int64_t> arg_int(Run& run, const Arg& a);

// auth.cpp
std::shared_ptr<AuthState> make_auth_state(const Config& config);
size_t sweep_nonces(AuthState& a);  // stale nonces' replay records (relay::NonceStore::sweep)
int fn_pv_www_authenticate(Run& run, const Call& call);
int fn_auth_get_www_authenticate(Run& run, const Call& call);
int fn_consume_credentials(Run& run, const Call& call);
// $au / $ar
Val auth_username(Run& run);
Val auth_realm(Run& run);
// The Digest check shared by pv_www_authenticate and auth_db's functions: `secret` is called with
// the parsed credentials once they are well-formed and for `realm`; it returns the password (or
// HA1 when is_ha1) or a Kamailio code (< 0) to return. Returns Kamailio's codes.
struct Secret {
  std::string_view value;
  bool is_ha1 = false;
  int code = 0;  // < 0: return it
};
int digest_authenticate(Run& run, Loc loc, const char* fname, std::string_view realm, std::string_view method,
                        const std::function<Secret(const relay::DigestCredentials&)>& secret);

// auth_db.cpp
int fn_www_authorize(Run& run, const Call& call);
int fn_auth_check(Run& run, const Call& call);
// After parsing: the queries, checked against the database file when it exists.
void finish_auth_db(LoadState& ls);

// htable_load.cpp
// modparam("htable", "htable", "name=>size=8;autoexpire=60;dbtable=t;dbmode=1;cols='k,v';").
void define_htable(LoadState& ls, const std::string& spec, Loc loc);
// After parsing: the tables with dbtable need db_url (and its driver module); their SELECT is
// tried when the database can be opened now (an unknown table or column: file:line).
void finish_htable_db(LoadState& ls);

// What the parser builds, and the module tables consult.
struct LoadState {
  const SourceText* src = nullptr;
  std::shared_ptr<ScriptData> data;
  std::vector<std::string> loaded;      // module names msrpd provides and were loaded
  std::vector<std::string> unprovided;  // loaded, not provided (modparams ignored)
  std::map<std::string, int, std::less<>> var_index;
  std::map<std::string, int, std::less<>> htable_index;
  Loc cfgengine_loc;
  // auth_db: the db_url (parsed by its modparam), loadmodule's place, the tables its functions
  // name (ParamKind::dbtable: Arg::const_int is the index) and where each is first named.
  std::optional<db::Url> db_url;
  Loc db_url_loc, auth_db_loc;
  Loc htable_db_url_loc;  // modparam("htable", "db_url")
  std::vector<std::string> db_tables;
  std::vector<Loc> db_table_locs;

  int var_slot(std::string_view name) {
    auto it = var_index.find(name);
    if (it != var_index.end()) return it->second;
    int n = static_cast<int>(data->var_names.size());
    data->var_names.emplace_back(name);
    var_index.emplace(std::string(name), n);
    return n;
  }
  bool has_module(std::string_view m) const {
    for (const auto& l : loaded)
      if (l == m) return true;
    return false;
  }
  void warn(Loc l, const std::string& what) { data->warnings.push_back(src->where(l) + ": " + what); }
};

}  // namespace msrpd::script
