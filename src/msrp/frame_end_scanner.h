#pragma once
// FrameEndScanner: finds where each MSRP frame ends in a byte stream the relay writes, without
// parsing it: after the start line's transaction id, the end-line "\r\n-------" tid flag "\r\n"
// (RFC 4975 §7.1, flag one of + $ #). For a transport that must know frame boundaries on output:
// RFC 7977 §5.1 (WebSocket) carries each MSRP frame in one WebSocket message. It keeps a few dozen
// bytes of state, so the stream may be fed in any pieces; no allocation per frame.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace msrpd::msrp {

class FrameEndScanner {
 public:
  static constexpr size_t kNoEnd = static_cast<size_t>(-1);
  // The bytes of `out` up to and including the end-line of the frame being scanned, or kNoEnd when
  // it does not end in them (all of `out` belongs to it). After an end, the next byte is the first
  // of the next frame: call again with the rest.
  size_t scan(std::string_view out);
  // True between frames (nothing of the next frame seen yet).
  bool at_frame_start() const { return phase_ == Phase::start_line && seen_ == 0; }

 private:
  enum class Phase : uint8_t {
    start_line,  // reading "MSRP " and the transaction id (seen_ bytes of the line so far)
    body,        // matching the pattern "\r\n-------" tid (matched_ bytes of it)
    flag,        // the whole pattern matched: the next byte must be + $ or #
    cr,          // after the flag: CR
    lf,          // after the CR: LF ends the frame
  };
  void start_body();
  // KMP step: the matched length after byte c, given `matched_` bytes of the pattern matched.
  uint8_t step(uint8_t matched, char c) const;

  static constexpr size_t kMaxTid = 64;  // RFC 4975 §9 allows 32; more is not our output
  static constexpr size_t kPrefix = 9;   // "\r\n-------"
  Phase phase_ = Phase::start_line;
  uint8_t seen_ = 0;
  uint8_t len_ = 0;      // the pattern's length
  uint8_t matched_ = 0;  // body: bytes of the pattern matched
  char pattern_[kPrefix + kMaxTid] = {};
  uint8_t fail_[kPrefix + kMaxTid] = {};
};

}  // namespace msrpd::msrp
