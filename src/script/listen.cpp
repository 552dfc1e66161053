#include "script/listen.h"

#include "common/ascii.h"
#include "common/host_port.h"

namespace msrpd::script {

namespace {

// The next word of `rest` (SP/HTAB separated), removed from it.
std::string_view next_word(std::string_view& rest) {
  rest = ascii::ltrim(rest);
  size_t e = rest.find_first_of(" \t");
  std::string_view word = rest.substr(0, e);
  rest = e == std::string_view::npos ? std::string_view() : rest.substr(e);
  return word;
}

}  // namespace

Result<ListenLine> parse_listen(std::string_view text) {
  ListenLine out;
  Listen& l = out.listen;
  l.text.assign(text);
  const std::string v(text);
  std::string_view rest = text;
  std::string_view addr = next_word(rest);
  for (std::string_view p : {"tcp", "tls", "udp", "sctp", "ws", "wss"}) {
    if (addr.size() > p.size() && addr.substr(0, p.size()) == p && addr[p.size()] == ':') {
      l.proto.assign(p);
      addr.remove_prefix(p.size() + 1);
    }
  }
  if (l.proto == "udp" || l.proto == "sctp" || l.proto == "ws" || l.proto == "wss") {
    out.ignored = true;
    return out;
  }
  if (l.proto.empty()) l.proto = "tcp";
  auto hp = HostPort::parse(addr);
  if (!hp) {
    // HostPort names the fault; the config language has always said it in its own words.
    const std::string& why = hp.error().message;
    if (why.ends_with("unclosed '['")) return make_error(0, "expected ']' in listen address '" + v + "'");
    if (why.ends_with("after ']'"))
      return make_error(0, "expected ':' after ']' in listen address '" + v + "'");
    if (why.ends_with("bad port")) return make_error(0, "expected a port 1..65535 in listen=" + v);
    return make_error(0, "expected an address in listen=" + v);
  }
  l.host = std::move(hp->host);  // a name, an IPv4 or an IPv6 address (no brackets), or "*"
  l.port = hp->port;
  while (!(rest = ascii::ltrim(rest)).empty()) {
    std::string_view word = next_word(rest);
    std::string_view val = next_word(rest);
    if (val.size() >= 2 && val.front() == '"' && val.back() == '"') val = val.substr(1, val.size() - 2);
    if (val.empty())
      return make_error(0, "expected a value after '" + std::string(word) + "' in listen=" + v);
    if (word == "advertise") {
      l.advertise.assign(val);
    } else if (word == "name") {
      l.name.assign(val);
    } else {
      return make_error(
          0, "expected 'advertise' or 'name' in listen=" + v + ", found '" + std::string(word) + "'");
    }
  }
  return out;
}

}  // namespace msrpd::script
