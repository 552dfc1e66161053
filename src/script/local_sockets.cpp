#include "script/local_sockets.h"

#include "common/host_port.h"
#include "relay/local_sockets.h"

namespace msrpd::script {

Result<void> check_local_sockets(const Config& cfg, const relay::EngineConfig& ec) {
  if (cfg.local_sockets.empty()) return {};
  relay::LocalSockets sockets;
  std::vector<uint16_t> ports;
  for (const auto& l : ec.listen) ports.push_back(l.port);  // 0 (any free port): any port matches
  sockets.assign(ec.listen, ports);
  for (const Config::SockUse& use : cfg.local_sockets) {
    auto s = SockName::parse(use.sock);
    relay::LocalSockets::IpText buf;
    if (s && sockets.find(*s, buf)) continue;
    return make_error(0, use.where + ": msrp_set_dst: '" + use.sock + "' is not a listen socket of msrpd (" +
                             (s ? "it listens on " + sockets.describe() : s.error().message) + ")");
  }
  return {};
}

}  // namespace msrpd::script
