#include "relay/digest.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace msrpd::relay {
namespace {

using namespace std::chrono_literals;

// RFC 2617 §3.5.
constexpr std::string_view kRfc2617Authorization =
    "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
    "uri=\"/dir/index.html\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
    "response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";

// An MSRP AUTH (RFC 4976 §9.1): the digest-uri is the rightmost To-Path URI, the method AUTH.
// Expected values computed independently (Python hashlib).
constexpr std::string_view kMsrpAuthorization =
    "Digest username=\"alice\", realm=\"relay.example.com\", nonce=\"nonce123\", "
    "uri=\"msrps://relay.example.com:2855;tcp\", response=\"fccf075c24cf8eb74ab8c35a86a3dd55\", "
    "qop=auth, nc=00000001, cnonce=\"cnonce0a4f\"";

DigestCredentials parse_ok(std::string_view v) {
  auto r = parse_authorization(v);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : DigestCredentials{};
}

TEST(ParseAuthorization, ReadsEveryParameterOfTheRfc2617Example) {
  DigestCredentials c = parse_ok(kRfc2617Authorization);
  EXPECT_EQ(c.username, "Mufasa");
  EXPECT_EQ(c.realm, "testrealm@host.com");
  EXPECT_EQ(c.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
  EXPECT_EQ(c.uri, "/dir/index.html");
  EXPECT_EQ(c.qop, "auth");
  EXPECT_EQ(c.nc, "00000001");
  EXPECT_EQ(c.cnonce, "0a4f113b");
  EXPECT_EQ(c.response, "6629fae49393a05397450978507c4ef1");
  EXPECT_EQ(c.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
  EXPECT_EQ(c.algorithm, "");
}

TEST(ParseAuthorization, AcceptsCaseInsensitiveNamesQuotedQopAndExtraSpacing) {
  DigestCredentials c = parse_ok(
      "  digest   USERNAME = \"bob\" "
      ",,Realm=\"r\",nonce=\"n\",uri=\"u\",response=\"6629FAE49393A05397450978507C4EF1\","
      "qop=\"auth\",nc=0000000a,cnonce=\"c\",algorithm=md5,foo=bar,other=\"x y\"  ");
  EXPECT_EQ(c.username, "bob");
  EXPECT_EQ(c.realm, "r");
  EXPECT_EQ(c.qop, "auth");
  EXPECT_EQ(c.nc, "0000000a");
  EXPECT_EQ(c.algorithm, "md5");
}

TEST(ParseAuthorization, KeepsEmptyQuotedValues) {
  DigestCredentials c = parse_ok(
      "Digest username=\"\", realm=\"\", nonce=\"n\", uri=\"u\", "
      "response=\"6629fae49393a05397450978507c4ef1\", "
      "qop=auth, nc=00000001, cnonce=\"c\"");
  EXPECT_EQ(c.username, "");
  EXPECT_EQ(c.realm, "");
}

struct Malformed {
  std::string value;
  std::string message;
};

class ParseAuthorizationRejects : public ::testing::TestWithParam<Malformed> {};

TEST_P(ParseAuthorizationRejects, WithStatus400AndAMessage) {
  auto r = parse_authorization(GetParam().value);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().message, GetParam().message);
}

const std::string kRest =
    "realm=\"r\", nonce=\"n\", uri=\"u\", response=\"6629fae49393a05397450978507c4ef1\", cnonce=\"c\"";

INSTANTIATE_TEST_SUITE_P(
    Malformed, ParseAuthorizationRejects,
    ::testing::Values(
        Malformed{"", "Authorization: missing scheme"},
        Malformed{"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Authorization: unsupported scheme Basic"},
        Malformed{"Digest", "Authorization: missing username"},
        Malformed{"Digest=x", "Authorization: expected a space after Digest"},
        Malformed{"Digest username", "Authorization: expected '=' after username"},
        Malformed{"Digest username=", "Authorization: empty value of username"},
        Malformed{"Digest =\"x\"", "Authorization: expected a parameter name at offset 7"},
        Malformed{"Digest username=\"bob", "Authorization: unterminated quoted value of username"},
        Malformed{"Digest username=\"b\\\"ob\"",
                  "Authorization: escaped characters in username are not supported"},
        Malformed{"Digest username=\"a\" realm=\"r\"", "Authorization: expected ',' after username"},
        Malformed{"Digest username=\"a\", USERNAME=\"b\"", "Authorization: duplicate username"},
        Malformed{"Digest username=\"a\", nonce=\"n\", uri=\"u\", response=\"x\"",
                  "Authorization: missing realm"},
        Malformed{"Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", qop=auth",
                  "Authorization: missing response"},
        Malformed{"Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"6629\", qop=auth",
                  "Authorization: response must be 32 hex digits"},
        Malformed{"Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", "
                  "response=\"6629fae49393a05397450978507c4efg\"",
                  "Authorization: response must be 32 hex digits"},
        Malformed{"Digest username=\"a\", " + kRest + ", qop=auth, nc=00000001, algorithm=MD5-sess",
                  "Authorization: unsupported algorithm MD5-sess"},
        Malformed{"Digest username=\"a\", " + kRest + ", nc=00000001", "Authorization: missing qop"},
        Malformed{"Digest username=\"a\", " + kRest + ", nc=00000001, qop=auth-int",
                  "Authorization: unsupported qop auth-int"},
        Malformed{"Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", "
                  "response=\"6629fae49393a05397450978507c4ef1\", qop=auth, nc=00000001",
                  "Authorization: missing cnonce"},
        Malformed{"Digest username=\"a\", " + kRest + ", qop=auth", "Authorization: missing nc"},
        Malformed{"Digest username=\"a\", " + kRest + ", qop=auth, nc=1",
                  "Authorization: nc must be 8 hex digits"},
        Malformed{"Digest username=\"a\", " + kRest + ", qop=auth, nc=0000000g",
                  "Authorization: nc must be 8 hex digits"}));

TEST(DigestResponse, MatchesTheRfc2617Example) {
  DigestCredentials c = parse_ok(kRfc2617Authorization);
  EXPECT_EQ(response_for(c, "GET", "Circle Of Life"), "6629fae49393a05397450978507c4ef1");
  EXPECT_TRUE(verify(c, "GET", "Circle Of Life"));
}

TEST(DigestResponse, WrongPasswordMethodOrResponseFails) {
  DigestCredentials c = parse_ok(kRfc2617Authorization);
  EXPECT_FALSE(verify(c, "GET", "circle of life"));
  EXPECT_FALSE(verify(c, "AUTH", "Circle Of Life"));
  c.response = "6629fae49393a05397450978507c4ef2";
  EXPECT_FALSE(verify(c, "GET", "Circle Of Life"));
  c.response = "6629fae4";
  EXPECT_FALSE(verify(c, "GET", "Circle Of Life"));
}

TEST(DigestResponse, UppercaseHexResponseIsAccepted) {
  DigestCredentials c = parse_ok(kRfc2617Authorization);
  c.response = "6629FAE49393A05397450978507C4EF1";
  EXPECT_TRUE(verify(c, "GET", "Circle Of Life"));
}

TEST(DigestResponse, WithoutQopUsesTheRfc2069Form) {
  DigestCredentials c = parse_ok(kRfc2617Authorization);
  c.qop = {};
  EXPECT_EQ(response_for(c, "GET", "Circle Of Life"), "670fd8c2df070c60b045671b8b24ff02");
}

TEST(DigestHa1, ComputesAndAcceptsPrecomputedHa1InEitherCase) {
  DigestCredentials c = parse_ok(kRfc2617Authorization);
  EXPECT_EQ(compute_ha1("Mufasa", "testrealm@host.com", "Circle Of Life"),
            "939e7578ed9e3c518a452acee763bce9");
  EXPECT_EQ(response_for_ha1(c, "GET", "939e7578ed9e3c518a452acee763bce9"),
            "6629fae49393a05397450978507c4ef1");
  EXPECT_TRUE(verify_ha1(c, "GET", "939E7578ED9E3C518A452ACEE763BCE9"));
  EXPECT_FALSE(verify_ha1(c, "GET", "939e7578ed9e3c518a452acee763bce8"));
}

TEST(DigestHa1, MalformedHa1IsRefused) {
  DigestCredentials c = parse_ok(kRfc2617Authorization);
  EXPECT_EQ(response_for_ha1(c, "GET", "939e"), "");
  EXPECT_FALSE(verify_ha1(c, "GET", "939e7578ed9e3c518a452acee763bcez"));
  EXPECT_EQ(authentication_info_value_ha1(c, ""), "");
}

TEST(AuthenticationInfo, CarriesRspauthCnonceNcAndQop) {
  DigestCredentials c = parse_ok(kRfc2617Authorization);
  EXPECT_EQ(authentication_info_value(c, "Circle Of Life"),
            "qop=auth, rspauth=\"376602cfd2f4e8e5e78b948a85263e85\", cnonce=\"0a4f113b\", nc=00000001");
  EXPECT_EQ(authentication_info_value_ha1(c, "939e7578ed9e3c518a452acee763bce9"),
            "qop=auth, rspauth=\"376602cfd2f4e8e5e78b948a85263e85\", cnonce=\"0a4f113b\", nc=00000001");
}

TEST(MsrpAuth, VerifiesWithMethodAuthAndTheRightmostToPathUri) {
  DigestCredentials c = parse_ok(kMsrpAuthorization);
  EXPECT_TRUE(digest_uri_matches(c, "msrps://relay.example.com:2855;tcp"));
  EXPECT_FALSE(digest_uri_matches(c, "msrps://other.example.com:2855;tcp"));
  EXPECT_EQ(response_for(c, "AUTH", "wonderland"), "fccf075c24cf8eb74ab8c35a86a3dd55");
  EXPECT_TRUE(verify(c, "AUTH", "wonderland"));
  EXPECT_FALSE(verify(c, "SEND", "wonderland"));
  EXPECT_TRUE(verify_ha1(c, "AUTH", compute_ha1("alice", "relay.example.com", "wonderland")));
  EXPECT_EQ(authentication_info_value(c, "wonderland"),
            "qop=auth, rspauth=\"af6a6b9e1b55fb73bde23820d8e99b27\", cnonce=\"cnonce0a4f\", nc=00000001");
}

TEST(WwwAuthenticate, OffersOpaqueQopAuthAndMd5) {
  EXPECT_EQ(www_authenticate_value("relay.example.com", "abc", "op", false),
            "Digest realm=\"relay.example.com\", nonce=\"abc\", opaque=\"op\", qop=\"auth\", algorithm=MD5");
}

TEST(WwwAuthenticate, MarksStaleNonces) {
  EXPECT_EQ(www_authenticate_value("r", "abc", "op", true),
            "Digest realm=\"r\", nonce=\"abc\", opaque=\"op\", qop=\"auth\", algorithm=MD5, stale=true");
}

TEST(WwwAuthenticate, EscapesQuotesInRealm) {
  EXPECT_EQ(www_authenticate_value("a\"b\\c", "n", "o", false),
            "Digest realm=\"a\\\"b\\\\c\", nonce=\"n\", opaque=\"o\", qop=\"auth\", algorithm=MD5");
}

TEST(WwwAuthenticate, RoundTripsThroughTheParserAsAClientWouldAnswer) {
  NonceStore store;
  std::string nonce = store.issue();
  std::string opaque = store.opaque_for(nonce);
  std::string challenge = www_authenticate_value("relay.example.com", nonce, opaque, false);
  EXPECT_NE(challenge.find("nonce=\"" + nonce + "\""), std::string::npos);
  EXPECT_NE(challenge.find("opaque=\"" + opaque + "\""), std::string::npos);
  std::string auth =
      "Digest username=\"alice\", realm=\"relay.example.com\", nonce=\"" + nonce +
      "\", uri=\"msrps://relay.example.com:2855;tcp\", response=\"00000000000000000000000000000000\", "
      "qop=auth, nc=00000001, cnonce=\"xyz\", opaque=\"" +
      opaque + "\"";
  DigestCredentials c = parse_ok(auth);
  std::string expected = response_for(c, "AUTH", "pw");
  c.response = expected;
  EXPECT_TRUE(verify(c, "AUTH", "pw"));
  EXPECT_TRUE(store.opaque_matches(c.nonce, c.opaque));
  EXPECT_EQ(store.use(c.nonce, c.nc), NonceStore::Check::ok);
}

// --- The digest URI (RFC 4976 §7 grammar without uri, §9.1 rightmost To-Path URI) -------------

// kMsrpAuthorization as AG msrplib writes it: no uri parameter.
constexpr std::string_view kMsrplibAuthorization =
    "Digest username=\"alice\", realm=\"relay.example.com\", nonce=\"nonce123\", "
    "response=\"fccf075c24cf8eb74ab8c35a86a3dd55\", qop=auth, nc=00000001, cnonce=\"cnonce0a4f\"";

TEST(ParseAuthorization, AcceptsAMissingUri) {
  DigestCredentials c = parse_ok(kMsrplibAuthorization);
  EXPECT_FALSE(c.uri_given);
  EXPECT_EQ(c.uri, "");
  EXPECT_TRUE(parse_ok(kMsrpAuthorization).uri_given);
  EXPECT_TRUE(parse_ok("Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"\", "
                       "response=\"6629fae49393a05397450978507c4ef1\", qop=auth, nc=00000001, cnonce=\"c\"")
                  .uri_given);
}

TEST(ResolveDigestUri, WithoutUriTheRightmostToPathUriIsTheDigestUri) {
  DigestCredentials c = parse_ok(kMsrplibAuthorization);
  EXPECT_FALSE(digest_uri_matches(c, "msrps://relay.example.com:2855;tcp"));
  ASSERT_TRUE(resolve_digest_uri(c, "msrps://relay.example.com:2855;tcp"));
  EXPECT_EQ(c.uri, "msrps://relay.example.com:2855;tcp");
  // The same response as kMsrpAuthorization, which names that URI: verifies, with the same rspauth.
  EXPECT_TRUE(verify(c, "AUTH", "wonderland"));
  EXPECT_EQ(authentication_info_value(c, "wonderland"),
            "qop=auth, rspauth=\"af6a6b9e1b55fb73bde23820d8e99b27\", cnonce=\"cnonce0a4f\", nc=00000001");
}

TEST(ResolveDigestUri, AGivenUriMustBeTheRightmostToPathUri) {
  DigestCredentials c = parse_ok(kMsrpAuthorization);
  EXPECT_TRUE(resolve_digest_uri(c, "msrps://relay.example.com:2855;tcp"));
  EXPECT_EQ(c.uri, "msrps://relay.example.com:2855;tcp");
  EXPECT_FALSE(resolve_digest_uri(c, "msrps://other.example.com:2855;tcp"));
  EXPECT_EQ(c.uri, "msrps://relay.example.com:2855;tcp");  // left as given
  DigestCredentials empty = parse_ok(
      "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"\", "
      "response=\"6629fae49393a05397450978507c4ef1\", qop=auth, nc=00000001, cnonce=\"c\"");
  EXPECT_FALSE(resolve_digest_uri(empty, "msrps://relay.example.com:2855;tcp"));
}

// --- Opaque (RFC 2617 §3.2.1) -----------------------------------------------------------------

TEST(NonceStoreOpaque, Is22Base64UrlCharactersFixedPerNonce) {
  NonceStore store;
  std::string n = store.issue();
  std::string o = store.opaque_for(n);
  ASSERT_EQ(o.size(), 22u);
  for (char c : o)
    EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                c == '_')
        << o;
  EXPECT_EQ(store.opaque_for(n), o);
  EXPECT_NE(store.opaque_for(store.issue()), o);
}

TEST(NonceStoreOpaque, OnlyTheOpaqueOfTheNonceMatches) {
  NonceStore store;
  std::string n = store.issue(), other = store.issue();
  std::string o = store.opaque_for(n);
  EXPECT_TRUE(store.opaque_matches(n, o));
  EXPECT_FALSE(store.opaque_matches(n, ""));
  EXPECT_FALSE(store.opaque_matches(n, store.opaque_for(other)));
  EXPECT_FALSE(store.opaque_matches(n, o.substr(0, 21)));
  EXPECT_FALSE(store.opaque_matches(n, o + "A"));
  std::string altered = o;
  altered[5] = altered[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(store.opaque_matches(n, altered));
}

TEST(NonceStoreOpaque, AnotherRelayProcessCannotMakeOneUp) {
  // Keyed by a per-store random secret: another store (another msrpd, an attacker's copy of the
  // code) computes a different opaque for the same nonce.
  NonceStore ours, theirs;
  std::string n = ours.issue();
  EXPECT_FALSE(ours.opaque_matches(n, theirs.opaque_for(n)));
}

// --- NonceStore -------------------------------------------------------------------------------

const NonceStore::Clock::time_point kT0 = NonceStore::Clock::time_point(1000h);

TEST(NonceStore, NoncesAre54Base64UrlCharactersAndUnique) {
  NonceStore store;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string n = store.issue();
    ASSERT_EQ(n.size(), 54u);
    for (char c : n)
      ASSERT_TRUE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_');
    EXPECT_TRUE(seen.insert(n).second);
  }
}

TEST(NonceStore, FreshNonceIsAccepted) {
  NonceStore store;
  std::string n = store.issue(kT0);
  EXPECT_EQ(store.check(n, kT0 + 5s), NonceStore::Check::ok);
  EXPECT_EQ(store.use(n, "00000001", kT0 + 5s), NonceStore::Check::ok);
}

TEST(NonceStore, SameNcTwiceIsAReplay) {
  NonceStore store;
  std::string n = store.issue(kT0);
  EXPECT_EQ(store.use(n, "00000001", kT0), NonceStore::Check::ok);
  EXPECT_EQ(store.use(n, "00000001", kT0), NonceStore::Check::replay);
}

TEST(NonceStore, NcMustGrowPerNonce) {
  NonceStore store;
  std::string n = store.issue(kT0);
  EXPECT_EQ(store.use(n, "00000002", kT0), NonceStore::Check::ok);
  EXPECT_EQ(store.use(n, "00000001", kT0), NonceStore::Check::replay);
  EXPECT_EQ(store.use(n, "0000000A", kT0), NonceStore::Check::ok);
  EXPECT_EQ(store.use(n, "00000009", kT0), NonceStore::Check::replay);
  // Counts are per nonce: another nonce starts again at 1.
  std::string other = store.issue(kT0);
  EXPECT_EQ(store.use(other, "00000001", kT0), NonceStore::Check::ok);
}

TEST(NonceStore, MalformedOrZeroNcIsRefusedAsReplay) {
  NonceStore store;
  std::string n = store.issue(kT0);
  EXPECT_EQ(store.use(n, "", kT0), NonceStore::Check::replay);
  EXPECT_EQ(store.use(n, "00000000", kT0), NonceStore::Check::replay);
  EXPECT_EQ(store.use(n, "0000000x", kT0), NonceStore::Check::replay);
  EXPECT_EQ(store.use(n, "000000001", kT0), NonceStore::Check::replay);
}

TEST(NonceStore, WithoutNcCheckANonceCanBeReusedUntilStale) {
  NonceStore store(30s, false);
  std::string n = store.issue(kT0);
  EXPECT_EQ(store.use(n, "00000001", kT0), NonceStore::Check::ok);
  EXPECT_EQ(store.use(n, "00000001", kT0 + 1s), NonceStore::Check::ok);
  EXPECT_EQ(store.use(n, "00000001", kT0 + 31s), NonceStore::Check::stale);
  EXPECT_EQ(store.tracked(), 0u);
}

TEST(NonceStore, NonceIsStaleAfterItsLifetime) {
  NonceStore store(30s);
  std::string n = store.issue(kT0);
  EXPECT_EQ(store.use(n, "00000001", kT0 + 30s), NonceStore::Check::ok);
  EXPECT_EQ(store.use(n, "00000002", kT0 + 30s + 1ms), NonceStore::Check::stale);
  EXPECT_EQ(store.check(n, kT0 + 1h), NonceStore::Check::stale);
}

TEST(NonceStore, StaleTakesPrecedenceOverReplay) {
  NonceStore store(10s);
  std::string n = store.issue(kT0);
  EXPECT_EQ(store.use(n, "00000001", kT0), NonceStore::Check::ok);
  EXPECT_EQ(store.use(n, "00000001", kT0 + 11s), NonceStore::Check::stale);
}

TEST(NonceStore, DefaultLifetimeIsThirtySeconds) {
  NonceStore store;
  EXPECT_EQ(store.lifetime(), 30s);
}

TEST(NonceStore, AlteredNonceIsUnknown) {
  NonceStore store;
  std::string n = store.issue(kT0);
  for (size_t pos : {0ul, 20ul, 30ul, 53ul}) {
    std::string forged = n;
    forged[pos] = forged[pos] == 'A' ? 'B' : 'A';
    EXPECT_EQ(store.use(forged, "00000001", kT0), NonceStore::Check::unknown) << pos;
  }
}

TEST(NonceStore, NonceOfAnotherStoreIsUnknown) {
  NonceStore a, b;
  EXPECT_EQ(b.use(a.issue(kT0), "00000001", kT0), NonceStore::Check::unknown);
}

TEST(NonceStore, GarbageIsUnknown) {
  NonceStore store;
  EXPECT_EQ(store.use("", "00000001", kT0), NonceStore::Check::unknown);
  EXPECT_EQ(store.use("dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", kT0), NonceStore::Check::unknown);
  EXPECT_EQ(store.use(std::string(54, '!'), "00000001", kT0), NonceStore::Check::unknown);
  std::string n = store.issue(kT0);
  EXPECT_EQ(store.use(n + "A", "00000001", kT0), NonceStore::Check::unknown);
  EXPECT_EQ(store.use(n.substr(0, 53), "00000001", kT0), NonceStore::Check::unknown);
}

TEST(NonceStore, NonceFromTheFutureIsUnknown) {
  NonceStore store;
  std::string n = store.issue(kT0 + 10s);
  EXPECT_EQ(store.check(n, kT0), NonceStore::Check::unknown);
}

TEST(NonceStore, RecordsOfStaleNoncesAreSwept) {
  NonceStore store(10s);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(store.use(store.issue(kT0), "00000001", kT0), NonceStore::Check::ok);
  EXPECT_EQ(store.tracked(), 100u);
  // Each shard sweeps on its next use after the lifetime; use every shard with fresh nonces.
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(store.use(store.issue(kT0 + 20s), "00000001", kT0 + 20s), NonceStore::Check::ok);
  EXPECT_EQ(store.tracked(), 200u);
}

TEST(NonceStore, SweepDropsStaleRecordsWithoutAnyNewAuth) {
  NonceStore store(10s);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(store.use(store.issue(kT0), "00000001", kT0), NonceStore::Check::ok);
  EXPECT_EQ(store.sweep(kT0 + 5s), 0u);  // each shard swept at its first use: next in 10 s
  EXPECT_EQ(store.tracked(), 100u);
  EXPECT_EQ(store.sweep(kT0 + 11s), 100u);  // all stale, no AUTH needed
  EXPECT_EQ(store.tracked(), 0u);
  // A nonce used again after the sweep is still refused as stale, not taken as new.
  std::string n = store.issue(kT0 + 11s);
  ASSERT_EQ(store.use(n, "00000001", kT0 + 12s), NonceStore::Check::ok);
  EXPECT_EQ(store.use(n, "00000001", kT0 + 12s), NonceStore::Check::replay);
  EXPECT_EQ(store.sweep(kT0 + 13s), 0u);  // swept less than a lifetime ago
  EXPECT_EQ(store.tracked(), 1u);
}

TEST(NonceStore, ConcurrentUsesOfOneNonceAcceptEachCountOnce) {
  NonceStore store;
  std::string n = store.issue();
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      char nc[9];
      for (int i = 1; i <= 200; ++i) {
        std::snprintf(nc, sizeof nc, "%08x", i);
        if (store.use(n, nc) == NonceStore::Check::ok) ++accepted;
      }
    });
  }
  for (auto& t : threads) t.join();
  // Counts only grow, so at most 200 acceptances, and at least count 1 of the first thread.
  EXPECT_LE(accepted.load(), 200);
  EXPECT_GE(accepted.load(), 1);
  EXPECT_EQ(store.use(n, "000000c8"), NonceStore::Check::replay);
}

}  // namespace
}  // namespace msrpd::relay
