// msrps end to end (RFC 4976 §6.1, §9): the real msrpd binary with listen=tls, certificates made
// at test time with the openssl command line, clients over TLS (TlsProxy), `openssl s_client`,
// plain TCP on the TLS port, bad client certificates, a missing certificate at start-up.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "forwarded.h"
#include "tls_support.h"

namespace msrpd::itest {
namespace {

using client::Client;

class TlsRelay : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra_tls = {}) {
    ASSERT_TRUE(test_certs().ok) << "openssl could not make the test certificates";
    uint16_t tcp = free_port();
    tls_port_ = free_port_except({tcp});
    cfg_ = write_relay_cfg({{}, relay_tls_params(std::move(extra_tls))});
    ASSERT_TRUE(d_.start(cfg_, {"-n", "2", "-l", "tls:127.0.0.1:" + std::to_string(tls_port_)}, tcp))
        << d_.log();
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
    if (!cfg_.empty()) std::remove(cfg_.c_str());
  }
  std::unique_ptr<TlsProxy> tls_client(bool with_cert = false) {
    const auto& c = test_certs();
    TlsProxy::Options o;
    o.ca = c.ca;
    if (with_cert) {
      o.cert = c.client_cert;
      o.key = c.client_key;
    }
    // The harness waits for the TCP port only: give the TLS port a moment as well (bounded).
    std::string err;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    std::unique_ptr<TlsProxy> p;
    while (!(p = TlsProxy::open(tls_port_, o, &err)) && err.rfind("connect", 0) == 0 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_TRUE(p) << err;
    return p;
  }
  std::string tls_uri() const { return "msrps://127.0.0.1:" + std::to_string(tls_port_) + ";tcp"; }

  Msrpd d_;
  std::string cfg_;
  uint16_t tls_port_ = 0;
};

TEST_F(TlsRelay, AuthOverTlsGetsUsePathWithMsrpsScheme) {
  start();
  auto p = tls_client();
  ASSERT_TRUE(p);
  Client c = p->connect();
  std::string me = "msrps://127.0.0.1:" + std::to_string(p->tls_local_port()) + "/alice;tcp";
  auto a = client::authenticate(c, tls_uri(), me, "alice", "xyz123");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->challenge.code, 401);
  EXPECT_EQ(a->challenge.header("From-Path"), tls_uri());
  ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
  // No use_path_addr: the relay's own TLS socket, with the msrps scheme (RFC 4976 §6.1).
  std::string up = a->answer.header("Use-Path");
  std::string prefix = "msrps://127.0.0.1:" + std::to_string(tls_port_) + "/";
  EXPECT_EQ(up.rfind(prefix, 0), 0u) << up;
  EXPECT_EQ(up.substr(up.size() - 4), ";tcp") << up;
}

TEST_F(TlsRelay, SendFromTcpToTlsReceiverIsRelayedByteExact) {
  start();
  auto p = tls_client();
  ASSERT_TRUE(p);
  Client bob = p->connect();
  std::string bob_uri = "msrps://127.0.0.1:" + std::to_string(p->tls_local_port()) + "/bob;tcp";
  auto a = client::authenticate(bob, tls_uri(), bob_uri, "bob", "xyz123");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
  std::string use_path = a->answer.header("Use-Path");

  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  std::string body(20000, 'x');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(alice.send(client::make_send("tls0001", use_path + " " + bob_uri, alice_uri, "m1", body)));
  auto ok = alice.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->code, 200);
  auto got = bob.read_frame();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(testing::forwarded_as(got->raw, "tls0001"),
            "MSRP tls0001 SEND\r\nTo-Path: " + bob_uri + "\r\nFrom-Path: " + use_path + " " + alice_uri +
                "\r\nMessage-ID: m1\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n-------tls0001$\r\n");
}

TEST_F(TlsRelay, OpensslSClientAuthGets401) {
  start();
  std::string me = "msrps://127.0.0.1:9/sclient;tcp";
  std::string frame = client::make_request("sc0001", "AUTH", tls_uri(), me);
  std::string path = cfg_ + ".auth";
  std::ofstream(path, std::ios::binary) << frame;
  // -no_ign_eof: s_client ends once its input ends (after a second, time for the answer).
  std::string cmd = "(cat " + path + "; sleep 1) | timeout 10 openssl s_client -connect 127.0.0.1:" +
                    std::to_string(tls_port_) + " -quiet -no_ign_eof -verify_return_error -CAfile " +
                    test_certs().ca + " 2>/dev/null";
  FILE* f = ::popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  std::remove(path.c_str());
  std::string head = "MSRP sc0001 401 Unauthorized\r\nTo-Path: " + me + "\r\nFrom-Path: " + tls_uri() +
                     "\r\nWWW-Authenticate: Digest ";
  EXPECT_EQ(out.rfind(head, 0), 0u) << out;
  EXPECT_EQ(out.substr(out.size() - std::min<size_t>(out.size(), 18)), "\r\n-------sc0001$\r\n") << out;
}

TEST_F(TlsRelay, PlainTcpOnTheTlsPortIsClosedWhileTlsClientsAreServed) {
  start();
  auto p = tls_client();
  ASSERT_TRUE(p);
  Client good = p->connect();
  auto plain = Client::connect("127.0.0.1", tls_port_);
  ASSERT_TRUE(plain) << plain.error().message;
  std::string me = "msrp://127.0.0.1:" + std::to_string(plain->local_port()) + "/plain;tcp";
  ASSERT_TRUE(plain->send(client::make_request("pl0001", "AUTH", tls_uri(), me)));
  EXPECT_TRUE(plain->wait_closed(5000)) << "a plain-TCP client on the TLS port must be closed";
  auto none = plain->read_frame(100);
  EXPECT_FALSE(none) << "no MSRP answer in clear text: " << none->raw;

  std::string gme = "msrps://127.0.0.1:" + std::to_string(p->tls_local_port()) + "/good;tcp";
  ASSERT_TRUE(good.send(client::make_request("gd0001", "AUTH", tls_uri(), gme)));
  auto f = good.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->code, 401);
  EXPECT_EQ(f->tid, "gd0001");
}

// The handshake runs on the worker's loop: a client that connects and never starts it is dropped
// after the handshake timeout (10 s), and meanwhile the other clients are served.
TEST_F(TlsRelay, ClientStalledInTheHandshakeIsDroppedAndOthersAreServed) {
  start();
  auto stalled = Client::connect("127.0.0.1", tls_port_);
  ASSERT_TRUE(stalled) << stalled.error().message;
  auto p = tls_client();
  ASSERT_TRUE(p);
  Client good = p->connect();
  ASSERT_TRUE(good.send(client::make_request("st0001", "AUTH", tls_uri(), "msrps://127.0.0.1:9/good;tcp")));
  auto f = good.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->code, 401);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(stalled->wait_closed(13000)) << "a stalled handshake must time out";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(11));
}

TEST_F(TlsRelay, ClientWithBadCertificateIsRefusedWhenCertificatesAreRequired) {
  start({"verify_certificate", "1", "require_certificate", "1"});
  const auto& c = test_certs();
  // A certificate from a CA the relay does not trust: the handshake fails (TLS 1.2) or the relay
  // closes right after it (TLS 1.3 checks the client's certificate after the client finished).
  TlsProxy::Options bad{c.rogue_client_cert, c.rogue_key, c.ca};
  auto rogue = TlsProxy::open(tls_port_, bad);
  if (rogue) {
    Client r = rogue->connect();
    (void)r.send(client::make_request("rg0001", "AUTH", tls_uri(), "msrps://127.0.0.1:9/rogue;tcp"));
    auto f = r.read_frame(3000);
    EXPECT_FALSE(f) << "the rogue client must get no answer: " << f->raw;
    EXPECT_TRUE(r.wait_closed(5000));
  }
  // No certificate at all: refused as well.
  auto none = TlsProxy::open(tls_port_, {{}, {}, c.ca});
  if (none) {
    Client r = none->connect();
    (void)r.send(client::make_request("nc0001", "AUTH", tls_uri(), "msrps://127.0.0.1:9/nocert;tcp"));
    auto f = r.read_frame(3000);
    EXPECT_FALSE(f) << "a client without certificate must get no answer: " << f->raw;
  }
  // A client with a certificate from the trusted CA is served.
  auto p = tls_client(true);
  ASSERT_TRUE(p);
  Client good = p->connect();
  ASSERT_TRUE(good.send(client::make_request("ok0001", "AUTH", tls_uri(), "msrps://127.0.0.1:9/good;tcp")));
  auto f = good.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->code, 401);
}

TEST_F(TlsRelay, TlsCfgFileServerSectionIsRead) {
  ASSERT_TRUE(test_certs().ok);
  const auto& c = test_certs();
  std::string tls_cfg = test_certs().dir + "/tls.cfg";
  std::ofstream(tls_cfg) << "# test\n[server:default]\nmethod = TLSv1.2+\ncertificate = " << c.server_cert
                         << "\nprivate_key = " << c.server_key << "\nca_list = " << c.ca
                         << "\nverify_certificate = no\n\n[client:default]\nverify_certificate = yes\n";
  uint16_t tcp = free_port();
  tls_port_ = free_port_except({tcp});
  cfg_ = write_relay_cfg({{}, {"config", tls_cfg}});
  ASSERT_TRUE(d_.start(cfg_, {"-n", "1", "-l", "tls:127.0.0.1:" + std::to_string(tls_port_)}, tcp))
      << d_.log();
  auto p = tls_client();
  ASSERT_TRUE(p);
  Client good = p->connect();
  ASSERT_TRUE(good.send(client::make_request("cf0001", "AUTH", tls_uri(), "msrps://127.0.0.1:9/cfg;tcp")));
  auto f = good.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->code, 401);
}

TEST(TlsStartup, MissingCertificateFailsNamingTheFile) {
  std::string cfg = write_relay_cfg({{}, {"certificate", "/nonexistent/msrpd-relay.pem"}});
  auto r = run_msrpd({"-f", cfg, "-E", "-l", "tcp:127.0.0.1:" + std::to_string(free_port()), "-l",
                      "tls:127.0.0.1:" + std::to_string(free_port())});
  std::remove(cfg.c_str());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/msrpd-relay.pem"), std::string::npos) << r.output;
}

// listen=tls in the config file itself; `msrpd -c` checks the certificate too.
TEST(TlsStartup, ConfigListenTlsIsCheckedWithItsCertificate) {
  ASSERT_TRUE(test_certs().ok);
  auto with_listen = [](std::vector<std::string> tls) {
    std::string path = write_relay_cfg({{}, std::move(tls)});
    std::string text = read_file(path);
    size_t at = text.find("listen=tcp:127.0.0.1:5060");
    EXPECT_NE(at, std::string::npos);
    if (at != std::string::npos) text.replace(at, 25, "listen=tls:127.0.0.1:5061");
    std::ofstream(path) << text;
    return path;
  };
  std::string good = with_listen(relay_tls_params());
  auto r = run_msrpd({"-c", "-f", good});
  EXPECT_EQ(r.code, 0) << r.output;
  std::string bad = with_listen({"certificate", "/nonexistent/cfg-relay.pem"});
  r = run_msrpd({"-c", "-f", bad});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/cfg-relay.pem"), std::string::npos) << r.output;
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

TEST(TlsStartup, TlsListenWithoutCertificateFails) {
  std::string cfg = write_relay_cfg({});
  auto r = run_msrpd({"-f", cfg, "-E", "-l", "tls:127.0.0.1:" + std::to_string(free_port())});
  std::remove(cfg.c_str());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("certificate"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace msrpd::itest
