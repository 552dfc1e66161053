#pragma once
// The config lexer: tokens over the preprocessed text, each with the place it was written.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/ascii.h"
#include "script/source.h"

namespace msrpd::script {

// Names of the config language: identifiers, #!define names, pseudo-variable classes.
constexpr bool is_ident_start(char c) {
  return ascii::is_alpha(c) || c == '_';
}
constexpr bool is_ident_char(char c) {
  return ascii::is_alnum(c) || c == '_';
}

struct Token {
  enum class Kind : uint8_t { end, ident, integer, string, pv, op };
  Kind kind = Kind::end;
  std::string_view text;  // as written (ident, op, pv: the whole "$...")
  std::string str;        // string: the decoded value
  int64_t ival = 0;       // integer
  Loc loc;
  size_t pos = 0;  // offset in the source text

  bool is_op(std::string_view o) const { return kind == Kind::op && text == o; }
  bool is_ident(std::string_view w) const { return kind == Kind::ident && text == w; }
  // "'{'", "identifier 'foo'", "string \"x\"", "integer 5", "pseudo-variable '$var(x)'", "end of file"
  std::string describe() const;
};

class Lexer {
 public:
  explicit Lexer(const SourceText& src) : src_(src) {}

  Token next();
  // The raw text from the current position up to the end of the line, a ';' or a '#' comment
  // (outside quotes), trimmed: for `listen=tcp:1.2.3.4:5060` and other core parameter values.
  std::string raw_to_eol(Loc* loc);
  // The raw text up to `stop` (which is consumed), trimmed: for `route[NAME]`.
  std::string raw_until(char stop, Loc* loc);
  // True when the text after the current position is "int)" or "str)" (spaces allowed): the
  // parser, having just read '(', sees a cast. Sets *is_int and consumes it.
  bool take_cast(bool* is_int);

  const SourceText& source() const { return src_; }
  [[noreturn]] void fail(Loc l, const std::string& what) const { src_.fail(l, what); }

 private:
  void skip_space_and_comments();
  Loc loc_at(size_t p) const { return src_.locs[p < src_.locs.size() ? p : src_.locs.size() - 1]; }

  const SourceText& src_;
  size_t pos_ = 0;
};

}  // namespace msrpd::script
