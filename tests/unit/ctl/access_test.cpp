// The HTTP control listener's access checks (ctl/http.h http_check_access), request by request.

#include <gtest/gtest.h>

#include <string>

#include "ctl/http.h"

namespace msrpd::ctl {
namespace {

HttpRequest request(std::string method, std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = "/RPC";
  r.version = "HTTP/1.1";
  r.headers = std::move(headers);
  return r;
}

HttpAccess access(std::string token = "") {
  HttpAccess a;
  a.token = std::move(token);
  a.hosts = {"127.0.0.1", "ctl.example"};
  a.port = 8080;
  return a;
}

HttpRefusal check(const HttpRequest& r, const HttpAccess& a) {
  std::string out;
  HttpRefusal got = http_check_access(r, a, out);
  EXPECT_EQ(got == HttpRefusal::none, out.empty()) << out;
  return got;
}

TEST(HttpAccess, SameOriginJsonPostPasses) {
  auto r = request("POST", {{"Host", "127.0.0.1:8080"},
                            {"Origin", "http://127.0.0.1:8080"},
                            {"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(check(r, access()), HttpRefusal::none);
}

TEST(HttpAccess, HostMustNameTheListener) {
  EXPECT_EQ(check(request("GET", {{"Host", "ctl.example"}}), access()), HttpRefusal::none);
  EXPECT_EQ(check(request("GET", {{"Host", "LOCALHOST:8080"}}), access()), HttpRefusal::none);
  EXPECT_EQ(check(request("GET", {{"Host", "attacker.example:8080"}}), access()), HttpRefusal::host);
  EXPECT_EQ(check(request("GET", {{"Host", "127.0.0.1:8081"}}), access()), HttpRefusal::host);
  EXPECT_EQ(check(request("GET", {{"Host", "127.0.0.1:80x"}}), access()), HttpRefusal::host);
  EXPECT_EQ(check(request("GET", {{"Host", "[::1"}}), access()), HttpRefusal::host);
  EXPECT_EQ(check(request("GET", {}), access()), HttpRefusal::host);  // HTTP/1.1 without Host
  std::string out;
  http_check_access(request("GET", {}), access(), out);
  EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
}

TEST(HttpAccess, ForeignOrNullOriginIsForbidden) {
  for (const char* origin :
       {"http://evil.example", "null", "https://127.0.0.1:8080", "http://127.0.0.1:8080.evil"}) {
    std::string out;
    auto r = request("POST",
                     {{"Host", "127.0.0.1:8080"}, {"Origin", origin}, {"Content-Type", "application/json"}});
    EXPECT_EQ(http_check_access(r, access(), out), HttpRefusal::origin) << origin;
    EXPECT_EQ(out.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << origin;
  }
}

TEST(HttpAccess, PostMustBeJson) {
  for (const char* ct : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/jsonp", ""}) {
    auto r = request("POST", {{"Host", "127.0.0.1"}, {"Content-Type", ct}});
    EXPECT_EQ(check(r, access()), HttpRefusal::content_type) << ct;
  }
  EXPECT_EQ(check(request("POST", {{"Host", "127.0.0.1"}}), access()), HttpRefusal::content_type);
  EXPECT_EQ(check(request("POST", {{"Host", "127.0.0.1"}, {"Content-Type", "Application/JSON"}}), access()),
            HttpRefusal::none);
}

TEST(HttpAccess, BearerTokenIsRequiredWhenSet) {
  auto with = [](std::string auth) {
    return request("GET", {{"Host", "127.0.0.1"}, {"Authorization", std::move(auth)}});
  };
  HttpAccess a = access("s3cret");
  EXPECT_EQ(check(request("GET", {{"Host", "127.0.0.1"}}), a), HttpRefusal::token);
  EXPECT_EQ(check(with("Bearer s3cret"), a), HttpRefusal::none);
  EXPECT_EQ(check(with("bearer s3cret"), a), HttpRefusal::none);  // RFC 9110 §11.1: case-insensitive
  EXPECT_EQ(check(with("Bearer s3cre"), a), HttpRefusal::token);
  EXPECT_EQ(check(with("Bearer s3cret2"), a), HttpRefusal::token);
  EXPECT_EQ(check(with("Basic s3cret"), a), HttpRefusal::token);
  EXPECT_EQ(check(with("Bearer "), a), HttpRefusal::token);
  std::string out;
  http_check_access(with("Bearer nope"), a, out);
  EXPECT_NE(out.find("\r\nWWW-Authenticate: Bearer realm=\"msrpd\", error=\"invalid_token\"\r\n"),
            std::string::npos)
      << out;
}

TEST(HttpAccess, ReadOnlyListenerChecksNothing) {
  HttpAccess a = access("s3cret");
  a.rpc = false;
  EXPECT_EQ(check(request("GET", {{"Host", "anything"}}), a), HttpRefusal::none);
}

TEST(HttpAccess, EqualSecretComparesWholeStrings) {
  EXPECT_TRUE(equal_secret("abc", "abc"));
  EXPECT_TRUE(equal_secret("", ""));
  EXPECT_FALSE(equal_secret("abc", "abd"));
  EXPECT_FALSE(equal_secret("abc", "ab"));
  EXPECT_FALSE(equal_secret("ab", "abc"));
  EXPECT_FALSE(equal_secret(std::string("a\0", 2), "a"));
}

}  // namespace
}  // namespace msrpd::ctl
