// soak: a long run of the relay under chunked traffic with clients that die (issue 12, "Soak").
// Not a Google Benchmark: one run, figures and a verdict printed at the end.
//
// S sessions, each a sender and a receiver client. Both AUTH to the relay (RFC 4976 §5.1) and the
// sender writes through its own session to the receiver's: To-Path = sender's Use-Path, receiver's
// Use-Path, receiver (the message passes the relay twice, as between two clients of one relay);
// with --one-hop only the receiver AUTHs and the sender writes to its Use-Path directly. Each
// sender sends messages of 1..C chunks (SEND frames, RFC 4975 §7.1.1: Byte-Range a-b/total, '+'
// then '$'), the chunk sizes log-uniform in [min, max] (many small, some large), F frames in all.
// Every byte of a message body is a function of (session, message, offset), so the receiver checks
// each byte it gets; the Message-ID names session and message and the Byte-Range the position:
// the receiver checks that frames arrive exactly once, in order, and only at their own session.
//
// The sessions' report settings vary (RFC 4975 §7.1.2): Failure-Report absent (= yes), yes with
// Success-Report yes (the receiver then sends the success REPORT of each message back through the
// relay), partial, and no. The receiver answers 200 only to chunks with Failure-Report yes.
//
// K % of the clients (2 S of them) are killed, each in a session of its own, sender or receiver at
// random, at a random point of a random chunk: the sender closes its socket with part of the
// chunk written, the receiver closes with part of a chunk read. For a killed session:
//   * killed receiver: every chunk the sender wrote whole is delivered, or the sender got a failure
//     REPORT or a failure response for it; with Failure-Report partial or no the relay may say
//     nothing (RFC 4975 §7.1.2: partial reports only errors a hop saw, no nothing), and a REPORT
//     against Failure-Report no is a violation. The sender stops at its first failure.
//   * killed sender: every chunk the relay answered 200 is delivered (the 200 says the relay has it,
//     RFC 4976 §6.4.1); chunks written but not yet answered may have died in the sender's socket.
// For every session what arrived must be in order, exactly once, uncorrupted and its own; a
// surviving session must get every chunk, every 200 it asked for, every success REPORT it asked
// for, and no failure.
//
//   soak --port 2855 [--sessions 1000] [--frames 1000000] [--min-size 1] [--max-size 1048576]
//        [--max-chunks 4] [--kill-pct 5] [--seed 1] [--threads 1] [--grace 40] [--one-hop]
//
// Exit status 0 when every check passed.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "common/host_port.h"
#include "msrp/frame_parser.h"

namespace {

using Clock = std::chrono::steady_clock;
using msrpd::client::Client;
using msrpd::msrp::Event;
using msrpd::msrp::Frame;
using msrpd::msrp::FrameParser;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 2855;
  int sessions = 1000;
  uint64_t frames = 1000000;
  uint32_t min_size = 1;
  uint32_t max_size = 1 << 20;
  int max_chunks = 4;
  double kill_pct = 5;
  uint64_t seed = 1;
  int threads = 1;
  double grace = 40;  // seconds without progress before the run is called stuck (30 s timeout + margin)
  bool one_hop = false;
  std::string user = "soak";
  std::string password = "xyz123";
};

// Failure-Report partial, killed receiver: chunks written this long after the kill must be answered.
constexpr double kPartialMargin = 5;

double secs_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Body bytes: message (s, m) byte o (1-based) is kPattern[(key(s, m) + o - 1) % kPeriod]. Letters
// and digits only: a body never contains an end-line (RFC 4975 §7.1).
constexpr size_t kPeriod = (1u << 20) - 17;
constexpr size_t kMaxRun = 1u << 20;
std::vector<char> g_pattern;

void make_pattern() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::mt19937_64 rng(12345);
  g_pattern.resize(kPeriod + kMaxRun);
  for (size_t i = 0; i < kPeriod; ++i) g_pattern[i] = kAlphabet[rng() % 62];
  for (size_t i = kPeriod; i < g_pattern.size(); ++i) g_pattern[i] = g_pattern[i - kPeriod];
}

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

size_t body_key(int session, uint32_t msg) {
  return mix((static_cast<uint64_t>(session) << 32) | msg) % kPeriod;
}
// Where byte `off` (1-based) of message (session, msg) starts in g_pattern; runs of up to kMaxRun
// bytes from there are contiguous.
const char* body_at(size_t key, uint64_t off) {
  return g_pattern.data() + (key + off - 1) % kPeriod;
}

enum class Kill : uint8_t { none, sender, receiver };
// RFC 4975 §7.1.2 report settings of a session's SENDs.
enum class Reports : uint8_t { fr_default, fr_yes_sr_yes, fr_partial, fr_no };
const char* name(Reports r) {
  switch (r) {
    case Reports::fr_default:
      return "default";
    case Reports::fr_yes_sr_yes:
      return "yes+success";
    case Reports::fr_partial:
      return "partial";
    case Reports::fr_no:
      return "no";
  }
  return "?";
}
bool wants_200(Reports r) {
  return r == Reports::fr_default || r == Reports::fr_yes_sr_yes;
}

// One chunk (one SEND frame) the sender plans to send.
struct Chunk {
  uint32_t msg = 0;
  uint32_t start = 1;  // Byte-Range start within the message
  uint32_t size = 0;
  bool last = false;  // '$' (else '+')
  // What became of it.
  bool written = false;      // every byte went into the sender's socket
  bool delivered = false;    // the receiver had all its bytes, ended by '+' or '$'
  uint8_t ok200 = 0;         // 200 responses the sender got for it
  uint16_t fail_code = 0;    // a non-200 response to it
  uint16_t report_code = 0;  // a failure REPORT covering it
  float written_at = 0;      // seconds into the run its last byte was written
};

struct Message {
  uint32_t first = 0;  // index of its first chunk
  uint32_t total = 0;  // body bytes
  uint16_t success_reports = 0;
};

// One client connection: socket, parser, bytes left over from the last read, output.
struct Peer {
  Client client;
  FrameParser parser;
  std::string rest;
  std::string out;
  bool open = true;
  bool want_out = false;  // registered for EPOLLOUT
};

struct Anomalies {
  uint64_t misrouted = 0, duplicate = 0, gap = 0, corrupt = 0, bad_total = 0, bad_flag = 0, range_end = 0,
           abort_unkilled = 0, unexpected_frame = 0, unexpected_200 = 0, duplicate_200 = 0,
           unknown_response = 0, unrequested_report = 0, failure_on_survivor = 0, parse_error = 0,
           conn_lost = 0;
  // range_end is left out: a chunk the relay splits keeping the sender's range-end is issue 12
  // item 7 (RFC 4975 §7.1.1), counted and printed, not a soak failure.
  uint64_t sum() const {
    return misrouted + duplicate + gap + corrupt + bad_total + bad_flag + abort_unkilled + unexpected_frame +
           unexpected_200 + duplicate_200 + unknown_response + unrequested_report + failure_on_survivor +
           parse_error + conn_lost;
  }
};

struct Session {
  int index = 0;
  Reports reports = Reports::fr_default;
  Kill kill = Kill::none;
  uint32_t kill_chunk = 0;
  double kill_frac = 0;
  bool killed = false;
  std::vector<Chunk> chunks;
  std::vector<Message> msgs;
  Peer sender, receiver;
  std::string to_path, sender_uri, receiver_uri;

  // Sender: the chunk being written and how far.
  uint32_t next = 0;
  std::string head, tail;
  size_t wire_len = 0, wire_done = 0, kill_at = 0;
  bool stop = false;  // a failure was reported: no further chunk
  bool sender_done = false;

  // Receiver: the position expected next, the piece being read.
  uint32_t r_msg = 0;
  uint64_t r_off = 1;
  uint32_t commit = 0;  // chunks below this index are delivered
  bool in_piece = false, piece_ok = false;
  uint32_t p_msg = 0;
  uint64_t p_start = 0, p_end = 0;  // p_end 0: '*'
  bool p_report200 = false, p_success = false;
  std::string p_tid, p_from, p_from_first;
  size_t p_key = 0;
  bool aborted = false;  // a '#' ended a message

  Anomalies bad;
  std::string first_bad, first_range_end;
  uint64_t delivered_bytes = 0, delivered_frames = 0, written_frames = 0, written_bytes = 0;
  double kill_time = 0;

  void note(uint64_t& counter, const std::string& what) {
    ++counter;
    if (first_bad.empty()) first_bad = "session " + std::to_string(index) + ": " + what;
  }
};

// "msrp://host:port[/session];tcp".
std::string msrp_uri(const std::string& host, uint16_t port, std::string_view session = {}) {
  std::string uri = "msrp://";
  msrpd::append_host(uri, host);
  uri.push_back(':');
  msrpd::append_port(uri, port);
  if (!session.empty()) uri.append("/").append(session);
  return uri + ";tcp";
}

void plan(const Options& o, Session& s, uint64_t frames, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  double lmin = std::log(static_cast<double>(o.min_size)),
         lmax = std::log(static_cast<double>(o.max_size) + 1);
  s.chunks.reserve(frames);
  uint32_t msg = 0;
  while (s.chunks.size() < frames) {
    uint64_t left = frames - s.chunks.size();
    uint64_t n = std::min<uint64_t>(left, 1 + rng() % static_cast<uint64_t>(o.max_chunks));
    Message m;
    m.first = static_cast<uint32_t>(s.chunks.size());
    uint32_t start = 1;
    for (uint64_t i = 0; i < n; ++i) {
      auto size = static_cast<uint32_t>(std::exp(lmin + u(rng) * (lmax - lmin)));
      size = std::clamp(size, o.min_size, o.max_size);
      Chunk c;
      c.msg = msg;
      c.start = start;
      c.size = size;
      c.last = i + 1 == n;
      s.chunks.push_back(c);
      start += size;
    }
    m.total = start - 1;
    s.msgs.push_back(m);
    ++msg;
  }
}

bool setup(const Options& o, Session& s) {
  auto r = Client::connect(o.host, o.port);
  auto c = Client::connect(o.host, o.port);
  if (!r || !c) {
    std::fprintf(stderr, "connect: %s\n", (!r ? r.error() : c.error()).message.c_str());
    return false;
  }
  s.receiver.client = std::move(*r);
  s.sender.client = std::move(*c);
  std::string relay = msrp_uri(o.host, o.port);
  s.receiver_uri = msrp_uri(o.host, s.receiver.client.local_port(), "r" + std::to_string(s.index));
  s.sender_uri = msrp_uri(o.host, s.sender.client.local_port(), "s" + std::to_string(s.index));
  auto auth = [&](Client& cl, const std::string& me) -> std::string {
    // Expires: a full run may last long; RFC 4976 §4.4 lets the client ask.
    auto a = msrpd::client::authenticate(cl, relay, me, o.user, o.password, 3600);
    if (!a || a->answer.code != 200 || a->use_path.empty()) {
      std::fprintf(stderr, "session %d: AUTH failed: %s\n", s.index,
                   !a ? a.error().message.c_str() : a->answer.raw.c_str());
      return {};
    }
    return a->use_path.back();
  };
  std::string ru = auth(s.receiver.client, s.receiver_uri);
  if (ru.empty()) return false;
  if (o.one_hop) {
    s.to_path = ru + " " + s.receiver_uri;
  } else {
    std::string su = auth(s.sender.client, s.sender_uri);
    if (su.empty()) return false;
    s.to_path = su + " " + ru + " " + s.receiver_uri;
  }
  return true;
}

void append_num(std::string& out, uint64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, r.ptr);
}

void append_ids(std::string& out, char a, int session, char b, uint64_t n) {
  out.push_back(a);
  append_num(out, static_cast<uint64_t>(session));
  out.push_back(b);
  append_num(out, n);
}

// Parses "<a><session><b><n>" (as append_ids writes it).
bool parse_ids(std::string_view v, char a, char b, int& session, uint64_t& n) {
  if (v.size() < 4 || v[0] != a) return false;
  size_t sep = v.find(b, 1);
  if (sep == std::string_view::npos) return false;
  auto r1 = std::from_chars(v.data() + 1, v.data() + sep, session);
  auto r2 = std::from_chars(v.data() + sep + 1, v.data() + v.size(), n);
  return r1.ec == std::errc() && r1.ptr == v.data() + sep && r2.ec == std::errc() &&
         r2.ptr == v.data() + v.size();
}

// The head and end-line of chunk `i` into s.head / s.tail.
void build_chunk(Session& s, uint32_t i) {
  const Chunk& c = s.chunks[i];
  const Message& m = s.msgs[c.msg];
  std::string& h = s.head;
  h.assign("MSRP ");
  append_ids(h, 't', s.index, 'x', i);
  h.append(" SEND\r\nTo-Path: ").append(s.to_path);
  h.append("\r\nFrom-Path: ").append(s.sender_uri);
  h.append("\r\nMessage-ID: ");
  append_ids(h, 's', s.index, '.', c.msg);
  h.append("\r\nByte-Range: ");
  append_num(h, c.start);
  h.push_back('-');
  append_num(h, c.start + c.size - 1);
  h.push_back('/');
  append_num(h, m.total);
  h.append("\r\n");
  switch (s.reports) {
    case Reports::fr_default:
      break;
    case Reports::fr_yes_sr_yes:
      h.append("Failure-Report: yes\r\nSuccess-Report: yes\r\n");
      break;
    case Reports::fr_partial:
      h.append("Failure-Report: partial\r\n");
      break;
    case Reports::fr_no:
      h.append("Failure-Report: no\r\n");
      break;
  }
  h.append("Content-Type: text/plain\r\n\r\n");
  s.tail.assign("\r\n-------");
  append_ids(s.tail, 't', s.index, 'x', i);
  s.tail.push_back(c.last ? '$' : '+');
  s.tail.append("\r\n");
  s.wire_len = h.size() + c.size + s.tail.size();
  s.wire_done = 0;
}

bool settled(const Session& s);

struct Totals {
  std::atomic<uint64_t> delivered_frames{0}, delivered_bytes{0}, written_frames{0};
  std::atomic<int> kills{0};
  std::atomic<int64_t> last_progress_ms{0};
};

struct Thread {
  const Options& o;
  std::vector<Session*> sessions;
  Totals& totals;
  Clock::time_point t0;
  int ep = -1;
  std::vector<char> buf;
  std::atomic<int> unsettled{-1};  // sessions of this thread still waiting for something

  Thread(const Options& opt, Totals& t, Clock::time_point start) : o(opt), totals(t), t0(start) {}

  void bump_progress() { totals.last_progress_ms.store(static_cast<int64_t>(secs_since(t0) * 1000)); }

  void close_peer(Peer& p) {
    if (!p.open) return;
    epoll_ctl(ep, EPOLL_CTL_DEL, p.client.fd(), nullptr);
    p.client.close();
    p.open = false;
  }

  void kill(Session& s, Peer& p) {
    close_peer(p);
    s.killed = true;
    s.kill_time = secs_since(t0);
    totals.kills.fetch_add(1);
  }

  void set_out(Session& s, Peer& p, bool receiver, bool out) {
    if (!p.open || p.want_out == out) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u64 = (static_cast<uint64_t>(s.index) << 1) | (receiver ? 1 : 0);
    epoll_ctl(ep, EPOLL_CTL_MOD, p.client.fd(), &ev);
    p.want_out = out;
  }

  // Writes what the sender may write now (up to `budget` bytes), chunk after chunk.
  void write_sender(Session& s, size_t budget) {
    while (s.sender.open && !s.sender_done && budget > 0) {
      if (s.wire_done == 0 && s.wire_len == 0) {
        if (s.stop || s.next >= s.chunks.size()) {
          s.sender_done = true;
          break;
        }
        build_chunk(s, s.next);
        if (s.kill == Kill::sender && s.next == s.kill_chunk)
          s.kill_at = 1 + static_cast<size_t>(s.kill_frac * static_cast<double>(s.wire_len - 1));
      }
      const Chunk& c = s.chunks[s.next];
      size_t key = body_key(s.index, c.msg);
      iovec iov[4];
      int n = 0;
      size_t hl = s.head.size(), bl = c.size;
      size_t done = s.wire_done;
      if (done < hl) iov[n++] = {s.head.data() + done, hl - done};
      if (done < hl + bl) {
        size_t boff = done > hl ? done - hl : 0;
        // Body runs are contiguous in g_pattern up to kMaxRun bytes from any start.
        const char* p = body_at(key, c.start + boff);
        iov[n++] = {const_cast<char*>(p), bl - boff};
      }
      size_t toff = done > hl + bl ? done - hl - bl : 0;
      iov[n++] = {s.tail.data() + toff, s.tail.size() - toff};
      size_t want = s.wire_len - done;
      size_t limit = std::min(want, budget);
      bool killing = s.kill == Kill::sender && s.next == s.kill_chunk && !s.killed;
      if (killing) limit = std::min(limit, s.kill_at - done);
      // Trim the iovecs to `limit` bytes.
      size_t acc = 0;
      int used = 0;
      for (; used < n && acc < limit; ++used) {
        if (acc + iov[used].iov_len > limit) iov[used].iov_len = limit - acc;
        acc += iov[used].iov_len;
      }
      msghdr mh{};
      mh.msg_iov = iov;
      mh.msg_iovlen = static_cast<size_t>(used);
      ssize_t w = ::sendmsg(s.sender.client.fd(), &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        s.note(s.bad.conn_lost, std::string("sender write: ") + std::strerror(errno));
        close_peer(s.sender);
        return;
      }
      s.wire_done += static_cast<size_t>(w);
      budget -= std::min(budget, static_cast<size_t>(w));
      if (killing && s.wire_done >= s.kill_at) {
        kill(s, s.sender);  // part of the chunk written: the sender dies here
        return;
      }
      if (s.wire_done == s.wire_len) {
        Chunk& done_chunk = s.chunks[s.next];
        done_chunk.written = true;
        done_chunk.written_at = static_cast<float>(secs_since(t0));
        ++s.written_frames;
        s.written_bytes += done_chunk.size;
        totals.written_frames.fetch_add(1, std::memory_order_relaxed);
        bump_progress();
        ++s.next;
        s.wire_done = s.wire_len = 0;
      }
      if (static_cast<size_t>(w) < acc) return;  // the socket is full
    }
  }

  // Reads a peer's socket into buf (after the bytes left from last time) and hands every step to
  // `on`; on(...) returns false to stop (a kill). False when the connection is gone.
  template <typename On>
  bool read_peer(Session& s, Peer& p, On on) {
    size_t keep = p.rest.size();
    if (keep + 65536 > buf.size()) buf.resize(keep + 262144);
    std::memcpy(buf.data(), p.rest.data(), keep);
    ssize_t n = ::recv(p.client.fd(), buf.data() + keep, buf.size() - keep, MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    std::string_view in(buf.data(), keep + static_cast<size_t>(n));
    size_t pos = 0;
    for (;;) {
      auto step = p.parser.feed(in.substr(pos));
      if (step.event == Event::need_more) break;
      if (step.event == Event::error || step.event == Event::skip) {
        s.note(s.bad.parse_error, "parse error: " + std::string(step.message));
        return false;
      }
      bool go = on(step, in.substr(pos, step.consumed));
      pos += step.consumed;
      if (!go) return true;
    }
    p.rest.assign(in.data() + pos, in.size() - pos);
    return true;
  }

  uint32_t find_chunk(const Session& s, uint32_t msg, uint64_t start) const {
    const Message& m = s.msgs[msg];
    uint32_t end = msg + 1 < s.msgs.size() ? s.msgs[msg + 1].first : static_cast<uint32_t>(s.chunks.size());
    for (uint32_t i = m.first; i < end; ++i) {
      const Chunk& c = s.chunks[i];
      if (start >= c.start && start < static_cast<uint64_t>(c.start) + c.size) return i;
    }
    return UINT32_MAX;
  }

  void on_sender_frame(Session& s, const Frame& f) {
    if (!f.is_request()) {
      int sess = -1;
      uint64_t idx = 0;
      if (!parse_ids(f.transaction_id(), 't', 'x', sess, idx) || sess != s.index || idx >= s.chunks.size()) {
        s.note(s.bad.unknown_response, "response with unknown tid " + std::string(f.start_line()));
        return;
      }
      Chunk& c = s.chunks[idx];
      if (f.status_code() == 200) {
        if (!wants_200(s.reports))
          s.note(s.bad.unexpected_200, "200 to a chunk with Failure-Report " + std::string(name(s.reports)));
        else if (c.ok200 > 0)
          s.note(s.bad.duplicate_200, "second 200 for chunk " + std::to_string(idx));
        ++c.ok200;
      } else {
        if (c.fail_code == 0) c.fail_code = f.status_code();
        s.stop = true;
        if (s.kill == Kill::none)
          s.note(s.bad.failure_on_survivor,
                 "response " + std::string(f.start_line()) + " to chunk " + std::to_string(idx));
        if (s.reports == Reports::fr_no)
          s.note(s.bad.unrequested_report, "failure response despite Failure-Report no");
      }
      bump_progress();
      return;
    }
    if (f.method() != "REPORT") {
      s.note(s.bad.unexpected_frame, "sender got " + std::string(f.start_line()));
      return;
    }
    auto mid = f.message_id();
    auto br = f.byte_range();
    auto st = f.report_status();
    int sess = -1;
    uint64_t msg = 0;
    if (!mid || !parse_ids(*mid, 's', '.', sess, msg) || sess != s.index || msg >= s.msgs.size() || !br ||
        !*br || !st || !*st) {
      s.note(s.bad.misrouted, "REPORT not for this session: " + std::string(mid ? *mid : "?"));
      return;
    }
    bump_progress();
    if ((*st)->code == 200) {
      if (s.reports != Reports::fr_yes_sr_yes)
        s.note(s.bad.unrequested_report, "success REPORT not asked for");
      ++s.msgs[msg].success_reports;
      return;
    }
    s.stop = true;
    uint32_t ci = find_chunk(s, static_cast<uint32_t>(msg), (*br)->start);
    if (ci == UINT32_MAX) {
      s.note(s.bad.unknown_response, "failure REPORT for no chunk sent: Message-ID " + std::string(*mid) +
                                         " Byte-Range " + std::string(f.header("Byte-Range").value_or("?")) +
                                         " Status " + std::string(f.header("Status").value_or("?")));
      return;
    }
    Chunk& c = s.chunks[ci];
    if (c.report_code == 0) c.report_code = (*st)->code;
    if (s.kill == Kill::none)
      s.note(s.bad.failure_on_survivor,
             "failure REPORT " + std::to_string((*st)->code) + " for chunk " + std::to_string(ci));
    if (s.reports == Reports::fr_no) s.note(s.bad.unrequested_report, "REPORT despite Failure-Report no");
    if (s.reports == Reports::fr_partial && (*st)->code == 408)
      s.note(s.bad.unrequested_report, "408 REPORT despite Failure-Report partial");
  }

  // A piece of a chunk starts at the receiver.
  void on_receiver_head(Session& s, const Frame& f) {
    s.in_piece = true;
    s.piece_ok = false;
    if (!f.is_request() || f.method() != "SEND") {
      s.note(s.bad.unexpected_frame, "receiver got " + std::string(f.start_line()));
      return;
    }
    auto mid = f.message_id();
    auto br = f.byte_range();
    int sess = -1;
    uint64_t msg = 0;
    if (!mid || !parse_ids(*mid, 's', '.', sess, msg) || sess != s.index || msg >= s.msgs.size()) {
      s.note(s.bad.misrouted, "SEND for another session: " + std::string(mid ? *mid : "?"));
      return;
    }
    if (!br || !*br || !(*br)->total || *(*br)->total != s.msgs[msg].total) {
      s.note(s.bad.bad_total, "Byte-Range total not the message's");
      return;
    }
    uint64_t start = (*br)->start;
    if (msg < s.r_msg || (msg == s.r_msg && start < s.r_off)) {
      s.note(s.bad.duplicate, "message " + std::to_string(msg) + " byte " + std::to_string(start) +
                                  " again (expected message " + std::to_string(s.r_msg) + " byte " +
                                  std::to_string(s.r_off) + ")");
      return;
    }
    if (msg != s.r_msg || start != s.r_off) {
      s.note(s.bad.gap, "message " + std::to_string(msg) + " byte " + std::to_string(start) +
                            " while expecting message " + std::to_string(s.r_msg) + " byte " +
                            std::to_string(s.r_off));
      // Check what follows from here on.
      s.r_msg = static_cast<uint32_t>(msg);
      s.r_off = start;
      uint32_t at = find_chunk(s, s.r_msg, start);
      if (at != UINT32_MAX) s.commit = std::max(s.commit, at);
    }
    if (s.aborted) s.note(s.bad.abort_unkilled, "a chunk after a '#'");
    s.piece_ok = true;
    s.p_msg = static_cast<uint32_t>(msg);
    s.p_start = start;
    s.p_end = (*br)->end ? *(*br)->end : 0;
    s.p_key = body_key(s.index, s.p_msg);
    auto fr = f.failure_report();
    s.p_report200 = fr && *fr == msrpd::msrp::FailureReport::yes;
    auto sr = f.success_report();
    s.p_success = sr && *sr;
    s.p_tid.assign(f.transaction_id());
    auto fp = f.header("From-Path");
    s.p_from.assign(fp ? *fp : std::string_view());
    s.p_from_first.assign(f.from_path().empty() ? std::string_view() : f.from_path()[0]);
  }

  // False: the receiver was killed here.
  bool on_receiver_body(Session& s, std::string_view body) {
    if (!s.piece_ok) return true;
    const Message& m = s.msgs[s.p_msg];
    if (s.r_off - 1 + body.size() > m.total) {
      s.note(s.bad.corrupt, "more body than the message has");
      s.piece_ok = false;
      return true;
    }
    if (std::memcmp(body.data(), body_at(s.p_key, s.r_off), body.size()) != 0) {
      s.note(s.bad.corrupt,
             "body bytes differ at message " + std::to_string(s.p_msg) + " byte " + std::to_string(s.r_off));
      s.piece_ok = false;
    }
    s.r_off += body.size();
    s.delivered_bytes += body.size();
    totals.delivered_bytes.fetch_add(body.size(), std::memory_order_relaxed);
    if (s.kill == Kill::receiver && !s.killed) {
      const Chunk& k = s.chunks[s.kill_chunk];
      uint64_t target = k.start + static_cast<uint64_t>(s.kill_frac * (k.size - 1));
      if (s.p_msg == k.msg && s.r_off > target && s.r_off <= static_cast<uint64_t>(k.start) + k.size) {
        kill(s, s.receiver);  // part of the chunk read, the rest unread
        return false;
      }
    }
    return true;
  }

  void on_receiver_end(Session& s, char flag) {
    s.in_piece = false;
    if (!s.piece_ok) return;
    const Message& m = s.msgs[s.p_msg];
    // RFC 4975 §7.2: the endpoint answers the chunk (only when Failure-Report is yes).
    if (s.p_report200)
      msrpd::client::append_response(s.receiver.out, s.p_tid, 200, "OK", s.p_from_first, s.receiver_uri);
    if (flag == '#') {
      if (s.kill != Kill::sender) s.note(s.bad.abort_unkilled, "a chunk ended '#' but its sender is alive");
      s.aborted = true;
      s.r_msg = s.p_msg + 1;
      s.r_off = 1;
      return;
    }
    if (s.p_end != 0 && s.p_end != s.r_off - 1 && s.bad.range_end++ == 0 && s.first_range_end.empty())
      s.first_range_end = "session " + std::to_string(s.index) + " message " + std::to_string(s.p_msg) +
                          ": Byte-Range end " + std::to_string(s.p_end) +
                          " but the chunk carried up to byte " + std::to_string(s.r_off - 1);
    // A '+' may end the message's last byte: the relay then ends the message with an empty chunk
    // (RFC 4975 §7.1.1, docs/ARCHITECTURE.md step 4).
    bool complete = s.r_off == static_cast<uint64_t>(m.total) + 1;
    if (flag == '$' && !complete) {
      s.note(s.bad.bad_flag, std::string("flag ") + flag + " at byte " + std::to_string(s.r_off - 1) +
                                 " of " + std::to_string(m.total));
    }
    // Every chunk whose bytes all arrived, ended by this end-line, is delivered.
    uint32_t before = s.commit;
    while (s.commit < s.chunks.size()) {
      Chunk& c = s.chunks[s.commit];
      bool in = c.msg < s.p_msg || (c.msg == s.p_msg && static_cast<uint64_t>(c.start) + c.size <= s.r_off);
      if (!in) break;
      c.delivered = true;
      ++s.commit;
    }
    s.delivered_frames += s.commit - before;
    totals.delivered_frames.fetch_add(s.commit - before, std::memory_order_relaxed);
    if (flag == '$') {
      if (s.p_success) {
        // RFC 4975 §7.1.2: the success REPORT of the whole message, back along the From-Path.
        std::string& out = s.receiver.out;
        out.append("MSRP ");
        append_ids(out, 'r', s.index, 'x', s.p_msg);
        out.append(" REPORT\r\nTo-Path: ").append(s.p_from);
        out.append("\r\nFrom-Path: ").append(s.receiver_uri);
        out.append("\r\nMessage-ID: ");
        append_ids(out, 's', s.index, '.', s.p_msg);
        out.append("\r\nByte-Range: 1-");
        append_num(out, m.total);
        out.push_back('/');
        append_num(out, m.total);
        out.append("\r\nStatus: 000 200 OK\r\n-------");
        append_ids(out, 'r', s.index, 'x', s.p_msg);
        out.append("$\r\n");
      }
      s.r_msg = s.p_msg + 1;
      s.r_off = 1;
    }
    bump_progress();
  }

  void flush(Session& s, Peer& p, bool receiver) {
    while (p.open && !p.out.empty()) {
      ssize_t n = ::send(p.client.fd(), p.out.data(), p.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        p.out.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        set_out(s, p, receiver, true);
        return;
      }
      s.note(s.bad.conn_lost, "receiver write failed");
      close_peer(p);
      return;
    }
  }

  void on_event(Session& s, bool receiver, uint32_t events) {
    if (receiver) {
      if (!s.receiver.open) return;
      if (events & EPOLLIN) {
        bool ok = read_peer(s, s.receiver, [&](const msrpd::msrp::Step& st, std::string_view) {
          switch (st.event) {
            case Event::head:
              on_receiver_head(s, s.receiver.parser.frame());
              return true;
            case Event::body:
              return on_receiver_body(s, st.body);
            case Event::end:
              on_receiver_end(s, st.flag);
              return true;
            default:
              return true;
          }
        });
        if (!s.receiver.open) return;  // killed
        if (!ok) {
          s.note(s.bad.conn_lost, "receiver connection closed by the relay");
          close_peer(s.receiver);
          return;
        }
      }
      if (events & EPOLLOUT) set_out(s, s.receiver, true, false);
      flush(s, s.receiver, true);
      return;
    }
    if (!s.sender.open) return;
    if (events & EPOLLIN) {
      bool ok = read_peer(s, s.sender, [&](const msrpd::msrp::Step& st, std::string_view) {
        if (st.event == Event::head) on_sender_frame(s, s.sender.parser.frame());
        return true;
      });
      if (!ok) {
        s.note(s.bad.conn_lost, "sender connection closed by the relay");
        close_peer(s.sender);
        return;
      }
    }
    if (events & EPOLLOUT) write_sender(s, 256 * 1024);
    if (s.sender_done) set_out(s, s.sender, false, false);
  }

  void run(std::atomic<bool>& stop) {
    ep = epoll_create1(EPOLL_CLOEXEC);
    buf.resize(262144);
    for (Session* s : sessions) {
      for (bool r : {false, true}) {
        Peer& p = r ? s->receiver : s->sender;
        epoll_event ev{};
        ev.events = EPOLLIN | (r ? 0u : uint32_t{EPOLLOUT});
        ev.data.u64 = (static_cast<uint64_t>(s->index) << 1) | (r ? 1 : 0);
        epoll_ctl(ep, EPOLL_CTL_ADD, p.client.fd(), &ev);
        p.want_out = !r;
      }
    }
    std::vector<Session*> by_index;
    for (Session* s : sessions) {
      if (by_index.size() <= static_cast<size_t>(s->index))
        by_index.resize(static_cast<size_t>(s->index) + 1);
      by_index[static_cast<size_t>(s->index)] = s;
    }
    epoll_event events[512];
    double checked = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      int n = epoll_wait(ep, events, 512, 50);
      for (int i = 0; i < n; ++i) {
        Session& s = *by_index[events[i].data.u64 >> 1];
        on_event(s, events[i].data.u64 & 1, events[i].events);
      }
      if (double t = secs_since(t0); t - checked >= 0.2) {
        checked = t;
        int left = 0;
        for (Session* s : sessions) left += settled(*s) ? 0 : 1;
        unsettled.store(left);
      }
    }
    for (Session* s : sessions) {
      close_peer(s->sender);
      close_peer(s->receiver);
    }
    ::close(ep);
  }
};

// Whether the session has nothing more to wait for.
bool settled(const Session& s) {
  if (s.kill == Kill::none) {
    if (s.commit < s.chunks.size()) return false;
    for (const Chunk& c : s.chunks)
      if (wants_200(s.reports) && c.ok200 == 0) return false;
    if (s.reports == Reports::fr_yes_sr_yes)
      for (const Message& m : s.msgs)
        if (m.success_reports == 0) return false;
    return true;
  }
  if (!s.killed) return false;
  if (s.kill == Kill::sender) {
    for (const Chunk& c : s.chunks)
      if (c.ok200 > 0 && !c.delivered) return false;
    return true;
  }
  // Killed receiver: the sender stopped, every whole chunk has its answer (Failure-Report yes).
  if (s.sender.open && !s.sender_done) return false;
  if (!wants_200(s.reports)) return true;
  for (const Chunk& c : s.chunks)
    if (c.written && !c.delivered && c.fail_code == 0 && c.report_code == 0) return false;
  return true;
}

void usage() {
  std::fprintf(
      stderr,
      "usage: soak [--host IP] [--port N] [--sessions S] [--frames F] [--min-size B] [--max-size B]\n"
      "            [--max-chunks C] [--kill-pct K] [--seed N] [--threads T] [--grace SECONDS]\n"
      "            [--one-hop] [--user U] [--password PW]\n");
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--one-hop") {
      o.one_hop = true;
      continue;
    }
    if (a == "-h" || a == "--help" || i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = static_cast<uint16_t>(std::atoi(v));
    else if (a == "--sessions")
      o.sessions = std::atoi(v);
    else if (a == "--frames")
      o.frames = std::strtoull(v, nullptr, 10);
    else if (a == "--min-size")
      o.min_size = static_cast<uint32_t>(std::atol(v));
    else if (a == "--max-size")
      o.max_size = static_cast<uint32_t>(std::atol(v));
    else if (a == "--max-chunks")
      o.max_chunks = std::atoi(v);
    else if (a == "--kill-pct")
      o.kill_pct = std::atof(v);
    else if (a == "--seed")
      o.seed = std::strtoull(v, nullptr, 10);
    else if (a == "--threads")
      o.threads = std::atoi(v);
    else if (a == "--grace")
      o.grace = std::atof(v);
    else if (a == "--user")
      o.user = v;
    else if (a == "--password")
      o.password = v;
    else
      return false;
  }
  return o.sessions > 0 && o.frames >= static_cast<uint64_t>(o.sessions) && o.min_size >= 1 &&
         o.max_size >= o.min_size && o.max_size <= kMaxRun && o.max_chunks >= 1 && o.threads >= 1 &&
         o.kill_pct >= 0 && o.kill_pct <= 50;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_args(argc, argv, o)) {
    usage();
    return 2;
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  make_pattern();

  std::mt19937_64 rng(o.seed);
  std::vector<Session> sessions(static_cast<size_t>(o.sessions));
  uint64_t per = o.frames / static_cast<uint64_t>(o.sessions),
           extra = o.frames % static_cast<uint64_t>(o.sessions);
  for (int i = 0; i < o.sessions; ++i) {
    Session& s = sessions[static_cast<size_t>(i)];
    s.index = i;
    // Most sessions as clients send them (no report headers); a tenth each ask for success reports,
    // partial failure reports, no reports.
    static constexpr Reports kMix[10] = {Reports::fr_default, Reports::fr_default,    Reports::fr_default,
                                         Reports::fr_default, Reports::fr_default,    Reports::fr_default,
                                         Reports::fr_default, Reports::fr_yes_sr_yes, Reports::fr_partial,
                                         Reports::fr_no};
    s.reports = kMix[mix(o.seed * 7919 + static_cast<uint64_t>(i)) % 10];
    // One hop: the sender has no session of its own, so nothing can route a REPORT back to it
    // (the default config sends what comes from the receiver's session to the receiver).
    if (o.one_hop && s.reports == Reports::fr_yes_sr_yes) s.reports = Reports::fr_default;
    plan(o, s, per + (static_cast<uint64_t>(i) < extra ? 1 : 0), rng);
  }
  // K % of the 2 S clients, each in a session of its own.
  auto kills = static_cast<int>(std::lround(o.kill_pct / 100.0 * 2 * o.sessions));
  kills = std::min(kills, o.sessions);
  std::vector<int> order(static_cast<size_t>(o.sessions));
  for (int i = 0; i < o.sessions; ++i) order[static_cast<size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::uniform_real_distribution<double> u(0, 1);
  for (int k = 0; k < kills; ++k) {
    Session& s = sessions[static_cast<size_t>(order[static_cast<size_t>(k)])];
    s.kill = rng() % 2 ? Kill::sender : Kill::receiver;
    s.kill_chunk = static_cast<uint32_t>(rng() % s.chunks.size());
    s.kill_frac = u(rng);
  }
  uint64_t planned_bytes = 0;
  for (auto& s : sessions)
    for (auto& m : s.msgs) planned_bytes += m.total;
  std::printf(
      "soak: sessions=%d frames=%llu bytes=%llu (%.2f GB) sizes=%u..%u log-uniform max-chunks=%d "
      "kills=%d path=%s threads=%d seed=%llu\n",
      o.sessions, static_cast<unsigned long long>(o.frames), static_cast<unsigned long long>(planned_bytes),
      static_cast<double>(planned_bytes) / 1e9, o.min_size, o.max_size, o.max_chunks, kills,
      o.one_hop ? "one-hop" : "two-sessions", o.threads, static_cast<unsigned long long>(o.seed));
  std::fflush(stdout);

  auto t_setup = Clock::now();
  for (auto& s : sessions)
    if (!setup(o, s)) return 1;
  double setup_s = secs_since(t_setup);
  std::fprintf(stderr, "soak: %d sessions AUTHed in %.1f s\n", o.sessions, setup_s);

  Totals totals;
  std::atomic<bool> stop{false};
  auto t0 = Clock::now();
  std::vector<std::unique_ptr<Thread>> workers;
  for (int t = 0; t < o.threads; ++t) {
    workers.push_back(std::make_unique<Thread>(o, totals, t0));
    for (int i = t; i < o.sessions; i += o.threads)
      workers.back()->sessions.push_back(&sessions[static_cast<size_t>(i)]);
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w, &stop] { w->run(stop); });

  // Progress, and the end: every session settled (plus a short wait for anything late), or no
  // progress for --grace seconds.
  double last_print = 0, all_settled_at = -1;
  bool stuck = false;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    double t = secs_since(t0);
    if (t - last_print >= 10) {
      last_print = t;
      std::fprintf(
          stderr, "soak: %6.0f s  written %llu  delivered %llu frames %.2f GB  kills %d  cpu %.0f s\n", t,
          static_cast<unsigned long long>(totals.written_frames.load()),
          static_cast<unsigned long long>(totals.delivered_frames.load()),
          static_cast<double>(totals.delivered_bytes.load()) / 1e9, totals.kills.load(), cpu_seconds());
    }
    bool all = true;
    for (const auto& w : workers) all = all && w->unsettled.load() == 0;
    if (all && all_settled_at < 0) all_settled_at = t;
    if (all_settled_at >= 0 && t - all_settled_at > 2) break;
    if (t - static_cast<double>(totals.last_progress_ms.load()) / 1000 > o.grace) {
      stuck = true;
      break;
    }
  }
  double run_s = secs_since(t0);
  stop = true;
  for (auto& th : threads) th.join();

  // The verdict.
  Anomalies bad;
  std::string first_bad;
  uint64_t written = 0, written_bytes = 0, delivered = 0, delivered_bytes = 0, unsettled = 0;
  uint64_t surv_sessions = 0, surv_frames = 0, surv_ok = 0, missing_200 = 0, missing_success = 0,
           surv_lost = 0;
  uint64_t ks_sessions = 0, kr_sessions = 0, k_written = 0, k_delivered = 0, k_reported = 0, k_refused = 0,
           k_both = 0, k_silent_allowed = 0, k_silent_violation = 0, k_acked_lost = 0, k_unacked_lost = 0;
  for (const auto& s : sessions) {
    const Anomalies& a = s.bad;
    for (auto [dst, src] : {std::pair{&bad.misrouted, a.misrouted},
                            {&bad.duplicate, a.duplicate},
                            {&bad.gap, a.gap},
                            {&bad.corrupt, a.corrupt},
                            {&bad.bad_total, a.bad_total},
                            {&bad.bad_flag, a.bad_flag},
                            {&bad.range_end, a.range_end},
                            {&bad.abort_unkilled, a.abort_unkilled},
                            {&bad.unexpected_frame, a.unexpected_frame},
                            {&bad.unexpected_200, a.unexpected_200},
                            {&bad.duplicate_200, a.duplicate_200},
                            {&bad.unknown_response, a.unknown_response},
                            {&bad.unrequested_report, a.unrequested_report},
                            {&bad.failure_on_survivor, a.failure_on_survivor},
                            {&bad.parse_error, a.parse_error},
                            {&bad.conn_lost, a.conn_lost}})
      *dst += src;
    if (first_bad.empty()) first_bad = s.first_bad;
    written += s.written_frames;
    written_bytes += s.written_bytes;
    delivered += s.delivered_frames;
    delivered_bytes += s.delivered_bytes;
    if (!settled(s)) ++unsettled;
    if (s.kill == Kill::none) {
      ++surv_sessions;
      for (const Chunk& c : s.chunks) {
        ++surv_frames;
        if (c.delivered)
          ++surv_ok;
        else
          ++surv_lost;
        if (wants_200(s.reports) && c.ok200 == 0) ++missing_200;
      }
      if (s.reports == Reports::fr_yes_sr_yes)
        for (const Message& m : s.msgs)
          if (m.success_reports == 0) ++missing_success;
      continue;
    }
    (s.kill == Kill::sender ? ks_sessions : kr_sessions)++;
    for (const Chunk& c : s.chunks) {
      if (!c.written) continue;
      ++k_written;
      bool told = c.fail_code != 0 || c.report_code != 0;
      if (c.delivered) ++k_delivered;
      if (c.delivered && told) ++k_both;
      if (!c.delivered && c.report_code != 0)
        ++k_reported;
      else if (!c.delivered && c.fail_code != 0)
        ++k_refused;
      if (c.delivered || told) continue;
      if (s.kill == Kill::sender) {
        if (c.ok200 > 0) {
          ++k_acked_lost;
          if (first_bad.empty())
            first_bad =
                "session " + std::to_string(s.index) + ": a chunk the relay answered 200 never arrived";
        } else {
          ++k_unacked_lost;
        }
      } else if (wants_200(s.reports) ||
                 (s.reports == Reports::fr_partial && c.written_at > s.kill_time + kPartialMargin)) {
        // Failure-Report partial: a chunk the relay still wrote to the dying receiver may vanish
        // unreported, but one sent well after the relay saw that connection close must get its 481
        // or REPORT (RFC 4975 §7.1.2, RFC 4976 §6.4.1).
        ++k_silent_violation;
        if (first_bad.empty())
          first_bad = "session " + std::to_string(s.index) + ": chunk " +
                      std::to_string(&c - s.chunks.data()) + " neither delivered nor reported";
      } else {
        ++k_silent_allowed;
      }
    }
  }
  uint64_t violations =
      bad.sum() + surv_lost + missing_200 + missing_success + k_acked_lost + k_silent_violation + unsettled;
  std::printf("soak: run %.1f s (AUTH of %d clients %.1f s) driver_cpu_s=%.1f%s\n", run_s,
              o.one_hop ? o.sessions : 2 * o.sessions, setup_s, cpu_seconds(),
              stuck ? " (stopped: no progress)" : "");
  std::printf("soak: written frames=%llu bytes=%llu  delivered frames=%llu bytes=%llu (%.1f MB/s)\n",
              static_cast<unsigned long long>(written), static_cast<unsigned long long>(written_bytes),
              static_cast<unsigned long long>(delivered), static_cast<unsigned long long>(delivered_bytes),
              static_cast<double>(delivered_bytes) / 1e6 / run_s);
  std::printf(
      "soak: surviving sessions=%llu frames=%llu delivered-once-in-order=%llu lost=%llu missing_200=%llu "
      "missing_success_reports=%llu\n",
      static_cast<unsigned long long>(surv_sessions), static_cast<unsigned long long>(surv_frames),
      static_cast<unsigned long long>(surv_ok), static_cast<unsigned long long>(surv_lost),
      static_cast<unsigned long long>(missing_200), static_cast<unsigned long long>(missing_success));
  std::printf(
      "soak: killed sessions=%llu (senders %llu, receivers %llu) whole frames written=%llu delivered=%llu "
      "reported=%llu refused=%llu delivered+reported=%llu unreported(allowed: partial/no)=%llu "
      "in-flight-at-sender-kill=%llu VIOLATIONS: unreported=%llu acked-but-lost=%llu\n",
      static_cast<unsigned long long>(ks_sessions + kr_sessions),
      static_cast<unsigned long long>(ks_sessions), static_cast<unsigned long long>(kr_sessions),
      static_cast<unsigned long long>(k_written), static_cast<unsigned long long>(k_delivered),
      static_cast<unsigned long long>(k_reported), static_cast<unsigned long long>(k_refused),
      static_cast<unsigned long long>(k_both), static_cast<unsigned long long>(k_silent_allowed),
      static_cast<unsigned long long>(k_unacked_lost), static_cast<unsigned long long>(k_silent_violation),
      static_cast<unsigned long long>(k_acked_lost));
  std::printf(
      "soak: anomalies misrouted=%llu duplicate=%llu gap=%llu corrupt=%llu bad_total=%llu bad_flag=%llu "
      "range_end=%llu abort_unkilled=%llu unexpected_frame=%llu unexpected_200=%llu duplicate_200=%llu "
      "unknown_response=%llu unrequested_report=%llu failure_on_survivor=%llu parse_error=%llu "
      "conn_lost=%llu unsettled_sessions=%llu\n",
      static_cast<unsigned long long>(bad.misrouted), static_cast<unsigned long long>(bad.duplicate),
      static_cast<unsigned long long>(bad.gap), static_cast<unsigned long long>(bad.corrupt),
      static_cast<unsigned long long>(bad.bad_total), static_cast<unsigned long long>(bad.bad_flag),
      static_cast<unsigned long long>(bad.range_end), static_cast<unsigned long long>(bad.abort_unkilled),
      static_cast<unsigned long long>(bad.unexpected_frame),
      static_cast<unsigned long long>(bad.unexpected_200), static_cast<unsigned long long>(bad.duplicate_200),
      static_cast<unsigned long long>(bad.unknown_response),
      static_cast<unsigned long long>(bad.unrequested_report),
      static_cast<unsigned long long>(bad.failure_on_survivor),
      static_cast<unsigned long long>(bad.parse_error), static_cast<unsigned long long>(bad.conn_lost),
      static_cast<unsigned long long>(unsettled));
  if (!first_bad.empty()) std::printf("soak: first problem: %s\n", first_bad.c_str());
  for (const auto& s : sessions)
    if (!s.first_range_end.empty()) {
      std::printf(
          "soak: note (issue 12 item 7, not counted in the verdict): %llu chunk pieces whose Byte-Range "
          "end is not their last byte; first: %s\n",
          static_cast<unsigned long long>(bad.range_end), s.first_range_end.c_str());
      break;
    }
  // Each killed session in one line: what to look for in the relay's log.
  for (const auto& s : sessions) {
    if (s.kill == Kill::none && s.first_bad.empty()) continue;
    uint32_t w = 0, d = 0, r = 0, f = 0, a = 0, first_silent = UINT32_MAX;
    for (uint32_t i = 0; i < s.chunks.size(); ++i) {
      const Chunk& c = s.chunks[i];
      if (!c.written) continue;
      ++w;
      d += c.delivered;
      r += c.report_code != 0;
      f += c.fail_code != 0;
      a += c.ok200 != 0;
      if (!c.delivered && c.report_code == 0 && c.fail_code == 0 && first_silent == UINT32_MAX)
        first_silent = i;
    }
    std::printf(
        "soak: session %d kill=%s reports=%s kill_chunk=%u (msg %u bytes %u-%u) killed_at=%.1fs "
        "written=%u delivered=%u 200=%u reported=%u refused=%u first_silent=%d%s%s\n",
        s.index,
        s.kill == Kill::sender     ? "sender"
        : s.kill == Kill::receiver ? "receiver"
                                   : "none",
        name(s.reports), s.kill_chunk, s.chunks[s.kill_chunk].msg, s.chunks[s.kill_chunk].start,
        s.chunks[s.kill_chunk].start + s.chunks[s.kill_chunk].size - 1, s.kill_time, w, d, a, r, f,
        first_silent == UINT32_MAX ? -1 : static_cast<int>(first_silent), s.first_bad.empty() ? "" : " ",
        s.first_bad.c_str());
  }
  std::printf("soak: verdict %s (%llu violations)\n", violations == 0 ? "PASS" : "FAIL",
              static_cast<unsigned long long>(violations));
  return violations == 0 ? 0 : 1;
}
