// Head-of-line bounds (issue 12 item 6): no single frame holds a destination, or the connection it
// came in on, for longer than a short bound whatever its sender or its next hop does. A pending
// connect to a next hop never stops the source connection's other sessions; frames for that hop
// go out on one connection, in order, once it is there. The real msrpd binary, exact bytes.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "forwarded.h"
#include "harness.h"
#include "test_config.h"

namespace msrpd::itest {
namespace {

using client::Client;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const std::string kExample18 = source_path("examples/kamailio-1.18.cfg");

long ms_since(Clock::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - t).count());
}

// A next hop that is slow to accept: a listening socket with a backlog of 0 whose one place in the
// accept queue a filler connection takes, so the kernel drops the relay's SYN (the relay's connect
// stays pending, retrying at 1 s, 3 s...) until free() accepts the filler. Loopback only.
class SlowHop {
 public:
  SlowHop() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 0) == 0 &&
          ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    port_ = ntohs(a.sin_port);
    filler_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ok_ = ok_ && ::connect(filler_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~SlowHop() {
    ::close(filler_);
    ::close(fd_);
  }
  SlowHop(const SlowHop&) = delete;
  SlowHop& operator=(const SlowHop&) = delete;

  bool ok() const { return ok_; }
  uint16_t port() const { return port_; }
  std::string uri(const std::string& session) const {
    return "msrp://127.0.0.1:" + std::to_string(port_) + "/" + session + ";tcp";
  }
  // Takes the filler out of the accept queue: the relay's next SYN gets in.
  void free() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 1000) == 1) ::close(::accept(fd_, nullptr, nullptr));
  }
  // The next connection that arrives within timeout_ms (its fd, -1 when none).
  int accept(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return -1;
    return ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  }

 private:
  int fd_ = -1, filler_ = -1;
  uint16_t port_ = 0;
  bool ok_ = false;
};

// The SEND a relay forwards to the next hop: To-Path without the relay's URI, the relay's URI in
// front of From-Path (RFC 4976 §6.4), the sender's transaction id put back by forwarded_as.
std::string forwarded_send(const std::string& tid, const std::string& to, const std::string& from,
                           const std::string& mid, const std::string& body) {
  return "MSRP " + tid + " SEND\r\nTo-Path: " + to + "\r\nFrom-Path: " + from + "\r\nMessage-ID: " + mid +
         "\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n-------" + tid + "$\r\n";
}

// Reads from fd until `n` frames ending in '$' are in (their bodies here have no "$\r\n"), or
// the deadline passes; returns every byte read.
std::string read_frames(int fd, size_t n, int timeout_ms) {
  std::string got;
  auto deadline = Clock::now() + milliseconds(timeout_ms);
  char buf[65536];
  auto count = [&got] {
    size_t k = 0;
    for (size_t at = got.find("$\r\n"); at != std::string::npos; at = got.find("$\r\n", at + 3)) ++k;
    return k;
  };
  while (count() < n && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) != 1) continue;
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    got.append(buf, static_cast<size_t>(r));
  }
  return got;
}

class Hol : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
  }
  // Alice's edge session at the relay (RFC 4976 §6.3: she names it as her first hop to go
  // further), and bob, a receiver that AUTHed there.
  void start(std::vector<std::string> args = {"-n", "1"}) {
    ASSERT_TRUE(cfg_.write(kExample18)) << cfg_.error();
    ASSERT_TRUE(d_.start(cfg_.path(), args)) << d_.log();
    alice_ = d_.connect();
    alice_uri_ = my_uri(alice_, "alice");
    auto a = client::authenticate(alice_, d_.uri(), alice_uri_, "alice", "xyz123");
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
    u1_ = a->answer.header("Use-Path");
    bob_ = auth_receiver(d_, "bob");
    ASSERT_FALSE(bob_.use_path.empty());
  }
  // A SEND from alice to bob's session, and what bob and alice must see of it within `bound_ms`.
  void send_to_bob_within(const std::string& tid, const std::string& body, long bound_ms) {
    auto t0 = Clock::now();
    ASSERT_TRUE(
        alice_.send(client::make_send(tid, bob_.use_path + " " + bob_.uri, alice_uri_, "m-" + tid, body)));
    auto got = bob_.c.read_frame(static_cast<int>(bound_ms) + 2000);
    long took = ms_since(t0);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(testing::forwarded_as(got->raw, tid),
              forwarded_send(tid, bob_.uri, bob_.use_path + " " + alice_uri_, "m-" + tid, body));
    EXPECT_LT(took, bound_ms) << "bob's SEND took " << took << " ms";
    ASSERT_TRUE(bob_.c.send(client::make_response(std::string(testing::transaction_id_of(got->raw)), 200,
                                                  "OK", bob_.use_path, bob_.uri)));
  }
  // The route's 200 to one of alice's SENDs (Example 1.18 answers every SEND it relays).
  void expect_ok(const std::string& tid, const std::string& from_path, int timeout_ms = 2000) {
    auto ok = alice_.read_frame(timeout_ms);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->raw, "MSRP " + tid + " 200 OK\r\nTo-Path: " + alice_uri_ + "\r\nFrom-Path: " + from_path +
                           "\r\nMessage-ID: m-" + tid + "\r\n-------" + tid + "$\r\n");
  }

  TestConfig cfg_;
  Msrpd d_;
  Client alice_;
  std::string alice_uri_, u1_;
  Receiver bob_;
};

// RFC 4975 §6.2: while the relay connects to a next hop, alice's other sessions on the same
// connection go on. Her SEND to bob, written after a SEND whose next hop has not accepted yet,
// reaches bob within 500 ms; the two SENDs for the slow hop (the second one written after bob's)
// reach it in order, over one connection, once it accepts.
TEST_F(Hol, PendingConnectDoesNotStopTheConnectionsOtherSessions) {
  SlowHop x;
  ASSERT_TRUE(x.ok());
  ASSERT_NO_FATAL_FAILURE(start());
  std::string far = "msrp://127.0.0.1:9/carol;tcp";
  std::string to_x = u1_ + " " + x.uri("s") + " " + far;
  auto t0 = Clock::now();
  ASSERT_TRUE(alice_.send(client::make_send("px0001", to_x, alice_uri_, "m-px0001", "first for x")));
  ASSERT_NO_FATAL_FAILURE(expect_ok("px0001", u1_));
  ASSERT_NO_FATAL_FAILURE(send_to_bob_within("pb0001", "meanwhile to bob", 500));
  ASSERT_NO_FATAL_FAILURE(expect_ok("pb0001", bob_.use_path));
  ASSERT_TRUE(alice_.send(client::make_send("px0002", to_x, alice_uri_, "m-px0002", "second for x")));
  ASSERT_NO_FATAL_FAILURE(expect_ok("px0002", u1_));
  EXPECT_LT(ms_since(t0), 900) << "the frames after the pending connect waited for it";

  x.free();
  int fd = x.accept(4000);
  ASSERT_GE(fd, 0) << "the relay never connected to the slow hop";
  std::string from = u1_ + " " + alice_uri_;
  std::string want = forwarded_send("px0001", x.uri("s") + " " + far, from, "m-px0001", "first for x") +
                     forwarded_send("px0002", x.uri("s") + " " + far, from, "m-px0002", "second for x");
  std::string got = read_frames(fd, 2, 3000);
  // Each with an id of the relay's, put back to compare.
  size_t cut = got.find("$\r\n");
  ASSERT_NE(cut, std::string::npos) << got;
  cut += 3;
  EXPECT_EQ(
      testing::forwarded_as(got.substr(0, cut), "px0001") + testing::forwarded_as(got.substr(cut), "px0002"),
      want);
  ::close(fd);
  // One connection for both: no second connect.
  EXPECT_LT(x.accept(300), 0) << "the relay opened a second connection to the slow hop";
}

// RFC 4976 §6.4.1: a connect that does not succeed (connect_timeout, 5 s) is reported to each SEND
// that waited for it; alice's other session kept working meanwhile.
TEST_F(Hol, PendingConnectThatTimesOutReportsEachWaitingSend) {
  SlowHop x;
  ASSERT_TRUE(x.ok());
  ASSERT_NO_FATAL_FAILURE(start());
  std::string to_x = u1_ + " " + x.uri("s") + " msrp://127.0.0.1:9/carol;tcp";
  auto t0 = Clock::now();
  ASSERT_TRUE(alice_.send(client::make_send("tx0001", to_x, alice_uri_, "m-tx0001", "one")));
  ASSERT_NO_FATAL_FAILURE(expect_ok("tx0001", u1_));
  ASSERT_TRUE(alice_.send(client::make_send("tx0002", to_x, alice_uri_, "m-tx0002", "two!")));
  ASSERT_NO_FATAL_FAILURE(expect_ok("tx0002", u1_));
  ASSERT_NO_FATAL_FAILURE(send_to_bob_within("tb0001", "to bob", 500));
  ASSERT_NO_FATAL_FAILURE(expect_ok("tb0001", bob_.use_path));
  for (const auto& [mid, len] : {std::pair<std::string, int>{"m-tx0001", 3}, {"m-tx0002", 4}}) {
    auto rep = alice_.read_frame(8000);
    ASSERT_TRUE(rep) << rep.error().message;
    std::string id(testing::transaction_id_of(rep->raw));
    std::string n = std::to_string(len);
    EXPECT_EQ(rep->raw, "MSRP " + id + " REPORT\r\nTo-Path: " + alice_uri_ + "\r\nFrom-Path: " + u1_ +
                            "\r\nMessage-ID: " + mid + "\r\nByte-Range: 1-" + n + "/*" +
                            "\r\nStatus: 000 408 Request Timeout\r\n-------" + id + "$\r\n");
  }
  long took = ms_since(t0);
  EXPECT_GE(took, 4500);  // connect_timeout_ms
  EXPECT_LT(took, 7000);
  EXPECT_EQ(cfg_.stat("tcp:connect_failures"), 1) << "one connect for both frames";
}

}  // namespace
}  // namespace msrpd::itest
