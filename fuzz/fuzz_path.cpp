// libFuzzer target for the engine's reading of a To-Path (RFC 4976 §6.2): each URI's authority and
// session, and the own-URI check against a relay with listen addresses, names and learned names.
// Whatever comes in: no crash, an authority has a host and a port 1-65535, and a URI the check
// calls the relay's has an authority that the same check calls the relay's.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "relay/own_uris.h"

namespace {

const msrpd::relay::OwnUris& relay() {
  static msrpd::relay::OwnUris* own = [] {
    auto* o = new msrpd::relay::OwnUris;
    o->add_listen("127.0.0.1", 2855);
    o->add_listen("0.0.0.0", 2856);
    o->add_listen("::1", 2857);
    o->add_name("relay.example.net");
    o->add_name("msrp://[2001:db8::1]:9000");
    o->learn("198.51.100.7", 5060);
    return o;
  }();
  return *own;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view path(reinterpret_cast<const char*>(data), size);
  const msrpd::relay::OwnUris& own = relay();
  while (!path.empty()) {
    size_t sp = path.find(' ');
    std::string_view uri = path.substr(0, sp);
    path = sp == std::string_view::npos ? std::string_view() : path.substr(sp + 1);
    (void)msrpd::relay::uri_session(uri);
    std::string_view host;
    uint16_t port = 0;
    bool parsed = msrpd::relay::uri_authority(uri, host, port);
    if (parsed && (host.empty() || port == 0)) std::abort();
    bool mine = own.is_own_uri(uri, "192.0.2.1");
    if (mine && !(parsed && own.is_own(host, port, "192.0.2.1"))) std::abort();
  }
  return 0;
}
