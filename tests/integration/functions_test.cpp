// Issue 12 item 13: Kamailio's msrp_set_dst(addr, sock), msrp_relay() and msrp_relay_flags() as the
// seed describes them (docs/reference/functions.md), against the real msrpd binary with exact
// bytes: the sock chooses the local address the next hop sees the connection come from (and a
// config naming a socket msrpd does not listen on is refused at load), each msrp_relay() call
// sends the frame to the destination set at that moment, and the send flags apply to the relays
// that follow them. 127.0.0.1 and 127.0.0.2 are both the loopback on Linux.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <poll.h>

#include <fstream>
#include <memory>
#include <vector>

#include "forwarded.h"
#include "harness.h"

namespace msrpd::itest {
namespace {

using client::Client;

// One connection msrpd opened to a NextHop.
class HopConn {
 public:
  HopConn(int fd, std::string peer_ip) : fd_(fd), peer_ip_(std::move(peer_ip)) {}
  ~HopConn() { ::close(fd_); }
  HopConn(const HopConn&) = delete;
  HopConn& operator=(const HopConn&) = delete;

  const std::string& peer_ip() const { return peer_ip_; }

  // The next whole frame, start line to end-line; "" when none is whole within the timeout.
  std::string read_frame(int timeout_ms = 3000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (size_t n = whole_frame(); n > 0) {
        std::string f = buf_.substr(0, n);
        buf_.erase(0, n);
        return f;
      }
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
              .count());
      if (left <= 0 || !fill(left)) return {};
    }
  }
  // True when msrpd closed the connection within the timeout (bytes before the close are kept).
  bool closed_within(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!eof_) {
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
              .count());
      if (left <= 0 || !fill(left)) break;
    }
    return eof_;
  }
  void send(std::string_view bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }

 private:
  // The length of the first whole frame in buf_, 0 when it is not all there.
  size_t whole_frame() const {
    if (!buf_.starts_with("MSRP ")) return 0;
    size_t sp = buf_.find(' ', 5);
    if (sp == std::string::npos) return 0;
    std::string end = "\r\n-------" + buf_.substr(5, sp - 5);
    size_t e = buf_.find(end);
    if (e == std::string::npos || buf_.size() < e + end.size() + 3) return 0;
    return e + end.size() + 3;  // the flag and CRLF
  }
  bool fill(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return false;
    char b[65536];
    ssize_t n = ::recv(fd_, b, sizeof b, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(b, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  std::string peer_ip_;
  std::string buf_;
  bool eof_ = false;
};

// A next hop listening on 127.0.0.1: where msrpd relays to, and where the connection came from.
class NextHop {
 public:
  NextHop() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 8) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port_ = ntohs(a.sin_port);
  }
  ~NextHop() { ::close(fd_); }
  NextHop(const NextHop&) = delete;
  NextHop& operator=(const NextHop&) = delete;

  uint16_t port() const { return port_; }
  std::string uri(const std::string& session) const {
    return "msrp://127.0.0.1:" + std::to_string(port_) + "/" + session + ";tcp";
  }
  // The next connection msrpd opens here within the timeout, or null.
  std::unique_ptr<HopConn> accept(int timeout_ms = 3000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return nullptr;
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    int c = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (c < 0) return nullptr;
    char ip[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    return std::make_unique<HopConn>(c, ip);
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A config whose event_route runs `route` (responses go back), open_relay so that raw clients may
// relay (this file is about the functions, not RFC 4976 §6), refusals logged (debug=2: info).
std::string write_config(const std::string& name, const std::string& route, const std::string& extra = {}) {
  std::string path = "/tmp/msrpd-itest-functions-" + name + "-" + std::to_string(::getpid()) + ".cfg";
  std::ofstream(path)
      << "#!KAMAILIO\ndebug=2\nloadmodule \"msrp.so\"\nloadmodule \"pv.so\"\nloadmodule \"xlog.so\"\n"
         "modparam(\"msrp\", \"open_relay\", 1)\n"
      << extra
      << "event_route[msrp:frame-in] {\n"
         "  if (msrp_is_reply()) {\n    msrp_relay();\n    exit;\n  }\n"
      << route << "}\n";
  return path;
}

class Functions : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
    if (!cfg_.empty()) ::unlink(cfg_.c_str());
  }
  // msrpd on 127.0.0.1:<port> and 127.0.0.2:<port2>.
  void start(const std::string& cfg) {
    cfg_ = cfg;
    ASSERT_TRUE(d_.start(cfg, {"-n", "1", "-l", "tcp:127.0.0.2:" + std::to_string(port2_)}, port1_))
        << d_.log();
  }
  std::string sock1() const { return "tcp:127.0.0.1:" + std::to_string(port1_); }
  std::string sock2() const { return "tcp:127.0.0.2:" + std::to_string(port2_); }
  // A SEND from `c` through msrpd to `to`.
  std::string send_to(Client& c, const std::string& tid, const std::string& to,
                      const std::string& body = "hi") {
    from_ = my_uri(c, "alice");
    return client::make_send(tid, d_.uri("s1") + " " + to, from_, "m-" + tid, body);
  }
  // The frame as msrpd relays it to `to`: its URI popped from To-Path, pushed onto From-Path.
  std::string relayed(const std::string& tid, const std::string& to, const std::string& body = "hi") {
    return client::make_send(tid, to, d_.uri("s1") + " " + from_, "m-" + tid, body);
  }

  uint16_t port1_ = free_port();
  uint16_t port2_ = free_port();
  std::string from_;
  std::string cfg_;
  Msrpd d_;
};

// The sock is the local address the connection to the next hop is made from; a connection is
// reused for a frame with the same sock, and one from another local address is not.
TEST_F(Functions, SetDstSockMakesTheNextHopSeeTheConnectionComeFromThatAddress) {
  NextHop hop;
  std::string dst = "msrp://127.0.0.1:" + std::to_string(hop.port()) + ";tcp";
  start(write_config("sock",
                     "  if ($msrp(msgid) == \"m-via2\" || $msrp(msgid) == \"m-again\")\n"
                     "    msrp_set_dst(\"" +
                         dst + "\", \"" + sock2() +
                         "\");\n"
                         "  else\n"
                         "    msrp_set_dst(\"" +
                         dst + "\", \"" + sock1() +
                         "\");\n"
                         "  msrp_relay();\n"));
  Client alice = d_.connect();
  ASSERT_TRUE(alice.send(send_to(alice, "via2", hop.uri("bob"))));
  auto c2 = hop.accept();
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->peer_ip(), "127.0.0.2");
  EXPECT_EQ(testing::forwarded_as(c2->read_frame(), "via2"), relayed("via2", hop.uri("bob")));

  // The same sock: the same connection.
  ASSERT_TRUE(alice.send(send_to(alice, "again", hop.uri("bob"))));
  EXPECT_EQ(testing::forwarded_as(c2->read_frame(), "again"), relayed("again", hop.uri("bob")));

  // Another sock: a connection from 127.0.0.1 (RFC 4975 §5.4 reuse, but not from the wrong address).
  ASSERT_TRUE(alice.send(send_to(alice, "via1", hop.uri("bob"))));
  auto c1 = hop.accept();
  ASSERT_TRUE(c1) << "the connection from 127.0.0.2 was reused for a frame whose sock is 127.0.0.1";
  EXPECT_EQ(c1->peer_ip(), "127.0.0.1");
  EXPECT_EQ(testing::forwarded_as(c1->read_frame(), "via1"), relayed("via1", hop.uri("bob")));
}

// A literal naming a socket msrpd does not listen on is refused at load, with its place.
TEST(FunctionsConfig, SetDstNamingNoListenSocketFailsToLoadWithFileLine) {
  uint16_t p = free_port();
  std::string path = write_config("nosock", "  msrp_set_dst(\"msrp://127.0.0.1:9;tcp\", \"tcp:127.0.0.2:" +
                                                std::to_string(p) + "\");\n  msrp_relay();\n");
  RunResult r = run_msrpd({"-c", "-f", path, "-l", "tcp:127.0.0.1:" + std::to_string(p)});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.output, path + ":12:42: msrp_set_dst: 'tcp:127.0.0.2:" + std::to_string(p) +
                          "' is not a listen socket of msrpd (it listens on tcp:127.0.0.1:" +
                          std::to_string(p) + ")\n");
  // The same config with that socket among the listen addresses loads.
  r = run_msrpd({"-c", "-f", path, "-l", "tcp:127.0.0.1:" + std::to_string(p), "-l",
                 "tcp:127.0.0.2:" + std::to_string(p)});
  EXPECT_EQ(r.code, 0) << r.output;
  ::unlink(path.c_str());
}

// A sock from a variable is checked when the route runs: no such listen socket, and the frame is
// not relayed, as when the connection cannot be made (REPORT 481 to a SEND that wants one).
TEST_F(Functions, SetDstSockFromAVariableNamingNoSocketFailsTheRelay) {
  NextHop hop;
  std::string dst = "msrp://127.0.0.1:" + std::to_string(hop.port()) + ";tcp";
  start(write_config("varsock", "  $var(sock) = \"tcp:127.0.0.3:" + std::to_string(port2_) +
                                    "\";\n"
                                    "  if (!msrp_set_dst(\"" +
                                    dst +
                                    "\", \"$var(sock)\")) xlog(\"L_ERR\", \"set_dst failed\\n\");\n"
                                    "  if (!msrp_relay()) xlog(\"L_ERR\", \"relay failed\\n\");\n"));
  Client alice = d_.connect();
  ASSERT_TRUE(alice.send(send_to(alice, "nosock1", hop.uri("bob"))));
  auto report = alice.read_frame();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(testing::forwarded_as(report->raw, "r"),
            "MSRP r REPORT\r\nTo-Path: " + from_ + "\r\nFrom-Path: " + d_.uri("s1") +
                "\r\nMessage-ID: m-nosock1\r\nByte-Range: 1-2/*\r\nStatus: 000 481 Session Does Not Exist\r\n"
                "-------r$\r\n");
  EXPECT_FALSE(hop.accept(300));
  std::string log = d_.log();
  EXPECT_NE(log.find("refused (no_socket): msrp_set_dst's sock 'tcp:127.0.0.3:" + std::to_string(port2_) +
                     "' is not a listen socket of msrpd (tcp:127.0.0.1:" + std::to_string(port1_) +
                     ", tcp:127.0.0.2:" + std::to_string(port2_) +
                     "), not relayed from msrp://127.0.0.1:" + std::to_string(alice.local_port())),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("set_dst failed"), std::string::npos) << log;
  EXPECT_NE(log.find("relay failed"), std::string::npos) << log;
}

// Kamailio sends the frame on each msrp_relay() call, to the destination set at that moment: two
// receivers get it, each exactly as relayed, with a transaction id of the relay's each.
TEST_F(Functions, RelayCalledTwiceDeliversTheFrameToBothDestinations) {
  NextHop a, b;
  start(write_config("twice", "  msrp_set_dst(\"" + a.uri("bob") +
                                  "\", \"\");\n  msrp_relay();\n"
                                  "  msrp_set_dst(\"" +
                                  b.uri("carol") + "\", \"\");\n  msrp_relay();\n"));
  Client alice = d_.connect();
  ASSERT_TRUE(alice.send(send_to(alice, "fork0001", a.uri("bob"))));
  auto ca = a.accept();
  auto cb = b.accept();
  ASSERT_TRUE(ca && cb);
  std::string fa = ca->read_frame(), fb = cb->read_frame();
  EXPECT_EQ(testing::forwarded_as(fa, "fork0001"), relayed("fork0001", a.uri("bob")));
  // The second copy has the same head (msrp_set_dst chooses the connection, not the path, as in
  // Kamailio).
  EXPECT_EQ(testing::forwarded_as(fb, "fork0001"), relayed("fork0001", a.uri("bob")));
  EXPECT_NE(testing::transaction_id_of(fa), testing::transaction_id_of(fb));
}

// A request whose response travels back (not a SEND: RFC 4976 §6.4.3) relayed twice: the sender
// gets one response, the first relay's (RFC 4975 §7.2: one response per request); the second
// destination's ends at msrpd.
TEST_F(Functions, ARequestRelayedTwiceGetsOneResponseBack) {
  NextHop a, b;
  start(write_config("twice-resp", "  msrp_set_dst(\"" + a.uri("bob") +
                                       "\", \"\");\n  msrp_relay();\n"
                                       "  msrp_set_dst(\"" +
                                       b.uri("carol") + "\", \"\");\n  msrp_relay();\n"));
  Client alice = d_.connect();
  from_ = my_uri(alice, "alice");
  ASSERT_TRUE(
      alice.send(client::make_request("nick0001", "NICKNAME", d_.uri("s1") + " " + a.uri("bob"), from_)));
  auto ca = a.accept();
  auto cb = b.accept();
  ASSERT_TRUE(ca && cb);
  std::string fa = ca->read_frame(), fb = cb->read_frame();
  std::string path_back = d_.uri("s1") + " " + from_;
  EXPECT_EQ(testing::forwarded_as(fa, "nick0001"),
            client::make_request("nick0001", "NICKNAME", a.uri("bob"), path_back));
  EXPECT_EQ(testing::forwarded_as(fb, "nick0001"),
            client::make_request("nick0001", "NICKNAME", a.uri("bob"), path_back));
  ca->send(
      client::make_response(std::string(testing::transaction_id_of(fa)), 200, "OK", path_back, a.uri("bob")));
  cb->send(
      client::make_response(std::string(testing::transaction_id_of(fb)), 200, "OK", path_back, a.uri("bob")));
  auto ok = alice.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->raw, client::make_response("nick0001", 200, "OK", from_, d_.uri("s1") + " " + a.uri("bob")));
  auto second = alice.read_frame(500);
  EXPECT_FALSE(second) << "a second response to one request: " << second->raw;
}

// Twice to the same destination: it gets the frame twice, over the one connection.
TEST_F(Functions, RelayCalledTwiceToTheSameDestinationSendsTwice) {
  NextHop a;
  start(write_config("same",
                     "  msrp_set_dst(\"" + a.uri("bob") + "\", \"\");\n  msrp_relay();\n  msrp_relay();\n"));
  Client alice = d_.connect();
  ASSERT_TRUE(alice.send(send_to(alice, "dup00001", a.uri("bob"))));
  auto ca = a.accept();
  ASSERT_TRUE(ca);
  std::string f1 = ca->read_frame(), f2 = ca->read_frame();
  EXPECT_EQ(testing::forwarded_as(f1, "dup00001"), relayed("dup00001", a.uri("bob")));
  EXPECT_EQ(testing::forwarded_as(f2, "dup00001"), relayed("dup00001", a.uri("bob")));
  EXPECT_FALSE(a.accept(300)) << "a second connection for the second copy";
}

// A frame longer than route_body_limit is routed while its body still arrives and streams to one
// destination: a second msrp_relay() is refused (logged, -1), the first gets the whole frame.
TEST_F(Functions, AStreamedFrameIsRelayedOnceOnly) {
  NextHop a, b;
  start(write_config("streamed",
                     "  msrp_set_dst(\"" + a.uri("bob") +
                         "\", \"\");\n  msrp_relay();\n"
                         "  msrp_set_dst(\"" +
                         b.uri("carol") +
                         "\", \"\");\n"
                         "  if (!msrp_relay()) xlog(\"L_ERR\", \"second relay refused\\n\");\n",
                     "modparam(\"msrp\", \"route_body_limit\", 100)\n"));
  Client alice = d_.connect();
  std::string body(5000, 'x');
  ASSERT_TRUE(alice.send(send_to(alice, "long0001", a.uri("bob"), body)));
  auto ca = a.accept();
  ASSERT_TRUE(ca);
  EXPECT_EQ(testing::forwarded_as(ca->read_frame(), "long0001"), relayed("long0001", a.uri("bob"), body));
  EXPECT_FALSE(b.accept(300));
  std::string log = d_.log();
  EXPECT_NE(log.find("refused (relay_again): msrp_relay() again for long0001: its body is longer than "
                     "route_body_limit and still arriving from msrp://127.0.0.1:" +
                     std::to_string(alice.local_port())),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("second relay refused"), std::string::npos) << log;
}

// Send flag 2 (close the connection after sending) applies to the relays after it: set after
// msrp_relay() it leaves the destination open, set before it closes it once the frame is out.
TEST_F(Functions, RelayFlagsApplyOnlyToTheRelaysThatFollowThem) {
  NextHop a;
  start(write_config(
      "flags", "  msrp_set_dst(\"" + a.uri("bob") +
                   "\", \"\");\n"
                   "  if ($msrp(msgid) == \"m-after\") {\n    msrp_relay();\n    msrp_relay_flags(\"2\");\n"
                   "  } else {\n    msrp_relay_flags(\"2\");\n    msrp_relay();\n  }\n"));
  Client alice = d_.connect();
  ASSERT_TRUE(alice.send(send_to(alice, "after", a.uri("bob"))));
  auto c1 = a.accept();
  ASSERT_TRUE(c1);
  EXPECT_EQ(testing::forwarded_as(c1->read_frame(), "after"), relayed("after", a.uri("bob")));
  EXPECT_FALSE(c1->closed_within(500)) << "flag 2 set after msrp_relay() closed the destination";

  ASSERT_TRUE(alice.send(send_to(alice, "before", a.uri("bob"))));
  EXPECT_EQ(testing::forwarded_as(c1->read_frame(), "before"), relayed("before", a.uri("bob")));
  EXPECT_TRUE(c1->closed_within(3000)) << "flag 2 set before msrp_relay() left the destination open";
}

}  // namespace
}  // namespace msrpd::itest
