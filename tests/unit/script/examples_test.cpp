// The seed's Examples 1.17 and 1.18, as written (listen and mpath aside), run against a fake Context.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <regex>

#include "fake_context.h"
#include "script/htable.h"
#include "script/script.h"

namespace msrpd::script {
namespace {

using ::testing::ElementsAre;
using testing::FakeContext;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

const std::string kData = std::string(MSRPD_SOURCE_DIR) + "/tests/unit/script/data/";
const std::string kRelayUri = "msrp://127.0.0.1:25060;tcp";
const std::string kClientUri = "msrp://127.0.0.1:40000/c1;tcp";

std::string md5_hex(const std::string& s) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d, &n, EVP_md5(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(hex[d[i] >> 4]);
    out.push_back(hex[d[i] & 15]);
  }
  return out;
}

// The client side of RFC 2617 with qop=auth, computed here independently of the relay layer; the
// opaque of the challenge echoed (RFC 2617 §3.2.2).
// `uri` is the digest URI hashed; uri= is written unless send_uri is false (AG msrplib), opaque=
// unless opaque is empty.
std::string client_authorization(const std::string& nonce, const std::string& opaque,
                                 const std::string& password, const std::string& uri = kRelayUri,
                                 bool send_uri = true) {
  const std::string user = "alice", realm = "myrealm", cnonce = "0a4f113b", nc = "00000001";
  std::string ha1 = md5_hex(user + ":" + realm + ":" + password);
  std::string ha2 = md5_hex("AUTH:" + uri);
  std::string response = md5_hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2);
  std::string out = "Digest username=\"" + user + "\", realm=\"" + realm + "\", nonce=\"" + nonce + "\", ";
  if (send_uri) out += "uri=\"" + uri + "\", ";
  out += "response=\"" + response + "\", qop=auth, nc=" + nc + ", cnonce=\"" + cnonce + "\"";
  if (!opaque.empty()) out += ", opaque=\"" + opaque + "\"";
  return out;
}

class ExampleTest : public ::testing::Test {
 protected:
  // The credentials for the last challenge()'s nonce and opaque.
  std::string authorization(const std::string& nonce, const std::string& password) const {
    return client_authorization(nonce, opaque_, password);
  }

  void load_example(const std::string& name) {
    script_ = load(kData + name);
    env_ = std::make_unique<WorkerEnv>(script_, 3);
    env_->set_log_sink([this](int, std::string_view text) { log_.emplace_back(text); });
  }

  FakeContext auth_request() { return FakeContext::request("AUTH", {kRelayUri}, {kClientUri}); }

  // Sends an AUTH without credentials and returns the nonce of the challenge.
  std::string challenge() {
    FakeContext c = auth_request();
    script_.run_event_route(c, *env_);
    std::smatch m;
    std::string last = c.actions.back();
    EXPECT_TRUE(std::regex_search(last, m, std::regex("nonce=\"([^\"]+)\""))) << last;
    std::string nonce = m[1];
    EXPECT_TRUE(std::regex_search(last, m, std::regex("opaque=\"([^\"]+)\""))) << last;
    opaque_ = m[1];
    return nonce;
  }
  std::string opaque_;

  Script script_;
  std::unique_ptr<WorkerEnv> env_;
  std::vector<std::string> log_;
};

TEST_F(ExampleTest, Example117LoadsWithItsSettings) {
  load_example("example-1.17.cfg");
  const Config& c = script_.config();
  EXPECT_EQ(c.debug, 2);
  EXPECT_EQ(c.children, 4);
  EXPECT_TRUE(c.log_stderror);
  EXPECT_FALSE(c.auto_aliases);
  EXPECT_TRUE(c.tcp_accept_no_cl);
  EXPECT_EQ(c.tcp_connection_lifetime, 1810);
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].proto, "tcp");
  EXPECT_EQ(c.listen[0].host, "127.0.0.1");
  EXPECT_EQ(c.listen[0].port, 25060);
  EXPECT_EQ(c.mpath, "/usr/lib/msrpd/modules/");
  EXPECT_EQ(c.auth.nonce_count, 1);
  EXPECT_EQ(c.auth.qop, "auth");
  ASSERT_EQ(c.htables.size(), 1u);
  EXPECT_EQ(c.htables[0].name, "msrp");
  EXPECT_EQ(c.htables[0].size, 8);
  EXPECT_EQ(c.htables[0].autoexpire, 3600);
  EXPECT_TRUE(script_.has_request_route());
  EXPECT_TRUE(script_.has_reply_route());
  EXPECT_TRUE(script_.has_event_route());
  EXPECT_THAT(c.loaded_modules,
              ElementsAre("sl", "kex", "ctl", "msrp", "pv", "auth", "cfgutils", "htable", "xlog"));
}

TEST_F(ExampleTest, Example118LoadsWithItsSettings) {
  load_example("example-1.18.cfg");
  const Config& c = script_.config();
  EXPECT_EQ(c.msrp.cmap_size, 8);
  EXPECT_EQ(c.msrp.use_path_addr, "msrp://127.0.0.1:5060");
  EXPECT_TRUE(c.htables.empty());
}

TEST_F(ExampleTest, MiFifoIsAcceptedWithAWarningNamingWhatIsMissing) {
  load_example("example-1.18.cfg");
  ASSERT_EQ(script_.warnings().size(), 2u);
  EXPECT_EQ(script_.warnings()[0],
            kData +
                "example-1.18.cfg:24:12: module 'mi_fifo' is not provided by msrpd: "
                "the MI FIFO control interface (msrpd's control is the ctl binrpc socket "
                "and JSON-RPC) is not available; its parameters are ignored");
  EXPECT_EQ(script_.warnings()[1],
            kData +
                "example-1.18.cfg:32:21: modparam(\"mi_fifo\", \"fifo_name\") ignored: "
                "module 'mi_fifo' is not provided by msrpd");
}

TEST_F(ExampleTest, RequestRouteRefusesSipWith403) {
  for (const char* f : {"example-1.17.cfg", "example-1.18.cfg"}) {
    load_example(f);
    FakeContext c;
    c.kind_ = relay::MessageKind::sip_request;
    c.method_ = "INVITE";
    RunResult r = script_.run_request_route(c, *env_);
    EXPECT_THAT(c.actions, ElementsAre("sl 403 No SIP Here")) << f;
    EXPECT_TRUE(r.exited);
  }
}

TEST_F(ExampleTest, ReplyRouteDrops) {
  load_example("example-1.18.cfg");
  FakeContext c;
  c.kind_ = relay::MessageKind::sip_reply;
  EXPECT_TRUE(script_.run_reply_route(c, *env_).dropped);
}

TEST_F(ExampleTest, AuthWithoutCredentialsGets401WithTheChallengeHeader) {
  for (const char* f : {"example-1.17.cfg", "example-1.18.cfg"}) {
    load_example(f);
    FakeContext c = auth_request();
    script_.run_event_route(c, *env_);
    ASSERT_EQ(c.actions.size(), 2u) << f;
    EXPECT_EQ(c.actions[0], "reply_flags 1");
    EXPECT_THAT(c.actions[1],
                MatchesRegex("reply 401 Unauthorized \\|WWW-Authenticate: Digest realm=\"myrealm\", "
                             "nonce=\"[A-Za-z0-9_-]+\", opaque=\"[A-Za-z0-9_-]{22}\", qop=\"auth\", "
                             "algorithm=MD5\r\n"));
  }
}

TEST_F(ExampleTest, Example118AuthWithValidDigestSavesTheConnection) {
  load_example("example-1.18.cfg");
  std::string nonce = challenge();
  FakeContext c = auth_request();
  c.headers_.emplace_back("Authorization", authorization(nonce, "xyz123"));
  script_.run_event_route(c, *env_);
  EXPECT_THAT(c.actions, ElementsAre("reply_flags 1", "cmap_save"));
}

TEST_F(ExampleTest, AuthWithWrongPasswordIsChallengedAgain) {
  load_example("example-1.18.cfg");
  std::string nonce = challenge();
  FakeContext c = auth_request();
  c.headers_.emplace_back("Authorization", authorization(nonce, "wrong"));
  script_.run_event_route(c, *env_);
  ASSERT_EQ(c.actions.size(), 2u);
  EXPECT_THAT(c.actions[1], HasSubstr("reply 401 Unauthorized |WWW-Authenticate: Digest"));
}

TEST_F(ExampleTest, Example118AuthWithoutUriUsesTheRightmostToPathUri) {
  // RFC 4976 §7's grammar has no uri and AG msrplib sends none; §9.1: the digest URI is then the
  // rightmost To-Path URI.
  load_example("example-1.18.cfg");
  std::string nonce = challenge();
  FakeContext c = auth_request();
  c.headers_.emplace_back("Authorization", client_authorization(nonce, opaque_, "xyz123", kRelayUri, false));
  script_.run_event_route(c, *env_);
  EXPECT_THAT(c.actions, ElementsAre("reply_flags 1", "cmap_save"));
}

TEST_F(ExampleTest, AuthWithAUriOtherThanTheRightmostToPathUriIsChallengedAgain) {
  load_example("example-1.18.cfg");
  std::string nonce = challenge();
  FakeContext c = auth_request();
  // A response correct for the URI it names, but that URI is another relay's.
  c.headers_.emplace_back("Authorization",
                          client_authorization(nonce, opaque_, "xyz123", "msrp://10.0.0.1:2855;tcp"));
  script_.run_event_route(c, *env_);
  ASSERT_EQ(c.actions.size(), 2u);
  EXPECT_THAT(c.actions[1], HasSubstr("reply 401 Unauthorized |WWW-Authenticate: Digest"));
}

TEST_F(ExampleTest, AuthWithAWrongOrMissingOpaqueIsChallengedAgain) {
  load_example("example-1.18.cfg");
  std::string nonce = challenge();
  std::string right = opaque_;
  std::string other = (challenge(), opaque_);  // the opaque of another challenge's nonce
  for (const std::string& opaque : {other, std::string(), right.substr(1) + "A"}) {
    FakeContext c = auth_request();
    c.headers_.emplace_back("Authorization", client_authorization(nonce, opaque, "xyz123"));
    script_.run_event_route(c, *env_);
    ASSERT_EQ(c.actions.size(), 2u) << opaque;
    EXPECT_THAT(c.actions[1], HasSubstr("reply 401 Unauthorized |WWW-Authenticate: Digest")) << opaque;
  }
  // The nonce was not used up by those: with its own opaque it still authenticates.
  FakeContext ok = auth_request();
  ok.headers_.emplace_back("Authorization", client_authorization(nonce, right, "xyz123"));
  script_.run_event_route(ok, *env_);
  EXPECT_THAT(ok.actions, ElementsAre("reply_flags 1", "cmap_save"));
}

TEST_F(ExampleTest, ReplayedNonceCountIsChallengedAgain) {
  load_example("example-1.18.cfg");
  std::string nonce = challenge();
  FakeContext c1 = auth_request();
  c1.headers_.emplace_back("Authorization", authorization(nonce, "xyz123"));
  script_.run_event_route(c1, *env_);
  FakeContext c2 = auth_request();
  c2.headers_.emplace_back("Authorization", authorization(nonce, "xyz123"));
  script_.run_event_route(c2, *env_);
  EXPECT_THAT(c2.actions[1], HasSubstr("reply 401 Unauthorized"));
}

TEST_F(ExampleTest, Example117AuthWithValidDigestAnswers200WithUsePathAndExpires) {
  load_example("example-1.17.cfg");
  std::string nonce = challenge();
  FakeContext c = auth_request();
  c.headers_.emplace_back("Authorization", authorization(nonce, "xyz123"));
  script_.run_event_route(c, *env_);
  ASSERT_EQ(c.actions.size(), 2u);
  // s.$(pp).$(var(cnt)).$(RANDOM): worker 3, first session of this worker
  EXPECT_THAT(c.actions[1],
              MatchesRegex("reply 200 OK \\|Use-Path: msrp://127.0.0.1:5060/s\\.3\\.1\\.[0-9]+;tcp\r\n"
                           "Expires: 3600\r\n"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(c.actions[1], m, std::regex("/(s\\.3\\.1\\.[0-9]+);")));
  std::string sessid = m[1];
  HTable* t = script_.htable("msrp");
  ASSERT_NE(t, nullptr);
  time_t now = time(nullptr);
  EXPECT_EQ(t->get(sessid + "::srcaddr", now).str(), "msrp://127.0.0.1:40000");
  EXPECT_EQ(t->get(sessid + "::srcsock", now).str(), "tcp:127.0.0.1:25060");
}

TEST_F(ExampleTest, Example117AnswersAnyAuthWithExpiresWith423) {
  load_example("example-1.17.cfg");
  struct Case {
    const char* expires;
    const char* reply;
  } cases[] = {{"100", "reply 423 Interval Out-of-Bounds |Min-Expires: 1800\r\n"},
               {"5000", "reply 423 Interval Out-of-Bounds |Max-Expires: 3600\r\n"},
               {"2000", "reply 423 Interval Out-of-Bounds |Max-Expires: 3600\r\n"}};
  for (const auto& k : cases) {
    std::string nonce = challenge();
    FakeContext c = auth_request();
    c.headers_.emplace_back("Authorization", authorization(nonce, "xyz123"));
    c.headers_.emplace_back("Expires", k.expires);
    script_.run_event_route(c, *env_);
    EXPECT_THAT(c.actions, ElementsAre("reply_flags 1", k.reply)) << k.expires;
  }
}

TEST_F(ExampleTest, SendToUnknownSessionGets481) {
  load_example("example-1.17.cfg");
  FakeContext c = FakeContext::request("SEND", {"msrp://127.0.0.1:25060/nosuch;tcp"}, {kClientUri});
  c.set_int(relay::MsrpKey::nexthops, 1);
  script_.run_event_route(c, *env_);
  EXPECT_THAT(c.actions, ElementsAre("reply_flags 1", "reply 481 Session-does-not-exist"));

  load_example("example-1.18.cfg");
  FakeContext d =
      FakeContext::request("SEND", {"msrp://127.0.0.1:25060/nosuch;tcp", kClientUri}, {kClientUri});
  script_.run_event_route(d, *env_);
  EXPECT_THAT(d.actions, ElementsAre("reply_flags 1", "cmap_lookup", "reply 481 Session-does-not-exist"));
}

TEST_F(ExampleTest, Example117SendToAKnownSessionIsRelayedToTheStoredAddress) {
  load_example("example-1.17.cfg");
  std::string nonce = challenge();
  FakeContext a = auth_request();
  a.headers_.emplace_back("Authorization", authorization(nonce, "xyz123"));
  script_.run_event_route(a, *env_);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(a.actions[1], m, std::regex("/(s\\.3\\.1\\.[0-9]+);")));
  std::string sessid = m[1];
  FakeContext c = FakeContext::request("SEND", {"msrp://127.0.0.1:25060/" + sessid + ";tcp", kClientUri},
                                       {"msrp://10.0.0.9:7000/peer;tcp"});
  script_.run_event_route(c, *env_);
  EXPECT_THAT(c.actions, ElementsAre("reply_flags 1", "reply 200 OK", "relay_flags 1",
                                     "set_dst msrp://127.0.0.1:40000 tcp:127.0.0.1:25060", "relay"));
}

TEST_F(ExampleTest, Example118SendToAKnownSessionIsRelayed) {
  load_example("example-1.18.cfg");
  FakeContext c = FakeContext::request("SEND", {"msrp://127.0.0.1:25060/s1;tcp", kClientUri}, {kClientUri});
  c.cmap_lookup_rc = 1;
  script_.run_event_route(c, *env_);
  EXPECT_THAT(c.actions,
              ElementsAre("reply_flags 1", "cmap_lookup", "reply 200 OK", "relay_flags 1", "relay"));
}

TEST_F(ExampleTest, SendWithMoreThanOneNextHopGets200AndIsRelayed) {
  for (const char* f : {"example-1.17.cfg", "example-1.18.cfg"}) {
    load_example(f);
    FakeContext c = FakeContext::request("SEND", {kRelayUri, "msrp://b.example:2855/x;tcp", kClientUri},
                                         {"msrp://10.0.0.9:7000/peer;tcp"});
    script_.run_event_route(c, *env_);
    EXPECT_THAT(c.actions, ElementsAre("reply_flags 1", "reply 200 OK", "relay")) << f;
  }
}

TEST_F(ExampleTest, ReportIsRelayedWithoutAReply) {
  for (const char* f : {"example-1.17.cfg", "example-1.18.cfg"}) {
    load_example(f);
    FakeContext c = FakeContext::request("REPORT", {kRelayUri, "msrp://b.example:2855/x;tcp", kClientUri},
                                         {"msrp://10.0.0.9:7000/peer;tcp"});
    script_.run_event_route(c, *env_);
    EXPECT_THAT(c.actions, ElementsAre("reply_flags 1", "relay")) << f;
  }
}

TEST_F(ExampleTest, UnknownMethodGets501) {
  for (const char* f : {"example-1.17.cfg", "example-1.18.cfg"}) {
    load_example(f);
    FakeContext c = FakeContext::request("FOO", {kRelayUri, kClientUri}, {kClientUri});
    script_.run_event_route(c, *env_);
    EXPECT_THAT(c.actions, ElementsAre("reply_flags 1", "reply 501 Request-method-not-understood")) << f;
  }
}

TEST_F(ExampleTest, ReplyFrameIsRelayed) {
  for (const char* f : {"example-1.17.cfg", "example-1.18.cfg"}) {
    load_example(f);
    FakeContext c = FakeContext::reply(200, {kRelayUri, kClientUri}, {"msrp://10.0.0.9:7000/peer;tcp"});
    script_.run_event_route(c, *env_);
    EXPECT_THAT(c.actions, ElementsAre("reply_flags 1", "relay")) << f;
  }
}

TEST_F(ExampleTest, AuthForAnotherRelayIsPassedOn) {
  load_example("example-1.18.cfg");
  FakeContext c = FakeContext::request("AUTH", {kRelayUri, "msrp://b.example:2855;tcp"}, {kClientUri});
  script_.run_event_route(c, *env_);
  EXPECT_THAT(c.actions, ElementsAre("reply_flags 1", "relay"));
}

TEST_F(ExampleTest, XdbgLinesAreSilentAtDebug2) {
  load_example("example-1.18.cfg");
  FakeContext c = FakeContext::request("FOO", {kRelayUri, kClientUri}, {kClientUri});
  script_.run_event_route(c, *env_);
  EXPECT_TRUE(log_.empty());
}

TEST_F(ExampleTest, TheDefaultConfigAndTheExamplesFolderLoad) {
  for (const char* f : {"/etc/msrpd.cfg", "/examples/kamailio-1.17.cfg", "/examples/kamailio-1.18.cfg"}) {
    EXPECT_NO_THROW(load(std::string(MSRPD_SOURCE_DIR) + f)) << f;
  }
}

}  // namespace
}  // namespace msrpd::script
