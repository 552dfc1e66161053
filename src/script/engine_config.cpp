#include "script/engine_config.h"

#include <algorithm>
#include <limits>

#include "relay/engine_tls.h"
#include "script/listen.h"

namespace msrpd::script {

relay::ListenAddr listen_addr(const Listen& l) {
  relay::ListenAddr la;
  la.proto = l.proto;
  la.ip = l.host == "*" ? "0.0.0.0" : l.host;
  la.port = l.port != 0 ? l.port : kDefaultMsrpPort;
  la.advertise = l.advertise;
  return la;
}

uint32_t default_max_connections(uint64_t descriptor_limit) {
  constexpr uint64_t kMinReserve = 64;
  uint64_t reserve = std::max(descriptor_limit / 10, kMinReserve);
  if (reserve * 2 > descriptor_limit) reserve = descriptor_limit - descriptor_limit / 2;
  uint64_t n = descriptor_limit - reserve;  // RLIM_INFINITY too: capped below
  // 0 would mean no limit: a (useless) limit of 1 keeps one connection.
  return static_cast<uint32_t>(std::clamp<uint64_t>(n, 1, std::numeric_limits<uint32_t>::max()));
}

Result<relay::EngineConfig> engine_config(const Config& cfg, const std::string& cfg_path,
                                          const EngineOverrides& overrides) {
  relay::EngineConfig ec;
  if (!overrides.listen.empty()) {
    for (const auto& text : overrides.listen) {
      auto l = parse_listen(text);
      if (!l || l->ignored) return make_error(0, "bad listen address '" + text + "'");
      ec.listen.push_back(listen_addr(l->listen));
    }
  } else {
    for (const auto& l : cfg.listen) ec.listen.push_back(listen_addr(l));
  }
  if (ec.listen.empty()) ec.listen.push_back(relay::ListenAddr{"tcp", "127.0.0.1", kDefaultMsrpPort, {}});

  // The tls module (modparams and its tls.cfg): msrps listeners and next hops.
  std::string dir = cfg_path.find('/') == std::string::npos ? "." : cfg_path.substr(0, cfg_path.rfind('/'));
  auto ts = relay::tls_settings_from_params(cfg.tls, dir);
  if (!ts) return ts.error();
  ec.tls = std::move(*ts);
  bool tls_listen = false;
  for (const auto& la : ec.listen) tls_listen = tls_listen || la.proto == "tls";
  if (tls_listen && ec.tls.certificate.empty())
    return make_error(0, "listen=tls: needs modparam(\"tls\", \"certificate\", \"FILE\")");

  ec.children = static_cast<unsigned>(overrides.children > 0 ? overrides.children
                                                             : (cfg.children > 0 ? cfg.children : 1));
  ec.cmap_size = static_cast<unsigned>(cfg.msrp.cmap_size);
  ec.max_connections = static_cast<uint32_t>(cfg.tcp_max_connections > 0 ? cfg.tcp_max_connections : 0);
  ec.timer_interval = static_cast<unsigned>(cfg.msrp.timer_interval > 0 ? cfg.msrp.timer_interval : 60);
  ec.auth_min_expires = static_cast<uint32_t>(cfg.msrp.auth_min_expires);
  ec.auth_max_expires = static_cast<uint32_t>(cfg.msrp.auth_max_expires);
  ec.use_path_addr = cfg.msrp.use_path_addr;
  ec.sipmsg = cfg.msrp.sipmsg;
  ec.open_relay = cfg.msrp.open_relay;
  ec.own_names = cfg.aliases;
  for (const auto& la : ec.listen)
    if (!la.advertise.empty()) ec.own_names.push_back(la.advertise);
  ec.route_body_preview = static_cast<size_t>(cfg.msrp.route_body_limit);
  ec.max_chunk.all = static_cast<size_t>(cfg.msrp.max_chunk_size);
  for (const auto& h : cfg.msrp.max_chunk_size_hop)
    ec.max_chunk.hops.push_back({h.host, h.port, static_cast<size_t>(h.bytes)});
  ec.max_to_path = static_cast<unsigned>(cfg.msrp.max_to_path);
  ec.max_self_passes = static_cast<unsigned>(cfg.msrp.max_self_passes);
  ec.auth_max_failures = static_cast<unsigned>(cfg.msrp.auth_max_failures);
  ec.unauth_memory_budget = static_cast<size_t>(cfg.msrp.unauth_memory_kb) * 1024;
  ec.tcp_connection_lifetime =
      static_cast<uint32_t>(cfg.tcp_connection_lifetime > 0 ? cfg.tcp_connection_lifetime : 0);
  return ec;
}

}  // namespace msrpd::script
