// Digest AUTH as the MSRP software people run does it (issue 12 item 2), against the real msrpd
// running the default config (etc/msrpd.cfg) and the seed's Example 1.18: the 401 carries an
// opaque (AG msrplib needs one; RFC 2617 §3.2.1), whose echo is checked; an Authorization without
// uri= (RFC 4976 §7 grammar, AG msrplib) is verified against the rightmost To-Path URI (§9.1).
#include <gtest/gtest.h>

#include <regex>

#include "harness.h"
#include "relay/digest.h"
#include "test_config.h"

namespace msrpd::itest {
namespace {

using client::Client;

constexpr const char* kPassword = "xyz123";

struct Challenge {
  std::string nonce, opaque;
};

class DigestAuth : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cfg_.write(source_path(GetParam()))) << cfg_.error();
    ASSERT_TRUE(d_.start(cfg_.path(), {"-n", "2"})) << d_.log();
    c_ = d_.connect();
    ASSERT_GE(c_.fd(), 0);
    me_ = my_uri(c_, "alice");
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
  }

  // An AUTH without credentials: its exact 401, nonce and opaque aside.
  Challenge challenge(const std::string& tid) {
    EXPECT_TRUE(c_.send(client::make_request(tid, "AUTH", d_.uri(), me_)));
    auto f = c_.read_frame(3000);
    EXPECT_TRUE(f) << (f ? "" : f.error().message);
    if (!f) return {};
    std::smatch m;
    EXPECT_TRUE(std::regex_match(f->raw, m, std::regex(challenge_re(tid)))) << f->raw;
    if (m.size() != 3) return {};
    return {m[1], m[2]};
  }

  std::string challenge_re(const std::string& tid) const {
    return "MSRP " + tid + " 401 Unauthorized\r\nTo-Path: " + escaped(me_) +
           "\r\nFrom-Path: " + escaped(d_.uri()) +
           "\r\nWWW-Authenticate: Digest realm=\"myrealm\", nonce=\"([A-Za-z0-9_-]{54})\", "
           "opaque=\"([A-Za-z0-9_-]{22})\", qop=\"auth\", algorithm=MD5\r\n-------" +
           tid + "\\$\r\n";
  }

  // Credentials hashed over `digest_uri`; uri= written only when `uri` is given, opaque= only
  // when `opaque` is not empty. `info` gets the Authentication-Info the relay must answer with.
  std::string authorization(const Challenge& ch, const std::string& digest_uri, const std::string* uri,
                            const std::string& opaque, std::string* info = nullptr) const {
    relay::DigestCredentials cr;
    cr.username = "alice";
    cr.realm = "myrealm";
    cr.nonce = ch.nonce;
    cr.uri = digest_uri;
    cr.cnonce = "0a4f113b";
    cr.nc = "00000001";
    cr.qop = "auth";
    std::string response = relay::response_for(cr, "AUTH", kPassword);
    if (info) *info = relay::authentication_info_value(cr, kPassword);
    std::string h =
        "Authorization: Digest username=\"alice\", realm=\"myrealm\", nonce=\"" + ch.nonce + "\", ";
    if (uri) h += "uri=\"" + *uri + "\", ";
    h += "response=\"" + response + "\", qop=auth, nc=00000001, cnonce=\"0a4f113b\"";
    if (!opaque.empty()) h += ", opaque=\"" + opaque + "\"";
    return h + "\r\n";
  }

  static std::string escaped(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
    return out;
  }

  // The exact 200 to AUTH with its Use-Path session aside (returned).
  std::string expect_200(const std::string& tid, const std::string& info) {
    auto f = c_.read_frame(3000);
    EXPECT_TRUE(f) << (f ? "" : f.error().message);
    if (!f) return {};
    // etc/msrpd.cfg hands out MSRP_PUBLIC_ADDR, Example 1.18 the seed's msrp://127.0.0.1:5060.
    std::string host = std::string_view(GetParam()).find("msrpd.cfg") != std::string_view::npos
                           ? "msrp://127\\.0\\.0\\.1:2855/"
                           : "msrp://127\\.0\\.0\\.1:5060/";
    std::smatch m;
    EXPECT_TRUE(std::regex_match(
        f->raw, m,
        std::regex("MSRP " + tid + " 200 OK\r\nTo-Path: " + escaped(me_) +
                   "\r\nFrom-Path: " + escaped(d_.uri()) + "\r\nUse-Path: " + host +
                   "([A-Za-z0-9]{20});tcp\r\nExpires: 3600\r\nAuthentication-Info: " + escaped(info) +
                   "\r\n-------" + tid + "\\$\r\n")))
        << f->raw;
    return m.size() == 2 ? std::string(m[1]) : std::string();
  }

  void expect_401(const std::string& tid) {
    auto f = c_.read_frame(3000);
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_TRUE(std::regex_match(f->raw, std::regex(challenge_re(tid)))) << f->raw;
  }

  TestConfig cfg_;
  Msrpd d_;
  Client c_;
  std::string me_;
};

INSTANTIATE_TEST_SUITE_P(Configs, DigestAuth,
                         ::testing::Values("etc/msrpd.cfg", "examples/kamailio-1.18.cfg"),
                         [](const ::testing::TestParamInfo<const char*>& i) {
                           return std::string(i.index == 0 ? "Default" : "Example18");
                         });

TEST_P(DigestAuth, ChallengeCarriesAnOpaque) {
  Challenge a = challenge("chal0001"), b = challenge("chal0002");
  ASSERT_FALSE(a.opaque.empty());
  EXPECT_NE(a.nonce, b.nonce);
  EXPECT_NE(a.opaque, b.opaque);  // tied to its nonce
}

TEST_P(DigestAuth, AuthWithoutUriGets200WithUsePath) {
  // As AG msrplib sends it: no uri=, the digest computed over the rightmost To-Path URI.
  Challenge ch = challenge("msrplib1");
  std::string info;
  ASSERT_TRUE(c_.send(client::make_request("msrplib2", "AUTH", d_.uri(), me_,
                                           authorization(ch, d_.uri(), nullptr, ch.opaque, &info))));
  EXPECT_FALSE(expect_200("msrplib2", info).empty());
  EXPECT_EQ(cfg_.stat_when("auth:failures", 1), 1);
}

TEST_P(DigestAuth, AuthWithTheRightmostToPathUriAsUriGets200) {
  Challenge ch = challenge("withuri1");
  std::string info, uri = d_.uri();
  ASSERT_TRUE(c_.send(client::make_request("withuri2", "AUTH", d_.uri(), me_,
                                           authorization(ch, uri, &uri, ch.opaque, &info))));
  EXPECT_FALSE(expect_200("withuri2", info).empty());
}

TEST_P(DigestAuth, AuthWithAnotherUriGets401) {
  // Credentials right for the URI they name, but that is not this AUTH's rightmost To-Path URI
  // (RFC 4976 §9.1): a failed AUTH, answered with a fresh challenge and counted.
  Challenge ch = challenge("otheru01");
  std::string other = "msrp://127.0.0.1:9/relay;tcp";
  ASSERT_TRUE(c_.send(
      client::make_request("otheru02", "AUTH", d_.uri(), me_, authorization(ch, other, &other, ch.opaque))));
  expect_401("otheru02");
  EXPECT_EQ(cfg_.stat_when("auth:failures", 2), 2);
}

TEST_P(DigestAuth, AuthWithAWrongOpaqueGets401) {
  Challenge ch = challenge("wrongop1");
  Challenge other = challenge("wrongop2");
  ASSERT_TRUE(c_.send(client::make_request("wrongop3", "AUTH", d_.uri(), me_,
                                           authorization(ch, d_.uri(), nullptr, other.opaque))));
  expect_401("wrongop3");
  EXPECT_EQ(cfg_.stat_when("auth:failures", 3), 3);
}

TEST_P(DigestAuth, AuthWithoutOpaqueGets401) {
  Challenge ch = challenge("noopaq01");
  ASSERT_TRUE(c_.send(
      client::make_request("noopaq02", "AUTH", d_.uri(), me_, authorization(ch, d_.uri(), nullptr, ""))));
  expect_401("noopaq02");
  EXPECT_EQ(cfg_.stat_when("auth:failures", 2), 2);
}

TEST_P(DigestAuth, MsrpdsOwnClientEchoesTheOpaque) {
  // src/client (msrpcat, msrpbench, the tests) answers the challenge with its opaque.
  Client c = d_.connect();
  auto a = client::authenticate(c, d_.uri(), my_uri(c, "carol"), "carol", kPassword);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_FALSE(client::digest_param(a->challenge.header("WWW-Authenticate"), "opaque").empty());
  EXPECT_EQ(a->answer.code, 200) << a->answer.raw;
}

}  // namespace
}  // namespace msrpd::itest
