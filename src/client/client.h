#pragma once
// A small blocking MSRP client over TCP, for tests and tools (msrpcat, msrpbench set-up): connect,
// send bytes, read whole frames back with msrp::FrameParser, and the AUTH handshake of RFC 4976
// §5.1 (401 challenge, Digest response, 200 with Use-Path). Every wait has a deadline.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace msrpd::client {

// One frame as received: an owned copy (tests keep frames around).
struct ReceivedFrame {
  std::string raw;  // every byte of the frame, start line to end-line
  bool request = false;
  std::string tid;
  std::string method;  // requests
  int code = 0;        // responses
  std::string comment;
  std::vector<std::pair<std::string, std::string>> headers;  // in order
  std::string body;
  char flag = 0;  // '$', '+' or '#'

  // First header of that name (case-insensitive); empty when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

class Client {
 public:
  Client() = default;
  ~Client();
  Client(Client&& o) noexcept;
  Client& operator=(Client&& o) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  static Result<Client> connect(const std::string& ip, uint16_t port, int timeout_ms = 5000);

  Result<void> send(std::string_view bytes, int timeout_ms = 5000);
  // The next whole frame (body reassembled). Error on timeout, EOF or a parse error.
  Result<ReceivedFrame> read_frame(int timeout_ms = 5000);
  // True when the peer closed the connection within timeout_ms (bytes received meanwhile are kept).
  bool wait_closed(int timeout_ms = 5000);
  // Bytes received and not yet returned as frames.
  size_t pending() const { return buf_.size() - start_; }

  int fd() const { return fd_; }
  uint16_t local_port() const { return local_port_; }
  const std::string& local_ip() const { return local_ip_; }
  void close();

 private:
  int fd_ = -1;
  uint16_t local_port_ = 0;
  std::string local_ip_;
  std::string buf_;
  size_t start_ = 0;
  bool eof_ = false;
  Result<size_t> fill(int timeout_ms);
};

// Frame builders (RFC 4975 §7.1): a SEND with a body, or a body-less request.
std::string make_send(std::string_view tid, std::string_view to_path, std::string_view from_path,
                      std::string_view message_id, std::string_view body,
                      std::string_view content_type = "text/plain", char flag = '$',
                      std::string_view extra_headers = {});
std::string make_request(std::string_view tid, std::string_view method, std::string_view to_path,
                         std::string_view from_path, std::string_view extra_headers = {});
std::string make_response(std::string_view tid, int code, std::string_view comment, std::string_view to_path,
                          std::string_view from_path);
// The same, appended to `out` (no allocation once `out` has the room: for load generators).
void append_send(std::string& out, std::string_view tid, std::string_view to_path, std::string_view from_path,
                 std::string_view message_id, std::string_view body,
                 std::string_view content_type = "text/plain", char flag = '$',
                 std::string_view extra_headers = {});
void append_response(std::string& out, std::string_view tid, int code, std::string_view comment,
                     std::string_view to_path, std::string_view from_path);

// The value of one parameter (`name=value` or `name="value"`) of a Digest challenge or credentials.
std::string digest_param(std::string_view header_value, std::string_view name);

struct AuthResult {
  ReceivedFrame challenge;  // the 401
  ReceivedFrame answer;     // the final response (200, 423, 401...)
  std::vector<std::string> use_path;
};

// RFC 4976 §5.1: AUTH to relay_uri from my_uri, answer the 401 with Digest credentials for
// user/password, return both responses. `expires` < 0: no Expires header.
Result<AuthResult> authenticate(Client& c, std::string_view relay_uri, std::string_view my_uri,
                                std::string_view user, std::string_view password, int expires = -1,
                                int timeout_ms = 5000);

// A random transaction id / token of [a-z0-9], for test frames.
std::string random_id(size_t n = 12);

}  // namespace msrpd::client
