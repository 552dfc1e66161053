// The route sees the whole frame (issue 12 item 5): $msrp(body), bodylen, buf and buflen do not
// depend on how TCP cut the bytes, up to the route_body_preview bound; a longer frame is routed
// with the bound's worth of its body.

#include <mutex>
#include <vector>

#include "engine_fixture.h"

namespace msrpd::relay::engine_test {
namespace {

// Records what the route saw of each frame, answers it 200.
class RecordingRoute final : public Router {
 public:
  void msrp_frame(Context& ctx, unsigned) override {
    {
      std::lock_guard<std::mutex> g(m_);
      bodylen_.push_back(ctx.msrp(MsrpKey::bodylen).i);
      buflen_.push_back(ctx.msrp(MsrpKey::buflen).i);
    }
    ctx.msrp_reply("200", "OK", {});
  }
  std::vector<int64_t> bodylen() {
    std::lock_guard<std::mutex> g(m_);
    return bodylen_;
  }
  std::vector<int64_t> buflen() {
    std::lock_guard<std::mutex> g(m_);
    return buflen_;
  }

 private:
  std::mutex m_;
  std::vector<int64_t> bodylen_, buflen_;
};

class WholeFrameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineConfig cfg;
    cfg.listen.push_back({"tcp", "127.0.0.1", 0, {}});
    cfg.children = 1;
    cfg.route_body_preview = 16384;
    engine_ = std::make_unique<Engine>(cfg, route_);
    ASSERT_TRUE(engine_->start().ok());
    port_ = engine_->bound_ports().at(0);
  }
  void TearDown() override { engine_->stop(); }
  std::string frame(std::string_view tid, size_t body_size) const {
    std::string body(body_size, 'b');
    return "MSRP " + std::string(tid) + " SEND\r\nTo-Path: msrp://127.0.0.1:" + std::to_string(port_) +
           ";tcp\r\nFrom-Path: msrp://a.example:9/a;tcp\r\nMessage-ID: m\r\nByte-Range: 1-" +
           std::to_string(body_size) + "/" + std::to_string(body_size) +
           "\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n-------" + std::string(tid) + "$\r\n";
  }

  RecordingRoute route_;
  std::unique_ptr<Engine> engine_;
  uint16_t port_ = 0;
};

TEST_F(WholeFrameTest, BodylenIsTheSameForOneWriteAndOneByteAtATime) {
  std::string whole = frame("whole001", 10000), bytes = frame("bytes001", 10000);
  Client a(port_), b(port_);
  ASSERT_TRUE(a.send(whole));
  ASSERT_TRUE(a.frame().has_value());
  for (char c : bytes) ASSERT_TRUE(b.send(std::string_view(&c, 1)));
  auto ok = b.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->starts_with("MSRP bytes001 200 OK\r\n")) << *ok;
  auto bl = route_.bodylen();
  auto buf = route_.buflen();
  ASSERT_EQ(bl.size(), 2u);
  EXPECT_EQ(bl[0], 10002);  // Kamailio counts the CRLF before the end-line
  EXPECT_EQ(bl[1], bl[0]);
  EXPECT_EQ(buf[0], static_cast<int64_t>(whole.size()));
  EXPECT_EQ(buf[1], static_cast<int64_t>(bytes.size()));
}

TEST_F(WholeFrameTest, LongerFrameIsRoutedWithTheBoundsWorthOfItsBody) {
  std::string big = frame("big00001", 100000);
  Client a(port_);
  // Head and a first part, then the rest in pieces: routed once the bound's bytes are in.
  ASSERT_TRUE(a.send(std::string_view(big).substr(0, 500)));
  for (size_t at = 500; at < big.size(); at += 1000)
    ASSERT_TRUE(a.send(std::string_view(big).substr(at, 1000)));
  auto ok = a.frame();
  ASSERT_TRUE(ok.has_value());
  auto bl = route_.bodylen();
  ASSERT_EQ(bl.size(), 1u);
  EXPECT_GE(bl[0], 16384);
  EXPECT_LE(bl[0], 16384 + 44 + 2);  // the bound, and what may be an end-line (+ Kamailio's CRLF)
}

// Issue 12 item 1 (RFC 4976 §6.4.1): the route's 200 to a SEND longer than the bound (routed before
// it ends) leaves when the chunk's end-line has arrived, not when its head did.
TEST_F(WholeFrameTest, TheRoutes200ToALongSendLeavesWithItsEndLine) {
  std::string big = frame("late0001", 100000);
  size_t end_line = big.rfind("-------late0001$");
  Client a(port_);
  ASSERT_TRUE(a.send(std::string_view(big).substr(0, end_line)));
  EXPECT_FALSE(a.frame(300).has_value()) << a.buffered();
  ASSERT_EQ(route_.bodylen().size(), 1u);  // routed already, with the bound's worth
  ASSERT_TRUE(a.send(std::string_view(big).substr(end_line)));
  auto ok = a.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->starts_with("MSRP late0001 200 OK\r\n")) << *ok;
}

// A chunk that breaks off (a parse error in its end-line) gets no 200.
TEST_F(WholeFrameTest, NoLate200ForAChunkThatNeverEnds) {
  std::string big = frame("late0002", 100000);
  size_t end_line = big.rfind("-------late0002$");
  Client a(port_);
  ASSERT_TRUE(a.send(std::string_view(big).substr(0, end_line)));
  EXPECT_FALSE(a.frame(300).has_value());
}

}  // namespace
}  // namespace msrpd::relay::engine_test
