// Pseudo-variables: parsing and resolving at load ($msrp(key), $var(x), $sht(t=>k), $(pv{tr})...),
// reading and writing them when a route runs, and the transformations.

#include <algorithm>
#include <ctime>
#include <random>

#include "common/ascii.h"
#include "script/internal.h"
#include "script/lexer.h"

namespace msrpd::script {

// ---- values ----

std::optional<int64_t> parse_int(std::string_view s) {
  s = ascii::ltrim(s);
  while (!s.empty() && ascii::is_space(s.back())) s.remove_suffix(1);
  bool neg = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    neg = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!ascii::is_digit(c)) return std::nullopt;
    if (v > (INT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return neg ? -v : v;
}

int64_t leading_int(std::string_view s) {
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  int64_t n = 0;
  while (i < s.size() && ascii::is_digit(s[i]) && n < INT64_MAX / 10 - 9) n = n * 10 + (s[i++] - '0');
  return neg ? -n : n;
}

std::optional<int64_t> to_int(const Val& v) {
  if (v.is_int()) return v.i;
  if (v.is_null()) return 0;
  return parse_int(v.str());
}

void append_text(std::string& out, const Val& v) {
  if (v.is_int()) {
    out += std::to_string(v.i);
  } else if (v.is_str()) {
    out.append(v.str());
  }
}

std::string to_text(const Val& v) {
  std::string s;
  append_text(s, v);
  return s;
}

// ---- parsing ----

namespace {

Loc shift(Loc l, size_t by) {
  l.col += static_cast<uint32_t>(by);
  return l;
}

struct ClassName {
  std::string_view name;
  PvClass cls;
  bool needs_arg;
};
constexpr ClassName kClasses[] = {
    {"msrp", PvClass::msrp, true},    {"var", PvClass::var, true},        {"hdr", PvClass::hdr, true},
    {"sht", PvClass::sht, true},      {"shtex", PvClass::shtex, true},    {"si", PvClass::si, false},
    {"sp", PvClass::sp, false},       {"Ri", PvClass::Ri, false},         {"Rp", PvClass::Rp, false},
    {"proto", PvClass::proto, false}, {"pr", PvClass::proto, false},      {"au", PvClass::au, false},
    {"ar", PvClass::ar, false},       {"rm", PvClass::rm, false},         {"ci", PvClass::ci, false},
    {"pp", PvClass::pp, false},       {"RANDOM", PvClass::random, false}, {"Ts", PvClass::ts, false},
    {"null", PvClass::null_, false},  {"rc", PvClass::rc, false},         {"retcode", PvClass::rc, false},
    {"conid", PvClass::conid, false},
};

constexpr std::string_view kMsrpKeys[relay::kMsrpKeyCount] = {
    "buf",     "body",     "code",     "hdrs",     "msgid",   "method",  "buflen",
    "sessid",  "reason",   "crthop",   "bodylen",  "transid", "prevhop", "nexthop",
    "lasthop", "firsthop", "prevhops", "nexthops", "srcaddr", "srcsock", "conid",
};

void parse_transform(const SourceText& src, std::string_view tr, Loc loc, PvSpec& pv) {
  Transform t;
  std::vector<std::string_view> parts;
  size_t b = 0;
  for (size_t i = 0; i <= tr.size(); ++i) {
    if (i == tr.size() || tr[i] == ',') {
      parts.push_back(tr.substr(b, i - b));
      b = i + 1;
    }
  }
  std::string_view name = parts[0];
  auto no_args = [&] {
    if (parts.size() != 1) src.fail(loc, "transformation {" + std::string(name) + "} takes no arguments");
  };
  if (name == "s.int") {
    no_args();
    t.kind = Transform::Kind::s_int;
  } else if (name == "s.len") {
    no_args();
    t.kind = Transform::Kind::s_len;
  } else if (name == "s.tolower") {
    no_args();
    t.kind = Transform::Kind::s_tolower;
  } else if (name == "s.toupper") {
    no_args();
    t.kind = Transform::Kind::s_toupper;
  } else if (name == "s.substr") {
    if (parts.size() != 3)
      src.fail(loc, "expected {s.substr,offset,length}, found {" + std::string(tr) + "}");
    auto o = parse_int(parts[1]);
    auto l = parse_int(parts[2]);
    if (!o || !l)
      src.fail(loc, "expected integers in {s.substr,offset,length}, found {" + std::string(tr) + "}");
    t.kind = Transform::Kind::s_substr;
    t.offset = *o;
    t.len = *l;
  } else if (name.substr(0, 8) == "msrpuri.") {
    no_args();
    auto key = msrp::msrpuri_key(name.substr(8));
    if (!key) {
      src.fail(loc, "unknown transformation {" + std::string(name) +
                        "} (expected msrpuri.user, host, port, session, proto, params, userinfo or scheme)");
    }
    t.part = *key;
    t.kind = Transform::Kind::msrpuri;
  } else {
    src.fail(loc, "unknown transformation {" + std::string(name) + "}");
  }
  pv.transforms.push_back(t);
}

void resolve_class(const SourceText& src, std::string_view name, std::string_view arg, bool has_arg, Loc loc,
                   LoadState& ls, PvSpec& pv) {
  const ClassName* c = nullptr;
  for (const auto& k : kClasses)
    if (k.name == name) c = &k;
  if (!c) src.fail(loc, "unknown pseudo-variable class '$" + std::string(name) + "'");
  pv.cls = c->cls;
  if (c->needs_arg && (!has_arg || arg.empty()))
    src.fail(loc, "expected '$" + std::string(name) + "(name)', found '" + pv.text + "'");
  if (!c->needs_arg && has_arg)
    src.fail(loc, "pseudo-variable '$" + std::string(name) + "' takes no name, found '" + pv.text + "'");
  switch (pv.cls) {
    case PvClass::msrp: {
      for (int i = 0; i < relay::kMsrpKeyCount; ++i) {
        if (kMsrpKeys[i] == arg) {
          pv.key = static_cast<relay::MsrpKey>(i);
          return;
        }
      }
      src.fail(
          loc,
          "unknown $msrp key '" + std::string(arg) +
              "' (expected buf, body, code, hdrs, msgid, method, buflen, sessid, reason, crthop, bodylen, "
              "transid, prevhop, nexthop, lasthop, firsthop, prevhops, nexthops, srcaddr, srcsock or conid)");
    }
    case PvClass::var:
      for (char ch : arg) {
        if (!is_ident_char(ch) && ch != '.' && ch != '-')
          src.fail(loc, "bad $var name '" + std::string(arg) + "'");
      }
      pv.index = ls.var_slot(arg);
      return;
    case PvClass::hdr:
      pv.name.assign(arg);
      return;
    case PvClass::sht:
    case PvClass::shtex: {
      size_t sep = arg.find("=>");
      if (sep == std::string_view::npos)
        src.fail(loc, "expected '$" + std::string(name) + "(table=>key)', found '" + pv.text + "'");
      std::string table(arg.substr(0, sep));
      while (!table.empty() && table.back() == ' ') table.pop_back();
      auto it = ls.htable_index.find(table);
      if (it == ls.htable_index.end()) {
        src.fail(loc, "unknown htable '" + table + "' (declare it with modparam(\"htable\", \"htable\", \"" +
                          table + "=>size=8;\"))");
      }
      pv.index = it->second;
      pv.key_fmt = parse_format(src, arg.substr(sep + 2), loc, ls);
      return;
    }
    default:
      return;
  }
}

}  // namespace

std::shared_ptr<PvSpec> parse_pv(const SourceText& src, std::string_view text, Loc loc, LoadState& ls) {
  auto pv = std::make_shared<PvSpec>();
  pv->text.assign(text);
  pv->loc = loc;
  if (text.size() < 2 || text[0] != '$')
    src.fail(loc, "expected a pseudo-variable, found '" + std::string(text) + "'");
  std::string_view body = text.substr(1);
  std::string_view trs;
  if (body.front() == '(') {
    if (body.back() != ')') src.fail(loc, "expected ')' at the end of '" + std::string(text) + "'");
    body = body.substr(1, body.size() - 2);
    // name[(arg)] then {tr}...
    int depth = 0;
    size_t i = 0;
    for (; i < body.size(); ++i) {
      if (body[i] == '(') {
        ++depth;
      } else if (body[i] == ')') {
        --depth;
      } else if (body[i] == '{' && depth == 0) {
        break;
      }
    }
    trs = body.substr(i);
    body = body.substr(0, i);
  }
  size_t n = 0;
  while (n < body.size() && is_ident_char(body[n])) ++n;
  std::string_view name = body.substr(0, n);
  if (name.empty()) src.fail(loc, "expected a pseudo-variable name in '" + std::string(text) + "'");
  std::string_view arg;
  bool has_arg = false;
  if (n < body.size()) {
    if (body[n] != '(' || body.back() != ')')
      src.fail(loc, "expected '(' or the end of the pseudo-variable name in '" + std::string(text) + "'");
    arg = body.substr(n + 1, body.size() - n - 2);
    has_arg = true;
  }
  resolve_class(src, name, arg, has_arg, loc, ls, *pv);
  while (!trs.empty()) {
    if (trs.front() != '{') src.fail(loc, "expected '{' of a transformation in '" + std::string(text) + "'");
    size_t e = trs.find('}');
    if (e == std::string_view::npos)
      src.fail(loc, "expected '}' closing a transformation in '" + std::string(text) + "'");
    parse_transform(src, trs.substr(1, e - 1), loc, *pv);
    trs = trs.substr(e + 1);
  }
  return pv;
}

Format parse_format(const SourceText& src, std::string_view text, Loc loc, LoadState& ls) {
  Format f;
  std::string lit;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '$' && i + 1 < text.size() && (ascii::is_alpha(text[i + 1]) || text[i + 1] == '(')) {
      size_t b = i++;
      while (i < text.size() && is_ident_char(text[i])) ++i;
      if (i < text.size() && text[i] == '(') {
        int depth = 0;
        for (; i < text.size(); ++i) {
          if (text[i] == '(') ++depth;
          if (text[i] == ')' && --depth == 0) break;
        }
        if (i >= text.size()) src.fail(shift(loc, b), "unterminated pseudo-variable in string: missing ')'");
        ++i;
      }
      if (!lit.empty()) f.segments.push_back({std::move(lit), nullptr});
      lit.clear();
      f.segments.push_back({{}, parse_pv(src, text.substr(b, i - b), shift(loc, b), ls)});
      continue;
    }
    lit.push_back(c);
    ++i;
  }
  if (!lit.empty() || f.segments.empty()) f.segments.push_back({std::move(lit), nullptr});
  return f;
}

// ---- running ----

namespace {

thread_local std::mt19937 tl_rng{std::random_device{}()};

Val apply_transform(const Transform& t, Val v) {
  switch (t.kind) {
    case Transform::Kind::s_int: {
      if (v.is_int()) return v;
      return Val::of_int(leading_int(v.str()));
    }
    case Transform::Kind::s_len:
      return Val::of_int(static_cast<int64_t>(v.is_int() ? std::to_string(v.i).size() : v.str().size()));
    case Transform::Kind::s_tolower:
    case Transform::Kind::s_toupper: {
      std::string s = to_text(v);
      for (char& c : s) c = t.kind == Transform::Kind::s_tolower ? ascii::lower(c) : ascii::upper(c);
      return Val::of_string(std::move(s));
    }
    case Transform::Kind::s_substr: {
      std::string s = to_text(v);
      auto size = static_cast<int64_t>(s.size());
      int64_t off = t.offset < 0 ? size + t.offset : t.offset;
      if (off < 0 || off > size) return Val::null();
      int64_t len = t.len == 0 ? size - off : (t.len < 0 ? size + t.len - off : t.len);
      if (len < 0) return Val::null();
      if (off + len > size) len = size - off;
      return Val::of_string(s.substr(static_cast<size_t>(off), static_cast<size_t>(len)));
    }
    case Transform::Kind::msrpuri: {
      if (v.is_null()) return Val::null();
      std::string s = to_text(v);
      auto parts = msrp::split_msrpuri(s);
      if (!parts) return Val::null();
      std::string_view part = msrp::msrpuri_get(*parts, t.part);
      return Val::of_string(std::string(part));
    }
  }
  return v;
}

Val from_context(const relay::Value& v) {
  switch (v.kind) {
    case relay::Value::Kind::null:
      return Val::null();
    case relay::Value::Kind::integer:
      return Val::of_int(v.i);
    case relay::Value::Kind::string:
      return Val::of_view(v.s);
  }
  return Val::null();
}

Val read_pv(Run& run, const PvSpec& pv) {
  switch (pv.cls) {
    case PvClass::msrp:
      return from_context(run.ctx.msrp(pv.key));
    case PvClass::var:
      if (static_cast<size_t>(pv.index) < run.env.vars.size()) {
        const Val& v = run.env.vars[pv.index];
        return v.is_str() ? Val::of_view(v.str()) : v;
      }
      return Val::of_int(0);
    case PvClass::hdr: {
      auto h = run.ctx.header(pv.name);
      return h ? Val::of_view(*h) : Val::null();
    }
    case PvClass::si:
      return Val::of_view(run.ctx.source().ip);
    case PvClass::sp:
      return Val::of_int(run.ctx.source().port);
    case PvClass::Ri:
      return Val::of_view(run.ctx.source().local_ip);
    case PvClass::Rp:
      return Val::of_int(run.ctx.source().local_port);
    case PvClass::proto:
      return Val::of_view(run.ctx.source().proto);
    case PvClass::conid:
      return Val::of_int(static_cast<int64_t>(run.ctx.source().conid));
    case PvClass::au:
      return auth_username(run);
    case PvClass::ar:
      return auth_realm(run);
    case PvClass::rm: {
      auto k = run.ctx.kind();
      if (k == relay::MessageKind::msrp_request || k == relay::MessageKind::msrp_reply)
        return Val::of_view("MSRP");
      return Val::of_view(run.ctx.method());
    }
    case PvClass::ci: {
      auto h = run.ctx.header("Call-ID");
      return h ? Val::of_view(*h) : Val::null();
    }
    case PvClass::pp:
      return Val::of_int(run.env.worker_id);
    case PvClass::random:
      return Val::of_int(static_cast<int64_t>(tl_rng() & 0x7fffffff));
    case PvClass::ts:
      return Val::of_int(static_cast<int64_t>(time(nullptr)));
    case PvClass::null_:
      return Val::null();
    case PvClass::rc:
      return Val::of_int(run.last_rc);
    case PvClass::sht:
    case PvClass::shtex: {
      std::string key;
      render(run, pv.key_fmt, key);
      const HTable& t = *run.s.htables[pv.index];
      if (pv.cls == PvClass::sht) return t.get(key, time(nullptr));
      return Val::of_int(t.expire_in(key, time(nullptr)));
    }
  }
  return Val::null();
}

}  // namespace

Val eval_pv(Run& run, const PvSpec& pv) {
  Val v = read_pv(run, pv);
  for (const Transform& t : pv.transforms) v = apply_transform(t, std::move(v));
  return v;
}

void render(Run& run, const Format& f, std::string& out) {
  for (const auto& seg : f.segments) {
    if (!seg.pv) {
      out.append(seg.text);
      continue;
    }
    Val v = eval_pv(run, *seg.pv);
    // Kamailio prints a null pseudo-variable as "<null>" in formatted strings.
    if (v.is_null()) {
      out.append("<null>");
    } else {
      append_text(out, v);
    }
  }
}

bool assign_pv(Run& run, const PvSpec& pv, Val v) {
  switch (pv.cls) {
    case PvClass::var: {
      if (static_cast<size_t>(pv.index) >= run.env.vars.size())
        run.env.vars.resize(pv.index + 1, Val::of_int(0));
      if (v.is_null()) v = Val::of_int(0);
      v.own();
      run.env.vars[pv.index] = std::move(v);
      return true;
    }
    case PvClass::sht:
    case PvClass::shtex: {
      std::string key;
      render(run, pv.key_fmt, key);
      HTable& t = *run.s.htables[pv.index];
      if (pv.cls == PvClass::sht) {
        t.set(key, v, time(nullptr));
        return true;
      }
      auto secs = to_int(v);
      if (!secs) {
        run.log(kLogErr, run.s.where(pv.loc) + ": $shtex needs an integer\n");
        return false;
      }
      t.set_expire(key, *secs, time(nullptr));
      return true;
    }
    default:
      return false;
  }
}

}  // namespace msrpd::script
