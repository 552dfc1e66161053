#include "relay/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "common/ascii.h"
#include "common/random.h"
#include "msrp/status.h"

namespace msrpd::relay {

namespace {

// ---------------------------------------------------------------------------------------------
// Parsing

using ascii::iequals;
using ascii::is_space;  // white space between the parts: SP, HTAB and (folded lines) CR, LF
// RFC 7230 §3.2.6 tchar: the auth-scheme and auth-param names (the same as RFC 9110 tchar).
constexpr const ascii::CharClass& kTchar = ascii::kHttpToken;

bool all_hex(std::string_view s) {
  for (char c : s)
    if (!ascii::is_hex(c)) return false;
  return true;
}

Error bad(std::string message) {
  return make_error(msrp::Status::bad_request, std::move(message));
}

// ---------------------------------------------------------------------------------------------
// MD5 in pieces (no concatenated temporaries).

const EVP_MD* md5() {
  static const EVP_MD* md = [] {
    const EVP_MD* m = EVP_MD_fetch(nullptr, "MD5", nullptr);
    if (m == nullptr) {
      // Without MD5 (e.g. a FIPS-only provider) Digest cannot work at all.
      std::abort();
    }
    return m;
  }();
  return md;
}

class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, md5(), nullptr) != 1) std::abort();
  }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;

  Md5& add(std::string_view s) {
    EVP_DigestUpdate(ctx_, s.data(), s.size());
    return *this;
  }
  Md5& colon() { return add(":"); }
  // Writes 32 lowercase hex digits.
  void hex(char out[32]) {
    unsigned char digest[16];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, digest, &len);
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 16; ++i) {
      out[2 * i] = digits[digest[i] >> 4];
      out[2 * i + 1] = digits[digest[i] & 15];
    }
  }

 private:
  EVP_MD_CTX* ctx_;
};

using Hex32 = std::array<char, 32>;

void ha1_of(std::string_view user, std::string_view realm, std::string_view password, Hex32& out) {
  Md5().add(user).colon().add(realm).colon().add(password).hex(out.data());
}

// Lowercases a caller's HA1 hex; false unless it is 32 hex digits.
bool normalize_ha1(std::string_view ha1_hex, Hex32& out) {
  if (ha1_hex.size() != 32 || !all_hex(ha1_hex)) return false;
  for (size_t i = 0; i < 32; ++i) out[i] = static_cast<char>(ha1_hex[i] | 0x20);
  return true;
}

// RFC 2617 §3.2.2.1: request-digest; with an empty method it is the rspauth of §3.2.3.
void digest_response(const DigestCredentials& c, std::string_view method, const Hex32& ha1, Hex32& out) {
  Hex32 ha2;
  Md5().add(method).colon().add(c.uri).hex(ha2.data());
  Md5 r;
  r.add(std::string_view(ha1.data(), 32)).colon().add(c.nonce).colon();
  if (!c.qop.empty()) r.add(c.nc).colon().add(c.cnonce).colon().add(c.qop).colon();
  r.add(std::string_view(ha2.data(), 32)).hex(out.data());
}

bool verify_with(const DigestCredentials& c, std::string_view method, const Hex32& ha1) {
  if (c.response.size() != 32) return false;
  Hex32 expected, given;
  digest_response(c, method, ha1, expected);
  // OR 0x20 lowercases A-F and leaves digits alone; non-hex responses are refused by the parser.
  for (size_t i = 0; i < 32; ++i) given[i] = static_cast<char>(c.response[i] | 0x20);
  return CRYPTO_memcmp(expected.data(), given.data(), 32) == 0;
}

std::string info_with(const DigestCredentials& c, const Hex32& ha1) {
  Hex32 rspauth;
  digest_response(c, "", ha1, rspauth);
  std::string out;
  out.reserve(64 + c.cnonce.size() + c.nc.size());
  out += "qop=auth, rspauth=\"";
  out.append(rspauth.data(), 32);
  out += "\", cnonce=\"";
  out += c.cnonce;
  out += "\", nc=";
  out += c.nc;
  return out;
}

// Appends s as the inside of a quoted-string, escaping '"' and '\'.
void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

// ---------------------------------------------------------------------------------------------
// Nonces

constexpr size_t kIdBytes = 16;
constexpr size_t kTimeBytes = 8;
constexpr size_t kMacBytes = 16;
constexpr size_t kNonceBytes = kIdBytes + kTimeBytes + kMacBytes;  // 40
constexpr size_t kNonceChars = (kNonceBytes * 4 + 2) / 3;          // 54, base64url without padding

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// 40 bytes (a multiple of neither 3 nor 4 chars): 13 full groups + 1 byte left -> 2 chars.
void b64_encode(const unsigned char* in, size_t n, char* out) {
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = uint32_t(in[i]) << 16 | uint32_t(in[i + 1]) << 8 | in[i + 2];
    out[o++] = kB64[v >> 18];
    out[o++] = kB64[(v >> 12) & 63];
    out[o++] = kB64[(v >> 6) & 63];
    out[o++] = kB64[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = uint32_t(in[i]) << 16;
    out[o++] = kB64[v >> 18];
    out[o++] = kB64[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = uint32_t(in[i]) << 16 | uint32_t(in[i + 1]) << 8;
    out[o++] = kB64[v >> 18];
    out[o++] = kB64[(v >> 12) & 63];
    out[o++] = kB64[(v >> 6) & 63];
  }
}

// Decodes exactly kNonceChars characters into kNonceBytes; false on a bad character or non-zero
// padding bits (so each nonce has exactly one spelling).
bool b64_decode_nonce(std::string_view s, unsigned char* out) {
  if (s.size() != kNonceChars) return false;
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (char c : s) {
    int v = b64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = static_cast<unsigned char>(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  return o == kNonceBytes && acc == 0;
}

void compute_mac(const unsigned char* secret, const unsigned char* data, unsigned char* mac) {
  unsigned char full[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret, 32, data, kIdBytes + kTimeBytes, full, &len) == nullptr) std::abort();
  std::memcpy(mac, full, kMacBytes);
}

int64_t to_ticks(NonceStore::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

bool parse_nc(std::string_view nc, uint32_t& out) {
  if (nc.empty() || nc.size() > 8 || !all_hex(nc)) return false;
  out = 0;
  for (char c : nc) out = (out << 4) | static_cast<uint32_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  return out != 0;
}

struct IdHash {
  size_t operator()(const std::array<unsigned char, kIdBytes>& id) const {
    uint64_t v;
    std::memcpy(&v, id.data(), sizeof v);  // random bytes: any 8 of them are a good hash
    return static_cast<size_t>(v);
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<DigestCredentials> parse_authorization(std::string_view value) {
  size_t i = 0;
  const size_t n = value.size();
  auto skip_ws = [&] {
    while (i < n && is_space(value[i])) ++i;
  };
  skip_ws();
  size_t start = i;
  while (i < n && kTchar(value[i])) ++i;
  std::string_view scheme = value.substr(start, i - start);
  if (scheme.empty()) return bad("Authorization: missing scheme");
  if (!iequals(scheme, "Digest")) return bad("Authorization: unsupported scheme " + std::string(scheme));
  if (i < n && !is_space(value[i])) return bad("Authorization: expected a space after Digest");

  DigestCredentials c;
  struct Field {
    std::string_view name;
    std::string_view DigestCredentials::*member;
  };
  static constexpr Field kFields[] = {
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
  unsigned seen = 0;
  for (;;) {
    // #rule: empty list elements are allowed.
    while (i < n && (is_space(value[i]) || value[i] == ',')) ++i;
    if (i >= n) break;
    start = i;
    while (i < n && kTchar(value[i])) ++i;
    std::string_view name = value.substr(start, i - start);
    if (name.empty())
      return bad("Authorization: expected a parameter name at offset " + std::to_string(start));
    skip_ws();
    if (i >= n || value[i] != '=') return bad("Authorization: expected '=' after " + std::string(name));
    ++i;
    skip_ws();
    std::string_view v;
    if (i < n && value[i] == '"') {
      start = ++i;
      while (i < n && value[i] != '"' && value[i] != '\\') ++i;
      if (i < n && value[i] == '\\')
        return bad("Authorization: escaped characters in " + std::string(name) + " are not supported");
      if (i >= n) return bad("Authorization: unterminated quoted value of " + std::string(name));
      v = value.substr(start, i - start);
      ++i;
    } else {
      start = i;
      while (i < n && kTchar(value[i])) ++i;
      v = value.substr(start, i - start);
      if (v.empty()) return bad("Authorization: empty value of " + std::string(name));
    }
    skip_ws();
    if (i < n && value[i] != ',') return bad("Authorization: expected ',' after " + std::string(name));
    for (size_t f = 0; f < std::size(kFields); ++f) {
      if (!iequals(name, kFields[f].name)) continue;
      if (seen & (1u << f)) return bad("Authorization: duplicate " + std::string(kFields[f].name));
      seen |= 1u << f;
      c.*kFields[f].member = v;
      break;
    }
  }

  // username, realm, nonce, response; uri (bit 3) may be absent (RFC 4976 §7, resolve_digest_uri).
  for (size_t f = 0; f < 5; ++f)
    if (f != 3 && !(seen & (1u << f))) return bad("Authorization: missing " + std::string(kFields[f].name));
  c.uri_given = (seen & (1u << 3)) != 0;
  if (c.response.size() != 32 || !all_hex(c.response))
    return bad("Authorization: response must be 32 hex digits");
  if ((seen & (1u << 8)) && !iequals(c.algorithm, "MD5"))
    return bad("Authorization: unsupported algorithm " + std::string(c.algorithm));
  // RFC 4976 §9.1: qop is mandatory and only "auth" is offered.
  if (c.qop.empty()) return bad("Authorization: missing qop");
  if (!iequals(c.qop, "auth")) return bad("Authorization: unsupported qop " + std::string(c.qop));
  if (!(seen & (1u << 5))) return bad("Authorization: missing cnonce");
  if (!(seen & (1u << 6))) return bad("Authorization: missing nc");
  if (c.nc.size() != 8 || !all_hex(c.nc)) return bad("Authorization: nc must be 8 hex digits");
  return c;
}

std::string www_authenticate_value(std::string_view realm, std::string_view nonce, std::string_view opaque,
                                   bool stale) {
  std::string out;
  out.reserve(80 + realm.size() + nonce.size() + opaque.size());
  out += "Digest realm=";
  append_quoted(out, realm);
  out += ", nonce=";
  append_quoted(out, nonce);
  out += ", opaque=";
  append_quoted(out, opaque);
  out += ", qop=\"auth\", algorithm=MD5";
  if (stale) out += ", stale=true";
  return out;
}

bool digest_uri_matches(const DigestCredentials& creds, std::string_view rightmost_to_path_uri) {
  return !creds.uri.empty() && creds.uri == rightmost_to_path_uri;
}

bool resolve_digest_uri(DigestCredentials& creds, std::string_view rightmost_to_path_uri) {
  if (creds.uri_given) return digest_uri_matches(creds, rightmost_to_path_uri);
  creds.uri = rightmost_to_path_uri;
  return !creds.uri.empty();
}

bool is_ha1_hex(std::string_view s) {
  Hex32 h;
  return normalize_ha1(s, h);
}

std::string compute_ha1(std::string_view username, std::string_view realm, std::string_view password) {
  Hex32 h;
  ha1_of(username, realm, password, h);
  return std::string(h.data(), 32);
}

std::string response_for(const DigestCredentials& creds, std::string_view method, std::string_view password) {
  Hex32 ha1, out;
  ha1_of(creds.username, creds.realm, password, ha1);
  digest_response(creds, method, ha1, out);
  return std::string(out.data(), 32);
}

std::string response_for_ha1(const DigestCredentials& creds, std::string_view method,
                             std::string_view ha1_hex) {
  Hex32 ha1, out;
  if (!normalize_ha1(ha1_hex, ha1)) return {};
  digest_response(creds, method, ha1, out);
  return std::string(out.data(), 32);
}

bool verify(const DigestCredentials& creds, std::string_view method, std::string_view password) {
  Hex32 ha1;
  ha1_of(creds.username, creds.realm, password, ha1);
  return verify_with(creds, method, ha1);
}

bool verify_ha1(const DigestCredentials& creds, std::string_view method, std::string_view ha1_hex) {
  Hex32 ha1;
  if (!normalize_ha1(ha1_hex, ha1)) return false;
  return verify_with(creds, method, ha1);
}

std::string authentication_info_value(const DigestCredentials& creds, std::string_view password) {
  Hex32 ha1;
  ha1_of(creds.username, creds.realm, password, ha1);
  return info_with(creds, ha1);
}

std::string authentication_info_value_ha1(const DigestCredentials& creds, std::string_view ha1_hex) {
  Hex32 ha1;
  if (!normalize_ha1(ha1_hex, ha1)) return {};
  return info_with(creds, ha1);
}

// ---------------------------------------------------------------------------------------------

struct NonceStore::Shard {
  struct Record {
    uint32_t last_nc;
    Clock::time_point stale_at;
  };
  mutable std::mutex mutex;
  std::unordered_map<std::array<unsigned char, kIdBytes>, Record, IdHash> records;
  Clock::time_point next_sweep{};
};

NonceStore::NonceStore(std::chrono::seconds lifetime, bool check_nc)
    : lifetime_(lifetime), check_nc_(check_nc), secret_{}, opaque_secret_{}, shards_(new Shard[kShards]) {
  common::random_bytes(secret_, sizeof secret_);
  common::random_bytes(opaque_secret_, sizeof opaque_secret_);
}

NonceStore::~NonceStore() {
  OPENSSL_cleanse(secret_, sizeof secret_);
  OPENSSL_cleanse(opaque_secret_, sizeof opaque_secret_);
}

std::string NonceStore::issue(Clock::time_point now) {
  unsigned char raw[kNonceBytes];
  common::fast_random_bytes(raw, kIdBytes);
  uint64_t t = static_cast<uint64_t>(to_ticks(now));
  for (size_t b = 0; b < kTimeBytes; ++b) raw[kIdBytes + b] = static_cast<unsigned char>(t >> (8 * (7 - b)));
  compute_mac(secret_, raw, raw + kIdBytes + kTimeBytes);
  std::string out(kNonceChars, '\0');
  b64_encode(raw, kNonceBytes, out.data());
  return out;
}

NonceStore::Check NonceStore::verify_nonce(std::string_view nonce, Clock::time_point now,
                                           std::array<unsigned char, 16>& id,
                                           Clock::time_point& issued) const {
  unsigned char raw[kNonceBytes];
  if (!b64_decode_nonce(nonce, raw)) return Check::unknown;
  unsigned char mac[kMacBytes];
  compute_mac(secret_, raw, mac);
  if (CRYPTO_memcmp(mac, raw + kIdBytes + kTimeBytes, kMacBytes) != 0) return Check::unknown;
  uint64_t t = 0;
  for (size_t b = 0; b < kTimeBytes; ++b) t = (t << 8) | raw[kIdBytes + b];
  issued = Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(static_cast<int64_t>(t))));
  if (issued > now) return Check::unknown;  // only our own clock wrote it: cannot be in the future
  if (now - issued > lifetime_) return Check::stale;
  std::memcpy(id.data(), raw, kIdBytes);
  return Check::ok;
}

NonceStore::Check NonceStore::check(std::string_view nonce, Clock::time_point now) const {
  std::array<unsigned char, kIdBytes> id{};
  Clock::time_point issued;
  return verify_nonce(nonce, now, id, issued);
}

NonceStore::Check NonceStore::use(std::string_view nonce, std::string_view nc_hex, Clock::time_point now) {
  std::array<unsigned char, kIdBytes> id{};
  Clock::time_point issued;
  Check c = verify_nonce(nonce, now, id, issued);
  if (c != Check::ok || !check_nc_) return c;
  uint32_t nc = 0;
  if (!parse_nc(nc_hex, nc)) return Check::replay;

  Shard& shard = shards_[IdHash()(id) % kShards];
  std::lock_guard<std::mutex> lock(shard.mutex);
  // Records of stale nonces are useless (staleness is checked first): sweep them now and then.
  sweep_shard(shard, now);
  auto [it, inserted] = shard.records.try_emplace(id, Shard::Record{nc, issued + lifetime_});
  if (inserted) return Check::ok;
  // RFC 2617 §3.2.2: the server can detect a replay by seeing the same nc twice; we require growth.
  if (nc <= it->second.last_nc) return Check::replay;
  it->second.last_nc = nc;
  return Check::ok;
}

void NonceStore::opaque_mac(std::string_view nonce, char out[kOpaqueChars]) const {
  unsigned char full[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), opaque_secret_, sizeof opaque_secret_,
           reinterpret_cast<const unsigned char*>(nonce.data()), nonce.size(), full, &len) == nullptr)
    std::abort();
  b64_encode(full, kOpaqueMacBytes, out);
}

std::string NonceStore::opaque_for(std::string_view nonce) const {
  std::string out(kOpaqueChars, '\0');
  opaque_mac(nonce, out.data());
  return out;
}

bool NonceStore::opaque_matches(std::string_view nonce, std::string_view opaque) const {
  if (opaque.size() != kOpaqueChars) return false;
  char expected[kOpaqueChars];
  opaque_mac(nonce, expected);
  return CRYPTO_memcmp(expected, opaque.data(), kOpaqueChars) == 0;
}

size_t NonceStore::sweep_shard(Shard& shard, Clock::time_point now) {
  if (now < shard.next_sweep) return 0;
  size_t n = std::erase_if(shard.records, [now](const auto& r) { return r.second.stale_at < now; });
  shard.next_sweep = now + lifetime_;
  if (shard.records.empty() && shard.records.bucket_count() > 1)
    decltype(shard.records)().swap(shard.records);
  return n;
}

size_t NonceStore::sweep(Clock::time_point now) {
  size_t n = 0;
  for (size_t s = 0; s < kShards; ++s) {
    std::lock_guard<std::mutex> lock(shards_[s].mutex);
    n += sweep_shard(shards_[s], now);
  }
  return n;
}

size_t NonceStore::tracked() const {
  size_t total = 0;
  for (size_t s = 0; s < kShards; ++s) {
    std::lock_guard<std::mutex> lock(shards_[s].mutex);
    total += shards_[s].records.size();
  }
  return total;
}

}  // namespace msrpd::relay
