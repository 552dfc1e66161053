// The writer functions a relay uses for frames it originates from others' frames: the answer to
// a rejected frame and the head of a continuation chunk.
#include <gtest/gtest.h>

#include "msrp/frame_writer.h"

namespace msrpd::msrp {
namespace {

TEST(WriteRejection, WritesBothPathsAndTheReason) {
  std::string out;
  write_rejection(out, "t1", 400, "msrp://a:1/s;tcp", "msrp://relay:2855/x;tcp");
  EXPECT_EQ(out,
            "MSRP t1 400 Bad Request\r\n"
            "To-Path: msrp://a:1/s;tcp\r\n"
            "From-Path: msrp://relay:2855/x;tcp\r\n"
            "-------t1$\r\n");
}

TEST(WriteRejection, LeavesOutPathsItCouldNotRead) {
  std::string out;
  write_rejection(out, "t2", 413, "", "");
  EXPECT_EQ(out, "MSRP t2 413 Stop Sending Message\r\n-------t2$\r\n");
}

TEST(WriteContinuationHead, StartsAtTheNextByteWithTheSameHeaders) {
  std::string out;
  write_continuation_head(
      out, "newtid", "To-Path: msrp://b:2/r;tcp\r\nFrom-Path: msrp://relay:2855/x;tcp msrp://a:1/s;tcp\r\n",
      1001, std::nullopt, 5000, "Message-ID: m1\r\nContent-Type: text/plain\r\n\r\n");
  EXPECT_EQ(out,
            "MSRP newtid SEND\r\n"
            "To-Path: msrp://b:2/r;tcp\r\n"
            "From-Path: msrp://relay:2855/x;tcp msrp://a:1/s;tcp\r\n"
            "Byte-Range: 1001-*/5000\r\n"
            "Message-ID: m1\r\n"
            "Content-Type: text/plain\r\n"
            "\r\n");
}

TEST(WriteContinuationHead, UnknownEndAndTotalAreStars) {
  std::string out;
  write_continuation_head(out, "t", "", 7, std::nullopt, std::nullopt, "\r\n");
  EXPECT_EQ(out, "MSRP t SEND\r\nByte-Range: 7-*/*\r\n\r\n");
  out.clear();
  write_continuation_head(out, "t", "", 7, 9, 9, "\r\n");
  EXPECT_EQ(out, "MSRP t SEND\r\nByte-Range: 7-9/9\r\n\r\n");
}

}  // namespace
}  // namespace msrpd::msrp
