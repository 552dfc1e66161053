#pragma once
// The control server: binrpc (kamcmd, msrpctl) on unix/tcp sockets and JSON-RPC + /metrics over
// HTTP, each in its own thread with a poll() loop (never in the relay workers).
//
//   ctl::Registry reg;
//   ctl::register_core_commands(reg, {.started = t0, .processes = &procs});
//   ctl::register_msrp_commands(reg, cmap);                     // nullptr when cmap_size=0
//   ctl::register_stats_commands(reg, stats);
//   ctl::ControlServer server;
//   server.start({.binrpc = {"unix:/tmp/msrpd_ctl"}, .http = "127.0.0.1:8080", .metrics = stats},
//                reg);                                          // throws on a bind failure
//   ...
//   server.stop();

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ctl/commands.h"
#include "ctl/rpc.h"

namespace msrpd::ctl {

// Kamailio's ctl listens on unix:/run/kamailio/kamailio_ctl when loaded without a binrpc param;
// msrpd's default is this one.
inline constexpr const char* kDefaultBinrpc = "unix:/tmp/msrpd_ctl";

struct ControlConfig {
  std::vector<std::string> binrpc;           // modparam("ctl", "binrpc", ...) values; empty: binrpc off
  std::string http;                          // "127.0.0.1:8080", "tcp:[::1]:8080"; empty: HTTP off
  StatsSource metrics;                       // /metrics source (may be empty)
  ProcessTable* processes = nullptr;         // the server's threads add themselves ("ctl binrpc", "http")
  int unix_mode = 0600;                      // of the unix socket files
  size_t max_request = size_t{1024} * 1024;  // binrpc request body / HTTP body
  size_t max_http_header = size_t{16} * 1024;
  size_t max_connections = 64;  // per thread; more are closed at once
  std::chrono::milliseconds binrpc_idle{300000};
  std::chrono::milliseconds http_timeout{10000};  // the whole request must arrive in this time
};

class ControlServer {
 public:
  ControlServer();
  ~ControlServer();  // stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds every address and starts the threads. Throws std::runtime_error (start-up) on a bad
  // address or a failed bind; nothing is left running then. The registry must outlive stop().
  void start(const ControlConfig& config, Registry& registry);
  // Stops the threads, closes every socket, removes the unix socket files. Idempotent.
  void stop();

  // After start(): where the listeners are ("unix:/path", "tcp:127.0.0.1:40123"; tcp port 0 is
  // replaced by the chosen port).
  std::vector<std::string> binrpc_addresses() const;
  std::string http_address() const;

 private:
  struct Loop;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::string> binrpc_addrs_;
  std::string http_addr_;
};

}  // namespace msrpd::ctl
