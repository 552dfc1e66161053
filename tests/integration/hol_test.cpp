// Head-of-line bounds (issue 12 item 6): no single frame holds a destination, or the connection it
// came in on, for longer than a short bound whatever its sender or its next hop does. A pending
// connect to a next hop never stops the source connection's other sessions; frames for that hop
// go out on one connection, in order, once it is there. The real msrpd binary, exact bytes.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "forwarded.h"
#include "harness.h"
#include "msrp/frame_parser.h"
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

// One frame a receiver got, parsed from its byte stream.
struct Got {
  std::string raw;  // start line to end-line
  std::string tid, method, message_id, byte_range;
  std::string body;
  char flag = 0;
  bool request = false;
};

// A receiver's byte stream, parsed into frames as it arrives (msrp::FrameParser: every frame must
// be well formed); every SEND (every chunk) is answered 200 as an endpoint does (RFC 4975 §7.2).
class Inbox {
 public:
  explicit Inbox(Receiver& r) : r_(r) {}
  // Reads until done(frames, body bytes of the frame being read) holds or the deadline passes
  // (false then, or on a parse error or EOF: error() says which).
  bool pump(const std::function<bool(const std::vector<Got>&, size_t)>& done, int timeout_ms) {
    auto deadline = Clock::now() + milliseconds(timeout_ms);
    char buf[65536];
    for (;;) {
      if (!error_.empty()) return false;
      if (done(frames_, cur_.body.size())) return true;
      if (Clock::now() >= deadline) return false;
      pollfd p{r_.c.fd(), POLLIN, 0};
      if (::poll(&p, 1, 10) != 1) continue;
      ssize_t n = ::recv(r_.c.fd(), buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        error_ = "the relay closed the receiver's connection";
        return false;
      }
      if (n > 0) stream_.append(buf, static_cast<size_t>(n));
      parse();
    }
  }
  const std::vector<Got>& frames() const { return frames_; }
  const std::string& error() const { return error_; }

 private:
  void parse() {
    for (;;) {
      msrp::Step s = parser_.feed(std::string_view(stream_).substr(pos_));
      switch (s.event) {
        case msrp::Event::need_more:
          return;
        case msrp::Event::head: {
          const msrp::Frame& f = parser_.frame();
          cur_.request = f.is_request();
          cur_.tid = f.transaction_id();
          cur_.method = f.method();
          cur_.message_id = f.header("Message-ID").value_or("");
          cur_.byte_range = f.header("Byte-Range").value_or("");
          pos_ += s.consumed;
          break;
        }
        case msrp::Event::body:
          cur_.body.append(s.body);
          pos_ += s.consumed;
          break;
        case msrp::Event::end: {
          pos_ += s.consumed;
          cur_.flag = s.flag;
          cur_.raw.assign(stream_, start_, pos_ - start_);
          start_ = pos_;
          if (cur_.request && cur_.method == "SEND") {
            std::string from = cur_.raw.substr(cur_.raw.find("From-Path: ") + 11);
            from = from.substr(0, from.find_first_of(" \r"));
            (void)r_.c.send(client::make_response(cur_.tid, 200, "OK", from, r_.uri));
          }
          frames_.push_back(std::move(cur_));
          cur_ = Got{};
          break;
        }
        default:
          error_ = "a frame the receiver cannot parse: " + std::string(s.message);
          return;
      }
    }
  }

  Receiver& r_;
  msrp::FrameParser parser_;
  std::string stream_;
  size_t pos_ = 0, start_ = 0;
  Got cur_;
  std::vector<Got> frames_;
  std::string error_;
};

bool has_message(const std::vector<Got>& frames, const std::string& mid) {
  for (const Got& g : frames)
    if (g.message_id == mid && g.flag == '$') return true;
  return false;
}

// `n` bytes of a pattern with no period (a lost or displaced piece shows), over letters and the
// end-line's characters.
std::string pattern(size_t n, uint64_t seed) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n-+$#";
  std::string s(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (auto& ch : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ch = kAlphabet[x % (sizeof(kAlphabet) - 1)];
  }
  return s;
}

class Hol : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
  }
  // Alice's edge session at the relay (RFC 4976 §6.3: she names it as her first hop to go
  // further), and bob, a receiver that AUTHed there.
  void start(std::vector<std::string> args = {"-n", "1"}, const ConfigEdits& edits = {}) {
    ASSERT_TRUE(cfg_.write(kExample18, edits)) << cfg_.error();
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

// The bytes waiting for a connect are bounded: a SEND of 8 MB streaming into a pending connect
// stops the relay reading alice's connection once they pass the write high watermark (256 KiB),
// so its memory does not grow with the frame, and her SEND to bob, written after it, waits behind
// it in her stream. Once the hop accepts, the 8 MB cross byte-exact, then bob's SEND follows.
TEST_F(Hol, FrameStreamingIntoAPendingConnectIsBoundedAndArrivesWhole) {
  SlowHop x;
  ASSERT_TRUE(x.ok());
  ASSERT_NO_FATAL_FAILURE(start());
  std::string far = "msrp://127.0.0.1:9/carol;tcp";
  std::string body(8 * 1024 * 1024, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7 + i / 4093) % 26);
  std::string big =
      client::make_send("big00002", u1_ + " " + x.uri("s") + " " + far, alice_uri_, "m-big00002", body);
  std::string to_bob =
      client::make_send("pb0002", bob_.use_path + " " + bob_.uri, alice_uri_, "m-pb0002", "after");
  long rss_before = d_.rss_kib();
  std::thread writer([&] { (void)alice_.send(big + to_bob, 20000); });
  EXPECT_FALSE(bob_.c.read_frame(800)) << "bob's SEND overtook the 8 MB in alice's stream";
  long rss_pending = d_.rss_kib();
  EXPECT_LT(rss_pending - rss_before, 4096) << "RSS " << rss_before << " -> " << rss_pending << " KiB";

  x.free();
  int fd = x.accept(4000);
  if (fd < 0) {
    writer.join();
    FAIL() << "the relay never connected to the slow hop";
  }
  std::string want =
      forwarded_send("big00002", x.uri("s") + " " + far, u1_ + " " + alice_uri_, "m-big00002", body);
  size_t n = want.size() + 2 * (16 - std::string("big00002").size());  // the relay's ids are 16 long
  std::string got;
  std::vector<char> buf(1 << 20);
  auto deadline = Clock::now() + milliseconds(15000);
  while (got.size() < n && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) != 1) continue;
    ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
    if (r <= 0) break;
    got.append(buf.data(), static_cast<size_t>(r));
  }
  ::close(fd);
  writer.join();
  ASSERT_EQ(got.size(), n);
  EXPECT_TRUE(testing::forwarded_as(got, "big00002") == want) << "the 8 MB SEND differs from what alice sent";
  auto b = bob_.c.read_frame(3000);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(testing::forwarded_as(b->raw, "pb0002"),
            forwarded_send("pb0002", bob_.uri, bob_.use_path + " " + alice_uri_, "m-pb0002", "after"));
}

// The acceptance line of item 6: a sender that stalls mid-chunk does not hold the receiver. A's
// SEND declares 200 KB (Byte-Range), A writes its head and 100 KB and stops; B's small SEND to the
// same receiver arrives within 500 ms: the relay ends A's chunk with '+' for it (RFC 4975 §7.1.1,
// RFC 4976 §6.4.1). When A goes on, the rest follows as a new chunk and the receiver reassembles
// A's message byte for byte. With one worker and with two (sender and receiver on one worker or not).
class HolWorkers : public Hol, public ::testing::WithParamInterface<const char*> {};

TEST_P(HolWorkers, StalledSenderDoesNotDelayASmallSendToTheSameReceiver) {
  ASSERT_NO_FATAL_FAILURE(start({"-n", GetParam()}));
  Inbox bob(bob_);
  constexpr size_t kTotal = 200 * 1024, kFirst = 100 * 1024;
  const std::string body = pattern(kTotal, 6);
  Client a = d_.connect();
  std::string a_uri = my_uri(a, "a");
  std::string head = "MSRP big00001 SEND\r\nTo-Path: " + bob_.use_path + " " + bob_.uri +
                     "\r\nFrom-Path: " + a_uri + "\r\nMessage-ID: m-big\r\nByte-Range: 1-" +
                     std::to_string(kTotal) + "/" + std::to_string(kTotal) +
                     "\r\nContent-Type: application/octet-stream\r\n\r\n";
  ASSERT_TRUE(a.send(head + body.substr(0, kFirst)));
  // The relay routed A's SEND (at route_body_limit) and streams it to bob: A's bytes reach him.
  ASSERT_TRUE(bob.pump([](const std::vector<Got>&, size_t cur) { return cur >= 64 * 1024; }, 3000))
      << bob.error();

  Client b = d_.connect();
  std::string b_uri = my_uri(b, "b");
  auto t0 = Clock::now();
  ASSERT_TRUE(
      b.send(client::make_send("small001", bob_.use_path + " " + bob_.uri, b_uri, "m-small", "hi bob")));
  ASSERT_TRUE(bob.pump([](const std::vector<Got>& f, size_t) { return has_message(f, "m-small"); }, 2000))
      << "B's SEND did not reach bob while A was stalled: " << bob.error();
  long took = ms_since(t0);
  EXPECT_LT(took, 500) << "B's SEND waited " << took << " ms behind A's stalled chunk";
  const Got& small = bob.frames().back();
  EXPECT_EQ(testing::forwarded_as(small.raw, "small001"),
            forwarded_send("small001", bob_.uri, bob_.use_path + " " + b_uri, "m-small", "hi bob"));
  // Before it: A's first chunk, ended with '+' (A is still stalled).
  ASSERT_EQ(bob.frames().size(), 2u);
  EXPECT_EQ(bob.frames()[0].message_id, "m-big");
  EXPECT_EQ(bob.frames()[0].flag, '+');
  auto ok = b.read_frame(2000);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->raw, "MSRP small001 200 OK\r\nTo-Path: " + b_uri + "\r\nFrom-Path: " + bob_.use_path +
                         "\r\nMessage-ID: m-small\r\n-------small001$\r\n");

  // A goes on: the rest of the message, as a new chunk, then A's chunk is answered.
  ASSERT_TRUE(a.send(body.substr(kFirst) + "\r\n-------big00001$\r\n"));
  ASSERT_TRUE(bob.pump([](const std::vector<Got>& f, size_t) { return has_message(f, "m-big"); }, 5000))
      << bob.error();
  std::string got;
  std::vector<std::string> tids;
  for (const Got& g : bob.frames()) {
    if (g.message_id != "m-big") continue;
    SCOPED_TRACE("chunk " + std::to_string(tids.size()) + " Byte-Range " + g.byte_range);
    EXPECT_EQ(g.method, "SEND");
    // RFC 4975 §7.1.1: each chunk says where its bytes start; the total stays.
    EXPECT_EQ(g.byte_range.rfind(std::to_string(got.size() + 1) + "-", 0), 0u);
    EXPECT_TRUE(g.byte_range.ends_with("/" + std::to_string(kTotal)));
    for (const std::string& t : tids) EXPECT_NE(t, g.tid) << "a chunk's transaction id is reused";
    tids.push_back(g.tid);
    got += g.body;
  }
  EXPECT_GE(tids.size(), 2u);
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body) << "A's message differs from what A sent";
  auto a_ok = a.read_frame(2000);
  ASSERT_TRUE(a_ok) << a_ok.error().message;
  EXPECT_EQ(a_ok->raw, "MSRP big00001 200 OK\r\nTo-Path: " + a_uri + "\r\nFrom-Path: " + bob_.use_path +
                           "\r\nMessage-ID: m-big\r\n-------big00001$\r\n");
}

INSTANTIATE_TEST_SUITE_P(Workers, HolWorkers, ::testing::Values("1", "2"),
                         [](const ::testing::TestParamInfo<const char*>& i) {
                           return std::string(i.index == 0 ? "OneWorker" : "TwoWorkers");
                         });

// RFC 4975 §7.1.1: a chunk the relay could not split (its Byte-Range is malformed) would hold the
// receiver for as long as its sender takes: it is refused, 400, and only that frame (its 100 KB
// body dropped); the connection's next SEND goes through; counted in parse_errors, logged.
TEST_F(Hol, SendWithAMalformedByteRangeGets400AndTheConnectionGoesOn) {
  ASSERT_NO_FATAL_FAILURE(start({"-n", "2"}));
  std::string body = pattern(100 * 1024, 3);
  ASSERT_TRUE(alice_.send(
      "MSRP badbr001 SEND\r\nTo-Path: " + bob_.use_path + " " + bob_.uri + "\r\nFrom-Path: " + alice_uri_ +
      "\r\nMessage-ID: m-badbr\r\nByte-Range: 1-x/102400\r\nContent-Type: text/plain\r\n\r\n" + body +
      "\r\n-------badbr001$\r\n"));
  auto no = alice_.read_frame(3000);
  ASSERT_TRUE(no) << no.error().message;
  EXPECT_EQ(no->raw, "MSRP badbr001 400 Bad Request\r\nTo-Path: " + alice_uri_ + "\r\nFrom-Path: " +
                         bob_.use_path + "\r\nMessage-ID: m-badbr\r\n-------badbr001$\r\n");
  ASSERT_NO_FATAL_FAILURE(send_to_bob_within("after001", "the next one", 1000));
  ASSERT_NO_FATAL_FAILURE(expect_ok("after001", bob_.use_path));
  EXPECT_FALSE(bob_.c.read_frame(200)) << "nothing of the refused SEND reaches bob";
  EXPECT_EQ(cfg_.stat_when("msrp:parse_errors", 1), 1);
  EXPECT_NE(d_.log().find("refused (bad_frame): a SEND with a malformed Byte-Range from msrp://127.0.0.1:"),
            std::string::npos);
}

// RFC 4975 §7.1: a request other than SEND has a body of at most 10 KB, and the relay takes it
// whole before it claims an output, whatever route_body_limit says (1 KB here). A REPORT whose
// 5 KB body is half written does not hold bob: carol's SEND gets through meanwhile, then bob gets
// the REPORT whole. A REPORT over 10 KB is dropped (never answered, RFC 4975 §7.1.2), another
// request over 10 KB is answered 413; both only cost their own frame.
TEST_F(Hol, NonSendBodyIsTakenWholeBeforeItClaimsTheOutput) {
  ConfigEdits edits;
  edits.lines = {"modparam(\"msrp\", \"route_body_limit\", 1024)"};
  ASSERT_NO_FATAL_FAILURE(start({"-n", "2"}, edits));
  std::string body = pattern(5000, 9);
  std::string report = "MSRP rep00001 REPORT\r\nTo-Path: " + bob_.use_path + " " + bob_.uri +
                       "\r\nFrom-Path: " + alice_uri_ +
                       "\r\nMessage-ID: m-rep\r\nByte-Range: 1-5000/5000\r\nStatus: 000 200 OK\r\n"
                       "Content-Type: text/plain\r\n\r\n" +
                       body + "\r\n-------rep00001$\r\n";
  size_t half = report.find("\r\n\r\n") + 4 + 2000;
  ASSERT_TRUE(alice_.send(report.substr(0, half)));
  std::this_thread::sleep_for(milliseconds(100));  // the relay has read them

  Client carol = d_.connect();
  std::string carol_uri = my_uri(carol, "carol");
  auto t0 = Clock::now();
  ASSERT_TRUE(
      carol.send(client::make_send("carol001", bob_.use_path + " " + bob_.uri, carol_uri, "m-c", "hello")));
  auto got = bob_.c.read_frame(1500);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_LT(ms_since(t0), 500);
  EXPECT_EQ(testing::forwarded_as(got->raw, "carol001"),
            forwarded_send("carol001", bob_.uri, bob_.use_path + " " + carol_uri, "m-c", "hello"));

  ASSERT_TRUE(alice_.send(report.substr(half)));
  auto rep = bob_.c.read_frame(2000);
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(testing::forwarded_as(rep->raw, "rep00001"),
            "MSRP rep00001 REPORT\r\nTo-Path: " + bob_.uri + "\r\nFrom-Path: " + bob_.use_path + " " +
                alice_uri_ +
                "\r\nMessage-ID: m-rep\r\nByte-Range: 1-5000/5000\r\nStatus: 000 200 OK\r\n"
                "Content-Type: text/plain\r\n\r\n" +
                body + "\r\n-------rep00001$\r\n");

  // Over 10 KB: the REPORT gets no answer, the NICKNAME a 413; then the connection goes on.
  std::string big = pattern(20 * 1024, 4);
  ASSERT_TRUE(alice_.send("MSRP rep00002 REPORT\r\nTo-Path: " + bob_.use_path + " " + bob_.uri +
                          "\r\nFrom-Path: " + alice_uri_ +
                          "\r\nMessage-ID: m-rep2\r\nStatus: 000 200 OK\r\nContent-Type: text/plain\r\n\r\n" +
                          big + "\r\n-------rep00002$\r\n"));
  ASSERT_TRUE(alice_.send("MSRP nick0001 NICKNAME\r\nTo-Path: " + bob_.use_path + " " + bob_.uri +
                          "\r\nFrom-Path: " + alice_uri_ + "\r\nContent-Type: text/plain\r\n\r\n" + big +
                          "\r\n-------nick0001$\r\n"));
  auto too = alice_.read_frame(3000);
  ASSERT_TRUE(too) << too.error().message;
  EXPECT_EQ(too->raw, "MSRP nick0001 413 Stop Sending Message\r\nTo-Path: " + alice_uri_ +
                          "\r\nFrom-Path: " + bob_.use_path + "\r\n-------nick0001$\r\n");
  ASSERT_NO_FATAL_FAILURE(send_to_bob_within("after002", "still here", 1000));
  ASSERT_NO_FATAL_FAILURE(expect_ok("after002", bob_.use_path));
  EXPECT_FALSE(bob_.c.read_frame(200)) << "nothing of the refused frames reaches bob";
  EXPECT_EQ(cfg_.stat_when("msrp:parse_errors", 2), 2);
  EXPECT_EQ(cfg_.stat("msrp:parse_dropped"), 1);
}

}  // namespace
}  // namespace msrpd::itest
