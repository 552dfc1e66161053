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
#include "kemi/router.h"
#include "net/tls.h"
#include "relay/engine.h"
#include "script/engine_config.h"
#include "script/external.h"
#include "script/local_sockets.h"
#include "script/script.h"
#include "script/source.h"

namespace {

constexpr const char* kVersion = "msrpd 0.1.0";

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

  auto engine_cfg = msrpd::script::engine_config(cfg, args.cfg, {args.listen, args.children});
  if (!engine_cfg) {
    std::fprintf(stderr, "%s: %s\n", args.cfg.c_str(), engine_cfg.error().message.c_str());
    return 1;
  }
  msrpd::relay::EngineConfig& ec = *engine_cfg;
  // msrp_set_dst's sock literals name listen sockets (known now, -l applied): "file:line:col: ...".
  if (auto r = msrpd::script::check_local_sockets(cfg, ec); !r) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  if (!ec.tls.certificate.empty()) {
    // Start-up: a missing or wrong file is named here, before anything listens (a tls listener
    // without a certificate was refused by engine_config).
    if (auto ctx = msrpd::net::TlsContext::create(ec.tls); !ctx) {
      std::fprintf(stderr, "%s: %s\n", args.cfg.c_str(), ctx.error().message.c_str());
      return 1;
    }
  }
  if (args.check_only) {
    std::printf("%s: config file ok, exiting...\n", args.cfg.c_str());
    return 0;
  }

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

  if (cfg.tcp_max_connections <= 0) {
    // Not set: bounded by the descriptors, with a reserve (issue 11 part 6).
    rlimit now{};
    if (getrlimit(RLIMIT_NOFILE, &now) == 0)
      ec.max_connections = msrpd::script::default_max_connections(now.rlim_cur);
  }

  // htable: the tables with dbtable are read now (a table that cannot be read refuses the start,
  // as Kamailio's htable does), then event_route[htable:mod-init] runs once: both before any frame.
  if (auto n = script.load_htables(); !n) {
    LM_ERR("%s", n.error().message.c_str());
    std::fprintf(stderr, "msrpd: %s\n", n.error().message.c_str());
    return 1;
  } else if (*n > 0) {
    LM_NOTICE("htable: %zu items loaded from the database", *n);
  }
  if (script.has_htable_mod_init()) {
    msrpd::script::WorkerEnv init_env(script, 0);
    script.run_htable_mod_init(init_env);
  } else if (cfg.cfgengine == "lua" && !cfg.htable_db.event_callback.empty()) {
    // KEMI: htable's event_callback gets "htable:mod-init", in a Lua state of its own.
    msrpd::script::WorkerEnv init_env(script, 0);
    auto lua = msrpd::kemi::LuaEngine::create(script, init_env);
    if (!lua) {
      std::fprintf(stderr, "msrpd: %s\n", lua.error().message.c_str());
      return 1;
    }
    msrpd::script::ExternalRun none(script, init_env);
    if (!(*lua)->has_function(cfg.htable_db.event_callback)) {
      std::fprintf(stderr, "msrpd: htable's event_callback: no Lua function '%s'\n",
                   cfg.htable_db.event_callback.c_str());
      return 1;
    }
    (*lua)->run(cfg.htable_db.event_callback, none.context(), "htable:mod-init");
  }

  msrpd::kemi::ScriptRouter router(script, ec.children, msrpd::daemon::note_worker_thread);
  msrpd::relay::Engine engine(ec, router);
  if (auto r = engine.start(); !r) {
    std::fprintf(stderr, "msrpd: %s\n", r.error().message.c_str());
    return 1;
  }
  {
    rlimit now{};
    getrlimit(RLIMIT_NOFILE, &now);
    LM_NOTICE("%s started: %u workers, config %s, up to %llu open descriptors, tcp_max_connections %u",
              kVersion, ec.children, args.cfg.c_str(), static_cast<unsigned long long>(now.rlim_cur),
              ec.max_connections);
  }
  for (size_t i = 0; i < ec.listen.size(); ++i) {
    LM_NOTICE("listening on %s:%s:%u", ec.listen[i].proto.c_str(), ec.listen[i].ip.c_str(),
              static_cast<unsigned>(engine.bound_ports()[i]));
  }

  std::unique_ptr<msrpd::daemon::Control> control;  // ctl module: kamcmd/msrpctl, JSON-RPC, /metrics
  try {
    msrpd::daemon::ControlOptions copts;
    copts.drop_credentials = [&router](unsigned w, std::string_view user, std::string_view domain) {
      return router.drop_credentials(w, user, domain);
    };
    control = msrpd::daemon::start_control(script, engine, kVersion, copts);
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
  // htable dbmode=1: the tables written back once no route can change them any more.
  for (const auto& e : script.save_htables()) LM_ERR("%s", e.c_str());
  return 0;
}
