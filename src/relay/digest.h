#pragma once
// HTTP Digest authentication (RFC 2617, MD5, qop=auth only) for MSRP AUTH (RFC 4976 §9.1).
//
// How the engine uses it for an AUTH request:
//   1. no Authorization header: 401 with WWW-Authenticate:
//      www_authenticate_value(realm, nonce = store.issue(), store.opaque_for(nonce), false)
//   2. parse_authorization(header): an error is a 400 with its message
//   3. resolve_digest_uri(creds, rightmost To-Path URI) and creds.realm == realm, else 401
//   4. verify(creds, "AUTH", password) (or verify_ha1): false -> 401 with a fresh nonce
//   5. store.opaque_matches(creds.nonce, creds.opaque), else 401
//   6. store.use(creds.nonce, creds.nc) only after verify succeeded (so a wrong guess cannot burn
//      the counter of someone else's nonce): stale -> 401 with stale=true; unknown/replay -> 401
//   7. 200 with Authentication-Info: authentication_info_value(creds, password) (RFC 4976 §9.1 MUST)

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace msrpd::relay {

// The parameters of one Authorization header, as views into the header value (quotes removed).
// Unset parameters are empty; uri_given tells an absent uri from an empty one.
struct DigestCredentials {
  std::string_view username, realm, nonce, uri, response, cnonce, nc, qop, algorithm, opaque;
  bool uri_given = false;
};

// Parses `Digest k=v, k="v", ...` (scheme and parameter names case-insensitive; unknown parameters
// ignored). Rejects, with status 400 and a message: another scheme, bad syntax, duplicate or
// missing username/realm/nonce/response (uri may be absent: RFC 4976 §7's grammar has none and AG
// msrplib never sends it; see resolve_digest_uri), a response that is not 32 hex digits, an algorithm
// other than MD5, a missing or other qop than "auth" (RFC 4976 §9.1), a missing cnonce, an nc that
// is not 8 hex digits, and quoted-pairs (backslash escapes) inside quoted values.
Result<DigestCredentials> parse_authorization(std::string_view value);

// Issues and checks nonces. A nonce is base64url(16 random bytes | issue time | HMAC-SHA256
// truncated to 128 bits) under a secret made at construction, so forged or altered nonces are
// recognised without storing what was issued (a flood of 401s costs no memory). When check_nc is
// on, the last nc used with each nonce is kept until the nonce goes stale, and counts must grow.
// Thread-safe; the replay records are sharded.
class NonceStore {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Check { ok, stale, unknown, replay };

  explicit NonceStore(std::chrono::seconds lifetime = std::chrono::seconds(30), bool check_nc = true);
  ~NonceStore();
  NonceStore(const NonceStore&) = delete;
  NonceStore& operator=(const NonceStore&) = delete;

  std::string issue() { return issue(Clock::now()); }
  std::string issue(Clock::time_point now);

  // ok: genuine, fresh and (with check_nc) its nc above every nc used before with it, which is
  // recorded. stale: genuine but older than the lifetime. unknown: not issued by this store
  // (forged, altered, malformed). replay: nc not above the last one used, or not 1..8 hex digits.
  Check use(std::string_view nonce, std::string_view nc_hex) { return use(nonce, nc_hex, Clock::now()); }
  Check use(std::string_view nonce, std::string_view nc_hex, Clock::time_point now);

  // Like use() but records nothing and ignores nc: is this a genuine, fresh nonce?
  Check check(std::string_view nonce, Clock::time_point now) const;

  // RFC 2617 §3.2.1 opaque: base64url of HMAC-SHA256(a second secret, nonce) truncated to 128
  // bits (22 characters), so it needs no storage and nobody without the secret can make up the
  // opaque of a nonce. opaque_matches compares in constant time; a missing opaque never matches.
  std::string opaque_for(std::string_view nonce) const;
  bool opaque_matches(std::string_view nonce, std::string_view opaque) const;

  // How many nonces have replay records now (for tests and metrics).
  size_t tracked() const;

  // Drops the records of stale nonces (each shard at most once per lifetime) and frees the index
  // of a shard left empty; returns how many went. use() sweeps its shard too, but only when an AUTH
  // comes: after a burst of AUTHs with none later, the records and their scattered small
  // allocations stayed for good (the soak: each pinned a page of the worker's heap). Called about
  // once a second from the daemon's housekeeping (script::Script::clean_expired).
  size_t sweep(Clock::time_point now);

  std::chrono::seconds lifetime() const { return lifetime_; }

 private:
  struct Shard;
  static constexpr size_t kShards = 16;

  static constexpr size_t kOpaqueMacBytes = 16;
  static constexpr size_t kOpaqueChars = 22;  // base64url of 16 bytes, no padding
  void opaque_mac(std::string_view nonce, char out[kOpaqueChars]) const;
  size_t sweep_shard(Shard& shard, Clock::time_point now);  // shard.mutex held

  Check verify_nonce(std::string_view nonce, Clock::time_point now, std::array<unsigned char, 16>& id,
                     Clock::time_point& issued) const;

  std::chrono::seconds lifetime_;
  bool check_nc_;
  unsigned char secret_[32];
  unsigned char opaque_secret_[32];  // a key of its own: opaque MACs never collide with nonce MACs
  std::unique_ptr<Shard[]> shards_;
};

// The WWW-Authenticate value of a 401 to AUTH (RFC 4976 §9.1: qop quoted, no domain, MD5 only;
// opaque as AG msrprelay and OpenSIPS send it, which stock AG msrplib needs):
// Digest realm="<realm>", nonce="<nonce>", opaque="<opaque>", qop="auth", algorithm=MD5[, stale=true]
std::string www_authenticate_value(std::string_view realm, std::string_view nonce, std::string_view opaque,
                                   bool stale);

// RFC 4976 §9.1: the digest-uri is the rightmost To-Path URI of the AUTH; compared as strings.
// A uri that is absent (creds.uri_given false) does not match.
bool digest_uri_matches(const DigestCredentials& creds, std::string_view rightmost_to_path_uri);

// RFC 4976 §9.1 with §7's grammar (which has no uri): without uri the digest URI is the rightmost
// To-Path URI, which this sets as creds.uri (a view: keep the URI alive while creds is used);
// with uri it must be that URI. False when a given uri differs (a failed AUTH: 401).
bool resolve_digest_uri(DigestCredentials& creds, std::string_view rightmost_to_path_uri);

// Whether s is an HA1 as the _ha1 functions take it: 32 hex digits (either case).
bool is_ha1_hex(std::string_view s);

// Lowercase hex of MD5(username ":" realm ":" password), as password databases store it.
std::string compute_ha1(std::string_view username, std::string_view realm, std::string_view password);

// The expected `response` (lowercase hex): MD5(HA1:nonce:nc:cnonce:qop:MD5(method:uri)), or
// MD5(HA1:nonce:MD5(method:uri)) when qop is absent. The _ha1 forms take the HA1 hex (either case);
// they return "" when it is not 32 hex digits.
std::string response_for(const DigestCredentials& creds, std::string_view method, std::string_view password);
std::string response_for_ha1(const DigestCredentials& creds, std::string_view method,
                             std::string_view ha1_hex);

// Whether creds.response is the expected one; constant-time in the response bytes.
bool verify(const DigestCredentials& creds, std::string_view method, std::string_view password);
bool verify_ha1(const DigestCredentials& creds, std::string_view method, std::string_view ha1_hex);

// The Authentication-Info value of the 200 to AUTH (RFC 4976 §9.1 MUST; RFC 2617 §3.2.3: rspauth
// is the response computed with an empty method): qop=auth, rspauth="<hex>", cnonce="<cnonce>", nc=<nc>
std::string authentication_info_value(const DigestCredentials& creds, std::string_view password);
std::string authentication_info_value_ha1(const DigestCredentials& creds, std::string_view ha1_hex);

}  // namespace msrpd::relay
