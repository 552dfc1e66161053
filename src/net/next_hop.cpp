#include "net/next_hop.h"

#include <utility>

#include "common/ascii.h"
#include "net/address.h"

namespace msrpd::net {

namespace {
// `label` itself or any name under it ("x.label").
bool is_or_under(std::string_view host, std::string_view label) {
  if (ascii::iequals(host, label)) return true;
  return host.size() > label.size() && host[host.size() - label.size() - 1] == '.' &&
         ascii::iends_with(host, label);
}
}  // namespace

SpecialName special_name(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (is_or_under(host, "invalid")) return SpecialName::invalid;
  if (is_or_under(host, "localhost")) return SpecialName::localhost;
  return SpecialName::none;
}

std::string srv_name(std::string_view host, bool secure) {
  std::string name = secure ? "_msrps._tcp." : "_msrp._tcp.";
  name.append(host);
  return name;
}

const SrvTarget* choose_srv(const std::vector<SrvTarget>& records) {
  const SrvTarget* best = nullptr;
  for (const SrvTarget& t : records) {
    if (!best || t.priority < best->priority || (t.priority == best->priority && t.weight > best->weight))
      best = &t;
  }
  return best;
}

void connect_next_hop(EventLoop& loop, Connector& connector, Resolver* resolver, const NextHop& hop,
                      const ConnectOptions& opts, Connector::ConnectFn fn) {
  SpecialName special = special_name(hop.host);
  if (special == SpecialName::invalid) {
    loop.post([fn = std::move(fn), host = hop.host] {
      fn(make_error(0, "resolve " + host + ": Domain name not found (RFC 6761 .invalid)"));
    });
    return;
  }
  bool numeric = SockAddr::is_numeric(hop.host);
  if (numeric) return connector.connect(hop.host, hop.port, std::move(fn), opts);
  if (hop.port_given || special == SpecialName::localhost || !resolver)
    return connector.connect_host(hop.host, hop.port, std::move(fn), opts);
  // The SRV answer (or its failure) decides the target; what is left of the deadline goes to the
  // connect. The resolver caches the answer within its TTL.
  int64_t deadline = loop.now() + opts.timeout_ms;
  resolver->resolve_srv(
      srv_name(hop.host, hop.secure), [&loop, &connector, fn = std::move(fn), o = opts, host = hop.host,
                                       port = hop.port, deadline](Result<std::vector<SrvTarget>> r) mutable {
        int64_t left = deadline - loop.now();
        if (left <= 0) return fn(make_error(0, "connect " + host + ": timeout"));
        o.timeout_ms = static_cast<uint32_t>(left);
        if (const SrvTarget* best = r ? choose_srv(*r) : nullptr) {
          std::string target = best->host;
          while (!target.empty() && target.back() == '.') target.pop_back();  // "relay.example.com."
          if (!target.empty())
            return connector.connect_host(target, best->port ? best->port : port, std::move(fn), o);
        }
        connector.connect_host(host, port, std::move(fn), o);
      });
}

}  // namespace msrpd::net
