// Function arguments fixed up at load: the one path for the config language (a call written in a
// route) and for KEMI (a call from Lua with values). What differs between the two callers is said
// by RawArg (whether strings are formats, how strict a level is, how a message names the value).

#include <algorithm>

#include "common/ascii.h"
#include "common/host_port.h"
#include "db/db.h"
#include "script/internal.h"
#include "script/lexer.h"
#include "script/log_levels.h"

namespace msrpd::script {

std::optional<std::string> arity_error(const FunctionDef& def, int n, std::string_view name) {
  if (n >= def.min_args && n <= def.max_args) return std::nullopt;
  std::string want = def.min_args == def.max_args
                         ? std::to_string(def.min_args)
                         : std::to_string(def.min_args) + " to " + std::to_string(def.max_args);
  return "function '" + std::string(name) + "' takes " + want + " argument" + (def.max_args == 1 ? "" : "s") +
         ", found " + std::to_string(n);
}

RawArg raw_arg(const Token& t) {
  RawArg raw;
  raw.loc = t.loc;
  raw.found = t.describe();
  switch (t.kind) {
    case Token::Kind::string:
      raw.kind = RawArg::Kind::string;
      raw.text = t.str;
      raw.quoted = true;
      break;
    case Token::Kind::integer:
      raw.kind = RawArg::Kind::integer;
      raw.text = t.text;
      raw.ival = t.ival;
      break;
    case Token::Kind::pv:
      raw.kind = RawArg::Kind::pv;
      raw.text = t.text;
      break;
    default:
      raw.kind = RawArg::Kind::word;
      raw.text = t.text;
      break;
  }
  return raw;
}

namespace {

// The text of the argument as a format: pseudo-variables inside a string evaluated per call.
Format as_format(const SourceText& src, LoadState& ls, const RawArg& raw) {
  switch (raw.kind) {
    case RawArg::Kind::string: {
      if (!raw.formats) return Format{{{raw.text, nullptr}}};
      Loc l = raw.loc;
      if (raw.quoted) l.col += 1;  // after the opening quote
      return parse_format(src, raw.text, l, ls);
    }
    case RawArg::Kind::integer:
      return Format{{{std::to_string(raw.ival), nullptr}}};
    case RawArg::Kind::pv: {
      Format f;
      f.segments.push_back({{}, parse_pv(src, raw.text, raw.loc, ls)});
      return f;
    }
    case RawArg::Kind::word:
      break;
  }
  return Format{{{raw.text, nullptr}}};
}

}  // namespace

Result<Arg> fixup_arg(const SourceText& src, LoadState& ls, const FunctionDef& def, int i, int n,
                      const RawArg& raw) {
  Arg a;
  // Only an error needs the words (a KEMI call runs this per call).
  auto what = [&] { return "argument " + std::to_string(i + 1) + " of " + def.name + "()"; };
  auto found = [&] { return raw.found.empty() ? std::string() : ", found " + raw.found; };
  ParamKind kind = def.params[i];
  if (kind == ParamKind::level && n == 1) kind = ParamKind::str;  // xlog(fmt): no level given
  switch (kind) {
    case ParamKind::str:
      a.fmt = as_format(src, ls, raw);
      return a;
    case ParamKind::num:
      if (raw.kind == RawArg::Kind::integer) {
        a.is_const_int = true;
        a.const_int = raw.ival;
        return a;
      }
      a.fmt = as_format(src, ls, raw);
      if (a.fmt.is_constant()) {
        auto v = parse_int(a.fmt.constant());
        if (!v) return make_error(0, "expected an integer for " + what() + found());
        a.is_const_int = true;
        a.const_int = *v;
      }
      return a;
    case ParamKind::level: {
      if (raw.kind == RawArg::Kind::integer) {
        a.is_const_int = true;
        a.const_int = raw.ival;
        return a;
      }
      a.fmt = as_format(src, ls, raw);
      if (!a.fmt.is_constant()) return a;
      std::optional<int64_t> level = level_by_xlog_name(a.fmt.constant());
      if (!level && !raw.strict_level) level = parse_int(a.fmt.constant());
      if (level) {
        a.is_const_int = true;
        a.const_int = *level;
      } else if (raw.strict_level) {
        return make_error(
            0, "expected a log level (L_ALERT, L_BUG, L_CRIT, L_ERR, L_WARN, L_NOTICE, L_INFO, L_DBG) for " +
                   what() + found());
      }  // else a name read when the function runs (xlog: an unknown one is L_ERR)
      return a;
    }
    case ParamKind::pvout: {
      std::shared_ptr<PvSpec> pv = raw.pv;
      if (pv) {
      } else if (raw.kind == RawArg::Kind::pv) {
        pv = parse_pv(src, raw.text, raw.loc, ls);
      } else if (raw.kind == RawArg::Kind::string) {
        Format f = as_format(src, ls, raw);
        if (f.segments.size() == 1 && f.segments[0].pv) pv = f.segments[0].pv;
      }
      if (!pv || !pv->writable()) {
        return make_error(0,
                          "expected a writable pseudo-variable (like \"$var(x)\") for " + what() + found());
      }
      a.out = pv;
      return a;
    }
    case ParamKind::sock: {
      // A literal must be a socket's syntax here, and one of msrpd's listen sockets once those
      // are known (check_local_sockets); a value from a variable is checked when the call runs.
      // Empty: no socket (Kamailio's examples pass "" when they have none).
      a.fmt = as_format(src, ls, raw);
      if (!a.fmt.is_constant()) return a;
      std::string_view text = ascii::trim(a.fmt.constant());
      if (text.empty()) return a;
      if (auto s = SockName::parse(text); !s) {
        return make_error(0, "expected a local socket proto:ip:port (like \"tcp:127.0.0.1:5060\") for " +
                                 what() + found() + ": " + s.error().message);
      }
      // Only a call written in the config (KEMI passes values per call): its place is kept.
      if (raw.quoted) ls.data->config.local_sockets.push_back({src.where(raw.loc), std::string(text)});
      return a;
    }
    case ParamKind::htable: {
      auto it = ls.htable_index.find(raw.text);
      if (it == ls.htable_index.end()) return make_error(0, "unknown htable '" + raw.text + "' in " + what());
      a.is_const_int = true;
      a.const_int = it->second;
      return a;
    }
    case ParamKind::dbtable: {
      // Written into the SQL: a name from the config, never a value from a message.
      if (raw.kind == RawArg::Kind::pv || raw.text.find('$') != std::string::npos ||
          !db::is_identifier(raw.text)) {
        return make_error(
            0, "expected a table name ([A-Za-z_][A-Za-z0-9_]*, no pseudo-variables) for " + what() + found());
      }
      auto it = std::find(ls.db_tables.begin(), ls.db_tables.end(), raw.text);
      a.is_const_int = true;
      a.const_int = it - ls.db_tables.begin();
      if (it == ls.db_tables.end()) {
        ls.db_tables.push_back(raw.text);
        ls.db_table_locs.push_back(raw.loc);
      }
      return a;
    }
  }
  return a;
}

}  // namespace msrpd::script
