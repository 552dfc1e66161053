// msrpd: the MSRP relay daemon. Loads a Kamailio-style routing script, starts the relay engine
// with it, and runs until SIGTERM/SIGINT.
//
//   msrpd -f etc/msrpd.cfg            run
//   msrpd -c -f etc/msrpd.cfg         check the config and exit (0 = fine)
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "control.h"
#include "kemi/lua.h"
#include "relay/engine.h"
#include "relay/engine_tls.h"
#include "script/script.h"
#include "script/source.h"

namespace {

constexpr const char* kVersion = "msrpd 0.1.0";
constexpr uint16_t kDefaultPort = 2855;  // RFC 4975 §15.1: MSRP's registered port

struct Args {
  std::string cfg = "etc/msrpd.cfg";
  bool check_only = false;
  bool log_stderr = false;
  int debug_delta = 0;
  int children = -1;
  std::vector<std::string> listen;  // -l overrides the config's listen lines
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: msrpd [-f FILE] [-c] [-E] [-l [proto:]ip:port]... [-n N] [-d]... [-V] [-h]\n"
               "  -f FILE   routing script (default etc/msrpd.cfg)\n"
               "  -c        check the config and exit: 0 when it loads, 1 with file:line:col otherwise\n"
               "  -E        log to stderr (as log_stderror=yes)\n"
               "  -l ADDR   listen on ADDR instead of the config's listen lines (repeatable)\n"
               "  -n N      worker threads (overrides children=)\n"
               "  -d        one more level of debug logging (repeatable)\n"
               "  -V        print the version\n");
}

bool parse_args(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (s == "-f") {
      const char* v = value();
      if (!v) return false;
      a.cfg = v;
    } else if (s == "-c") {
      a.check_only = true;
    } else if (s == "-E") {
      a.log_stderr = true;
    } else if (s == "-l") {
      const char* v = value();
      if (!v) return false;
      a.listen.emplace_back(v);
    } else if (s == "-n") {
      const char* v = value();
      if (!v) return false;
      a.children = std::atoi(v);
    } else if (s.size() >= 2 && s[0] == '-' && s.find_first_not_of('d', 1) == std::string::npos) {
      a.debug_delta += static_cast<int>(s.size() - 1);
    } else if (s == "-D" || s == "-DD") {
      // Kamailio's "stay in foreground": msrpd always does.
    } else if (s == "-V") {
      std::puts(kVersion);
      std::exit(0);
    } else if (s == "-h" || s == "--help") {
      usage(stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "msrpd: unknown option %s\n", s.c_str());
      return false;
    }
  }
  return true;
}

// "[proto:]host[:port]" from -l.
bool parse_listen(const std::string& text, msrpd::relay::ListenAddr& out) {
  std::string rest = text;
  out.proto = "tcp";
  if (rest.rfind("tcp:", 0) == 0 || rest.rfind("tls:", 0) == 0) {
    out.proto = rest.substr(0, 3);
    rest = rest.substr(4);
  }
  out.port = 0;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos) return false;
    out.ip = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return false;
      out.port = static_cast<uint16_t>(std::atoi(rest.c_str() + close + 2));
    }
  } else {
    size_t colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find(':') == colon) {
      out.ip = rest.substr(0, colon);
      out.port = static_cast<uint16_t>(std::atoi(rest.c_str() + colon + 1));
    } else {
      out.ip = rest;
    }
  }
  if (out.port == 0) out.port = kDefaultPort;
  return !out.ip.empty();
}

// Runs the script's routes for the engine: event_route[msrp:frame-in] for MSRP frames and
// request_route for SIP requests on the same port. One WorkerEnv ($var, $pp...) per worker.
// With cfgengine "lua", each worker also has its own Lua state: MSRP frames run msrp's
// event_callback function (or event_route[msrp:frame-in] when none is set), SIP requests run
// ksr_request_route().
class ScriptRouter final : public msrpd::relay::Router {
 public:
  ScriptRouter(const msrpd::script::Script& s, unsigned workers)
      : script_(s), envs_(workers), lua_(workers), lua_engine_(s.config().cfgengine == "lua") {}

  void on_worker_start(unsigned worker) override {
    msrpd::daemon::note_worker_thread(worker);  // core.psx
    envs_[worker] = std::make_unique<msrpd::script::WorkerEnv>(script_, static_cast<int>(worker) + 1);
    if (lua_engine_) {
      // Checked at start-up, so this fails only if a file changed since: its frames get no route.
      auto lua = msrpd::kemi::LuaEngine::create(script_, *envs_[worker]);
      if (!lua) {
        LM_ERR("worker %u: %s", worker + 1, lua.error().message.c_str());
        return;
      }
      Lua& l = lua_[worker];
      l.engine = std::move(*lua);
      // Resolved once: a frame runs its callback without a lookup by name.
      const std::string& callback = script_.config().msrp.event_callback;
      if (!callback.empty()) l.frame_in = l.engine->prepare(callback, msrpd::kemi::kFrameInEvent);
      l.request = l.engine->prepare(msrpd::kemi::kRequestRouteFunction);
    }
  }
  void msrp_frame(msrpd::relay::Context& ctx, unsigned worker) override {
    if (lua_engine_ && !script_.config().msrp.event_callback.empty()) {
      Lua& l = lua_[worker];
      if (l.frame_in) l.engine->run(*l.frame_in, ctx);
      return;
    }
    script_.run_event_route(ctx, *envs_[worker]);
  }
  void sip_request(msrpd::relay::Context& ctx, unsigned worker) override {
    if (lua_engine_) {
      Lua& l = lua_[worker];
      if (l.request) l.engine->run(*l.request, ctx);
      return;
    }
    if (script_.has_request_route()) script_.run_request_route(ctx, *envs_[worker]);
  }

 private:
  const msrpd::script::Script& script_;
  std::vector<std::unique_ptr<msrpd::script::WorkerEnv>> envs_;
  struct Lua {
    std::unique_ptr<msrpd::kemi::LuaEngine> engine;
    std::optional<msrpd::kemi::LuaEngine::Call> frame_in, request;
  };
  std::vector<Lua> lua_;  // per worker, with cfgengine lua
  bool lua_engine_;
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) {
    usage(stderr);
    return 2;
  }
  msrpd::script::Script script;
  try {
    script = msrpd::script::load(args.cfg);
  } catch (const msrpd::script::LoadError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", args.cfg.c_str(), e.what());
    return 1;
  }
  for (const auto& w : script.warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());
  // cfgengine "lua": the Lua files load (a syntax error is "file.lua:line: what"), and
  // event_callback names a function that exists.
  if (auto k = msrpd::kemi::check(script); !k) {
    std::fprintf(stderr, "%s\n", k.error().message.c_str());
    return 1;
  } else {
    for (const auto& w : *k) std::fprintf(stderr, "warning: %s\n", w.c_str());
  }
  const msrpd::script::Config& cfg = script.config();

  msrpd::relay::EngineConfig ec;
  std::vector<std::string> listen_text = args.listen;
  if (listen_text.empty()) {
    for (const auto& l : cfg.listen) {
      std::string host = l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host;
      listen_text.push_back(l.proto + ":" + host + (l.port ? ":" + std::to_string(l.port) : ""));
    }
  }
  if (listen_text.empty()) listen_text.push_back("tcp:127.0.0.1:" + std::to_string(kDefaultPort));
  for (const auto& t : listen_text) {
    msrpd::relay::ListenAddr la;
    if (!parse_listen(t, la)) {
      std::fprintf(stderr, "%s: bad listen address '%s'\n", args.cfg.c_str(), t.c_str());
      return 1;
    }
    if (la.ip == "*") la.ip = "0.0.0.0";
    ec.listen.push_back(la);
  }
  // The tls module (modparams and its tls.cfg): msrps listeners and next hops.
  {
    std::string dir = args.cfg.find('/') == std::string::npos ? "." : args.cfg.substr(0, args.cfg.rfind('/'));
    auto ts = msrpd::relay::tls_settings_from_params(cfg.tls, dir);
    if (!ts) {
      std::fprintf(stderr, "%s: %s\n", args.cfg.c_str(), ts.error().message.c_str());
      return 1;
    }
    ec.tls = std::move(*ts);
    bool tls_listen = false;
    for (const auto& la : ec.listen) tls_listen = tls_listen || la.proto == "tls";
    if (tls_listen && ec.tls.certificate.empty()) {
      std::fprintf(stderr, "%s: listen=tls: needs modparam(\"tls\", \"certificate\", \"FILE\")\n",
                   args.cfg.c_str());
      return 1;
    }
    if (tls_listen || !ec.tls.certificate.empty()) {
      // Start-up: a missing or wrong file is named here, before anything listens.
      if (auto ctx = msrpd::net::TlsContext::create(ec.tls); !ctx) {
        std::fprintf(stderr, "%s: %s\n", args.cfg.c_str(), ctx.error().message.c_str());
        return 1;
      }
    }
  }
  if (args.check_only) {
    std::printf("%s: config file ok, exiting...\n", args.cfg.c_str());
    return 0;
  }

  ec.children =
      static_cast<unsigned>(args.children > 0 ? args.children : (cfg.children > 0 ? cfg.children : 1));
  ec.cmap_size = static_cast<unsigned>(cfg.msrp.cmap_size);
  ec.max_connections = static_cast<uint32_t>(cfg.tcp_max_connections > 0 ? cfg.tcp_max_connections : 0);
  ec.timer_interval = static_cast<unsigned>(cfg.msrp.timer_interval > 0 ? cfg.msrp.timer_interval : 60);
  ec.auth_min_expires = static_cast<uint32_t>(cfg.msrp.auth_min_expires);
  ec.auth_max_expires = static_cast<uint32_t>(cfg.msrp.auth_max_expires);
  ec.use_path_addr = cfg.msrp.use_path_addr;
  ec.sipmsg = cfg.msrp.sipmsg;
  ec.tcp_connection_lifetime =
      static_cast<uint32_t>(cfg.tcp_connection_lifetime > 0 ? cfg.tcp_connection_lifetime : 0);

  msrpd::common::set_log_level(cfg.debug + args.debug_delta);
  if (args.log_stderr || cfg.log_stderror) {
    msrpd::common::log_to_stderr();
  } else {
    int facility = msrpd::common::log_facility_from_name(cfg.log_facility);
    msrpd::common::log_to_syslog("msrpd", facility < 0 ? (3 << 3) : facility);
  }

  // SIGTERM/SIGINT end the daemon; block them in every thread and wait for them here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Every connection is a descriptor: take all the kernel allows (the hard limit), or
  // open_files_limit when it is set lower.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    rlim_t want = files.rlim_max;
    if (cfg.open_files_limit > 0) {
      if (static_cast<rlim_t>(cfg.open_files_limit) > files.rlim_max)
        LM_WARN("open_files_limit %d is above the hard limit %llu: using the hard limit",
                cfg.open_files_limit, static_cast<unsigned long long>(files.rlim_max));
      else
        want = static_cast<rlim_t>(cfg.open_files_limit);
    }
    if (files.rlim_cur != want) {
      files.rlim_cur = want;
      setrlimit(RLIMIT_NOFILE, &files);
    }
  }

  ScriptRouter router(script, ec.children);
  msrpd::relay::Engine engine(ec, router);
  if (auto r = engine.start(); !r) {
    std::fprintf(stderr, "msrpd: %s\n", r.error().message.c_str());
    return 1;
  }
  {
    rlimit now{};
    getrlimit(RLIMIT_NOFILE, &now);
    LM_NOTICE("%s started: %u workers, config %s, up to %llu open descriptors", kVersion, ec.children,
              args.cfg.c_str(), static_cast<unsigned long long>(now.rlim_cur));
  }
  for (size_t i = 0; i < ec.listen.size(); ++i) {
    LM_NOTICE("listening on %s:%s:%u", ec.listen[i].proto.c_str(), ec.listen[i].ip.c_str(),
              static_cast<unsigned>(engine.bound_ports()[i]));
  }

  std::unique_ptr<msrpd::daemon::Control> control;  // ctl module: kamcmd/msrpctl, JSON-RPC, /metrics
  try {
    control = msrpd::daemon::start_control(script, engine, kVersion);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "msrpd: %s\n", e.what());
    engine.stop();
    return 1;
  }

  for (;;) {
    timespec one_second{1, 0};
    int sig = sigtimedwait(&stop_signals, nullptr, &one_second);
    if (sig == SIGTERM || sig == SIGINT) {
      LM_NOTICE("signal %d: stopping", sig);
      break;
    }
    script.clean_expired(std::time(nullptr));  // htable autoexpire
  }
  if (control) control->stop();
  engine.stop();
  return 0;
}
