#pragma once
// The control server: binrpc (kamcmd, msrpctl) on unix/tcp sockets and JSON-RPC + /metrics over
// HTTP, each in its own thread with a poll() loop (never in the relay workers).
//
//   ctl::Registry reg;
//   ctl::register_core_commands(reg, {.started = t0, .processes = &procs});
//   ctl::register_msrp_commands(reg, cmap);                     // nullptr when cmap_size=0
//   ctl::register_stats_commands(reg, stats);
//   ctl::ControlServer server;
//   server.start({.binrpc = {"unix:/run/msrpd/msrpd_ctl"}, .http = "127.0.0.1:8080",
//                 .metrics = stats}, reg);                      // throws on a bind failure
//   ...
//   server.stop();

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ctl/address.h"
#include "ctl/commands.h"
#include "ctl/rpc.h"

namespace msrpd::ctl {

// Kamailio's ctl listens on unix:/run/kamailio/kamailio_ctl when loaded without a binrpc param;
// msrpd's is unix:/run/msrpd/msrpd_ctl (systemd's RuntimeDirectory=msrpd makes the directory).
inline constexpr const char* kDefaultBinrpc = "unix:/run/msrpd/msrpd_ctl";

// Where a default ctl socket goes, best first: /run/msrpd/msrpd_ctl, then (not root)
// $XDG_RUNTIME_DIR/msrpd/msrpd_ctl. The daemon takes the first whose directory it can use
// (making /run/msrpd as root, $XDG_RUNTIME_DIR/msrpd mode 0700); msrpctl the first that exists.
std::vector<std::string> default_binrpc_candidates();
// msrpctl's default: the first candidate whose socket file exists, else kDefaultBinrpc.
std::string default_binrpc_client();
// The daemon's default: the first candidate whose directory exists or could be made and is
// writable; "" when none (the caller runs without a default socket, saying why in `why`).
std::string default_binrpc_server(std::string& why);

struct ControlConfig {
  std::vector<std::string> binrpc;           // modparam("ctl", "binrpc", ...) values; empty: binrpc off
  std::string http;                          // "127.0.0.1:8080", "tcp:[::1]:8080"; empty: HTTP off
  std::string metrics_listen;                // read-only GET /metrics and /health; empty: off
  std::string http_token;                    // non-empty: JSON-RPC (and the http listener) needs Bearer it
  bool binrpc_allow_remote = false;          // a tcp binrpc address that is not loopback may be used
  StatsSource metrics;                       // /metrics source (may be empty)
  ProcessTable* processes = nullptr;         // the server's threads add themselves ("ctl binrpc", "http")
  UnixSocketOptions unix_socket;             // mode and owner of the unix socket files
  size_t max_request = size_t{1024} * 1024;  // binrpc request body / HTTP body
  size_t max_http_header = size_t{16} * 1024;
  // Per listener thread. A new connection over either limit closes the least recently active
  // one (of that client, or of all), preferring one that is between requests: a new client is
  // always served, and one client address can only push out its own connections.
  size_t max_connections = 64;
  size_t max_client_connections = 8;                 // per client address (tcp) or uid (unix)
  std::chrono::milliseconds idle_timeout{5000};      // no byte in or out for this long: closed
  std::chrono::milliseconds request_timeout{10000};  // a request must arrive whole in this time
};

// A listener the config may not have: an RPC http listener on a non-loopback address without a
// token, a tcp binrpc that is not loopback without binrpc_allow_remote.
struct Exposure {
  bool http = false;  // the http listener; else binrpc[binrpc_index]
  size_t binrpc_index = 0;
  std::string message;
};
std::optional<Exposure> find_exposure(const ControlConfig& config);

class ControlServer {
 public:
  ControlServer();
  ~ControlServer();  // stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds every address and starts the threads. Throws std::runtime_error (start-up) on a bad
  // address, an exposure (find_exposure), a live socket of another process or a failed bind;
  // nothing is left running then. The registry must outlive stop().
  void start(const ControlConfig& config, Registry& registry);
  // Stops the threads, closes every socket, removes the unix socket files. Idempotent.
  void stop();

  // After start(): where the listeners are ("unix:/path", "tcp:127.0.0.1:40123"; tcp port 0 is
  // replaced by the chosen port).
  std::vector<std::string> binrpc_addresses() const;
  std::string http_address() const;
  std::string metrics_address() const;

  // ctl:refused_token, ctl:refused_host, ctl:refused_origin, ctl:refused_content_type,
  // ctl:timeouts, ctl:evicted (thread-safe; for stats.get_statistics and /metrics).
  StatsSnapshot counters() const;

  struct Counters;

 private:
  struct Loop;
  std::unique_ptr<Counters> counters_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::string> binrpc_addrs_;
  std::string http_addr_;
  std::string metrics_addr_;
};

}  // namespace msrpd::ctl
