#include "relay/output_gate.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace msrpd::relay {
namespace {

// Records what the gate writes and whom it asks to make way.
class RecordingSink final : public GateSink {
 public:
  bool is_open = true;
  std::string wire;
  int closes = 0;
  int releases = 0;
  std::vector<FrameKey> asked;
  std::vector<FrameKey> ended_held;  // held frames written to their end, in order
  std::string wire_at_end;           // the wire when the last of them ended
  std::function<void(FrameKey)> on_make_way;

  bool open() const override { return is_open; }
  bool write(std::string_view bytes) override {
    wire.append(bytes);
    return true;
  }
  void close_after_flush() override { ++closes; }
  void make_way(FrameKey owner) override {
    asked.push_back(owner);
    if (on_make_way) on_make_way(owner);
  }
  void released() override { ++releases; }
  void ended(FrameKey key) override {
    ended_held.push_back(key);
    wire_at_end = wire;
  }
};

constexpr FrameKey kA{1, 1};
constexpr FrameKey kB{2, 1};
constexpr FrameKey kC{3, 1};

TEST(OutputGate, WholeFramesGoOutAtOnce) {
  RecordingSink sink;
  OutputGate gate(sink);
  EXPECT_TRUE(gate.send("R1;"));
  EXPECT_TRUE(gate.output(kA, "A;", true));
  EXPECT_EQ(sink.wire, "R1;A;");
  EXPECT_TRUE(gate.owner().none());
  EXPECT_TRUE(sink.asked.empty());
}

TEST(OutputGate, OthersWaitForTheStreamedFrameInArrivalOrder) {
  RecordingSink sink;
  OutputGate gate(sink);
  EXPECT_TRUE(gate.output(kA, "A1", false));
  EXPECT_TRUE(gate.send("R;"));
  EXPECT_TRUE(gate.output(kB, "B;", true));
  EXPECT_TRUE(gate.output(kA, "A2", false));
  EXPECT_EQ(sink.wire, "A1A2");
  EXPECT_EQ(gate.held_bytes(), 4u);
  EXPECT_TRUE(gate.output(kA, "A3;", true));
  EXPECT_EQ(sink.wire, "A1A2A3;R;B;");
  EXPECT_EQ(gate.held_bytes(), 0u);
  EXPECT_EQ(gate.held_frames(), 0u);
}

TEST(OutputGate, AsksTheOwnerToMakeWayOnce) {
  RecordingSink sink;
  OutputGate gate(sink);
  EXPECT_TRUE(gate.output(kA, "A1", false));
  EXPECT_TRUE(gate.send("R1;"));
  EXPECT_TRUE(gate.send("R2;"));
  ASSERT_EQ(sink.asked.size(), 1u);
  EXPECT_EQ(sink.asked[0], kA);
}

TEST(OutputGate, OwnerEndingInsideMakeWayReleasesTheWaitingAtOnce) {
  RecordingSink sink;
  OutputGate gate(sink);
  sink.on_make_way = [&](FrameKey owner) { EXPECT_TRUE(gate.output(owner, "+;", true)); };
  EXPECT_TRUE(gate.output(kA, "A1", false));
  EXPECT_TRUE(gate.send("R;"));
  EXPECT_EQ(sink.wire, "A1+;R;");
  EXPECT_TRUE(gate.owner().none());
  EXPECT_EQ(gate.held_frames(), 0u);
}

TEST(OutputGate, AHeldFrameThatStartsStreamingTakesTheGate) {
  RecordingSink sink;
  OutputGate gate(sink);
  EXPECT_TRUE(gate.output(kA, "A;", false));
  EXPECT_TRUE(gate.output(kB, "B1", false));  // B starts, does not end
  EXPECT_TRUE(gate.send("R;"));
  EXPECT_TRUE(gate.output(kA, "A;", true));
  // A ends: B (oldest) goes and keeps the gate; R waits for B's end; B is asked to make way.
  EXPECT_EQ(sink.wire, "A;A;B1");
  EXPECT_EQ(gate.owner(), kB);
  EXPECT_EQ(sink.asked.back(), kB);
  EXPECT_TRUE(gate.output(kB, "B2;", true));
  EXPECT_EQ(sink.wire, "A;A;B1B2;R;");
}

TEST(OutputGate, PiecesOfOneHeldFrameStayTogether) {
  RecordingSink sink;
  OutputGate gate(sink);
  EXPECT_TRUE(gate.output(kA, "A1", false));
  EXPECT_TRUE(gate.output(kB, "B1", false));
  EXPECT_TRUE(gate.output(kC, "C;", true));
  EXPECT_TRUE(gate.output(kB, "B2", false));
  EXPECT_TRUE(gate.output(kB, "B3;", true));  // joins the piece before it
  EXPECT_EQ(gate.held_frames(), 3u);
  EXPECT_TRUE(gate.output(kA, "A2;", true));
  // B started first among the held: its pieces go together, C waits for B's end.
  EXPECT_EQ(sink.wire, "A1A2;B1B2B3;C;");
}

TEST(OutputGate, CloseAfterTakesEffectWhenTheFrameEnds) {
  RecordingSink sink;
  OutputGate gate(sink);
  EXPECT_TRUE(gate.output(kA, "A1", false));
  EXPECT_TRUE(gate.output(kB, "B;", true, true));
  EXPECT_EQ(sink.closes, 0);
  EXPECT_TRUE(gate.output(kA, "A2;", true));
  EXPECT_EQ(sink.closes, 1);
  EXPECT_EQ(sink.wire, "A1A2;B;");
}

TEST(OutputGate, RefusesWhenTheConnectionIsGone) {
  RecordingSink sink;
  OutputGate gate(sink);
  EXPECT_TRUE(gate.output(kA, "A1", false));
  EXPECT_TRUE(gate.send("R;"));
  sink.is_open = false;
  gate.clear();
  EXPECT_FALSE(gate.send("R2;"));
  EXPECT_EQ(gate.held_bytes(), 0u);
  EXPECT_EQ(sink.wire, "A1");
}

// RFC 4975 §7.1.1: a transaction's 30 s run from its last byte sent. A frame the gate holds tells
// when its end is written, after the frame it waited for; one written at once is not held at all.
TEST(OutputGate, HeldFrameTellsWhenItsEndIsWritten) {
  RecordingSink sink;
  OutputGate gate(sink);
  EXPECT_TRUE(gate.output(kA, "A1", false));
  EXPECT_FALSE(gate.holds(kA));  // written
  EXPECT_TRUE(gate.output(kB, "B1", false));
  EXPECT_TRUE(gate.output(kB, "B2;", true));
  EXPECT_TRUE(gate.output(kC, "C;", true));
  EXPECT_TRUE(gate.holds(kB));
  EXPECT_TRUE(gate.holds(kC));
  EXPECT_TRUE(sink.ended_held.empty());
  EXPECT_TRUE(gate.output(kA, "A2;", true));
  EXPECT_FALSE(gate.holds(kB));
  EXPECT_FALSE(gate.holds(kC));
  ASSERT_EQ(sink.ended_held.size(), 2u);
  EXPECT_EQ(sink.ended_held[0], kB);
  EXPECT_EQ(sink.ended_held[1], kC);
  EXPECT_EQ(sink.wire_at_end, "A1A2;B1B2;C;");
  // A whole frame that goes out at once is no held frame.
  EXPECT_TRUE(gate.output(kA, "A3;", true));
  EXPECT_EQ(sink.ended_held.size(), 2u);
}

}  // namespace
}  // namespace msrpd::relay
