// libFuzzer target for msrp::FrameParser. The input is parsed whole, one byte at a time (small inputs)
// and in pseudo-random pieces; each run follows the caller contract (keep the unconsumed bytes, append
// new ones), goes on past frame errors the stream can be resynchronised past (as the relay does) up to
// a fatal one, and the runs must agree on every event, head and body byte, and on the bytes each
// rejected frame had dropped. Invariants checked on every step: consumed <= input size, body views
// point at the start of the input, head views match the head, an error consumes nothing, skip steps
// come only after a resynchronisable error and consume something.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "msrp/frame_parser.h"
#include "msrp/frame_writer.h"

namespace {

using msrpd::msrp::Event;
using msrpd::msrp::FrameParser;
using msrpd::msrp::Limits;
using msrpd::msrp::Step;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Run {
  explicit Run(Limits l) : parser(l) {}
  FrameParser parser;
  std::string buf;
  std::vector<std::string> events;
  bool failed = false;
  bool skipping = false;
  size_t skipped = 0;  // bytes of the rejected frame dropped so far
  std::string scratch;

  // What the parser accepted, the writer can relay, and the relayed frame parses back with the
  // first To-Path URI moved to the front of From-Path and the other headers unchanged.
  void check_relayed(const msrpd::msrp::Frame& f) {
    scratch.clear();
    auto r = msrpd::msrp::write_relayed_head(f, scratch, "fuzzfuzz");
    if (!r.ok()) {
      check(f.to_path().size() == 1 && scratch.empty());
      return;
    }
    const bool body = f.has_body();
    if (body) scratch += "x";
    msrpd::msrp::write_end_line(
        scratch, "fuzzfuzz", '$',
        body ? msrpd::msrp::EndLine::after_body : msrpd::msrp::EndLine::after_headers);
    FrameParser back;
    Step s = back.feed(scratch);
    check(s.event == Event::head);
    const auto& g = back.frame();
    check(g.to_path().size() + 1 == f.to_path().size());
    check(g.from_path().size() == f.from_path().size() + 1);
    check(g.from_path()[0] == f.to_path()[0]);
    check(g.headers().size() == f.headers().size());
    for (size_t i = 2; i < g.headers().size(); ++i) check(g.headers()[i].line == f.headers()[i].line);
    check(g.has_body() == body);
    std::string_view rest = std::string_view(scratch).substr(s.consumed);
    if (body) {
      s = back.feed(rest);
      check(s.event == Event::body && s.body == "x");
      rest.remove_prefix(s.consumed);
    }
    s = back.feed(rest);
    check(s.event == Event::end && s.consumed == rest.size());
  }

  void push(std::string_view piece) {
    if (failed) return;
    buf.append(piece);
    for (;;) {
      Step s = parser.feed(buf);
      check(s.consumed <= buf.size());
      switch (s.event) {
        case Event::need_more:
          check(s.consumed == 0);
          return;
        case Event::head: {
          const auto& f = parser.frame();
          check(s.consumed == f.head().size());
          check(f.head().data() == buf.data());
          check(!f.to_path().empty() && !f.from_path().empty());
          check(f.transaction_id() == parser.transaction_id());
          events.push_back("H" + std::string(f.head()));
          // The writer must cope with whatever the parser accepted.
          check_relayed(f);
          (void)f.byte_range();
          (void)f.report_status();
          (void)f.expires();
          (void)f.message_id();
          (void)f.failure_report();
          (void)f.success_report();
          break;
        }
        case Event::body:
          check(s.consumed > 0 && s.body.size() == s.consumed && s.body.data() == buf.data());
          if (!events.empty() && events.back()[0] == 'B') {
            events.back().append(s.body);
          } else {
            events.push_back("B" + std::string(s.body));
          }
          break;
        case Event::end:
          check(s.flag == '$' || s.flag == '+' || s.flag == '#');
          check(s.consumed >= 10);
          if (skipping) {
            // How much of the rejected frame was dropped before the error depends on the split
            // only for body errors (body pieces handed out first): those are not compared.
            skipped += s.consumed;
            if (events.back() != "X413") events.push_back("S" + std::to_string(skipped));
            skipping = false;
            check(!parser.skipping());
          }
          events.push_back(std::string("E") + s.flag);
          break;
        case Event::skip:
          check(skipping && parser.skipping());
          check(s.consumed > 0);
          skipped += s.consumed;
          break;
        case Event::error:
          check(s.status == 400 || s.status == 413);
          check(!s.message.empty());
          check(s.consumed == 0);
          check(s.fatal == parser.failed() && s.fatal != parser.skipping());
          // Body bytes handed out before an error depend on how the input was split: drop them.
          if (!events.empty() && events.back()[0] == 'B') events.pop_back();
          events.push_back("X" + std::to_string(s.status));
          if (s.fatal) {
            events.back() += "F";
            failed = true;
            return;
          }
          check(!skipping);
          check(!parser.transaction_id().empty());
          skipping = true;
          skipped = 0;
          break;
      }
      buf.erase(0, s.consumed);
    }
  }
};

Limits fuzz_limits() {
  Limits l;
  l.max_head = 2048;
  l.max_line = 512;
  l.max_headers = 12;
  l.max_non_send_body = 1024;
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const Limits limits = fuzz_limits();

  Run whole(limits);
  whole.push(in);

  if (size <= 4096) {
    Run bytewise(limits);
    for (size_t i = 0; i < size; ++i) bytewise.push(in.substr(i, 1));
    check(bytewise.events == whole.events);
  }

  // Pieces of pseudo-random sizes, derived from the input so that runs are reproducible.
  uint64_t x = 0x9e3779b97f4a7c15ULL ^ size;
  for (size_t i = 0; i < size && i < 16; ++i) x = (x ^ data[i]) * 0x100000001b3ULL;
  Run pieces(limits);
  size_t off = 0;
  while (off < size) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t n = 1 + static_cast<size_t>(x % 97);
    pieces.push(in.substr(off, n));
    off += n;
  }
  check(pieces.events == whole.events);
  return 0;
}
