#include "relay/local_sockets.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/ascii.h"
#include "common/host_port.h"
#include "relay/engine.h"

namespace msrpd::relay {

namespace {

bool same_ip(const net::SockAddr& a, const net::SockAddr& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr,
                       &reinterpret_cast<const sockaddr_in*>(b.sa())->sin_addr, sizeof(in_addr)) == 0;
  }
  return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr,
                     &reinterpret_cast<const sockaddr_in6*>(b.sa())->sin6_addr, sizeof(in6_addr)) == 0;
}

bool is_wildcard(const net::SockAddr& a) {
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr.s_addr == INADDR_ANY;
  const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr;
  return std::memcmp(&v6, &in6addr_any, sizeof v6) == 0;
}

}  // namespace

void LocalSockets::assign(const std::vector<ListenAddr>& listen, const std::vector<uint16_t>& ports) {
  sockets_.clear();
  for (size_t i = 0; i < listen.size(); ++i) {
    const ListenAddr& l = listen[i];
    uint16_t port = i < ports.size() ? ports[i] : l.port;
    auto a = net::SockAddr::parse(l.ip, port);
    if (!a) continue;  // a name: no sock can name it (sockets are numeric)
    Socket s;
    s.tls = l.proto == "tls";
    s.addr = *a;
    s.wildcard = is_wildcard(*a);
    s.text = l.proto + ":";
    append_host(s.text, l.ip);
    s.text.push_back(':');
    append_port(s.text, port);
    sockets_.push_back(std::move(s));
  }
}

std::optional<std::string_view> LocalSockets::find(const SockName& s, IpText& buf) const {
  auto want = net::SockAddr::parse(s.ip, s.port);
  if (!want) return std::nullopt;
  bool tls = s.proto == "tls";
  for (const Socket& l : sockets_) {
    if (l.tls != tls || (l.addr.port() != 0 && l.addr.port() != s.port)) continue;
    if (l.wildcard ? l.addr.family() != want->family() : !same_ip(l.addr, *want)) continue;
    const void* raw =
        want->family() == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(want->sa())->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(want->sa())->sin6_addr);
    if (!::inet_ntop(want->family(), raw, buf, sizeof(IpText))) return std::nullopt;
    return std::string_view(buf);
  }
  return std::nullopt;
}

std::string LocalSockets::describe() const {
  std::string out;
  for (const Socket& s : sockets_) {
    if (!out.empty()) out += ", ";
    out += s.text;
  }
  return out.empty() ? std::string("none") : out;
}

}  // namespace msrpd::relay
