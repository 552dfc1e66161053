// TLS through Listener + Connector + Connection on one loop, over 127.0.0.1.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/connector.h"
#include "net/listener.h"
#include "net/tls.h"
#include "recorder.h"
#include "tls_certs.h"

namespace msrpd::net {
namespace {

using testing::client_settings;
using testing::make_context;
using testing::server_settings;
using testing::test_certs;

using testing::Echo;
using testing::Recorder;

// A TLS listener on 127.0.0.1 and a connector on the same loop.
struct TlsPair {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  std::unique_ptr<TlsContext> server_ctx, client_ctx;
  std::unique_ptr<Listener> listener;
  Connector connector{connections};
  Connection* server = nullptr;
  Connection* client = nullptr;
  int accepted = 0;
  bool connect_done = false;
  std::string connect_error;

  bool listen(const TlsSettings& s, ConnectionHandler* h, const ConnectionSettings& cs = {}) {
    server_ctx = make_context(s);
    if (!server_ctx) return false;
    ListenOptions lo;
    lo.ip = "127.0.0.1";
    lo.transport = Transport::tls;
    lo.tls = server_ctx.get();
    lo.settings = cs;
    auto l = Listener::open(connections, lo, [this, h](Connection& c) {
      ++accepted;
      server = &c;
      c.set_handler(h);
    });
    if (!l) {
      ADD_FAILURE() << l.error().message;
      return false;
    }
    listener = std::move(*l);
    return true;
  }

  // Starts a connect; run the loop to see it finish.
  void connect(const TlsSettings& s, ConnectionHandler* h, std::string verify_host = "localhost",
               const ConnectionSettings& cs = {}) {
    client_ctx = make_context(s);
    ASSERT_TRUE(client_ctx);
    ConnectOptions co;
    co.transport = Transport::tls;
    co.tls = client_ctx.get();
    co.verify_host = std::move(verify_host);
    co.settings = cs;
    connector.connect(
        "127.0.0.1", listener->port(),
        [this, h](Result<Connection*> r) {
          connect_done = true;
          if (!r) {
            connect_error = r.error().message;
            return;
          }
          client = *r;
          client->set_handler(h);
        },
        co);
  }

  bool open(const TlsSettings& ss, ConnectionHandler* sh, const TlsSettings& cs, ConnectionHandler* ch) {
    if (!listen(ss, sh)) return false;
    connect(cs, ch);
    bool ok = loop.run_until([&] { return connect_done && (server || !connect_error.empty()); }, 5000);
    if (!connect_error.empty()) ADD_FAILURE() << connect_error;
    return ok && client && server;
  }
};

// A raw non-blocking TCP socket to the listener (a client that does not speak TLS).
int raw_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

// Runs the loop until the raw socket sees EOF (0) or an error (-errno); what came before is in *got.
int wait_raw_end(EventLoop& loop, int fd, std::string* got, int timeout_ms) {
  int end = 1;
  loop.run_until(
      [&] {
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
          got->append(buf, static_cast<size_t>(n));
          return false;
        }
        if (n == 0) {
          end = 0;
          return true;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        end = -errno;
        return true;
      },
      timeout_ms);
  return end;
}

constexpr size_t kTotal = 10 * 1024 * 1024;
constexpr size_t kChunk = 100 * 1000;

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + i / 4099) & 0xff);
  return s;
}

TEST(TlsConnection, EchoThroughListenerAndConnectorWithVerification) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  TlsSettings ss = server_settings();
  ss.verify_certificate = true;
  ASSERT_TRUE(p.open(ss, &server, client_settings(), &client));
  EXPECT_EQ(p.client->transport(), Transport::tls);
  EXPECT_EQ(p.server->transport(), Transport::tls);
  ASSERT_TRUE(p.client->send("MSRP a786hjs2 SEND\r\n").ok());
  ASSERT_TRUE(p.loop.run_until([&] { return client.data.size() == 20; }, 5000));
  EXPECT_EQ(client.data, "MSRP a786hjs2 SEND\r\n");
  EXPECT_EQ(server.data, "MSRP a786hjs2 SEND\r\n");
  // RFC 4976 §6.1: a valid client certificate marks the peer as a relay.
  EXPECT_TRUE(p.server->peer_certificate_verified());
  EXPECT_EQ(p.server->peer_certificate_dns_names(), std::vector<std::string>{"relay-a.example.com"});
  ASSERT_NE(p.server->peer_certificate(), nullptr);
  EXPECT_EQ(p.server->peer_certificate()->subject, "CN=relay-a.example.com");
  EXPECT_TRUE(p.client->peer_certificate_verified());
  EXPECT_EQ(p.client->peer_certificate_dns_names(), std::vector<std::string>{"localhost"});
  EXPECT_EQ(p.client->peer_certificate()->version, "TLSv1.3");
}

TEST(TlsConnection, AcceptWithoutHandlerClosesTheConnectionAfterTheHandshake) {
  ASSERT_TRUE(test_certs().ok);
  Recorder client;
  TlsPair p;
  ASSERT_TRUE(p.listen(server_settings(), nullptr));  // the accept callback sets no handler
  p.connect(client_settings(), &client);
  ASSERT_TRUE(p.loop.run_until([&] { return client.closed; }, 5000)) << p.connect_error;
  EXPECT_EQ(p.accepted, 1);
  EXPECT_EQ(client.reason, CloseReason::peer_closed);
  EXPECT_EQ(p.listener->handshake_failures(), 0u);
}

TEST(TlsConnection, TcpConnectionHasNoPeerCertificate) {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  Recorder h;
  Connection* server = nullptr;
  ListenOptions lo;
  lo.ip = "127.0.0.1";
  auto l = Listener::open(connections, lo, [&](Connection& c) {
    server = &c;
    c.set_handler(&h);
  });
  ASSERT_TRUE(l);
  int fd = raw_connect((*l)->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(loop.run_until([&] { return server != nullptr; }, 3000));
  EXPECT_EQ(server->peer_certificate(), nullptr);
  EXPECT_FALSE(server->peer_certificate_verified());
  EXPECT_TRUE(server->peer_certificate_dns_names().empty());
  ::close(fd);
}

TEST(TlsConnection, ClientWithoutCertificateIsAcceptedAsUnverifiedWhenNotRequired) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  TlsSettings ss = server_settings();
  ss.verify_certificate = true;
  ASSERT_TRUE(p.open(ss, &server, client_settings(false), &client));
  EXPECT_FALSE(p.server->peer_certificate_verified());
  EXPECT_FALSE(p.server->peer_certificate()->present);
  EXPECT_TRUE(p.server->peer_certificate_dns_names().empty());
}

TEST(TlsConnection, ClientCertificateFromUnknownCaIsUnverifiedWhenNotRequired) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  TlsSettings ss = server_settings();
  ss.verify_certificate = true;
  TlsSettings cs = client_settings();
  cs.certificate = test_certs().rogue_client_cert;
  cs.private_key = test_certs().rogue_key;
  ASSERT_TRUE(p.open(ss, &server, cs, &client));
  EXPECT_TRUE(p.server->peer_certificate()->present);
  EXPECT_FALSE(p.server->peer_certificate_verified());
  // The client sent its certificate alone, without the rogue CA.
  EXPECT_EQ(p.server->peer_certificate()->verify_error, "unable to verify the first certificate");
  // The names are still there for logging, but only a verified certificate makes a relay.
  EXPECT_EQ(p.server->peer_certificate_dns_names(), std::vector<std::string>{"rogue.example.com"});
}

TEST(TlsConnection, ServerWithoutVerifySendsNoCertificateRequest) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  ASSERT_TRUE(p.open(server_settings(), &server, client_settings(), &client));
  EXPECT_FALSE(p.server->peer_certificate()->present);
  EXPECT_FALSE(p.server->peer_certificate_verified());
}

TEST(TlsConnection, IpLiteralNextHopIsVerifiedAgainstTheIpAddressSan) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  ASSERT_TRUE(p.listen(server_settings(), &server));
  p.connect(client_settings(), &client, "127.0.0.1");
  ASSERT_TRUE(p.loop.run_until([&] { return p.connect_done; }, 5000));
  EXPECT_EQ(p.connect_error, "");
  ASSERT_NE(p.client, nullptr);
  EXPECT_TRUE(p.client->peer_certificate_verified());
}

TEST(TlsConnection, ConnectWithoutVerifyHostChecksTheIpConnectedTo) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  ASSERT_TRUE(p.listen(server_settings(), &server));
  p.connect(client_settings(), &client, "");  // connector.h: connect() checks the ip
  ASSERT_TRUE(p.loop.run_until([&] { return p.connect_done; }, 5000));
  EXPECT_EQ(p.connect_error, "");
  ASSERT_NE(p.client, nullptr);
  EXPECT_TRUE(p.client->peer_certificate_verified());
}

TEST(TlsConnection, TenMegabytesWithBackpressureArriveInOrder) {
  ASSERT_TRUE(test_certs().ok);
  const std::string data = pattern(kTotal);

  // Reader: takes at most 64 KB per call, then pauses until the next iteration.
  struct Slow : ConnectionHandler {
    std::string got;
    Timer* resume = nullptr;
    int calls = 0;
    size_t on_data(Connection& c, std::string_view d) override {
      size_t n = std::min<size_t>(d.size(), 64 * 1024);
      got.append(d.substr(0, n));
      c.pause_reading();
      resume->start(++calls % 4 == 0 ? 1 : 0);
      return n;
    }
  } reader;

  struct Writer : ConnectionHandler {
    const std::string* src = nullptr;
    size_t sent = 0, max_queued = 0;
    int drained = 0, blocked = 0;
    void pump(Connection& c) {
      while (sent < src->size() && !c.above_high_watermark()) {
        size_t n = std::min(kChunk, src->size() - sent);
        ASSERT_TRUE(c.send(std::string_view(*src).substr(sent, n)).ok());
        sent += n;
        max_queued = std::max(max_queued, c.queued_bytes());
      }
      if (sent < src->size()) ++blocked;
    }
    size_t on_data(Connection&, std::string_view d) override { return d.size(); }
    void on_drained(Connection& c) override {
      ++drained;
      pump(c);
    }
  } writer;
  writer.src = &data;

  TlsPair p;
  ASSERT_TRUE(p.listen(server_settings(), &reader));
  ConnectionSettings cs;
  cs.write_high_watermark = 256 * 1024;
  cs.write_low_watermark = 64 * 1024;
  p.connect(client_settings(), &writer, "localhost", cs);
  ASSERT_TRUE(p.loop.run_until([&] { return p.client && p.server; }, 5000)) << p.connect_error;
  Timer resume(p.loop, [&] { p.server->resume_reading(); });
  reader.resume = &resume;
  writer.pump(*p.client);
  ASSERT_TRUE(p.loop.run_until([&] { return reader.got.size() == kTotal; }, 60000)) << reader.got.size();
  EXPECT_TRUE(reader.got == data);
  EXPECT_GT(writer.blocked, 0);
  EXPECT_GT(writer.drained, 0);
  EXPECT_LE(writer.max_queued, cs.write_high_watermark + kChunk);
  EXPECT_EQ(p.client->queued_bytes(), 0u);
}

TEST(TlsConnection, OpensslSClientLineArrivesAndTheReplyComesBack) {
  ASSERT_TRUE(test_certs().ok);
  Recorder server;
  TlsPair p;
  ASSERT_TRUE(p.listen(server_settings(), &server));
  server.after_data = [&server](Connection& c) {
    if (server.data.find('\n') != std::string::npos && c.is_open()) {
      (void)c.send("pong\n");
      c.close_after_flush();  // close_notify ends s_client
    }
  };
  const std::string out = test_certs().dir + "/s_client.out";
  std::string cmd = "printf 'hello over tls\\n' | timeout 10 openssl s_client -quiet -connect 127.0.0.1:" +
                    std::to_string(p.listener->port()) + " -CAfile " + test_certs().ca +
                    " -verify_return_error -verify_hostname localhost -servername localhost >" + out +
                    " 2>/dev/null";
  int rc = -1;
  std::thread t([&] { rc = std::system(cmd.c_str()); });  // rc is read after join only
  bool got = p.loop.run_until([&] { return server.data == "hello over tls\n" && server.closed; }, 12000);
  EXPECT_EQ(server.reason, CloseReason::local);  // s_client answered our close_notify
  // Keep serving until the subprocess is gone (it needs our close_notify / FIN).
  p.loop.run_until([&] { return false; }, 200);
  t.join();
  EXPECT_TRUE(got) << server.data;
  EXPECT_EQ(server.data, "hello over tls\n");
  std::ifstream err(out + ".err");
  std::stringstream es;
  es << err.rdbuf();
  EXPECT_EQ(rc, 0) << es.str();
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "pong\n");
}

TEST(TlsConnection, PlainTcpClientOnTheTlsPortIsClosedAndTheLoopServesTheNextClient) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  TlsPair p;
  ASSERT_TRUE(p.listen(server_settings(), &server));
  int fd = raw_connect(p.listener->port());
  ASSERT_GE(fd, 0);
  const char line[] = "MSRP a786hjs2 SEND\r\nTo-Path: msrp://x\r\n\r\n";
  ASSERT_EQ(::send(fd, line, sizeof line - 1, 0), static_cast<ssize_t>(sizeof line - 1));
  std::string got;
  EXPECT_EQ(wait_raw_end(p.loop, fd, &got, 5000), 0);  // an orderly FIN, not a reset
  ::close(fd);
  EXPECT_EQ(p.accepted, 0);
  EXPECT_EQ(p.listener->handshake_failures(), 1u);
  EXPECT_EQ(p.listener->handshakes_in_progress(), 0u);
  EXPECT_NE(p.listener->last_handshake_error().find("tls handshake with 127.0.0.1:"), std::string::npos);

  Recorder client;
  p.connect(client_settings(), &client);
  ASSERT_TRUE(p.loop.run_until([&] { return p.client && p.server; }, 5000)) << p.connect_error;
  ASSERT_TRUE(p.client->send("ping").ok());
  ASSERT_TRUE(p.loop.run_until([&] { return client.data == "ping"; }, 5000));
}

TEST(TlsConnection, ClientCertificateFromUnknownCaIsRefusedWhenRequired) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  TlsSettings ss = server_settings();
  ss.require_certificate = true;
  ASSERT_TRUE(p.listen(ss, &server));
  TlsSettings cs = client_settings();
  cs.certificate = test_certs().rogue_client_cert;
  cs.private_key = test_certs().rogue_key;
  p.connect(cs, &client);
  // TLS 1.3: the client may finish before the server has checked its certificate, so the refusal
  // reaches it either as a connect error or as a close right after.
  ASSERT_TRUE(p.loop.run_until(
      [&] { return p.listener->handshake_failures() == 1 && p.connect_done && (!p.client || client.closed); },
      5000));
  EXPECT_EQ(p.accepted, 0);
  const std::string& e = p.listener->last_handshake_error();
  EXPECT_EQ(e.rfind("tls handshake with 127.0.0.1:", 0), 0u) << e;
  const std::string why = ": certificate verify failed: unable to get local issuer certificate";
  EXPECT_TRUE(e.size() > why.size() && e.compare(e.size() - why.size(), why.size(), why) == 0) << e;
}

TEST(TlsConnection, ClientWithoutCertificateIsRefusedWhenRequired) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  TlsSettings ss = server_settings();
  ss.require_certificate = true;
  ASSERT_TRUE(p.listen(ss, &server));
  p.connect(client_settings(false), &client);
  ASSERT_TRUE(p.loop.run_until(
      [&] { return p.listener->handshake_failures() == 1 && p.connect_done && (!p.client || client.closed); },
      5000));
  EXPECT_EQ(p.accepted, 0);
  EXPECT_NE(p.listener->last_handshake_error().find("peer did not return a certificate"), std::string::npos)
      << p.listener->last_handshake_error();
}

TEST(TlsConnection, ClientWithValidCertificateIsAcceptedWhenRequired) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  TlsSettings ss = server_settings();
  ss.require_certificate = true;
  ASSERT_TRUE(p.open(ss, &server, client_settings(), &client));
  EXPECT_TRUE(p.server->peer_certificate_verified());
}

TEST(TlsConnection, ConnectToAServerWithAnotherHostsCertificateFailsWithVerifyError) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  TlsSettings ss = server_settings();
  ss.certificate = test_certs().wrong_cert;
  ss.private_key = test_certs().wrong_key;
  ASSERT_TRUE(p.listen(ss, &server));
  p.connect(client_settings(), &client, "localhost");
  ASSERT_TRUE(p.loop.run_until([&] { return p.connect_done; }, 5000));
  EXPECT_EQ(p.client, nullptr);
  EXPECT_EQ(p.connect_error, "tls handshake with 127.0.0.1:" + std::to_string(p.listener->port()) +
                                 ": certificate verify failed: hostname mismatch");
  EXPECT_EQ(p.accepted, 0);
  EXPECT_EQ(p.connections.size(), 0u);
}

TEST(TlsConnection, ConnectToAServerFromAnUntrustedCaFailsWithVerifyError) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  ASSERT_TRUE(p.listen(server_settings(), &server));
  TlsSettings cs = client_settings();
  cs.ca_list = test_certs().rogue_ca;
  p.connect(cs, &client, "localhost");
  ASSERT_TRUE(p.loop.run_until([&] { return p.connect_done; }, 5000));
  // The server sends its chain up to its CA (built from its ca_list), which we do not trust.
  EXPECT_EQ(p.connect_error, "tls handshake with 127.0.0.1:" + std::to_string(p.listener->port()) +
                                 ": certificate verify failed: self-signed certificate in certificate chain");
}

TEST(TlsConnection, StalledHandshakeIsClosedAfterTheHandshakeTimeout) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  TlsPair p;
  TlsSettings ss = server_settings();
  ss.handshake_timeout_ms = 150;
  ASSERT_TRUE(p.listen(ss, &server));
  int fd = raw_connect(p.listener->port());
  ASSERT_GE(fd, 0);
  sockaddr_in local{};
  socklen_t len = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  int64_t start = p.loop.now();
  ASSERT_TRUE(p.loop.run_until([&] { return p.listener->handshakes_in_progress() == 1; }, 2000));
  std::string got;
  EXPECT_EQ(wait_raw_end(p.loop, fd, &got, 3000), 0);
  p.loop.update_now();
  int64_t took = p.loop.now() - start;
  ::close(fd);
  EXPECT_GE(took, 140);
  EXPECT_LT(took, 2000);
  EXPECT_EQ(got, "");
  EXPECT_EQ(p.listener->handshakes_in_progress(), 0u);
  EXPECT_EQ(p.listener->handshake_failures(), 1u);
  EXPECT_EQ(p.listener->last_handshake_error(),
            "tls handshake with 127.0.0.1:" + std::to_string(ntohs(local.sin_port)) + ": timeout");
}

TEST(TlsConnection, CloseAfterFlushSendsCloseNotifyAndThePeerSeesAnOrderlyClose) {
  ASSERT_TRUE(test_certs().ok);
  Recorder server;
  Recorder client;
  TlsPair p;
  ASSERT_TRUE(p.open(server_settings(), &server, client_settings(), &client));
  ASSERT_TRUE(p.server->send("bye").ok());
  p.server->close_after_flush();
  // The client gets the bytes, then close_notify (EOF); its own close ends the server's linger.
  ASSERT_TRUE(p.loop.run_until([&] { return client.closed; }, 5000));
  EXPECT_EQ(client.data, "bye");
  EXPECT_EQ(client.reason, CloseReason::peer_closed);
  ASSERT_TRUE(p.loop.run_until([&] { return server.closed; }, 5000));
  EXPECT_EQ(server.reason, CloseReason::local);
}

TEST(TlsConnection, MinimumVersionIsEnforced) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  TlsSettings ss = server_settings();
  ss.tls_method = "TLSv1.3";
  ASSERT_TRUE(p.listen(ss, &server));
  TlsSettings cs = client_settings();
  cs.tls_method = "TLSv1.2";
  p.connect(cs, &client);
  ASSERT_TRUE(
      p.loop.run_until([&] { return p.connect_done && p.listener->handshake_failures() == 1; }, 5000));
  EXPECT_EQ(p.client, nullptr);
  EXPECT_EQ(p.connect_error.rfind("tls handshake with 127.0.0.1:", 0), 0u) << p.connect_error;
}

TEST(TlsConnection, Tls12SessionWorksWhenBothAllowIt) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  TlsSettings cs = client_settings();
  cs.tls_method = "TLSv1.2";
  TlsSettings ss = server_settings();
  ss.verify_certificate = true;
  ASSERT_TRUE(p.open(ss, &server, cs, &client));
  EXPECT_EQ(p.client->peer_certificate()->version, "TLSv1.2");
  EXPECT_TRUE(p.server->peer_certificate_verified());
  ASSERT_TRUE(p.client->send("x").ok());
  ASSERT_TRUE(p.loop.run_until([&] { return client.data == "x"; }, 5000));
}

TEST(TlsConnection, TlsConnectionsJoinTheReusePoolUnderTls) {
  ASSERT_TRUE(test_certs().ok);
  Echo server;
  Recorder client;
  TlsPair p;
  ASSERT_TRUE(p.open(server_settings(), &server, client_settings(), &client));
  EXPECT_EQ(p.connections.find_reusable(Transport::tls, "127.0.0.1", p.listener->port()), p.client);
  EXPECT_EQ(p.connections.find_reusable(Transport::tcp, "127.0.0.1", p.listener->port()), nullptr);
}

}  // namespace
}  // namespace msrpd::net
