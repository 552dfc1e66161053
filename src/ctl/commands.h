#pragma once
// The commands msrpd registers, with Kamailio's names and output shapes (what kamcmd prints for
// Kamailio prints for msrpd too). Each register_* adds its commands to a Registry; the daemon
// calls the ones it has the data for (docs/CONTROL.md lists every command).

#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctl/rpc.h"

namespace msrpd::relay {
class ConnectionMap;
struct Stats;
}  // namespace msrpd::relay

namespace msrpd::ctl {

struct CoreInfo {
  std::string name = "msrpd";
  std::string version = "0.1.0";
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  ProcessTable* processes = nullptr;  // core.psx / core.ps (nullptr: only this process)
};

// "msrpd 0.1.0 (x86_64/linux) ": core.version's line, in Kamailio's shape (trailing space kept).
std::string version_line(const CoreInfo& info);
// Kamailio's ctime() text without the newline: "Wed Nov 25 15:15:23 2026" (24 characters).
std::string ctime_text(time_t t);

// system.listMethods, system.methodHelp, core.version, core.uptime, core.psx, core.ps, core.echo.
void register_core_commands(Registry& reg, const CoreInfo& info);

// msrp.cmaplist; map == nullptr (cmap_size=0) answers fault 500 "No Connections Map Table".
// The map must outlive the registry's use of the command.
void register_msrp_commands(Registry& reg, relay::ConnectionMap* map);

// Statistics as "group:name" -> value, in the order to show (Kamailio's stats groups).
using StatsSnapshot = std::vector<std::pair<std::string, int64_t>>;
using StatsSource = std::function<StatsSnapshot()>;

// stats.get_statistics [all | group: | group:name ...]: Kamailio's array of "group:name = value".
// Also stats.reset_statistics is not offered (counters only grow).
void register_stats_commands(Registry& reg, const StatsSource& snapshot);

// The engine's counters as stats (names in docs/CONTROL.md): msrp:frames_in_send,
// msrp:replies_200, tcp:connections_accepted, auth:failures, cmap:entries... map may be nullptr.
StatsSnapshot relay_stats_snapshot(const relay::Stats& stats, const relay::ConnectionMap* map);

// The htable store, seen through callbacks (the daemon adapts script::HTable to them).
struct HtableItem {
  std::string key;
  bool is_int = false;
  int64_t i = 0;
  std::string s;
  time_t expires = 0;  // absolute; 0 = never
  uint32_t slot = 0;   // the slot it lives in (htable.dump groups by slot); 0 if unknown
};
struct HtableAccess {
  // Items of table `name` not expired; nullopt when there is no such table.
  std::function<std::optional<std::vector<HtableItem>>(std::string_view table)> dump;
  // Whether the table exists; nullopt item when the key is absent or expired.
  std::function<bool(std::string_view table, std::string_view key, std::optional<HtableItem>& out)> get;
  enum class Removed { NoTable, NoKey, Removed };
  std::function<Removed(std::string_view table, std::string_view key)> remove;
  // htable.sets / htable.seti: false when there is no such table.
  std::function<bool(std::string_view table, std::string_view key, const HtableItem& value)> set;
  // htable.reload: the table read again from its database and swapped in; the items it holds,
  // or the fault's text.
  std::function<Result<size_t>(std::string_view table)> reload;
};
// htable.dump TABLE, htable.get TABLE KEY, htable.delete TABLE KEY, htable.sets TABLE KEY VALUE,
// htable.seti TABLE KEY INT, htable.reload TABLE.
void register_htable_commands(Registry& reg, const HtableAccess& access);

// auth_db.cache_drop WHO: drops cached credentials from every worker's auth_db cache, WHO being
// "user@domain", "user" (any domain) or "all". `drop` gets user and domain ("" for any; user ""
// for all) and returns how many workers answered and how many rows they dropped, or an error.
struct CacheDropped {
  int64_t workers = 0;
  int64_t dropped = 0;
};
using CacheDrop = std::function<Result<CacheDropped>(std::string_view user, std::string_view domain)>;
void register_auth_db_commands(Registry& reg, const CacheDrop& drop);

}  // namespace msrpd::ctl
