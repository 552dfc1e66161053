#include "relay/own_uris.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "common/ascii.h"
#include "common/host_port.h"
#include "net/address.h"

namespace msrpd::relay {

namespace {

bool is_wildcard(std::string_view ip) {
  return ip.empty() || ip == "0.0.0.0" || ip == "::" || ip == "*";
}

// After "scheme://" and an optional userinfo '@': the authority ends at '/', ';' or the end.
std::string_view authority_of(std::string_view uri) {
  size_t p = uri.find("://");
  if (p == std::string_view::npos) return {};
  std::string_view rest = uri.substr(p + 3);
  size_t end = rest.find_first_of("/;");
  std::string_view auth = rest.substr(0, end);
  if (size_t at = auth.rfind('@'); at != std::string_view::npos) auth = auth.substr(at + 1);
  return auth;
}

}  // namespace

bool uri_authority(std::string_view uri, std::string_view& host, uint16_t& port) {
  std::string_view auth = authority_of(uri);
  if (auth.empty()) return false;
  std::string_view port_text;
  if (auth.front() == '[') {
    size_t close = auth.find(']');
    if (close == std::string_view::npos) return false;
    host = auth.substr(0, close + 1);
    std::string_view after = auth.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port_text = after.substr(1);
    }
  } else {
    size_t colon = auth.find(':');
    host = auth.substr(0, colon);
    if (colon != std::string_view::npos) port_text = auth.substr(colon + 1);
  }
  if (host.empty()) return false;
  port = OwnUris::kDefaultPort;
  if (!port_text.empty() && (!ascii::parse_uint(port_text, port) || port == 0)) return false;
  return true;
}

std::string_view uri_session(std::string_view uri) {
  size_t p = uri.find("://");
  if (p == std::string_view::npos) return {};
  size_t slash = uri.find('/', p + 3);
  if (slash == std::string_view::npos) return {};
  std::string_view s = uri.substr(slash + 1);
  return s.substr(0, s.find(';'));
}

void OwnUris::add(std::string_view host, uint16_t port) {
  std::string h = ascii::to_lower(strip_brackets(host));
  for (const Entry& e : entries_)
    if (e.port == port && e.host == h) return;
  entries_.push_back(Entry{std::move(h), port});
}

void OwnUris::add_listen(std::string_view ip, uint16_t port) {
  if (std::find(listen_ports_.begin(), listen_ports_.end(), port) == listen_ports_.end())
    listen_ports_.push_back(port);
  // RFC 6761 §6.3: "localhost" is the loopback address: a relay listening there answers to it.
  if (is_wildcard(ip) || ip == "::1" || ip.starts_with("127.")) add("localhost", port);
  if (is_wildcard(ip)) {
    if (std::find(wildcard_ports_.begin(), wildcard_ports_.end(), port) == wildcard_ports_.end())
      wildcard_ports_.push_back(port);
    add({}, port);
    return;
  }
  add(ip, port);
}

void OwnUris::add_name(std::string_view text) {
  text = ascii::trim(text);
  if (size_t p = text.find("://"); p != std::string_view::npos) text = text.substr(p + 3);
  text = text.substr(0, text.find_first_of("/;"));
  if (text.empty()) return;
  auto hp = HostPort::parse(text);
  if (!hp) return;
  if (hp->port_given) {
    add(hp->host, hp->port);
    return;
  }
  for (uint16_t port : listen_ports_) add(hp->host, port);
}

void OwnUris::add_machine_addresses() {
  if (!wildcard_ports_.empty()) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) == 0) {
      for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        int fam = i->ifa_addr->sa_family;
        if (fam != AF_INET && fam != AF_INET6) continue;
        socklen_t len = fam == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
        std::string ip = net::SockAddr::from(i->ifa_addr, len).ip();
        if (ip.empty()) continue;
        for (uint16_t port : wildcard_ports_) add(ip, port);
      }
      ::freeifaddrs(list);
    }
  }
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) == 0 && name[0] != '\0')
    for (uint16_t port : listen_ports_) add(name, port);
}

bool OwnUris::is_own(std::string_view host, uint16_t port, std::string_view local_ip) const {
  host = strip_brackets(host);
  for (const Entry& e : entries_) {
    if (e.port != port) continue;
    if (e.host.empty()) {
      // A wildcard listen on this port: the address the connection arrived on is ours.
      if (!local_ip.empty() && ascii::iequals(host, local_ip)) return true;
      continue;
    }
    if (ascii::iequals(host, e.host)) return true;
  }
  return any_learned_.load(std::memory_order_acquire) && is_learned(host, port);
}

bool OwnUris::is_learned(std::string_view host, uint16_t port) const {
  std::lock_guard<std::mutex> g(learned_mutex_);
  for (const Entry& e : learned_)
    if (e.port == port && ascii::iequals(host, e.host)) return true;
  return false;
}

bool OwnUris::learn(std::string_view host, uint16_t port) {
  host = strip_brackets(host);
  if (is_own(host, port, {})) return false;
  std::lock_guard<std::mutex> g(learned_mutex_);
  for (const Entry& e : learned_)
    if (e.port == port && ascii::iequals(host, e.host)) return false;
  learned_.push_back(Entry{ascii::to_lower(host), port});
  any_learned_.store(true, std::memory_order_release);
  return true;
}

bool OwnUris::is_own_uri(std::string_view uri, std::string_view local_ip) const {
  std::string_view host;
  uint16_t port = 0;
  return uri_authority(uri, host, port) && is_own(host, port, local_ip);
}

std::string OwnUris::describe() const {
  std::string out;
  for (const Entry& e : entries_) {
    if (!out.empty()) out.push_back(' ');
    if (e.host.empty()) {
      out.append("*");
    } else {
      append_host(out, e.host);
    }
    out.push_back(':');
    append_port(out, e.port);
  }
  return out;
}

}  // namespace msrpd::relay
