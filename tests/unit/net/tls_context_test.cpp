#include <gtest/gtest.h>

#include "net/listener.h"
#include "net/tls.h"
#include "tls_certs.h"

namespace msrpd::net {
namespace {

using testing::server_settings;
using testing::test_certs;

TEST(TlsContext, BuildsFromCertificateKeyAndCaList) {
  ASSERT_TRUE(test_certs().ok);
  auto ctx = TlsContext::create(server_settings());
  ASSERT_TRUE(ctx) << ctx.error().message;
  EXPECT_TRUE((*ctx)->has_certificate());
  EXPECT_NE((*ctx)->native(), nullptr);
}

TEST(TlsContext, ClientContextNeedsNoCertificate) {
  ASSERT_TRUE(test_certs().ok);
  auto ctx = TlsContext::create(testing::client_settings(false));
  ASSERT_TRUE(ctx) << ctx.error().message;
  EXPECT_FALSE((*ctx)->has_certificate());
}

TEST(TlsContext, MissingCertificateFileIsNamed) {
  TlsSettings s;
  s.certificate = "/nonexistent/msrpd.pem";
  auto ctx = TlsContext::create(s);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message, "tls certificate /nonexistent/msrpd.pem: No such file or directory");
}

TEST(TlsContext, MissingPrivateKeyFileIsNamed) {
  ASSERT_TRUE(test_certs().ok);
  TlsSettings s = server_settings();
  s.private_key = "/nonexistent/msrpd.key";
  auto ctx = TlsContext::create(s);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message, "tls private_key /nonexistent/msrpd.key: No such file or directory");
}

TEST(TlsContext, KeyOfAnotherCertificateIsRefused) {
  ASSERT_TRUE(test_certs().ok);
  TlsSettings s = server_settings();
  s.private_key = test_certs().wrong_key;
  auto ctx = TlsContext::create(s);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message, "tls private_key " + test_certs().wrong_key +
                                     " does not match certificate " + test_certs().server_cert);
}

TEST(TlsContext, CertificateFileThatIsNoPemIsNamed) {
  ASSERT_TRUE(test_certs().ok);
  TlsSettings s = server_settings();
  s.certificate = test_certs().dir + "/ca.cnf";
  auto ctx = TlsContext::create(s);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message.rfind("tls certificate " + s.certificate + ": ", 0), 0u)
      << ctx.error().message;
}

TEST(TlsContext, MissingCaListIsNamed) {
  ASSERT_TRUE(test_certs().ok);
  TlsSettings s = server_settings();
  s.ca_list = "/nonexistent/ca.pem";
  auto ctx = TlsContext::create(s);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message, "tls ca_list /nonexistent/ca.pem: No such file or directory");
}

TEST(TlsContext, MethodsOlderThanTls12AreRefused) {
  TlsSettings s;
  s.tls_method = "TLSv1.1";
  auto ctx = TlsContext::create(s);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message, "tls_method TLSv1.1: older than TLS 1.2");
}

TEST(TlsContext, KamailioMethodNamesAreAccepted) {
  for (const char* m : {"TLSv1.2+", "TLSv1.3+", "TLSv1.2", "TLSv1.3", "SSLv23", "tlsv1.2+"}) {
    TlsSettings s;
    s.tls_method = m;
    EXPECT_TRUE(TlsContext::create(s)) << m;
  }
}

TEST(TlsContext, UnknownMethodIsAnError) {
  TlsSettings s;
  s.tls_method = "DTLSv1";
  auto ctx = TlsContext::create(s);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message, "tls_method DTLSv1: unknown (use TLSv1.2+, TLSv1.3+, TLSv1.2 or TLSv1.3)");
}

TEST(TlsContext, CipherListMatchingNothingIsAnError) {
  TlsSettings s;
  s.cipher_list = "NO-SUCH-CIPHER";
  auto ctx = TlsContext::create(s);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message.rfind("tls cipher_list 'NO-SUCH-CIPHER': ", 0), 0u) << ctx.error().message;
}

TEST(TlsListener, TlsWithoutACertificateIsAStartUpError) {
  ASSERT_TRUE(test_certs().ok);
  EventLoop loop;
  ConnectionRegistry connections{loop};
  auto ctx = TlsContext::create(testing::client_settings(false));
  ASSERT_TRUE(ctx);
  ListenOptions lo;
  lo.ip = "127.0.0.1";
  lo.port = 0;
  lo.transport = Transport::tls;
  lo.tls = ctx->get();
  auto l = Listener::open(connections, lo, [](Connection&) {});
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().message, "listen tls:127.0.0.1:0: no TLS certificate configured");
  lo.tls = nullptr;
  auto l2 = Listener::open(connections, lo, [](Connection&) {});
  ASSERT_FALSE(l2);
  EXPECT_EQ(l2.error().message, "listen tls:127.0.0.1:0: no TLS certificate configured");
}

}  // namespace
}  // namespace msrpd::net
