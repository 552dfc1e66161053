#pragma once
// Integration-test harness: starts the real msrpd binary on loopback with a config, waits until it
// accepts connections, and stops it at the end of the test. Every wait is bounded.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "client/client.h"

namespace msrpd::itest {

// A TCP port that was free a moment ago (bound to port 0, read back, closed).
inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string source_path(const std::string& rel) {
  return std::string(MSRPD_SOURCE_DIR) + "/" + rel;
}

// One msrpd process. Start it with a config file and extra arguments; it listens on port().
class Msrpd {
 public:
  Msrpd() = default;
  Msrpd(const Msrpd&) = delete;
  Msrpd& operator=(const Msrpd&) = delete;
  // The log file stays in /tmp only when the test failed (to read it there).
  ~Msrpd() {
    stop();
    if (!log_path_.empty() && !::testing::Test::HasFailure()) ::unlink(log_path_.c_str());
  }

  // Starts `msrpd -f cfg -E -l tcp:127.0.0.1:PORT args...` and waits (up to 10 s) until the port
  // accepts connections. Returns false (with log() telling why) if it does not.
  bool start(const std::string& cfg, std::vector<std::string> args = {}, uint16_t port = 0) {
    port_ = port ? port : free_port();
    char tmpl[] = "/tmp/msrpd-itest-XXXXXX";
    int lfd = ::mkstemp(tmpl);
    log_path_ = tmpl;
    std::vector<std::string> argv = {MSRPD_BINARY, "-f", cfg,
                                     "-E",         "-l", "tcp:127.0.0.1:" + std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(lfd, 1);
      ::dup2(lfd, 2);
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      ::execv(cargv[0], cargv.data());
      _exit(127);
    }
    ::close(lfd);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto c = client::Client::connect("127.0.0.1", port_, 200)) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_status_ = status;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // SIGTERM, then SIGKILL after 5 s; returns the wait status.
  int stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      int status = 0;
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      exit_status_ = status;
      pid_ = -1;
    }
    return exit_status_;
  }

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_path_); }
  // Resident set size in KiB (from /proc), 0 when unknown.
  long rss_kib() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    }
    return 0;
  }
  client::Client connect() {
    auto c = client::Client::connect("127.0.0.1", port_);
    if (!c) return {};
    return std::move(*c);
  }
  std::string uri(std::string_view session = {}) const {
    std::string u = "msrp://127.0.0.1:" + std::to_string(port_);
    if (!session.empty()) u.append("/").append(session);
    return u + ";tcp";
  }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int exit_status_ = 0;
  std::string log_path_;
};

// Runs `msrpd args...` to completion (bounded), returning its exit code and output.
struct RunResult {
  int code = -1;
  std::string output;
};
inline RunResult run_msrpd(const std::vector<std::string>& args, int timeout_s = 20) {
  char tmpl[] = "/tmp/msrpd-run-XXXXXX";
  int lfd = ::mkstemp(tmpl);
  std::vector<std::string> argv = {MSRPD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(lfd, 1);
    ::dup2(lfd, 2);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    _exit(127);
  }
  ::close(lfd);
  RunResult r;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.output = read_file(tmpl);
  ::unlink(tmpl);
  return r;
}

// The URI a test client is known by at the relay: msrp://127.0.0.1:<its local port>/<name>;tcp.
inline std::string my_uri(const client::Client& c, const std::string& name) {
  return "msrp://127.0.0.1:" + std::to_string(c.local_port()) + "/" + name + ";tcp";
}

// A receiver that AUTHed (with Example 1.18's password): its client, its own URI and the relay's
// Use-Path URI for it.
struct Receiver {
  client::Client c;
  std::string uri;
  std::string use_path;
};
inline Receiver auth_receiver(Msrpd& d, const std::string& name) {
  Receiver r;
  r.c = d.connect();
  r.uri = my_uri(r.c, name);
  auto a = client::authenticate(r.c, d.uri(), r.uri, name, "xyz123");
  EXPECT_TRUE(a) << (a ? "" : a.error().message);
  if (!a) return r;
  EXPECT_EQ(a->answer.code, 200) << a->answer.raw;
  EXPECT_EQ(a->use_path.size(), 1u) << a->answer.raw;
  if (!a->use_path.empty()) r.use_path = a->use_path[0];
  return r;
}

}  // namespace msrpd::itest
