// The control layer wired into the real msrpd (docs/CONTROL.md): the seed's Example 1.18 config
// with its ctl module pointed at a private unix socket and an HTTP port, queried by Debian's
// kamcmd, by our msrpctl, and by raw JSON-RPC/HTTP and binrpc sockets.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "forwarded.h"
#include "harness.h"

namespace msrpd::itest {
namespace {

using client::Client;

const std::string kExample17 = source_path("examples/kamailio-1.17.cfg");
const std::string kExample18 = source_path("examples/kamailio-1.18.cfg");
const char* kKamcmd = "/usr/sbin/kamcmd";

// msrpctl is built next to msrpd: build-x/apps/msrpd -> build-x/apps/msrpctl.
std::string msrpctl_path() {
  std::string p = MSRPD_BINARY;
  return p.substr(0, p.rfind('/') + 1) + "msrpctl";
}

// Runs a program to completion (bounded); stdout and stderr apart.
struct Output {
  int code = -1;
  std::string out, err;
};
Output run_program(const std::vector<std::string>& argv, int timeout_s = 10) {
  char out_tmpl[] = "/tmp/msrpd-ctl-out-XXXXXX";
  char err_tmpl[] = "/tmp/msrpd-ctl-err-XXXXXX";
  int ofd = ::mkstemp(out_tmpl);
  int efd = ::mkstemp(err_tmpl);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(ofd, 1);
    ::dup2(efd, 2);
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    _exit(127);
  }
  ::close(ofd);
  ::close(efd);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Output o;
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.out = read_file(out_tmpl);
  o.err = read_file(err_tmpl);
  ::unlink(out_tmpl);
  ::unlink(err_tmpl);
  return o;
}

// Sends bytes on a connected socket and reads until the peer closes (or 5 s pass).
std::string exchange(int fd, std::string_view request) {
  std::string got;
  if (fd < 0) return got;
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  char buf[4096];
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

// "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" -> body.
std::string http_body(const std::string& response) {
  size_t p = response.find("\r\n\r\n");
  return p == std::string::npos ? std::string() : response.substr(p + 4);
}

// The session part of a Use-Path URI: msrp://127.0.0.1:5060/SESSION;tcp -> SESSION.
std::string session_of(const std::string& uri) {
  size_t slash = uri.rfind('/');
  size_t semi = uri.find(';', slash);
  return uri.substr(slash + 1, semi - slash - 1);
}

// kamcmd's indented output of msrp.cmaplist: the CONDATA blocks, each as field -> value, and
// the field names in the order printed.
struct Condata : std::map<std::string, std::string> {
  std::vector<std::string> order;
};
std::vector<Condata> kamcmd_condata(const std::string& out) {
  std::vector<Condata> items;
  std::istringstream in(out);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "\t\tCONDATA: {") {
      inside = true;
      items.emplace_back();
    } else if (inside && line == "\t\t}") {
      inside = false;
    } else if (inside && line.rfind("\t\t\t", 0) == 0) {
      size_t colon = line.find(": ");
      if (colon == std::string::npos) continue;
      items.back().order.push_back(line.substr(3, colon - 3));
      items.back()[line.substr(3, colon - 3)] = line.substr(colon + 2);
    }
  }
  return items;
}

// msrpd running a seed example, its ctl module on this test's own socket and HTTP port.
class CtlBase : public ::testing::Test {
 protected:
  virtual std::string example() const = 0;
  void SetUp() override {
    char tmpl[] = "/tmp/msrpd-ctl-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    sock_ = dir_ + "/ctl.sock";
    http_port_ = free_port();
    // The seed's config, with the ctl module pointed at this test's own socket and HTTP port.
    std::string cfg = read_file(example());
    const std::string load = "loadmodule \"ctl.so\"\n";
    size_t at = cfg.find(load);
    ASSERT_NE(at, std::string::npos);
    cfg.insert(at + load.size(), "modparam(\"ctl\", \"binrpc\", \"unix:" + sock_ +
                                     "\")\nmodparam(\"ctl\", \"http\", \"tcp:127.0.0.1:" +
                                     std::to_string(http_port_) + "\")\n");
    cfg_ = dir_ + "/msrpd.cfg";
    std::ofstream(cfg_) << cfg;
    ASSERT_TRUE(d_.start(cfg_, {"-n", "2"})) << d_.log();
    // The control threads start right after the relay's listeners.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    struct stat st {};
    while (::stat(sock_.c_str(), &st) != 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(::stat(sock_.c_str(), &st), 0) << d_.log();
  }
  void TearDown() override {
    d_.stop();
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
    ::unlink(cfg_.c_str());
    ::unlink(sock_.c_str());
    ::rmdir(dir_.c_str());
  }

  Receiver auth_receiver(const std::string& name) { return itest::auth_receiver(d_, name); }

  Output msrpctl(std::vector<std::string> args) {
    args.insert(args.begin(), {msrpctl_path(), "-s", "unix:" + sock_});
    return run_program(args);
  }
  std::string http(std::string_view request) { return exchange(connect_tcp(http_port_), request); }
  std::string rpc_post(const std::string& body) {
    return http(
        "POST /RPC HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  // stats.get_statistics NAME over JSON-RPC: the value, or -1.
  int64_t rpc_stat(const std::string& name) {
    std::string resp =
        rpc_post(R"({"jsonrpc":"2.0","id":7,"method":"stats.get_statistics","params":[")" + name + R"("]})");
    auto j = nlohmann::json::parse(http_body(resp), nullptr, false);
    if (j.is_discarded() || !j.contains("result") || !j["result"].is_array() || j["result"].size() != 1)
      return -1;
    std::string line = j["result"][0].get<std::string>();  // "msrp:frames_in_send = 3"
    std::string prefix = name + " = ";
    if (line.rfind(prefix, 0) != 0) return -1;
    return std::stoll(line.substr(prefix.size()));
  }
  // One sample of GET /metrics: the value of the line starting with `series `, or -1.
  int64_t metric(const std::string& series) {
    std::string body = http_body(http("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    std::istringstream in(body);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(series + " ", 0) == 0) return std::stoll(line.substr(series.size() + 1));
    return -1;
  }

  std::string dir_, sock_, cfg_;
  uint16_t http_port_ = 0;
  Msrpd d_;
};

class Ctl18 : public CtlBase {
  std::string example() const override { return kExample18; }
};
class Ctl17 : public CtlBase {
  std::string example() const override { return kExample17; }
};

TEST_F(Ctl18, KamcmdCmaplistShowsBothAuthedReceivers) {
  if (::access(kKamcmd, X_OK) != 0) GTEST_SKIP() << kKamcmd << " is not installed (apt-get install kamailio)";
  Receiver bob = auth_receiver("bob");
  Receiver carol = auth_receiver("carol");
  ASSERT_FALSE(bob.use_path.empty());
  ASSERT_FALSE(carol.use_path.empty());

  Output o = run_program({kKamcmd, "-s", "unix:" + sock_, "msrp.cmaplist"});
  ASSERT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_EQ(o.out.rfind("{\n\tMAP_SIZE: 256\n\tCONLIST: {\n", 0), 0u) << o.out;
  EXPECT_NE(o.out.find("\n\t}\n\tCONCOUNT: 2\n}\n"), std::string::npos) << o.out;
  auto items = kamcmd_condata(o.out);
  ASSERT_EQ(items.size(), 2u) << o.out;
  std::string sock = "tcp:127.0.0.1:" + std::to_string(d_.port());
  for (const Receiver* r : {&bob, &carol}) {
    std::string session = session_of(r->use_path);
    const Condata* item = nullptr;
    for (const auto& it : items)
      if (it.count("SESSIONID") && it.at("SESSIONID") == session) item = &it;
    ASSERT_NE(item, nullptr) << "no CONDATA for session " << session << ":\n" << o.out;
    EXPECT_EQ(item->at("PEER"), r->uri);
    EXPECT_EQ(item->at("ADDR"), "msrp://127.0.0.1:" + std::to_string(r->c.local_port()));
    EXPECT_EQ(item->at("SOCK"), sock);
    EXPECT_EQ(item->order, (std::vector<std::string>{"CITEMID", "SESSIONID", "PEER", "ADDR", "SOCK",
                                                     "EXPIRES", "CONID", "FLAGS"}))
        << o.out;
    // Expires 3600 s after the AUTH (the default auth_max_expires): ctime text, 24 characters.
    std::string expires = item->at("EXPIRES");
    EXPECT_EQ(expires.size(), 24u) << expires;
    bool near = false;
    for (time_t t = std::time(nullptr) + 3600 - 5; t <= std::time(nullptr) + 3600; ++t) {
      char text[32];
      near = near || expires + "\n" == ctime_r(&t, text);
    }
    EXPECT_TRUE(near) << "EXPIRES " << expires << " is not about an hour from now";
    // Ints are 32-bit on this wire: kamcmd shows the unsigned CITEMID hash as signed (Kamailio too).
    for (const char* number : {"CITEMID", "CONID", "FLAGS"}) {
      std::string v = item->at(number);
      if (!v.empty() && v[0] == '-') v.erase(0, 1);
      EXPECT_TRUE(!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) << number << "\n"
                                                                                        << o.out;
    }
  }
}

TEST_F(Ctl18, MsrpctlPrintsCmaplistAsTableAndJson) {
  Receiver bob = auth_receiver("bob");
  Receiver carol = auth_receiver("carol");
  std::string sock = "tcp:127.0.0.1:" + std::to_string(d_.port());

  Output t = msrpctl({"msrp.cmaplist"});
  ASSERT_EQ(t.code, 0) << t.out << t.err;
  EXPECT_EQ(t.out.rfind("SESSIONID", 0), 0u) << t.out;
  EXPECT_NE(t.out.find("\nCONCOUNT: 2  MAP_SIZE: 256\n"), std::string::npos) << t.out;
  for (const Receiver* r : {&bob, &carol}) {
    std::string session = session_of(r->use_path);
    size_t at = t.out.find("\n" + session + " ");
    ASSERT_NE(at, std::string::npos) << session << "\n" << t.out;
    std::string row = t.out.substr(at + 1, t.out.find('\n', at + 1) - at - 1);
    EXPECT_NE(row.find(" " + r->uri + " "), std::string::npos) << row;
    EXPECT_NE(row.find(" msrp://127.0.0.1:" + std::to_string(r->c.local_port()) + " "), std::string::npos)
        << row;
    EXPECT_NE(row.find(" " + sock + " "), std::string::npos) << row;
  }

  Output j = msrpctl({"--json", "msrp.cmaplist"});
  ASSERT_EQ(j.code, 0) << j.out << j.err;
  auto doc = nlohmann::json::parse(j.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << j.out;
  EXPECT_EQ(doc["MAP_SIZE"], 256);
  EXPECT_EQ(doc["CONCOUNT"], 2);
  const auto& list = doc["CONLIST"]["CONDATA"];
  ASSERT_TRUE(list.is_array()) << j.out;
  ASSERT_EQ(list.size(), 2u) << j.out;
  for (const Receiver* r : {&bob, &carol}) {
    std::string session = session_of(r->use_path);
    bool found = false;
    for (const auto& it : list) {
      if (it["SESSIONID"] != session) continue;
      found = true;
      EXPECT_EQ(it["PEER"], r->uri);
      EXPECT_EQ(it["ADDR"], "msrp://127.0.0.1:" + std::to_string(r->c.local_port()));
      EXPECT_EQ(it["SOCK"], sock);
    }
    EXPECT_TRUE(found) << session << "\n" << j.out;
  }
}

TEST_F(Ctl18, CorePsxListsMainWorkersAndControlThreads) {
  Output o = msrpctl({"--json", "core.psx"});
  ASSERT_EQ(o.code, 0) << o.out << o.err;
  auto doc = nlohmann::json::parse(o.out, nullptr, false);
  ASSERT_TRUE(doc.is_array()) << o.out;
  std::vector<std::string> dsc;
  for (const auto& p : doc) {
    dsc.push_back(p["DSC"].get<std::string>());
    EXPECT_GT(p["PID"].get<int64_t>(), 0) << o.out;
  }
  std::sort(dsc.begin(), dsc.end());
  EXPECT_EQ(dsc, (std::vector<std::string>{"ctl binrpc", "http", "main", "worker 0", "worker 1"})) << o.out;
  EXPECT_EQ(doc[0]["DSC"], "main");
  EXPECT_EQ(doc[0]["PID"], d_.pid());

  Output v = msrpctl({"core.version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("msrpd 0.1.0 (", 0), 0u) << v.out;
}

TEST_F(Ctl18, SendCountersMoveByExactlyFiveInJsonRpcAndMetrics) {
  Receiver bob = auth_receiver("bob");
  ASSERT_FALSE(bob.use_path.empty());
  const int64_t in0 = rpc_stat("msrp:frames_in_send");
  const int64_t out0 = rpc_stat("msrp:frames_out_send");
  const int64_t min0 = metric("msrpd_frames_in_total{method=\"SEND\"}");
  const int64_t mout0 = metric("msrpd_frames_out_total{method=\"SEND\"}");
  ASSERT_GE(in0, 0);
  ASSERT_GE(out0, 0);
  ASSERT_EQ(min0, in0);
  ASSERT_EQ(mout0, out0);

  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  for (int i = 0; i < 5; ++i) {
    std::string tid = "ctltx" + std::to_string(i);
    ASSERT_TRUE(
        alice.send(client::make_send(tid, bob.use_path + " " + bob.uri, alice_uri, "m" + tid, "hello")));
    auto ok = alice.read_frame();
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->code, 200);
    auto got = bob.c.read_frame();
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got->method, "SEND");
    // alice's i-th SEND, with a transaction id of the relay's (RFC 4976 §6.4).
    EXPECT_TRUE(testing::forwarded_as(got->raw, tid).starts_with("MSRP " + tid + " SEND\r\n")) << got->raw;
    EXPECT_EQ(got->header("Message-ID"), "m" + tid);
  }
  // The counters are bumped around the writes: allow them a moment, then demand exactly +5.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (rpc_stat("msrp:frames_out_send") < out0 + 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(rpc_stat("msrp:frames_in_send"), in0 + 5);
  EXPECT_EQ(rpc_stat("msrp:frames_out_send"), out0 + 5);
  EXPECT_EQ(metric("msrpd_frames_in_total{method=\"SEND\"}"), min0 + 5);
  EXPECT_EQ(metric("msrpd_frames_out_total{method=\"SEND\"}"), mout0 + 5);

  std::string full = http("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(full.rfind("HTTP/1.1 200 ", 0), 0u) << full;
  EXPECT_NE(full.find("# TYPE msrpd_frames_in_total counter\n"), std::string::npos) << full;
  EXPECT_NE(full.find("\nmsrpd_cmap_entries 1\n"), std::string::npos) << full;
}

TEST_F(Ctl18, MalformedBinrpcGetsFaultAndTheNextRequestIsAnswered) {
  // Not binrpc at all (bad magic): fault 400 "bad request: corrupted packet", connection closed.
  std::string reply = exchange(connect_unix(sock_), "GET / HTTP/1.0\r\n\r\n");
  EXPECT_FALSE(reply.empty());
  EXPECT_NE(reply.find("corrupted packet"), std::string::npos) << reply;

  // An unknown command: fault 500, msrpctl exits 1.
  Output f = msrpctl({"--json", "no.such_command"});
  EXPECT_EQ(f.code, 1) << f.out << f.err;
  auto fj = nlohmann::json::parse(f.out, nullptr, false);
  EXPECT_EQ(fj["error"]["code"], 500) << f.out;
  EXPECT_EQ(fj["error"]["message"], "command no.such_command not found") << f.out;

  Output ok = msrpctl({"core.echo", "s:still-here"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.out, "still-here\n");
}

TEST_F(Ctl18, MalformedHttpGetsErrorsAndTheNextRequestIsAnswered) {
  std::string bad = http("BLAH\r\n\r\n");
  EXPECT_EQ(bad.rfind("HTTP/1.1 400 ", 0), 0u) << bad;

  std::string parse_error = rpc_post("{\"jsonrpc\": \"2.0\", \"method\": ");
  EXPECT_EQ(parse_error.rfind("HTTP/1.1 200 ", 0), 0u) << parse_error;
  auto pe = nlohmann::json::parse(http_body(parse_error), nullptr, false);
  EXPECT_EQ(pe["error"]["code"], -32700) << parse_error;

  std::string unknown = rpc_post(R"({"jsonrpc":"2.0","id":3,"method":"no.such"})");
  auto uj = nlohmann::json::parse(http_body(unknown), nullptr, false);
  EXPECT_EQ(uj["error"]["code"], -32601) << unknown;
  EXPECT_EQ(uj["id"], 3) << unknown;

  std::string nf = http("GET /nothing-here HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(nf.rfind("HTTP/1.1 404 ", 0), 0u) << nf;

  std::string ok = rpc_post(R"({"jsonrpc":"2.0","id":4,"method":"core.version","params":[]})");
  auto oj = nlohmann::json::parse(http_body(ok), nullptr, false);
  ASSERT_FALSE(oj.is_discarded()) << ok;
  EXPECT_EQ(oj["id"], 4);
  EXPECT_EQ(oj["result"].get<std::string>().rfind("msrpd 0.1.0 (", 0), 0u) << ok;
}

TEST_F(Ctl18, ClosedReceiverLeavesCmaplist) {
  Receiver bob = auth_receiver("bob");
  Receiver carol = auth_receiver("carol");
  std::string gone = session_of(bob.use_path);
  std::string kept = session_of(carol.use_path);
  Output before = msrpctl({"msrp.cmaplist"});
  ASSERT_NE(before.out.find("\n" + gone + " "), std::string::npos) << before.out;

  bob.c.close();
  Output after;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    after = msrpctl({"msrp.cmaplist"});
    if (after.out.find("CONCOUNT: 1 ") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_NE(after.out.find("\nCONCOUNT: 1  MAP_SIZE: 256\n"), std::string::npos) << after.out;
  EXPECT_EQ(after.out.find(gone), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("\n" + kept + " "), std::string::npos) << after.out;
}

TEST_F(Ctl18, HtableCommandsAnswerNoSuchHtable) {
  // Example 1.18 defines no htable: the commands exist and say so.
  Output o = msrpctl({"--json", "htable.dump", "sessions"});
  EXPECT_EQ(o.code, 1) << o.out << o.err;
  auto j = nlohmann::json::parse(o.out, nullptr, false);
  EXPECT_EQ(j["error"]["code"], 500) << o.out;
  EXPECT_EQ(j["error"]["message"], "No such htable") << o.out;
}

// Example 1.17 keeps its sessions in htable "msrp": htable.dump/get/delete see and change them.
TEST_F(Ctl17, HtableCommandsShowAndDeleteTheScriptsSessions) {
  Receiver bob = auth_receiver("bob");
  ASSERT_FALSE(bob.use_path.empty());
  std::string session = session_of(bob.use_path);  // s.<pp>.<cnt>.<random>

  Output get = msrpctl({"--json", "htable.get", "msrp", session + "::srcsock"});
  ASSERT_EQ(get.code, 0) << get.out << get.err;
  auto g = nlohmann::json::parse(get.out, nullptr, false);
  ASSERT_FALSE(g.is_discarded()) << get.out;
  EXPECT_EQ(g["item"]["name"], session + "::srcsock") << get.out;
  EXPECT_EQ(g["item"]["value"], "tcp:127.0.0.1:" + std::to_string(d_.port())) << get.out;
  EXPECT_EQ(g["item"]["flags"], 2) << get.out;  // a string

  Output dump = msrpctl({"htable.dump", "msrp"});
  ASSERT_EQ(dump.code, 0) << dump.out << dump.err;
  EXPECT_NE(dump.out.find("name: " + session + "::srcaddr\n"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("name: " + session + "::srcsock\n"), std::string::npos) << dump.out;

  Output del = msrpctl({"htable.delete", "msrp", session + "::srcaddr"});
  EXPECT_EQ(del.code, 0) << del.out << del.err;
  EXPECT_EQ(del.out, "Ok. Key deleted.\n");
  Output again = msrpctl({"--json", "htable.delete", "msrp", session + "::srcaddr"});
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_EQ(nlohmann::json::parse(again.out, nullptr, false)["error"]["code"], 404) << again.out;

  // The route finds no address for the session any more: a SEND to it now gets 481.
  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  ASSERT_TRUE(alice.send(client::make_send("h17del1", bob.use_path + " " + bob.uri, alice_uri, "m1", "x")));
  auto f = alice.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->code, 481) << f->raw;
}

// A configured control address that cannot be bound stops msrpd at start-up, saying why.
TEST(CtlStartup, UnbindableBinrpcAddressExitsWith1) {
  char tmpl[] = "/tmp/msrpd-ctl-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string cfg = dir + "/msrpd.cfg";
  std::ofstream(cfg) << "loadmodule \"ctl.so\"\nloadmodule \"msrp.so\"\n"
                        "modparam(\"ctl\", \"binrpc\", \"unix:" +
                            dir +
                            "/no-such-dir/ctl.sock\")\n"
                            "event_route[msrp:frame-in] {\n  msrp_relay();\n}\n";
  RunResult r = run_msrpd({"-f", cfg, "-E", "-l", "tcp:127.0.0.1:" + std::to_string(free_port())});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("msrpd: ctl: listen unix:" + dir + "/no-such-dir/ctl.sock"), std::string::npos)
      << r.output;
  ::unlink(cfg.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace msrpd::itest
