#include "ctl/binrpc.h"

#include <gtest/gtest.h>

namespace msrpd::ctl {
namespace {

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

Value round_trip(const Value& v) {
  std::string body;
  binrpc::encode_value(body, v);
  auto r = binrpc::decode_body(body);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 1u);
  return r->empty() ? Value() : (*r)[0];
}

TEST(Binrpc, RequestBytesMatchWhatKamcmdSends) {
  // Observed from kamcmd: "core.version" with cookie 0x13ed24ff.
  EXPECT_EQ(hex(binrpc::encode_request(0x13ed24ff, "core.version", {})),
            "a1030f13ed24ff910d636f72652e76657273696f6e00");
}

TEST(Binrpc, DecodesKamcmdParamsOfEveryKind) {
  // kamcmd core.echo 1 0 300 70000 s:abc 1.5 s:-5, and -5 as an int.
  std::string body = unhex("910a636f72652e6563686f0010010020012c3001117041616263002205dc312d350040fffffffb");
  auto r = binrpc::decode_request(body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->method, "core.echo");
  ASSERT_EQ(r->params.size(), 8u);
  EXPECT_EQ(r->params[0], Value::integer(1));
  EXPECT_EQ(r->params[1], Value::integer(0));
  EXPECT_EQ(r->params[2], Value::integer(300));
  EXPECT_EQ(r->params[3], Value::integer(70000));
  EXPECT_EQ(r->params[4], Value::str("abc"));
  EXPECT_EQ(r->params[5], Value::real(1.5));
  EXPECT_EQ(r->params[6], Value::str("-5"));
  EXPECT_EQ(r->params[7], Value::integer(-5));
}

TEST(Binrpc, StructReplyBytesMatchKamailiosUptime) {
  Value v = Value::structure();
  v.add("now", Value::str("Wed Nov 25 15:15:23 2026"));
  v.add("up_since", Value::str("Wed Nov 25 15:15:12 2026"));
  v.add("uptime", Value::integer(11));
  EXPECT_EQ(hex(binrpc::encode_reply(0x01bf609f, 4, v)),
            "a1135201bf609f03456e6f77009119576564204e6f762032352031353a31353a3233203230323600950975705f73696e"
            "6365009119576564204e6f762032352031353a31353a313220323032360075757074696d6500100b83");
}

TEST(Binrpc, FaultBytesMatchKamailios) {
  EXPECT_EQ(hex(binrpc::encode_fault(0x0ba4af2d, 4, 500, "command nosuch not found")),
            "a1331e0ba4af2d2001f49119636f6d6d616e64206e6f73756368206e6f7420666f756e6400");
}

TEST(Binrpc, TopLevelListIsConsecutiveRecordsAndNullAnEmptyBody) {
  Value l = Value::list({Value::str("a"), Value::integer(2)});
  EXPECT_EQ(hex(binrpc::encode_reply(1, 1, l)), "a11005012161001002");
  EXPECT_EQ(hex(binrpc::encode_reply(1, 1, Value())), "a1100001");
}

TEST(Binrpc, RoundTripsEveryValueType) {
  for (int64_t i : {int64_t{0}, int64_t{1}, int64_t{255}, int64_t{256}, int64_t{70000}, int64_t{-5},
                    int64_t{2147483647}, int64_t{-2147483648LL}}) {
    EXPECT_EQ(round_trip(Value::integer(i)), Value::integer(i)) << i;
  }
  EXPECT_EQ(round_trip(Value::real(1.5)), Value::real(1.5));
  EXPECT_EQ(round_trip(Value::real(-2.25)), Value::real(-2.25));
  EXPECT_EQ(round_trip(Value::str("")), Value::str(""));
  EXPECT_EQ(round_trip(Value::str(std::string(300, 'x'))), Value::str(std::string(300, 'x')));
  EXPECT_EQ(round_trip(Value::str(std::string(70000, 'y'))), Value::str(std::string(70000, 'y')));
  Value s = Value::structure();
  s.add("A", Value::integer(1)).add("D", Value::str("x")).add("D", Value::str("y"));
  Value inner = Value::structure();
  inner.add("deep", Value::real(0.5));
  s.add("S", inner);
  EXPECT_EQ(round_trip(s), s);
  Value arr = Value::list({Value::integer(1), Value::str("two"), s});
  EXPECT_EQ(round_trip(arr), arr);
}

TEST(Binrpc, NullIsSentAsEmptyStringAndBigIntsAsText) {
  EXPECT_EQ(round_trip(Value()), Value::str(""));
  EXPECT_EQ(round_trip(Value::integer(10000000000LL)), Value::str("10000000000"));
  EXPECT_EQ(round_trip(Value::integer(-10000000000LL)), Value::str("-10000000000"));
  EXPECT_EQ(round_trip(Value::real(1e12)), Value::str("1000000000000"));
}

TEST(Binrpc, ListInsideStructGoesAsUnnamedStructMembers) {
  Value s = Value::structure();
  s.add("slot", Value::list({Value::integer(1)}));
  std::string body;
  binrpc::encode_value(body, s);
  EXPECT_EQ(hex(body), "0355736c6f74000310018383");
}

TEST(Binrpc, HeaderWithTwoByteLengthAndOneByteCookie) {
  std::string p = binrpc::encode_packet(1, 0x42, 1, std::string(300, '\0'));
  binrpc::Header h;
  ASSERT_EQ(binrpc::read_header(p, 1000, h), binrpc::HeaderStatus::Ok);
  EXPECT_EQ(static_cast<uint8_t>(p[1]), 0x14);
  EXPECT_EQ(h.flags, 1);
  EXPECT_EQ(h.body_len, 300u);
  EXPECT_EQ(h.cookie, 0x42u);
  EXPECT_EQ(h.cookie_len, 1u);
  EXPECT_EQ(h.header_len, 5u);
}

TEST(Binrpc, HeaderNeedsMoreBytesThenRefusesBadMagicAndOversizedBody) {
  binrpc::Header h;
  EXPECT_EQ(binrpc::read_header(unhex("a103"), 100, h), binrpc::HeaderStatus::NeedMore);
  EXPECT_EQ(binrpc::read_header("hello", 100, h), binrpc::HeaderStatus::Bad);
  EXPECT_EQ(binrpc::read_header(unhex("a107ffff01020304"), 100, h), binrpc::HeaderStatus::Bad);
}

TEST(Binrpc, TruncatedOrMismatchedRecordsAreErrors) {
  EXPECT_FALSE(binrpc::decode_request(unhex("910d63")).ok());       // string cut short
  EXPECT_FALSE(binrpc::decode_request(unhex("0a0a0a0a0a")).ok());   // not a method string
  EXPECT_FALSE(binrpc::decode_body(unhex("0325610010")).ok());      // struct never closed
  EXPECT_FALSE(binrpc::decode_body(unhex("83")).ok());              // close without open
  EXPECT_FALSE(binrpc::decode_body(std::string(40, '\x03')).ok());  // nested past the limit
}

}  // namespace
}  // namespace msrpd::ctl
