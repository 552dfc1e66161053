#include "ctl/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "ctl/address.h"
#include "ctl/client.h"
#include "relay/cmap.h"

namespace msrpd::ctl {
namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(("timeout 10 " + cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

// Sends bytes on a fresh connection and reads until the server closes or 3 s pass.
std::string exchange(const std::string& address, const std::string& bytes, bool wait_close = true) {
  auto a = parse_ctl_address(address);
  auto fd = connect_ctl(*a, 2000);
  if (!fd) return "connect failed";
  timeval tv{3, 0};
  setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)::send(*fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(*fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (!wait_close) break;
  }
  ::close(*fd);
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("msrpd_ctl_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    sock_ = (dir_ / "ctl.sock").string();
    register_core_commands(reg_, {});
    register_msrp_commands(reg_, &map_);
    register_stats_commands(reg_, [this] { return StatsSnapshot{{"msrp:frames_in_send", frames_}}; });
    ControlConfig cfg;
    cfg.binrpc = {"unix:" + sock_, "tcp:127.0.0.1:0"};
    cfg.http = "127.0.0.1:0";
    cfg.metrics = [this] { return StatsSnapshot{{"msrp:frames_in_send", frames_}, {"cmap:entries", 2}}; };
    cfg.request_timeout = std::chrono::milliseconds(500);
    server_.start(cfg, reg_);
  }
  void TearDown() override {
    server_.stop();
    std::filesystem::remove_all(dir_);
  }
  void save_two_items() {
    for (int i = 1; i <= 2; ++i) {
      relay::CmapItem it;
      it.session_id = "session0000000000000" + std::to_string(i);
      it.peer = "msrp://client" + std::to_string(i) + ".example.com:7000/c" + std::to_string(i) + ";tcp";
      it.addr = "msrp://127.0.0.1:4000" + std::to_string(i);
      it.sock = "tcp:127.0.0.1:2855";
      it.conid = 10 + i;
      it.expires = std::chrono::system_clock::from_time_t(1800000000 + i);
      map_.save(it);
    }
  }
  std::string kamcmd(const std::string& args) {
    return run("/usr/sbin/kamcmd -s unix:" + sock_ + " " + args);
  }

  std::filesystem::path dir_;
  std::string sock_;
  Registry reg_;
  relay::ConnectionMap map_{2};
  int64_t frames_ = 0;
  ControlServer server_;
};

#define REQUIRE_KAMCMD()                                                                            \
  if (!std::filesystem::exists("/usr/sbin/kamcmd"))                                                 \
  GTEST_SKIP() << "/usr/sbin/kamcmd is not installed (apt-get install kamailio: scripts/packages, " \
                  "interop line)"

TEST_F(ServerTest, KamcmdCoreVersion) {
  REQUIRE_KAMCMD();
  EXPECT_EQ(kamcmd("core.version"), "msrpd 0.1.0 (x86_64/linux) \n");
}

TEST_F(ServerTest, KamcmdCmaplistWithTwoItems) {
  REQUIRE_KAMCMD();
  save_two_items();
  auto snap = map_.list();
  std::string want = "{\n\tMAP_SIZE: 4\n\tCONLIST: {\n";
  for (const auto& it : snap.items) {
    want += "\t\tCONDATA: {\n";
    want += "\t\t\tCITEMID: " + std::to_string(static_cast<int32_t>(it.citemid)) + "\n";
    want += "\t\t\tSESSIONID: " + it.session_id + "\n\t\t\tPEER: " + it.peer + "\n\t\t\tADDR: " + it.addr +
            "\n\t\t\tSOCK: " + it.sock + "\n";
    want += "\t\t\tEXPIRES: " + ctime_text(std::chrono::system_clock::to_time_t(it.expires)) + "\n";
    want += "\t\t\tCONID: " + std::to_string(it.conid) + "\n\t\t\tFLAGS: 0\n\t\t}\n";
  }
  want += "\t}\n\tCONCOUNT: 2\n}\n";
  ASSERT_EQ(snap.items.size(), 2u);
  EXPECT_EQ(kamcmd("msrp.cmaplist"), want);
}

TEST_F(ServerTest, KamcmdUptimeListMethodsAndFault) {
  REQUIRE_KAMCMD();
  std::string up = kamcmd("core.uptime");
  EXPECT_EQ(up.rfind("{\n\tnow: ", 0), 0u) << up;
  EXPECT_NE(up.find("\tup_since: "), std::string::npos);
  EXPECT_NE(up.find("\tuptime: 0\n}\n"), std::string::npos) << up;
  std::string lm = kamcmd("system.listMethods");
  EXPECT_EQ(lm.rfind("core.echo\ncore.ps\ncore.psx\ncore.uptime\ncore.version\nmsrp.cmaplist\n", 0), 0u)
      << lm;
  EXPECT_EQ(kamcmd("nosuch"), "error: 500 - command nosuch not found\n");
}

TEST_F(ServerTest, KamcmdOverTcp) {
  REQUIRE_KAMCMD();
  EXPECT_EQ(run("/usr/sbin/kamcmd -s " + server_.binrpc_addresses()[1] + " core.version"),
            "msrpd 0.1.0 (x86_64/linux) \n");
}

TEST_F(ServerTest, MsrpctlPrintsTableAndJson) {
  auto exe = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "apps/msrpctl";
  if (!std::filesystem::exists(exe)) GTEST_SKIP() << "msrpctl is not built at " << exe;
  save_two_items();
  auto snap = map_.list();
  std::string table = run(exe.string() + " -s unix:" + sock_ + " msrp.cmaplist");
  std::string first = snap.items[0].session_id + "  " + snap.items[0].peer;
  EXPECT_EQ(table.rfind("SESSIONID              PEER", 0), 0u) << table;
  EXPECT_NE(table.find(first), std::string::npos) << table;
  EXPECT_NE(table.find("\nCONCOUNT: 2  MAP_SIZE: 4\n"), std::string::npos) << table;
  EXPECT_EQ(run(exe.string() + " -s unix:" + sock_ + " --json core.version"),
            "\"msrpd 0.1.0 (x86_64/linux) \"\n");
  EXPECT_EQ(run(exe.string() + " -s unix:" + sock_ + " core.echo 5 s:5 x"), "5\n5\nx\n");
  EXPECT_EQ(run(exe.string() + " -s unix:" + sock_ + " nosuch"), "error: 500 - command nosuch not found\n");
}

TEST_F(ServerTest, GarbageGetsFaultAndServerKeepsServing) {
  std::string r = exchange("unix:" + sock_, "hello world\n");
  auto h = binrpc::Header{};
  ASSERT_EQ(binrpc::read_header(r, 1000, h), binrpc::HeaderStatus::Ok);
  auto rep = binrpc::decode_reply(h, std::string_view(r).substr(h.header_len));
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->is_fault);
  EXPECT_EQ(rep->fault_code, 400);
  EXPECT_EQ(rep->fault_message, "bad request: corrupted packet");
  // A well-framed request with bad records: a fault, and the same connection still answers.
  std::string bad = binrpc::encode_packet(0, 7, 4, std::string("\x0a\x0a", 2));
  std::string good = binrpc::encode_request(8, "core.version", {});
  std::string both = exchange("unix:" + sock_, bad + good, false);
  ASSERT_EQ(binrpc::read_header(both, 1000, h), binrpc::HeaderStatus::Ok);
  EXPECT_EQ(h.flags, 3);
  EXPECT_EQ(h.cookie, 7u);
  auto ok = binrpc_call("unix:" + sock_, "core.version", {});
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->values.size(), 1u);
  EXPECT_EQ(ok->values[0], Value::str("msrpd 0.1.0 (x86_64/linux) "));
}

TEST_F(ServerTest, JsonRpcOverHttp) {
  std::string body = R"({"jsonrpc":"2.0","method":"core.echo","params":[1,"a"],"id":7})";
  std::string r =
      exchange(server_.http_address(),
               "POST /RPC HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body);
  std::string want_body = R"({"id":7,"jsonrpc":"2.0","result":[1,"a"]})";
  EXPECT_EQ(r, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(want_body.size()) + "\r\nConnection: close\r\n\r\n" + want_body);
  std::string nf = R"({"jsonrpc":"2.0","method":"nosuch","id":"x"})";
  r = exchange(server_.http_address(),
               "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(nf.size()) + "\r\n\r\n" + nf);
  EXPECT_NE(r.find(R"({"error":{"code":-32601,"message":"Method not found"},"id":"x","jsonrpc":"2.0"})"),
            std::string::npos)
      << r;
  std::string fault =
      R"([{"jsonrpc":"2.0","method":"msrp.cmaplist","id":1},{"jsonrpc":"2.0","method":"core.version"}])";
  map_.save(relay::CmapItem{});
  r = exchange(server_.http_address(),
               "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(fault.size()) + "\r\n\r\n" + fault);
  EXPECT_NE(r.find(R"([{"id":1,"jsonrpc":"2.0","result":{"CONCOUNT":1,)"), std::string::npos) << r;
}

TEST_F(ServerTest, MetricsMoveWithTheCounters) {
  std::string get = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  std::string body1 =
      "# TYPE msrpd_frames_in_total counter\nmsrpd_frames_in_total{method=\"SEND\"} 0\n"
      "# TYPE msrpd_cmap_entries gauge\nmsrpd_cmap_entries 2\n";
  EXPECT_EQ(exchange(server_.http_address(), get),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: " +
                std::to_string(body1.size()) + "\r\nConnection: close\r\n\r\n" + body1);
  frames_ = 42;
  EXPECT_NE(exchange(server_.http_address(), get).find("msrpd_frames_in_total{method=\"SEND\"} 42\n"),
            std::string::npos);
}

TEST_F(ServerTest, MalformedHttpGets400AndServerKeepsServing) {
  EXPECT_EQ(exchange(server_.http_address(), "garbage\r\n\r\n").rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_EQ(
      exchange(
          server_.http_address(),
          "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: x\r\n\r\n")
          .rfind("HTTP/1.1 400 Bad Request\r\n", 0),
      0u);
  std::string bad_json = "{nope";
  std::string r = exchange(
      server_.http_address(),
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n" +
          bad_json);
  EXPECT_NE(r.find(R"({"error":{"code":-32700,"message":"Parse error"},"id":null,"jsonrpc":"2.0"})"),
            std::string::npos)
      << r;
  EXPECT_EQ(exchange(server_.http_address(),
                     "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     "application/json\r\nContent-Length: 99999999\r\n\r\n")
                .rfind("HTTP/1.1 413 ", 0),
            0u);
  EXPECT_EQ(exchange(server_.http_address(), "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                .rfind("HTTP/1.1 404 ", 0),
            0u);
  // An incomplete request times out with 408.
  EXPECT_EQ(exchange(server_.http_address(),
                     "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     "application/json\r\nContent-Length: 10\r\n\r\n{")
                .rfind("HTTP/1.1 408 ", 0),
            0u);
  EXPECT_EQ(exchange(server_.http_address(), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                .rfind("HTTP/1.1 200 OK\r\n", 0),
            0u);
}

TEST(ControlServer, BadAddressThrowsAtStart) {
  Registry reg;
  ControlServer s;
  ControlConfig cfg;
  cfg.binrpc = {"tcp:127.0.0.1:notaport"};
  EXPECT_THROW(s.start(cfg, reg), std::runtime_error);
}

}  // namespace
}  // namespace msrpd::ctl
