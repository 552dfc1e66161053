#pragma once
// The parsed, resolved script: pseudo-variable specs, format strings, expressions, statements and
// resolved function calls. Built once at load, then immutable and shared by all worker threads.

#include <regex.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "msrp/uri.h"
#include "relay/context.h"
#include "script/source.h"
#include "script/value.h"

namespace msrpd::script {

struct PvSpec;

// A string with pseudo-variables inside ("[$msrp(method)] $si:$sp\n"), split at load.
struct Format {
  struct Segment {
    std::string text;            // literal, when pv is null
    std::shared_ptr<PvSpec> pv;  // a pseudo-variable to print
  };
  std::vector<Segment> segments;
  bool is_constant() const { return segments.empty() || (segments.size() == 1 && !segments[0].pv); }
  std::string_view constant() const { return segments.empty() ? std::string_view() : segments[0].text; }
};

// {s.int}, {s.substr,1,2}, {msrpuri.user}...
struct Transform {
  enum class Kind : uint8_t { s_int, s_len, s_tolower, s_toupper, s_substr, msrpuri };
  Kind kind = Kind::s_int;
  msrp::MsrpUriKey part = msrp::MsrpUriKey::user;
  int64_t offset = 0;
  int64_t len = 0;
};

enum class PvClass : uint8_t {
  msrp,
  var,
  hdr,
  si,
  sp,
  Ri,
  Rp,
  proto,
  au,
  ar,
  rm,
  ci,
  pp,
  random,
  ts,
  null_,
  sht,
  shtex,
  rc,
  conid,
};

struct PvSpec {
  PvClass cls = PvClass::null_;
  relay::MsrpKey key = relay::MsrpKey::buf;  // msrp
  int index = 0;                             // var: slot; sht/shtex: table
  std::string name;                          // hdr: header name
  Format key_fmt;                            // sht/shtex: item key
  std::vector<Transform> transforms;
  std::string text;  // as written
  Loc loc;
  bool writable() const {
    return transforms.empty() && (cls == PvClass::var || cls == PvClass::sht || cls == PvClass::shtex);
  }
};

class Regex {
 public:
  Regex() = default;
  ~Regex() {
    if (ok_) regfree(&re_);
  }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  // POSIX ERE, case-insensitive as Kamailio's =~; returns the error text, empty on success.
  std::string compile(const std::string& pattern) {
    int rc = regcomp(&re_, pattern.c_str(), REG_EXTENDED | REG_NOSUB | REG_ICASE);
    if (rc != 0) {
      char buf[256];
      regerror(rc, &re_, buf, sizeof buf);
      return buf;
    }
    ok_ = true;
    return {};
  }
  bool match(const std::string& subject) const {
    return ok_ && regexec(&re_, subject.c_str(), 0, nullptr, 0) == 0;
  }

 private:
  regex_t re_{};
  bool ok_ = false;
};

struct Run;
struct Call;
using FunctionImpl = int (*)(Run& run, const Call& call);

// How a function parameter is fixed up at load.
enum class ParamKind : uint8_t {
  str,      // a string, pseudo-variables inside evaluated per call
  num,      // an integer (or a string holding one, possibly from pseudo-variables)
  pvout,    // a writable pseudo-variable given as "$var(x)"
  level,    // an xlog level: "L_INFO"... or a pseudo-variable
  htable,   // an htable name, resolved at load (Arg::const_int = the table index)
  dbtable,  // a database table name, a constant identifier (Arg::const_int = LoadState::db_tables index)
  sock,     // a local socket "proto:ip:port" (msrp_set_dst): a literal is checked at load
};

struct FunctionDef {
  const char* module;  // "" for core
  const char* name;
  int min_args;
  int max_args;
  ParamKind params[4];
  FunctionImpl fn;
};

struct Arg {
  Format fmt;                 // str, num, level
  bool is_const_int = false;  // num/level known at load
  int64_t const_int = 0;
  std::shared_ptr<PvSpec> out;  // pvout
};

struct Call {
  const FunctionDef* def = nullptr;
  std::vector<Arg> args;
  int route = -1;  // route(NAME): the route index
  Loc loc;
};

struct Expr {
  enum class Op : uint8_t {
    int_lit,
    str_lit,
    pv,
    call,
    method,
    neg,
    lnot,
    cast_int,
    cast_str,
    defined,
    strlen,
    strempty,
    add,
    sub,
    mul,
    div,
    mod,
    band,
    bor,
    eq,
    ne,
    lt,
    gt,
    le,
    ge,
    match,
    land,
    lor,
  };
  Op op = Op::int_lit;
  Loc loc;
  int64_t i = 0;
  std::string s;
  std::shared_ptr<PvSpec> pv;
  std::unique_ptr<Expr> a, b;
  std::unique_ptr<Regex> re;  // match with a literal pattern: compiled at load
  std::unique_ptr<Call> call;
  // A function or route runs inside this expression (it may assign a $var that a left operand
  // viewed: the interpreter then copies that left value first).
  bool has_call = false;
  int height = 1;  // of this tree: 1 for a leaf
};

struct Stmt {
  enum class Kind : uint8_t { call, assign, if_, while_, exit, drop, return_, break_, block, switch_ };
  // switch: `body` holds the statements of all cases in order; each case starts at an index.
  struct Case {
    bool is_default = false;
    Val value;  // an integer or a string literal
    size_t start = 0;
  };
  Kind kind = Kind::block;
  Loc loc;
  std::unique_ptr<Expr> expr;  // if/while condition, assign value, return value (may be null)
  std::unique_ptr<Call> call;
  std::shared_ptr<PvSpec> target;  // assign
  std::vector<Stmt> body;          // if-then, while, block
  std::vector<Stmt> else_body;
  bool has_else = false;
  std::vector<Case> cases;  // switch
};

struct Route {
  std::string name;
  Loc loc;
  std::vector<Stmt> body;
};

}  // namespace msrpd::script
