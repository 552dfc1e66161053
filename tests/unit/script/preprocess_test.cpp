// The preprocessor: #!define, #!ifdef, #!subst, include_file, and the place of every character.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "script/lexer.h"
#include "script/source.h"

namespace msrpd::script {
namespace {

// The preprocessed text without the line structure of skipped lines.
std::string text_of(const std::string& cfg) {
  return preprocess_text(cfg, "t.cfg").text;
}

std::string error_of(const std::string& cfg) {
  try {
    preprocess_text(cfg, "t.cfg");
  } catch (const LoadError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Preprocess, DefineReplacesIdentifiersButNotStringsCommentsOrPvNames) {
  EXPECT_EQ(text_of("#!define A 5\nx=A \"A\" $var(A) AB # A\n"), "\nx=5 \"A\" $var(A) AB # A\n");
}

TEST(Preprocess, DefineWithAStringValueBecomesAStringToken) {
  EXPECT_EQ(text_of("#!define REALM \"myrealm\"\nf(REALM);\n"), "\nf(\"myrealm\");\n");
}

TEST(Preprocess, DefineValuesMayUseEarlierDefines) {
  EXPECT_EQ(text_of("#!define A 1\n#!define B A+A\nB\n"), "\n\n1+1\n");
}

TEST(Preprocess, DefineValueContinuesAfterABackslash) {
  EXPECT_EQ(text_of("#!define A 1 \\\n  + 2\nA\n"), "\n1   + 2\n");
}

TEST(Preprocess, IfdefElseEndifKeepTheRightBranch) {
  EXPECT_EQ(
      text_of("#!define WITH_TLS\n#!ifdef WITH_TLS\na\n#!else\nb\n#!endif\n#!ifndef WITH_TLS\nc\n#!endif\n"),
      "\n\na\n\n\n\n\n\n\n");
}

TEST(Preprocess, NestedConditionalsInsideAFalseBranchStayOff) {
  EXPECT_EQ(text_of("#!ifdef X\n#!ifndef Y\na\n#!else\nb\n#!endif\n#!else\nc\n#!endif\n"),
            "\n\n\n\n\n\n\nc\n\n");
}

TEST(Preprocess, TrydefRedefineAndUndef) {
  EXPECT_EQ(text_of("#!define A 1\n#!trydef A 2\nA\n#!redefine A 3\nA\n#!undef A\nA\n"), "\n\n1\n\n3\n\nA\n");
}

TEST(Preprocess, DefiningTwiceIsAnError) {
  EXPECT_EQ(error_of("#!define A 1\n#!define A 2\n"),
            "t.cfg:2:10: 'A' is already defined (use #!redefine or #!trydef)");
}

TEST(Preprocess, SubstdefReplacesInsideStringsAndDefinesTheName) {
  EXPECT_EQ(text_of("#!substdef \"!MAX!3600!g\"\nx=\"Max: MAX\" + MAX\n#!ifdef MAX\nok\n#!endif\n"),
            "\nx=\"Max: 3600\" + 3600\n\nok\n\n");
}

TEST(Preprocess, SubstUsesBackReferencesAndFlags) {
  EXPECT_EQ(text_of("#!subst \"/host-([0-9]+)/10.0.0.\\1/gi\"\nHOST-1 host-2\n"), "\n10.0.0.1 10.0.0.2\n");
  EXPECT_EQ(text_of("#!subst \"/a/b/\"\naaa\n"), "\nbaa\n");
}

TEST(Preprocess, BadSubstIsAnError) {
  EXPECT_EQ(error_of("#!subst \"/a/b\"\n"),
            "t.cfg:1:9: expected \"/regex/replacement/flags\" in #!subst, found \"/a/b\"");
  EXPECT_EQ(error_of("#!subst \"/a/b/x\"\n"), "t.cfg:1:9: unknown #!subst flag 'x' (expected g or i)");
}

TEST(Preprocess, UnknownDirectiveIsAnError) {
  EXPECT_EQ(error_of("#!KAMAILIO\n#!defined A\n"), "t.cfg:2:1: unknown preprocessor directive '#!defined'");
}

TEST(Preprocess, ElseWithoutIfdefIsAnError) {
  EXPECT_EQ(error_of("#!else\n"), "t.cfg:1:1: #!else without #!ifdef/#!ifndef");
}

TEST(Preprocess, DirectivesInsideBlockCommentsAreIgnored) {
  EXPECT_EQ(text_of("/*\n#!define A 1\n*/\nA\n"), "/*\n#!define A 1\n*/\nA\n");
}

TEST(Preprocess, IncludeFileIsRelativeToTheIncludingFile) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(::testing::TempDir()) / "pp-include";
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "main.cfg") << "#!define A 1\ninclude_file \"sub/a.cfg\"\nend\n";
  std::ofstream(dir / "sub" / "a.cfg") << "a=A\ninclude_file \"b.cfg\"\n";
  std::ofstream(dir / "sub" / "b.cfg") << "  bee\n";
  SourceText src = preprocess_file((dir / "main.cfg").string());
  EXPECT_EQ(src.text, "\na=1\n  bee\n\n\nend\n");
  // "bee" was written at sub/b.cfg:1:3
  size_t at = src.text.find("bee");
  EXPECT_EQ(src.where(src.locs[at]), (dir / "sub" / "b.cfg").string() + ":1:3");
  EXPECT_EQ(src.where(src.locs[src.text.find("end")]), (dir / "main.cfg").string() + ":3:1");
}

TEST(Preprocess, ImportFileOfAMissingFileIsSkippedIncludeFileIsAnError) {
  EXPECT_EQ(text_of("import_file \"/nonexistent/x.cfg\"\na\n"), "\na\n");
  EXPECT_EQ(error_of("\n  include_file \"/nonexistent/x.cfg\"\n"),
            "t.cfg:2:3: cannot open included file '/nonexistent/x.cfg'");
}

TEST(Preprocess, IncludeLoopsAreStopped) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(::testing::TempDir()) / "pp-loop";
  fs::create_directories(dir);
  std::ofstream(dir / "loop.cfg") << "include_file \"loop.cfg\"\n";
  try {
    preprocess_file((dir / "loop.cfg").string());
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("include_file nested more than 10 deep"), std::string::npos);
  }
}

TEST(Lexer, TokensCarryTheirPlaceAndDecodedValues) {
  SourceText src = preprocess_text("x = \"a\\r\\n\" 0x1F $(var(a){s.len}) /* c */ <= # c\n =~", "t.cfg");
  Lexer lex(src);
  Token t = lex.next();
  EXPECT_EQ(t.kind, Token::Kind::ident);
  EXPECT_EQ(src.where(t.loc), "t.cfg:1:1");
  EXPECT_TRUE(lex.next().is_op("="));
  t = lex.next();
  EXPECT_EQ(t.kind, Token::Kind::string);
  EXPECT_EQ(t.str, "a\r\n");
  t = lex.next();
  EXPECT_EQ(t.ival, 31);
  t = lex.next();
  EXPECT_EQ(t.kind, Token::Kind::pv);
  EXPECT_EQ(t.text, "$(var(a){s.len})");
  EXPECT_TRUE(lex.next().is_op("<="));
  t = lex.next();
  EXPECT_TRUE(t.is_op("=~"));
  EXPECT_EQ(src.where(t.loc), "t.cfg:2:2");
  EXPECT_EQ(lex.next().kind, Token::Kind::end);
}

TEST(Lexer, UnterminatedCommentIsAnError) {
  SourceText src = preprocess_text("a /* b\n c", "t.cfg");
  Lexer lex(src);
  lex.next();
  try {
    lex.next();
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_EQ(std::string(e.what()), "t.cfg:1:3: unterminated comment: '/*' without '*/'");
  }
}

}  // namespace
}  // namespace msrpd::script
