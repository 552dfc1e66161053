#pragma once
// The relay engine's settings from a loaded script's Config (and msrpd's command-line overrides):
// listen sockets, workers, the msrp module's parameters, the tls module's settings.
//
//   auto ec = script::engine_config(script.config(), "/etc/msrpd/msrpd.cfg", {.listen = {"tls:[::1]:2856"}});
//   if (!ec) die(cfg_path + ": " + ec.error().message);

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "relay/engine.h"
#include "script/config.h"

namespace msrpd::script {

// RFC 4975 §15.1: MSRP's registered port, for a listen address without one.
inline constexpr uint16_t kDefaultMsrpPort = 2855;

struct EngineOverrides {
  std::vector<std::string> listen;  // -l: "[proto:]host[:port]", instead of the config's listen lines
  int children = -1;                // -n: worker threads, when > 0
};

// The config file's path names the directory a relative tls file is taken from. Errors (no
// place: the caller prefixes the config file): "bad listen address 'x'", a tls setting's error,
// "listen=tls: needs modparam(\"tls\", \"certificate\", \"FILE\")".
Result<relay::EngineConfig> engine_config(const Config& cfg, const std::string& cfg_path,
                                          const EngineOverrides& overrides = {});

// tcp_max_connections when the config does not set it: the descriptor limit (RLIMIT_NOFILE soft,
// once msrpd has raised it) less a reserve for what else needs a descriptor (listeners, next hops,
// the ctl sockets, logs, Lua files): 10 % of it, at least 64 (half of a limit below 128), so that
// a flood of connections meets tcp_max_connections before accept() meets EMFILE.
uint32_t default_max_connections(uint64_t descriptor_limit);

// A listen address as the engine binds it: no port means 2855, "*" means every IPv4 address.
relay::ListenAddr listen_addr(const Listen& l);

}  // namespace msrpd::script
