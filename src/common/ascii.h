#pragma once
// The ASCII toolkit: character classes, case-insensitive comparison, trimming and digit parsing,
// written once for every grammar msrpd reads (STYLE.md §13). Character classes of a grammar are
// named 256-entry tables (picohttpparser's token_char_map): one per RFC that defines its own.

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

namespace msrpd::ascii {

constexpr char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
constexpr char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
}
constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
constexpr bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_alnum(char c) {
  return is_digit(c) || is_alpha(c);
}
constexpr bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// The value of a hex digit (is_hex(c) must hold).
constexpr int hex_value(char c) {
  return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}
// SP / HTAB (RFC 5234 WSP).
constexpr bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}
// WSP, CR or LF.
constexpr bool is_space(char c) {
  return is_wsp(c) || c == '\r' || c == '\n';
}

constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}
constexpr bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}
constexpr bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

// A lowercased / uppercased copy (ASCII letters only; for names shown to users, not the hot path).
inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}
inline std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

// Trimming SP/HTAB (header values, parameters).
constexpr std::string_view ltrim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  return s;
}
constexpr std::string_view rtrim(std::string_view s) {
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}
constexpr std::string_view trim(std::string_view s) {
  return rtrim(ltrim(s));
}
// Trimming SP/HTAB/CR/LF (folded SIP header values, lines of text).
constexpr std::string_view trim_space(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

constexpr bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_digit(c)) return false;
  return true;
}

// 1*DIGIT into an unsigned integer; false for an empty string, any other character or overflow.
template <typename T>
constexpr bool parse_uint(std::string_view s, T& out) {
  static_assert(std::is_unsigned_v<T>);
  if (s.empty()) return false;
  T v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    auto d = static_cast<T>(c - '0');
    if (v > (std::numeric_limits<T>::max() - d) / 10) return false;
    v = static_cast<T>(v * 10 + d);
  }
  out = v;
  return true;
}

// A set of characters as a table: one per grammar (RFC 4975 token, RFC 3261 token, ...).
class CharClass {
 public:
  // Every character of `chars`, plus letters and digits when `alnum`.
  constexpr CharClass(bool alnum, std::string_view chars) : map_{} {
    for (int c = 0; c < 256; ++c) map_[c] = alnum && is_alnum(static_cast<char>(c));
    for (char c : chars) map_[static_cast<unsigned char>(c)] = true;
  }
  constexpr bool operator()(char c) const { return map_[static_cast<unsigned char>(c)]; }
  // 1*char: non-empty and every character in the class.
  constexpr bool all_of(std::string_view s) const {
    if (s.empty()) return false;
    for (char c : s)
      if (!(*this)(c)) return false;
    return true;
  }

 private:
  std::array<bool, 256> map_;
};

// RFC 4975 §9: token = 1*(%x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E)
// (header names, Content-Type parts, parameters).
inline constexpr CharClass kMsrpToken{true, "!#$%&'*+-.^_`{|}~"};
// MSRP method names as clients send them: RFC 4975 §9 says other-method = 1*UPALPHA, sipsimple
// sends FILE_OFFSET. RFC 4975 token characters other than lower-case letters (methods are
// case-sensitive: "send" is no method).
inline constexpr CharClass kMsrpMethod{false, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`{|}~"};
// RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
inline constexpr CharClass kSipToken{true, "-.!%*_+`'~"};
// RFC 9110 §5.6.2 tchar (HTTP header names and methods).
inline constexpr CharClass kHttpToken{true, "!#$%&'*+-.^_`|~"};

}  // namespace msrpd::ascii
