#include "ctl/json.h"

#include <map>

namespace msrpd::ctl {

nlohmann::json to_json(const Value& v) {
  using nlohmann::json;
  switch (v.type()) {
    case Value::Type::Null:
      return nullptr;
    case Value::Type::Int:
      return v.as_int();
    case Value::Type::Double:
      return v.as_double();
    case Value::Type::String:
      return v.as_string();
    case Value::Type::List: {
      json a = json::array();
      for (const auto& i : v.items()) a.push_back(to_json(i));
      return a;
    }
    case Value::Type::Struct: {
      bool unnamed = !v.members().empty();
      for (const auto& [n, m] : v.members()) unnamed = unnamed && n.empty();
      if (unnamed) {
        json a = json::array();
        for (const auto& [n, m] : v.members()) a.push_back(to_json(m));
        return a;
      }
      std::map<std::string_view, int> count;
      for (const auto& [n, m] : v.members()) ++count[n];
      json o = json::object();
      for (const auto& [n, m] : v.members()) {
        if (count[n] > 1) {
          json& slot = o[n];
          if (slot.is_null()) slot = json::array();
          slot.push_back(to_json(m));
        } else {
          o[n] = to_json(m);
        }
      }
      return o;
    }
  }
  return nullptr;
}

Value from_json(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return Value::null();
    case nlohmann::json::value_t::boolean:
      return Value::integer(j.get<bool>() ? 1 : 0);
    case nlohmann::json::value_t::number_integer:
      return Value::integer(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return Value::integer(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::json::value_t::number_float:
      return Value::real(j.get<double>());
    case nlohmann::json::value_t::string:
      return Value::str(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      Value l = Value::list();
      for (const auto& e : j) l.push(from_json(e));
      return l;
    }
    case nlohmann::json::value_t::object: {
      Value s = Value::structure();
      for (const auto& [k, e] : j.items()) s.add(k, from_json(e));
      return s;
    }
    case nlohmann::json::value_t::binary:
      return Value::null();
  }
  return Value::null();
}

}  // namespace msrpd::ctl
