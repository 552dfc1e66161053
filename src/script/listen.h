#pragma once
// The one parser of a listen address, for the config's `listen=` lines and msrpd's `-l` option:
//   [proto:]host[:port] [advertise host:port] [name "x"]
// host:port and IPv6 brackets are read by HostPort (common/host_port.h).

#include <string_view>

#include "common/result.h"
#include "script/config.h"

namespace msrpd::script {

struct ListenLine {
  Listen listen;
  // udp, sctp, ws, wss: Kamailio's, not msrpd's (it serves MSRP over tcp and tls only).
  bool ignored = false;
};

// Error: the config language's message ("expected a port 1..65535 in listen=TEXT").
Result<ListenLine> parse_listen(std::string_view text);

}  // namespace msrpd::script
