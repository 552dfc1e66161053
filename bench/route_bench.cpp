// Per-frame cost of the seed's Example 1.18 route (docs/PERFORMANCE.md, "Routing script per-frame
// cost"). The frame is a 1 KB SEND with two To-Path URIs (nexthops == 1) whose session is found
// (msrp_cmap_lookup returns 1), so the route takes its busiest branch: 12 xdbg (disabled at debug=2),
// msrp_reply_flags, the method tests, msrp_cmap_lookup, msrp_reply("200"), msrp_relay_flags,
// msrp_relay.
//
//   BM_ScriptRoute_Send:      examples/kamailio-1.18.cfg run by the script interpreter (the route only).
//   BM_CppRoute_Send:         the same route written in C++ (relay::Example18Route).
//   BM_ParseRouteWrite_Send/0 parse the 1 KB frame (FrameParser: head, body, end), run the script route
//                             (its 200 written into a buffer), write the relayed head with a new
//                             transaction id and the end-line; /1 the same with the C++ route.
//
// The Context is a minimal stand-in for the engine's FrameContext (which needs a live connection):
// it answers $msrp(key) from the parsed frame the same way, writes responses with
// msrp::write_response into a warm buffer, and reports a found session. So the figures are the
// route's own cost plus what the frame library does for it; the socket work is not in them.
//
// The config path: $MSRPD_ROUTE_CFG, else examples/kamailio-1.18.cfg next to this source tree.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "msrp/frame_parser.h"
#include "msrp/frame_writer.h"
#include "msrp/headers.h"
#include "msrp/uri.h"
#include "relay/context.h"
#include "relay/route_example18.h"
#include "script/script.h"

// Every operator new in this program is counted, so each benchmark reports allocs/frame (the hot
// path must allocate nothing once warm).
namespace {
std::atomic<uint64_t> g_allocs{0};
}  // namespace

// The replacements pair malloc with free; GCC cannot see that operator new here is malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace {

using msrpd::msrp::Event;
using msrpd::msrp::FrameParser;
namespace relay = msrpd::relay;

constexpr std::string_view kHead =
    "MSRP a786hjs2 SEND\r\n"
    "To-Path: msrp://127.0.0.1:2855/msrp-6b060b82-1560-1;tcp msrp://127.0.0.1:40001/r0;tcp\r\n"
    "From-Path: msrp://127.0.0.1:40002/s0;tcp\r\n"
    "Message-ID: p0-12345\r\n"
    "Byte-Range: 1-*/*\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n";
constexpr std::string_view kEnd = "\r\n-------a786hjs2$\r\n";

std::string send_frame(size_t total) {
  std::string f(kHead);
  f.append(total - kHead.size() - kEnd.size(), 'x');
  f += kEnd;
  return f;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// relay::Context over a parsed frame, with no connection behind it.
class BenchContext final : public relay::Context {
 public:
  BenchContext() {
    source_.ip = "127.0.0.1";
    source_.port = 40002;
    source_.local_ip = "127.0.0.1";
    source_.local_port = 2855;
    source_.proto = "tcp";
    source_.conid = 7;
    reply_.reserve(1024);
  }

  // Rebinds the context to a new frame (what the engine does per frame).
  void reset(const msrpd::msrp::Frame* f) {
    frame_ = f;
    relay_ = false;
    relay_flags_ = reply_flags_ = 0;
    reply_.clear();
  }
  bool relayed() const { return relay_; }
  const std::string& reply_bytes() const { return reply_; }

  relay::MessageKind kind() const override {
    return frame_->is_request() ? relay::MessageKind::msrp_request : relay::MessageKind::msrp_reply;
  }
  const relay::Source& source() const override { return source_; }

  relay::Value msrp(relay::MsrpKey key) override {
    using relay::MsrpKey;
    using relay::Value;
    auto to = frame_->to_path();
    auto from = frame_->from_path();
    switch (key) {
      case MsrpKey::method: {
        if (!frame_->is_request()) return Value::null_value();
        int64_t id = frame_->method_id() == msrpd::msrp::Method::send     ? 1
                     : frame_->method_id() == msrpd::msrp::Method::auth   ? 2
                     : frame_->method_id() == msrpd::msrp::Method::report ? 3
                                                                          : 0;
        return Value{Value::Kind::string, id, frame_->method()};
      }
      case MsrpKey::transid:
        return Value::of_str(frame_->transaction_id());
      case MsrpKey::crthop:
        return to.empty() ? Value::null_value() : Value::of_str(to[0]);
      case MsrpKey::nexthop:
        return to.size() < 2 ? Value::null_value() : Value::of_str(to[1]);
      case MsrpKey::lasthop:
        return to.empty() ? Value::null_value() : Value::of_str(to.back());
      case MsrpKey::prevhop:
        return from.empty() ? Value::null_value() : Value::of_str(from[0]);
      case MsrpKey::firsthop:
        return from.empty() ? Value::null_value() : Value::of_str(from.back());
      case MsrpKey::prevhops:
        return Value::of_int(static_cast<int64_t>(from.size()));
      case MsrpKey::nexthops:
        return Value::of_int(to.empty() ? 0 : static_cast<int64_t>(to.size()) - 1);
      case MsrpKey::sessid: {
        if (to.empty()) return Value::null_value();
        auto parts = msrpd::msrp::split_msrpuri(to[0]);
        if (!parts || trim(parts->session).empty()) return Value::null_value();
        return Value::of_str(trim(parts->session));
      }
      case MsrpKey::srcaddr:
        return Value::of_str("msrp://127.0.0.1:40002");
      case MsrpKey::srcsock:
        return Value::of_str("tcp:127.0.0.1:2855");
      case MsrpKey::conid:
        return Value::of_int(7);
      case MsrpKey::msgid: {
        auto v = frame_->header(msrpd::msrp::HeaderId::message_id);
        return v ? Value::of_str(trim(*v)) : Value::null_value();
      }
      default:
        return Value::null_value();
    }
  }
  std::string_view method() const override { return frame_->is_request() ? frame_->method() : ""; }
  std::optional<std::string_view> header(std::string_view name) const override {
    auto v = frame_->header(name);
    if (!v) return std::nullopt;
    return trim(*v);
  }
  std::string_view head() const override { return frame_->head(); }

  int msrp_relay() override {
    if (frame_->to_path().size() < 2) return -1;
    relay_ = true;
    return 1;
  }
  int msrp_reply(std::string_view code, std::string_view text, std::string_view hdrs) override {
    // As FrameContext::reply for a SEND: To-Path = first From-Path URI, From-Path = own URI,
    // Message-ID copied.
    code = trim(code);
    if (code.size() != 3) return -1;
    uint16_t c = static_cast<uint16_t>((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0'));
    std::string_view mid;
    if (const msrpd::msrp::Header* h = frame_->find(msrpd::msrp::HeaderId::message_id)) mid = h->line;
    extra_.clear();
    extra_.append(mid).append(hdrs);
    msrpd::msrp::write_response(reply_, frame_->transaction_id(), c, text, frame_->from_path()[0],
                                frame_->to_path()[0], extra_);
    return 1;
  }
  int msrp_set_dst(std::string_view, std::string_view) override { return 1; }
  int msrp_relay_flags(int flags) override {
    relay_flags_ |= flags & 3;
    return 1;
  }
  int msrp_reply_flags(int flags) override {
    reply_flags_ |= flags & 3;
    return 1;
  }
  int msrp_cmap_save() override { return -1; }
  int msrp_cmap_lookup() override { return 1; }  // the session is known
  int sl_send_reply(int, std::string_view) override { return -1; }

 private:
  const msrpd::msrp::Frame* frame_ = nullptr;
  relay::Source source_;
  bool relay_ = false;
  int relay_flags_ = 0;
  int reply_flags_ = 0;
  std::string reply_;
  std::string extra_;
};

std::string config_path() {
  if (const char* p = std::getenv("MSRPD_ROUTE_CFG")) return p;
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/')) + "/../examples/kamailio-1.18.cfg";
}

const msrpd::script::Script& script() {
  static msrpd::script::Script s = msrpd::script::load(config_path());
  return s;
}

struct ScriptRoute {
  msrpd::script::WorkerEnv env{script(), 0};
  ScriptRoute() {
    env.set_log_sink([](int, std::string_view) {});
  }
  void run(BenchContext& ctx) { script().run_event_route(ctx, env); }
};

struct CppRoute {
  relay::Example18Route route;
  void run(BenchContext& ctx) { route.msrp_frame(ctx, 0); }
};

template <typename Route>
void route_only(benchmark::State& state) {
  std::string f = send_frame(1024);
  FrameParser p;
  if (p.feed(f).event != Event::head) std::abort();
  BenchContext ctx;
  Route r;
  ctx.reset(&p.frame());
  r.run(ctx);  // warm-up: buffers reach their size
  uint64_t a0 = g_allocs.load();
  for (auto _ : state) {
    ctx.reset(&p.frame());
    r.run(ctx);
    benchmark::DoNotOptimize(ctx.relayed());
  }
  state.counters["allocs/frame"] = static_cast<double>(g_allocs.load() - a0) /
                                   static_cast<double>(std::max<int64_t>(state.iterations(), 1));
  ctx.reset(&p.frame());
  r.run(ctx);
  if (!ctx.relayed() || ctx.reply_bytes().find(" 200 OK\r\n") == std::string::npos) {
    state.SkipWithError("route did not answer 200 and relay");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_ScriptRoute_Send(benchmark::State& state) {
  route_only<ScriptRoute>(state);
}
void BM_CppRoute_Send(benchmark::State& state) {
  route_only<CppRoute>(state);
}
BENCHMARK(BM_ScriptRoute_Send);
BENCHMARK(BM_CppRoute_Send);

template <typename Route>
void parse_route_write(benchmark::State& state) {
  std::string f = send_frame(1024);
  FrameParser p;
  BenchContext ctx;
  Route r;
  msrpd::msrp::TransactionIdGenerator tids(1);
  msrpd::msrp::TransactionIdGenerator::Buffer tid_buf;
  std::string out;
  out.reserve(4096);
  uint64_t a0 = 0;
  bool warm = false;
  for (auto _ : state) {
    if (!warm) {
      a0 = g_allocs.load();
      warm = true;
    }
    size_t pos = 0;
    for (;;) {
      auto s = p.feed(std::string_view(f).substr(pos));
      if (s.event == Event::need_more || s.event == Event::error) std::abort();
      pos += s.consumed;
      if (s.event == Event::head) {
        ctx.reset(&p.frame());
        r.run(ctx);
        if (ctx.relayed()) {
          out.clear();
          std::string_view tid = tids.next(tid_buf);
          (void)msrpd::msrp::write_relayed_head(p.frame(), out, tid);
          // The body goes out as views of the input (cut-through); then the end-line.
          msrpd::msrp::write_end_line(out, tid, '$', msrpd::msrp::EndLine::after_body);
        }
      }
      if (s.event == Event::end) break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["allocs/frame"] = static_cast<double>(g_allocs.load() - a0) /
                                   static_cast<double>(std::max<int64_t>(state.iterations(), 1));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.size()));
}

void BM_ParseRouteWrite_Send(benchmark::State& state) {
  if (state.range(0) == 0) {
    parse_route_write<ScriptRoute>(state);
  } else {
    parse_route_write<CppRoute>(state);
  }
}
BENCHMARK(BM_ParseRouteWrite_Send)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
