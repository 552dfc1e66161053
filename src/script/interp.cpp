// The interpreter: runs a resolved route for a relay::Context. No name lookups here: functions are
// pointers, pseudo-variables resolved specs, routes indices.

#include <cstdio>

#include "common/ascii.h"
#include "common/log.h"

#include "script/internal.h"

namespace msrpd::script {

namespace {

constexpr int kMaxRouteDepth = 100;
constexpr int kMaxWhileLoops = 100000;

int call_function(Run& run, const Call& c) {
  int rc = c.route >= 0 ? run_route(run, c.route) : c.def->fn(run, c);
  run.last_rc = rc;
  // Kamailio: a function (or route) returning 0 ends the script.
  if (rc == 0 && run.flow == Run::Flow::next) run.flow = Run::Flow::exit;
  return rc;
}

bool truth(const Val& v) {
  if (v.is_int()) return v.i != 0;
  if (v.is_str()) return !v.str().empty();
  return false;
}

// The condition value of an expression: calls are true when they return > 0.
bool cond(Run& run, const Expr& e) {
  switch (e.op) {
    case Expr::Op::call:
      return call_function(run, *e.call) > 0;
    case Expr::Op::lnot: {
      bool v = cond(run, *e.a);
      return !v;
    }
    case Expr::Op::land:
      return cond(run, *e.a) && run.flow == Run::Flow::next && cond(run, *e.b);
    case Expr::Op::lor:
      return (cond(run, *e.a) || (run.flow == Run::Flow::next && cond(run, *e.b)));
    default:
      return truth(eval(run, e));
  }
}

// == and !=: null equals only null; otherwise the left operand's type decides (Kamailio).
bool equal(const Val& a, const Val& b, bool nocase) {
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (a.is_int()) {
    auto r = to_int(b);
    return r && *r == a.i;
  }
  if (b.is_int()) return a.str() == std::to_string(b.i);
  return nocase ? ascii::iequals(a.str(), b.str()) : a.str() == b.str();
}

Val runtime_error(Run& run, const Expr& e, const std::string& what) {
  run.log(kLogErr, run.s.where(e.loc) + ": " + what + "\n");
  return Val::null();
}

}  // namespace

void Run::log(int level, std::string_view text) const {
  if (env.log) {
    env.log(level, text);
    return;
  }
  // The daemon's logger adds time, level and thread, and ends the line itself.
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  common::log_write(level, "%s%.*s", s.config.xlog.prefix.c_str(), static_cast<int>(text.size()),
                    text.data());
}

bool Run::log_enabled(int level) const {
  // With a sink of its own (tests, embedders) the script's debug= decides; in the daemon the
  // common logger's level (debug= plus the command line's -d) does.
  return env.log ? level <= s.config.debug : common::log_enabled(level);
}

std::string_view arg_str(Run& run, const Arg& a, std::string& scratch) {
  if (a.fmt.is_constant()) return a.fmt.constant();
  scratch.clear();
  render(run, a.fmt, scratch);
  return scratch;
}

std::optional<int64_t> arg_int(Run& run, const Arg& a) {
  if (a.is_const_int) return a.const_int;
  std::string scratch;
  return parse_int(arg_str(run, a, scratch));
}

Val eval(Run& run, const Expr& e) {
  switch (e.op) {
    case Expr::Op::int_lit:
      return Val::of_int(e.i);
    case Expr::Op::str_lit:
      return Val::of_view(e.s);
    case Expr::Op::pv:
      return eval_pv(run, *e.pv);
    case Expr::Op::method:
      return Val::of_view(run.ctx.method());
    case Expr::Op::call:
      return Val::of_int(call_function(run, *e.call));
    case Expr::Op::lnot:
    case Expr::Op::land:
    case Expr::Op::lor:
      return Val::of_int(cond(run, e) ? 1 : 0);
    case Expr::Op::neg: {
      Val v = eval(run, *e.a);
      auto i = to_int(v);
      if (!i) return runtime_error(run, e, "unary '-' on a string that is not a number");
      return Val::of_int(-*i);
    }
    case Expr::Op::cast_int: {
      Val v = eval(run, *e.a);
      if (v.is_int()) return v;
      if (v.is_null()) return Val::of_int(0);
      // (int) takes the leading number of a string, 0 when there is none (Kamailio str2sint-like).
      return Val::of_int(leading_int(ascii::ltrim(v.str())));
    }
    case Expr::Op::defined:
      return Val::of_int(eval(run, *e.a).is_null() ? 0 : 1);
    case Expr::Op::strlen: {
      Val v = eval(run, *e.a);
      return Val::of_int(v.is_str() ? static_cast<int64_t>(v.str().size())
                                    : (v.is_int() ? static_cast<int64_t>(std::to_string(v.i).size()) : 0));
    }
    case Expr::Op::strempty: {
      Val v = eval(run, *e.a);
      return Val::of_int(v.is_null() || (v.is_str() && v.str().empty()) ? 1 : 0);
    }
    case Expr::Op::cast_str: {
      Val v = eval(run, *e.a);
      if (v.is_str()) return v;
      return Val::of_string(to_text(v));
    }
    case Expr::Op::add: {
      Val a = eval(run, *e.a);
      if (e.b->has_call) a.own();
      Val b = eval(run, *e.b);
      // Integer addition when the left is an integer (or null) and the right one is numeric;
      // otherwise string concatenation (Kamailio: the left operand's type decides; a non-numeric
      // right string concatenates rather than failing).
      if (!a.is_str() && !b.is_str()) return Val::of_int(a.i + b.i);
      if (!a.is_str()) {
        if (auto bi = parse_int(b.str()); bi && a.is_int()) return Val::of_int(a.i + *bi);
      }
      std::string s;
      append_text(s, a);
      append_text(s, b);
      return Val::of_string(std::move(s));
    }
    case Expr::Op::sub:
    case Expr::Op::mul:
    case Expr::Op::div:
    case Expr::Op::mod:
    case Expr::Op::band:
    case Expr::Op::bor:
    case Expr::Op::lt:
    case Expr::Op::gt:
    case Expr::Op::le:
    case Expr::Op::ge: {
      Val a = eval(run, *e.a);
      if (e.b->has_call) a.own();
      Val b = eval(run, *e.b);
      auto x = to_int(a);
      auto y = to_int(b);
      if (!x || !y) {
        // Kamailio: < > <= >= and arithmetic are integer operations.
        if (e.op >= Expr::Op::lt) return Val::of_int(0);
        return runtime_error(run, e, "integer operation on a string that is not a number");
      }
      switch (e.op) {
        case Expr::Op::sub:
          return Val::of_int(*x - *y);
        case Expr::Op::mul:
          return Val::of_int(*x * *y);
        case Expr::Op::div:
          if (*y == 0) return runtime_error(run, e, "division by zero");
          return Val::of_int(*x / *y);
        case Expr::Op::mod:
          if (*y == 0) return runtime_error(run, e, "modulo by zero");
          return Val::of_int(*x % *y);
        case Expr::Op::band:
          return Val::of_int(*x & *y);
        case Expr::Op::bor:
          return Val::of_int(*x | *y);
        case Expr::Op::lt:
          return Val::of_int(*x < *y);
        case Expr::Op::gt:
          return Val::of_int(*x > *y);
        case Expr::Op::le:
          return Val::of_int(*x <= *y);
        default:
          return Val::of_int(*x >= *y);
      }
    }
    case Expr::Op::eq:
    case Expr::Op::ne: {
      Val a = eval(run, *e.a);
      if (e.b->has_call) a.own();
      Val b = eval(run, *e.b);
      bool r = equal(a, b, e.a->op == Expr::Op::method);
      return Val::of_int(e.op == Expr::Op::eq ? r : !r);
    }
    case Expr::Op::match: {
      Val a = eval(run, *e.a);
      std::string subject = to_text(a);
      if (e.re) return Val::of_int(e.re->match(subject) ? 1 : 0);
      Regex re;
      std::string err = re.compile(to_text(eval(run, *e.b)));
      if (!err.empty()) return runtime_error(run, e, "bad regular expression: " + err);
      return Val::of_int(re.match(subject) ? 1 : 0);
    }
  }
  return Val::null();
}

namespace {

void exec_block(Run& run, const std::vector<Stmt>& body);

void exec(Run& run, const Stmt& st) {
  switch (st.kind) {
    case Stmt::Kind::call:
      call_function(run, *st.call);
      return;
    case Stmt::Kind::assign: {
      Val v = eval(run, *st.expr);
      if (run.flow != Run::Flow::next) return;
      assign_pv(run, *st.target, std::move(v));
      return;
    }
    case Stmt::Kind::if_: {
      bool c = cond(run, *st.expr);
      if (run.flow != Run::Flow::next) return;
      if (c) {
        exec_block(run, st.body);
      } else if (st.has_else) {
        exec_block(run, st.else_body);
      }
      return;
    }
    case Stmt::Kind::while_: {
      for (int n = 0;; ++n) {
        if (n >= kMaxWhileLoops) {
          run.log(kLogErr, run.s.where(st.loc) + ": while loop stopped after 100000 iterations\n");
          return;
        }
        bool c = cond(run, *st.expr);
        if (run.flow != Run::Flow::next || !c) return;
        exec_block(run, st.body);
        if (run.flow == Run::Flow::brk) {
          run.flow = Run::Flow::next;
          return;
        }
        if (run.flow != Run::Flow::next) return;
      }
    }
    case Stmt::Kind::exit:
      run.flow = Run::Flow::exit;
      return;
    case Stmt::Kind::drop:
      run.flow = Run::Flow::drop;
      return;
    case Stmt::Kind::return_: {
      int rc = 1;
      if (st.expr) {
        Val v = eval(run, *st.expr);
        if (run.flow != Run::Flow::next) return;
        rc = static_cast<int>(to_int(v).value_or(-1));
      }
      run.retcode = rc;
      run.flow = Run::Flow::ret;
      return;
    }
    case Stmt::Kind::break_:
      run.flow = Run::Flow::brk;
      return;
    case Stmt::Kind::block:
      exec_block(run, st.body);
      return;
    case Stmt::Kind::switch_: {
      Val v = eval(run, *st.expr);
      if (run.flow != Run::Flow::next) return;
      // A matching case wins over a default written anywhere.
      const Stmt::Case* chosen = nullptr;
      for (const auto& c : st.cases) {
        if (!c.is_default && equal(v, c.value, false)) {
          chosen = &c;
          break;
        }
      }
      for (const auto& c : st.cases)
        if (!chosen && c.is_default) chosen = &c;
      if (!chosen) return;
      // Cases fall through to the next one until a break.
      for (size_t i = chosen->start; i < st.body.size(); ++i) {
        exec(run, st.body[i]);
        if (run.flow == Run::Flow::brk) {
          run.flow = Run::Flow::next;
          return;
        }
        if (run.flow != Run::Flow::next) return;
      }
      return;
    }
  }
}

void exec_block(Run& run, const std::vector<Stmt>& body) {
  for (const Stmt& st : body) {
    exec(run, st);
    if (run.flow != Run::Flow::next) return;
  }
}

RunResult run_top(const ScriptData& s, int route, relay::Context& ctx, WorkerEnv& env) {
  RunResult r;
  if (route < 0) return r;
  WorkerEnv::State& st = env.state();
  if (st.vars.size() < s.var_names.size()) st.vars.resize(s.var_names.size(), Val::of_int(0));
  st.last_auth = 0;
  Run run{s, ctx, st};
  r.code = run_route(run, route);
  r.dropped = run.flow == Run::Flow::drop;
  r.exited = run.flow == Run::Flow::exit;
  return r;
}

}  // namespace

int run_route(Run& run, int route) {
  if (run.depth >= kMaxRouteDepth) {
    run.log(kLogErr, "route(" + run.s.routes[route].name + "): more than 100 nested route calls\n");
    return -1;
  }
  ++run.depth;
  int saved = run.retcode;
  run.retcode = 1;
  exec_block(run, run.s.routes[route].body);
  int rc = run.retcode;
  run.retcode = saved;
  --run.depth;
  if (run.flow == Run::Flow::ret || run.flow == Run::Flow::brk) {
    run.flow = Run::Flow::next;
    // Kamailio: return(0) ends the whole script, like exit.
    if (rc == 0) run.flow = Run::Flow::exit;
  }
  return rc;
}

// ---- public API ----

const Config& Script::config() const {
  return data_->config;
}
const std::vector<std::string>& Script::warnings() const {
  return data_->warnings;
}
bool Script::has_request_route() const {
  return data_ && data_->request_route >= 0;
}
bool Script::has_reply_route() const {
  return data_ && data_->reply_route >= 0;
}
bool Script::has_event_route(std::string_view name) const {
  return data_ && data_->event_routes.find(name) != data_->event_routes.end();
}

RunResult Script::run_request_route(relay::Context& ctx, WorkerEnv& env) const {
  return run_top(*data_, data_->request_route, ctx, env);
}
RunResult Script::run_reply_route(relay::Context& ctx, WorkerEnv& env) const {
  return run_top(*data_, data_->reply_route, ctx, env);
}
RunResult Script::run_event_route(relay::Context& ctx, WorkerEnv& env) const {
  return run_top(*data_, data_->frame_in_route, ctx, env);
}
RunResult Script::run_event_route(std::string_view name, relay::Context& ctx, WorkerEnv& env) const {
  auto it = data_->event_routes.find(name);
  return run_top(*data_, it == data_->event_routes.end() ? -1 : it->second, ctx, env);
}

size_t Script::clean_expired(time_t now) const {
  size_t n = 0;
  for (const auto& t : data_->htables) n += t->clean(now);
  if (data_->auth) sweep_nonces(*data_->auth);
  return n;
}

HTable* Script::htable(std::string_view name) const {
  for (const auto& t : data_->htables)
    if (t->def().name == name) return t.get();
  return nullptr;
}

WorkerEnv::WorkerEnv(const Script& script, int worker_id) : state_(std::make_unique<State>()) {
  state_->worker_id = worker_id;
  if (script.loaded()) state_->vars.assign(script.data().var_names.size(), Val::of_int(0));
}
WorkerEnv::~WorkerEnv() = default;
int WorkerEnv::worker_id() const {
  return state_->worker_id;
}
void WorkerEnv::set_log_sink(LogSink sink) {
  state_->log = std::move(sink);
}
void WorkerEnv::log(int level, std::string_view text) const {
  if (state_->log) {
    state_->log(level, text);
    return;
  }
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  MSRPD_LOG(level, "%.*s", static_cast<int>(text.size()), text.data());
}

}  // namespace msrpd::script
