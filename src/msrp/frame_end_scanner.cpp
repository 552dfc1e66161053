#include "msrp/frame_end_scanner.h"

#include <cstring>

namespace msrpd::msrp {

void FrameEndScanner::start_body() {
  // The KMP failure table: fail_[i] = the longest proper border of pattern_[0..i].
  fail_[0] = 0;
  uint8_t k = 0;
  for (uint8_t i = 1; i < len_; ++i) {
    while (k > 0 && pattern_[i] != pattern_[k]) k = fail_[k - 1];
    if (pattern_[i] == pattern_[k]) ++k;
    fail_[i] = k;
  }
  phase_ = Phase::body;
  matched_ = 0;
}

uint8_t FrameEndScanner::step(uint8_t matched, char c) const {
  while (matched > 0 && pattern_[matched] != c) matched = fail_[matched - 1];
  if (pattern_[matched] == c) ++matched;
  return matched;
}

size_t FrameEndScanner::scan(std::string_view out) {
  for (size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    switch (phase_) {
      case Phase::start_line:
        // "MSRP " (5 bytes), then the transaction id up to the next SP.
        if (seen_ < 5) {
          if (++seen_ == 5) {
            std::memcpy(pattern_, "\r\n-------", kPrefix);
            len_ = kPrefix;
          }
          break;
        }
        if (c == ' ' || c == '\r' || len_ == kPrefix + kMaxTid) {
          start_body();
          matched_ = step(0, c);
          break;
        }
        pattern_[len_++] = c;
        break;
      case Phase::body:
        matched_ = step(matched_, c);
        if (matched_ == len_) phase_ = Phase::flag;
        break;
      case Phase::flag:
        if (c == '+' || c == '$' || c == '#') {
          phase_ = Phase::cr;
        } else {
          phase_ = Phase::body;
          matched_ = step(fail_[len_ - 1], c);
        }
        break;
      case Phase::cr:
        // Not the end-line after all ("-------tid+x"): go on matching; CR may start the pattern.
        phase_ = c == '\r' ? Phase::lf : Phase::body;
        if (phase_ == Phase::body) matched_ = step(0, c);
        break;
      case Phase::lf:
        if (c == '\n') {
          phase_ = Phase::start_line;
          seen_ = 0;
          len_ = 0;
          return i + 1;
        }
        phase_ = Phase::body;
        matched_ = step(step(0, '\r'), c);
        break;
    }
  }
  return kNoEnd;
}

}  // namespace msrpd::msrp
