// The config preprocessor: works line by line on the raw text, before the lexer, as Kamailio's does
// (#!subst replaces inside strings too; #!define replaces identifiers outside strings and comments).

#include <regex.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "common/ascii.h"
#include "script/lexer.h"
#include "script/source.h"

namespace msrpd::script {

std::string SourceText::where(Loc l) const {
  std::string f = l.file < files.size() ? files[l.file] : std::string("?");
  return f + ":" + std::to_string(l.line) + ":" + std::to_string(l.col);
}

void SourceText::fail(Loc l, const std::string& what) const {
  throw LoadError(where(l) + ": " + what);
}

namespace {

constexpr int kMaxIncludeDepth = 10;

// A line being rewritten, with the original column of each character.
struct LineBuf {
  std::string s;
  std::vector<uint32_t> cols;

  void replace(size_t pos, size_t len, std::string_view with) {
    uint32_t col = pos < cols.size() ? cols[pos] : (cols.empty() ? 1 : cols.back() + 1);
    s.replace(pos, len, with);
    cols.erase(cols.begin() + static_cast<long>(pos), cols.begin() + static_cast<long>(pos + len));
    cols.insert(cols.begin() + static_cast<long>(pos), with.size(), col);
  }
};

class Regex {
 public:
  Regex(const std::string& pattern, int flags, std::string* error) {
    int rc = regcomp(&re_, pattern.c_str(), flags | REG_EXTENDED);
    if (rc != 0) {
      char buf[256];
      regerror(rc, &re_, buf, sizeof buf);
      *error = buf;
      return;
    }
    ok_ = true;
  }
  ~Regex() {
    if (ok_) regfree(&re_);
  }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  bool ok() const { return ok_; }
  const regex_t* get() const { return &re_; }

 private:
  regex_t re_{};
  bool ok_ = false;
};

struct Subst {
  std::unique_ptr<Regex> re;
  std::string replacement;  // may hold \1..\9
  bool global = false;
};

struct Cond {
  bool parent_active;
  bool taking;
  bool seen_else;
  Loc loc;
};

class Preprocessor {
 public:
  SourceText out;

  void run_file(const std::string& path, Loc from, int depth, bool optional) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      if (optional) return;
      if (depth == 0) throw LoadError(path + ": cannot open the config file");
      out.fail(from, "cannot open included file '" + path + "'");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    run_text(ss.str(), path, dir_of(path), depth, from);
  }

  void run_text(std::string_view text, const std::string& name, const std::string& dir, int depth, Loc from) {
    if (depth > kMaxIncludeDepth) out.fail(from, "include_file nested more than 10 deep (a loop?)");
    auto file = static_cast<uint32_t>(out.files.size());
    out.files.push_back(name);
    size_t conds_at_start = conds_.size();
    uint32_t line_no = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t eol = text.find('\n', pos);
      if (eol == std::string_view::npos) eol = text.size();
      // A final newline ends the last line; it does not start another.
      if (pos == text.size() && pos > 0) break;
      std::string_view line = text.substr(pos, eol - pos);
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      // #!define values may continue on the next line with a trailing backslash.
      std::string joined;
      uint32_t first_line = line_no;
      size_t next = eol + 1;
      if (is_directive(line)) {
        joined.assign(line);
        while (!joined.empty() && joined.back() == '\\' && next <= text.size()) {
          joined.pop_back();
          size_t e2 = text.find('\n', next);
          if (e2 == std::string_view::npos) e2 = text.size();
          std::string_view l2 = text.substr(next, e2 - next);
          if (!l2.empty() && l2.back() == '\r') l2.remove_suffix(1);
          joined.append(l2);
          ++line_no;
          next = e2 + 1;
        }
        line = joined;
      }
      handle_line(line, file, first_line, dir, depth);
      if (eol >= text.size()) break;
      pos = next;
    }
    if (conds_.size() > conds_at_start) out.fail(conds_.back().loc, "#!ifdef/#!ifndef without #!endif");
  }

 private:
  std::map<std::string, std::string, std::less<>> defines_;
  std::vector<Subst> substs_;
  std::vector<Cond> conds_;
  bool in_comment_ = false;  // inside /* */ across lines

  static std::string dir_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
  }

  bool active() const { return conds_.empty() || (conds_.back().parent_active && conds_.back().taking); }

  bool is_directive(std::string_view line) const {
    if (in_comment_) return false;
    std::string_view t = ascii::trim(line);
    return t.size() >= 2 && ((t[0] == '#' && t[1] == '!') || (t[0] == '!' && t[1] == '!'));
  }

  void emit(const LineBuf& lb, uint32_t file, uint32_t line) {
    for (size_t i = 0; i < lb.s.size(); ++i) {
      out.text.push_back(lb.s[i]);
      out.locs.push_back(Loc{file, line, lb.cols[i]});
    }
    out.text.push_back('\n');
    out.locs.push_back(Loc{file, line, static_cast<uint32_t>(lb.cols.empty() ? 1 : lb.cols.back() + 1)});
  }

  void emit_empty(uint32_t file, uint32_t line) {
    out.text.push_back('\n');
    out.locs.push_back(Loc{file, line, 1});
  }

  void handle_line(std::string_view line, uint32_t file, uint32_t line_no, const std::string& dir,
                   int depth) {
    if (is_directive(line)) {
      size_t off = line.find_first_not_of(" \t");
      directive(line.substr(off + 2), Loc{file, line_no, static_cast<uint32_t>(off + 1)},
                static_cast<uint32_t>(off + 3), dir, depth);
      emit_empty(file, line_no);
      return;
    }
    if (!active()) {
      emit_empty(file, line_no);
      return;
    }
    LineBuf lb;
    lb.s.assign(line);
    lb.cols.resize(line.size());
    for (size_t i = 0; i < line.size(); ++i) lb.cols[i] = static_cast<uint32_t>(i + 1);
    if (!in_comment_) {
      std::string_view t = ascii::trim(lb.s);
      for (std::string_view kw : {std::string_view("include_file"), std::string_view("import_file")}) {
        if (t.substr(0, kw.size()) == kw && (t.size() == kw.size() || !is_ident_char(t[kw.size()]))) {
          size_t off = lb.s.find(kw);
          include(lb.s.substr(off + kw.size()), Loc{file, line_no, static_cast<uint32_t>(off + 1)}, dir,
                  depth, kw == "import_file");
          emit_empty(file, line_no);
          return;
        }
      }
    }
    apply_substs(lb, Loc{file, line_no, 1});
    expand_defines(lb);
    emit(lb, file, line_no);
  }

  // `rest` is what follows the keyword: spaces then a quoted path, optional ';'.
  void include(std::string_view rest, Loc loc, const std::string& dir, int depth, bool optional) {
    std::string_view t = ascii::trim(rest);
    if (!t.empty() && t.back() == ';') t = ascii::trim(t.substr(0, t.size() - 1));
    if (t.size() < 2 || (t.front() != '"' && t.front() != '\'') || t.back() != t.front()) {
      out.fail(loc, std::string("expected a quoted file name after ") +
                        (optional ? "import_file" : "include_file") + ", found '" + std::string(t) + "'");
    }
    std::string path(t.substr(1, t.size() - 2));
    if (path.empty() || path[0] != '/') path = dir + "/" + path;
    run_file(path, loc, depth + 1, optional);
  }

  void directive(std::string_view body, Loc loc, uint32_t arg_col, const std::string& dir, int depth) {
    size_t e = 0;
    while (e < body.size() && (is_ident_char(body[e]))) ++e;
    std::string_view word = body.substr(0, e);
    std::string_view arg = ascii::trim(body.substr(e));
    Loc arg_loc{loc.file, loc.line, arg_col + static_cast<uint32_t>(arg.data() - body.data())};
    if (word == "ifdef" || word == "ifndef") {
      std::string name = first_word(arg, arg_loc, word);
      bool def = defines_.count(name) != 0;
      conds_.push_back(Cond{active(), word == "ifdef" ? def : !def, false, loc});
      return;
    }
    if (word == "else") {
      if (conds_.empty()) out.fail(loc, "#!else without #!ifdef/#!ifndef");
      if (conds_.back().seen_else)
        out.fail(loc, "second #!else for the #!ifdef at " + out.where(conds_.back().loc));
      conds_.back().seen_else = true;
      conds_.back().taking = !conds_.back().taking;
      return;
    }
    if (word == "endif") {
      if (conds_.empty()) out.fail(loc, "#!endif without #!ifdef/#!ifndef");
      conds_.pop_back();
      return;
    }
    if (!active()) return;
    if (word == "KAMAILIO" || word == "SER" || word == "OPENSER" || word == "ALL" || word == "MAXCOMPAT" ||
        word == "MSRPD")
      return;
    if (word == "define" || word == "trydef" || word == "redefine") {
      std::string name = first_word(arg, arg_loc, word);
      std::string value(ascii::trim(arg.substr(name.size())));
      if (word == "define" && defines_.count(name))
        out.fail(arg_loc, "'" + name + "' is already defined (use #!redefine or #!trydef)");
      if (word == "trydef" && defines_.count(name)) return;
      LineBuf v;
      v.s = value;
      v.cols.assign(value.size(), 1);
      expand_defines(v);
      defines_[name] = v.s;
      return;
    }
    if (word == "undef") {
      defines_.erase(first_word(arg, arg_loc, word));
      return;
    }
    if (word == "subst" || word == "substdef" || word == "substdefs") {
      subst_directive(arg, arg_loc, word);
      return;
    }
    if (word == "include_file" || word == "import_file") {
      include(arg, loc, dir, depth, word == "import_file");
      return;
    }
    out.fail(loc, "unknown preprocessor directive '#!" + std::string(word) + "'");
  }

  std::string first_word(std::string_view arg, Loc loc, std::string_view directive) {
    size_t e = 0;
    while (e < arg.size() && is_ident_char(arg[e])) ++e;
    if (e == 0 || !is_ident_start(arg[0])) {
      out.fail(loc,
               "expected a name after #!" + std::string(directive) + ", found '" + std::string(arg) + "'");
    }
    return std::string(arg.substr(0, e));
  }

  // #!subst "/regex/replacement/flags" (any delimiter; flags g, i).
  void subst_directive(std::string_view arg, Loc loc, std::string_view word) {
    if (arg.size() < 2 || arg.front() != '"' || arg.back() != '"')
      out.fail(loc, "expected a quoted \"/regex/replacement/flags\" after #!" + std::string(word));
    std::string_view e = arg.substr(1, arg.size() - 2);
    if (e.empty()) out.fail(loc, "empty #!" + std::string(word) + " expression");
    char delim = e[0];
    std::vector<std::string> parts(1);
    for (size_t i = 1; i < e.size(); ++i) {
      if (e[i] == '\\' && i + 1 < e.size() && e[i + 1] == delim) {
        parts.back().push_back(delim);
        ++i;
      } else if (e[i] == delim) {
        parts.emplace_back();
      } else {
        parts.back().push_back(e[i]);
      }
    }
    if (parts.size() != 3) {
      out.fail(loc, std::string("expected \"") + delim + "regex" + delim + "replacement" + delim +
                        "flags\" in #!" + std::string(word) + ", found " + std::string(arg));
    }
    int flags = 0;
    bool global = false;
    for (char f : parts[2]) {
      if (f == 'g') {
        global = true;
      } else if (f == 'i') {
        flags |= REG_ICASE;
      } else {
        out.fail(loc, std::string("unknown #!subst flag '") + f + "' (expected g or i)");
      }
    }
    std::string err;
    auto re = std::make_unique<Regex>(parts[0], flags, &err);
    if (!re->ok())
      out.fail(loc, "bad regular expression '" + parts[0] + "' in #!" + std::string(word) + ": " + err);
    if (word != "subst") {
      bool ident = !parts[0].empty() && is_ident_start(parts[0][0]);
      for (char c : parts[0]) ident = ident && is_ident_char(c);
      if (ident) defines_[parts[0]] = word == "substdefs" ? "\"" + parts[1] + "\"" : parts[1];
    }
    substs_.push_back(Subst{std::move(re), parts[1], global});
  }

  static std::string expand_replacement(const std::string& repl, std::string_view subject,
                                        const regmatch_t* m) {
    std::string r;
    for (size_t i = 0; i < repl.size(); ++i) {
      if (repl[i] == '\\' && i + 1 < repl.size() && ascii::is_digit(repl[i + 1])) {
        int n = repl[i + 1] - '0';
        if (m[n].rm_so >= 0) r.append(subject.substr(m[n].rm_so, m[n].rm_eo - m[n].rm_so));
        ++i;
      } else if (repl[i] == '\\' && i + 1 < repl.size() && repl[i + 1] == '\\') {
        r.push_back('\\');
        ++i;
      } else {
        r.push_back(repl[i]);
      }
    }
    return r;
  }

  void apply_substs(LineBuf& lb, Loc) {
    for (const Subst& s : substs_) {
      size_t start = 0;
      while (start <= lb.s.size()) {
        regmatch_t m[10];
        std::string tail = lb.s.substr(start);
        if (regexec(s.re->get(), tail.c_str(), 10, m, start > 0 ? REG_NOTBOL : 0) != 0) break;
        std::string r = expand_replacement(s.replacement, tail, m);
        size_t at = start + static_cast<size_t>(m[0].rm_so);
        size_t len = static_cast<size_t>(m[0].rm_eo - m[0].rm_so);
        lb.replace(at, len, r);
        if (!s.global) break;
        start = at + r.size() + (len == 0 ? 1 : 0);
      }
    }
  }

  // Replaces defined identifiers outside strings, comments and pseudo-variable names.
  void expand_defines(LineBuf& lb) {
    size_t i = 0;
    while (i < lb.s.size()) {
      char c = lb.s[i];
      if (in_comment_) {
        size_t end = lb.s.find("*/", i);
        if (end == std::string::npos) return;
        in_comment_ = false;
        i = end + 2;
        continue;
      }
      if (c == '/' && i + 1 < lb.s.size() && lb.s[i + 1] == '*') {
        in_comment_ = true;
        i += 2;
        continue;
      }
      if (c == '#' || (c == '/' && i + 1 < lb.s.size() && lb.s[i + 1] == '/')) return;
      if (c == '"' || c == '\'') {
        ++i;
        while (i < lb.s.size() && lb.s[i] != c) i += lb.s[i] == '\\' ? 2 : 1;
        ++i;
        continue;
      }
      if (c == '$') {
        ++i;
        while (i < lb.s.size() && is_ident_char(lb.s[i])) ++i;
        if (i < lb.s.size() && lb.s[i] == '(') {
          int d = 0;
          for (; i < lb.s.size(); ++i) {
            if (lb.s[i] == '(') ++d;
            if (lb.s[i] == ')' && --d == 0) break;
          }
          ++i;
        }
        continue;
      }
      if (ascii::is_digit(c)) {
        while (i < lb.s.size() && (is_ident_char(lb.s[i]) || lb.s[i] == '.')) ++i;
        continue;
      }
      if (is_ident_start(c)) {
        size_t b = i;
        while (i < lb.s.size() && is_ident_char(lb.s[i])) ++i;
        auto it = defines_.find(std::string_view(lb.s).substr(b, i - b));
        if (it != defines_.end() && !it->second.empty()) {
          std::string v = it->second;
          lb.replace(b, i - b, v);
          i = b + v.size();
        }
        continue;
      }
      ++i;
    }
  }
};

SourceText finish(Preprocessor& p) {
  uint32_t f = p.out.locs.empty() ? 0 : p.out.locs.back().file;
  uint32_t l = p.out.locs.empty() ? 1 : p.out.locs.back().line + 1;
  p.out.locs.push_back(Loc{f, l, 1});
  return std::move(p.out);
}

}  // namespace

SourceText preprocess_file(const std::string& path) {
  Preprocessor p;
  p.run_file(path, Loc{}, 0, false);
  return finish(p);
}

SourceText preprocess_text(std::string_view text, const std::string& name, const std::string& dir) {
  Preprocessor p;
  p.run_text(text, name, dir, 0, Loc{});
  return finish(p);
}

}  // namespace msrpd::script
