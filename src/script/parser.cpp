// The recursive-descent parser: preprocessed text -> resolved routes. Every name (function,
// pseudo-variable, route, htable) is resolved here; an error names file:line:column.

#include <algorithm>

#include "script/internal.h"
#include "script/lexer.h"

namespace msrpd::script {

namespace {

// How deep a config may nest (Lua's LUAI_MAXCCALLS is 200): the parser and the interpreter recurse
// once per level, and a config nested 10,000 deep must be refused, not overflow the stack.
constexpr int kMaxExprNesting = 200;  // parentheses, unary operators, operands of binary ones
constexpr int kMaxStmtNesting = 200;  // blocks, if/else, while, switch inside each other
constexpr int kMaxExprHeight = 1000;  // operators inside each other in the tree the interpreter walks

class Parser {
 public:
  Parser(const SourceText& src, LoadState& ls) : src_(src), lex_(src), ls_(ls) {}

  void parse_all() {
    advance();
    while (tok_.kind != Token::Kind::end) {
      if (tok_.is_op(";")) {
        advance();
        continue;
      }
      if (tok_.kind != Token::Kind::ident)
        expected("a global parameter, loadmodule, modparam or a route block");
      std::string word(tok_.text);
      if (word == "loadmodule" || word == "loadmodulex") {
        advance();
        if (tok_.kind != Token::Kind::string) expected("a module file name in quotes after loadmodule");
        load_module(ls_, tok_.str, tok_.loc);
        advance();
      } else if (word == "modparam" || word == "modparamx") {
        parse_modparam();
      } else if (word == "cfgengine") {
        parse_cfgengine();
      } else if (is_route_keyword(word)) {
        parse_route_def(word);
      } else {
        Token name = tok_;
        advance();
        if (tok_.is_op("{") || tok_.is_op("[")) {
          src_.fail(name.loc,
                    "unknown route block '" + word +
                        "' (expected request_route, reply_route, route[NAME] or event_route[NAME])");
        }
        if (!tok_.is_op("=")) expected("'=' after the global parameter '" + word + "'");
        Loc vloc;
        std::string raw = lex_.raw_to_eol(&vloc);
        set_core_param(ls_, word, name.loc, raw, vloc);
        advance();
      }
    }
    for (const auto& p : pending_) {
      auto it = ls_.data->named_routes.find(p.name);
      if (it == ls_.data->named_routes.end()) src_.fail(p.loc, "route '" + p.name + "' is not defined");
      p.call->route = it->second;
    }
  }

 private:
  struct PendingRoute {
    Call* call;
    std::string name;
    Loc loc;
  };

  const SourceText& src_;
  Lexer lex_;
  LoadState& ls_;
  Token tok_;
  std::vector<PendingRoute> pending_;

  void advance() { tok_ = lex_.next(); }
  [[noreturn]] void expected(const std::string& what) {
    src_.fail(tok_.loc, "expected " + what + ", found " + tok_.describe());
  }
  void expect_op(std::string_view op, const char* context = nullptr) {
    if (!tok_.is_op(op)) expected("'" + std::string(op) + "'" + (context ? std::string(" ") + context : ""));
    advance();
  }

  static bool is_route_keyword(std::string_view w) {
    return w == "request_route" || w == "route" || w == "reply_route" || w == "onreply_route" ||
           w == "failure_route" || w == "branch_route" || w == "event_route" || w == "onsend_route";
  }

  // cfgengine "lua" (Kamailio also accepts `cfgengine = "lua"`): which language routes.
  void parse_cfgengine() {
    ls_.cfgengine_loc = tok_.loc;
    advance();
    if (tok_.is_op("=")) advance();
    if (tok_.kind != Token::Kind::string)
      expected("an engine name in quotes after cfgengine (\"native\" or \"lua\")");
    if (tok_.str != "native" && tok_.str != "lua") {
      src_.fail(tok_.loc,
                "cfgengine \"" + tok_.str + "\" is not provided by msrpd (expected \"native\" or \"lua\")");
    }
    ls_.data->config.cfgengine = tok_.str;
    advance();
  }

  // modparam("module", "param", value)
  void parse_modparam() {
    advance();
    expect_op("(", "after modparam");
    if (tok_.kind != Token::Kind::string) expected("a module name in quotes");
    std::string module = tok_.str;
    advance();
    expect_op(",");
    if (tok_.kind != Token::Kind::string) expected("a parameter name in quotes");
    std::string param = tok_.str;
    Loc ploc = tok_.loc;
    advance();
    expect_op(",");
    Val v;
    if (tok_.kind == Token::Kind::string) {
      std::string s = tok_.str;
      advance();
      while (tok_.kind == Token::Kind::string) {
        s += tok_.str;
        advance();
      }
      v = Val::of_string(std::move(s));
    } else if (tok_.kind == Token::Kind::integer) {
      v = Val::of_int(tok_.ival);
      advance();
    } else if (tok_.is_op("-")) {
      advance();
      if (tok_.kind != Token::Kind::integer) expected("an integer after '-'");
      v = Val::of_int(-tok_.ival);
      advance();
    } else {
      expected("a string or an integer value");
    }
    expect_op(")", "closing modparam");
    set_modparam(ls_, module, param, v, ploc);
  }

  void parse_route_def(const std::string& kw) {
    Loc kloc = tok_.loc;
    advance();
    std::string name;
    Loc nloc = kloc;
    if (tok_.is_op("[")) {
      name = lex_.raw_until(']', &nloc);
      if (name.size() >= 2 && (name.front() == '"' || name.front() == '\'') && name.back() == name.front())
        name = name.substr(1, name.size() - 2);
      if (name.empty()) src_.fail(nloc, "expected a route name inside '[ ]'");
      advance();
    }
    int index = declare_route(ls_, kw, name, kloc, nloc, tok_.describe());
    std::string label = ls_.data->routes[index].name;
    std::vector<Stmt> body;
    if (!tok_.is_op("{")) expected("'{' starting the body of " + label);
    parse_block(body);
    ls_.data->routes[index].body = std::move(body);
  }

  // '{' statements '}'
  void parse_block(std::vector<Stmt>& out) {
    expect_op("{");
    while (!tok_.is_op("}")) {
      if (tok_.kind == Token::Kind::end) expected("'}'");
      parse_statement(out);
    }
    advance();
  }

  void expect_semicolon() {
    if (!tok_.is_op(";")) expected("';'");
    advance();
  }

  // A statement, or a block, as the body of if/else/while.
  std::vector<Stmt> parse_body() {
    std::vector<Stmt> body;
    if (tok_.is_op("{")) {
      parse_block(body);
    } else {
      parse_statement(body);
    }
    return body;
  }

  void parse_statement(std::vector<Stmt>& out) {
    Level level(*this, stmt_depth_, kMaxStmtNesting, "statements");
    Stmt st;
    st.loc = tok_.loc;
    if (tok_.is_op("{")) {
      st.kind = Stmt::Kind::block;
      parse_block(st.body);
      out.push_back(std::move(st));
      return;
    }
    if (tok_.is_op(";")) {
      advance();
      return;
    }
    if (tok_.kind == Token::Kind::pv) {
      st.kind = Stmt::Kind::assign;
      st.target = parse_pv(src_, tok_.text, tok_.loc, ls_);
      if (!st.target->writable()) {
        src_.fail(tok_.loc,
                  "cannot assign to '" + st.target->text +
                      "' (only $var(name), $sht(table=>key) and $shtex(table=>key) can be assigned)");
      }
      advance();
      if (!tok_.is_op("=")) expected("'=' after " + st.target->text);
      advance();
      st.expr = parse_expr();
      expect_semicolon();
      out.push_back(std::move(st));
      return;
    }
    if (tok_.kind != Token::Kind::ident) expected("a statement");
    std::string_view w = tok_.text;
    if (w == "if") {
      // Kamailio's grammar is `if exp stm`: the parentheses are those of the expression, so
      // `if ($a) && ($b) {` is valid; an `if` must still be followed by a condition.
      st.kind = Stmt::Kind::if_;
      advance();
      if (tok_.is_op("{") || tok_.is_op(";")) expected("a condition after if");
      st.expr = parse_expr();
      st.body = parse_body();
      if (tok_.is_ident("else")) {
        advance();
        st.has_else = true;
        st.else_body = parse_body();
      }
    } else if (w == "while") {
      st.kind = Stmt::Kind::while_;
      advance();
      if (tok_.is_op("{") || tok_.is_op(";")) expected("a condition after while");
      st.expr = parse_expr();
      st.body = parse_body();
    } else if (w == "exit" || w == "drop" || w == "break") {
      st.kind = w == "exit" ? Stmt::Kind::exit : (w == "drop" ? Stmt::Kind::drop : Stmt::Kind::break_);
      advance();
      if (st.kind != Stmt::Kind::break_ && tok_.is_op("(")) {  // exit(); drop();
        advance();
        expect_op(")");
      }
      expect_semicolon();
    } else if (w == "return") {
      st.kind = Stmt::Kind::return_;
      advance();
      if (!tok_.is_op(";")) st.expr = parse_expr();
      expect_semicolon();
    } else if (w == "else") {
      src_.fail(tok_.loc, "'else' without 'if'");
    } else if (w == "switch") {
      parse_switch(st);
    } else if (w == "route") {
      st.kind = Stmt::Kind::call;
      st.call = parse_route_call();
      expect_semicolon();
    } else {
      st.kind = Stmt::Kind::call;
      st.call = parse_call();
      expect_semicolon();
    }
    out.push_back(std::move(st));
  }

  // switch (expr) { case 1: ... break; case "x": case "y": ... default: ... }
  void parse_switch(Stmt& st) {
    st.kind = Stmt::Kind::switch_;
    advance();
    if (tok_.is_op("{")) expected("a value to switch on");
    st.expr = parse_expr();
    expect_op("{", "starting the switch body");
    bool seen_default = false;
    while (!tok_.is_op("}")) {
      if (tok_.is_ident("case") || tok_.is_ident("default")) {
        Stmt::Case c;
        c.start = st.body.size();
        Loc l = tok_.loc;
        if (tok_.is_ident("default")) {
          if (seen_default) src_.fail(l, "second 'default' in a switch");
          seen_default = true;
          c.is_default = true;
          advance();
        } else {
          advance();
          bool neg = false;
          if (tok_.is_op("-")) {
            neg = true;
            advance();
          }
          if (tok_.kind == Token::Kind::integer) {
            c.value = Val::of_int(neg ? -tok_.ival : tok_.ival);
          } else if (tok_.kind == Token::Kind::string && !neg) {
            c.value = Val::of_string(tok_.str);
          } else {
            expected("an integer or a string after case");
          }
          advance();
        }
        expect_op(":", "after the case label");
        st.cases.push_back(std::move(c));
        continue;
      }
      if (st.cases.empty()) expected("'case' or 'default'");
      if (tok_.kind == Token::Kind::end) expected("'}'");
      parse_statement(st.body);
    }
    advance();
  }

  std::unique_ptr<Call> parse_route_call() {
    auto call = std::make_unique<Call>();
    call->loc = tok_.loc;
    advance();
    expect_op("(", "after route");
    std::string name;
    if (tok_.kind == Token::Kind::ident || tok_.kind == Token::Kind::integer) {
      name = std::string(tok_.text);
    } else if (tok_.kind == Token::Kind::string) {
      name = tok_.str;
    } else {
      expected("a route name");
    }
    Loc nloc = tok_.loc;
    advance();
    expect_op(")", "after the route name");
    pending_.push_back(PendingRoute{call.get(), name, nloc});
    return call;
  }

  std::unique_ptr<Call> parse_call() {
    auto call = std::make_unique<Call>();
    call->loc = tok_.loc;
    std::string name(tok_.text);
    const FunctionDef* def = find_function(name, ls_.loaded);
    if (!def) src_.fail(tok_.loc, "unknown function '" + name + "'");
    if (!ls_.has_module(def->module))
      src_.fail(tok_.loc, "function '" + name + "' needs loadmodule \"" + def->module + ".so\"");
    call->def = def;
    advance();
    if (!tok_.is_op("(")) expected("'(' after the function name '" + name + "'");
    advance();
    std::vector<Token> args;
    if (!tok_.is_op(")")) {
      while (true) {
        args.push_back(parse_raw_arg(name));
        if (tok_.is_op(",")) {
          advance();
          continue;
        }
        if (tok_.is_op(")")) break;
        expected("',' or ')' in the arguments of " + name + "()");
      }
    }
    advance();
    auto n = static_cast<int>(args.size());
    if (auto e = arity_error(*def, n, name)) src_.fail(call->loc, *e);
    for (int i = 0; i < n; ++i) call->args.push_back(fixup(args[i], *def, i, n));
    return call;
  }

  Token parse_raw_arg(const std::string& fname) {
    Token t = tok_;
    if (tok_.kind == Token::Kind::string) {
      advance();
      while (tok_.kind == Token::Kind::string) {  // adjacent literals concatenate
        t.str += tok_.str;
        advance();
      }
      return t;
    }
    if (tok_.kind == Token::Kind::integer || tok_.kind == Token::Kind::pv ||
        tok_.kind == Token::Kind::ident) {
      advance();
      return t;
    }
    if (tok_.is_op("-")) {
      advance();
      if (tok_.kind != Token::Kind::integer) expected("an integer after '-'");
      t = tok_;
      t.ival = -t.ival;
      t.loc = t.loc;
      advance();
      return t;
    }
    expected("an argument of " + fname + "() (a string, an integer or a pseudo-variable)");
  }

  Arg fixup(const Token& t, const FunctionDef& def, int i, int n) {
    auto a = fixup_arg(src_, ls_, def, i, n, raw_arg(t));
    if (!a) src_.fail(t.loc, a.error().message);
    return std::move(*a);
  }

  // ---- expressions ----

  std::unique_ptr<Expr> node(Expr::Op op, Loc loc, std::unique_ptr<Expr> a = nullptr,
                             std::unique_ptr<Expr> b = nullptr) {
    auto e = std::make_unique<Expr>();
    e->op = op;
    e->loc = loc;
    e->a = std::move(a);
    e->b = std::move(b);
    e->has_call = op == Expr::Op::call || (e->a && e->a->has_call) || (e->b && e->b->has_call);
    // A long chain (1 + 1 + 1 ...) is parsed in a loop but evaluated recursively: bound its height.
    e->height = 1 + std::max(e->a ? e->a->height : 0, e->b ? e->b->height : 0);
    if (e->height > kMaxExprHeight)
      src_.fail(loc, "expression more than " + std::to_string(kMaxExprHeight) + " operators deep");
    return e;
  }

  // One level deeper in the parser's recursion (Lua's enterlevel): a config nested deeper than
  // `limit` is refused at the token that crosses it, before the C++ stack runs out.
  class Level {
   public:
    Level(Parser& p, int& depth, int limit, const char* what) : depth_(depth) {
      if (++depth_ > limit)
        p.src_.fail(p.tok_.loc, std::string(what) + " nested more than " + std::to_string(limit) + " deep");
    }
    ~Level() { --depth_; }
    Level(const Level&) = delete;
    Level& operator=(const Level&) = delete;

   private:
    int& depth_;
  };

  int expr_depth_ = 0;
  int stmt_depth_ = 0;

  // Binary operators, as Lua's lparser priority[]: {left, right} priorities, higher binds tighter;
  // left == right is left-associative. '=' is listed to be refused as a comparison.
  struct BinOp {
    std::string_view op;    // operator token
    std::string_view word;  // or the keyword that spells it ("or", "and")
    Expr::Op node;
    uint8_t left, right;
  };
  static constexpr BinOp kBinOps[] = {
      {"||", "or", Expr::Op::lor, 1, 1}, {"&&", "and", Expr::Op::land, 2, 2},
      {"==", "", Expr::Op::eq, 3, 3},    {"!=", "", Expr::Op::ne, 3, 3},
      {"<", "", Expr::Op::lt, 3, 3},     {">", "", Expr::Op::gt, 3, 3},
      {"<=", "", Expr::Op::le, 3, 3},    {">=", "", Expr::Op::ge, 3, 3},
      {"=~", "", Expr::Op::match, 3, 3}, {"=", "", Expr::Op::eq, 3, 3},
      {"|", "", Expr::Op::bor, 4, 4},    {"&", "", Expr::Op::band, 4, 4},
      {"+", "", Expr::Op::add, 5, 5},    {"-", "", Expr::Op::sub, 5, 5},
      {"*", "", Expr::Op::mul, 6, 6},    {"/", "", Expr::Op::div, 6, 6},
      {"%", "", Expr::Op::mod, 6, 6},
  };
  // Unary operators bind tighter than every binary one: their operand is a unary expression.
  static constexpr int kUnaryPriority = 7;

  const BinOp* binary_op() const {
    for (const auto& b : kBinOps)
      if (tok_.is_op(b.op) || (!b.word.empty() && tok_.is_ident(b.word))) return &b;
    return nullptr;
  }

  std::unique_ptr<Expr> parse_expr() { return subexpr(0); }

  // An expression whose binary operators all bind tighter than `limit` (Lua's subexpr).
  std::unique_ptr<Expr> subexpr(int limit) {
    Level level(*this, expr_depth_, kMaxExprNesting, "expression");
    auto left = parse_unary();
    for (const BinOp* b = binary_op(); b && b->left > limit; b = binary_op()) {
      if (b->op == "=") src_.fail(tok_.loc, "expected '==' for a comparison, found '='");
      Loc l = tok_.loc;
      advance();
      auto e = node(b->node, l, std::move(left), subexpr(b->right));
      if (b->node == Expr::Op::match && e->b->op == Expr::Op::str_lit) {
        e->re = std::make_unique<Regex>();
        std::string err = e->re->compile(e->b->s);
        if (!err.empty()) src_.fail(e->b->loc, "bad regular expression \"" + e->b->s + "\": " + err);
      }
      left = std::move(e);
    }
    return left;
  }

  std::unique_ptr<Expr> parse_unary() {
    Loc l = tok_.loc;
    if (tok_.is_op("!")) {
      advance();
      return node(Expr::Op::lnot, l, subexpr(kUnaryPriority));
    }
    if (tok_.is_op("-")) {
      advance();
      if (tok_.kind == Token::Kind::integer) {
        auto e = node(Expr::Op::int_lit, l);
        e->i = -tok_.ival;
        advance();
        return e;
      }
      return node(Expr::Op::neg, l, subexpr(kUnaryPriority));
    }
    // Kamailio's rvalue operators: defined $pv, strlen(expr), strempty(expr).
    if (tok_.is_ident("defined")) {
      advance();
      return node(Expr::Op::defined, l, subexpr(kUnaryPriority));
    }
    if (tok_.is_ident("strlen") || tok_.is_ident("strempty")) {
      Expr::Op op = tok_.is_ident("strlen") ? Expr::Op::strlen : Expr::Op::strempty;
      advance();
      expect_op("(");
      auto e = node(op, l, parse_expr());
      expect_op(")");
      return e;
    }
    if (tok_.is_op("(")) {
      bool is_int = false;
      if (lex_.take_cast(&is_int)) {
        advance();
        return node(is_int ? Expr::Op::cast_int : Expr::Op::cast_str, l, subexpr(kUnaryPriority));
      }
    }
    return parse_primary();
  }

  std::unique_ptr<Expr> parse_primary() {
    Loc l = tok_.loc;
    switch (tok_.kind) {
      case Token::Kind::integer: {
        auto e = node(Expr::Op::int_lit, l);
        e->i = tok_.ival;
        advance();
        return e;
      }
      case Token::Kind::string: {
        auto e = node(Expr::Op::str_lit, l);
        e->s = tok_.str;
        advance();
        while (tok_.kind == Token::Kind::string) {
          e->s += tok_.str;
          advance();
        }
        return e;
      }
      case Token::Kind::pv: {
        auto e = node(Expr::Op::pv, l);
        e->pv = parse_pv(src_, tok_.text, l, ls_);
        advance();
        return e;
      }
      case Token::Kind::ident: {
        if (tok_.is_ident("method")) {
          advance();
          return node(Expr::Op::method, l);
        }
        auto e = node(Expr::Op::call, l);
        if (tok_.is_ident("route")) {
          e->call = parse_route_call();
          return e;
        }
        if (!find_function(tok_.text, ls_.loaded))
          src_.fail(l, "unknown function or keyword '" + std::string(tok_.text) + "' in an expression");
        e->call = parse_call();
        return e;
      }
      case Token::Kind::op:
        if (tok_.is_op("(")) {
          advance();
          auto e = parse_expr();
          expect_op(")");
          return e;
        }
        [[fallthrough]];
      default:
        expected("an expression");
    }
  }
};

Script build(const SourceText& src) {
  LoadState ls;
  ls.src = &src;
  ls.data = std::make_shared<ScriptData>();
  ls.data->files = src.files;
  for (const auto& w : src.warnings) ls.data->warnings.push_back(w);
  Parser p(src, ls);
  p.parse_all();
  finish_modules(ls);
  return Script(ls.data);
}

}  // namespace

Script load(const std::string& path) {
  return build(preprocess_file(path));
}

Script load_text(std::string_view text, const std::string& name, const std::string& dir) {
  return build(preprocess_text(text, name, dir));
}

}  // namespace msrpd::script
