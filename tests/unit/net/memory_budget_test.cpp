// The MemoryBudget of connections on probation (issue 11 part 6): their read buffers' capacity is
// charged while probation is armed; over the budget the loop's newest such connections close
// (CloseReason::budget); connections that succeeded (disarmed) cost the budget nothing.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "net/connection.h"
#include "net/listener.h"
#include "net/memory_budget.h"
#include "recorder.h"

namespace msrpd::net {
namespace {

using testing::Recorder;
constexpr size_t kKiB = 1024;

// A loop whose accepted connections are on probation and keep every byte unconsumed (as a head
// that has not ended), charged to a budget of `limit` bytes.
class BudgetTest : public ::testing::Test {
 protected:
  void start(size_t limit) {
    budget_ = std::make_unique<MemoryBudget>(limit);
    connections_.set_budget(budget_.get());
    connections_.on_budget_close([this](Connection& c) { shed_.push_back(c.id()); });
    ListenOptions lo;
    lo.ip = "127.0.0.1";
    auto l = Listener::open(connections_, lo, [this](Connection& c) {
      handlers_.push_back(std::make_unique<Recorder>());
      handlers_.back()->consume_limit = 0;
      accepted_.push_back(c.id());
      c.set_handler(handlers_.back().get());
      if (arm_) c.arm_probation(60000);
    });
    ASSERT_TRUE(l.ok()) << l.error().message;
    listener_ = std::move(*l);
  }
  ~BudgetTest() override {
    for (int fd : clients_)
      if (fd >= 0) ::close(fd);
  }

  // A new client; returns its index once the loop has accepted it.
  size_t connect() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(listener_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    clients_.push_back(fd);
    size_t want = clients_.size();
    EXPECT_TRUE(loop_.run_until([&] { return accepted_.size() == want; }, 2000));
    return want - 1;
  }
  // Client i sends n bytes; the loop runs until connection i holds `held` bytes or has closed.
  void send(size_t i, size_t n, size_t held) {
    std::string bytes(n, 'a');
    ASSERT_EQ(::send(clients_[i], bytes.data(), n, 0), static_cast<ssize_t>(n));
    EXPECT_TRUE(loop_.run_until(
        [&] {
          Connection* c = connections_.find(accepted_[i]);
          return !c || c->buffered_bytes() == held;
        },
        2000));
  }
  Connection* conn(size_t i) { return connections_.find(accepted_[i]); }

  EventLoop loop_;
  std::unique_ptr<MemoryBudget> budget_;  // outlives the connections charging it
  std::vector<std::unique_ptr<Recorder>> handlers_;
  ConnectionRegistry connections_{loop_};
  std::unique_ptr<Listener> listener_;
  std::vector<uint64_t> accepted_, shed_;
  std::vector<int> clients_;
  bool arm_ = true;
};

TEST_F(BudgetTest, ReadBufferCapacityOfAConnectionOnProbationIsCharged) {
  start(1024 * kKiB);
  size_t a = connect();
  EXPECT_EQ(budget_->used(), 0u);  // an idle connection holds no buffer
  send(a, 60 * kKiB, 60 * kKiB);
  ASSERT_NE(conn(a), nullptr);
  EXPECT_EQ(conn(a)->read_buffer_capacity(), 64 * kKiB);
  EXPECT_EQ(budget_->used(), 64 * kKiB);
  EXPECT_EQ(connections_.budgeted_connections(), 1u);
}

TEST_F(BudgetTest, SuccessEndsTheCharge) {
  start(1024 * kKiB);
  size_t a = connect();
  send(a, 20 * kKiB, 20 * kKiB);
  EXPECT_EQ(budget_->used(), 32 * kKiB);
  conn(a)->disarm_probation();
  EXPECT_EQ(budget_->used(), 0u);
  EXPECT_EQ(connections_.budgeted_connections(), 0u);
  send(a, 40 * kKiB, 60 * kKiB);
  EXPECT_EQ(budget_->used(), 0u);
}

TEST_F(BudgetTest, ConnectionsNeverOnProbationAreNotCharged) {
  arm_ = false;
  start(64 * kKiB);
  size_t a = connect();
  size_t b = connect();
  send(a, 60 * kKiB, 60 * kKiB);
  send(b, 60 * kKiB, 60 * kKiB);
  EXPECT_NE(conn(a), nullptr);
  EXPECT_NE(conn(b), nullptr);
  EXPECT_EQ(budget_->used(), 0u);
}

TEST_F(BudgetTest, OverTheBudgetTheNewestConnectionCloses) {
  start(160 * kKiB);
  size_t a = connect();
  size_t b = connect();
  size_t c = connect();
  send(a, 60 * kKiB, 60 * kKiB);
  send(b, 60 * kKiB, 60 * kKiB);
  EXPECT_EQ(budget_->used(), 128 * kKiB);
  // c's buffer would grow to 64 KiB: 192 KiB in all.
  std::string bytes(60 * kKiB, 'c');
  ASSERT_EQ(::send(clients_[c], bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  ASSERT_TRUE(loop_.run_until([&] { return handlers_[c]->closed; }, 2000));
  EXPECT_EQ(conn(c), nullptr);
  EXPECT_EQ(handlers_[c]->reason, CloseReason::budget);
  EXPECT_EQ(shed_, std::vector<uint64_t>{accepted_[c]});
  EXPECT_NE(conn(a), nullptr);
  EXPECT_NE(conn(b), nullptr);
  EXPECT_EQ(budget_->used(), 128 * kKiB);
  EXPECT_EQ(connections_.budgeted_connections(), 2u);
}

TEST_F(BudgetTest, AnOlderConnectionGrowingClosesANewerOne) {
  start(64 * kKiB);
  size_t a = connect();
  size_t b = connect();
  send(a, 20 * kKiB, 20 * kKiB);  // 32 KiB
  send(b, 10 * kKiB, 10 * kKiB);  // 16 KiB
  EXPECT_EQ(budget_->used(), 48 * kKiB);
  // a grows to 64 KiB: 80 KiB in all, and b is the newest.
  send(a, 40 * kKiB, 60 * kKiB);
  ASSERT_NE(conn(a), nullptr);
  EXPECT_EQ(conn(a)->read_buffer_capacity(), 64 * kKiB);
  EXPECT_TRUE(loop_.run_until([&] { return handlers_[b]->closed; }, 1000));
  EXPECT_EQ(handlers_[b]->reason, CloseReason::budget);
  EXPECT_EQ(budget_->used(), 64 * kKiB);
}

TEST_F(BudgetTest, ClosedConnectionsGiveTheirChargeBack) {
  start(1024 * kKiB);
  size_t a = connect();
  send(a, 60 * kKiB, 60 * kKiB);
  EXPECT_EQ(budget_->used(), 64 * kKiB);
  ::close(clients_[a]);
  clients_[a] = -1;
  EXPECT_TRUE(loop_.run_until([&] { return handlers_[a]->closed; }, 2000));
  EXPECT_EQ(budget_->used(), 0u);
  EXPECT_EQ(connections_.budgeted_connections(), 0u);
}

// A peer on probation that does not read the answers to its requests: once they are above the
// write high watermark, its requests are not read either, until it reads.
TEST(UnreadAnswers, ConnectionOnProbationIsNotReadWhileItsAnswersPileUp) {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  testing::Echo echo;  // every byte it reads is answered
  uint64_t id = 0;
  ListenOptions lo;
  lo.ip = "127.0.0.1";
  auto l = Listener::open(connections, lo, [&](Connection& c) {
    id = c.id();
    c.set_handler(&echo);
    c.arm_probation(60000);
  });
  ASSERT_TRUE(l.ok());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons((*l)->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  ASSERT_TRUE(loop.run_until([&] { return id != 0; }, 2000));

  // Send without reading until the relay stops taking bytes.
  const size_t total = size_t{64} * 1024 * 1024;
  std::string chunk(64 * kKiB, 'q');
  size_t sent = 0;
  int idle = 0;
  while (sent < total && idle < 20) {
    ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      idle = 0;
    } else {
      ++idle;
    }
    loop.run_until([] { return false; }, 5);
  }
  Connection* c = connections.find(id);
  ASSERT_NE(c, nullptr);
  EXPECT_LT(sent, total);
  EXPECT_TRUE(c->has(Connection::kUnreadAnswers)) << c->describe();
  // Bounded: the high watermark plus the answers to one read buffer.
  EXPECT_LE(c->queued_bytes(), c->settings().write_high_watermark + c->settings().read_buffer_limit);
  EXPECT_EQ(Connection::describe_flags(Connection::kUnreadAnswers), "unread_answers");

  // The peer reads its answers: its requests are read again, to the last byte.
  size_t got = 0;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (got < sent && std::chrono::steady_clock::now() < deadline) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) got += static_cast<size_t>(n);
    loop.run_until([] { return false; }, 1);
  }
  EXPECT_EQ(got, sent);
  EXPECT_EQ(echo.data.size(), sent);
  ::close(fd);
}

TEST(UnreadAnswers, ConnectionsThatSucceededAreReadWhateverTheirQueue) {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  testing::Echo echo;
  uint64_t id = 0;
  ListenOptions lo;
  lo.ip = "127.0.0.1";
  auto l = Listener::open(connections, lo, [&](Connection& c) {
    id = c.id();
    c.set_handler(&echo);  // never on probation
  });
  ASSERT_TRUE(l.ok());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons((*l)->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  std::string chunk(64 * kKiB, 'q');
  for (int i = 0; i < 64; ++i) {
    (void)::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    loop.run_until([] { return false; }, 5);
  }
  Connection* c = connections.find(id);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->has(Connection::kUnreadAnswers));
  EXPECT_GT(c->queued_bytes(), c->settings().write_high_watermark);
  ::close(fd);
}

}  // namespace
}  // namespace msrpd::net
