#include "ctl/commands.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "common/ascii.h"
#include "msrp/status.h"
#include "relay/cmap.h"
#include "relay/stats.h"

namespace msrpd::ctl {

namespace {

std::string local_date(time_t t) {
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(buf, n);
}

bool param_string(const Params& p, size_t i, std::string& out) {
  if (i >= p.size()) return false;
  if (p[i].is_string()) {
    out = p[i].as_string();
    return true;
  }
  // kamcmd sends digits as ints ("htable.get t 5"): accept them as the key text.
  if (p[i].is_int()) {
    out = std::to_string(p[i].as_int());
    return true;
  }
  return false;
}

}  // namespace

std::string version_line(const CoreInfo& info) {
  struct utsname u {};
  std::string machine = "unknown";
  std::string os = "unknown";
  if (uname(&u) == 0) {
    machine = u.machine;
    os = ascii::to_lower(u.sysname);
  }
  return info.name + " " + info.version + " (" + machine + "/" + os + ") ";
}

std::string ctime_text(time_t t) {
  char buf[64];
  if (ctime_r(&t, buf) == nullptr) return "";
  std::string s(buf);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

void register_core_commands(Registry& reg, const CoreInfo& info) {
  Registry* r = &reg;
  reg.add("system.listMethods", "Lists all RPC methods supported by the server.",
          [r](const Params&) -> Result<Value> {
            Value out = Value::list();
            for (auto& n : r->names()) out.push(Value::str(std::move(n)));
            return out;
          });
  reg.add("system.methodHelp", "Print the help string for given method.",
          [r](const Params& p) -> Result<Value> {
            std::string name;
            if (!param_string(p, 0, name)) return fault(400, "method name expected");
            std::string doc;
            if (!r->doc(name, doc)) return fault(400, "command not found");
            return Value::str(doc);
          });
  std::string version = version_line(info);
  reg.add("core.version", "Returns the version string of the server.",
          [version](const Params&) -> Result<Value> { return Value::str(version); });
  auto started = info.started;
  reg.add("core.uptime", "Returns uptime of the server.", [started](const Params&) -> Result<Value> {
    auto now = std::chrono::system_clock::now();
    time_t now_t = std::chrono::system_clock::to_time_t(now);
    time_t up_t = std::chrono::system_clock::to_time_t(started);
    Value v = Value::structure();
    v.add("now", Value::str(ctime_text(now_t)));
    v.add("up_since", Value::str(ctime_text(up_t)));
    v.add("uptime", Value::integer(static_cast<int64_t>(now_t - up_t)));
    return v;
  });
  ProcessTable* procs = info.processes;
  auto list_procs = [procs]() {
    if (procs != nullptr) return procs->list();
    return std::vector<ProcessTable::Process>{{0, static_cast<long>(getpid()), "main process"}};
  };
  reg.add("core.psx", "Returns the detailed description of running processes.",
          [list_procs](const Params&) -> Result<Value> {
            Value out = Value::list();
            for (const auto& p : list_procs()) {
              Value s = Value::structure();
              s.add("IDX", Value::integer(p.idx));
              s.add("PID", Value::integer(p.pid));
              s.add("DSC", Value::str(p.desc));
              out.push(std::move(s));
            }
            return out;
          });
  reg.add("core.ps", "Returns the description of running processes.",
          [list_procs](const Params&) -> Result<Value> {
            Value out = Value::list();
            for (const auto& p : list_procs()) {
              out.push(Value::integer(p.pid));
              out.push(Value::str(p.desc));
            }
            return out;
          });
  reg.add("core.echo", "Returns back its parameters.",
          [](const Params& p) -> Result<Value> { return Value::list(p); });
}

void register_msrp_commands(Registry& reg, relay::ConnectionMap* map) {
  reg.add("msrp.cmaplist", "Return the content of the connections map table.",
          [map](const Params&) -> Result<Value> {
            if (map == nullptr) return fault(500, "No Connections Map Table");
            auto snap = map->list();
            Value list = Value::structure();
            for (const auto& it : snap.items) {
              Value d = Value::structure();
              d.add("CITEMID", Value::integer(it.citemid));
              d.add("SESSIONID", Value::str(it.session_id));
              d.add("PEER", Value::str(it.peer));
              d.add("ADDR", Value::str(it.addr));
              d.add("SOCK", Value::str(it.sock));
              d.add("EXPIRES", Value::str(ctime_text(relay::CmapItem::Clock::to_time_t(it.expires))));
              d.add("CONID", Value::integer(static_cast<int64_t>(it.conid)));
              d.add("FLAGS", Value::integer(it.flags));
              list.add("CONDATA", std::move(d));
            }
            Value v = Value::structure();
            v.add("MAP_SIZE", Value::integer(static_cast<int64_t>(snap.slots)));
            v.add("CONLIST", std::move(list));
            v.add("CONCOUNT", Value::integer(static_cast<int64_t>(snap.items.size())));
            return v;
          });
}

void register_stats_commands(Registry& reg, const StatsSource& snapshot) {
  reg.add("stats.get_statistics", "Returns the statistics: 'all', 'group:' for a group, or statistic names.",
          [snapshot](const Params& p) -> Result<Value> {
            if (p.empty()) return fault(400, "Too few parameters");
            auto stats = snapshot ? snapshot() : StatsSnapshot{};
            Value out = Value::list();
            auto line = [](const std::pair<std::string, int64_t>& s) {
              return Value::str(s.first + " = " + std::to_string(s.second));
            };
            for (const auto& param : p) {
              std::string want;
              if (!param_string(p, &param - p.data(), want)) continue;
              for (const auto& s : stats) {
                bool match;
                if (want == "all") {
                  match = true;
                } else if (!want.empty() && want.back() == ':') {
                  match = s.first.compare(0, want.size(), want) == 0;
                } else {
                  // "name" or "group:name"
                  auto colon = s.first.find(':');
                  match =
                      s.first == want || (colon != std::string::npos && s.first.substr(colon + 1) == want);
                }
                if (match) out.push(line(s));
              }
            }
            return out;
          });
}

StatsSnapshot relay_stats_snapshot(const relay::Stats& st, const relay::ConnectionMap* map) {
  using S = relay::Stats;
  static constexpr const char* kMethods[S::kMethods] = {"send", "report", "auth", "nickname", "other"};
  // Always listed (so that dashboards find them at 0); other codes when they have been sent.
  using msrp::Status;
  static constexpr Status kAlways[] = {Status::ok,
                                       Status::bad_request,
                                       Status::unauthorized,
                                       Status::forbidden,
                                       Status::request_timeout,
                                       Status::stop_sending,
                                       Status::unsupported_media_type,
                                       Status::interval_out_of_bounds,
                                       Status::session_does_not_exist,
                                       Status::method_not_understood,
                                       Status::session_already_in_use};
  StatsSnapshot out;
  out.reserve(64);
  auto put = [&out](std::string name, uint64_t v) {
    out.emplace_back(std::move(name), static_cast<int64_t>(v));
  };
  for (int m = 0; m < S::kMethods; ++m)
    put(std::string("msrp:frames_in_") + kMethods[m], S::get(st.requests_in[m]));
  for (int m = 0; m < S::kMethods; ++m) {
    put(std::string("msrp:frames_out_") + kMethods[m], S::get(st.requests_out[m]));
  }
  put("msrp:responses_in", S::get(st.responses_in));
  put("msrp:responses_out", S::get(st.responses_out));
  for (uint16_t code = 100; code < 1000; ++code) {
    uint64_t v = S::get(st.replies_sent[code]);
    bool always =
        std::find(std::begin(kAlways), std::end(kAlways), static_cast<Status>(code)) != std::end(kAlways);
    if (v != 0 || always) put("msrp:replies_" + std::to_string(code), v);
  }
  put("msrp:reports_sent", S::get(st.reports_sent));
  put("msrp:bytes_in", S::get(st.bytes_in));
  put("msrp:bytes_relayed", S::get(st.bytes_relayed));
  put("msrp:relay_failures", S::get(st.relay_failures));
  put("msrp:chunks_split", S::get(st.chunks_split));
  put("msrp:messages_stopped", S::get(st.messages_stopped));
  put("msrp:stopped_chunks", S::get(st.stopped_chunks));
  put("msrp:chunks_capped", S::get(st.chunks_capped));
  put("msrp:responses_unmatched", S::get(st.responses_unmatched));
  put("msrp:connections_refused", S::get(st.connections_refused));
  put("msrp:refused_foreign_uri", S::get(st.refused_foreign_uri));
  put("msrp:refused_no_session", S::get(st.refused_no_session));
  put("msrp:refused_not_authorized", S::get(st.refused_not_authorized));
  put("msrp:refused_loop", S::get(st.refused_loop));
  put("msrp:refused_relay_again", S::get(st.refused_relay_again));
  put("msrp:refused_no_socket", S::get(st.refused_no_socket));
  put("msrp:auth_limit_closes", S::get(st.auth_limit_closes));
  put("msrp:budget_closes", S::get(st.budget_closes));
  put("msrp:self_hops", S::get(st.self_hops));
  put("msrp:parse_errors", S::get(st.parse_errors));
  put("msrp:parse_dropped", S::get(st.parse_dropped));
  put("msrp:parse_closes", S::get(st.parse_closes));
  put("msrp:sip_requests", S::get(st.sip_requests));
  put("auth:failures", S::get(st.auth_failures));
  uint64_t acc = S::get(st.connections_accepted);
  uint64_t opened = S::get(st.connections_opened);
  uint64_t closed = S::get(st.connections_closed);
  put("tcp:connections_accepted", acc);
  put("tcp:connections_opened", opened);
  put("tcp:connections_closed", closed);
  put("tcp:connect_failures", S::get(st.connect_failures));
  put("tcp:current_connections", acc + opened >= closed ? acc + opened - closed : 0);
  if (map != nullptr) {
    put("cmap:entries", map->size());
    put("cmap:slots", map->slots());
  }
  return out;
}

void register_htable_commands(Registry& reg, const HtableAccess& access) {
  auto item_value = [](const HtableItem& it) { return it.is_int ? Value::integer(it.i) : Value::str(it.s); };
  reg.add("htable.dump", "Dump the content of a hash table.",
          [access, item_value](const Params& p) -> Result<Value> {
            std::string table;
            if (!param_string(p, 0, table)) return fault(500, "No htable name given");
            if (!access.dump) return fault(500, "No such htable");
            auto items = access.dump(table);
            if (!items) return fault(500, "No such htable");
            std::stable_sort(items->begin(), items->end(),
                             [](const HtableItem& a, const HtableItem& b) { return a.slot < b.slot; });
            Value out = Value::list();
            for (size_t i = 0; i < items->size();) {
              size_t j = i;
              Value slot = Value::structure();
              while (j < items->size() && (*items)[j].slot == (*items)[i].slot) {
                const auto& it = (*items)[j];
                Value e = Value::structure();
                e.add("name", Value::str(it.key));
                e.add("value", item_value(it));
                e.add("type", Value::str(it.is_int ? "int" : "str"));
                slot.add("", std::move(e));
                ++j;
              }
              Value entry = Value::structure();
              entry.add("entry", Value::integer((*items)[i].slot));
              entry.add("size", Value::integer(static_cast<int64_t>(j - i)));
              entry.add("slot", std::move(slot));
              out.push(std::move(entry));
              i = j;
            }
            return out;
          });
  reg.add("htable.get", "Get one key from a hash table.",
          [access, item_value](const Params& p) -> Result<Value> {
            std::string table, key;
            if (!param_string(p, 0, table) || !param_string(p, 1, key)) {
              return fault(500, "Not enough parameters (htable name and key name)");
            }
            std::optional<HtableItem> it;
            if (!access.get || !access.get(table, key, it)) return fault(500, "No such htable");
            if (!it) return fault(500, "Key name doesn't exist in htable.");
            Value item = Value::structure();
            item.add("name", Value::str(it->key));
            item.add("value", item_value(*it));
            item.add("flags", Value::integer(it->is_int ? 0 : 2));  // Kamailio's AVP_VAL_STR bit
            // Kamailio 5.6 prints NEVER for an item that does not expire.
            item.add("expire", Value::str(it->expires == 0 ? "NEVER" : local_date(it->expires)));
            Value v = Value::structure();
            v.add("item", std::move(item));
            return v;
          });
  reg.add("htable.delete", "Delete one key from a hash table.", [access](const Params& p) -> Result<Value> {
    std::string table, key;
    if (!param_string(p, 0, table) || !param_string(p, 1, key)) {
      return fault(500, "Not enough parameters (htable name & key name");
    }
    if (!access.remove) return fault(500, "No such htable");
    switch (access.remove(table, key)) {
      case HtableAccess::Removed::NoTable:
        return fault(500, "No such htable");
      case HtableAccess::Removed::NoKey:
        return fault(404, "Key not found in htable.");
      case HtableAccess::Removed::Removed:
        break;
    }
    return Value::str("Ok. Key deleted.");
  });
  // Kamailio's argument order (table, key, value) and texts; "Ok. Key set to new value." as 5.6.
  auto setter = [access](bool integer) {
    return [access, integer](const Params& p) -> Result<Value> {
      std::string table, key;
      HtableItem v;
      bool have = param_string(p, 0, table) && param_string(p, 1, key) && p.size() >= 3;
      if (have && integer) {
        // kamcmd sends digits as an int; a JSON-RPC caller may send "42".
        std::optional<int64_t> n;
        if (p[2].is_int()) {
          n = p[2].as_int();
        } else if (p[2].is_string()) {
          const std::string& t = p[2].as_string();
          int64_t x = 0;
          auto r = std::from_chars(t.data(), t.data() + t.size(), x);
          if (!t.empty() && r.ec == std::errc() && r.ptr == t.data() + t.size()) n = x;
        }
        if (!n) return fault(500, "Not enough parameters (htable name, key name and value)");
        v.is_int = true;
        v.i = *n;
      } else if (have) {
        if (!param_string(p, 2, v.s))
          return fault(500, "Not enough parameters (htable name, key name and value)");
      } else {
        return fault(500, "Not enough parameters (htable name, key name and value)");
      }
      if (!access.set || !access.set(table, key, v)) return fault(500, "No such htable");
      return Value::str("Ok. Key set to new value.");
    };
  };
  reg.add("htable.sets", "Set one key in a hash table to a string value.", setter(false));
  reg.add("htable.seti", "Set one key in a hash table to an integer value.", setter(true));
  reg.add("htable.reload", "Reload hash table from database.", [access](const Params& p) -> Result<Value> {
    std::string table;
    if (!param_string(p, 0, table)) return fault(500, "No htable name given");
    if (!access.reload) return fault(500, "No such htable");
    auto r = access.reload(table);
    if (!r) return fault(500, r.error().message);
    return Value::str("Ok. Htable reloaded.");
  });
}

void register_auth_db_commands(Registry& reg, const CacheDrop& drop) {
  reg.add("auth_db.cache_drop",
          "Drop cached credentials from every worker: user@domain, user (any domain) or all.",
          [drop](const Params& p) -> Result<Value> {
            std::string who;
            if (!param_string(p, 0, who) || who.empty())
              return fault(500, "Not enough parameters (user@domain, user or all)");
            std::string user = who, domain;
            if (who == "all") {
              user.clear();
            } else if (auto at = who.rfind('@'); at != std::string::npos) {
              user = who.substr(0, at);
              domain = who.substr(at + 1);
              if (user.empty() || domain.empty()) return fault(500, "Expected user@domain, user or all");
            }
            auto r = drop(user, domain);
            if (!r) return fault(500, r.error().message);
            Value out = Value::structure();
            out.add("workers", Value::integer(r->workers));
            out.add("dropped", Value::integer(r->dropped));
            return out;
          });
}

}  // namespace msrpd::ctl
