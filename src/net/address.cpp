#include "net/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/host_port.h"

namespace msrpd::net {

std::string_view transport_name(Transport t) {
  return t == Transport::tls ? "tls" : "tcp";
}

std::string endpoint_text(std::string_view host, uint16_t port) {
  std::string s;
  append_host(s, host);
  s.push_back(':');
  append_port(s, port);
  return s;
}

namespace {
// Copies a host into a NUL-terminated buffer without brackets; false if it cannot be an address.
bool to_cstr(std::string_view ip, char (&buf)[INET6_ADDRSTRLEN + 1]) {
  ip = strip_brackets(ip);
  if (ip.empty() || ip.size() > INET6_ADDRSTRLEN) return false;
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  return true;
}
}  // namespace

Result<SockAddr> SockAddr::parse(std::string_view ip, uint16_t port) {
  char buf[INET6_ADDRSTRLEN + 1];
  SockAddr a;
  if (to_cstr(ip, buf)) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    if (::inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(port);
      a.len = sizeof(sockaddr_in);
      return a;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (::inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(port);
      a.len = sizeof(sockaddr_in6);
      return a;
    }
  }
  return make_error(0, "not a numeric IP address: " + std::string(ip));
}

SockAddr SockAddr::from(const sockaddr* sa, socklen_t len) {
  SockAddr a;
  if (len > sizeof a.storage) len = sizeof a.storage;
  std::memcpy(&a.storage, sa, len);
  a.len = len;
  return a;
}

bool SockAddr::is_numeric(std::string_view host) {
  return parse(host, 0).ok();
}

uint16_t SockAddr::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string SockAddr::ip() const {
  char buf[INET6_ADDRSTRLEN];
  const char* r = nullptr;
  if (family() == AF_INET) {
    r = ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    r = ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf, sizeof buf);
  }
  return r ? std::string(r) : std::string();
}

std::string SockAddr::str() const {
  return endpoint_text(ip(), port());
}

}  // namespace msrpd::net
