// Frames never interleave on a connection. RFC 4975 §7.1: a frame's bytes go out contiguously; a
// sender may interrupt a chunk only by ending it (flag '+') and sending the rest as a new chunk, a
// new transaction with the same Message-ID. msrpd relays a SEND's body as it arrives (cut-through),
// so while a big SEND streams to a receiver R, every other frame bound for R (another sender's SENDs,
// the relay's own 200s to R's SENDs, from R's worker or from another) must wait for the streaming
// frame, or chunk, to end.
//
// R's incoming bytes are parsed with msrp::FrameParser: every frame must be well-formed, the body
// bytes of the big message (over however many chunks) exactly what its sender sent, and every small
// frame present exactly once, byte for byte. The seed's Example 1.18 route runs the relay; `-d` makes
// its xdbg lines show which worker read a frame, so the tests can put a sender on R's worker or on
// the other one.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "forwarded.h"
#include "harness.h"
#include "msrp/frame_parser.h"

namespace msrpd::itest {
namespace {

using client::Client;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const std::string kExample18 = source_path("examples/kamailio-1.18.cfg");

constexpr size_t kBigSize = 1024 * 1024;
// The big frame is written in pieces with pauses, so the relay streams it over 100 ms or more.
constexpr size_t kPieceSize = 16 * 1024;
constexpr milliseconds kPiecePause{2};
// The small frames start once R has this much of the big body: the big frame is mid-stream.
constexpr size_t kSmallStartAt = 64 * 1024;
constexpr int kSmallCount = 20;
constexpr size_t kSmallSize = 100;
constexpr milliseconds kSmallPause{2};
// Every wait of a test ends by then (from the start of the streaming).
constexpr milliseconds kTestBudget{3000};
// After everything expected arrived, R keeps reading this long: a duplicate would show.
constexpr milliseconds kLinger{150};

// `n` bytes of a xorshift stream over an alphabet that includes the end-line's characters: no
// period, so a lost, duplicated, displaced or foreign piece shows.
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

// For failure messages: CR, LF and other control bytes escaped, at most `max` bytes.
std::string printable(std::string_view s, size_t max = 240) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char ch = static_cast<unsigned char>(s[i]);
    if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch < 0x20 || ch >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", ch);
      out += hex;
    } else {
      out.push_back(static_cast<char>(ch));
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

// One endpoint. Two threads may write on it (its answers and its own SENDs, or its big SEND): a
// frame is written under the lock, so the test's own frames never interleave either.
struct Peer {
  Client c;
  std::string uri;
  std::string use_path;  // the relay's URI for this peer after an AUTH
  int worker = -1;       // the relay worker serving this connection
  std::mutex write_mu;

  Result<void> send(std::string_view bytes, int timeout_ms = 5000) {
    std::lock_guard lock(write_mu);
    return c.send(bytes, timeout_ms);
  }
};

// One frame as parsed from a connection's byte stream.
struct Got {
  std::string raw;  // every byte, start line to end-line
  bool request = false;
  std::string tid;
  std::string method;
  int code = 0;
  std::string to_path, from_path, message_id, byte_range;
  std::string body;
  char flag = 0;
};

// R's side: reads every byte R receives, parses it into frames and answers each SEND (each chunk) with
// a 200 as an endpoint does (RFC 4975 §7.2: To-Path = the first From-Path URI).
class StreamReader {
 public:
  explicit StreamReader(Peer& p) : p_(p) {}

  // Reads until done() holds (then kLinger more) or the deadline passes, a parse error or EOF.
  void run(Clock::time_point deadline, const std::function<bool(const std::vector<Got>&)>& done) {
    msrp::FrameParser parser;
    size_t pos = 0, frame_start = 0;
    Got cur;
    std::optional<Clock::time_point> done_at;
    char buf[65536];
    for (;;) {
      auto now = Clock::now();
      if (done_at && now - *done_at >= kLinger) return;
      if (now >= deadline) {
        timed_out_ = true;
        return;
      }
      pollfd pfd{p_.c.fd(), POLLIN, 0};
      int r = ::poll(&pfd, 1, 10);
      if (r == 1) {
        ssize_t n = ::recv(p_.c.fd(), buf, sizeof(buf), 0);
        if (n == 0) {
          error_ = "connection closed by the relay";
          return;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
          error_ = std::string("recv: ") + std::strerror(errno);
          return;
        }
        if (n > 0) stream_.append(buf, static_cast<size_t>(n));
      }
      for (bool more = true; more;) {
        msrp::Step s = parser.feed(std::string_view(stream_).substr(pos));
        switch (s.event) {
          case msrp::Event::need_more:
            more = false;
            break;
          case msrp::Event::error:
          case msrp::Event::skip:  // only after an error, which ends the reading
            error_ = "frame parse error " + std::to_string(s.status) + " (" + std::string(s.message) +
                     ") in the frame starting at byte " + std::to_string(frame_start) + ": " +
                     printable(std::string_view(stream_).substr(frame_start), 400);
            return;
          case msrp::Event::head: {
            const msrp::Frame& f = parser.frame();
            cur.request = f.is_request();
            cur.tid = f.transaction_id();
            cur.method = f.method();
            cur.code = f.status_code();
            cur.to_path = f.header("To-Path").value_or("");
            cur.from_path = f.header("From-Path").value_or("");
            cur.message_id = f.header("Message-ID").value_or("");
            cur.byte_range = f.header("Byte-Range").value_or("");
            pos += s.consumed;
            break;
          }
          case msrp::Event::body:
            cur.body.append(s.body);
            body_bytes_ += s.body.size();
            pos += s.consumed;
            break;
          case msrp::Event::end:
            pos += s.consumed;
            cur.flag = s.flag;
            cur.raw.assign(stream_, frame_start, pos - frame_start);
            frame_start = pos;
            if (cur.request && cur.method == "SEND") {
              std::string first_from = cur.from_path.substr(0, cur.from_path.find(' '));
              if (auto w = p_.send(client::make_response(cur.tid, 200, "OK", first_from, p_.uri)); !w) {
                error_ = "answering " + cur.tid + ": " + w.error().message;
                return;
              }
            }
            frames_.push_back(std::move(cur));
            cur = Got{};
            break;
        }
      }
      if (!done_at && done(frames_)) done_at = Clock::now();
    }
  }

  // Body bytes of all frames so far (any thread).
  size_t body_bytes() const { return body_bytes_; }
  const std::vector<Got>& frames() const { return frames_; }
  const std::string& error() const { return error_; }
  bool timed_out() const { return timed_out_; }
  size_t stream_size() const { return stream_.size(); }

 private:
  Peer& p_;
  std::string stream_;
  std::vector<Got> frames_;
  std::atomic<size_t> body_bytes_{0};
  std::string error_;
  bool timed_out_ = false;
};

// The chunks of one message, in order, as R got them.
std::vector<const Got*> chunks_of(const std::vector<Got>& frames, const std::string& message_id) {
  std::vector<const Got*> out;
  for (const auto& g : frames) {
    if (g.request && g.method == "SEND" && g.message_id == message_id) out.push_back(&g);
  }
  return out;
}

bool message_complete(const std::vector<Got>& frames, const std::string& message_id) {
  auto chunks = chunks_of(frames, message_id);
  return !chunks.empty() && chunks.back()->flag == '$';
}

// A small frame R must get: by its sender's transaction id, its exact bytes with that id. A request
// the relay forwarded carries an id of the relay's instead (RFC 4976 §6.4), which only its
// Message-ID tells apart; the relay's own responses carry the id of R's request.
struct Small {
  std::string raw;
  bool forwarded = false;
};

// What R must have got: the big message (any number of chunks) and the small frames, by their
// sender's transaction id with their exact bytes. Nothing else.
struct Expected {
  std::string big_message_id;
  std::string big_tid;  // the sender's (every chunk R gets has an id of the relay's)
  std::string big_to_path, big_from_path;
  const std::string* big_body = nullptr;
  std::map<std::string, Small> small;         // sender's tid -> the frame
  std::map<std::string, std::string> by_mid;  // Message-ID -> sender's tid, of forwarded ones
};

// The sender's transaction id of a small frame R got: a forwarded request's, found by its Message-ID.
std::string sender_tid(const Expected& e, const Got& g) {
  if (!g.request) return g.tid;
  auto it = e.by_mid.find(g.message_id);
  return it == e.by_mid.end() ? g.tid : it->second;
}

void check_stream(const StreamReader& r, const Expected& e) {
  EXPECT_TRUE(r.error().empty()) << r.error();
  EXPECT_FALSE(r.timed_out()) << "R did not get everything within " << kTestBudget.count() << " ms ("
                              << r.stream_size() << " bytes, " << r.frames().size() << " frames)";

  // The big message: chunks in order, each continuing where the last one stopped.
  auto chunks = chunks_of(r.frames(), e.big_message_id);
  ASSERT_FALSE(chunks.empty()) << "no chunk of the big message";
  std::string body;
  std::map<std::string, int> chunk_tids;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Got& c = *chunks[i];
    SCOPED_TRACE("big chunk " + std::to_string(i) + " (tid " + c.tid + ")");
    EXPECT_EQ(++chunk_tids[c.tid], 1) << "a chunk's transaction id is reused";
    // RFC 4976 §6.4: every chunk goes on with a fresh id of the relay's, the first one too.
    EXPECT_TRUE(testing::forwarded_as(c.raw, e.big_tid).starts_with("MSRP " + e.big_tid + " SEND\r\n"))
        << printable(c.raw);
    EXPECT_EQ(c.to_path, e.big_to_path);
    EXPECT_EQ(c.from_path, e.big_from_path);
    EXPECT_EQ(c.flag, i + 1 == chunks.size() ? '$' : '+');
    // RFC 4975 §7.1: a continuation chunk says where its bytes start; the total stays.
    std::string range_start = std::to_string(body.size() + 1) + "-";
    EXPECT_EQ(c.byte_range.rfind(range_start, 0), 0u) << "Byte-Range: " << c.byte_range;
    std::string total = "/" + std::to_string(kBigSize);
    EXPECT_TRUE(c.byte_range.size() >= total.size() &&
                c.byte_range.compare(c.byte_range.size() - total.size(), total.size(), total) == 0)
        << "Byte-Range: " << c.byte_range;
    // RFC 4975 §7.1.1: a chunk claims no byte it does not carry: range-end "*" (it was streamed and
    // could be interrupted), or its true last byte.
    const std::string open_end = range_start + "*" + total;
    const std::string true_end = range_start + std::to_string(body.size() + c.body.size()) + total;
    EXPECT_TRUE(c.byte_range == open_end || c.byte_range == true_end)
        << "Byte-Range: " << c.byte_range << " on a chunk of " << c.body.size() << " bytes";
    body += c.body;
  }
  std::fprintf(stderr, "R got %zu frames; the big message in %zu chunk(s)\n", r.frames().size(),
               chunks.size());
  const std::string& want = *e.big_body;
  EXPECT_EQ(body.size(), want.size()) << "body bytes of the big message (" << chunks.size() << " chunks)";
  if (body != want) {
    size_t at = 0;
    while (at < body.size() && at < want.size() && body[at] == want[at]) ++at;
    size_t from = at >= 16 ? at - 16 : 0;
    ADD_FAILURE() << "the big message's body differs from what was sent at byte " << at
                  << "; received from byte " << from << ": "
                  << printable(std::string_view(body).substr(from), 400);
  }

  // The small frames: each exactly once and whole; nothing else.
  std::map<std::string, int> seen;
  for (const auto& g : r.frames()) {
    if (g.request && g.method == "SEND" && g.message_id == e.big_message_id) continue;
    std::string tid = sender_tid(e, g);
    auto it = e.small.find(tid);
    if (it == e.small.end()) {
      ADD_FAILURE() << "unexpected frame on R: " << printable(g.raw);
      continue;
    }
    ++seen[tid];
    EXPECT_EQ(it->second.forwarded ? testing::forwarded_as(g.raw, tid) : g.raw, it->second.raw)
        << "frame " << tid;
  }
  int missing = 0;
  for (const auto& [tid, small] : e.small) {
    if (seen[tid] == 0) ++missing;
    EXPECT_LE(seen[tid], 1) << "frame " << tid << " arrived " << seen[tid] << " times";
  }
  EXPECT_EQ(missing, 0) << missing << " of " << e.small.size() << " small frames never arrived as frames";

  // Fairness (RFC 4975 §7.1.1): the relay does not keep them waiting for the rest of the 1 MB. It
  // ends the streamed chunk with '+' and goes on with a new one after them, so each small frame
  // arrives before the big message's last chunk (they were sent while more than 900 KB of it
  // were still to come).
  EXPECT_GE(chunks.size(), 2u) << "the big chunk was never interrupted for the waiting frames";
  size_t last_chunk = 0;
  for (size_t i = 0; i < r.frames().size(); ++i)
    if (&r.frames()[i] == chunks.back()) last_chunk = i;
  for (size_t i = last_chunk + 1; i < r.frames().size(); ++i)
    ADD_FAILURE() << "frame " << r.frames()[i].tid << " waited for the end of the big message";
}

// Where a connection is served, relative to R's.
enum class Place { any, same_worker, other_worker };

class Interleave : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!HasFailure()) return;
    std::string log = d_.log();
    // The tail: with -d every frame logs a dozen lines.
    if (log.size() > 12000) log = "...\n" + log.substr(log.size() - 12000);
    std::fprintf(stderr, "--- msrpd log (tail) ---\n%s\n", log.c_str());
  }

  void start(int workers) {
    workers_ = workers;
    ASSERT_TRUE(d_.start(kExample18, {"-n", std::to_string(workers), "-d"})) << d_.log();
  }

  // The worker that ran the route for frames from local port `port` (the seed script's xdbg line
  // "*[[ip:port]]"), -1 when the log does not say within a second.
  int worker_of(uint16_t port) {
    std::string needle = "*[[127.0.0.1:" + std::to_string(port) + "]]";
    auto deadline = Clock::now() + milliseconds(1000);
    do {
      std::string log = d_.log();
      size_t at = log.find(needle);
      if (at != std::string::npos) {
        size_t line = log.rfind('\n', at);
        line = line == std::string::npos ? 0 : line + 1;
        size_t w = log.find("[worker ", line);
        if (w != std::string::npos && w < at) return std::atoi(log.c_str() + w + 8);
      }
      std::this_thread::sleep_for(milliseconds(10));
    } while (Clock::now() < deadline);
    return -1;
  }

  bool placed(int worker, Place place) const {
    if (place == Place::any || workers_ < 2) return true;
    return (worker == r_worker_) == (place == Place::same_worker);
  }

  // A connection served by the worker `place` asks for. Each try sends one request (an AUTH for
  // `name` when `auth`, else a FOO, answered 501) and looks up in the log which worker routed it.
  void connect(Peer& p, const std::string& name, Place place, bool auth) {
    for (int attempt = 0; attempt < 32; ++attempt) {
      p.c = d_.connect();
      ASSERT_GE(p.c.fd(), 0);
      p.uri = "msrp://127.0.0.1:" + std::to_string(p.c.local_port()) + "/" + name + ";tcp";
      if (auth) {
        auto a = client::authenticate(p.c, d_.uri(), p.uri, name, "xyz123");
        ASSERT_TRUE(a) << a.error().message;
        ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
        ASSERT_EQ(a->use_path.size(), 1u) << a->answer.raw;
        p.use_path = a->use_path[0];
      } else {
        ASSERT_TRUE(
            p.c.send(client::make_request("where" + std::to_string(attempt), "FOO", d_.uri(), p.uri)));
        auto f = p.c.read_frame();
        ASSERT_TRUE(f) << f.error().message;
        ASSERT_EQ(f->code, 501) << f->raw;
      }
      ASSERT_EQ(p.c.pending(), 0u);
      int w = worker_of(p.c.local_port());
      ASSERT_GE(w, 0) << "no xdbg line for " << name << "'s port " << p.c.local_port();
      if (placed(w, place)) {
        p.worker = w;
        return;
      }
      p.c.close();
    }
    FAIL() << "no connection for " << name << " landed on the wanted worker in 32 tries";
  }

  // Writes a whole SEND in kPieceSize pieces with a pause between them, under the peer's write lock.
  static void stream_send(Peer& p, const std::string& frame) {
    std::lock_guard lock(p.write_mu);
    for (size_t at = 0; at < frame.size(); at += kPieceSize) {
      auto w = p.c.send(std::string_view(frame).substr(at, kPieceSize), 5000);
      ASSERT_TRUE(w) << "big SEND at byte " << at << ": " << w.error().message;
      std::this_thread::sleep_for(kPiecePause);
    }
  }

  // Waits (bounded) until R has kSmallStartAt body bytes; records whether the big frame was then
  // still streaming.
  static bool wait_mid_stream(const StreamReader& r, Clock::time_point deadline) {
    while (r.body_bytes() < kSmallStartAt && Clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(1));
    return r.body_bytes() >= kSmallStartAt && r.body_bytes() < kBigSize;
  }

  // The 1 MB SEND `tid` from `from` to R's session (Byte-Range given), and what R must get of it.
  struct Big {
    std::string body, frame;
    Expected e;
  };
  static void make_big(Big& b, const Peer& r, const Peer& from, const std::string& tid, int seed) {
    b.body = pattern(kBigSize, seed);
    const std::string range =
        "Byte-Range: 1-" + std::to_string(kBigSize) + "/" + std::to_string(kBigSize) + "\r\n";
    b.frame = client::make_send(tid, r.use_path + " " + r.uri, from.uri, "big-message", b.body,
                                "application/octet-stream", '$', range);
    b.e = Expected{"big-message", tid, r.uri, r.use_path + " " + from.uri, &b.body, {}, {}};
  }

  // Streams `big` from `from` and, once R is in the middle of it, sends `smalls` on `small_from`;
  // R's reader runs until the big message and kSmallCount more frames arrived (or the deadline).
  // True when the small frames did go out while the big one streamed.
  static bool overlap(StreamReader& reader, Clock::time_point deadline, const Expected& e, Peer& from,
                      const std::string& big, Peer& small_from, const std::vector<std::string>& smalls) {
    std::thread read_r([&] {
      reader.run(deadline, [&](const std::vector<Got>& frames) {
        return message_complete(frames, e.big_message_id) &&
               frames.size() >= chunks_of(frames, e.big_message_id).size() + kSmallCount;
      });
    });
    std::thread big_sender([&] { stream_send(from, big); });
    bool overlapped = wait_mid_stream(reader, deadline);
    for (const auto& f : smalls) {
      auto w = small_from.send(f);
      EXPECT_TRUE(w) << w.error().message;
      std::this_thread::sleep_for(kSmallPause);
    }
    big_sender.join();
    read_r.join();
    return overlapped;
  }

  // Scenario 1: S1 streams a 1 MB SEND to R while S2 sends kSmallCount small SENDs to R.
  void two_senders(int workers, Place big_place, Place small_place) {
    start(workers);
    if (HasFatalFailure()) return;
    Peer r, s1, s2;
    connect(r, "bob", Place::any, true);
    if (HasFatalFailure()) return;
    r_worker_ = r.worker;
    connect(s1, "alice", big_place, false);
    if (HasFatalFailure()) return;
    connect(s2, "carol", small_place, false);
    if (HasFatalFailure()) return;

    const std::string big_tid = "bigsend01";
    Big big;
    make_big(big, r, s1, big_tid, 1);
    Expected& e = big.e;
    std::vector<std::string> smalls;
    for (int i = 0; i < kSmallCount; ++i) {
      std::string tid = "small" + std::to_string(i);
      std::string mid = "small-message-" + std::to_string(i);
      std::string body = pattern(kSmallSize, 100 + i);
      smalls.push_back(client::make_send(tid, r.use_path + " " + r.uri, s2.uri, mid, body));
      e.small[tid] = {"MSRP " + tid + " SEND\r\nTo-Path: " + r.uri + "\r\nFrom-Path: " + r.use_path + " " +
                          s2.uri + "\r\nMessage-ID: " + mid + "\r\nContent-Type: text/plain\r\n\r\n" + body +
                          "\r\n-------" + tid + "$\r\n",
                      true};
      e.by_mid[mid] = tid;
    }

    auto deadline = Clock::now() + kTestBudget;
    StreamReader reader(r);
    bool overlapped = overlap(reader, deadline, e, s1, big.frame, s2, smalls);
    EXPECT_TRUE(overlapped) << "the small SENDs were not sent while the big one streamed to R (R had "
                            << reader.body_bytes() << " body bytes)";

    // The senders get the relay's 200s (Example 1.18 answers a SEND it relays).
    for (int i = 0; i < kSmallCount; ++i) {
      auto ok = s2.c.read_frame(500);
      ASSERT_TRUE(ok) << "S2's response " << i << ": " << ok.error().message;
      EXPECT_EQ(ok->code, 200) << ok->raw;
      EXPECT_EQ(ok->tid, "small" + std::to_string(i));
    }
    auto ok = s1.c.read_frame(500);
    ASSERT_TRUE(ok) << "S1's response: " << ok.error().message;
    EXPECT_EQ(ok->code, 200) << ok->raw;
    EXPECT_EQ(ok->tid, big_tid);

    check_stream(reader, e);
  }

  // Scenario 2: S streams a 1 MB SEND to R while R sends kSmallCount small SENDs to S: the relay's
  // 200s to R's SENDs go out on R's connection.
  void receiver_also_sends(int workers, Place big_place) {
    start(workers);
    if (HasFatalFailure()) return;
    Peer r, s;
    connect(r, "bob", Place::any, true);
    if (HasFatalFailure()) return;
    r_worker_ = r.worker;
    connect(s, "alice", big_place, true);
    if (HasFatalFailure()) return;

    const std::string big_tid = "bigsend02";
    Big big;
    make_big(big, r, s, big_tid, 2);
    Expected& e = big.e;
    std::vector<std::string> smalls;
    std::map<std::string, std::string> at_s;      // R's tid -> the SEND as S must get it (with that id)
    std::map<std::string, std::string> s_by_mid;  // Message-ID -> R's tid
    for (int i = 0; i < kSmallCount; ++i) {
      std::string tid = "rsend" + std::to_string(i);
      std::string mid = "r-message-" + std::to_string(i);
      std::string body = pattern(kSmallSize, 200 + i);
      smalls.push_back(client::make_send(tid, s.use_path + " " + s.uri, r.uri, mid, body));
      // RFC 4975 §7.2: the relay's 200 goes to the first From-Path URI, from the relay's own URI.
      e.small[tid] = {"MSRP " + tid + " 200 OK\r\nTo-Path: " + r.uri + "\r\nFrom-Path: " + s.use_path +
                          "\r\nMessage-ID: " + mid + "\r\n-------" + tid + "$\r\n",
                      false};
      at_s[tid] = "MSRP " + tid + " SEND\r\nTo-Path: " + s.uri + "\r\nFrom-Path: " + s.use_path + " " +
                  r.uri + "\r\nMessage-ID: " + mid + "\r\nContent-Type: text/plain\r\n\r\n" + body +
                  "\r\n-------" + tid + "$\r\n";
      s_by_mid[mid] = tid;
    }

    auto deadline = Clock::now() + kTestBudget;
    StreamReader reader(r);
    // S reads its side: the relay's 200 to the big SEND and R's SENDs, which it answers (after its
    // big SEND: the write lock).
    std::vector<client::ReceivedFrame> got_s;
    std::string s_error;
    std::thread read_s([&] {
      size_t sends = 0;
      bool big_ok = false;
      while ((sends < at_s.size() || !big_ok) && Clock::now() < deadline) {
        auto f = s.c.read_frame(50);
        if (!f) {
          if (f.error().message != "read: timeout") {
            s_error = f.error().message;
            return;
          }
          continue;
        }
        if (f->request && f->method == "SEND") {
          ++sends;
          auto w = s.send(client::make_response(f->tid, 200, "OK", s.use_path, s.uri));
          if (!w) s_error = w.error().message;
        } else if (f->tid == big_tid) {
          big_ok = true;
        }
        got_s.push_back(std::move(*f));
      }
    });
    bool overlapped = overlap(reader, deadline, e, s, big.frame, r, smalls);
    read_s.join();
    EXPECT_TRUE(overlapped) << "R's SENDs were not sent while the big SEND streamed to R (R had "
                            << reader.body_bytes() << " body bytes)";

    check_stream(reader, e);

    // S's side carries no streaming frame; still, every frame whole and once.
    EXPECT_TRUE(s_error.empty()) << s_error;
    std::map<std::string, int> seen;
    for (const auto& f : got_s) {
      if (!f.request) {
        EXPECT_EQ(f.tid, big_tid) << f.raw;
        EXPECT_EQ(f.code, 200) << f.raw;
        ++seen[f.tid];
        continue;
      }
      // R's SEND, with an id of the relay's (RFC 4976 §6.4): its Message-ID says which.
      auto by = s_by_mid.find(f.header("Message-ID"));
      auto it = by == s_by_mid.end() ? at_s.end() : at_s.find(by->second);
      if (it == at_s.end()) {
        ADD_FAILURE() << "unexpected frame on S: " << printable(f.raw);
        continue;
      }
      ++seen[it->first];
      EXPECT_EQ(testing::forwarded_as(f.raw, it->first), it->second);
    }
    EXPECT_EQ(seen[big_tid], 1) << "the relay's 200 to the big SEND on S";
    for (const auto& [tid, raw] : at_s) EXPECT_EQ(seen[tid], 1) << "R's SEND " << tid << " on S";
  }

  Msrpd d_;
  int workers_ = 1;
  int r_worker_ = -1;
};

// 1. Another sender's SENDs while a big SEND streams to R.
TEST_F(Interleave, SendsFromAnotherSenderWaitForAStreamingSendOneWorker) {
  two_senders(1, Place::any, Place::any);
}

TEST_F(Interleave, SendsFromAnotherSenderWaitForAStreamingSendFromAnotherWorker) {
  two_senders(2, Place::other_worker, Place::same_worker);
}

TEST_F(Interleave, SendsFromAnotherWorkerWaitForAStreamingSendFromRsWorker) {
  two_senders(2, Place::same_worker, Place::other_worker);
}

TEST_F(Interleave, SendsAndStreamingSendBothFromAnotherWorker) {
  two_senders(2, Place::other_worker, Place::other_worker);
}

// 2. The relay's 200s to R's own SENDs while a big SEND streams to R.
TEST_F(Interleave, RelayRepliesWaitForAStreamingSendOneWorker) {
  receiver_also_sends(1, Place::any);
}

TEST_F(Interleave, RelayRepliesWaitForAStreamingSendFromAnotherWorker) {
  receiver_also_sends(2, Place::other_worker);
}

}  // namespace
}  // namespace msrpd::itest
