// Status codes and methods (RFC 4975 §9, §10; RFC 4976; RFC 7701).

#include <gtest/gtest.h>

#include "msrp/status.h"

namespace msrpd::msrp {
namespace {

TEST(Status, RegisteredCodesRoundTrip) {
  for (uint16_t c : {200, 400, 401, 403, 404, 408, 413, 415, 423, 424, 425, 428, 481, 501, 506}) {
    auto s = status_from_code(c);
    ASSERT_TRUE(s.has_value()) << c;
    EXPECT_EQ(code_of(*s), c);
    EXPECT_FALSE(reason_phrase(*s).empty()) << c;
  }
}
TEST(Status, UnregisteredCodesHaveNoStatusNorPhrase) {
  EXPECT_FALSE(status_from_code(402).has_value());
  EXPECT_EQ(reason_phrase(uint16_t{299}), "");
}
TEST(Status, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(Status::ok), "OK");
  EXPECT_EQ(reason_phrase(uint16_t{400}), "Bad Request");
  EXPECT_EQ(reason_phrase(Status::stop_sending), "Stop Sending Message");
  EXPECT_EQ(reason_phrase(Status::session_does_not_exist), "Session Does Not Exist");
}
TEST(Status, MethodsAreCaseSensitive) {
  EXPECT_EQ(method_from_token("SEND"), Method::send);
  EXPECT_EQ(method_from_token("REPORT"), Method::report);
  EXPECT_EQ(method_from_token("AUTH"), Method::auth);
  EXPECT_EQ(method_from_token("NICKNAME"), Method::nickname);
  EXPECT_EQ(method_from_token("Send"), Method::other);
  EXPECT_TRUE(is_method_token("FOO"));
  EXPECT_FALSE(is_method_token("Foo"));
  EXPECT_FALSE(is_method_token(""));
  // Issue 12: methods as clients send them (sipsimple's FILE_OFFSET): digits and token
  // punctuation after an upper-case letter; never a lower-case letter or a leading digit.
  EXPECT_TRUE(is_method_token("SEND2"));
  EXPECT_TRUE(is_method_token("FILE_OFFSET"));
  EXPECT_FALSE(is_method_token("2SEND"));
  EXPECT_FALSE(is_method_token("FILE OFFSET"));
  EXPECT_EQ(method_name(Method::auth), "AUTH");
}

}  // namespace
}  // namespace msrpd::msrp
