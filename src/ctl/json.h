#pragma once
// Value <-> JSON (nlohmann-json, Debian's nlohmann-json3-dev).
//
// A struct becomes an object. JSON objects cannot repeat a key, so a member name that repeats in
// a struct (msrp.cmaplist's CONDATA) becomes one key holding an array of those values, in order;
// members without a name (htable.dump's slot items) make the struct an array.

#include <nlohmann/json.hpp>

#include "ctl/rpc.h"

namespace msrpd::ctl {

nlohmann::json to_json(const Value& v);
// Objects keep the JSON library's key order (sorted); booleans become ints 0/1.
Value from_json(const nlohmann::json& j);

}  // namespace msrpd::ctl
