// ExternalRun: pseudo-variables by name and module functions by name for the KEMI layer. Names are
// parsed with the config language's own parser (so "$msrp(x)" means the same in both), once per
// worker: parsed specs are cached, and a $var named only by the caller gets a slot of its own.

#include "script/external.h"

#include <optional>
#include <unordered_map>

#include "script/internal.h"

namespace msrpd::script {

namespace {

// The context of "no message": what code running at load (a Lua file's top level) sees.
class NullContext final : public relay::Context {
 public:
  relay::MessageKind kind() const override { return relay::MessageKind::sip_request; }
  const relay::Source& source() const override { return source_; }
  relay::Value msrp(relay::MsrpKey) override { return relay::Value::null_value(); }
  std::string_view method() const override { return {}; }
  std::optional<std::string_view> header(std::string_view) const override { return std::nullopt; }
  std::string_view head() const override { return {}; }
  int msrp_relay() override { return -1; }
  int msrp_reply(std::string_view, std::string_view, std::string_view) override { return -1; }
  int msrp_set_dst(std::string_view, std::string_view) override { return -1; }
  int msrp_relay_flags(int) override { return -1; }
  int msrp_reply_flags(int) override { return -1; }
  int msrp_cmap_save() override { return -1; }
  int msrp_cmap_lookup() override { return -1; }
  int sl_send_reply(int, std::string_view) override { return -1; }

 private:
  relay::Source source_;
};

// Parser errors read "<file>:1:1: what": the caller gives a name, not a place.
std::string without_place(const std::string& msg) {
  auto p = msg.find(": ");
  return p == std::string::npos ? msg : msg.substr(p + 2);
}

constexpr size_t kMaxCachedSpecs = 1024;

}  // namespace

struct ExternalRun::Impl {
  const Script& script;
  WorkerEnv& env;
  NullContext null_ctx;
  std::optional<Run> run;
  // What parse_pv needs: a source for messages and a LoadState whose $var slots start as the
  // script's (so the config's $var(x) and the caller's are the same variable).
  SourceText src;
  LoadState ls;
  std::unordered_map<std::string, std::shared_ptr<PvSpec>> specs;

  Impl(const Script& s, WorkerEnv& e) : script(s), env(e) {
    src.files.emplace_back();
    ls.src = &src;
    ls.data = std::make_shared<ScriptData>();
    if (s.loaded()) {
      const ScriptData& d = s.data();
      for (const auto& name : d.var_names) ls.var_slot(name);
      for (size_t i = 0; i < d.htables.size(); ++i)
        ls.htable_index.emplace(d.htables[i]->def().name, static_cast<int>(i));
      ls.loaded = d.config.loaded_modules;
    }
  }

  void bind(relay::Context& ctx) {
    run.reset();
    WorkerEnv::State& st = env.state();
    if (script.loaded() && st.vars.size() < script.data().var_names.size())
      st.vars.resize(script.data().var_names.size(), Val::of_int(0));
    st.last_auth = 0;
    run.emplace(Run{script.data(), ctx, st});
  }

  Result<std::shared_ptr<PvSpec>> spec(std::string_view name) {
    auto it = specs.find(std::string(name));
    if (it != specs.end()) return it->second;
    std::shared_ptr<PvSpec> pv;
    try {
      pv = parse_pv(src, name, Loc{0, 1, 1}, ls);
    } catch (const LoadError& e) {
      return make_error(0, without_place(e.what()));
    }
    if (specs.size() >= kMaxCachedSpecs) specs.clear();  // names built at run time: stay bounded
    specs.emplace(std::string(name), pv);
    return pv;
  }

  // A value from KEMI as an argument: strings are formats for xlog only, a level may be a number
  // or a name the function reads when it runs, a pseudo-variable name comes from the cache.
  Result<Arg> arg(const FunctionDef& def, int i, int n, const Val& v) {
    auto what = [&] { return "argument " + std::to_string(i + 1) + " of " + def.name + "()"; };
    RawArg raw;
    raw.loc = Loc{0, 1, 1};
    raw.formats = std::string_view(def.module) == "xlog";
    raw.strict_level = false;
    if (v.is_int()) {
      raw.kind = RawArg::Kind::integer;
      raw.ival = v.i;
    }
    raw.text = to_text(v);
    if (def.params[i] == ParamKind::pvout) {
      auto pv = spec(raw.text);
      if (!pv) return make_error(0, what() + ": " + pv.error().message);
      raw.pv = *pv;
    }
    try {
      return fixup_arg(src, ls, def, i, n, raw);
    } catch (const LoadError& e) {
      return make_error(0, what() + ": " + without_place(e.what()));
    }
  }
};

std::vector<ExportedFunction> exported_functions(const Script& script) {
  std::vector<ExportedFunction> out;
  if (!script.loaded()) return out;
  const auto& loaded = script.config().loaded_modules;
  for (const FunctionDef* f : all_functions()) {
    bool is_loaded = false;
    for (const auto& m : loaded) is_loaded = is_loaded || m == f->module;
    if (is_loaded) out.push_back({f->module, f->name, f->min_args, f->max_args});
  }
  return out;
}

ExternalRun::ExternalRun(const Script& script, WorkerEnv& env) : impl_(std::make_unique<Impl>(script, env)) {
  end();
}
ExternalRun::~ExternalRun() = default;

void ExternalRun::begin(relay::Context& ctx) {
  impl_->bind(ctx);
}
void ExternalRun::end() {
  impl_->bind(impl_->null_ctx);
}
relay::Context& ExternalRun::context() {
  return impl_->run->ctx;
}
const Script& ExternalRun::script() const {
  return impl_->script;
}

Result<Val> ExternalRun::pv_get(std::string_view name) {
  auto pv = impl_->spec(name);
  if (!pv) return pv.error();
  return eval_pv(*impl_->run, **pv);
}

Result<void> ExternalRun::pv_set(std::string_view name, Val value) {
  auto pv = impl_->spec(name);
  if (!pv) return pv.error();
  if (!(*pv)->writable()) {
    return make_error(0, "cannot assign to '" + std::string(name) +
                             "' (only $var(name), $sht(table=>key) and $shtex(table=>key) can be assigned)");
  }
  if (!assign_pv(*impl_->run, **pv, std::move(value)))
    return make_error(0, "cannot assign to '" + std::string(name) + "'");
  return {};
}

Result<int> ExternalRun::call(std::string_view module, std::string_view name, const std::vector<Val>& args,
                              std::string_view file, int line) {
  const FunctionDef* def = find_module_function(module, name);
  std::string full = module.empty() ? std::string(name) : std::string(module) + "." + std::string(name);
  if (!def) return make_error(0, "unknown function '" + full + "'");
  if (!impl_->ls.has_module(def->module))
    return make_error(0, "function '" + full + "' needs loadmodule \"" + def->module + ".so\"");
  auto n = static_cast<int>(args.size());
  if (auto e = arity_error(*def, n, full)) return make_error(0, *e);
  Call c;
  c.def = def;
  const auto& files = impl_->script.data().files;
  c.loc.file = static_cast<uint32_t>(files.size());
  for (size_t i = 0; i < files.size(); ++i)
    if (files[i] == file) c.loc.file = static_cast<uint32_t>(i);
  c.loc.line = static_cast<uint32_t>(line > 0 ? line : 0);
  for (int i = 0; i < n; ++i) {
    auto a = impl_->arg(*def, i, n, args[static_cast<size_t>(i)]);
    if (!a) return a.error();
    c.args.push_back(std::move(*a));
  }
  Run& run = *impl_->run;
  int rc = def->fn(run, c);
  run.last_rc = rc;
  return rc;
}

bool ExternalRun::log_enabled(int level) const {
  return impl_->run->log_enabled(level);
}
void ExternalRun::log(int level, std::string_view text) const {
  impl_->run->log(level, text);
}

}  // namespace msrpd::script
