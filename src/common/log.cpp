#include "common/log.h"

#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>

#include "common/ascii.h"

namespace msrpd::common {

namespace detail {
std::atomic<int> g_log_level{kLogWarn};
}

namespace {

std::atomic<bool> g_to_syslog{false};
std::mutex g_syslog_mutex;   // only around openlog/closelog
std::string g_syslog_ident;  // openlog keeps the pointer: it must outlive the syslog use

struct SinkSlot {
  LogSink sink;
  void* user;
};
std::atomic<SinkSlot*> g_sink{nullptr};
SinkSlot g_sink_slots[2];
std::mutex g_sink_mutex;
int g_sink_next = 0;

struct ThreadState {
  char label[32];
  size_t label_len;
  time_t cached_second;
  char cached_time[24];  // "YYYY-MM-DD HH:MM:SS" + NUL
  bool time_valid;
};
thread_local ThreadState t_state;

int syslog_priority(int level) {
  if (level <= kLogAlert) return LOG_ALERT;
  if (level <= kLogCrit) return LOG_CRIT;
  switch (level) {
    case kLogErr:
      return LOG_ERR;
    case kLogWarn:
      return LOG_WARNING;
    case kLogNotice:
      return LOG_NOTICE;
    case kLogInfo:
      return LOG_INFO;
    default:
      return LOG_DEBUG;
  }
}

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report a failing stderr
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

std::string_view log_level_name(int level) {
  if (level <= kLogAlert) return "ALERT";
  if (level <= kLogCrit) return "CRITICAL";
  switch (level) {
    case kLogErr:
      return "ERROR";
    case kLogWarn:
      return "WARNING";
    case kLogNotice:
      return "NOTICE";
    case kLogInfo:
      return "INFO";
    default:
      return "DEBUG";
  }
}

void log_to_stderr() {
  std::lock_guard<std::mutex> lock(g_syslog_mutex);
  if (g_to_syslog.exchange(false)) closelog();
}

void log_to_syslog(std::string_view ident, int facility) {
  std::lock_guard<std::mutex> lock(g_syslog_mutex);
  g_to_syslog.store(false);
  closelog();
  g_syslog_ident.assign(ident);
  openlog(g_syslog_ident.c_str(), LOG_PID | LOG_NDELAY, facility);
  g_to_syslog.store(true);
}

int log_facility_from_name(std::string_view name) {
  if (name.size() > 4 && ascii::istarts_with(name, "LOG_")) name.remove_prefix(4);
  static constexpr struct {
    std::string_view name;
    int value;
  } kFacilities[] = {
      {"KERN", LOG_KERN},     {"USER", LOG_USER},     {"MAIL", LOG_MAIL},         {"DAEMON", LOG_DAEMON},
      {"AUTH", LOG_AUTH},     {"SYSLOG", LOG_SYSLOG}, {"LPR", LOG_LPR},           {"NEWS", LOG_NEWS},
      {"UUCP", LOG_UUCP},     {"CRON", LOG_CRON},     {"AUTHPRIV", LOG_AUTHPRIV}, {"FTP", LOG_FTP},
      {"LOCAL0", LOG_LOCAL0}, {"LOCAL1", LOG_LOCAL1}, {"LOCAL2", LOG_LOCAL2},     {"LOCAL3", LOG_LOCAL3},
      {"LOCAL4", LOG_LOCAL4}, {"LOCAL5", LOG_LOCAL5}, {"LOCAL6", LOG_LOCAL6},     {"LOCAL7", LOG_LOCAL7},
  };
  for (const auto& f : kFacilities)
    if (ascii::iequals(name, f.name)) return f.value;
  return -1;
}

void log_set_thread_label(std::string_view label) {
  ThreadState& t = t_state;
  t.label_len = label.size() < sizeof t.label - 1 ? label.size() : sizeof t.label - 1;
  std::memcpy(t.label, label.data(), t.label_len);
  t.label[t.label_len] = '\0';
}

void log_set_sink(LogSink sink, void* user) {
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  if (sink == nullptr) {
    g_sink.store(nullptr, std::memory_order_release);
    return;
  }
  // Two slots alternate so a concurrent writer never sees a half-written one (tests set the sink
  // while no other thread logs; this only keeps it well-defined).
  SinkSlot* slot = &g_sink_slots[g_sink_next];
  g_sink_next ^= 1;
  slot->sink = sink;
  slot->user = user;
  g_sink.store(slot, std::memory_order_release);
}

void log_write(int level, const char* fmt, ...) {
  constexpr size_t kMax = 4096;
  char line[kMax + 128];
  ThreadState& t = t_state;
  SinkSlot* sink = g_sink.load(std::memory_order_acquire);
  bool to_syslog = sink == nullptr && g_to_syslog.load(std::memory_order_relaxed);

  size_t n = 0;
  if (!to_syslog) {
    // The time: syslog adds its own.
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    if (!t.time_valid || t.cached_second != ts.tv_sec) {
      tm parts{};
      localtime_r(&ts.tv_sec, &parts);
      std::strftime(t.cached_time, sizeof t.cached_time, "%Y-%m-%d %H:%M:%S", &parts);
      t.cached_second = ts.tv_sec;
      t.time_valid = true;
    }
    n = static_cast<size_t>(std::snprintf(line, sizeof line, "%s.%03ld ", t.cached_time,
                                          static_cast<long>(ts.tv_nsec / 1000000)));
  }
  std::string_view name = log_level_name(level);
  if (t.label_len > 0) {
    n += static_cast<size_t>(std::snprintf(line + n, sizeof line - n, "%.*s [%s] ",
                                           static_cast<int>(name.size()), name.data(), t.label));
  } else {
    n += static_cast<size_t>(std::snprintf(line + n, sizeof line - n, "%.*s [%ld] ",
                                           static_cast<int>(name.size()), name.data(),
                                           static_cast<long>(gettid())));
  }

  size_t room = sizeof line - n - 1;  // keep one byte for '\n'
  va_list ap;
  va_start(ap, fmt);
  int w = std::vsnprintf(line + n, room, fmt, ap);
  va_end(ap);
  if (w < 0) w = 0;
  if (static_cast<size_t>(w) >= room) {
    n += room - 1;  // vsnprintf wrote room-1 characters and a NUL
    line[n - 3] = line[n - 2] = line[n - 1] = '.';
  } else {
    n += static_cast<size_t>(w);
  }
  // One message, one line: a message's own trailing newline is not doubled.
  while (n > 0 && line[n - 1] == '\n') --n;

  if (sink != nullptr) {
    sink->sink(level, std::string_view(line, n), sink->user);
  } else if (to_syslog) {
    syslog(syslog_priority(level), "%.*s", static_cast<int>(n), line);
  } else {
    line[n++] = '\n';
    write_all(STDERR_FILENO, line, n);  // one write(2) per line keeps lines of threads apart
  }
}

}  // namespace msrpd::common
