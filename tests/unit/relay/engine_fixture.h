#pragma once
// The engine test fixture: an Engine with the seed's Example 1.18 route (2 workers, ephemeral port)
// on 127.0.0.1, and a blocking test Client. Every wait is bounded.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "relay/digest.h"
#include "relay/engine.h"
#include "relay/route_example18.h"

namespace msrpd::relay::engine_test {

constexpr int kWaitMs = 5000;

class Client {
 public:
  // An accepted connection (see NextHop).
  struct Adopt {
    int fd;
  };
  explicit Client(Adopt a) : fd_(a.fd), connected_(a.fd >= 0) {}
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  uint16_t local_port() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }

  bool send(std::string_view s) {
    while (!s.empty()) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, kWaitMs) <= 0) return false;
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Sends in random piece sizes (1..max_piece), reading what arrives meanwhile so that neither
  // side blocks on a full socket buffer.
  bool send_pieces(std::string_view s, std::mt19937& rng, size_t max_piece) {
    std::uniform_int_distribution<size_t> dist(1, max_piece);
    while (!s.empty()) {
      size_t n = std::min(s.size(), dist(rng));
      if (!send(s.substr(0, n))) return false;
      s.remove_prefix(n);
    }
    return true;
  }

  // Reads until `buf_` holds a whole frame; returns it (or nullopt after the timeout / on EOF).
  std::optional<std::string> frame(int timeout_ms = kWaitMs) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      if (auto f = take_frame()) return f;
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      if (!read_some(static_cast<int>(left.count()))) return std::nullopt;
    }
  }

  // True when the peer closes within the timeout (any bytes before EOF are kept in buf_).
  bool closed(int timeout_ms = kWaitMs) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char tmp[65536];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return true;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  // Reads exactly n bytes (or fewer on timeout).
  std::string read_bytes(size_t n, int timeout_ms = kWaitMs) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (buf_.size() < n) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(static_cast<int>(left.count()))) break;
    }
    std::string out = buf_.substr(0, std::min(n, buf_.size()));
    buf_.erase(0, out.size());
    return out;
  }

  bool read_some(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  const std::string& buffered() const { return buf_; }

 private:
  std::optional<std::string> take_frame() {
    if (buf_.size() < 10 || buf_.compare(0, 5, "MSRP ") != 0) return std::nullopt;
    size_t sp = buf_.find(' ', 5);
    if (sp == std::string::npos) return std::nullopt;
    std::string end = "-------" + buf_.substr(5, sp - 5);
    size_t p = 0;
    while (true) {
      size_t e = buf_.find(end, p);
      if (e == std::string::npos) return std::nullopt;
      size_t after = e + end.size();
      if ((e == 0 || buf_[e - 1] == '\n') && after + 3 <= buf_.size() &&
          buf_.compare(after + 1, 2, "\r\n") == 0) {
        std::string f = buf_.substr(0, after + 3);
        buf_.erase(0, after + 3);
        return f;
      }
      if (after + 3 > buf_.size()) return std::nullopt;
      p = e + 1;
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

// A next hop the relay connects to (a second relay, as far as this one can tell): a listening
// socket on 127.0.0.1 whose connections the test accepts.
class NextHop {
 public:
  NextHop() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~NextHop() { ::close(fd_); }
  uint16_t port() const { return port_; }
  std::string uri(std::string_view session) const {
    return "msrp://127.0.0.1:" + std::to_string(port_) + "/" + std::string(session) + ";tcp";
  }
  // The next connection the relay opens, or one that is not connected after the timeout.
  Client accept(int timeout_ms = kWaitMs) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return Client(Client::Adopt{-1});
    return Client(Client::Adopt{::accept(fd_, nullptr, nullptr)});
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

class EngineRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineConfig cfg;
    cfg.listen.push_back({"tcp", "127.0.0.1", 0, {}});
    cfg.children = 2;
    cfg.cmap_size = 4;
    cfg.use_path_addr = "msrp://127.0.0.1:5060";  // as the seed writes it: the scheme is not doubled
    configure(cfg);
    engine_ = std::make_unique<Engine>(cfg, route_);
    auto r = engine_->start();
    ASSERT_TRUE(r.ok()) << r.error().message;
    port_ = engine_->bound_ports().at(0);
    relay_uri_ = "msrp://127.0.0.1:" + std::to_string(port_) + ";tcp";
  }
  void TearDown() override {
    if (engine_) engine_->stop();
  }
  virtual void configure(EngineConfig& cfg) {}

  static std::string auth_frame(std::string_view tid, std::string_view to, std::string_view from,
                                std::string_view extra = {}) {
    std::string f = "MSRP " + std::string(tid) + " AUTH\r\nTo-Path: " + std::string(to) +
                    "\r\nFrom-Path: " + std::string(from) + "\r\n" + std::string(extra) + "-------" +
                    std::string(tid) + "$\r\n";
    return f;
  }

  // The Authorization header for a 401's nonce.
  std::string authorization(const std::string& nonce, std::string_view nc = "00000001") {
    DigestCredentials c;
    c.username = "bob";
    c.realm = "myrealm";
    c.nonce = nonce;
    c.uri = relay_uri_;
    c.qop = "auth";
    c.nc = nc;
    c.cnonce = "0a4f113b";
    std::string resp = response_for(c, "AUTH", "xyz123");
    last_auth_info_ = authentication_info_value(
        DigestCredentials{c.username, c.realm, c.nonce, c.uri, resp, c.cnonce, c.nc, c.qop, {}, {}, true},
        "xyz123");
    // RFC 2617 §3.2.2: the opaque of the challenge that carried this nonce comes back unchanged.
    auto op = opaque_of_nonce_.find(nonce);
    std::string opaque = op == opaque_of_nonce_.end() ? std::string() : ", opaque=\"" + op->second + "\"";
    return "Authorization: Digest username=\"bob\", realm=\"myrealm\", nonce=\"" + nonce + "\", uri=\"" +
           relay_uri_ + "\", response=\"" + resp + "\", qop=auth, nc=" + std::string(nc) +
           ", cnonce=\"0a4f113b\"" + opaque + "\r\n";
  }

  // The nonce of a 401; its opaque is remembered for authorization().
  std::string nonce_of(const std::string& frame) {
    std::smatch m;
    if (!std::regex_search(frame, m, std::regex("nonce=\"([^\"]+)\""))) return {};
    std::string nonce = m[1];
    if (std::regex_search(frame, m, std::regex("opaque=\"([^\"]+)\""))) opaque_of_nonce_[nonce] = m[1];
    return nonce;
  }
  std::map<std::string, std::string> opaque_of_nonce_;

  // AUTHs `c` as bob (401 then 200) and returns the session id of its Use-Path.
  std::string authenticate(Client& c, std::string_view from = kBob, std::string_view expires_header = {}) {
    EXPECT_TRUE(c.send(auth_frame("auth0001", relay_uri_, from)));
    auto challenge = c.frame();
    EXPECT_TRUE(challenge.has_value());
    if (!challenge) return {};
    std::string nonce = nonce_of(*challenge);
    EXPECT_FALSE(nonce.empty()) << *challenge;
    EXPECT_TRUE(
        c.send(auth_frame("auth0002", relay_uri_, from, std::string(expires_header) + authorization(nonce))));
    auto ok = c.frame();
    EXPECT_TRUE(ok.has_value());
    if (!ok) return {};
    last_auth_reply_ = *ok;
    std::smatch m;
    if (!std::regex_search(*ok, m,
                           std::regex("Use-Path: msrp://127\\.0\\.0\\.1:5060/([A-Za-z0-9]+);tcp\r\n")))
      return {};
    return m[1];
  }

  std::string send_frame(std::string_view tid, std::string_view sessid, std::string_view body,
                         std::string_view method = "SEND", std::string_view extra = {}) {
    std::string f = "MSRP " + std::string(tid) + " " + std::string(method) +
                    "\r\nTo-Path: msrp://127.0.0.1:" + std::to_string(port_) + "/" + std::string(sessid) +
                    ";tcp " + std::string(kBob) + "\r\nFrom-Path: " + std::string(kAlice) +
                    "\r\nMessage-ID: msg0001\r\n" + std::string(extra);
    if (!body.empty()) {
      f += "Byte-Range: 1-" + std::to_string(body.size()) + "/" + std::to_string(body.size()) +
           "\r\nContent-Type: text/plain\r\n\r\n" + std::string(body) + "\r\n";
    }
    f += "-------" + std::string(tid) + "$\r\n";
    return f;
  }

  std::string relayed_frame(std::string_view tid, std::string_view sessid, std::string_view body,
                            std::string_view method = "SEND", std::string_view extra = {}) {
    std::string f = "MSRP " + std::string(tid) + " " + std::string(method) +
                    "\r\nTo-Path: " + std::string(kBob) +
                    "\r\nFrom-Path: msrp://127.0.0.1:" + std::to_string(port_) + "/" + std::string(sessid) +
                    ";tcp " + std::string(kAlice) + "\r\nMessage-ID: msg0001\r\n" + std::string(extra);
    if (!body.empty()) {
      f += "Byte-Range: 1-" + std::to_string(body.size()) + "/" + std::to_string(body.size()) +
           "\r\nContent-Type: text/plain\r\n\r\n" + std::string(body) + "\r\n";
    }
    f += "-------" + std::string(tid) + "$\r\n";
    return f;
  }

  std::string relay_session_uri(std::string_view sessid) const {
    return "msrp://127.0.0.1:" + std::to_string(port_) + "/" + std::string(sessid) + ";tcp";
  }

  static constexpr std::string_view kBob = "msrp://bob.example.com:7777/bobsess;tcp";
  static constexpr std::string_view kAlice = "msrp://alice.example.com:9999/alicesess;tcp";

  Example18Route route_;
  std::unique_ptr<Engine> engine_;
  uint16_t port_ = 0;
  std::string relay_uri_;
  std::string last_auth_info_;
  std::string last_auth_reply_;
};

// The same relay with modparam("msrp", "open_relay", 1): for tests of forwarding mechanics whose
// senders do not AUTH (RFC 4976 §6 authorization is tested on its own in authorization_test.cpp).
class EngineOpenRelayTest : public EngineRelayTest {
 protected:
  void configure(EngineConfig& cfg) override { cfg.open_relay = true; }
};

}  // namespace msrpd::relay::engine_test
