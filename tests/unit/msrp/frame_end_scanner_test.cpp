// FrameEndScanner: the end of each MSRP frame in an output stream (RFC 4975 §7.1 end-lines), for
// RFC 7977 §5.1's one frame per WebSocket message.

#include "msrp/frame_end_scanner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace msrpd::msrp {
namespace {

const std::string kSend =
    "MSRP a786hjs2 SEND\r\nTo-Path: msrp://b.example.com:7777/9di4ea;tcp\r\n"
    "From-Path: msrp://a.example.com:7777/iau39;tcp\r\nMessage-ID: 87652\r\nByte-Range: 1-25/25\r\n"
    "Content-Type: text/plain\r\n\r\nHey Bob, are you there?\r\n-------a786hjs2$\r\n";
const std::string kOk =
    "MSRP a786hjs2 200 OK\r\nTo-Path: msrp://a.example.com:7777/iau39;tcp\r\n"
    "From-Path: msrp://b.example.com:7777/9di4ea;tcp\r\n-------a786hjs2$\r\n";

// The frame lengths the scanner finds when the stream arrives in pieces of `piece` bytes.
std::vector<size_t> ends(const std::string& stream, size_t piece) {
  FrameEndScanner s;
  std::vector<size_t> out;
  size_t frame = 0;
  for (size_t at = 0; at < stream.size();) {
    std::string_view p = std::string_view(stream).substr(at, piece);
    size_t n = s.scan(p);
    if (n == FrameEndScanner::kNoEnd) {
      frame += p.size();
      at += p.size();
    } else {
      out.push_back(frame + n);
      frame = 0;
      at += n;
    }
  }
  return out;
}

TEST(FrameEndScanner, FindsEachFrameInAnyPieces) {
  std::string stream = kSend + kOk + kSend;
  for (size_t piece : {1, 2, 3, 7, 64, 10000}) {
    EXPECT_EQ(ends(stream, piece), (std::vector<size_t>{kSend.size(), kOk.size(), kSend.size()})) << piece;
  }
}

TEST(FrameEndScanner, BodyLinesLikeAnEndLineOfAnotherIdDoNotEnd) {
  std::string send =
      "MSRP abc SEND\r\nTo-Path: x\r\n\r\n-------abd$\r\n-------ab$\r\n\r\n-------abc+x\r\n-------abc#\r\n";
  EXPECT_EQ(ends(send, 1), std::vector<size_t>{send.size()});
  EXPECT_EQ(ends(send + kOk, 5), (std::vector<size_t>{send.size(), kOk.size()}));
}

TEST(FrameEndScanner, OverlappingPrefixesStillMatch) {
  // "\r\n\r\n-------" and a CR before the real end-line must not hide it.
  std::string send = "MSRP aa SEND\r\n\r\n\r\r\n--\r\n-------aa\r\n-------aa+\r\r\n-------aa+\r\n";
  EXPECT_EQ(ends(send, 1), std::vector<size_t>{send.size()});
}

TEST(FrameEndScanner, AtFrameStartOnlyBetweenFrames) {
  FrameEndScanner s;
  EXPECT_TRUE(s.at_frame_start());
  EXPECT_EQ(s.scan(std::string_view(kOk).substr(0, 10)), FrameEndScanner::kNoEnd);
  EXPECT_FALSE(s.at_frame_start());
  EXPECT_EQ(s.scan(std::string_view(kOk).substr(10)), kOk.size() - 10);
  EXPECT_TRUE(s.at_frame_start());
}

}  // namespace
}  // namespace msrpd::msrp
