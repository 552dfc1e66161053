// msrpcat (apps/msrpcat, docs/msrpcat.md) against the real msrpd running the seed's Example 1.18
// route: a receiver AUTHs and prints its session line, senders deliver through the relay, failures
// give one stderr line and exit 1, usage errors exit 2. msrpcat runs as a child process with pipes;
// every wait is bounded and a child still running at the deadline is killed.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>

#include "harness.h"

namespace msrpd::itest {
namespace {

using client::Client;
using client::ReceivedFrame;

const std::string kExample18 = source_path("examples/kamailio-1.18.cfg");

// msrpcat is built next to msrpd: build-x/apps/msrpd -> build-x/apps/msrpcat.
std::string msrpcat_path() {
  std::string p = MSRPD_BINARY;
  return p.substr(0, p.rfind('/') + 1) + "msrpcat";
}

// One msrpcat process: stdin fed from a string, stdout and stderr collected through pipes.
class Cat {
 public:
  Cat() = default;
  Cat(const Cat&) = delete;
  Cat& operator=(const Cat&) = delete;
  ~Cat() {
    kill_now();
    close_fd(in_fd_);
    close_fd(out_fd_);
    close_fd(err_fd_);
  }

  // Starts msrpcat with args; `input` is written to its stdin, which is then closed.
  bool start(const std::vector<std::string>& args, const std::string& input = {}) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
      return false;
    std::vector<std::string> argv = {msrpcat_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      ::execv(cargv[0], cargv.data());
      _exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    in_fd_ = in[1];
    ::fcntl(in_fd_, F_SETFL, O_NONBLOCK);
    input_ = input;
    pump(0);
    return pid_ > 0;
  }

  // Pumps the pipes until stdout holds a whole first line (or timeout_ms pass); returns that line.
  std::string first_line(int timeout_ms = 5000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (out_.find('\n') == std::string::npos && Clock::now() < deadline && (out_fd_ >= 0 || err_fd_ >= 0))
      pump(left(deadline));
    size_t nl = out_.find('\n');
    return nl == std::string::npos ? std::string() : out_.substr(0, nl + 1);
  }

  // Waits for the exit (killing the process at the deadline); returns the exit code, 128+signal.
  int wait(int timeout_ms = 5000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (pid_ > 0) {
      pump(std::min(left(deadline), 20));
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (Clock::now() >= deadline) {
        kill_now();
        code_ = 999;  // timed out
      }
    }
    // What is left in the pipes (the writers are gone).
    while (out_fd_ >= 0 || err_fd_ >= 0) pump(100);
    return code_;
  }

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  using Clock = std::chrono::steady_clock;

  static int left(Clock::time_point deadline) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return ms > 0 ? static_cast<int>(ms) : 0;
  }

  // Moves bytes: input to stdin, stdout/stderr into out_/err_. Waits up to timeout_ms for any.
  void pump(int timeout_ms) {
    pollfd p[3];
    int n = 0;
    if (out_fd_ >= 0) p[n++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) p[n++] = {err_fd_, POLLIN, 0};
    if (in_fd_ >= 0) p[n++] = {in_fd_, POLLOUT, 0};
    if (n == 0 || ::poll(p, n, timeout_ms) <= 0) return;
    for (int i = 0; i < n; ++i) {
      if (p[i].revents == 0) continue;
      if (p[i].fd == in_fd_) {
        ssize_t w = input_.empty() ? 0 : ::write(in_fd_, input_.data(), input_.size());
        if (w > 0) input_.erase(0, static_cast<size_t>(w));
        if (input_.empty() || (w < 0 && errno != EAGAIN)) close_fd(in_fd_);
        continue;
      }
      char buf[65536];
      ssize_t r = ::read(p[i].fd, buf, sizeof buf);
      if (r > 0) {
        (p[i].fd == out_fd_ ? out_ : err_).append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EAGAIN) {
        close_fd(p[i].fd == out_fd_ ? out_fd_ : err_fd_);
      }
    }
  }

  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  void kill_now() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  pid_t pid_ = -1;
  int in_fd_ = -1, out_fd_ = -1, err_fd_ = -1;
  int code_ = -1;
  std::string input_, out_, err_;
};

// The session line a receiver prints: "session: <relay's session URI> <receiver's URI>".
const std::regex kSessionLine(
    R"(session: msrp://127\.0\.0\.1:5060/[A-Za-z0-9]{14,};tcp msrp://127\.0\.0\.1:[0-9]+/[a-z0-9]+;tcp
)");

class Msrpcat : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d_.start(kExample18, {"-n", "2"})) << d_.log(); }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
  }

  // Starts a receiver (bob) and returns its session line without the "session: " and newline.
  std::string start_receiver(Cat& r, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--relay",    d_.uri(), "--user",  "bob",
                                     "--password", "xyz123", "--listen"};
    args.insert(args.end(), extra.begin(), extra.end());
    EXPECT_TRUE(r.start(args));
    std::string line = r.first_line();
    EXPECT_TRUE(std::regex_match(line, kSessionLine)) << "[" << line << "] " << r.err();
    if (line.size() < 10) return {};
    return line.substr(9, line.size() - 10);
  }

  std::vector<std::string> sender_args(const std::string& to, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--relay", d_.uri(), "--to", to};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  Msrpd d_;
};

TEST_F(Msrpcat, ReceiverPrintsItsSessionLineThenTheMessageBytes) {
  Cat bob;
  std::string session = start_receiver(bob, {"--count", "1", "--timeout", "5"});
  ASSERT_FALSE(session.empty());

  Cat alice;
  ASSERT_TRUE(alice.start(sender_args("session: " + session), "hello msrp\n"));
  EXPECT_EQ(alice.wait(), 0) << alice.err();
  EXPECT_EQ(alice.out(), "");
  EXPECT_EQ(alice.err(), "");

  EXPECT_EQ(bob.wait(), 0) << bob.err();
  EXPECT_EQ(bob.out(), "session: " + session + "\nhello msrp\n");
  EXPECT_EQ(bob.err(), "");
}

TEST_F(Msrpcat, TenThousandByteMessageArrivesByteExact) {
  Cat bob;
  std::string session = start_receiver(bob, {"--count", "1", "--timeout", "5"});
  ASSERT_FALSE(session.empty());
  // Every byte value, and sequences that look like MSRP end-lines.
  std::string body(10000, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7 % 256);
  body.replace(2040, 18, "\r\n-------abc$\r\nMSRP");

  Cat alice;
  ASSERT_TRUE(alice.start(sender_args(session, {"--content-type", "application/octet-stream"}), body));
  EXPECT_EQ(alice.wait(), 0) << alice.err();
  ASSERT_EQ(bob.wait(), 0) << bob.err();
  std::string got = bob.out().substr(bob.out().find('\n') + 1);
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body);
}

TEST_F(Msrpcat, LongMessageIsSentAsChunksOfTheSameMessageId) {
  // A plain client as the receiver, to see the chunks on the wire.
  Client bob = d_.connect();
  std::string bob_uri = "msrp://127.0.0.1:" + std::to_string(bob.local_port()) + "/bob;tcp";
  auto a = client::authenticate(bob, d_.uri(), bob_uri, "bob", "xyz123");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
  ASSERT_EQ(a->use_path.size(), 1u);

  std::string body(5000, 'x');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  Cat alice;
  ASSERT_TRUE(alice.start(sender_args(a->use_path[0] + " " + bob_uri), body));

  const char* ranges[] = {"1-2048/5000", "2049-4096/5000", "4097-5000/5000"};
  std::string message_id, got;
  for (int i = 0; i < 3; ++i) {
    auto f = bob.read_frame(3000);
    ASSERT_TRUE(f) << "chunk " << i << ": " << f.error().message;
    EXPECT_EQ(f->method, "SEND");
    EXPECT_EQ(f->header("To-Path"), bob_uri);
    EXPECT_EQ(f->header("Byte-Range"), ranges[i]);
    EXPECT_EQ(f->header("Content-Type"), "text/plain");
    EXPECT_EQ(f->flag, i < 2 ? '+' : '$');
    if (i == 0) message_id = f->header("Message-ID");
    EXPECT_EQ(f->header("Message-ID"), message_id);
    EXPECT_GE(message_id.size(), 4u);
    got += f->body;
  }
  EXPECT_EQ(got, body);
  EXPECT_EQ(alice.wait(), 0) << alice.err();
}

TEST_F(Msrpcat, ReceiverPutsChunksBackInByteRangeOrder) {
  Cat bob;
  std::string session = start_receiver(bob, {"--count", "1", "--timeout", "5"});
  ASSERT_FALSE(session.empty());
  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  // The last chunk first, then the first one.
  ASSERT_TRUE(alice.send(client::make_send("ooo00002", session, alice_uri, "msgooo", "world", "text/plain",
                                           '$', "Byte-Range: 6-10/10\r\n")));
  ASSERT_TRUE(alice.send(client::make_send("ooo00001", session, alice_uri, "msgooo", "hello", "text/plain",
                                           '+', "Byte-Range: 1-5/10\r\n")));
  for (int i = 0; i < 2; ++i) {
    auto ok = alice.read_frame(3000);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->code, 200) << ok->raw;
  }
  ASSERT_EQ(bob.wait(), 0) << bob.err();
  EXPECT_EQ(bob.out(), "session: " + session + "\nhelloworld");
}

TEST_F(Msrpcat, SendToAnUnknownSessionExitsOneWithThe481) {
  Cat alice;
  ASSERT_TRUE(
      alice.start(sender_args(d_.uri("nosuchsession") + " msrp://127.0.0.1:9/bob;tcp", {"--message", "hi"})));
  EXPECT_EQ(alice.wait(), 1);
  EXPECT_EQ(alice.err(), "msrpcat: 481 Session-does-not-exist\n");
  EXPECT_EQ(alice.out(), "");
}

TEST_F(Msrpcat, WrongPasswordExitsOneWithOneClearLine) {
  Cat bob;
  ASSERT_TRUE(bob.start({"--relay", d_.uri(), "--user", "bob", "--password", "wrong", "--listen"}));
  EXPECT_EQ(bob.wait(), 1);
  EXPECT_EQ(bob.out(), "") << "no session line without a 200";
  EXPECT_EQ(bob.err(), "msrpcat: AUTH rejected: 401 Unauthorized (wrong user or password for 'bob'?)\n");
}

TEST_F(Msrpcat, ReceiverWithCountExitsOneWhenTheTimeoutPassesFirst) {
  Cat bob;
  std::string session = start_receiver(bob, {"--count", "1", "--timeout", "0.3"});
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(bob.wait(), 1);
  EXPECT_EQ(bob.err(), "msrpcat: timeout: 0 of 1 messages received\n");
}

TEST(MsrpcatAlone, ConnectionRefusedExitsOne) {
  std::string port = std::to_string(free_port());
  Cat c;
  ASSERT_TRUE(c.start({"--relay", "msrp://127.0.0.1:" + port + ";tcp", "--to",
                       "msrp://127.0.0.1:" + port + "/s;tcp msrp://127.0.0.1:9/b;tcp", "--message", "x"}));
  EXPECT_EQ(c.wait(), 1);
  EXPECT_EQ(c.err(),
            "msrpcat: cannot connect to the relay: connect 127.0.0.1:" + port + ": Connection refused\n");
}

TEST(MsrpcatAlone, UsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::string relay = "msrp://127.0.0.1:9;tcp";
  const Case cases[] = {
      {{}, "msrpcat: --relay URI is required\n"},
      {{"--bogus"}, "msrpcat: unknown option '--bogus'\n"},
      {{"--relay", "notauri", "--listen", "--user", "u", "--password", "p"},
       "msrpcat: bad relay URI 'notauri': "},
      {{"--relay", "msrps://127.0.0.1:9;tcp", "--to", "msrp://a.example:1/s;tcp"},
       "msrpcat: msrps not supported yet"},
      {{"--relay", relay, "--to", "garbage", "--message", "x"}, "msrpcat: bad URI 'garbage' in --to: "},
      {{"--relay", relay, "--listen"}, "msrpcat: --listen needs --user"},
      {{"--relay", relay}, "msrpcat: say either --listen (receive) or --to PATH (send)\n"},
      {{"--relay", relay, "--to", "msrp://a.example:1/s;tcp", "--chunk-size", "0"},
       "msrpcat: --chunk-size wants a positive number, not '0'\n"},
  };
  for (const auto& c : cases) {
    Cat cat;
    ASSERT_TRUE(cat.start(c.args));
    EXPECT_EQ(cat.wait(), 2) << c.err;
    EXPECT_EQ(cat.err().rfind(c.err, 0), 0u) << cat.err();
    EXPECT_NE(cat.err().find("Try 'msrpcat --help'."), std::string::npos) << cat.err();
  }
  Cat help;
  ASSERT_TRUE(help.start({"--help"}));
  EXPECT_EQ(help.wait(), 0);
  EXPECT_NE(help.out().find("--listen"), std::string::npos);
  EXPECT_EQ(help.err(), "");
}

// The same route with no use_path_addr: the Use-Path is the relay's own socket, so a sender that
// AUTHs reaches the receiver through its own session and the receiver's REPORT finds the way back.
class MsrpcatOwnUsePath : public Msrpcat {
 protected:
  void SetUp() override {
    std::string text = read_file(kExample18), cfg;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos + 1);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      if (line.find("mi_fifo") == std::string::npos && line.find("use_path_addr") == std::string::npos)
        cfg += line;
    }
    char tmpl[] = "/tmp/msrpcat-itest-cfg-XXXXXX";
    int fd = ::mkstemp(tmpl);
    ::close(fd);
    cfg_ = tmpl;
    std::ofstream(cfg_) << cfg;
    ASSERT_TRUE(d_.start(cfg_, {"-n", "2"})) << d_.log();
  }
  void TearDown() override {
    Msrpcat::TearDown();
    std::remove(cfg_.c_str());
  }
  std::string cfg_;
};

TEST_F(MsrpcatOwnUsePath, LinesAreSeparateMessagesAndReportsComeBack) {
  Cat bob;
  std::vector<std::string> args = {"--relay",  d_.uri(),  "--user", "bob",       "--password", "xyz123",
                                   "--listen", "--count", "2",      "--timeout", "5"};
  ASSERT_TRUE(bob.start(args));
  std::string line = bob.first_line();
  ASSERT_EQ(line.rfind("session: " + d_.uri().substr(0, d_.uri().size() - 4) + "/", 0), 0u)
      << line << bob.err();

  Cat alice;
  ASSERT_TRUE(alice.start(
      sender_args(line, {"--user", "alice", "--password", "xyz123", "--lines", "--report"}), "one\ntwo\n"));
  EXPECT_EQ(alice.wait(), 0) << alice.err();
  EXPECT_EQ(bob.wait(), 0) << bob.err();
  EXPECT_EQ(bob.out(), line + "one\ntwo\n");
  // One REPORT per line: "report: <Message-ID> 000 200 OK Byte-Range: 1-4/4".
  const std::regex report(R"(report: [a-z0-9]+ 000 200 OK Byte-Range: 1-4/4
report: [a-z0-9]+ 000 200 OK Byte-Range: 1-4/4
)");
  EXPECT_TRUE(std::regex_match(alice.out(), report)) << alice.out();
  EXPECT_EQ(alice.err(), "");
}

}  // namespace
}  // namespace msrpd::itest
