// msrpcat: netcat for MSRP. One program, two modes, to try a relay by hand or from scripts
// (docs/msrpcat.md):
//
//   msrpcat --relay msrp://127.0.0.1:2855;tcp --user bob --password xyz123 --listen [--count N]
//       AUTHs to the relay (RFC 4976 §5.1), prints "session: <Use-Path> <own URI>" (the To-Path a
//       sender must use), then writes the body of every message it receives to stdout.
//   echo hi | msrpcat --relay msrp://127.0.0.1:2855;tcp --to "session: msrp://... msrp://..."
//       sends stdin (or --message) as one message, in 2048-byte chunks (RFC 4975 §7.1.1), and waits
//       for the 200 of every chunk.
//
// Exit codes: 0 success, 1 protocol or network failure, 2 usage error.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"
#include "common/ascii.h"
#include "common/host_port.h"
#include "msrp/headers.h"
#include "msrp/status.h"
#include "msrp/uri.h"

namespace {

using msrpd::client::Client;
using msrpd::client::random_id;
using msrpd::client::ReceivedFrame;
using msrpd::msrp::code_of;
using msrpd::msrp::Status;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char* kHelp =
    "usage: msrpcat --relay URI --listen --user USER --password PW [options]   (receive)\n"
    "       msrpcat --relay URI --to PATH [--message TEXT] [options]          (send)\n"
    "\n"
    "netcat for MSRP (RFC 4975/4976): try an MSRP relay such as msrpd by hand or from scripts.\n"
    "\n"
    "Common options:\n"
    "  --relay URI           the relay to connect to, e.g. msrp://127.0.0.1:2855;tcp\n"
    "                        (\";tcp\" may be left out; msrps is not supported yet)\n"
    "  --user USER           AUTH to the relay (RFC 4976 digest) as USER; required with --listen\n"
    "  --password PW         the digest password (or the MSRPCAT_PASSWORD environment variable)\n"
    "  --expires SECONDS     ask for this AUTH lifetime (Expires header); default: none\n"
    "  --timeout SECONDS     longest wait for the relay or a peer (default 10; --listen: none)\n"
    "  -v, --verbose         print the start line of every frame sent (>) and received (<) to stderr\n"
    "  -h, --help            this text\n"
    "\n"
    "Receive mode (--listen):\n"
    "  prints \"session: <Use-Path URIs> <own URI>\" on the first line of stdout (the To-Path a sender\n"
    "  uses with --to), then the body of every message received, chunks reassembled by Byte-Range.\n"
    "  Each SEND is answered with 200 OK (none with Failure-Report: no or partial); a REPORT is\n"
    "  sent back when the SEND asks for Success-Report: yes.\n"
    "  --count N             exit 0 after N whole messages (exit 1 if the relay closes or --timeout\n"
    "                        passes first)\n"
    "  --session-file PATH   write the session line to PATH instead of stdout\n"
    "  --timeout SECONDS     exit after this long without any frame (0 when --count is not given)\n"
    "\n"
    "Send mode (--to):\n"
    "  --to PATH             the receiver's session line (the leading \"session:\" is optional): the\n"
    "                        relay's session URI and the receiver's URI, space-separated\n"
    "  --message TEXT        send TEXT instead of reading stdin\n"
    "  --lines               send every line of stdin as its own message, as it is read\n"
    "  --content-type TYPE   default text/plain\n"
    "  --chunk-size N        largest body per SEND (default 2048); longer messages are chunked\n"
    "  --report              ask for Success-Report: yes and print the REPORT(s) to stdout\n"
    "  --no-use-path         with --user: do not put our own Use-Path in front of --to\n"
    "  exits 0 when every chunk got 200 OK; otherwise prints the status line to stderr, exits 1.\n"
    "\n"
    "Exit codes: 0 success, 1 protocol or network failure, 2 usage error.\n";

struct Options {
  std::string relay;
  std::string user;
  std::string password;
  bool have_password = false;
  int expires = -1;
  int timeout_ms = -1;  // -1: the mode's default
  bool verbose = false;
  // receive
  bool listen = false;
  long count = -1;
  std::string session_file;
  // send
  std::string to;
  bool have_to = false;
  std::string message;
  bool have_message = false;
  bool lines = false;
  std::string content_type = "text/plain";
  size_t chunk_size = 2048;
  bool report = false;
  bool no_use_path = false;
};

// A failure: one line on stderr, the exit code to return.
int fail(int code, const std::string& what) {
  std::fprintf(stderr, "msrpcat: %s\n", what.c_str());
  return code;
}

int usage_error(const std::string& what) {
  std::fprintf(stderr, "msrpcat: %s\nTry 'msrpcat --help'.\n", what.c_str());
  return kExitUsage;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_seconds(std::string_view s, int& ms) {
  char* end = nullptr;
  std::string text(s);
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= 0) || v > 86400.0 * 365) return false;
  ms = static_cast<int>(v * 1000);
  return true;
}

// Returns -1 to go on, or the exit code (help or a usage error).
int parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kHelp, stdout);
      return kExitOk;
    }
    if (a == "-v" || a == "--verbose") {
      o.verbose = true;
      continue;
    }
    if (a == "--listen" || a == "-l") {
      o.listen = true;
      continue;
    }
    if (a == "--lines") {
      o.lines = true;
      continue;
    }
    if (a == "--report") {
      o.report = true;
      continue;
    }
    if (a == "--no-use-path") {
      o.no_use_path = true;
      continue;
    }
    // The options with a value: "--name VALUE" or "--name=VALUE".
    std::string name(a), value;
    bool has_value = false;
    if (size_t eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    static const std::set<std::string> kWithValue = {
        "--relay", "--user",    "--password",     "--expires",    "--timeout",     "--count",
        "--to",    "--message", "--content-type", "--chunk-size", "--session-file"};
    if (!kWithValue.count(name)) return usage_error("unknown option '" + std::string(a) + "'");
    if (!has_value) {
      if (i + 1 >= argc) return usage_error(name + " needs a value");
      value = argv[++i];
    }
    if (name == "--relay") {
      o.relay = value;
    } else if (name == "--user") {
      o.user = value;
    } else if (name == "--password") {
      o.password = value;
      o.have_password = true;
    } else if (name == "--expires") {
      if (!parse_number(value, o.expires) || o.expires < 0)
        return usage_error("--expires wants a number of seconds, not '" + value + "'");
    } else if (name == "--timeout") {
      if (!parse_seconds(value, o.timeout_ms))
        return usage_error("--timeout wants a number of seconds, not '" + value + "'");
    } else if (name == "--count") {
      if (!parse_number(value, o.count) || o.count <= 0)
        return usage_error("--count wants a positive number, not '" + value + "'");
    } else if (name == "--to") {
      o.to = value;
      o.have_to = true;
    } else if (name == "--message") {
      o.message = value;
      o.have_message = true;
    } else if (name == "--content-type") {
      if (value.empty() || value.find_first_of("\r\n") != std::string::npos)
        return usage_error("bad --content-type '" + value + "'");
      o.content_type = value;
    } else if (name == "--chunk-size") {
      if (!parse_number(value, o.chunk_size) || o.chunk_size == 0)
        return usage_error("--chunk-size wants a positive number, not '" + value + "'");
    } else if (name == "--session-file") {
      o.session_file = value;
    }
  }
  if (o.relay.empty()) return usage_error("--relay URI is required");
  if (o.listen == o.have_to) return usage_error("say either --listen (receive) or --to PATH (send)");
  if (!o.have_password) {
    if (const char* env = std::getenv("MSRPCAT_PASSWORD")) {
      o.password = env;
      o.have_password = true;
    }
  }
  if (o.listen && o.user.empty()) return usage_error("--listen needs --user (the relay's AUTH)");
  if (!o.user.empty() && !o.have_password) return usage_error("--user needs --password");
  if (o.listen && (o.have_message || o.lines || o.report))
    return usage_error("--message, --lines and --report are for send mode (--to)");
  if (!o.listen && (o.count > 0 || !o.session_file.empty()))
    return usage_error("--count and --session-file are for receive mode (--listen)");
  if (o.have_message && o.lines) return usage_error("--message and --lines exclude each other");
  if (o.timeout_ms < 0) o.timeout_ms = o.listen ? 0 : 10000;
  if (!o.listen && o.timeout_ms == 0) return usage_error("--timeout must be above 0 in send mode");
  return -1;
}

// The relay: its URI as given (the To-Path of AUTH) and where to connect.
struct RelayTarget {
  std::string uri;
  std::string host;
  uint16_t port = 2855;
};

// Returns an error text when the URI is not one msrpcat can use.
std::string check_relay_uri(const std::string& given, RelayTarget& t) {
  std::string text = given;
  auto u = msrpd::msrp::parse_uri(text);
  if (!u && text.find(';') == std::string::npos) {  // "msrp://host:port": the transport is implied
    auto with_tcp = msrpd::msrp::parse_uri(text + ";tcp");
    if (with_tcp) {
      text += ";tcp";
      u = msrpd::msrp::parse_uri(text);
    }
  }
  if (!u) return "bad relay URI '" + given + "': " + u.error().message;
  if (u->secure) return "msrps not supported yet: use an msrp://...;tcp relay URI";
  if (!msrpd::ascii::iequals(u->transport, "tcp"))
    return "bad relay URI '" + text + "': transport must be tcp";
  t.uri = text;
  t.host = std::string(u->host);
  if (u->has_port) t.port = u->port;
  return {};
}

msrpd::Result<Client> connect_relay(const RelayTarget& t, int timeout_ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(t.host.c_str(), nullptr, &hints, &res);
  if (rc != 0) return msrpd::make_error(0, "cannot resolve " + t.host + ": " + ::gai_strerror(rc));
  std::string last_error;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    char ip[NI_MAXHOST];
    if (::getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof ip, nullptr, 0, NI_NUMERICHOST) != 0) continue;
    auto c = Client::connect(ip, t.port, timeout_ms);
    if (c) {
      ::freeaddrinfo(res);
      return c;
    }
    last_error = c.error().message;
  }
  ::freeaddrinfo(res);
  return msrpd::make_error(0, "cannot connect to the relay: " + last_error);
}

// Our own URI on that connection: msrp://ip:port/<random session>;tcp.
std::string own_uri(const Client& c) {
  std::string uri = "msrp://";
  msrpd::append_host(uri, c.local_ip());
  uri.push_back(':');
  msrpd::append_port(uri, c.local_port());
  return uri + "/" + random_id(12) + ";tcp";
}

std::string start_line(std::string_view raw) {
  return std::string(raw.substr(0, raw.find("\r\n")));
}

// The connection with the verbose trace.
struct Peer {
  Client c;
  bool verbose = false;

  msrpd::Result<void> send(std::string_view frame, int timeout_ms) {
    if (verbose) std::fprintf(stderr, "> %s\n", start_line(frame).c_str());
    return c.send(frame, timeout_ms > 0 ? timeout_ms : 60000);
  }
  void trace(const ReceivedFrame& f) {
    if (verbose) std::fprintf(stderr, "< %s\n", start_line(f.raw).c_str());
  }
};

std::vector<std::string> split_path(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_of(" \t\r\n", i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string join_path(const std::vector<std::string>& uris) {
  std::string out;
  for (const auto& u : uris) {
    if (!out.empty()) out += ' ';
    out += u;
  }
  return out;
}

// AUTH with the options' credentials; on success, the relay's Use-Path URIs.
int do_auth(Peer& p, const RelayTarget& relay, const std::string& me, const Options& o,
            std::vector<std::string>& use_path) {
  int wait = o.timeout_ms > 0 ? o.timeout_ms : 10000;
  if (o.verbose) std::fprintf(stderr, "> AUTH %s (as %s)\n", relay.uri.c_str(), o.user.c_str());
  auto a = msrpd::client::authenticate(p.c, relay.uri, me, o.user, o.password, o.expires, wait);
  if (!a) return fail(kExitFailure, "AUTH to " + relay.uri + " failed: " + a.error().message);
  p.trace(a->challenge);
  if (a->challenge.code == code_of(Status::unauthorized)) p.trace(a->answer);
  const ReceivedFrame& ans = a->answer;
  if (ans.request) return fail(kExitFailure, "AUTH: the relay sent a request instead of an answer");
  if (ans.code == code_of(Status::unauthorized) && a->challenge.code == code_of(Status::unauthorized))
    return fail(kExitFailure,
                "AUTH rejected: 401 " + ans.comment + " (wrong user or password for '" + o.user + "'?)");
  if (ans.code != code_of(Status::ok)) {
    std::string extra;
    for (const char* h : {"Min-Expires", "Max-Expires"})
      if (ans.has_header(h)) extra += std::string(", ") + h + ": " + ans.header(h);
    return fail(kExitFailure, "AUTH failed: " + std::to_string(ans.code) + " " + ans.comment + extra);
  }
  use_path = a->use_path;
  if (use_path.empty()) return fail(kExitFailure, "AUTH: the relay's 200 has no Use-Path");
  for (const auto& u : use_path) {
    if (!msrpd::msrp::parse_uri(u)) return fail(kExitFailure, "AUTH: bad Use-Path URI '" + u + "'");
  }
  return kExitOk;
}

// ---------------------------------------------------------------- receive mode

// One message being received: its chunks put back in order by Byte-Range (RFC 4975 §7.3.1).
struct Incoming {
  std::string id;
  uint64_t next = 1;                      // the first byte not yet assembled
  std::map<uint64_t, std::string> early;  // chunks that arrived before the bytes before them
  std::string held;                       // assembled bytes not yet written (not the head message)
  bool last_seen = false;                 // the '$' chunk arrived
  uint64_t last_end = 0;                  // its last byte
  bool aborted = false;                   // a '#' chunk arrived
  bool complete() const { return aborted || (last_seen && next > last_end && early.empty()); }
};

class Receiver {
 public:
  Receiver(Peer& p, std::string me, const Options& o) : p_(p), me_(std::move(me)), o_(o) {}

  int run() {
    auto last_frame = Clock::now();
    size_t last_pending = 0;
    for (;;) {
      int wait = 1000;
      if (o_.timeout_ms > 0) {
        auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_frame).count();
        if (idle >= o_.timeout_ms) return timed_out();
        wait = std::min<int>(wait, o_.timeout_ms - static_cast<int>(idle));
      }
      auto f = p_.c.read_frame(wait);
      if (!f) {
        if (f.error().message == "read: timeout") {
          // Bytes of a long frame still arriving count as activity.
          if (p_.c.pending() != last_pending) last_frame = Clock::now();
          last_pending = p_.c.pending();
          continue;
        }
        if (o_.count > 0 && delivered_ < o_.count)
          return fail(kExitFailure, "relay closed the connection after " + std::to_string(delivered_) +
                                        " of " + std::to_string(o_.count) + " messages (" +
                                        f.error().message + ")");
        return fail(kExitFailure, f.error().message);
      }
      last_frame = Clock::now();
      last_pending = 0;
      p_.trace(*f);
      if (int rc = handle(*f); rc >= 0) return rc;
      if (o_.count > 0 && delivered_ >= o_.count) return kExitOk;
    }
  }

 private:
  using Clock = std::chrono::steady_clock;

  int timed_out() {
    if (o_.count > 0)
      return fail(kExitFailure, "timeout: " + std::to_string(delivered_) + " of " + std::to_string(o_.count) +
                                    " messages received");
    return kExitOk;
  }

  bool addressed_to_me(const ReceivedFrame& f) const {
    auto path = split_path(f.header("To-Path"));
    if (path.size() != 1) return false;
    auto a = msrpd::msrp::parse_uri(path[0]);
    auto b = msrpd::msrp::parse_uri(me_);
    return a && b && msrpd::msrp::same_uri(*a, *b);
  }

  // -1 to go on, else the exit code.
  int handle(const ReceivedFrame& f) {
    if (!f.request) return -1;  // an answer to nothing we wait for
    auto from = split_path(f.header("From-Path"));
    if (from.empty()) return -1;
    if (f.method == "REPORT") return -1;  // RFC 4975 §7.1.2: never answered
    if (f.method != "SEND") {
      // RFC 4975 §7.2: a non-SEND request's response goes back along the whole From-Path.
      return reply(f, code_of(Status::method_not_understood), "Unknown method", join_path(from));
    }
    auto fr = msrpd::msrp::parse_failure_report(f.header("Failure-Report"));
    auto failure_report = f.has_header("Failure-Report") && fr ? *fr : msrpd::msrp::FailureReport::yes;
    if (!addressed_to_me(f)) {
      if (failure_report == msrpd::msrp::FailureReport::no) return -1;
      return reply(f, code_of(Status::session_does_not_exist), "Session does not exist", from.front());
    }
    std::string id = f.header("Message-ID");
    uint64_t start = 1;
    if (f.has_header("Byte-Range")) {
      auto br = msrpd::msrp::parse_byte_range(f.header("Byte-Range"));
      if (!br || br->start == 0) {
        if (failure_report == msrpd::msrp::FailureReport::no) return -1;
        return reply(f, code_of(Status::bad_request), "Bad Byte-Range", from.front());
      }
      start = br->start;
    }
    add_chunk(id, start, f.body, f.flag);
    // RFC 4975 §7.2: a SEND's 200 goes to the previous hop only (the first From-Path URI); none
    // when the sender asked for no or only negative reports.
    if (failure_report == msrpd::msrp::FailureReport::yes) {
      if (int rc = reply(f, code_of(Status::ok), "OK", from.front()); rc >= 0) return rc;
    }
    if (f.flag == '$' && f.header("Success-Report") == "yes") {
      // RFC 4975 §7.1.2: the success report of the whole message, back along the From-Path.
      uint64_t total = start + f.body.size() - 1;
      std::string extra = "Message-ID: " + id + "\r\nByte-Range: 1-" + std::to_string(total) + "/" +
                          std::to_string(total) + "\r\nStatus: 000 200 OK\r\n";
      auto r = p_.send(msrpd::client::make_request(random_id(), "REPORT", join_path(from), me_, extra),
                       o_.timeout_ms);
      if (!r) return fail(kExitFailure, r.error().message);
    }
    return flush();
  }

  int reply(const ReceivedFrame& f, int code, std::string_view comment, const std::string& to) {
    auto r = p_.send(msrpd::client::make_response(f.tid, code, comment, to, me_), o_.timeout_ms);
    if (!r) return fail(kExitFailure, r.error().message);
    return -1;
  }

  Incoming& message(const std::string& id) {
    for (auto& m : queue_)
      if (m.id == id && !m.complete()) return m;
    queue_.push_back(Incoming{});
    queue_.back().id = id;
    return queue_.back();
  }

  void emit(Incoming& m, std::string_view bytes) {
    if (&m == &queue_.front()) {
      std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    } else {
      m.held.append(bytes);
    }
  }

  void add_chunk(const std::string& id, uint64_t start, std::string_view body, char flag) {
    if (aborted_ids_.count(id)) return;  // what comes after a '#' chunk belongs to nothing
    Incoming& m = message(id);
    if (flag == '#') {
      m.aborted = true;
      aborted_ids_.insert(id);
      std::fprintf(stderr, "msrpcat: message %s interrupted by the sender\n", id.c_str());
      return;
    }
    if (flag == '$') {
      m.last_seen = true;
      m.last_end = start + body.size() - 1;  // an empty last chunk: start - 1
    }
    if (start < m.next) {  // a resent piece: keep only what is new
      uint64_t skip = m.next - start;
      body = skip >= body.size() ? std::string_view{} : body.substr(skip);
      start = m.next;
    }
    if (body.empty()) return;
    if (start > m.next) {
      std::string& slot = m.early[start];
      if (body.size() > slot.size()) slot.assign(body);
      return;
    }
    emit(m, body);
    m.next += body.size();
    // The chunks that were waiting for these bytes.
    while (!m.early.empty() && m.early.begin()->first <= m.next) {
      auto it = m.early.begin();
      uint64_t skip = m.next - it->first;
      if (skip < it->second.size()) {
        emit(m, std::string_view(it->second).substr(skip));
        m.next += it->second.size() - skip;
      }
      m.early.erase(it);
    }
  }

  // Writes out the messages that are whole, in the order they began.
  int flush() {
    while (!queue_.empty() && queue_.front().complete()) {
      if (!queue_.front().aborted) ++delivered_;
      queue_.pop_front();
      if (!queue_.empty()) {
        Incoming& m = queue_.front();
        std::fwrite(m.held.data(), 1, m.held.size(), stdout);
        m.held.clear();
        m.held.shrink_to_fit();
      }
      if (o_.count > 0 && delivered_ >= o_.count) break;
    }
    if (std::fflush(stdout) != 0) return fail(kExitFailure, "cannot write to stdout");
    return -1;
  }

  Peer& p_;
  std::string me_;
  const Options& o_;
  std::deque<Incoming> queue_;
  std::set<std::string> aborted_ids_;
  long delivered_ = 0;
};

int run_listen(const Options& o, const RelayTarget& relay) {
  int connect_wait = o.timeout_ms > 0 ? o.timeout_ms : 10000;
  auto c = connect_relay(relay, connect_wait);
  if (!c) return fail(kExitFailure, c.error().message);
  Peer p{std::move(*c), o.verbose};
  std::string me = own_uri(p.c);
  std::vector<std::string> use_path;
  if (int rc = do_auth(p, relay, me, o, use_path); rc != kExitOk) return rc;
  std::string line = "session: " + join_path(use_path) + " " + me + "\n";
  if (!o.session_file.empty()) {
    FILE* f = std::fopen(o.session_file.c_str(), "w");
    if (!f) return fail(kExitFailure, "cannot write " + o.session_file + ": " + std::strerror(errno));
    std::fputs(line.c_str(), f);
    std::fclose(f);
  } else {
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
  }
  return Receiver(p, me, o).run();
}

// ---------------------------------------------------------------- send mode

class Sender {
 public:
  Sender(Peer& p, std::string to_path, std::string me, const Options& o)
      : p_(p), to_path_(std::move(to_path)), me_(std::move(me)), o_(o) {}

  // Sends one message in chunks; -1 to go on, else the exit code.
  int send_message(std::string_view body) {
    std::string id = random_id(16);
    const uint64_t total = body.size();
    std::string report = o_.report ? "Success-Report: yes\r\n" : "";
    if (o_.report) awaiting_report_.insert(id);
    sent_ids_.insert(id);
    uint64_t off = 0;
    do {
      while (in_flight_.size() >= kWindow) {
        if (int rc = read_one(); rc >= 0) return rc;
      }
      uint64_t n = std::min<uint64_t>(o_.chunk_size, total - off);
      bool last = off + n == total;
      // RFC 4975 §7.1.1: every chunk carries the same Message-ID and its own Byte-Range; '+' ends
      // all but the last. An empty message is one SEND without a body, Byte-Range 1-0/0.
      std::string extra = "Byte-Range: " + std::to_string(off + 1) + "-" + std::to_string(off + n) + "/" +
                          std::to_string(total) + "\r\n" + report;
      std::string tid = random_id();
      std::string frame = msrpd::client::make_send(
          tid, to_path_, me_, id, body.substr(off, n),
          total == 0 ? std::string_view{} : std::string_view(o_.content_type), last ? '$' : '+', extra);
      auto r = p_.send(frame, o_.timeout_ms);
      if (!r) return fail(kExitFailure, r.error().message);
      in_flight_.insert(tid);
      off += n;
    } while (off < total);
    return -1;
  }

  // Handles what the relay sent meanwhile, without waiting.
  int poll_answers() {
    for (;;) {
      pollfd pfd{p_.c.fd(), POLLIN, 0};
      if (p_.c.pending() == 0 && ::poll(&pfd, 1, 0) != 1) return -1;
      if (int rc = read_one(); rc >= 0) return rc;
    }
  }

  // Waits for every 200 (and REPORT with --report).
  int finish() {
    while (!in_flight_.empty()) {
      if (int rc = read_one(); rc >= 0) return rc;
    }
    while (!awaiting_report_.empty()) {
      if (int rc = read_one(true); rc >= 0) return rc;
    }
    return kExitOk;
  }

 private:
  static constexpr size_t kWindow = 8;

  int read_one(bool for_report = false) {
    auto f = p_.c.read_frame(o_.timeout_ms);
    if (!f) {
      if (f.error().message == "read: timeout") {
        if (for_report)
          return fail(kExitFailure, "no REPORT within " + seconds() +
                                        " (the receiver must be reachable back: "
                                        "AUTH the sender with --user)");
        return fail(kExitFailure, "no answer from the relay within " + seconds());
      }
      return fail(kExitFailure, f.error().message);
    }
    p_.trace(*f);
    if (!f->request) {
      if (!in_flight_.erase(f->tid)) return -1;  // not ours
      if (f->code != code_of(Status::ok)) {
        std::string line = std::to_string(f->code);
        if (!f->comment.empty()) line += " " + f->comment;
        return fail(kExitFailure, line);
      }
      return -1;
    }
    if (f->method == "REPORT") {
      std::string id = f->header("Message-ID");
      std::string status = f->header("Status");
      auto st = msrpd::msrp::parse_status_header(status);
      if (!awaiting_report_.erase(id)) {
        // Unasked for: a failure report (RFC 4975 §7.1.2, Failure-Report: yes) of one of ours.
        if (sent_ids_.count(id) && (!st || st->code != code_of(Status::ok)))
          return fail(kExitFailure, "REPORT for " + id + ": " + status);
        return -1;
      }
      std::printf("report: %s %s Byte-Range: %s\n", id.c_str(), status.c_str(),
                  f->header("Byte-Range").c_str());
      std::fflush(stdout);
      if (!st || st->code != code_of(Status::ok))
        return fail(kExitFailure, "REPORT for " + id + ": " + status);
      return -1;
    }
    if (f->method == "SEND") {
      // Not a receiver: refuse politely (RFC 4975 §7.2, to the previous hop).
      auto from = split_path(f->header("From-Path"));
      if (!from.empty() && f->header("Failure-Report") != "no") {
        auto r = p_.send(msrpd::client::make_response(f->tid, code_of(Status::session_does_not_exist),
                                                      "Session does not exist", from.front(), me_),
                         o_.timeout_ms);
        if (!r) return fail(kExitFailure, r.error().message);
      }
    }
    return -1;
  }

  std::string seconds() const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", o_.timeout_ms / 1000.0);
    return buf;
  }

  Peer& p_;
  std::string to_path_;
  std::string me_;
  const Options& o_;
  std::set<std::string> in_flight_;        // transaction ids waiting for their answer
  std::set<std::string> awaiting_report_;  // Message-IDs (--report)
  std::set<std::string> sent_ids_;
};

bool read_all(FILE* in, std::string& out) {
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) out.append(buf, n);
  return !std::ferror(in);
}

int run_send(const Options& o, const RelayTarget& relay) {
  // --to: the receiver's session line ("session: " optional): URIs, the receiver's last.
  std::string_view to = msrpd::ascii::ltrim(o.to);
  if (to.rfind("session:", 0) == 0) to.remove_prefix(8);
  auto to_uris = split_path(to);
  if (to_uris.empty()) return usage_error("--to is empty: give the receiver's session line");
  for (const auto& u : to_uris) {
    auto parsed = msrpd::msrp::parse_uri(u);
    if (!parsed) return usage_error("bad URI '" + u + "' in --to: " + parsed.error().message);
  }

  auto c = connect_relay(relay, o.timeout_ms);
  if (!c) return fail(kExitFailure, c.error().message);
  Peer p{std::move(*c), o.verbose};
  std::string me = own_uri(p.c);
  std::vector<std::string> path;
  if (!o.user.empty()) {
    std::vector<std::string> use_path;
    if (int rc = do_auth(p, relay, me, o, use_path); rc != kExitOk) return rc;
    // RFC 4976 §5: a client that AUTHed puts its relays' Use-Path in front of the peer's path.
    if (!o.no_use_path) path = use_path;
  }
  path.insert(path.end(), to_uris.begin(), to_uris.end());
  Sender s(p, join_path(path), me, o);

  if (o.lines) {
    char* line = nullptr;
    size_t cap = 0;
    ssize_t n;
    int rc = -1;
    while (rc < 0 && (n = ::getline(&line, &cap, stdin)) > 0) {
      rc = s.send_message(std::string_view(line, static_cast<size_t>(n)));
      if (rc < 0) rc = s.poll_answers();
    }
    std::free(line);
    if (rc >= 0) return rc;
  } else if (o.have_message) {
    if (int rc = s.send_message(o.message); rc >= 0) return rc;
  } else {
    std::string body;
    if (!read_all(stdin, body)) return fail(kExitFailure, "cannot read stdin");
    if (int rc = s.send_message(body); rc >= 0) return rc;
  }
  return s.finish();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (int rc = parse_args(argc, argv, o); rc >= 0) return rc;
  RelayTarget relay;
  if (std::string err = check_relay_uri(o.relay, relay); !err.empty()) return usage_error(err);
  return o.listen ? run_listen(o, relay) : run_send(o, relay);
}
