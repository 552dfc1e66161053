#pragma once
// msrpctl's database commands (db.cpp).

#include <string>
#include <string_view>
#include <vector>

namespace msrpctl {

extern const char* const kDbUsage;
bool is_db_command(std::string_view word);
// args: from "db"/"user" on. Exit status: 0 done, 1 failed, 2 usage.
int db_command(std::string db_url, const std::vector<std::string>& args);

}  // namespace msrpctl
