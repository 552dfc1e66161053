#pragma once
// The one table of log level names: xlog's (Kamailio's L_* names, the first argument of
// xlog(level, fmt)) and KEMI's (KSR.log("info", msg)), with their levels (common/log.h).

#include <optional>
#include <string_view>

#include "common/log.h"

namespace msrpd::script {

struct LogLevelName {
  std::string_view xlog;  // "L_INFO"
  std::string_view kemi;  // "info"; empty: KSR.log has no name for it
  int level;
};

inline constexpr LogLevelName kLogLevelNames[] = {
    {"L_ALERT", "alert", common::kLogAlert},
    {"L_BUG", "", common::kLogBug},
    {"L_CRIT2", "", -3},
    {"L_CRIT", "crit", common::kLogCrit},
    {"L_ERR", "err", common::kLogErr},
    {"L_WARN", "warn", common::kLogWarn},
    {"L_NOTICE", "notice", common::kLogNotice},
    {"L_INFO", "info", common::kLogInfo},
    {"L_DBG", "dbg", common::kLogDbg},
};

constexpr std::optional<int> level_by_xlog_name(std::string_view name) {
  for (const auto& l : kLogLevelNames)
    if (l.xlog == name) return l.level;
  return std::nullopt;
}

constexpr std::optional<int> level_by_kemi_name(std::string_view name) {
  for (const auto& l : kLogLevelNames)
    if (!l.kemi.empty() && l.kemi == name) return l.level;
  return std::nullopt;
}

}  // namespace msrpd::script
