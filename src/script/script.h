#pragma once
// The routing script: a Kamailio-compatible config (global parameters, loadmodule, modparam,
// request_route, reply_route, event_route[msrp:frame-in], route[NAME]) loaded once, resolved at
// load (no name lookups when a route runs), immutable and shared by all worker threads.
//
//   msrpd::script::Script s = msrpd::script::load("/etc/msrpd/msrpd.cfg");  // throws LoadError
//   msrpd::script::WorkerEnv env(s, worker_id);                            // one per worker thread
//   if (s.has_event_route()) s.run_event_route(ctx, env);                    // per MSRP frame

#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/result.h"
#include "relay/context.h"
#include "script/config.h"
#include "script/source.h"

namespace msrpd::script {

struct ScriptData;
class HTable;

// How a route ended.
struct RunResult {
  int code = 1;          // the route's return value (1 when it ran to its end)
  bool dropped = false;  // `drop` ran
  bool exited = false;   // `exit`, return(0) or a function returning 0 ended the script
};

// Log levels (Kamailio's, common/log.h): xlog prints when level <= debug.
using common::kLogAlert;
using common::kLogBug;
using common::kLogCrit;
using common::kLogDbg;
using common::kLogErr;
using common::kLogInfo;
using common::kLogNotice;
using common::kLogWarn;
using common::LogLevel;

class Script {
 public:
  Script() = default;
  explicit Script(std::shared_ptr<const ScriptData> data) : data_(std::move(data)) {}

  bool loaded() const { return data_ != nullptr; }
  const Config& config() const;
  // Load-time warnings ("file:line:col: module 'mi_fifo' is not provided...").
  const std::vector<std::string>& warnings() const;

  bool has_request_route() const;
  bool has_reply_route() const;
  bool has_event_route(std::string_view name = "msrp:frame-in") const;

  // request_route: a SIP request (sl_send_reply etc.).
  RunResult run_request_route(relay::Context& ctx, class WorkerEnv& env) const;
  // reply_route: a SIP reply.
  RunResult run_reply_route(relay::Context& ctx, WorkerEnv& env) const;
  // event_route[msrp:frame-in]: an MSRP frame.
  RunResult run_event_route(relay::Context& ctx, WorkerEnv& env) const;
  // Any other event_route[name]; returns {1} when the script has none.
  RunResult run_event_route(std::string_view name, relay::Context& ctx, WorkerEnv& env) const;

  // An AUTH about to be routed (relay::Router::ready): false when auth_db's calls need a row of
  // the Authorization's user that this worker does not have; its query is then on the database
  // pool, and resume runs when the row is in (auth_db.cpp). True without auth_db.
  bool prepare_auth(std::optional<std::string_view> authorization, class WorkerEnv& env,
                    const relay::Resume& resume) const;

  // auth_db's database pool counters (db:connects, db:connect_failures, ...: docs/CONTROL.md),
  // all 0 before the first lookup; empty without auth_db. From any thread.
  std::vector<std::pair<std::string, uint64_t>> db_stats() const;
  // htables with dbtable (htable_load.cpp), from modparam("htable", "db_url"). At start, before
  // any frame: every such table read (its items in place); an error names the modparam's
  // file:line and the daemon does not start (as Kamailio). Returns the items loaded.
  Result<size_t> load_htables() const;
  // htable.reload: the table read again on the caller's thread, then swapped in. Errors are
  // the RPC's fault texts ("No such htable", "No htable db_url", "Htable reload failed: ...").
  Result<size_t> reload_htable(std::string_view name) const;
  // At stop: the dbmode=1 tables written back (their rows replaced by the items). The errors.
  std::vector<std::string> save_htables() const;
  // event_route[htable:mod-init]: once at start, after load_htables, before any frame; it runs
  // with no message (msrp_* functions answer -1) in `env`.
  bool has_htable_mod_init() const;
  RunResult run_htable_mod_init(class WorkerEnv& env) const;
  // auth_db.cache_drop: drops this worker's cached rows of `user` (of `domain` too when it is
  // not empty and use_domain is set), or every row when user is empty. Returns how many. A row
  // being fetched stays for the AUTHs waiting on it, and is not kept after them.
  size_t drop_credentials(class WorkerEnv& env, std::string_view user, std::string_view domain) const;

  // htables: drop expired items (the daemon calls this from a timer); how many were dropped.
  // Also drops the replay records of stale nonces (relay::NonceStore::sweep).
  size_t clean_expired(time_t now) const;
  // The htable of that name (for RPC dumps), or null.
  HTable* htable(std::string_view name) const;

  const ScriptData& data() const { return *data_; }

 private:
  std::shared_ptr<const ScriptData> data_;
};

// Per worker thread state: $var values, the worker id ($pp), the log sink, per-message scratch.
class WorkerEnv {
 public:
  using LogSink = std::function<void(int level, std::string_view text)>;

  explicit WorkerEnv(const Script& script, int worker_id = 0);
  ~WorkerEnv();
  WorkerEnv(const WorkerEnv&) = delete;
  WorkerEnv& operator=(const WorkerEnv&) = delete;

  int worker_id() const;
  // Where xlog & co write; default: stderr, one line per call as written by the script.
  void set_log_sink(LogSink sink);
  // A message of the daemon about this worker's scripts (a Lua error...): to the sink when one is
  // set, else to the daemon's logger (without xlog's prefix).
  void log(int level, std::string_view text) const;

  struct State;
  State& state() { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

// Loads and checks a config file; throws LoadError("file:line:col: expected X, found Y").
Script load(const std::string& path);
// The same from text in memory (tests, `-c` of a piped config).
Script load_text(std::string_view text, const std::string& name = "<config>", const std::string& dir = ".");

}  // namespace msrpd::script
