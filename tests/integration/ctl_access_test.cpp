// Who may use the control plane (docs/CONTROL.md "Access"), against the real msrpd: the JSON-RPC
// token, Host/Origin/Content-Type checks that keep a browser page out, the refusals at start of a
// listener other hosts could reach, the read-only metrics listener, idle clients that cannot lock
// others out, and the unix socket that is never shared with a live instance.
#include <gtest/gtest.h>

#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <filesystem>

#include "harness.h"

namespace msrpd::itest {
namespace {

const std::string kExample17 = source_path("examples/kamailio-1.17.cfg");

std::string msrpctl_path() {
  std::string p = MSRPD_BINARY;
  return p.substr(0, p.rfind('/') + 1) + "msrpctl";
}

int connect_tcp(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int connect_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends a request and reads until the server closes (at most 5 s).
std::string http(uint16_t port, const std::string& request) {
  int fd = connect_tcp(port);
  std::string got;
  if (fd < 0) return got;
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  char buf[8192];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return got;
}

// A JSON-RPC POST with the given extra header lines (each ending in \r\n).
std::string rpc(uint16_t port, const std::string& method, const std::string& params,
                const std::string& headers, const std::string& content_type = "application/json") {
  std::string body = R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}";
  return http(port, "POST /RPC HTTP/1.1\r\n" + headers + "Content-Type: " + content_type +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

std::string body_of(const std::string& response) {
  size_t p = response.find("\r\n\r\n");
  return p == std::string::npos ? std::string() : response.substr(p + 4);
}

// "ctl:refused_token = 3" in a stats.get_statistics reply -> 3; -1 when absent.
int64_t stat_in(const std::string& reply, const std::string& name) {
  std::string key = name + " = ";
  size_t at = reply.find(key);
  if (at == std::string::npos) return -1;
  return std::atoll(reply.c_str() + at + key.size());
}

struct Ran {
  int code = -1;
  std::string out;
  double seconds = 0;
};
Ran run(const std::vector<std::string>& argv, int timeout_s = 10) {
  auto t0 = std::chrono::steady_clock::now();
  std::string cmd = "timeout " + std::to_string(timeout_s);
  for (const auto& a : argv) cmd += " '" + a + "'";
  cmd += " 2>&1";
  Ran r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

class CtlAccess : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/msrpd-ctlacc-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    sock_ = dir_ + "/ctl.sock";
    http_port_ = free_port();
  }
  void TearDown() override {
    d_.stop();
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Example 1.17 with these ctl modparams right after loadmodule "ctl.so"; the line number of
  // the first of them in the written file.
  int write_config(const std::vector<std::string>& ctl_lines, const std::string& name = "msrpd.cfg") {
    std::string cfg = read_file(kExample17);
    const std::string load = "loadmodule \"ctl.so\"\n";
    size_t at = cfg.find(load);
    EXPECT_NE(at, std::string::npos);
    int line = 1 + static_cast<int>(std::count(cfg.begin(), cfg.begin() + static_cast<long>(at), '\n')) + 1;
    std::string add;
    for (const auto& l : ctl_lines) add += l + "\n";
    cfg.insert(at + load.size(), add);
    cfg_ = dir_ + "/" + name;
    std::ofstream(cfg_) << cfg;
    return line;
  }
  std::string binrpc_line() const { return "modparam(\"ctl\", \"binrpc\", \"unix:" + sock_ + "\")"; }
  std::string http_line() const {
    return "modparam(\"ctl\", \"http\", \"tcp:127.0.0.1:" + std::to_string(http_port_) + "\")";
  }
  void start(const std::vector<std::string>& ctl_lines) {
    write_config(ctl_lines);
    ASSERT_TRUE(d_.start(cfg_, {"-n", "1"})) << d_.log();
    wait_for_socket();
  }
  void wait_for_socket() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    struct stat st {};
    while (::stat(sock_.c_str(), &st) != 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(::stat(sock_.c_str(), &st), 0) << d_.log();
  }
  Ran msrpctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {msrpctl_path(), "-s", "unix:" + sock_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
  std::string host() const { return "Host: 127.0.0.1:" + std::to_string(http_port_) + "\r\n"; }

  std::string dir_, sock_, cfg_;
  uint16_t http_port_ = 0;
  Msrpd d_;
};

const std::string kToken = "Xk3v9-control-token-0123456789";

TEST_F(CtlAccess, JsonRpcNeedsTheBearerToken) {
  start({binrpc_line(), http_line(), "modparam(\"ctl\", \"http_token\", \"" + kToken + "\")"});
  std::string none = rpc(http_port_, "core.version", "[]", host());
  EXPECT_EQ(none,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"msrpd\"\r\nContent-Type: "
            "text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nUnauthorized\n");
  std::string wrong =
      rpc(http_port_, "core.version", "[]", host() + "Authorization: Bearer " + kToken + "x\r\n");
  EXPECT_EQ(
      wrong,
      "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"msrpd\", error=\"invalid_token\"\r\n"
      "Content-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nUnauthorized\n");
  std::string basic =
      rpc(http_port_, "core.version", "[]", host() + "Authorization: Basic " + kToken + "\r\n");
  EXPECT_EQ(basic.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << basic;
  // /metrics on the RPC listener needs it too.
  std::string metrics = http(http_port_, "GET /metrics HTTP/1.1\r\n" + host() + "\r\n");
  EXPECT_EQ(metrics.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << metrics;

  std::string auth = "Authorization: Bearer " + kToken + "\r\n";
  std::string ok = rpc(http_port_, "core.version", "[]", host() + auth);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", 0), 0u) << ok;
  EXPECT_NE(body_of(ok).find(R"("result":"msrpd )"), std::string::npos) << ok;
  std::string st = rpc(http_port_, "stats.get_statistics", R"(["ctl:"])", host() + auth);
  EXPECT_EQ(stat_in(st, "ctl:refused_token"), 4) << st;
  EXPECT_NE(d_.log().find("refused (ctl_token): POST /RPC from 127.0.0.1:"), std::string::npos) << d_.log();
}

TEST_F(CtlAccess, BrowserRequestsAreRefusedAndChangeNothing) {
  start({binrpc_line(), http_line()});
  std::string set = rpc(http_port_, "htable.sets", R"(["msrp","victim","v1"])", host());
  ASSERT_NE(set.find("Ok. Key set to new value."), std::string::npos) << set;

  // A page on another site POSTing to the loopback listener: its Origin is its own.
  std::string cross =
      rpc(http_port_, "htable.delete", R"(["msrp","victim"])", host() + "Origin: http://evil.example\r\n");
  EXPECT_EQ(cross,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: "
            "close\r\n\r\nForbidden\n");
  std::string null_origin =
      rpc(http_port_, "htable.delete", R"(["msrp","victim"])", host() + "Origin: null\r\n");
  EXPECT_EQ(null_origin.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << null_origin;
  // The form-like request a page may send without a CORS preflight.
  std::string plain = rpc(http_port_, "htable.delete", R"(["msrp","victim"])", host(), "text/plain");
  EXPECT_EQ(plain,
            "HTTP/1.1 415 Unsupported Media Type\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n"
            "Connection: close\r\n\r\nUnsupported Media Type\n");
  // DNS rebinding: a foreign name resolving to 127.0.0.1.
  std::string rebound = rpc(http_port_, "htable.delete", R"(["msrp","victim"])",
                            "Host: evil.example:" + std::to_string(http_port_) + "\r\n");
  EXPECT_EQ(rebound.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << rebound;
  std::string wrong_port = rpc(http_port_, "htable.delete", R"(["msrp","victim"])", "Host: 127.0.0.1:1\r\n");
  EXPECT_EQ(wrong_port.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << wrong_port;

  std::string get = rpc(http_port_, "htable.get", R"(["msrp","victim"])", host());
  EXPECT_NE(body_of(get).find(R"("value":"v1")"), std::string::npos) << get;
  // Same origin, localhost: allowed.
  std::string same = rpc(http_port_, "htable.get", R"(["msrp","victim"])",
                         "Host: localhost:" + std::to_string(http_port_) +
                             "\r\nOrigin: http://localhost:" + std::to_string(http_port_) + "\r\n");
  EXPECT_NE(body_of(same).find(R"("value":"v1")"), std::string::npos) << same;

  std::string st = rpc(http_port_, "stats.get_statistics", R"(["ctl:"])", host());
  EXPECT_EQ(stat_in(st, "ctl:refused_origin"), 2) << st;
  EXPECT_EQ(stat_in(st, "ctl:refused_content_type"), 1) << st;
  EXPECT_EQ(stat_in(st, "ctl:refused_host"), 2) << st;
  std::string metrics = http(http_port_, "GET /metrics HTTP/1.1\r\n" + host() + "\r\n");
  EXPECT_NE(metrics.find("\nmsrpd_ctl_refused_origin_total 2\n"), std::string::npos) << metrics;
}

TEST_F(CtlAccess, NonLoopbackListenersWithoutProtectionStopTheStart) {
  int line = write_config(
      {binrpc_line(), "modparam(\"ctl\", \"http\", \"tcp:0.0.0.0:" + std::to_string(http_port_) + "\")"});
  RunResult r = run_msrpd({"-f", cfg_, "-E", "-l", "tcp:127.0.0.1:" + std::to_string(free_port())});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find(cfg_ + ":" + std::to_string(line + 1) + ":17: ctl: JSON-RPC on tcp:0.0.0.0:" +
                          std::to_string(http_port_) + " can be reached from other hosts without a token"),
            std::string::npos)
      << r.output;

  uint16_t bport = free_port();
  line = write_config(
      {"modparam(\"ctl\", \"binrpc\", \"tcp:0.0.0.0:" + std::to_string(bport) + "\")", http_line()});
  r = run_msrpd({"-f", cfg_, "-E", "-l", "tcp:127.0.0.1:" + std::to_string(free_port())});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find(cfg_ + ":" + std::to_string(line) + ":17: ctl: binrpc on tcp:0.0.0.0:" +
                          std::to_string(bport) + " can be reached from other hosts"),
            std::string::npos)
      << r.output;

  // Each explicitly allowed: the daemon starts and answers.
  write_config({"modparam(\"ctl\", \"binrpc\", \"tcp:0.0.0.0:" + std::to_string(bport) + "\")",
                "modparam(\"ctl\", \"binrpc_allow_remote\", 1)",
                "modparam(\"ctl\", \"http\", \"tcp:0.0.0.0:" + std::to_string(http_port_) + "\")",
                "modparam(\"ctl\", \"http_token\", \"" + kToken + "\")"});
  ASSERT_TRUE(d_.start(cfg_, {"-n", "1"})) << d_.log();
  Ran v = run({msrpctl_path(), "-s", "tcp:127.0.0.1:" + std::to_string(bport), "core.version"});
  EXPECT_EQ(v.code, 0) << v.out;
  std::string ok = rpc(http_port_, "core.version", "[]", host() + "Authorization: Bearer " + kToken + "\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
}

TEST_F(CtlAccess, MetricsListenerIsReadOnlyAndNeedsNoToken) {
  uint16_t mport = free_port();
  start({binrpc_line(), http_line(), "modparam(\"ctl\", \"http_token\", \"" + kToken + "\")",
         "modparam(\"ctl\", \"metrics\", \"tcp:127.0.0.1:" + std::to_string(mport) + "\")"});
  ASSERT_EQ(msrpctl({"htable.sets", "msrp", "kept", "v"}).code, 0);
  std::string m = http(mport, "GET /metrics HTTP/1.1\r\nHost: scraper.example\r\n\r\n");
  EXPECT_EQ(m.rfind("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n", 0), 0u)
      << m;
  EXPECT_NE(m.find("\nmsrpd_ctl_refused_token_total 0\n"), std::string::npos) << m;
  std::string h = http(mport, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(
      h, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nOK\n");
  // No RPC there, with or without the token.
  std::string del = rpc(mport, "htable.delete", R"(["msrp","kept"])",
                        "Host: 127.0.0.1\r\nAuthorization: Bearer " + kToken + "\r\n");
  EXPECT_EQ(del.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << del;
  std::string root = rpc(mport, "htable.delete", R"(["msrp","kept"])", "Host: 127.0.0.1\r\n");
  EXPECT_EQ(root.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << root;
  Ran get = msrpctl({"htable.get", "msrp", "kept"});
  EXPECT_NE(get.out.find("value: v"), std::string::npos) << get.out;
}

// Many idle clients of one address: each new one pushes out the least recently active of that
// address (max_client_connections), so a real client is served at once.
TEST_F(CtlAccess, HundredIdleBinrpcConnectionsDoNotLockOutAClient) {
  start({binrpc_line(), http_line()});
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) idle.push_back(connect_unix(sock_));
  for (int fd : idle) ASSERT_GE(fd, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the server accept them all
  Ran v = msrpctl({"core.version"});
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_EQ(v.out.rfind("msrpd ", 0), 0u) << v.out;
  EXPECT_LT(v.seconds, 2.0);
  std::string st = rpc(http_port_, "stats.get_statistics", R"(["ctl:evicted"])", host());
  EXPECT_EQ(stat_in(st, "ctl:evicted"), 100 - 8 + 1) << st;  // 8 per client (uid) by default
  for (int fd : idle) ::close(fd);
}

// The global limit alone (every client its own address would look the same): the least recently
// active connection goes.
TEST_F(CtlAccess, HundredIdleHttpConnectionsDoNotBreakMetrics) {
  start({binrpc_line(), http_line(), "modparam(\"ctl\", \"max_client_connections\", 1000)"});
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) idle.push_back(connect_tcp(http_port_));
  for (int fd : idle) ASSERT_GE(fd, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t0 = std::chrono::steady_clock::now();
  std::string m = http(http_port_, "GET /metrics HTTP/1.1\r\n" + host() + "\r\n");
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(m.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << m;
  EXPECT_LT(took, 2.0);
  // 100 idle + this one over 64 pushed out 37 (then this one closed: the stats request fits).
  std::string st = rpc(http_port_, "stats.get_statistics", R"(["ctl:evicted"])", host());
  EXPECT_EQ(stat_in(st, "ctl:evicted"), 100 + 1 - 64) << st;
  for (int fd : idle) ::close(fd);
}

TEST_F(CtlAccess, IdleAndSlowClientsAreClosedAfterTheirTimeouts) {
  start({binrpc_line(), http_line(), "modparam(\"ctl\", \"idle_timeout\", 200)",
         "modparam(\"ctl\", \"request_timeout\", 400)"});
  int idle = connect_unix(sock_);
  int slow = connect_tcp(http_port_);
  ASSERT_GE(idle, 0);
  ASSERT_GE(slow, 0);
  auto t0 = std::chrono::steady_clock::now();
  // The slow one sends a byte every 100 ms (never idle 200 ms): request_timeout ends it.
  std::string got;
  bool idle_closed = false;
  const std::string req = "GET /metrics HTTP/1.1\r\n";
  for (size_t i = 0; std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3); ++i) {
    if (i < req.size()) (void)::send(slow, req.data() + i, 1, MSG_NOSIGNAL);
    pollfd p[2] = {{slow, POLLIN, 0}, {idle, POLLIN, 0}};
    ::poll(p, idle_closed ? 1 : 2, 100);
    char buf[512];
    if (!idle_closed && (p[1].revents & (POLLIN | POLLHUP)))
      idle_closed = ::recv(idle, buf, sizeof buf, 0) == 0;
    if (p[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = ::recv(slow, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(idle_closed);
  EXPECT_EQ(got.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << got;
  EXPECT_LT(took, 1.5);
  ::close(idle);
  ::close(slow);
  std::string st = rpc(http_port_, "stats.get_statistics", R"(["ctl:timeouts"])", host());
  EXPECT_EQ(stat_in(st, "ctl:timeouts"), 2) << st;
}

TEST_F(CtlAccess, SecondDaemonOnTheSameSocketIsRefusedAndTheFirstKeepsAnswering) {
  start({binrpc_line(), http_line()});
  struct stat before {};
  ASSERT_EQ(::stat(sock_.c_str(), &before), 0);
  write_config(
      {binrpc_line(), "modparam(\"ctl\", \"http\", \"tcp:127.0.0.1:" + std::to_string(free_port()) + "\")"},
      "second.cfg");
  RunResult r = run_msrpd({"-f", cfg_, "-E", "-l", "tcp:127.0.0.1:" + std::to_string(free_port())});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("ctl: listen unix:" + sock_ + ": a running process answers on this control socket"),
            std::string::npos)
      << r.output;
  struct stat after {};
  ASSERT_EQ(::stat(sock_.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  Ran v = msrpctl({"core.version"});
  EXPECT_EQ(v.code, 0) << v.out;
}

TEST_F(CtlAccess, StaleSocketIsReplacedAndRemovedAtExit) {
  // A socket file nobody listens on (a daemon killed with SIGKILL leaves one).
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, sock_.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(fd);
  struct stat stale {};
  ASSERT_EQ(::stat(sock_.c_str(), &stale), 0);
  start({binrpc_line(), http_line()});
  struct stat now {};
  ASSERT_EQ(::stat(sock_.c_str(), &now), 0);
  EXPECT_NE(now.st_ino, stale.st_ino);
  EXPECT_EQ(msrpctl({"core.version"}).code, 0);
  d_.stop();
  EXPECT_NE(::stat(sock_.c_str(), &now), 0);  // its own socket, removed
}

TEST_F(CtlAccess, ModeAndOwnerAreAppliedBeforeTheSocketIsReachable) {
  bool root = ::geteuid() == 0;
  std::vector<std::string> lines = {binrpc_line(), http_line(), "modparam(\"ctl\", \"mode\", 0660)"};
  if (root) lines.push_back("modparam(\"ctl\", \"user\", \"nobody\")");
  start(lines);
  struct stat st {};
  ASSERT_EQ(::stat(sock_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  if (root) {
    passwd* pw = ::getpwnam("nobody");
    ASSERT_NE(pw, nullptr);
    EXPECT_EQ(st.st_uid, pw->pw_uid);
  }
  // Nothing left under the private name it was bound at.
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace msrpd::itest
