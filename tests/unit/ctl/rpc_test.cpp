#include "ctl/rpc.h"

#include <gtest/gtest.h>

#include <thread>

#include "ctl/commands.h"
#include "ctl/format.h"
#include "ctl/json.h"
#include "relay/cmap.h"
#include "relay/stats.h"

namespace msrpd::ctl {
namespace {

TEST(Registry, CallsHandlerWithParamsAndReturnsItsValue) {
  Registry reg;
  reg.add("t.sum", "Adds.", [](const Params& p) -> Result<Value> {
    return Value::integer(p.at(0).as_int() + p.at(1).as_int());
  });
  auto r = reg.call("t.sum", {Value::integer(2), Value::integer(3)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Value::integer(5));
  std::string doc;
  EXPECT_TRUE(reg.doc("t.sum", doc));
  EXPECT_EQ(doc, "Adds.");
}

TEST(Registry, UnknownCommandIsFault500WithKamailiosText) {
  Registry reg;
  auto r = reg.call("nosuch", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 500);
  EXPECT_EQ(r.error().message, "command nosuch not found");
}

TEST(Registry, HandlerFaultIsReturned) {
  Registry reg;
  reg.add("t.f", "", [](const Params&) -> Result<Value> { return fault(404, "gone"); });
  auto r = reg.call("t.f", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 404);
  EXPECT_EQ(r.error().message, "gone");
}

TEST(Registry, CallsFromManyThreadsWhileAdding) {
  Registry reg;
  reg.add("t.one", "", [](const Params&) -> Result<Value> { return Value::integer(1); });
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (reg.call("t.one", {}).ok()) ++ok;
        reg.add("t.x" + std::to_string(t), "", [](const Params&) -> Result<Value> { return Value(); });
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 2000);
}

TEST(Value, StructKeepsOrderAndDuplicateNames) {
  Value s = Value::structure();
  s.add("CONDATA", Value::integer(1)).add("X", Value::str("x")).add("CONDATA", Value::integer(2));
  ASSERT_EQ(s.members().size(), 3u);
  EXPECT_EQ(s.members()[2].first, "CONDATA");
  EXPECT_EQ(*s.find("CONDATA"), Value::integer(1));
}

TEST(Json, RepeatedMembersBecomeAnArrayAndUnnamedStructsArrays) {
  Value s = Value::structure();
  s.add("CONDATA", Value::integer(1)).add("N", Value()).add("CONDATA", Value::integer(2));
  EXPECT_EQ(to_json(s).dump(), R"({"CONDATA":[1,2],"N":null})");
  Value u = Value::structure();
  u.add("", Value::str("a")).add("", Value::real(0.5));
  EXPECT_EQ(to_json(u).dump(), R"(["a",0.5])");
  EXPECT_EQ(from_json(nlohmann::json::parse(R"([1,"x",{"a":2.5},null,true])")),
            Value::list({Value::integer(1), Value::str("x"), Value::structure().add("a", Value::real(2.5)),
                         Value(), Value::integer(1)}));
}

TEST(CoreCommands, ListMethodsIsSortedAndHelpGivesTheDocLine) {
  Registry reg;
  register_core_commands(reg, {});
  auto r = reg.call("system.listMethods", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Value::list({Value::str("core.echo"), Value::str("core.ps"), Value::str("core.psx"),
                             Value::str("core.uptime"), Value::str("core.version"),
                             Value::str("system.listMethods"), Value::str("system.methodHelp")}));
  auto h = reg.call("system.methodHelp", {Value::str("core.psx")});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, Value::str("Returns the detailed description of running processes."));
  auto bad = reg.call("system.methodHelp", {Value::str("nosuch")});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().status, 400);
  EXPECT_EQ(bad.error().message, "command not found");
}

TEST(CoreCommands, UptimeHasNowUpSinceAndSeconds) {
  Registry reg;
  CoreInfo info;
  info.started = std::chrono::system_clock::now() - std::chrono::seconds(100);
  register_core_commands(reg, info);
  auto r = reg.call("core.uptime", {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->members().size(), 3u);
  EXPECT_EQ(r->members()[0].first, "now");
  EXPECT_EQ(r->members()[1].first, "up_since");
  EXPECT_EQ(r->members()[2].first, "uptime");
  EXPECT_EQ(r->members()[0].second.as_string().size(), 24u);
  EXPECT_EQ(r->members()[1].second.as_string(),
            ctime_text(std::chrono::system_clock::to_time_t(info.started)));
  EXPECT_GE(r->members()[2].second.as_int(), 100);
  EXPECT_LE(r->members()[2].second.as_int(), 102);
}

TEST(CoreCommands, VersionLineHasKamailiosShape) {
  CoreInfo info;
  EXPECT_EQ(version_line(info), "msrpd 0.1.0 (x86_64/linux) ");
}

TEST(CoreCommands, PsxListsTheProcessTable) {
  ProcessTable procs;
  procs.add(100, "main process");
  procs.add(101, "worker 1");
  Registry reg;
  CoreInfo info;
  info.processes = &procs;
  register_core_commands(reg, info);
  auto r = reg.call("core.psx", {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->items().size(), 2u);
  EXPECT_EQ(r->items()[1], Value::structure()
                               .add("IDX", Value::integer(1))
                               .add("PID", Value::integer(101))
                               .add("DSC", Value::str("worker 1")));
}

TEST(MsrpCommands, CmaplistWithoutMapIsFault500) {
  Registry reg;
  register_msrp_commands(reg, nullptr);
  auto r = reg.call("msrp.cmaplist", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 500);
  EXPECT_EQ(r.error().message, "No Connections Map Table");
}

TEST(MsrpCommands, CmaplistHasKamailiosFields) {
  relay::ConnectionMap map(2);
  relay::CmapItem it;
  it.session_id = "abcdefghij0123456789";
  it.peer = "msrp://client.example.com:7777/s1;tcp";
  it.addr = "msrp://127.0.0.1:40000";
  it.sock = "tcp:127.0.0.1:2855";
  it.conid = 7;
  it.expires = std::chrono::system_clock::from_time_t(1800000000);
  map.save(it);
  Registry reg;
  register_msrp_commands(reg, &map);
  auto r = reg.call("msrp.cmaplist", {});
  ASSERT_TRUE(r.ok());
  Value d = Value::structure();
  d.add("CITEMID", Value::integer(relay::ConnectionMap::citemid_of(it.session_id)))
      .add("SESSIONID", Value::str(it.session_id))
      .add("PEER", Value::str(it.peer))
      .add("ADDR", Value::str(it.addr))
      .add("SOCK", Value::str(it.sock))
      .add("EXPIRES", Value::str(ctime_text(1800000000)))
      .add("CONID", Value::integer(7))
      .add("FLAGS", Value::integer(0));
  Value want = Value::structure();
  want.add("MAP_SIZE", Value::integer(4))
      .add("CONLIST", Value::structure().add("CONDATA", d))
      .add("CONCOUNT", Value::integer(1));
  EXPECT_EQ(*r, want);
  EXPECT_EQ(ctime_text(1800000000).size(), 24u);
}

TEST(StatsCommands, GetStatisticsAllGroupAndName) {
  Registry reg;
  register_stats_commands(reg, [] {
    return StatsSnapshot{{"msrp:frames_in_send", 3}, {"msrp:bytes_in", 10}, {"auth:failures", 1}};
  });
  auto all = reg.call("stats.get_statistics", {Value::str("all")});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, Value::list({Value::str("msrp:frames_in_send = 3"), Value::str("msrp:bytes_in = 10"),
                               Value::str("auth:failures = 1")}));
  auto group = reg.call("stats.get_statistics", {Value::str("auth:")});
  EXPECT_EQ(*group, Value::list({Value::str("auth:failures = 1")}));
  auto name = reg.call("stats.get_statistics", {Value::str("bytes_in")});
  EXPECT_EQ(*name, Value::list({Value::str("msrp:bytes_in = 10")}));
}

TEST(StatsCommands, RelaySnapshotNamesTheEngineCounters) {
  relay::Stats st;
  relay::Stats::bump(st.requests_in[0], 5);
  relay::Stats::bump(st.replies_sent[200], 2);
  relay::Stats::bump(st.replies_sent[599]);
  relay::Stats::bump(st.auth_failures);
  relay::Stats::bump(st.connections_accepted, 3);
  relay::Stats::bump(st.connections_closed, 1);
  relay::ConnectionMap map(1);
  auto snap = relay_stats_snapshot(st, &map);
  auto find = [&](const std::string& n) -> int64_t {
    for (auto& [k, v] : snap) {
      if (k == n) return v;
    }
    return -1;
  };
  EXPECT_EQ(find("msrp:frames_in_send"), 5);
  EXPECT_EQ(find("msrp:frames_in_auth"), 0);
  EXPECT_EQ(find("msrp:replies_200"), 2);
  EXPECT_EQ(find("msrp:replies_599"), 1);
  EXPECT_EQ(find("msrp:replies_598"), -1);
  EXPECT_EQ(find("auth:failures"), 1);
  EXPECT_EQ(find("tcp:current_connections"), 2);
  EXPECT_EQ(find("cmap:entries"), 0);
  EXPECT_EQ(find("cmap:slots"), 2);
}

HtableAccess fake_htable() {
  HtableAccess a;
  a.dump = [](std::string_view t) -> std::optional<std::vector<HtableItem>> {
    if (t != "t") return std::nullopt;
    HtableItem n{"n", true, 5, "", 0, 3};
    HtableItem k{"k", false, 0, "v", 0, 6};
    return std::vector<HtableItem>{k, n};
  };
  a.get = [](std::string_view t, std::string_view k, std::optional<HtableItem>& out) {
    if (t != "t") return false;
    if (k == "k") out = HtableItem{"k", false, 0, "v", 0, 6};
    return true;
  };
  a.remove = [](std::string_view t, std::string_view k) {
    if (t != "t") return HtableAccess::Removed::NoTable;
    return k == "k" ? HtableAccess::Removed::Removed : HtableAccess::Removed::NoKey;
  };
  return a;
}

TEST(HtableCommands, DumpGroupsBySlotAsKamailio) {
  Registry reg;
  register_htable_commands(reg, fake_htable());
  auto r = reg.call("htable.dump", {Value::str("t")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(format_values(r->items()),
            "{\n\tentry: 3\n\tsize: 1\n\tslot: {\n\t\t{\n\t\t\tname: n\n\t\t\tvalue: 5\n\t\t\ttype: "
            "int\n\t\t}\n\t}\n}\n"
            "{\n\tentry: 6\n\tsize: 1\n\tslot: {\n\t\t{\n\t\t\tname: k\n\t\t\tvalue: v\n\t\t\ttype: "
            "str\n\t\t}\n\t}\n}\n");
  auto none = reg.call("htable.dump", {Value::str("nope")});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message, "No such htable");
}

TEST(HtableCommands, GetAndDeleteAnswerKamailiosFaults) {
  Registry reg;
  register_htable_commands(reg, fake_htable());
  auto g = reg.call("htable.get", {Value::str("t"), Value::str("zz")});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().status, 500);
  EXPECT_EQ(g.error().message, "Key name doesn't exist in htable.");
  auto ok = reg.call("htable.get", {Value::str("t"), Value::str("k")});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->find("item")->find("value")->as_string(), "v");
  EXPECT_EQ(ok->find("item")->find("flags")->as_int(), 2);
  auto d = reg.call("htable.delete", {Value::str("t"), Value::str("zz")});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().status, 404);
  EXPECT_EQ(d.error().message, "Key not found in htable.");
  auto dd = reg.call("htable.delete", {Value::str("t"), Value::str("k")});
  ASSERT_TRUE(dd.ok());
  EXPECT_EQ(*dd, Value::str("Ok. Key deleted."));
}

TEST(HtableCommands, SetsSetiAndReloadTakeKamailiosArgumentsAndTexts) {
  Registry reg;
  HtableAccess a = fake_htable();
  std::vector<std::string> seen;
  a.set = [&seen](std::string_view t, std::string_view k, const HtableItem& v) {
    if (t != "t") return false;
    seen.push_back(std::string(k) + "=" + (v.is_int ? "#" + std::to_string(v.i) : v.s));
    return true;
  };
  a.reload = [](std::string_view t) -> Result<size_t> {
    if (t != "t") return make_error(0, "No such htable");
    return size_t{3};
  };
  register_htable_commands(reg, a);
  EXPECT_EQ(*reg.call("htable.sets", {Value::str("t"), Value::str("k"), Value::str("v")}),
            Value::str("Ok. Key set to new value."));
  // kamcmd sends digits as ints: sets stores their text, seti the integer (or a JSON string of digits).
  EXPECT_TRUE(reg.call("htable.sets", {Value::str("t"), Value::str("n"), Value::integer(5)}).ok());
  EXPECT_TRUE(reg.call("htable.seti", {Value::str("t"), Value::str("i"), Value::integer(-3)}).ok());
  EXPECT_TRUE(reg.call("htable.seti", {Value::str("t"), Value::str("j"), Value::str("42")}).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"k=v", "n=5", "i=#-3", "j=#42"}));
  auto bad = reg.call("htable.seti", {Value::str("t"), Value::str("i"), Value::str("4x")});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "Not enough parameters (htable name, key name and value)");
  auto few = reg.call("htable.sets", {Value::str("t"), Value::str("k")});
  ASSERT_FALSE(few.ok());
  EXPECT_EQ(few.error().status, 500);
  EXPECT_EQ(few.error().message, "Not enough parameters (htable name, key name and value)");
  EXPECT_EQ(reg.call("htable.sets", {Value::str("x"), Value::str("k"), Value::str("v")}).error().message,
            "No such htable");
  EXPECT_EQ(*reg.call("htable.reload", {Value::str("t")}), Value::str("Ok. Htable reloaded."));
  EXPECT_EQ(reg.call("htable.reload", {Value::str("x")}).error().message, "No such htable");
  EXPECT_EQ(reg.call("htable.reload", {}).error().message, "No htable name given");
}

TEST(AuthDbCommands, CacheDropSplitsUserAndDomain) {
  Registry reg;
  std::vector<std::string> seen;
  register_auth_db_commands(reg, [&seen](std::string_view u, std::string_view d) -> Result<CacheDropped> {
    seen.push_back(std::string(u) + "|" + std::string(d));
    return CacheDropped{2, 1};
  });
  auto r = reg.call("auth_db.cache_drop", {Value::str("alice@example.com")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->find("workers")->as_int(), 2);
  EXPECT_EQ(r->find("dropped")->as_int(), 1);
  EXPECT_TRUE(reg.call("auth_db.cache_drop", {Value::str("bob")}).ok());
  EXPECT_TRUE(reg.call("auth_db.cache_drop", {Value::str("all")}).ok());
  EXPECT_TRUE(reg.call("auth_db.cache_drop", {Value::str("a@b@c")}).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"alice|example.com", "bob|", "|", "a@b|c"}));
  EXPECT_EQ(reg.call("auth_db.cache_drop", {Value::str("alice@")}).error().message,
            "Expected user@domain, user or all");
  EXPECT_EQ(reg.call("auth_db.cache_drop", {}).error().message,
            "Not enough parameters (user@domain, user or all)");
}

TEST(Format, CmaplistTable) {
  Value d = Value::structure();
  d.add("CITEMID", Value::integer(1))
      .add("SESSIONID", Value::str("s1"))
      .add("PEER", Value::str("msrp://p:1/x;tcp"))
      .add("ADDR", Value::str("msrp://127.0.0.1:5"))
      .add("SOCK", Value::str("tcp:127.0.0.1:2855"))
      .add("EXPIRES", Value::str("Wed Nov 25 15:15:23 2026"))
      .add("CONID", Value::integer(12))
      .add("FLAGS", Value::integer(0));
  Value v = Value::structure();
  v.add("MAP_SIZE", Value::integer(4))
      .add("CONLIST", Value::structure().add("CONDATA", d))
      .add("CONCOUNT", Value::integer(1));
  EXPECT_EQ(
      format_cmaplist(v),
      "SESSIONID  PEER              ADDR                SOCK                EXPIRES                   CONID\n"
      "s1         msrp://p:1/x;tcp  msrp://127.0.0.1:5  tcp:127.0.0.1:2855  Wed Nov 25 15:15:23 2026  12\n"
      "CONCOUNT: 1  MAP_SIZE: 4\n");
}

}  // namespace
}  // namespace msrpd::ctl
