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
// The Context is the engine's own FrameContext, over a BenchOrigin (a FrameOrigin with no socket
// behind it: replies go into a warm buffer) and a real connection map holding the frame's
// session. So the figures are the route's cost with the engine's real $msrp keys, replies and
// cmap lookup, plus what the frame library does for it; the socket work is not in them.
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
#include "relay/address_index.h"
#include "relay/cmap.h"
#include "relay/context.h"
#include "relay/engine.h"
#include "relay/frame_context.h"
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

// Where the frames come from: a FrameOrigin with no connection behind it, whose replies are
// written into a kept buffer. The contexts are the engine's own FrameContext, over a real
// connection map in which the frames' session is saved (so msrp_cmap_lookup finds it).
class BenchOrigin final : public relay::FrameOrigin {
 public:
  BenchOrigin() {
    source_.ip = "127.0.0.1";
    source_.port = 40002;
    source_.local_ip = "127.0.0.1";
    source_.local_port = 2855;
    source_.proto = "tcp";
    source_.conid = 7;
    reply_.reserve(1024);
  }
  const relay::Source& source() const override { return source_; }
  std::string_view srcaddr() const override { return "msrp://127.0.0.1:40002"; }
  std::string_view srcsock() const override { return "tcp:127.0.0.1:2855"; }
  uint64_t id() const override { return 7; }
  bool secure() const override { return false; }
  bool send(std::string_view bytes, bool) override {
    reply_.append(bytes);
    return true;
  }
  void succeeded() override {}
  void relay_undeliverable(const msrpd::msrp::Frame&, const relay::FrameBytes&, uint16_t) override {}
  void report_failure(const msrpd::msrp::Frame&, const relay::FrameBytes&, uint16_t) override {}
  std::string& reply_bytes() { return reply_; }

 private:
  relay::Source source_;
  std::string reply_;
};

// A worker's route environment, as the engine builds it, without sockets.
struct BenchEnv {
  relay::EngineConfig config;
  relay::Stats stats;
  relay::ConnectionMap cmap{4};
  relay::AddressIndex addresses;
  relay::BufferPool buffers;
  relay::CmapItem lookup_item;
  relay::RouteEnv env;
  BenchOrigin origin;
  relay::Destination dst;
  relay::RelayOrders relays;
  relay::FrameBytes bytes;
  bool relayed = false;

  BenchEnv() {
    relay::CmapItem item;
    item.session_id = "msrp-6b060b82-1560-1";  // the session in kHead's first To-Path URI
    item.peer = "msrp://127.0.0.1:40001/r0;tcp";
    item.addr = "msrp://127.0.0.1:40001";
    item.sock = "tcp:127.0.0.1:2855";
    item.conid = 9;
    item.expires = relay::CmapItem::Clock::now() + std::chrono::hours(1);
    cmap.save(std::move(item));
    env.config = &config;
    env.stats = &stats;
    env.cmap = &cmap;
    env.addresses = &addresses;
    env.buffers = &buffers;
    env.lookup_item = &lookup_item;
  }
  // Runs route `r` over frame `f` as the engine does per frame: a fresh context on the stack.
  template <typename Route>
  void run(Route& r, const msrpd::msrp::Frame& f) {
    origin.reply_bytes().clear();
    dst.clear();
    relay::FrameContext ctx(origin, env, dst, relays, f, bytes);
    r.run(ctx);
    relayed = ctx.relay_requested();
  }
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
  void run(relay::Context& ctx) { script().run_event_route(ctx, env); }
};

struct CppRoute {
  relay::Example18Route route;
  void run(relay::Context& ctx) { route.msrp_frame(ctx, 0); }
};

template <typename Route>
void route_only(benchmark::State& state) {
  std::string f = send_frame(1024);
  FrameParser p;
  if (p.feed(f).event != Event::head) std::abort();
  BenchEnv e;
  Route r;
  e.run(r, p.frame());  // warm-up: buffers reach their size
  uint64_t a0 = g_allocs.load();
  for (auto _ : state) {
    e.run(r, p.frame());
    benchmark::DoNotOptimize(e.relayed);
  }
  state.counters["allocs/frame"] = static_cast<double>(g_allocs.load() - a0) /
                                   static_cast<double>(std::max<int64_t>(state.iterations(), 1));
  e.run(r, p.frame());
  if (!e.relayed || e.origin.reply_bytes().find(" 200 OK\r\n") == std::string::npos) {
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
  BenchEnv e;
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
        e.run(r, p.frame());
        if (e.relayed) {
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
