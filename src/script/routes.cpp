// Route blocks: which slot of the script a `request_route`, `route[NAME]`, `event_route[NAME]`...
// block fills, and the warnings for the blocks msrpd never runs (it has no SIP transactions).

#include "script/internal.h"

namespace msrpd::script {

int declare_route(LoadState& ls, const std::string& kw, const std::string& name, Loc kloc, Loc nloc,
                  const std::string& next) {
  ScriptData& d = *ls.data;
  auto index = static_cast<int>(d.routes.size());
  auto taken = [&](int& slot, const std::string& what) {
    if (slot >= 0) ls.src->fail(kloc, what + " is already defined at " + ls.src->where(d.routes[slot].loc));
    slot = index;
  };
  std::string label;
  if ((kw == "request_route" || kw == "route") &&
      (name.empty() || name == "0" || name == "DEFAULT_ROUTE" || name == "main")) {
    if (kw == "request_route" && !name.empty()) ls.src->fail(nloc, "request_route takes no name");
    taken(d.request_route, "request_route");
    label = "request_route";
  } else if (kw == "route") {
    auto it = d.named_routes.find(name);
    if (it != d.named_routes.end()) {
      ls.src->fail(kloc,
                   "route[" + name + "] is already defined at " + ls.src->where(d.routes[it->second].loc));
    }
    d.named_routes.emplace(name, index);
    label = "route[" + name + "]";
  } else if ((kw == "reply_route" || kw == "onreply_route") && (name.empty() || name == "0")) {
    if (kw == "reply_route" && !name.empty()) ls.src->fail(nloc, "reply_route takes no name");
    taken(d.reply_route, "reply_route");
    label = "reply_route";
  } else if (kw == "event_route") {
    if (name.empty()) ls.src->fail(kloc, "expected '[' and an event name after event_route, found " + next);
    auto it = d.event_routes.find(name);
    if (it != d.event_routes.end()) {
      ls.src->fail(
          kloc, "event_route[" + name + "] is already defined at " + ls.src->where(d.routes[it->second].loc));
    }
    d.event_routes.emplace(name, index);
    if (name == "msrp:frame-in") {
      d.frame_in_route = index;
      if (!ls.has_module("msrp")) ls.warn(kloc, "event_route[msrp:frame-in] without loadmodule \"msrp.so\"");
    } else if (name == "htable:mod-init") {
      // Run once at start, before any frame (Script::run_htable_mod_init), as Kamailio runs it
      // before it forks its children.
      if (!ls.has_module("htable"))
        ls.warn(kloc, "event_route[htable:mod-init] without loadmodule \"htable.so\" is never run");
    } else {
      ls.warn(kloc, "event_route[" + name + "] is never run by msrpd");
    }
    label = "event_route[" + name + "]";
  } else {
    ls.warn(kloc,
            kw + (name.empty() ? "" : "[" + name + "]") + " is never run by msrpd (no SIP transactions)");
    label = kw + "[" + name + "]";
  }
  d.routes.push_back(Route{label, kloc, {}});
  return index;
}

}  // namespace msrpd::script
