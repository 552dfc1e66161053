// libFuzzer target for the Digest `Authorization` parser (src/relay/digest.h), with what the
// engine does next for an MSRP AUTH (RFC 4976 §9.1). Checked on every input:
// - an error is a 400 whose message says "Authorization: ...";
// - accepted credentials hold what the parser promises: every value a view into the input without
//   quotes or backslashes, a 32 hex digit response, nc of 8 hex digits, qop auth, algorithm absent
//   or MD5; written back as a header (RFC 2617 §3.2.2) they parse to the same values;
// - the response computed for them verifies (with the password and with its HA1) and a different
//   one does not; Authentication-Info is written in the RFC 2617 §3.2.3 shape;
// - a nonce this store did not issue is never accepted, one it issued is, once per nc.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "common/ascii.h"
#include "relay/digest.h"

namespace {

using msrpd::relay::DigestCredentials;
using msrpd::relay::NonceStore;

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

bool plain(std::string_view v) {
  return v.find('"') == std::string_view::npos && v.find('\\') == std::string_view::npos;
}

bool all_hex(std::string_view s) {
  for (char c : s)
    if (!msrpd::ascii::is_hex(c)) return false;
  return true;
}

// Every parameter, as the parser knows them.
constexpr std::pair<std::string_view, std::string_view DigestCredentials::*> kFields[] = {
    {"username", &DigestCredentials::username},
    {"realm", &DigestCredentials::realm},
    {"nonce", &DigestCredentials::nonce},
    {"uri", &DigestCredentials::uri},
    {"response", &DigestCredentials::response},
    {"cnonce", &DigestCredentials::cnonce},
    {"nc", &DigestCredentials::nc},
    {"qop", &DigestCredentials::qop},
    {"algorithm", &DigestCredentials::algorithm},
    {"opaque", &DigestCredentials::opaque},
};

bool same(const DigestCredentials& a, const DigestCredentials& b) {
  for (const auto& [name, member] : kFields)
    if (a.*member != b.*member) return false;
  return true;
}

// The credentials as a client writes them: the given values, each quoted.
std::string header(const DigestCredentials& c) {
  std::string out = "Digest ";
  for (const auto& [name, member] : kFields) {
    if (!(c.*member).empty()) out += std::string(name) + "=\"" + std::string(c.*member) + "\", ";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  NonceStore store;

  auto parsed = msrpd::relay::parse_authorization(in);
  if (!parsed) {
    check(parsed.error().status == 400);
    check(parsed.error().message.starts_with("Authorization: "));
    check(store.use(in, "00000001") != NonceStore::Check::ok);
    return 0;
  }
  const DigestCredentials& c = *parsed;
  for (const auto& [name, member] : kFields) check(inside(c.*member, in) && plain(c.*member));
  check(c.response.size() == 32 && all_hex(c.response));
  check(c.nc.size() == 8 && all_hex(c.nc));
  check(msrpd::ascii::iequals(c.qop, "auth"));
  check(c.algorithm.empty() || msrpd::ascii::iequals(c.algorithm, "MD5"));

  // Empty quoted values are kept but not written back: only compare when none is empty.
  bool all_given =
      !c.username.empty() && !c.realm.empty() && !c.nonce.empty() && !c.uri.empty() && !c.cnonce.empty();
  if (all_given) {
    std::string text = header(c);
    auto again = msrpd::relay::parse_authorization(text);
    check(again.ok());
    check(same(*again, c));
  }

  const std::string password = "secret";
  std::string expected = msrpd::relay::response_for(c, "AUTH", password);
  check(expected.size() == 32 && all_hex(expected));
  check(msrpd::relay::verify(c, "AUTH", password) == msrpd::ascii::iequals(c.response, expected));
  DigestCredentials right = c;
  right.response = expected;
  check(msrpd::relay::verify(right, "AUTH", password));
  std::string ha1 = msrpd::relay::compute_ha1(c.username, c.realm, password);
  check(msrpd::relay::verify_ha1(right, "AUTH", ha1));
  check(msrpd::relay::response_for_ha1(c, "AUTH", ha1) == expected);
  std::string wrong_ha1 = ha1;
  wrong_ha1[0] = wrong_ha1[0] == '0' ? '1' : '0';
  check(!msrpd::relay::verify_ha1(right, "AUTH", wrong_ha1));

  std::string info = msrpd::relay::authentication_info_value(c, password);
  check(info.starts_with("qop=auth, rspauth=\"") && info.size() == 19 + 32 + 11 + c.cnonce.size() + 6 + 8);
  check(info == msrpd::relay::authentication_info_value_ha1(c, ha1));

  // A nonce from the input was not issued here; a fresh one is accepted once for this nc.
  check(store.use(c.nonce, c.nc) != NonceStore::Check::ok);
  std::string nonce = store.issue();
  if (c.nc != "00000000") {
    check(store.use(nonce, c.nc) == NonceStore::Check::ok);
    check(store.use(nonce, c.nc) == NonceStore::Check::replay);
  }
  check(msrpd::relay::digest_uri_matches(c, c.uri) == !c.uri.empty());
  return 0;
}
