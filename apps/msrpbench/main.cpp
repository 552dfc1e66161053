// msrpbench: an MSRP load generator. The "pairs" scenario: P receivers AUTH to the relay and get
// their Use-Path; P senders each send SENDs of S body bytes to their own receiver through the relay,
// keeping at most W frames in flight per pair, for D seconds. Receivers answer every SEND with 200
// (as real endpoints do). It prints frames/s, MB/s, p50/p99 latency (send -> arrival at the
// receiver) and errors, and checks that every frame reaches its own receiver and no other.
//
//   msrpbench --port 2855 --pairs 50 --window 8 --size 1024 --duration 10 [--threads 1]
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "common/host_port.h"
#include "msrp/frame_parser.h"

namespace {

using Clock = std::chrono::steady_clock;
using msrpd::client::Client;
using msrpd::msrp::code_of;
using msrpd::msrp::Status;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 2855;
  int pairs = 10;
  int window = 4;
  size_t size = 1024;
  double duration = 5;
  int threads = 1;
  std::string user = "bench";
  std::string password = "xyz123";
  bool no_auth = false;
};

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

// One side of a pair: a socket, its parser, its pending output.
struct Peer {
  Client client;
  msrpd::msrp::FrameParser parser;
  std::string in;   // unconsumed received bytes
  std::string out;  // bytes waiting for the socket
  size_t in_start = 0;
  bool dirty = false;  // on the thread's list of peers to flush at the end of the iteration
};

struct Pair {
  int index = 0;
  Peer sender, receiver;
  std::string to_path, from_path, receiver_uri;
  std::string body;
  int in_flight = 0;
  uint64_t seq = 0;
  std::vector<int64_t> sent_at;  // by sequence number modulo window*4
  uint64_t delivered = 0, replies = 0, errors = 0, misrouted = 0;
  uint64_t bad_status = 0, conn_errors = 0;  // the errors by kind (the rest: send failures)
  std::string first_bad;                     // the start line of the first non-200 response
  std::vector<uint32_t> latencies_us;
};

struct Totals {
  uint64_t delivered = 0, replies = 0, errors = 0, misrouted = 0, bytes = 0;
  std::vector<uint32_t> latencies;
};

void usage() {
  std::fprintf(stderr,
               "usage: msrpbench [--host IP] [--port N] [--pairs P] [--window W] [--size S] [--duration D]\n"
               "                 [--threads T] [--user U] [--password PW] [--no-auth]\n");
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--no-auth") {
      o.no_auth = true;
      continue;
    }
    if (a == "-h" || a == "--help") return false;
    if (!(v = next())) return false;
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = static_cast<uint16_t>(std::atoi(v));
    else if (a == "--pairs")
      o.pairs = std::atoi(v);
    else if (a == "--window")
      o.window = std::atoi(v);
    else if (a == "--size")
      o.size = static_cast<size_t>(std::atol(v));
    else if (a == "--duration")
      o.duration = std::atof(v);
    else if (a == "--threads")
      o.threads = std::atoi(v);
    else if (a == "--user")
      o.user = v;
    else if (a == "--password")
      o.password = v;
    else
      return false;
  }
  return o.pairs > 0 && o.window > 0 && o.threads > 0 && o.duration > 0;
}

// "msrp://host:port[/session];tcp", an IPv6 host bracketed.
std::string msrp_uri(const std::string& host, uint16_t port, std::string_view session = {}) {
  std::string uri = "msrp://";
  msrpd::append_host(uri, host);
  uri.push_back(':');
  msrpd::append_port(uri, port);
  if (!session.empty()) uri.append("/").append(session);
  return uri + ";tcp";
}

// Sets up one pair: the receiver AUTHs and learns its Use-Path; the sender connects.
bool setup_pair(const Options& o, Pair& p) {
  auto r = Client::connect(o.host, o.port);
  auto s = Client::connect(o.host, o.port);
  if (!r || !s) {
    std::fprintf(stderr, "connect: %s\n", (!r ? r.error() : s.error()).message.c_str());
    return false;
  }
  p.receiver.client = std::move(*r);
  p.sender.client = std::move(*s);
  std::string relay = msrp_uri(o.host, o.port);
  p.receiver_uri = msrp_uri(o.host, p.receiver.client.local_port(), "r" + std::to_string(p.index));
  std::string relay_session_uri = relay;
  if (!o.no_auth) {
    auto a = msrpd::client::authenticate(p.receiver.client, relay, p.receiver_uri, o.user, o.password);
    if (!a || a->answer.code != code_of(Status::ok) || a->use_path.empty()) {
      std::fprintf(stderr, "pair %d: AUTH failed: %s\n", p.index,
                   !a ? a.error().message.c_str() : a->answer.raw.c_str());
      return false;
    }
    relay_session_uri = a->use_path.back();
  }
  p.to_path = relay_session_uri + " " + p.receiver_uri;
  p.from_path = msrp_uri(o.host, p.sender.client.local_port(), "s" + std::to_string(p.index));
  p.body.assign(o.size, 'x');
  p.sent_at.assign(static_cast<size_t>(o.window) * 4, 0);
  return true;
}

// Appends "<prefix><index><sep><seq>" to a fixed buffer; returns its length.
size_t make_id(char* buf, size_t cap, char prefix, int index, char sep, uint64_t seq) {
  char* p = buf;
  char* end = buf + cap;
  *p++ = prefix;
  p = std::to_chars(p, end, index).ptr;
  *p++ = sep;
  p = std::to_chars(p, end, seq).ptr;
  return static_cast<size_t>(p - buf);
}

void queue_send(Pair& p) {
  // The Message-ID carries pair index and sequence: the receiver checks both.
  char tid[48], mid[48];
  size_t tl = make_id(tid, sizeof tid, 't', p.index, 'x', p.seq);
  size_t ml = make_id(mid, sizeof mid, 'p', p.index, '-', p.seq);
  msrpd::client::append_send(p.sender.out, std::string_view(tid, tl), p.to_path, p.from_path,
                             std::string_view(mid, ml), p.body);
  p.sent_at[p.seq % p.sent_at.size()] = now_us();
  ++p.seq;
  ++p.in_flight;
}

bool flush(Peer& peer) {
  while (!peer.out.empty()) {
    ssize_t n = ::send(peer.client.fd(), peer.out.data(), peer.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      peer.out.erase(0, static_cast<size_t>(n));
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  return true;
}

// Reads what is there and handles every complete frame; false when the connection failed.
template <typename OnFrame>
bool drain(Peer& peer, OnFrame on_frame) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(peer.client.fd(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    peer.in.append(buf, static_cast<size_t>(n));
    // A short read emptied the socket; epoll (level-triggered) announces what comes next.
    if (static_cast<size_t>(n) < sizeof(buf)) break;
  }
  for (;;) {
    std::string_view view(peer.in.data() + peer.in_start, peer.in.size() - peer.in_start);
    auto step = peer.parser.feed(view);
    if (step.event == msrpd::msrp::Event::need_more) break;
    if (step.event == msrpd::msrp::Event::error) return false;
    if (step.event == msrpd::msrp::Event::head) on_frame(peer.parser.frame());
    peer.in_start += step.consumed;
  }
  if (peer.in_start > 0) {
    peer.in.erase(0, peer.in_start);
    peer.in_start = 0;
  }
  return true;
}

void run_thread(const Options& o, std::vector<Pair*> pairs, std::atomic<bool>& stop) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (Pair* p : pairs) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = (static_cast<uint64_t>(p->index) << 1) | 0;
    epoll_ctl(ep, EPOLL_CTL_ADD, p->sender.client.fd(), &ev);
    ev.data.u64 = (static_cast<uint64_t>(p->index) << 1) | 1;
    epoll_ctl(ep, EPOLL_CTL_ADD, p->receiver.client.fd(), &ev);
    while (p->in_flight < o.window) queue_send(*p);
    if (!flush(p->sender)) ++p->errors;
  }
  std::vector<Pair*> by_index;
  for (Pair* p : pairs) {
    if (by_index.size() <= static_cast<size_t>(p->index)) by_index.resize(static_cast<size_t>(p->index) + 1);
    by_index[static_cast<size_t>(p->index)] = p;
  }
  // Output is written once per peer per iteration, after every ready socket was read (as the
  // relay does): the load generator spends its CPU on frames, not on system calls.
  std::vector<Pair*> dirty;
  auto mark = [&dirty](Pair& p, Peer& peer) {
    if (peer.out.empty() || peer.dirty) return;
    peer.dirty = true;
    dirty.push_back(&p);
  };
  epoll_event events[256];
  while (!stop.load(std::memory_order_relaxed)) {
    int n = epoll_wait(ep, events, 256, 50);
    for (int i = 0; i < n; ++i) {
      Pair& p = *by_index[events[i].data.u64 >> 1];
      bool is_receiver = events[i].data.u64 & 1;
      if (is_receiver) {
        bool ok = drain(p.receiver, [&](const msrpd::msrp::Frame& f) {
          if (!f.is_request()) return;
          auto mid = f.message_id();
          char want[24];
          int len = std::snprintf(want, sizeof(want), "p%d-", p.index);
          if (!mid || mid->compare(0, static_cast<size_t>(len), want) != 0) {
            ++p.misrouted;
            return;
          }
          uint64_t seq = std::strtoull(mid->data() + len, nullptr, 10);
          int64_t lat = now_us() - p.sent_at[seq % p.sent_at.size()];
          p.latencies_us.push_back(static_cast<uint32_t>(std::max<int64_t>(lat, 0)));
          ++p.delivered;
          --p.in_flight;
          // RFC 4975 §7.2: the endpoint answers the SEND (To-Path = first From-Path URI).
          std::string_view fp = f.from_path().empty() ? std::string_view() : f.from_path()[0];
          msrpd::client::append_response(p.receiver.out, f.transaction_id(), code_of(Status::ok), "OK", fp,
                                         p.receiver_uri);
        });
        if (!ok) {
          ++p.errors;
          ++p.conn_errors;
          epoll_ctl(ep, EPOLL_CTL_DEL, p.receiver.client.fd(), nullptr);
        }
        mark(p, p.receiver);
        while (p.in_flight < o.window) queue_send(p);
        mark(p, p.sender);
      } else {
        bool ok = drain(p.sender, [&](const msrpd::msrp::Frame& f) {
          if (f.is_request()) return;
          if (f.status_code() == code_of(Status::ok)) {
            ++p.replies;
          } else {
            ++p.errors;
            if (p.bad_status++ == 0) p.first_bad.assign(f.start_line());
            // The relay gave up on that SEND: it will not arrive, so its window slot is free again
            // (otherwise the pair would stall and lower the figures without saying so).
            if (p.in_flight > 0) --p.in_flight;
          }
        });
        if (!ok) {
          ++p.errors;
          ++p.conn_errors;
          epoll_ctl(ep, EPOLL_CTL_DEL, p.sender.client.fd(), nullptr);
        }
        while (ok && p.in_flight < o.window) queue_send(p);
        mark(p, p.sender);
      }
    }
    for (Pair* p : dirty) {
      for (Peer* peer : {&p->receiver, &p->sender}) {
        if (!peer->dirty) continue;
        peer->dirty = false;
        if (!flush(*peer)) ++p->errors;
      }
    }
    dirty.clear();
  }
  ::close(ep);
}

// CPU time (user + system) this process used so far: when it nears the wall-clock duration times
// the number of threads, the load generator, not the relay, limits the figures.
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
  std::vector<Pair> pairs(static_cast<size_t>(o.pairs));
  for (int i = 0; i < o.pairs; ++i) {
    pairs[static_cast<size_t>(i)].index = i;
    if (!setup_pair(o, pairs[static_cast<size_t>(i)])) return 1;
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  for (int t = 0; t < o.threads; ++t) {
    std::vector<Pair*> mine;
    for (int i = t; i < o.pairs; i += o.threads) mine.push_back(&pairs[static_cast<size_t>(i)]);
    threads.emplace_back(run_thread, std::cref(o), mine, std::ref(stop));
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
  stop = true;
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();

  Totals tot;
  uint64_t bad_status = 0, conn_errors = 0;
  std::string first_bad;
  for (auto& p : pairs) {
    bad_status += p.bad_status;
    conn_errors += p.conn_errors;
    if (first_bad.empty()) first_bad = p.first_bad;
    tot.delivered += p.delivered;
    tot.replies += p.replies;
    tot.errors += p.errors;
    tot.misrouted += p.misrouted;
    tot.latencies.insert(tot.latencies.end(), p.latencies_us.begin(), p.latencies_us.end());
  }
  std::sort(tot.latencies.begin(), tot.latencies.end());
  auto pct = [&](double q) -> double {
    if (tot.latencies.empty()) return 0;
    return tot.latencies[std::min(tot.latencies.size() - 1, static_cast<size_t>(q * tot.latencies.size()))] /
           1000.0;
  };
  double fps = tot.delivered / secs;
  std::printf("pairs=%d window=%d size=%zu duration=%.1fs\n", o.pairs, o.window, o.size, secs);
  std::printf(
      "frames/s=%.0f MB/s=%.2f p50_ms=%.3f p99_ms=%.3f delivered=%llu relay_200=%llu errors=%llu "
      "misrouted=%llu bench_cpu_s=%.2f\n",
      fps, fps * static_cast<double>(o.size) / 1e6, pct(0.50), pct(0.99),
      static_cast<unsigned long long>(tot.delivered), static_cast<unsigned long long>(tot.replies),
      static_cast<unsigned long long>(tot.errors), static_cast<unsigned long long>(tot.misrouted),
      cpu_seconds());
  if (tot.errors != 0) {
    std::fprintf(
        stderr,
        "errors: %llu non-200 responses to SENDs (first: %s), %llu failed connections, %llu send failures\n",
        static_cast<unsigned long long>(bad_status), first_bad.empty() ? "-" : first_bad.c_str(),
        static_cast<unsigned long long>(conn_errors),
        static_cast<unsigned long long>(tot.errors - bad_status - conn_errors));
  }
  return tot.errors == 0 && tot.misrouted == 0 ? 0 : 1;
}
