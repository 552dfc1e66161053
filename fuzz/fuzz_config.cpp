// libFuzzer target for the config parser: script::load_text, i.e. what `msrpd -c` runs on a
// config (preprocessor, lexer, parser and the load-time resolution of names, modules, parameters
// and functions), from text in memory. Checked on every input:
// - it loads, or it is refused with a LoadError whose message starts with "file:line:col: "
//   (docs/CONFIG.md), naming the input or one of the files it includes; nothing else is thrown;
// - so does every warning;
// - loading is deterministic (inputs up to 1 KiB): the same text loads again with the same warnings, or fails
// again
//   with the same message.
// include_file/import_file read files: an input is only run when what follows each of them on its
// line has no '/', '.' or backslash (a plain file name, no continued line), so that it can only reach
// the files this target writes in its own directory (a route block, and one that includes itself,
// for the depth limit).
// A postgres:// db_url makes the load ask that server for auth_db's tables (a name lookup and a
// connect over the network, whose answers vary): inputs naming one are not run.

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/ascii.h"
#include "script/script.h"
#include "script/source.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// A directory with two files to include, removed at exit (kept alive for the exit handler).
const std::string& include_dir() {
  static const std::string* dir = [] {
    char tmpl[] = "/tmp/msrpd-fuzz-config-XXXXXX";
    auto* d = new std::string(::mkdtemp(tmpl) ? tmpl : "/nonexistent");
    std::ofstream(*d + "/route") << "route[INCLUDED] {\n  xlog(\"L_INFO\", \"included\\n\");\n}\n";
    std::ofstream(*d + "/loop") << "include_file \"loop\"\n";
    std::atexit([] {
      ::unlink((*dir + "/route").c_str());
      ::unlink((*dir + "/loop").c_str());
      ::rmdir(dir->c_str());
    });
    return d;
  }();
  return *dir;
}

bool includes_only_plain_names(std::string_view text) {
  for (std::string_view kw : {std::string_view("include_file"), std::string_view("import_file")}) {
    for (size_t at = text.find(kw); at != text.npos; at = text.find(kw, at + 1)) {
      std::string_view rest = text.substr(at + kw.size());
      rest = rest.substr(0, rest.find('\n'));
      if (rest.find_first_of("/.\\") != rest.npos) return false;
    }
  }
  return true;
}

// "name:12:3: ..." with name the input's or an included file's.
bool names_a_place(std::string_view message) {
  for (std::string_view file : {std::string_view("fuzz.cfg"), std::string_view(include_dir())}) {
    if (!message.starts_with(file)) continue;
    std::string_view rest = message.substr(file.size());
    if (file != "fuzz.cfg") rest = rest.substr(std::min(rest.find(':'), rest.size()));
    size_t line_end = rest.find(':', 1),
           col_end = line_end == rest.npos ? rest.npos : rest.find(':', line_end + 1);
    if (!rest.starts_with(":") || col_end == rest.npos) return false;
    return msrpd::ascii::all_digits(rest.substr(1, line_end - 1)) &&
           msrpd::ascii::all_digits(rest.substr(line_end + 1, col_end - line_end - 1)) &&
           rest.substr(col_end).starts_with(": ");
  }
  return false;
}

// The warnings of a load, or its error as the only line prefixed "error: ".
std::vector<std::string> load(std::string_view text) {
  try {
    msrpd::script::Script s = msrpd::script::load_text(text, "fuzz.cfg", include_dir());
    check(s.loaded());
    for (const auto& w : s.warnings()) check(names_a_place(w));
    return s.warnings();
  } catch (const msrpd::script::LoadError& e) {
    check(names_a_place(e.what()));
    return {std::string("error: ") + e.what()};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!includes_only_plain_names(text)) return 0;
  if (text.find("postgres") != text.npos) return 0;
  std::vector<std::string> first = load(text);
  // Twice for small inputs only: a second load halves the runs a large config gets.
  if (size <= 1024) check(load(text) == first);
  return 0;
}
