#pragma once
// Printing RPC replies for people (msrpctl): kamcmd's layout, and a table for msrp.cmaplist.
//
//   {                        a struct: members one a line, "name: value", one tab deeper
//   	MAP_SIZE: 16            per level; a struct member opens "name: {" and closes "}"
//   	CONLIST: {
//   	}
//   }

#include <string>
#include <vector>

#include "ctl/rpc.h"

namespace msrpd::ctl {

// The top-level values of a reply, each followed by a newline, as kamcmd prints them.
std::string format_values(const std::vector<Value>& values);

// msrp.cmaplist's reply as a table (columns SESSIONID, PEER, ADDR, SOCK, EXPIRES, CONID, widths
// fitted to the data, separated by two spaces), then "CONCOUNT: n  MAP_SIZE: n". Empty when the
// value is not a cmaplist reply.
std::string format_cmaplist(const Value& v);

}  // namespace msrpd::ctl
