#include "script/lexer.h"

namespace msrpd::script {

std::string Token::describe() const {
  switch (kind) {
    case Kind::end:
      return "end of file";
    case Kind::ident:
      return "identifier '" + std::string(text) + "'";
    case Kind::integer:
      return "integer " + std::string(text);
    case Kind::string:
      return "string \"" + (str.size() > 40 ? str.substr(0, 40) + "..." : str) + "\"";
    case Kind::pv:
      return "pseudo-variable '" + std::string(text) + "'";
    case Kind::op:
      return "'" + std::string(text) + "'";
  }
  return "?";
}

void Lexer::skip_space_and_comments() {
  const std::string& t = src_.text;
  while (pos_ < t.size()) {
    char c = t[pos_];
    if (ascii::is_space(c)) {
      ++pos_;
    } else if (c == '#' || (c == '/' && pos_ + 1 < t.size() && t[pos_ + 1] == '/')) {  // Kamailio: # and //
      while (pos_ < t.size() && t[pos_] != '\n') ++pos_;
    } else if (c == '/' && pos_ + 1 < t.size() && t[pos_ + 1] == '*') {
      size_t end = t.find("*/", pos_ + 2);
      if (end == std::string::npos) fail(loc_at(pos_), "unterminated comment: '/*' without '*/'");
      pos_ = end + 2;
    } else {
      break;
    }
  }
}

Token Lexer::next() {
  skip_space_and_comments();
  const std::string& t = src_.text;
  Token tok;
  tok.pos = pos_;
  tok.loc = loc_at(pos_);
  if (pos_ >= t.size()) {
    tok.kind = Token::Kind::end;
    return tok;
  }
  size_t b = pos_;
  char c = t[pos_];
  if (c == '"' || c == '\'') {
    ++pos_;
    std::string s;
    while (true) {
      if (pos_ >= t.size()) fail(tok.loc, std::string("unterminated string: missing closing ") + c);
      char d = t[pos_];
      if (d == c) break;
      if (d == '\\' && pos_ + 1 < t.size()) {
        char e = t[pos_ + 1];
        switch (e) {
          case 'n':
            s.push_back('\n');
            break;
          case 'r':
            s.push_back('\r');
            break;
          case 't':
            s.push_back('\t');
            break;
          case '\\':
            s.push_back('\\');
            break;
          case '"':
            s.push_back('"');
            break;
          case '\'':
            s.push_back('\'');
            break;
          case '\n':
            break;  // line continuation
          default:
            s.push_back('\\');
            s.push_back(e);
        }
        pos_ += 2;
        continue;
      }
      s.push_back(d);
      ++pos_;
    }
    ++pos_;
    tok.kind = Token::Kind::string;
    tok.str = std::move(s);
    tok.text = std::string_view(t).substr(b, pos_ - b);
    return tok;
  }
  if (ascii::is_digit(c)) {
    int64_t v = 0;
    if (c == '0' && pos_ + 1 < t.size() && (t[pos_ + 1] == 'x' || t[pos_ + 1] == 'X')) {
      pos_ += 2;
      size_t hb = pos_;
      while (pos_ < t.size() && ascii::is_hex(t[pos_])) {
        v = v * 16 + ascii::hex_value(t[pos_++]);
      }
      if (pos_ == hb) fail(tok.loc, "expected hexadecimal digits after '0x'");
    } else {
      while (pos_ < t.size() && ascii::is_digit(t[pos_])) {
        if (v > (INT64_MAX - 9) / 10) fail(tok.loc, "integer too large");
        v = v * 10 + (t[pos_++] - '0');
      }
    }
    if (pos_ < t.size() && is_ident_start(t[pos_]))
      fail(tok.loc, "bad number '" + t.substr(b, pos_ + 1 - b) + "...'");
    tok.kind = Token::Kind::integer;
    tok.ival = v;
    tok.text = std::string_view(t).substr(b, pos_ - b);
    return tok;
  }
  if (is_ident_start(c)) {
    while (pos_ < t.size() && is_ident_char(t[pos_])) ++pos_;
    tok.kind = Token::Kind::ident;
    tok.text = std::string_view(t).substr(b, pos_ - b);
    return tok;
  }
  if (c == '$') {
    ++pos_;
    if (pos_ < t.size() && (is_ident_start(t[pos_]) || t[pos_] == '(')) {
      while (pos_ < t.size() && is_ident_char(t[pos_])) ++pos_;
      if (pos_ < t.size() && t[pos_] == '(') {
        int depth = 0;
        for (; pos_ < t.size(); ++pos_) {
          char d = t[pos_];
          if (d == '\n') fail(tok.loc, "unterminated pseudo-variable: missing ')'");
          if (d == '(') ++depth;
          if (d == ')' && --depth == 0) break;
        }
        if (pos_ >= t.size()) fail(tok.loc, "unterminated pseudo-variable: missing ')'");
        ++pos_;
      }
      tok.kind = Token::Kind::pv;
      tok.text = std::string_view(t).substr(b, pos_ - b);
      return tok;
    }
    fail(tok.loc, "expected a pseudo-variable name after '$'");
  }
  static constexpr std::string_view two[] = {"==", "!=", "<=", ">=", "=~", "&&", "||"};
  for (std::string_view o : two) {
    if (t.compare(pos_, 2, o) == 0) {
      pos_ += 2;
      tok.kind = Token::Kind::op;
      tok.text = std::string_view(t).substr(b, 2);
      return tok;
    }
  }
  static constexpr std::string_view one = "=<>!+-*/%(){}[];,:|&.~";
  if (one.find(c) != std::string_view::npos) {
    ++pos_;
    tok.kind = Token::Kind::op;
    tok.text = std::string_view(t).substr(b, 1);
    return tok;
  }
  fail(tok.loc, std::string("unexpected character '") + c + "'");
}

std::string Lexer::raw_to_eol(Loc* loc) {
  const std::string& t = src_.text;
  while (pos_ < t.size() && ascii::is_wsp(t[pos_])) ++pos_;
  *loc = loc_at(pos_);
  size_t b = pos_;
  char quote = 0;
  while (pos_ < t.size()) {
    char c = t[pos_];
    if (quote) {
      if (c == quote) quote = 0;
      if (c == '\n') break;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '\n' || c == ';' || c == '#' || (c == '/' && pos_ + 1 < t.size() && t[pos_ + 1] == '/')) {
      break;
    }
    ++pos_;
  }
  std::string v = t.substr(b, pos_ - b);
  while (!v.empty() && (ascii::is_wsp(v.back()) || v.back() == '\r')) v.pop_back();
  if (pos_ < t.size() && t[pos_] == ';') ++pos_;
  return v;
}

std::string Lexer::raw_until(char stop, Loc* loc) {
  const std::string& t = src_.text;
  while (pos_ < t.size() && ascii::is_wsp(t[pos_])) ++pos_;
  *loc = loc_at(pos_);
  size_t b = pos_;
  while (pos_ < t.size() && t[pos_] != stop && t[pos_] != '\n') ++pos_;
  if (pos_ >= t.size() || t[pos_] != stop)
    fail(loc_at(pos_), std::string("expected '") + stop + "', found end of line");
  std::string v = t.substr(b, pos_ - b);
  ++pos_;
  v.resize(ascii::rtrim(v).size());
  return v;
}

bool Lexer::take_cast(bool* is_int) {
  const std::string& t = src_.text;
  size_t p = pos_;
  while (p < t.size() && ascii::is_wsp(t[p])) ++p;
  bool i = t.compare(p, 3, "int") == 0;
  bool s = t.compare(p, 3, "str") == 0;
  if (!i && !s) return false;
  p += 3;
  while (p < t.size() && ascii::is_wsp(t[p])) ++p;
  if (p >= t.size() || t[p] != ')') return false;
  pos_ = p + 1;
  *is_int = i;
  return true;
}

}  // namespace msrpd::script
