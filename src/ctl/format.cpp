#include "ctl/format.h"

#include <cstdio>

namespace msrpd::ctl {

namespace {

std::string scalar(const Value& v) {
  switch (v.type()) {
    case Value::Type::Int:
      return std::to_string(v.as_int());
    case Value::Type::Double: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%f", v.as_double());
      return buf;
    }
    case Value::Type::String:
      return v.as_string();
    default:
      return "";
  }
}

void print(std::string& out, const Value& v, int depth);

void print_block(std::string& out, const Value& v, int depth) {
  bool is_struct = v.is_struct();
  out += is_struct ? "{\n" : "[\n";
  std::string tabs(static_cast<size_t>(depth + 1), '\t');
  if (is_struct) {
    for (const auto& [name, m] : v.members()) {
      out += tabs;
      if (!name.empty()) out += name + ": ";
      print(out, m, depth + 1);
    }
  } else {
    for (const auto& m : v.items()) {
      out += tabs;
      print(out, m, depth + 1);
    }
  }
  out.append(static_cast<size_t>(depth), '\t');
  out += is_struct ? "}\n" : "]\n";
}

void print(std::string& out, const Value& v, int depth) {
  if (v.is_struct() || v.is_list()) {
    print_block(out, v, depth);
  } else {
    out += scalar(v) + "\n";
  }
}

}  // namespace

std::string format_values(const std::vector<Value>& values) {
  std::string out;
  for (const auto& v : values) print(out, v, 0);
  return out;
}

std::string format_cmaplist(const Value& v) {
  if (!v.is_struct()) return "";
  const Value* list = v.find("CONLIST");
  const Value* count = v.find("CONCOUNT");
  const Value* size = v.find("MAP_SIZE");
  if (list == nullptr || count == nullptr || size == nullptr || !list->is_struct()) return "";
  static const char* kCols[] = {"SESSIONID", "PEER", "ADDR", "SOCK", "EXPIRES", "CONID"};
  constexpr size_t kN = sizeof kCols / sizeof kCols[0];
  std::vector<std::vector<std::string>> rows;
  rows.emplace_back(kCols, kCols + kN);
  for (const auto& [name, d] : list->members()) {
    if (name != "CONDATA" || !d.is_struct()) continue;
    std::vector<std::string> row;
    for (const char* c : kCols) {
      const Value* f = d.find(c);
      row.push_back(f != nullptr ? scalar(*f) : "");
    }
    rows.push_back(std::move(row));
  }
  size_t width[kN] = {};
  for (const auto& r : rows) {
    for (size_t i = 0; i < kN; ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < kN; ++i) {
      line += r[i];
      if (i + 1 < kN) line.append(width[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  out += "CONCOUNT: " + scalar(*count) + "  MAP_SIZE: " + scalar(*size) + "\n";
  return out;
}

}  // namespace msrpd::ctl
