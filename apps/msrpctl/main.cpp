// msrpctl: calls one RPC command on msrpd's control socket (binrpc, as kamcmd) and prints the
// reply readably (a table for msrp.cmaplist), or as JSON with --json.
//
//   msrpctl [-s unix:/path|tcp:host:port] [--json] [-t ms] COMMAND [ARGS...]
//
// Arguments are typed as kamcmd types them: an integer is sent as an int, a decimal number with a
// '.' as a double, anything else as a string; "s:" forces a string ("s:42").
// Exit status: 0 success, 1 the server answered a fault, 2 usage or connection error.

#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "common/ascii.h"
#include "ctl/client.h"
#include "ctl/format.h"
#include "ctl/json.h"
#include "ctl/server.h"
#include "db_command.h"

namespace {

using msrpd::ctl::Value;

void usage(std::FILE* f) {
  std::fprintf(f,
               "Usage: msrpctl [-s ADDRESS] [--json] [-t TIMEOUT_MS] COMMAND [ARGS...]\n"
               "  -s ADDRESS   control socket: unix:/path or tcp:host:port (default %s)\n"
               "  --json       print the reply as JSON\n"
               "  -t MS        give up after MS milliseconds (default 5000)\n"
               "  ARGS         integers go as ints, numbers with '.' as doubles, the rest as\n"
               "               strings; prefix s: to force a string (s:42)\n"
               "Examples: msrpctl system.listMethods; msrpctl msrp.cmaplist; msrpctl --json core.uptime\n"
               "%s",
               msrpd::ctl::kDefaultBinrpc, msrpctl::kDbUsage);
}

Value typed_arg(std::string_view a) {
  if (a.starts_with("s:")) return Value::str(std::string(a.substr(2)));
  int64_t i = 0;
  auto r = std::from_chars(a.data(), a.data() + a.size(), i);
  if (!a.empty() && r.ec == std::errc() && r.ptr == a.data() + a.size()) return Value::integer(i);
  if (a.find('.') != std::string_view::npos) {
    double d = 0;
    auto rd = std::from_chars(a.data(), a.data() + a.size(), d);
    if (rd.ec == std::errc() && rd.ptr == a.data() + a.size()) return Value::real(d);
  }
  return Value::str(std::string(a));
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = msrpd::ctl::default_binrpc_client();
  bool json = false;
  int timeout_ms = 5000;
  std::string db_url;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-s" && i + 1 < argc) {
      address = argv[++i];
    } else if (a == "-d" && i + 1 < argc) {
      db_url = argv[++i];
    } else if (a == "--json" || a == "-j") {
      json = true;
    } else if (a == "-t" && i + 1 < argc) {
      timeout_ms = std::atoi(argv[++i]);
      if (timeout_ms <= 0) timeout_ms = 5000;
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "--") {
      ++i;
      break;
    } else if (a.starts_with("-") && a.size() > 1 && !msrpd::ascii::is_digit(a[1])) {
      std::fprintf(stderr, "msrpctl: unknown option %s\n", argv[i]);
      usage(stderr);
      return 2;
    } else {
      break;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  if (msrpctl::is_db_command(argv[i]))
    return msrpctl::db_command(db_url, std::vector<std::string>(argv + i, argv + argc));
  std::string method = argv[i++];
  msrpd::ctl::Params params;
  for (; i < argc; ++i) params.push_back(typed_arg(argv[i]));

  auto r = msrpd::ctl::binrpc_call(address, method, params, timeout_ms);
  if (!r) {
    std::fprintf(stderr, "msrpctl: %s\n", r.error().message.c_str());
    return 2;
  }
  if (r->is_fault) {
    if (json) {
      nlohmann::json e = {{"error", {{"code", r->fault_code}, {"message", r->fault_message}}}};
      std::cout << e.dump(2) << "\n";
    } else {
      std::fprintf(stderr, "error: %d - %s\n", r->fault_code, r->fault_message.c_str());
    }
    return 1;
  }
  if (json) {
    nlohmann::json out;
    if (r->values.size() == 1) {
      out = msrpd::ctl::to_json(r->values[0]);
    } else {
      out = nlohmann::json::array();
      for (const auto& v : r->values) out.push_back(msrpd::ctl::to_json(v));
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (method == "msrp.cmaplist" && r->values.size() == 1) {
    std::string table = msrpd::ctl::format_cmaplist(r->values[0]);
    if (!table.empty()) {
      std::cout << table;
      return 0;
    }
  }
  std::cout << msrpd::ctl::format_values(r->values);
  return 0;
}
