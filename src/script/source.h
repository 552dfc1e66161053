#pragma once
// The preprocessed text of a config: the files it came from, and for every character the
// file:line:column it was written at (so errors name the place the operator wrote, through
// include_file and #!subst/#!define replacements).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace msrpd::script {

// A config error at load time: the message starts with "file:line:column: ".
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Loc {
  uint32_t file = 0;  // index in SourceText::files
  uint32_t line = 0;  // 1-based
  uint32_t col = 0;   // 1-based
};

struct SourceText {
  std::vector<std::string> files;
  std::string text;
  std::vector<Loc> locs;  // locs.size() == text.size() + 1 (the last is end of file)
  std::vector<std::string> warnings;

  std::string where(Loc l) const;
  [[noreturn]] void fail(Loc l, const std::string& what) const;
};

// Reads `path` and runs the preprocessor: #!define/#!ifdef/#!ifndef/#!else/#!endif/#!undef,
// #!trydef/#!redefine, #!subst/#!substdef/#!substdefs, include_file/import_file (relative to the
// including file), #!KAMAILIO-style headers. Throws LoadError.
SourceText preprocess_file(const std::string& path);
// The same over text in memory; `name` is the file name used in messages, includes are relative
// to `dir`.
SourceText preprocess_text(std::string_view text, const std::string& name, const std::string& dir = ".");

}  // namespace msrpd::script
