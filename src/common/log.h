#pragma once
// The logger every layer uses: one line per message, "<time> <LEVEL> [<thread>] <text>", to stderr
// (log_stderror=yes) or syslog. Levels are Kamailio's debug= numbers, so a config's `debug=3`
// means the same here. The LM_* macros evaluate their arguments only when the level is on.
//
//   LM_INFO("relay: %s -> %s", from.c_str(), to.c_str());
//
// (Not LOG_INFO/LOG_ERR: <syslog.h> defines those names as priorities.)

#include <atomic>
#include <string_view>

namespace msrpd::common {

enum LogLevel : int {
  kLogAlert = -5,
  kLogBug = -4,
  kLogCrit = -2,
  kLogErr = -1,
  kLogWarn = 0,
  kLogNotice = 1,
  kLogInfo = 2,
  kLogDbg = 3,
};

namespace detail {
extern std::atomic<int> g_log_level;
}

// The global level (Kamailio `debug`, default 0 = warnings and worse). A message of level L is
// written when L <= log_level().
inline int log_level() {
  return detail::g_log_level.load(std::memory_order_relaxed);
}
inline void set_log_level(int level) {
  detail::g_log_level.store(level, std::memory_order_relaxed);
}
inline bool log_enabled(int level) {
  return level <= log_level();
}

// "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG" ("ALERT"/"CRITICAL" below -1).
std::string_view log_level_name(int level);

// Where lines go. Default: stderr. to_syslog opens syslog with `ident` and `facility` (a syslog
// LOG_* facility value, e.g. from log_facility_from_name("LOG_LOCAL0")).
void log_to_stderr();
void log_to_syslog(std::string_view ident, int facility);
// "LOG_DAEMON", "LOG_LOCAL0".."LOG_LOCAL7", "LOG_USER"... (case-insensitive, "LOG_" optional);
// -1 if unknown.
int log_facility_from_name(std::string_view name);

// A label for the calling thread in each line (e.g. "worker 2"); default: the kernel thread id.
// Keeps at most 31 characters.
void log_set_thread_label(std::string_view label);

// Test hook: when set, each formatted line (without the trailing newline) goes to the sink
// instead of stderr/syslog. nullptr restores normal output.
using LogSink = void (*)(int level, std::string_view line, void* user);
void log_set_sink(LogSink sink, void* user);

// Formats and writes one line (no allocation; text longer than ~4 KB is cut and ends in "...").
void log_write(int level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace msrpd::common

#define MSRPD_LOG(level, ...)                                                                \
  do {                                                                                       \
    if (::msrpd::common::log_enabled(level)) ::msrpd::common::log_write(level, __VA_ARGS__); \
  } while (0)

#define LM_ALERT(...) MSRPD_LOG(::msrpd::common::kLogAlert, __VA_ARGS__)
#define LM_CRIT(...) MSRPD_LOG(::msrpd::common::kLogCrit, __VA_ARGS__)
#define LM_ERR(...) MSRPD_LOG(::msrpd::common::kLogErr, __VA_ARGS__)
#define LM_WARN(...) MSRPD_LOG(::msrpd::common::kLogWarn, __VA_ARGS__)
#define LM_NOTICE(...) MSRPD_LOG(::msrpd::common::kLogNotice, __VA_ARGS__)
#define LM_INFO(...) MSRPD_LOG(::msrpd::common::kLogInfo, __VA_ARGS__)
#define LM_DBG(...) MSRPD_LOG(::msrpd::common::kLogDbg, __VA_ARGS__)
