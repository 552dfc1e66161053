#pragma once
// MSRP URIs (RFC 4975 §6, §9): parse into views of the input, format back, compare per §6.1.
// Also the Kamailio `{msrpuri.key}` view, which has its own, more lenient splitting rules.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace msrpd::msrp {

enum class HostKind : uint8_t { name, ipv4, ipv6 };

// One `;name[=value]` URI parameter after the transport.
struct UriParam {
  std::string_view name;
  std::string_view value;  // empty when has_value is false
  bool has_value = false;
};

// The URI parameters after the transport, iterated without allocation:
//   for (UriParam p : uri.params()) ...
class UriParams {
 public:
  class iterator {
   public:
    iterator() = default;
    explicit iterator(std::string_view rest) : rest_(rest), at_end_(rest.empty()) { load(); }
    const UriParam& operator*() const { return cur_; }
    const UriParam* operator->() const { return &cur_; }
    iterator& operator++();
    bool operator==(const iterator& o) const {
      return at_end_ == o.at_end_ && (at_end_ || rest_.data() == o.rest_.data());
    }

   private:
    void load();
    std::string_view rest_;
    UriParam cur_;
    bool at_end_ = true;
  };

  UriParams() = default;
  explicit UriParams(std::string_view text) : text_(text) {}
  iterator begin() const { return iterator(text_); }
  iterator end() const { return iterator(); }
  bool empty() const { return text_.empty(); }
  std::string_view text() const { return text_; }
  // The first parameter of that name (case-insensitive), if any.
  std::optional<UriParam> find(std::string_view name) const;

 private:
  std::string_view text_;  // "a=b;c" — without the leading ';'
};

// A parsed MSRP URI. Views point into the parsed text and live as long as it does.
struct Uri {
  bool secure = false;      // msrps
  std::string_view scheme;  // as written ("msrp", "MSRPS"...)
  bool has_userinfo = false;
  std::string_view userinfo;  // without the '@'
  std::string_view host;      // as written; IPv6 without its brackets
  HostKind host_kind = HostKind::name;
  std::array<uint8_t, 16> ip{};  // address bytes (ipv4: first 4) when host_kind is not name
  bool has_port = false;
  uint16_t port = 0;
  bool has_session = false;
  std::string_view session_id;   // without the leading '/'
  std::string_view transport;    // "tcp", ...
  std::string_view params_text;  // after the transport, without the leading ';'

  UriParams params() const { return UriParams(params_text); }
  // RFC 4975 §6 and RFC 4976 §8: a numeric IP authority needs a port. Parsing accepts it; those
  // who must enforce it (the relay, for non-AUTH paths) check this.
  bool ip_without_port() const { return host_kind != HostKind::name && !has_port; }
};

// Parses one MSRP URI (the whole text). Errors carry status 400 and say what is wrong and where.
Result<Uri> parse_uri(std::string_view text);

// Appends the URI's text to out: lower-case scheme, then the parts as parsed.
void format_uri(const Uri& uri, std::string& out);
std::string to_string(const Uri& uri);

// RFC 4975 §6.1 equivalence.
bool same_uri(const Uri& a, const Uri& b);

// ---- Kamailio `{msrpuri.key}` ----

enum class MsrpUriKey : uint8_t { user, host, port, session, proto, params, userinfo, scheme };

// The key named in `{msrpuri.NAME}` (case-insensitive), resolved once at config load.
std::optional<MsrpUriKey> msrpuri_key(std::string_view name);

// The parts Kamailio's msrp module splits a URI into. Missing parts are empty views.
struct MsrpUriParts {
  std::string_view scheme;    // "msrp"/"msrps" as written
  std::string_view userinfo;  // before '@' when the '@' comes before the first ';'
  std::string_view user;      // userinfo up to the first ';' or ':'
  std::string_view host;      // an IPv6 literal keeps its brackets
  std::string_view port;      // digits as written
  std::string_view session;   // after the first '/' up to ';'
  std::string_view proto;     // see the quirk in split_msrpuri
  std::string_view params;
};

// Kamailio's splitting: more lenient than parse_uri (no ;transport needed, no character checks; the
// exact rules are at the definition), with its proto/params quirk: params "tcp" alone give proto
// "tcp" and empty params, but params longer than "tcp" that begin with it ("tcp;x=y", "tcpx") give
// proto "tcp" and params left whole ("tcp;x=y"); the same for "ws"; any other params give proto = the
// first parameter and params = the rest. Errors (status 400) where Kamailio's transformation fails.
Result<MsrpUriParts> split_msrpuri(std::string_view text);
std::string_view msrpuri_get(const MsrpUriParts& parts, MsrpUriKey key);

}  // namespace msrpd::msrp
