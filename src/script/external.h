#pragma once
// The script engine seen from outside the config language (the KEMI layer, src/kemi/): read and
// write a pseudo-variable given by its name at run time, call a module function with values the
// caller already has, log as xlog does. One ExternalRun per worker thread, bound to the message
// being routed (or to none, for code that runs at load).
//
//   script::ExternalRun x(script, env);
//   x.begin(ctx);                                   // a frame arrives
//   Result<Val> m = x.pv_get("$msrp(method)");
//   Result<int> rc = x.call("auth", "pv_www_authenticate", {realm, pass, flags, method}, "f.lua", 12);
//   x.end();

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "relay/context.h"
#include "script/script.h"
#include "script/value.h"

namespace msrpd::script {

// A module function the caller may call: module and name as the config language spells them.
struct ExportedFunction {
  std::string module;
  std::string name;
  int min_args = 0;
  int max_args = 0;
};
// The functions of the modules the script loaded, in the module tables' order.
std::vector<ExportedFunction> exported_functions(const Script& script);

class ExternalRun {
 public:
  ExternalRun(const Script& script, WorkerEnv& env);
  ~ExternalRun();
  ExternalRun(const ExternalRun&) = delete;
  ExternalRun& operator=(const ExternalRun&) = delete;

  // The message the next calls act on; per-message state ($rc, the last auth result) starts over.
  void begin(relay::Context& ctx);
  // Back to no message: the context then has nothing to read and refuses every action (-1).
  void end();
  relay::Context& context();
  const Script& script() const;

  // "$msrp(method)", "$var(x)", "$(hdr(To-Path){s.len})", "$sht(t=>k)"... The value may view the
  // message or the $var storage: copy it before the next call. Error: a malformed name.
  Result<Val> pv_get(std::string_view name);
  // Writes $var, $sht or $shtex (a null value unsets). Error: malformed or not writable.
  Result<void> pv_set(std::string_view name, Val value);

  // Calls module `module`'s function `name` (module "" = whichever module has it) with the given
  // argument values, as the config language would with literal arguments (no pseudo-variables are
  // expanded inside strings). `file`/`line` say where the caller is, for the function's messages.
  // Error: unknown or not loaded function, wrong argument count or kind.
  Result<int> call(std::string_view module, std::string_view name, const std::vector<Val>& args,
                   std::string_view file = {}, int line = 0);

  // xlog's output path: the WorkerEnv's sink, else the daemon's logger with the xlog prefix.
  bool log_enabled(int level) const;
  void log(int level, std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace msrpd::script
