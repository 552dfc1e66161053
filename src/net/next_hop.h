#pragma once
// The next hop of an MSRP URI (RFC 4976 §8) and the special-use names of RFC 6761, as a relay
// connects to them:
//
//   NextHop hop{"relay.example.com", 2855, /*port_given=*/false, /*secure=*/true};
//   connect_next_hop(loop, connector, resolver, hop, opts, [&](Result<Connection*> r) { ... });
//
// - ".invalid" names never resolve: an error, no DNS query at all (RFC 6761 §6.4);
// - "localhost" names are the loopback: no SRV is asked for them (RFC 6761 §6.3); their A/AAAA
//   come from the system (/etc/hosts), and the Resolver answers "localhost" itself with the
//   loopback when the system does not;
// - an IP literal, or a URI with a port, is connected to as it stands;
// - a name without a port asks SRV "_msrps._tcp.<host>" (msrp: "_msrp._tcp.<host>"), connects to
//   the target with the lowest priority, then the highest weight (choose_srv), on its port; with
//   no SRV answer, A/AAAA of the host itself on hop.port (2855 for a URI without a port).
// One deadline (opts.timeout_ms) covers the SRV lookup, the address lookups and the connects.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/connector.h"
#include "net/resolver.h"

namespace msrpd::net {

// RFC 6761 special-use names the next-hop choice treats apart. Case-insensitive; one trailing
// dot (a fully qualified "localhost.") is ignored.
enum class SpecialName : uint8_t {
  none,
  localhost,  // §6.3: "localhost" or "*.localhost": the loopback, never looked up as SRV
  invalid,    // §6.4: "invalid" or "*.invalid": never resolves, never asked of DNS
};
SpecialName special_name(std::string_view host);

// RFC 4976 §8: the SRV name of a host, "_msrps._tcp.<host>" (secure) or "_msrp._tcp.<host>".
std::string srv_name(std::string_view host, bool secure);

// RFC 4976 §8: the record with the lowest priority, then the highest weight; the first of equal
// ones (no weighted random pick). nullptr when there is none.
const SrvTarget* choose_srv(const std::vector<SrvTarget>& records);

struct NextHop {
  std::string host;         // a name or an IP literal (IPv6 with or without brackets)
  uint16_t port = 2855;     // the URI's port, or 2855 when it has none (RFC 4976 §8)
  bool port_given = false;  // the URI had a port: no SRV lookup
  bool secure = false;      // msrps: the SRV service is "_msrps" (opts says how to connect)
};

// Connects to `hop` as described at the top. fn runs exactly once, on the loop's thread, never
// inside this call. opts is used for every connect (a TLS opts.verify_host set by the caller is
// kept when an SRV target is connected to: RFC 4976 §9 checks the URI's host). resolver may be
// null: then names are connected through the connector (its own resolver). loop, connector and
// resolver must outlive the attempt (destroying the resolver drops its pending answer).
void connect_next_hop(EventLoop& loop, Connector& connector, Resolver* resolver, const NextHop& hop,
                      const ConnectOptions& opts, Connector::ConnectFn fn);

}  // namespace msrpd::net
