#pragma once
// RFC 4976 §6.4: a relay forwards every request with a transaction id of its own. Tests that
// check a forwarded frame byte for byte first put the sender's id back with forwarded_as(),
// which also checks that the relay's id is a fresh one.

#include <string>
#include <string_view>

namespace msrpd::testing {

// The relay's id of a frame ("MSRP <id> ..."), or "" when it has none.
inline std::string_view transaction_id_of(std::string_view frame) {
  if (!frame.starts_with("MSRP ")) return {};
  size_t sp = frame.find(' ', 5);
  return sp == std::string_view::npos ? std::string_view() : frame.substr(5, sp - 5);
}

// `frame` with its transaction id, in the start line and in the end-line, replaced by `tid`,
// when that id is one a relay made (16 characters of [A-Za-z0-9], not `tid` itself); otherwise
// a text saying what is wrong, which no expected frame equals.
inline std::string forwarded_as(std::string_view frame, std::string_view tid) {
  std::string_view id = transaction_id_of(frame);
  auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  bool fresh = id.size() == 16 && id != tid;
  for (char c : id) fresh = fresh && alnum(c);
  if (!fresh) return "<not forwarded with a fresh transaction id: " + std::string(frame) + ">";
  std::string end = "-------" + std::string(id);
  size_t e = frame.rfind(end);
  if (e == std::string_view::npos)
    return "<no end-line for " + std::string(id) + ": " + std::string(frame) + ">";
  std::string out;
  out.append("MSRP ").append(tid).append(frame.substr(5 + id.size(), e - 5 - id.size()));
  out.append("-------").append(tid).append(frame.substr(e + end.size()));
  return out;
}

}  // namespace msrpd::testing
