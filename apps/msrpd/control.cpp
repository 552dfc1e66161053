#include "control.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "ctl/commands.h"
#include "ctl/rpc.h"
#include "ctl/server.h"
#include "relay/engine.h"
#include "script/htable.h"
#include "script/script.h"

namespace msrpd::daemon {
namespace {

// The threads core.psx lists: the main thread first, then the workers and the control threads as
// they start (workers may start before the control server, so the table lives for the process).
ctl::ProcessTable& process_table() {
  static ctl::ProcessTable* table = [] {
    auto* t = new ctl::ProcessTable();  // never destroyed: worker threads may still note themselves
    t->add(static_cast<long>(::getpid()), "main");
    return t;
  }();
  return *table;
}

ctl::HtableItem to_item(const script::HTable& h, std::string key, const script::Val& v, time_t expires) {
  ctl::HtableItem it;
  it.slot = h.slot_index(key);
  it.key = std::move(key);
  it.is_int = v.is_int();
  it.i = v.i;
  if (v.is_str()) it.s.assign(v.str());
  it.expires = expires;
  return it;
}

ctl::HtableAccess htable_access(const script::Script& script) {
  ctl::HtableAccess a;
  a.dump = [&script](std::string_view table) -> std::optional<std::vector<ctl::HtableItem>> {
    script::HTable* h = script.htable(table);
    if (h == nullptr) return std::nullopt;
    std::vector<ctl::HtableItem> out;
    for (auto& item : h->dump(std::time(nullptr)))
      out.push_back(to_item(*h, std::move(item.key), item.value, item.expires));
    return out;
  };
  a.get = [&script](std::string_view table, std::string_view key, std::optional<ctl::HtableItem>& out) {
    script::HTable* h = script.htable(table);
    if (h == nullptr) return false;
    time_t now = std::time(nullptr);
    script::Val v = h->get(key, now);
    if (v.is_null()) {
      out.reset();
    } else {
      int64_t left = h->expire_in(key, now);
      out = to_item(*h, std::string(key), v, left > 0 ? now + static_cast<time_t>(left) : 0);
    }
    return true;
  };
  a.remove = [&script](std::string_view table, std::string_view key) {
    using R = ctl::HtableAccess::Removed;
    script::HTable* h = script.htable(table);
    if (h == nullptr) return R::NoTable;
    return h->remove(key) ? R::Removed : R::NoKey;
  };
  a.set = [&script](std::string_view table, std::string_view key, const ctl::HtableItem& v) {
    script::HTable* h = script.htable(table);
    if (h == nullptr) return false;
    h->set(key, v.is_int ? script::Val::of_int(v.i) : script::Val::of_string(v.s), std::time(nullptr));
    return true;
  };
  // On the control thread: the database is read here, never on a worker's loop.
  a.reload = [&script](std::string_view table) { return script.reload_htable(table); };
  return a;
}

// auth_db.cache_drop: each worker drops its rows on its own loop; the answer waits (bounded)
// until every worker has, so a password changed just before is asked for at the next AUTH.
ctl::CacheDrop cache_drop(relay::Engine& engine, const ControlOptions& options) {
  auto drop = options.drop_credentials;
  return [&engine, drop](std::string_view user, std::string_view domain) -> Result<ctl::CacheDropped> {
    struct Tally {
      std::mutex mu;
      std::condition_variable cv;
      unsigned answered = 0;
      int64_t dropped = 0;
    };
    auto tally = std::make_shared<Tally>();
    unsigned asked = 0;
    for (unsigned w = 0; w < engine.worker_count(); ++w) {
      bool posted = engine.post_to(w, [tally, drop, w, u = std::string(user), d = std::string(domain)] {
        size_t n = drop ? drop(w, u, d) : 0;
        std::lock_guard lk(tally->mu);
        ++tally->answered;
        tally->dropped += static_cast<int64_t>(n);
        tally->cv.notify_all();
      });
      if (posted) ++asked;
    }
    std::unique_lock lk(tally->mu);
    if (!tally->cv.wait_for(lk, std::chrono::seconds(2), [&] { return tally->answered == asked; }))
      return make_error(0, "workers did not answer in 2 s: " + std::to_string(tally->answered) + " of " +
                               std::to_string(asked) + " dropped");
    return ctl::CacheDropped{static_cast<int64_t>(tally->answered), tally->dropped};
  };
}

bool loads_ctl(const script::Config& cfg) {
  for (const auto& m : cfg.loaded_modules)
    if (m == "ctl") return true;
  return false;
}

// "file:line:col: " of a ctl param, or "" (given on the command line, or a default).
std::string where(const script::Config& cfg, const std::string& param) {
  auto it = cfg.ctl_where.find(param);
  return it == cfg.ctl_where.end() ? std::string() : it->second + ": ";
}

// modparam("ctl", "mode", 0600): octal digits, written with or without the leading 0.
int unix_mode(const script::Config& cfg, int fallback) {
  auto it = cfg.ctl.find("mode");
  if (it == cfg.ctl.end() || it->second.empty()) return fallback;
  char* end = nullptr;
  long m = std::strtol(it->second.c_str(), &end, 8);
  if (end == nullptr || *end != '\0' || m < 0 || m > 07777)
    throw std::runtime_error(where(cfg, "mode") + "ctl: bad mode '" + it->second +
                             "' (octal digits expected)");
  return static_cast<int>(m);
}

// modparam("ctl", "user"/"group", NAME or number): the owner of the unix socket files.
void unix_owner(const script::Config& cfg, ctl::UnixSocketOptions& out) {
  if (auto it = cfg.ctl.find("user"); it != cfg.ctl.end() && !it->second.empty()) {
    const std::string& u = it->second;
    passwd* pw = ::getpwnam(u.c_str());
    char* end = nullptr;
    unsigned long n = std::strtoul(u.c_str(), &end, 10);
    if (pw != nullptr) {
      out.uid = pw->pw_uid;
      if (out.gid == static_cast<gid_t>(-1)) out.gid = pw->pw_gid;
    } else if (end != nullptr && *end == '\0' && n < 0xffffffffUL) {
      out.uid = static_cast<uid_t>(n);
    } else {
      throw std::runtime_error(where(cfg, "user") + "ctl: no such user '" + u + "'");
    }
  }
  if (auto it = cfg.ctl.find("group"); it != cfg.ctl.end() && !it->second.empty()) {
    const std::string& g = it->second;
    group* gr = ::getgrnam(g.c_str());
    char* end = nullptr;
    unsigned long n = std::strtoul(g.c_str(), &end, 10);
    if (gr != nullptr) {
      out.gid = gr->gr_gid;
    } else if (end != nullptr && *end == '\0' && n < 0xffffffffUL) {
      out.gid = static_cast<gid_t>(n);
    } else {
      throw std::runtime_error(where(cfg, "group") + "ctl: no such group '" + g + "'");
    }
  }
}

}  // namespace

struct Control::State {
  ctl::Registry registry;  // declared before the server: it must outlive server.stop()
  ctl::ControlServer server;
};

void note_worker_thread(unsigned worker) {
  process_table().add(ctl::current_thread_id(), "worker " + std::to_string(worker));
}

Control::Control() : state_(std::make_unique<State>()) {}
Control::~Control() {
  stop();
}
void Control::stop() {
  if (state_) state_->server.stop();
}
std::vector<std::string> Control::binrpc_addresses() const {
  return state_->server.binrpc_addresses();
}
std::string Control::http_address() const {
  return state_->server.http_address();
}

std::unique_ptr<Control> start_control(const script::Script& script, relay::Engine& engine,
                                       std::string_view version, const ControlOptions& options) {
  const script::Config& cfg = script.config();
  if (!loads_ctl(cfg)) return nullptr;

  auto control = std::make_unique<Control>();
  ctl::Registry& reg = control->state_->registry;
  ctl::ProcessTable& procs = process_table();

  ctl::CoreInfo core;
  if (size_t sp = version.find(' '); sp != std::string_view::npos) {
    core.name = std::string(version.substr(0, sp));
    core.version = std::string(version.substr(sp + 1));
  } else if (!version.empty()) {
    core.version = std::string(version);
  }
  core.processes = &procs;
  ctl::register_core_commands(reg, core);
  ctl::register_msrp_commands(reg, engine.cmap());
  relay::ConnectionMap* cmap = engine.cmap();
  const relay::Stats* stats = &engine.stats();
  const script::Script* sc = &script;
  ctl::StatsSource snapshot = [stats, cmap, sc] {
    ctl::StatsSnapshot out = ctl::relay_stats_snapshot(*stats, cmap);
    // auth_db's database pool (db/pool.h), when the script has auth_db.
    for (auto& [name, v] : sc->db_stats()) out.emplace_back(name, static_cast<int64_t>(v));
    return out;
  };
  ctl::ControlServer* srv = &control->state_->server;
  ctl::register_stats_commands(reg, [snapshot, srv] {
    ctl::StatsSnapshot out = snapshot();
    for (auto& kv : srv->counters()) out.push_back(std::move(kv));
    return out;
  });
  ctl::register_htable_commands(reg, htable_access(script));
  if (std::find(cfg.loaded_modules.begin(), cfg.loaded_modules.end(), "auth_db") != cfg.loaded_modules.end())
    ctl::register_auth_db_commands(reg, cache_drop(engine, options));

  ctl::ControlConfig cc;
  bool default_binrpc = false;
  std::vector<std::string> binrpc_where;
  if (!options.binrpc.empty()) {
    cc.binrpc = options.binrpc;
  } else if (!cfg.ctl_binrpc.empty()) {
    cc.binrpc = cfg.ctl_binrpc;
    binrpc_where = cfg.ctl_binrpc_where;
  } else {
    std::string why;
    std::string def = ctl::default_binrpc_server(why);
    if (def.empty()) {
      LM_WARN(
          "ctl: no directory for the default control socket (%s): binrpc control disabled; set "
          "modparam(\"ctl\", \"binrpc\", ...)",
          why.c_str());
    } else {
      cc.binrpc = {def};
    }
    default_binrpc = true;
  }
  std::string http_where;
  if (!options.http.empty()) {
    cc.http = options.http;
  } else if (auto it = cfg.ctl.find("http"); it != cfg.ctl.end()) {
    cc.http = it->second;
    http_where = where(cfg, "http");
  }
  if (auto it = cfg.ctl.find("http_token"); it != cfg.ctl.end()) cc.http_token = it->second;
  if (auto it = cfg.ctl.find("metrics"); it != cfg.ctl.end()) cc.metrics_listen = it->second;
  cc.binrpc_allow_remote = cfg.ctl_limits.binrpc_allow_remote;
  cc.idle_timeout = std::chrono::milliseconds(cfg.ctl_limits.idle_timeout);
  cc.request_timeout = std::chrono::milliseconds(cfg.ctl_limits.request_timeout);
  cc.max_connections = static_cast<size_t>(cfg.ctl_limits.max_connections);
  cc.max_client_connections = static_cast<size_t>(cfg.ctl_limits.max_client_connections);
  // stats.get_statistics and /metrics also count the control plane's own refusals.
  cc.metrics = [snapshot, srv] {
    ctl::StatsSnapshot out = snapshot();
    for (auto& kv : srv->counters()) out.push_back(std::move(kv));
    return out;
  };
  cc.processes = &procs;
  cc.unix_socket.mode = unix_mode(cfg, cc.unix_socket.mode);
  unix_owner(cfg, cc.unix_socket);

  // A listener that would expose the control plane stops the start, naming the line.
  if (auto e = ctl::find_exposure(cc)) {
    std::string at =
        e->http ? http_where
                : (e->binrpc_index < binrpc_where.size() ? binrpc_where[e->binrpc_index] + ": " : "");
    throw std::runtime_error(at + "ctl: " + e->message);
  }
  try {
    control->state_->server.start(cc, reg);
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    // Nobody asked for this socket: run without it rather than refuse to start; but another
    // instance answering on it is a refusal (two daemons must never share one socket).
    if (!default_binrpc || msg.find("answers on this control socket") != std::string::npos) throw;
    LM_WARN("%s: binrpc control disabled", e.what());
    cc.binrpc.clear();
    control->state_->server.start(cc, reg);
  }
  for (const auto& a : control->binrpc_addresses()) LM_NOTICE("ctl: binrpc on %s", a.c_str());
  if (!control->http_address().empty())
    LM_NOTICE("ctl: JSON-RPC and /metrics on http://%s/%s", control->http_address().c_str(),
              cc.http_token.empty() ? "" : " (bearer token required)");
  if (!control->state_->server.metrics_address().empty())
    LM_NOTICE("ctl: /metrics and /health (read-only) on http://%s/",
              control->state_->server.metrics_address().c_str());
  return control;
}

}  // namespace msrpd::daemon
