#pragma once
// msrpd's control wiring (docs/CONTROL.md): when the routing script loads the ctl module, the
// daemon answers RPC commands over binrpc (kamcmd, msrpctl) and JSON-RPC + /metrics over HTTP.
//
//   ScriptRouter::on_worker_start(w)  -> msrpd::daemon::note_worker_thread(w);   // for core.psx
//   auto ctl = msrpd::daemon::start_control(script, engine, kVersion);  // after engine.start()
//   ...
//   if (ctl) ctl->stop();                                                          // before engine.stop()
//
// Addresses come from the config:
//   modparam("ctl", "binrpc", "unix:/run/msrpd/msrpd_ctl") repeatable; none: ctl::default_binrpc_server
//   modparam("ctl", "http_token"/"metrics"/"binrpc_allow_remote"/...)  docs/CONTROL.md "Access"
//   modparam("ctl", "http", "tcp:127.0.0.1:8080")        JSON-RPC + GET /metrics; none: off
//   modparam("ctl", "mode", 0600)                        unix socket file mode (octal digits)
// Commands: core.* (version, uptime, psx, ps, echo), system.*, msrp.cmaplist, stats.get_statistics,
// htable.dump/get/delete/sets/seti/reload over the script's htables, auth_db.cache_drop (with
// auth_db) through every worker.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace msrpd::script {
class Script;
}
namespace msrpd::relay {
class Engine;
}

namespace msrpd::daemon {

// Records the calling thread as "worker N" (N = the engine's worker index) for core.psx/core.ps.
// The Router calls it from on_worker_start on each worker thread; before or after start_control().
void note_worker_thread(unsigned worker);

struct ControlOptions {
  // Non-empty: used instead of the config's modparam("ctl", "binrpc") / ("ctl", "http") values.
  std::vector<std::string> binrpc;
  std::string http;
  // auth_db.cache_drop: called on worker `worker`'s thread, drops its cached rows of user@domain
  // (user "" = all; domain "" = any) and returns how many (kemi::ScriptRouter::drop_credentials).
  std::function<size_t(unsigned worker, std::string_view user, std::string_view domain)> drop_credentials;
};

class Control {
 public:
  Control();
  ~Control();  // stop()
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Closes the listeners and joins the control threads. Idempotent.
  void stop();
  // Where the listeners are ("unix:/path", "tcp:127.0.0.1:2046"; "127.0.0.1:8080" for HTTP).
  std::vector<std::string> binrpc_addresses() const;
  std::string http_address() const;

  struct State;

 private:
  friend std::unique_ptr<Control> start_control(const script::Script&, relay::Engine&, std::string_view,
                                                const ControlOptions&);
  std::unique_ptr<State> state_;
};

// Starts the control server when the script loads the ctl module (nullptr otherwise). `version` is
// "NAME VERSION" as `msrpd -V` prints it (core.version answers "NAME VERSION (arch/os) "). The script and
// the engine must outlive the returned Control (stop it before engine.stop()). Throws
// std::runtime_error on a bad address or a failed bind of a configured address; the default binrpc
// socket (no binrpc modparam) failing to bind is only logged, so the daemon still starts.
std::unique_ptr<Control> start_control(const script::Script& script, relay::Engine& engine,
                                       std::string_view version, const ControlOptions& options = {});

}  // namespace msrpd::daemon
