#pragma once
// Val: a script value (null, integer or string), as Kamailio's rvalues. A string either views
// memory that lives while the route runs (a message header, a literal of the parsed script) or
// owns its bytes (a concatenation, a formatted string, an htable copy).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace msrpd::script {

struct Val {
  enum class Kind : uint8_t { null, integer, string };
  Kind kind = Kind::null;
  bool owned = false;
  int64_t i = 0;
  std::string_view view;  // when !owned
  std::string buf;        // when owned

  static Val null() { return {}; }
  static Val of_int(int64_t v) {
    Val r;
    r.kind = Kind::integer;
    r.i = v;
    return r;
  }
  static Val of_view(std::string_view s) {
    Val r;
    r.kind = Kind::string;
    r.view = s;
    return r;
  }
  static Val of_string(std::string s) {
    Val r;
    r.kind = Kind::string;
    r.owned = true;
    r.buf = std::move(s);
    return r;
  }

  bool is_null() const { return kind == Kind::null; }
  bool is_int() const { return kind == Kind::integer; }
  bool is_str() const { return kind == Kind::string; }
  std::string_view str() const { return owned ? std::string_view(buf) : view; }

  // Makes a string value own its bytes (before storing it past the route).
  void own() {
    if (kind == Kind::string && !owned) {
      buf.assign(view);
      owned = true;
      view = {};
    }
  }
};

// Kamailio str2sint: optional sign, decimal digits, nothing else (spaces around allowed).
std::optional<int64_t> parse_int(std::string_view s);

// The leading number of a string (optional sign, digits), 0 when there is none: (int) and {s.int}.
int64_t leading_int(std::string_view s);

// The integer value (null = 0, a string by parse_int, a non-numeric string = nullopt).
std::optional<int64_t> to_int(const Val& v);
// The text of a value (null = "", an integer in decimal), appended.
void append_text(std::string& out, const Val& v);
std::string to_text(const Val& v);

}  // namespace msrpd::script
