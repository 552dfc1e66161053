// Relay chains (RFC 4976 §6.4, §8, §9): two msrpd relays (TCP, and TLS between them), msrpd and
// Kamailio 5.6 in either order, AUTH through an outer relay to an inner one, next hops without a
// port. Every relay runs the seed's Example 1.18 route. Exact bytes on the wire.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "forwarded.h"
#include "tls_support.h"

namespace msrpd::itest {
namespace {

using client::Client;
using client::ReceivedFrame;

std::string tcp_uri(uint16_t port, std::string_view session = {}) {
  std::string u = "msrp://127.0.0.1:" + std::to_string(port);
  if (!session.empty()) u.append("/").append(session);
  return u + ";tcp";
}

std::string client_uri(const Client& c, std::string_view name) {
  return "msrp://127.0.0.1:" + std::to_string(c.local_port()) + "/" + std::string(name) + ";tcp";
}

// Kamailio 5.6 from Debian (/usr/sbin/kamailio) running Example 1.18 on 127.0.0.1:port.
class Kamailio {
 public:
  static bool installed() { return ::access(kBinary, X_OK) == 0; }
  ~Kamailio() { stop(); }
  bool start(uint16_t port) {
    port_ = port;
    char tmpl[] = "/tmp/msrpd-kam-XXXXXX";
    if (!::mkdtemp(tmpl)) return false;
    dir_ = tmpl;
    std::string text = read_file(source_path("examples/kamailio-1.18.cfg"));
    std::string cfg;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos + 1);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      if (line.find("mi_fifo") != std::string::npos) continue;
      if (line.rfind("listen=", 0) == 0) line = "listen=tcp:127.0.0.1:" + std::to_string(port) + "\n";
      if (line.rfind("mpath=", 0) == 0) line = "mpath=\"/usr/lib/x86_64-linux-gnu/kamailio/modules/\"\n";
      if (line.rfind("children=", 0) == 0) line = "children=2\n";
      // Kamailio prints use_path_addr after "msrp://": host:port, as its documentation says.
      if (line.find("\"use_path_addr\"") != std::string::npos)
        line = "modparam(\"msrp\", \"use_path_addr\", \"127.0.0.1:" + std::to_string(port) + "\")\n";
      cfg += line;
    }
    std::ofstream(dir_ + "/kamailio.cfg") << cfg;
    log_path_ = dir_ + "/kamailio.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::string f = dir_ + "/kamailio.cfg", pidf = dir_ + "/pid";
      ::execl(kBinary, kBinary, "-f", f.c_str(), "-DD", "-E", "-m", "64", "-M", "8", "-w", dir_.c_str(), "-Y",
              dir_.c_str(), "-P", pidf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto c = Client::connect("127.0.0.1", port_, 200)) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      int status = 0;
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      pid_ = -1;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }
  std::string log() const { return read_file(log_path_); }
  uint16_t port() const { return port_; }

 private:
  static constexpr const char* kBinary = "/usr/sbin/kamailio";
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string dir_, log_path_;
};

class Chain : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "--- relay1 log ---\n%s\n--- relay2 log ---\n%s\n", r1_.log().c_str(),
                   r2_.log().c_str());
    }
    for (auto& c : cfgs_) std::remove(c.c_str());
  }
  // An msrpd relay without use_path_addr (its Use-Path is its own socket), tls params if any.
  bool start_relay(Msrpd& d, std::vector<std::string> tls = {}, std::vector<std::string> args = {}) {
    cfgs_.push_back(write_relay_cfg({{}, std::move(tls)}));
    args.insert(args.begin(), {"-n", "2"});
    bool ok = d.start(cfgs_.back(), args, free_port_except(taken_));
    taken_.push_back(d.port());
    return ok;
  }
  // B connects to `port` and AUTHs there; returns its Use-Path.
  std::string auth_at(Client& b, uint16_t port, const std::string& b_uri) {
    auto a = client::authenticate(b, tcp_uri(port), b_uri, "bob", "xyz123");
    EXPECT_TRUE(a) << (a ? "" : a.error().message);
    if (!a) return {};
    EXPECT_EQ(a->answer.code, 200) << a->answer.raw;
    return a->answer.header("Use-Path");
  }
  // RFC 4976 §6.3, §6.4: a relay forwards outward only on a session it handed out to the sender's
  // connection, so a sender first AUTHs at its edge relay and names that session as its first hop.
  // Returns the session URI (the Use-Path), empty when the AUTH failed.
  std::string edge_session(Client& a, uint16_t port, std::string_view name = "alice") {
    return auth_at(a, port, client_uri(a, name));
  }
  // A sends a SEND with To-Path `to`; B must receive it with `expected_from` as From-Path.
  void expect_send_crosses(Client& alice, const std::string& to, Client& bob, const std::string& bob_uri,
                           const std::string& expected_from, size_t body_size = 3000) {
    std::string alice_uri = client_uri(alice, "alice");
    std::string body(body_size, 'x');
    for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('A' + i % 26);
    std::string tid = client::random_id(10);
    ASSERT_TRUE(alice.send(client::make_send(tid, to, alice_uri, "msg-" + tid, body)));
    auto got = bob.read_frame();
    ASSERT_TRUE(got) << got.error().message;
    // RFC 4976 §6.4: the last msrpd on the way gave it an id of its own (Kamailio keeps ids).
    EXPECT_EQ(testing::forwarded_as(got->raw, tid),
              "MSRP " + tid + " SEND\r\nTo-Path: " + bob_uri + "\r\nFrom-Path: " + expected_from + " " +
                  alice_uri + "\r\nMessage-ID: msg-" + tid + "\r\nContent-Type: text/plain\r\n\r\n" + body +
                  "\r\n-------" + tid + "$\r\n");
    // The outer relay's own 200 (Example 1.18 answers a SEND with nexthops > 1 itself).
    auto ok = alice.read_frame();
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->code, 200) << ok->raw;
    EXPECT_EQ(ok->header("To-Path"), alice_uri);
  }

  Msrpd r1_, r2_;
  std::vector<std::string> cfgs_;
  std::vector<uint16_t> taken_;
};

// RFC 4976 §6.4.3: an AUTH for an inner relay (nexthops > 0) is relayed by the outer one, and the
// response comes back along the whole From-Path: relay1 pops its URI and prepends it to From-Path.
// The client names relay1 by the session relay1 gave it (RFC 4976 §5.1: it AUTHs there first).
TEST_F(Chain, AuthThroughRelay1ToRelay2AndItsResponsesComeBack) {
  ASSERT_TRUE(start_relay(r2_)) << r2_.log();
  ASSERT_TRUE(start_relay(r1_)) << r1_.log();
  Client c = r1_.connect();
  std::string me = client_uri(c, "carol");
  std::string u1 = edge_session(c, r1_.port(), "carol");
  ASSERT_FALSE(u1.empty());
  std::string path = u1 + " " + r2_.uri();
  ASSERT_TRUE(c.send(client::make_request("mh0001", "AUTH", path, me)));
  auto f = c.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->code, 401) << f->raw;
  std::string www = f->header("WWW-Authenticate");
  EXPECT_EQ(f->raw, "MSRP mh0001 401 Unauthorized\r\nTo-Path: " + me + "\r\nFrom-Path: " + u1 + " " +
                        r2_.uri() + "\r\nWWW-Authenticate: " + www + "\r\n-------mh0001$\r\n");

  // The Digest exchange with relay2 (its digest-uri: the rightmost To-Path URI, RFC 4976 §9.1).
  auto a = client::authenticate(c, path, me, "carol", "xyz123");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
  EXPECT_EQ(a->answer.header("To-Path"), me);
  EXPECT_EQ(a->answer.header("From-Path"), u1 + " " + r2_.uri());
  std::string up = a->answer.header("Use-Path");
  // relay2's own socket: the Use-Path names relay2, which relay1 reached over TCP.
  EXPECT_EQ(up.rfind("msrp://127.0.0.1:" + std::to_string(r2_.port()) + "/", 0), 0u) << up;
  EXPECT_TRUE(a->answer.has_header("Authentication-Info")) << a->answer.raw;
}

// A → relay1 → relay2 → B over TCP: To-Path "relay1 relay2-session B".
TEST_F(Chain, SendCrossesTwoMsrpdRelaysByteExact) {
  ASSERT_TRUE(start_relay(r2_)) << r2_.log();
  ASSERT_TRUE(start_relay(r1_)) << r1_.log();
  Client bob = r2_.connect();
  std::string bob_uri = client_uri(bob, "bob");
  std::string use_path = auth_at(bob, r2_.port(), bob_uri);
  ASSERT_FALSE(use_path.empty());
  Client alice = r1_.connect();
  std::string u1 = edge_session(alice, r1_.port());
  ASSERT_FALSE(u1.empty());
  for (size_t size : {10u, 3000u, 200000u}) {
    SCOPED_TRACE(size);
    expect_send_crosses(alice, u1 + " " + use_path + " " + bob_uri, bob, bob_uri, use_path + " " + u1, size);
  }
}

// RFC 4976's client-side chain: B AUTHs at relay1 (its edge relay, session U1) and then at relay2
// through relay1 (session U2), and publishes "U2 U1 B". A, on relay2, sends to that path:
// relay2 → relay1 (a new connection to relay1's address) → B, byte-exact.
TEST_F(Chain, SendReachesClientThatAuthedAtRelay2ThroughRelay1) {
  ASSERT_TRUE(start_relay(r2_)) << r2_.log();
  ASSERT_TRUE(start_relay(r1_)) << r1_.log();
  Client bob = r1_.connect();
  std::string bob_uri = client_uri(bob, "bob");
  std::string u1 = auth_at(bob, r1_.port(), bob_uri);
  ASSERT_FALSE(u1.empty());
  auto a2 = client::authenticate(bob, u1 + " " + r2_.uri(), bob_uri, "bob", "xyz123");
  ASSERT_TRUE(a2) << a2.error().message;
  ASSERT_EQ(a2->answer.code, 200) << a2->answer.raw;
  EXPECT_EQ(a2->answer.header("From-Path"), u1 + " " + r2_.uri());
  std::string u2 = a2->answer.header("Use-Path");
  ASSERT_EQ(u2.rfind("msrp://127.0.0.1:" + std::to_string(r2_.port()) + "/", 0), 0u) << u2;
  Client alice = r2_.connect();
  for (size_t size : {10u, 50000u}) {
    SCOPED_TRACE(size);
    expect_send_crosses(alice, u2 + " " + u1 + " " + bob_uri, bob, bob_uri, u1 + " " + u2, size);
  }
}

// The same with TLS between the relays: relay1 opens an msrps connection to relay2 and checks its
// certificate against 127.0.0.1 (RFC 4976 §9).
TEST_F(Chain, SendCrossesTwoMsrpdRelaysWithTlsBetweenThem) {
  ASSERT_TRUE(test_certs().ok);
  uint16_t tls2 = free_port();
  taken_.push_back(tls2);
  ASSERT_TRUE(start_relay(r2_, relay_tls_params(), {"-l", "tls:127.0.0.1:" + std::to_string(tls2)}))
      << r2_.log();
  ASSERT_TRUE(start_relay(r1_, relay_tls_params())) << r1_.log();
  Client bob = r2_.connect();
  std::string bob_uri = client_uri(bob, "bob");
  std::string use_path = auth_at(bob, r2_.port(), bob_uri);
  ASSERT_FALSE(use_path.empty());
  // The session on relay2, reached over its TLS port.
  std::string session = use_path.substr(use_path.rfind('/') + 1);
  session = session.substr(0, session.find(';'));
  std::string hop2 = "msrps://127.0.0.1:" + std::to_string(tls2) + "/" + session + ";tcp";
  Client alice = r1_.connect();
  std::string u1 = edge_session(alice, r1_.port());
  ASSERT_FALSE(u1.empty());
  for (size_t size : {10u, 100000u}) {
    SCOPED_TRACE(size);
    expect_send_crosses(alice, u1 + " " + hop2 + " " + bob_uri, bob, bob_uri, hop2 + " " + u1, size);
  }
}

// A next hop whose certificate does not match the host of its URI is not used: the SEND's
// failure is reported upstream (RFC 4976 §6.4.1), promptly, and the relay keeps serving.
TEST_F(Chain, MsrpsNextHopWithWrongCertificateIsReportedUpstream) {
  ASSERT_TRUE(test_certs().ok);
  const auto& c = test_certs();
  uint16_t tls2 = free_port();
  taken_.push_back(tls2);
  ASSERT_TRUE(start_relay(r2_, {"certificate", c.wrong_cert, "private_key", c.wrong_key, "ca_list", c.ca},
                          {"-l", "tls:127.0.0.1:" + std::to_string(tls2)}))
      << r2_.log();
  ASSERT_TRUE(start_relay(r1_, relay_tls_params())) << r1_.log();
  Client alice = r1_.connect();
  std::string alice_uri = client_uri(alice, "alice");
  std::string u1 = edge_session(alice, r1_.port());
  ASSERT_FALSE(u1.empty());
  std::string hop2 = "msrps://127.0.0.1:" + std::to_string(tls2) + "/whatever;tcp";
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(alice.send(
      client::make_send("wc0001", u1 + " " + hop2 + " msrp://127.0.0.1:9/bob;tcp", alice_uri, "m1", "hi")));
  auto ok = alice.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->code, 200);
  auto rep = alice.read_frame();
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(rep->method, "REPORT") << rep->raw;
  EXPECT_EQ(rep->header("To-Path"), alice_uri);
  EXPECT_EQ(rep->header("Message-ID"), "m1");
  EXPECT_EQ(rep->header("Status"), "000 481 Session Does Not Exist") << rep->raw;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  EXPECT_NE(r1_.log().find("certificate verify failed: IP address mismatch"), std::string::npos) << r1_.log();
}

// RFC 4976 §8: a URI without a port: the address of the host on port 2855 when it has no SRV
// records ("localhost" never has: RFC 6761 §6.3, no DNS query). With a relay on 2855 the SEND arrives; the
// lookup does not hang the frame either way.
TEST_F(Chain, NextHopWithoutPortIsResolvedToPort2855) {
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(2855);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (!free) GTEST_SKIP() << "port 2855 is in use on this machine";
  }
  ASSERT_TRUE(start_relay(r2_, {}, {})) << r2_.log();
  Msrpd r2855;
  cfgs_.push_back(write_relay_cfg({}));
  ASSERT_TRUE(r2855.start(cfgs_.back(), {"-n", "1"}, 2855)) << r2855.log();
  ASSERT_TRUE(start_relay(r1_)) << r1_.log();
  Client bob = r2855.connect();
  std::string bob_uri = client_uri(bob, "bob");
  std::string use_path = auth_at(bob, 2855, bob_uri);
  ASSERT_FALSE(use_path.empty());
  std::string session = use_path.substr(use_path.rfind('/') + 1);
  session = session.substr(0, session.find(';'));
  std::string hop2 = "msrp://localhost/" + session + ";tcp";
  Client alice = r1_.connect();
  std::string u1 = edge_session(alice, r1_.port());
  ASSERT_FALSE(u1.empty());
  auto t0 = std::chrono::steady_clock::now();
  expect_send_crosses(alice, u1 + " " + hop2 + " " + bob_uri, bob, bob_uri, hop2 + " " + u1, 100);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  if (HasFailure()) std::fprintf(stderr, "--- relay on 2855 ---\n%s\n", r2855.log().c_str());
}

// A name that does not resolve: the failure is answered upstream (REPORT), never a hung frame.
TEST_F(Chain, UnresolvableNextHopIsReportedUpstream) {
  ASSERT_TRUE(start_relay(r1_)) << r1_.log();
  Client alice = r1_.connect();
  std::string alice_uri = client_uri(alice, "alice");
  std::string u1 = edge_session(alice, r1_.port());
  ASSERT_FALSE(u1.empty());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(alice.send(
      client::make_send("nx0001", u1 + " msrp://no-such-host.invalid/s;tcp msrp://127.0.0.1:9/bob;tcp",
                        alice_uri, "m1", "hi")));
  auto ok = alice.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->code, 200);
  auto rep = alice.read_frame(10000);
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(rep->method, "REPORT") << rep->raw;
  EXPECT_EQ(rep->header("Message-ID"), "m1");
  // RFC 6761 §6.4: a ".invalid" name fails without asking DNS.
  EXPECT_EQ(rep->header("Status"), "000 481 Session Does Not Exist") << rep->raw;
  EXPECT_NE(r1_.log().find("resolve no-such-host.invalid: Domain name not found"), std::string::npos)
      << r1_.log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

// msrpd (outer) → Kamailio (inner, where B AUTHed) over TCP.
TEST_F(Chain, SendCrossesMsrpdThenKamailioByteExact) {
  if (!Kamailio::installed()) GTEST_SKIP() << "kamailio is not installed (scripts/test installs it)";
  Kamailio k;
  ASSERT_TRUE(k.start(free_port())) << k.log();
  ASSERT_TRUE(start_relay(r1_)) << r1_.log();
  auto kb = Client::connect("127.0.0.1", k.port());
  ASSERT_TRUE(kb);
  Client bob = std::move(*kb);
  std::string bob_uri = client_uri(bob, "bob");
  std::string use_path = auth_at(bob, k.port(), bob_uri);
  // Kamailio: Use-Path from use_path_addr "127.0.0.1:PORT", no Authentication-Info.
  ASSERT_EQ(use_path.rfind("msrp://127.0.0.1:" + std::to_string(k.port()) + "/", 0), 0u) << use_path;
  Client alice = r1_.connect();
  std::string u1 = edge_session(alice, r1_.port());
  ASSERT_FALSE(u1.empty());
  expect_send_crosses(alice, u1 + " " + use_path + " " + bob_uri, bob, bob_uri, use_path + " " + u1, 5000);
  if (HasFailure()) std::fprintf(stderr, "--- kamailio ---\n%s\n", k.log().c_str());
}

// A 1 MB single-chunk SEND from A through msrpd (outer) to Kamailio (inner, where B AUTHed).
// Kamailio 5.6 reads a frame whole into a 16 KB buffer and relays at most about 14 KB
// (docs/reference/kamailio-differences.md): with modparam("msrp", "max_chunk_size_hop",
// "127.0.0.1:PORT=8192") msrpd cuts the chunk into chunks of 8 KB (RFC 4976 §6.4.1), Kamailio
// relays each, and B puts the message together from their Byte-Ranges, byte-exact.
class KamailioChunks : public Chain {
 protected:
  static constexpr size_t kBody = 1024 * 1024;
  static constexpr size_t kCap = 8192;

  // msrpd (relay1) with extra modparams after the msrp module's.
  bool start_relay_with(Msrpd& d, const std::vector<std::string>& modparams) {
    cfgs_.push_back(write_relay_cfg({}));
    std::string text = read_file(cfgs_.back()), out;
    size_t at = text.find("modparam(\"msrp\", \"cmap_size\"");
    if (at == std::string::npos) return false;
    at = text.find('\n', at) + 1;
    out = text.substr(0, at);
    for (const auto& m : modparams) out += m + "\n";
    out += text.substr(at);
    std::ofstream(cfgs_.back()) << out;
    bool ok = d.start(cfgs_.back(), {"-n", "2"}, free_port_except(taken_));
    taken_.push_back(d.port());
    return ok;
  }

  // B AUTHs at Kamailio, A at relay1; A sends the 1 MB chunk (in a thread, as relay1 reads it).
  // Returns the chunks B got until the one with '$' (or until nothing came for `quiet_ms`).
  std::vector<ReceivedFrame> send_megabyte(Kamailio& k, Client& bob, std::string& bob_uri, std::string& body,
                                           std::string& from, int quiet_ms) {
    std::vector<ReceivedFrame> got;
    bob_uri = client_uri(bob, "bob");
    std::string use_path = auth_at(bob, k.port(), bob_uri);
    EXPECT_FALSE(use_path.empty());
    Client alice = r1_.connect();
    std::string alice_uri = client_uri(alice, "alice");
    std::string u1 = edge_session(alice, r1_.port());
    EXPECT_FALSE(u1.empty());
    if (use_path.empty() || u1.empty()) return got;
    from = use_path + " " + u1 + " " + alice_uri;
    body.resize(kBody);
    uint32_t x = 12345;
    for (char& c : body) {
      x = x * 1103515245 + 12345;
      c = static_cast<char>('0' + (x >> 16) % 75);
    }
    std::string range = "Byte-Range: 1-" + std::to_string(kBody) + "/" + std::to_string(kBody) + "\r\n";
    std::string frame = client::make_send("mega0001", u1 + " " + use_path + " " + bob_uri, alice_uri,
                                          "m-mega", body, "application/octet-stream", '$', range);
    std::thread sender([&] { (void)alice.send(frame, 20000); });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto f = bob.read_frame(quiet_ms);
      if (!f) break;
      got.push_back(std::move(*f));
      if (got.back().flag != '+') break;
    }
    sender.join();
    return got;
  }
};

TEST_F(KamailioChunks, OneMegabyteChunkCrossesMsrpdThenKamailioCutAtTheNextHopsCap) {
  if (!Kamailio::installed()) GTEST_SKIP() << "kamailio is not installed (scripts/test installs it)";
  Kamailio k;
  ASSERT_TRUE(k.start(free_port())) << k.log();
  ASSERT_TRUE(start_relay_with(r1_, {"modparam(\"msrp\", \"max_chunk_size_hop\", \"127.0.0.1:" +
                                     std::to_string(k.port()) + "=" + std::to_string(kCap) + "\")"}))
      << r1_.log();
  auto kb = Client::connect("127.0.0.1", k.port());
  ASSERT_TRUE(kb);
  Client bob = std::move(*kb);
  std::string bob_uri, body, from;
  auto chunks = send_megabyte(k, bob, bob_uri, body, from, 5000);
  ASSERT_FALSE(chunks.empty()) << "B got no chunk";
  // B reassembles: every chunk continues where the last one stopped, says no byte it does not
  // carry (range-end "*" or its true end, RFC 4975 §7.1.1) and keeps the total; all but the last
  // end with '+'. The same Message-ID, paths and transaction ids of msrpd's own (Kamailio keeps ids).
  std::string got;
  std::set<std::string> tids;
  const std::string total = "/" + std::to_string(kBody);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const ReceivedFrame& c = chunks[i];
    SCOPED_TRACE("chunk " + std::to_string(i));
    EXPECT_EQ(c.method, "SEND");
    EXPECT_TRUE(tids.insert(c.tid).second) << "a transaction id used twice: " << c.tid;
    EXPECT_NE(c.tid, "mega0001");
    EXPECT_EQ(c.header("To-Path"), bob_uri);
    EXPECT_EQ(c.header("From-Path"), from);
    EXPECT_EQ(c.header("Message-ID"), "m-mega");
    EXPECT_LE(c.body.size(), kCap);
    std::string first = std::to_string(got.size() + 1) + "-";
    std::string br = c.header("Byte-Range");
    EXPECT_TRUE(br == first + "*" + total || br == first + std::to_string(got.size() + c.body.size()) + total)
        << "Byte-Range: " << br << " on " << c.body.size() << " bytes";
    EXPECT_EQ(c.flag, i + 1 == chunks.size() ? '$' : '+');
    got += c.body;
  }
  EXPECT_EQ(chunks.size(), kBody / kCap);
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body) << "the reassembled message differs from what A sent";
  if (HasFailure()) std::fprintf(stderr, "--- kamailio ---\n%s\n", k.log().c_str());
}

// The same without the cap: Kamailio cannot take the chunk (its read buffer overruns and it drops
// the connection), so B gets nothing of it.
TEST_F(KamailioChunks, OneMegabyteChunkWithoutTheCapDoesNotGetThroughKamailio) {
  if (!Kamailio::installed()) GTEST_SKIP() << "kamailio is not installed (scripts/test installs it)";
  Kamailio k;
  ASSERT_TRUE(k.start(free_port())) << k.log();
  ASSERT_TRUE(start_relay_with(r1_, {})) << r1_.log();
  auto kb = Client::connect("127.0.0.1", k.port());
  ASSERT_TRUE(kb);
  Client bob = std::move(*kb);
  std::string bob_uri, body, from;
  auto chunks = send_megabyte(k, bob, bob_uri, body, from, 3000);
  EXPECT_TRUE(chunks.empty()) << "B got " << chunks.size() << " chunk(s), the first of "
                              << chunks.front().body.size() << " bytes";
  std::fprintf(stderr, "--- kamailio (its refusal) ---\n%s\n", k.log().c_str());
}

// Kamailio (outer) → msrpd (inner, where B AUTHed) over TCP.
TEST_F(Chain, SendCrossesKamailioThenMsrpdByteExact) {
  if (!Kamailio::installed()) GTEST_SKIP() << "kamailio is not installed (scripts/test installs it)";
  Kamailio k;
  ASSERT_TRUE(k.start(free_port())) << k.log();
  ASSERT_TRUE(start_relay(r2_)) << r2_.log();
  Client bob = r2_.connect();
  std::string bob_uri = client_uri(bob, "bob");
  std::string use_path = auth_at(bob, r2_.port(), bob_uri);
  ASSERT_FALSE(use_path.empty());
  auto ka = Client::connect("127.0.0.1", k.port());
  ASSERT_TRUE(ka);
  Client alice = std::move(*ka);
  std::string k_uri = tcp_uri(k.port());
  expect_send_crosses(alice, k_uri + " " + use_path + " " + bob_uri, bob, bob_uri, use_path + " " + k_uri,
                      5000);
  if (HasFailure()) std::fprintf(stderr, "--- kamailio ---\n%s\n", k.log().c_str());
}

// An AUTH through Kamailio to msrpd: msrpd answers with the whole From-Path (RFC 4975 §7.2) and
// Kamailio relays the response statelessly to the next To-Path URI, the client's own address,
// over the client's connection.
TEST_F(Chain, AuthThroughKamailioToMsrpdComesBackToTheClient) {
  if (!Kamailio::installed()) GTEST_SKIP() << "kamailio is not installed (scripts/test installs it)";
  Kamailio k;
  ASSERT_TRUE(k.start(free_port())) << k.log();
  ASSERT_TRUE(start_relay(r2_)) << r2_.log();
  auto kc = Client::connect("127.0.0.1", k.port());
  ASSERT_TRUE(kc);
  Client c = std::move(*kc);
  std::string me = client_uri(c, "carol");
  std::string k_uri = tcp_uri(k.port());
  auto a = client::authenticate(c, k_uri + " " + r2_.uri(), me, "carol", "xyz123");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->challenge.code, 401) << a->challenge.raw;
  EXPECT_EQ(a->challenge.header("To-Path"), me);
  EXPECT_EQ(a->challenge.header("From-Path"), k_uri + " " + r2_.uri());
  ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
  EXPECT_EQ(a->answer.header("From-Path"), k_uri + " " + r2_.uri());
  EXPECT_EQ(a->answer.header("Use-Path").rfind("msrp://127.0.0.1:" + std::to_string(r2_.port()) + "/", 0), 0u)
      << a->answer.raw;
  if (HasFailure()) std::fprintf(stderr, "--- kamailio ---\n%s\n", k.log().c_str());
}

// An AUTH through msrpd to Kamailio: Kamailio answers with only the first From-Path URI in the
// response's To-Path (its msrp_reply quirk), so msrpd has nowhere further to send it: the client
// gets nothing (bounded wait) — what really happens with Kamailio as the inner relay.
TEST_F(Chain, AuthThroughMsrpdToKamailioLosesTheResponseAtKamailio) {
  if (!Kamailio::installed()) GTEST_SKIP() << "kamailio is not installed (scripts/test installs it)";
  Kamailio k;
  ASSERT_TRUE(k.start(free_port())) << k.log();
  ASSERT_TRUE(start_relay(r1_)) << r1_.log();
  Client c = r1_.connect();
  std::string me = client_uri(c, "carol");
  std::string u1 = edge_session(c, r1_.port(), "carol");
  ASSERT_FALSE(u1.empty());
  ASSERT_TRUE(c.send(client::make_request("mk0001", "AUTH", u1 + " " + tcp_uri(k.port()), me)));
  auto f = c.read_frame(1500);
  EXPECT_FALSE(f) << "Kamailio's 401 has To-Path = relay1 only: " << f->raw;
}

}  // namespace
}  // namespace msrpd::itest
