// Core limits an operator sets in the config: tcp_max_connections (and open_files_limit).

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace msrpd::itest {
namespace {

// Example 1.18 with extra global parameters after its first line.
std::string example18_with(const std::string& globals) {
  std::string cfg = read_file(source_path("examples/kamailio-1.18.cfg"));
  size_t nl = cfg.find('\n');
  cfg.insert(nl + 1, globals);
  char tmpl[] = "/tmp/msrpd-limits-XXXXXX.cfg";
  int fd = ::mkstemps(tmpl, 4);
  ::close(fd);
  std::ofstream(tmpl, std::ios::binary) << cfg;
  return tmpl;
}

// An AUTH without credentials: the relay answers 401 (the connection is served).
bool served(client::Client& c, const std::string& relay_uri, int n) {
  std::string me = "msrp://127.0.0.1:" + std::to_string(c.local_port()) + "/lim" + std::to_string(n) + ";tcp";
  std::string tid = "lim" + std::to_string(n) + "x0";
  if (!c.send(client::make_request(tid, "AUTH", relay_uri, me))) return false;
  auto f = c.read_frame(3000);
  return f && f->code == 401 && f->tid == tid;
}

TEST(TcpMaxConnections, ConnectionsBeyondTheLimitAreClosedAndServedAgainOnceOneCloses) {
  std::string cfg = example18_with("tcp_max_connections=3\nopen_files_limit=1024\n");
  Msrpd d;
  ASSERT_TRUE(d.start(cfg, {"-n", "2"})) << d.log();
  // The harness's readiness probe is one connection too: wait until its close was seen.
  std::vector<client::Client> open;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (open.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    client::Client c = d.connect();
    ASSERT_GE(c.fd(), 0);
    if (served(c, d.uri(), static_cast<int>(open.size())))
      open.push_back(std::move(c));
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(open.size(), 3u) << d.log();

  // The fourth is closed at once, without an answer.
  client::Client over = d.connect();
  ASSERT_GE(over.fd(), 0);
  EXPECT_TRUE(over.wait_closed(3000));
  EXPECT_EQ(over.pending(), 0u);
  // The three keep being served.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(served(open[static_cast<size_t>(i)], d.uri(), 10 + i));

  // One closes: a new connection is served again (as soon as the relay has seen the close).
  open[0].close();
  bool again = false;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (int n = 20; !again && std::chrono::steady_clock::now() < deadline; ++n) {
    client::Client c = d.connect();
    again = c.fd() >= 0 && served(c, d.uri(), n);
    if (again) open[0] = std::move(c);
  }
  EXPECT_TRUE(again) << d.log();
  EXPECT_NE(d.log().find("tcp_max_connections (3) reached"), std::string::npos) << d.log();
  ::unlink(cfg.c_str());
}

TEST(TcpMaxConnections, OpenFilesLimitAboveTheHardLimitIsAWarningNotAFailure) {
  std::string cfg = example18_with("open_files_limit=2000000000\n");
  Msrpd d;
  ASSERT_TRUE(d.start(cfg)) << d.log();
  client::Client c = d.connect();
  ASSERT_GE(c.fd(), 0);
  EXPECT_TRUE(served(c, d.uri(), 1));
  EXPECT_NE(d.log().find("open_files_limit 2000000000 is above the hard limit"), std::string::npos)
      << d.log();
  ::unlink(cfg.c_str());
}

}  // namespace
}  // namespace msrpd::itest
