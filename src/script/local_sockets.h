#pragma once
// msrp_set_dst's sock, checked at load: a literal must name one of msrpd's listen sockets (the
// engine's listen entries, after -l), or the config is refused with the call's place.
//
//   if (auto r = script::check_local_sockets(script.config(), *engine_cfg); !r)
//     die(r.error().message);  // "t.cfg:7:30: msrp_set_dst: msrpd has no listen socket tcp:..."

#include "common/result.h"
#include "relay/engine.h"
#include "script/config.h"

namespace msrpd::script {

Result<void> check_local_sockets(const Config& cfg, const relay::EngineConfig& ec);

}  // namespace msrpd::script
