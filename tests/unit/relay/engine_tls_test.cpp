// The tls module's settings for the engine: modparams (Kamailio names) and tls.cfg sections.
#include "relay/engine_tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "forwarded.h"

#include "relay/engine.h"
#include "relay/route_example18.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace msrpd::relay {
namespace {

TEST(EngineTlsSettings, ModparamsMapToTheSettings) {
  auto s = tls_settings_from_params({{"certificate", "/c.pem"},
                                     {"private_key", "/k.pem"},
                                     {"ca_list", "/ca.pem"},
                                     {"verify_certificate", "1"},
                                     {"require_certificate", "yes"},
                                     {"tls_method", "TLSv1.3+"},
                                     {"cipher_list", "HIGH"},
                                     {"server_name", "relay.example.com"},
                                     {"verify_depth", "3"},
                                     {"session_cache", "0"}});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->certificate, "/c.pem");
  EXPECT_EQ(s->private_key, "/k.pem");
  EXPECT_EQ(s->ca_list, "/ca.pem");
  EXPECT_TRUE(s->verify_certificate);
  EXPECT_TRUE(s->require_certificate);
  EXPECT_TRUE(s->verify_server);  // RFC 4975 §6: next hops are always checked by default
  EXPECT_EQ(s->tls_method, "TLSv1.3+");
  EXPECT_EQ(s->cipher_list, "HIGH");
  EXPECT_EQ(s->server_name, "relay.example.com");
  EXPECT_EQ(s->verify_depth, 3);
}

TEST(EngineTlsSettings, RelativeFilesAreTakenFromTheScriptDirectory) {
  auto s = tls_settings_from_params({{"certificate", "relay.pem"}, {"ca_list", "/abs/ca.pem"}}, "/etc/msrpd");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->certificate, "/etc/msrpd/relay.pem");
  EXPECT_EQ(s->ca_list, "/abs/ca.pem");
}

TEST(EngineTlsSettings, BadBooleanNamesTheParameter) {
  auto s = tls_settings_from_params({{"verify_certificate", "maybe"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "tls verify_certificate: 'maybe' is not a boolean");
}

TEST(EngineTlsSettings, TlsCfgServerAndClientDefaultSections) {
  net::TlsSettings s;
  s.certificate = "/modparam.pem";
  auto r = apply_tls_cfg(s,
                         "# comment\n"
                         "[server:default]\n"
                         "method = TLSv1.2+\n"
                         "certificate = relay.pem   # trailing comment\n"
                         "private_key = \"relay.key\"\n"
                         "verify_certificate = yes\n"
                         "require_certificate = no\n"
                         "\n"
                         "[server:10.0.0.1:5061]\n"
                         "certificate = /ignored.pem\n"
                         "[client:default]\n"
                         "certificate = /client.pem\n"
                         "ca_list = /ca.pem\n"
                         "verify_certificate = no\n",
                         "/etc/msrpd/tls.cfg", "/etc/msrpd");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(s.certificate, "/etc/msrpd/relay.pem");  // the server section wins over modparams
  EXPECT_EQ(s.private_key, "/etc/msrpd/relay.key");
  EXPECT_EQ(s.ca_list, "/ca.pem");  // filled in by the client section
  EXPECT_TRUE(s.verify_certificate);
  EXPECT_FALSE(s.require_certificate);
  EXPECT_FALSE(s.verify_server);  // [client:default] verify_certificate = no
}

TEST(EngineTlsSettings, TlsCfgSyntaxErrorsNameFileAndLine) {
  net::TlsSettings s;
  auto r = apply_tls_cfg(s, "[server:default]\ncertificate /x.pem\n", "/etc/msrpd/tls.cfg");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "tls.cfg /etc/msrpd/tls.cfg:2: expected key = value");
  r = apply_tls_cfg(s, "certificate = /x.pem\n", "t.cfg");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "tls.cfg t.cfg:1: key outside a [section]");
}

TEST(EngineTlsSettings, ConfigParamReadsTheFile) {
  char tmpl[] = "/tmp/msrpd-tlscfg-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(tmpl) << "[server:default]\ncertificate = /from-file.pem\n";
  auto s = tls_settings_from_params({{"config", tmpl}, {"certificate", "/modparam.pem"}});
  std::remove(tmpl);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->certificate, "/from-file.pem");
  auto missing = tls_settings_from_params({{"config", "/nonexistent/tls.cfg"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "tls config /nonexistent/tls.cfg: cannot be read");
}

// A DNS server on 127.0.0.1 (UDP) that answers every SRV question with one record
// (priority 10, weight 5, port `port`, target `target`) and every other question (every question
// when target is empty) with NXDOMAIN.
class FakeDns {
 public:
  FakeDns(std::string target, uint16_t port) : target_(std::move(target)), port_(port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    bound_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeDns() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string server() const { return "127.0.0.1:" + std::to_string(bound_); }
  std::vector<std::string> questions() {
    std::lock_guard<std::mutex> g(mu_);
    return questions_;
  }

 private:
  void run() {
    unsigned char buf[512];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 12) continue;
      // The question: labels, type, class.
      size_t q = 12;
      std::string name;
      while (q < static_cast<size_t>(n) && buf[q] != 0) {
        if (!name.empty()) name.push_back('.');
        name.append(reinterpret_cast<char*>(buf + q + 1), buf[q]);
        q += buf[q] + 1;
      }
      if (q + 5 > static_cast<size_t>(n)) continue;
      uint16_t type = static_cast<uint16_t>(buf[q + 1] << 8 | buf[q + 2]);
      size_t qend = q + 5;
      {
        std::lock_guard<std::mutex> g(mu_);
        questions_.push_back(name + (type == 33 ? " SRV" : " " + std::to_string(type)));
      }
      std::string out(reinterpret_cast<char*>(buf), qend);
      out[2] = static_cast<char>(0x84 | (buf[2] & 0x01));  // QR, AA, RD copied
      bool srv = type == 33 && !target_.empty();
      out[3] = static_cast<char>(srv ? 0x80 : 0x83);  // RA; NXDOMAIN for other questions
      out[6] = 0;
      out[7] = srv ? 1 : 0;
      out[8] = out[9] = out[10] = out[11] = 0;
      if (srv) {
        std::string rd;
        auto u16 = [&](uint16_t v) {
          rd.push_back(static_cast<char>(v >> 8));
          rd.push_back(static_cast<char>(v & 0xff));
        };
        u16(10);
        u16(5);
        u16(port_);
        size_t s = 0;
        while (s < target_.size()) {
          size_t dot = target_.find('.', s);
          if (dot == std::string::npos) dot = target_.size();
          rd.push_back(static_cast<char>(dot - s));
          rd.append(target_, s, dot - s);
          s = dot + 1;
        }
        rd.push_back(0);
        out.append("\xc0\x0c", 2);                          // the name: a pointer to the question
        out.append("\x00\x21\x00\x01\x00\x00\x00\x3c", 8);  // SRV, IN, TTL 60
        out.push_back(static_cast<char>(rd.size() >> 8));
        out.push_back(static_cast<char>(rd.size() & 0xff));
        out.append(rd);
      }
      ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }
  std::string target_;
  uint16_t port_;
  int fd_ = -1;
  uint16_t bound_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> questions_;
};

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until `needle` arrived (bounded by the socket's 5 s receive timeout).
std::string read_until(int fd, std::string_view needle) {
  std::string got;
  char buf[4096];
  while (got.find(needle) == std::string::npos) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// RFC 4976 §8: a next hop without a port is looked up as SRV "_msrp._tcp.<host>" (msrps:
// "_msrps._tcp"), and the frame goes to the SRV target's port.
TEST(EngineResolution, NextHopWithoutPortFollowsItsSrvRecord) {
  // The next hop: a plain listening socket.
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t hop_port = ntohs(a.sin_port);
  FakeDns dns("127.0.0.1", hop_port);

  Example18Route route;
  EngineConfig cfg;
  cfg.listen.push_back({"tcp", "127.0.0.1", 0, {}});
  cfg.children = 1;
  cfg.cmap_size = 4;
  cfg.dns_servers = {dns.server()};
  cfg.open_relay = true;  // next-hop resolution from an unauthenticated sender: the point here
  Engine engine(cfg, route);
  auto r = engine.start();
  ASSERT_TRUE(r.ok()) << r.error().message;
  uint16_t port = engine.bound_ports().at(0);
  std::string relay = "msrp://127.0.0.1:" + std::to_string(port) + ";tcp";

  int c = connect_to(port);
  ASSERT_GE(c, 0);
  std::string frame =
      "MSRP srv0001 SEND\r\nTo-Path: " + relay +
      " msrp://relay.test/s1;tcp msrp://b.test:9/b;tcp\r\nFrom-Path: msrp://a.test:9/a;tcp\r\n"
      "Message-ID: m1\r\nContent-Type: text/plain\r\n\r\nhi\r\n-------srv0001$\r\n";
  ASSERT_EQ(::write(c, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  EXPECT_EQ(read_until(c, "-------srv0001$\r\n").rfind("MSRP srv0001 200 OK\r\n", 0), 0u);

  pollfd p{lfd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the SRV target was not connected to";
  int hop = ::accept(lfd, nullptr, nullptr);
  timeval tv{5, 0};
  ::setsockopt(hop, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // The relay's own transaction id (RFC 4976 §6.4) is not known here: read up to the end-line.
  std::string got = testing::forwarded_as(read_until(hop, "$\r\n"), "srv0001");
  EXPECT_EQ(got,
            "MSRP srv0001 SEND\r\nTo-Path: msrp://relay.test/s1;tcp msrp://b.test:9/b;tcp\r\n"
            "From-Path: " +
                relay +
                " msrp://a.test:9/a;tcp\r\n"
                "Message-ID: m1\r\nContent-Type: text/plain\r\n\r\nhi\r\n-------srv0001$\r\n");
  auto qs = dns.questions();
  ASSERT_FALSE(qs.empty());
  EXPECT_EQ(qs[0], "_msrp._tcp.relay.test SRV");

  // RFC 4975 §5.4: the next frame for the same URI host goes over the same connection.
  std::string second = frame;
  for (std::string from : {"srv0001"}) {
    size_t at;
    while ((at = second.find(from)) != std::string::npos) second.replace(at, from.size(), "srv0002");
  }
  ASSERT_EQ(::write(c, second.data(), second.size()), static_cast<ssize_t>(second.size()));
  EXPECT_EQ(read_until(c, "-------srv0002$\r\n").rfind("MSRP srv0002 200 OK\r\n", 0), 0u);
  std::string got2 = testing::forwarded_as(read_until(hop, "$\r\n"), "srv0002");
  EXPECT_EQ(got2.rfind("MSRP srv0002 SEND\r\n", 0), 0u) << got2;
  pollfd again{lfd, POLLIN, 0};
  EXPECT_EQ(::poll(&again, 1, 300), 0) << "a second connection was opened";
  ::close(hop);
  ::close(c);
  ::close(lfd);
  engine.stop();
}

// Without SRV records: the host's own address on port 2855 is tried; the failure (nothing there,
// or no address) comes back upstream as a REPORT, not a hung frame.
TEST(EngineResolution, NextHopWithoutSrvRecordFallsBackToTheHostAndReportsFailure) {
  FakeDns dns("", 0);
  Example18Route route;
  EngineConfig cfg;
  cfg.listen.push_back({"tcp", "127.0.0.1", 0, {}});
  cfg.children = 1;
  cfg.dns_servers = {dns.server()};
  cfg.open_relay = true;  // next-hop resolution from an unauthenticated sender: the point here
  Engine engine(cfg, route);
  ASSERT_TRUE(engine.start().ok());
  uint16_t port = engine.bound_ports().at(0);
  std::string relay = "msrp://127.0.0.1:" + std::to_string(port) + ";tcp";
  int c = connect_to(port);
  ASSERT_GE(c, 0);
  // An msrps hop: the SRV name is "_msrps._tcp"; then relay.test itself, which has no address.
  std::string frame =
      "MSRP srv0002 SEND\r\nTo-Path: " + relay +
      " msrps://relay.test/s1;tcp msrp://b.test:9/b;tcp\r\nFrom-Path: msrp://a.test:9/a;tcp\r\n"
      "Message-ID: m2\r\nContent-Type: text/plain\r\n\r\nhi\r\n-------srv0002$\r\n";
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::write(c, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  std::string got = read_until(c, "Status: 000 481");
  EXPECT_NE(got.find(" REPORT\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("Status: 000 481"), std::string::npos) << got;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  auto qs = dns.questions();
  ASSERT_FALSE(qs.empty());
  EXPECT_EQ(qs[0], "_msrps._tcp.relay.test SRV");
  bool asked_host = false;
  for (const auto& q : qs) asked_host = asked_host || q.rfind("relay.test ", 0) == 0;
  EXPECT_TRUE(asked_host) << "the A/AAAA fallback was not asked";
  ::close(c);
  engine.stop();
}

}  // namespace
}  // namespace msrpd::relay
