// Frame parser throughput (docs/PERFORMANCE.md, "Frame parser").
//   BM_ParseSendFrame/1024, /65536: a whole SEND frame of that size, parsed from one buffer.
//   BM_StreamBody1MB/*: a 1 MB body arriving in 16 KB reads, fed as a connection would (the unconsumed
//   rest presented again followed by the new bytes); text = CRLF every 78 bytes, binary = random bytes.
//   BM_WriteRelayedHead: rewriting the head of the 1 KB frame for forwarding.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>

#include "msrp/frame_parser.h"
#include "msrp/frame_writer.h"

namespace {

using msrpd::msrp::Event;
using msrpd::msrp::FrameParser;
using msrpd::msrp::Step;

constexpr std::string_view kHead =
    "MSRP a786hjs2 SEND\r\n"
    "To-Path: msrps://relay.example.com:2855/kjhd37s2s20w2a;tcp msrps://bob.example.com:8145/foo;tcp\r\n"
    "From-Path: msrps://alice.example.com:7654/jshA7weztas;tcp\r\n"
    "Message-ID: 87652491\r\n"
    "Success-Report: no\r\n"
    "Byte-Range: 1-*/*\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n";

std::string text_body(size_t n) {
  std::mt19937 rng(7);
  std::string b;
  b.reserve(n);
  while (b.size() < n) {
    if (b.size() % 80 == 78) {
      b += "\r\n";
    } else {
      b.push_back(static_cast<char>(' ' + rng() % 95));
    }
  }
  b.resize(n);
  return b;
}

std::string binary_body(size_t n) {
  std::mt19937 rng(11);
  std::string b(n, '\0');
  for (auto& c : b) c = static_cast<char>(rng());
  return b;
}

std::string frame_of_size(size_t total) {
  const size_t tail = std::string_view("\r\n-------a786hjs2$\r\n").size();
  std::string f(kHead);
  f += text_body(total - kHead.size() - tail);
  f += "\r\n-------a786hjs2$\r\n";
  return f;
}

// Feeds `in` (growing by `read` bytes at a time) until the end event; returns body bytes seen.
size_t parse(FrameParser& p, std::string_view in, size_t read) {
  size_t pos = 0, avail = 0, body = 0;
  for (;;) {
    Step s = p.feed(in.substr(pos, avail - pos));
    if (s.event == Event::need_more) {
      if (avail == in.size()) std::abort();
      avail = std::min(in.size(), avail + read);
      continue;
    }
    if (s.event == Event::error) std::abort();
    if (s.event == Event::body) body += s.body.size();
    pos += s.consumed;
    if (s.event == Event::end) return body;
  }
}

void BM_ParseSendFrame(benchmark::State& state) {
  std::string f = frame_of_size(static_cast<size_t>(state.range(0)));
  FrameParser p;
  for (auto _ : state) {
    benchmark::DoNotOptimize(parse(p, f, f.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.size()));
}
BENCHMARK(BM_ParseSendFrame)->Arg(1024)->Arg(65536);

void stream_body(benchmark::State& state, const std::string& body) {
  std::string f(kHead);
  f += body;
  f += "\r\n-------a786hjs2$\r\n";
  FrameParser p;
  for (auto _ : state) {
    benchmark::DoNotOptimize(parse(p, f, 16384));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.size()));
}

void BM_StreamBody1MB_Text(benchmark::State& state) {
  stream_body(state, text_body(1 << 20));
}
void BM_StreamBody1MB_Binary(benchmark::State& state) {
  stream_body(state, binary_body(1 << 20));
}
BENCHMARK(BM_StreamBody1MB_Text);
BENCHMARK(BM_StreamBody1MB_Binary);

void BM_WriteRelayedHead(benchmark::State& state) {
  std::string f = frame_of_size(1024);
  FrameParser p;
  if (p.feed(f).event != Event::head) std::abort();
  std::string out;
  out.reserve(4096);
  for (auto _ : state) {
    out.clear();
    (void)msrpd::msrp::write_relayed_head(p.frame(), out, "Zx81kLmn0pQr2sT4");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.frame().head().size()));
}
BENCHMARK(BM_WriteRelayedHead);

}  // namespace

BENCHMARK_MAIN();
