#pragma once
// Test driver for FrameParser that behaves like a connection: it keeps the unconsumed bytes in its
// own buffer (which moves when it grows), appends each new piece, and feeds until need_more.
// It records a transcript in which consecutive body pieces are merged, so that any split of the
// same input must give the same transcript.

#include <string>
#include <string_view>
#include <vector>

#include "msrp/frame_parser.h"

namespace msrpd::msrp::testing {

struct Transcript {
  // "head <head bytes>", "body <bytes>", "end $", "error 400"; with resync, also "skip <n>" (the
  // bytes of a rejected frame dropped after its error, its end-line included: all its skip steps
  // and its end step) and "error 400 fatal".
  std::vector<std::string> events;
  bool operator==(const Transcript&) const = default;
};

inline std::string describe(const Transcript& t) {
  std::string s;
  for (const auto& e : t.events) s += "[" + e + "]\n";
  return s;
}

class Driver {
 public:
  // resync: go on past errors the stream can be resynchronised past (as the relay does), up to a
  // fatal one; without it the driver stops at the first error.
  explicit Driver(Limits limits = {}, bool resync = false) : parser_(limits), resync_(resync) {}

  // Appends a piece and feeds until need_more or error.
  void push(std::string_view piece) {
    buf_.append(piece);
    for (int guard = 0; guard < 1000000; ++guard) {
      Step s = parser_.feed(buf_);
      if (s.consumed > buf_.size()) {
        add("bug consumed > size");
        return;
      }
      switch (s.event) {
        case Event::need_more:
          return;
        case Event::head:
          if (s.consumed != parser_.frame().head().size()) add("bug head size");
          add("head " + std::string(parser_.frame().head()));
          break;
        case Event::body:
          if (s.body.size() != s.consumed || s.body.data() != buf_.data()) add("bug body view");
          if (!t_.events.empty() && t_.events.back().starts_with("body ")) {
            t_.events.back().append(s.body);
          } else {
            add("body " + std::string(s.body));
          }
          if (s.consumed == 0) add("bug empty body step");
          break;
        case Event::end:
          if (skipping_) {
            skipped_ += s.consumed;
            add("skip " + std::to_string(skipped_));
            skipping_ = false;
          }
          add(std::string("end ") + s.flag);
          break;
        case Event::skip:
          if (s.consumed == 0) add("bug empty skip step");
          skipped_ += s.consumed;
          break;
        case Event::error:
          if (!resync_) {
            add("error " + std::to_string(s.status));
            errored_ = true;
            return;
          }
          add("error " + std::to_string(s.status) + (s.fatal ? " fatal" : ""));
          if (s.consumed != 0) add("bug error consumed");
          if (s.fatal) {
            errored_ = true;
            return;
          }
          skipping_ = true;
          skipped_ = 0;
          break;
      }
      buf_.erase(0, s.consumed);
    }
  }

  const Transcript& transcript() const { return t_; }
  const FrameParser& parser() const { return parser_; }
  FrameParser& parser() { return parser_; }
  size_t pending() const { return buf_.size(); }
  bool errored() const { return errored_; }

 private:
  void add(std::string e) { t_.events.push_back(std::move(e)); }
  FrameParser parser_;
  bool resync_ = false;
  bool skipping_ = false;
  size_t skipped_ = 0;
  std::string buf_;
  Transcript t_;
  bool errored_ = false;
};

inline Transcript parse_whole(std::string_view in, Limits limits = {}) {
  Driver d(limits);
  d.push(in);
  return d.transcript();
}

inline Transcript parse_bytewise(std::string_view in, Limits limits = {}) {
  Driver d(limits);
  for (char c : in) {
    d.push(std::string_view(&c, 1));
    if (d.errored()) break;
  }
  return d.transcript();
}

// The relay's way: past every frame error the stream can be resynchronised past.
inline Transcript resync_whole(std::string_view in, Limits limits = {}) {
  Driver d(limits, true);
  d.push(in);
  return d.transcript();
}

inline Transcript resync_bytewise(std::string_view in, Limits limits = {}) {
  Driver d(limits, true);
  for (char c : in) {
    d.push(std::string_view(&c, 1));
    if (d.errored()) break;
  }
  return d.transcript();
}

inline Transcript parse_split(std::string_view in, size_t at, Limits limits = {}) {
  Driver d(limits);
  d.push(in.substr(0, at));
  if (!d.errored()) d.push(in.substr(at));
  return d.transcript();
}

// The status of the first error when `in` is fed whole, or 0.
inline uint16_t error_status(std::string_view in, Limits limits = {}) {
  FrameParser p(limits);
  std::string buf(in);
  for (int guard = 0; guard < 100000; ++guard) {
    Step s = p.feed(buf);
    if (s.event == Event::error) return s.status;
    if (s.event == Event::need_more) return 0;
    buf.erase(0, s.consumed);
  }
  return 0;
}

}  // namespace msrpd::msrp::testing
