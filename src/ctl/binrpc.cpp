#include "ctl/binrpc.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace msrpd::ctl::binrpc {

// Encodes v; in_struct: v is (inside) a struct member, where kamcmd reads no array records.
void encode_in(std::string& out, const Value& v, bool in_struct);

namespace {

constexpr uint8_t kTypeInt = 0;
constexpr uint8_t kTypeStr = 1;
constexpr uint8_t kTypeDouble = 2;
constexpr uint8_t kTypeStruct = 3;
constexpr uint8_t kTypeArray = 4;
constexpr uint8_t kTypeAvp = 5;
constexpr uint8_t kTypeBytes = 6;

unsigned bytes_for(uint64_t v) {
  unsigned n = 0;
  while (v != 0) {
    ++n;
    v >>= 8;
  }
  return n;
}

void put_be(std::string& out, uint64_t v, unsigned n) {
  for (unsigned i = n; i > 0; --i) out.push_back(static_cast<char>((v >> (8 * (i - 1))) & 0xff));
}

// A record header for a value of `len` bytes.
void put_len_header(std::string& out, uint8_t type, size_t len) {
  if (len <= 7) {
    out.push_back(static_cast<char>((len << 4) | type));
  } else {
    unsigned n = bytes_for(len);
    out.push_back(static_cast<char>(0x80 | (n << 4) | type));
    put_be(out, len, n);
  }
}

void put_string(std::string& out, uint8_t type, std::string_view s) {
  put_len_header(out, type, s.size() + 1);
  out.append(s);
  out.push_back('\0');
}

// Ints on the wire are 32-bit: minimal bytes, negatives as 4 bytes.
void put_int32(std::string& out, uint8_t type, int64_t v) {
  uint32_t u = static_cast<uint32_t>(v);
  unsigned n = v < 0 ? 4 : bytes_for(u);
  out.push_back(static_cast<char>((n << 4) | type));
  put_be(out, u, n);
}

std::string int_text(int64_t v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string double_text(double d) {
  // Only doubles too large for the wire's int get here: plain digits read best below 1e21.
  char buf[64];
  auto r = std::abs(d) < 1e21 ? std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed)
                              : std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

struct Reader {
  std::string_view buf;
  size_t pos = 0;

  bool at_end() const { return pos >= buf.size(); }
  bool take(size_t n, std::string_view& out) {
    if (buf.size() - pos < n) return false;
    out = buf.substr(pos, n);
    pos += n;
    return true;
  }
};

struct RecordHead {
  bool s = false;
  uint8_t size = 0;
  uint8_t type = 0;
  size_t len = 0;  // value length (for length-carrying types)
};

uint64_t get_be(std::string_view b) {
  uint64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v;
}

Error bad(std::string msg) {
  return make_error(400, std::move(msg));
}

Result<RecordHead> read_head(Reader& r) {
  std::string_view h;
  if (!r.take(1, h)) return bad("more data needed");
  RecordHead rh;
  uint8_t b = static_cast<uint8_t>(h[0]);
  rh.s = (b & 0x80) != 0;
  rh.size = (b >> 4) & 0x07;
  rh.type = b & 0x0f;
  if (rh.type == kTypeStruct || rh.type == kTypeArray) return rh;
  if (!rh.s) {
    rh.len = rh.size;
  } else {
    if (rh.size == 0 || rh.size > 4) return bad("bad record length");
    std::string_view lb;
    if (!r.take(rh.size, lb)) return bad("more data needed");
    rh.len = get_be(lb);
  }
  return rh;
}

Result<int64_t> int_of(std::string_view b) {
  if (b.size() > 8) return bad("int too long");
  uint64_t u = get_be(b);
  if (b.size() == 4) return static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(u)));
  if (b.size() == 8) return static_cast<int64_t>(u);
  return static_cast<int64_t>(u);
}

std::string str_of(std::string_view b) {
  if (!b.empty() && b.back() == '\0') b.remove_suffix(1);
  return std::string(b);
}

bool is_end(const RecordHead& rh, uint8_t type) {
  return rh.type == type && rh.s;
}

Result<Value> read_value(Reader& r, const RecordHead& rh, size_t depth);

Result<Value> read_struct(Reader& r, size_t depth) {
  if (depth > kMaxDepth) return bad("too deeply nested");
  Value v = Value::structure();
  for (;;) {
    auto h = read_head(r);
    if (!h) return h.error();
    if (is_end(*h, kTypeStruct)) return v;
    std::string name;
    if (h->type == kTypeAvp) {
      std::string_view nb;
      if (!r.take(h->len, nb)) return bad("more data needed");
      name = str_of(nb);
      h = read_head(r);
      if (!h) return h.error();
    }
    // Kamailio's ctl also puts unnamed values in structs (arrays added with struct_add "["):
    // they become members with an empty name.
    if (is_end(*h, kTypeStruct) || is_end(*h, kTypeArray)) return bad("record doesn't match type");
    auto m = read_value(r, *h, depth + 1);
    if (!m) return m.error();
    v.add(std::move(name), std::move(*m));
  }
}

Result<Value> read_array(Reader& r, size_t depth) {
  if (depth > kMaxDepth) return bad("too deeply nested");
  Value v = Value::list();
  for (;;) {
    auto h = read_head(r);
    if (!h) return h.error();
    if (is_end(*h, kTypeArray)) return v;
    if (is_end(*h, kTypeStruct) || h->type == kTypeAvp) return bad("record doesn't match type");
    auto m = read_value(r, *h, depth + 1);
    if (!m) return m.error();
    v.push(std::move(*m));
  }
}

Result<Value> read_value(Reader& r, const RecordHead& rh, size_t depth) {
  switch (rh.type) {
    case kTypeStruct:
      if (rh.s) return bad("record doesn't match type");
      return read_struct(r, depth);
    case kTypeArray:
      if (rh.s) return bad("record doesn't match type");
      return read_array(r, depth);
    case kTypeInt:
    case kTypeDouble: {
      std::string_view b;
      if (!r.take(rh.len, b)) return bad("more data needed");
      auto i = int_of(b);
      if (!i) return i.error();
      if (rh.type == kTypeInt) return Value::integer(*i);
      return Value::real(static_cast<double>(*i) / 1000.0);
    }
    case kTypeStr:
    case kTypeBytes: {
      std::string_view b;
      if (!r.take(rh.len, b)) return bad("more data needed");
      return Value::str(rh.type == kTypeStr ? str_of(b) : std::string(b));
    }
    default:
      return bad("record doesn't match type");
  }
}

}  // namespace

HeaderStatus read_header(std::string_view buf, size_t max_body, Header& out) {
  if (buf.empty()) return HeaderStatus::NeedMore;
  if (static_cast<uint8_t>(buf[0]) != kMagicVersion) return HeaderStatus::Bad;
  if (buf.size() < 2) return HeaderStatus::NeedMore;
  uint8_t b = static_cast<uint8_t>(buf[1]);
  unsigned ll = ((b >> 2) & 3) + 1;
  unsigned cl = (b & 3) + 1;
  size_t hl = 2 + ll + cl;
  if (buf.size() < hl) return HeaderStatus::NeedMore;
  out.flags = b >> 4;
  out.header_len = hl;
  out.body_len = get_be(buf.substr(2, ll));
  out.cookie = static_cast<uint32_t>(get_be(buf.substr(2 + ll, cl)));
  out.cookie_len = cl;
  if (out.body_len > max_body) return HeaderStatus::Bad;
  return HeaderStatus::Ok;
}

void encode_value(std::string& out, const Value& v) {
  encode_in(out, v, false);
}

void encode_in(std::string& out, const Value& v, bool in_struct) {
  switch (v.type()) {
    case Value::Type::Null:
      put_string(out, kTypeStr, "");
      break;
    case Value::Type::Int: {
      int64_t i = v.as_int();
      if (i < std::numeric_limits<int32_t>::min() || i > int64_t{std::numeric_limits<uint32_t>::max()}) {
        put_string(out, kTypeStr, int_text(i));
      } else {
        put_int32(out, kTypeInt, i);
      }
      break;
    }
    case Value::Type::Double: {
      double scaled = v.as_double() * 1000.0;
      if (std::isfinite(scaled) && scaled >= std::numeric_limits<int32_t>::min() &&
          scaled <= std::numeric_limits<int32_t>::max()) {
        put_int32(out, kTypeDouble, std::llround(scaled));
      } else {
        put_string(out, kTypeStr, double_text(v.as_double()));
      }
      break;
    }
    case Value::Type::String:
      put_string(out, kTypeStr, v.as_string());
      break;
    case Value::Type::Struct:
      out.push_back(static_cast<char>(kTypeStruct));
      for (const auto& [name, m] : v.members()) {
        // An unnamed member goes without a name record, as Kamailio's ctl sends array items
        // added to a struct.
        if (!name.empty()) put_string(out, kTypeAvp, name);
        encode_in(out, m, true);
      }
      out.push_back(static_cast<char>(0x80 | kTypeStruct));
      break;
    case Value::Type::List:
      // kamcmd cannot read an array record inside a struct: there a list goes as a struct of
      // unnamed members, as Kamailio's ctl sends it.
      out.push_back(static_cast<char>(in_struct ? kTypeStruct : kTypeArray));
      for (const auto& m : v.items()) encode_in(out, m, in_struct);
      out.push_back(static_cast<char>(0x80 | (in_struct ? kTypeStruct : kTypeArray)));
      break;
  }
}

std::string encode_packet(uint8_t flags, uint32_t cookie, unsigned cookie_len, std::string_view body) {
  if (cookie_len < 1 || cookie_len > 4) cookie_len = 4;
  unsigned ll = bytes_for(body.size());
  if (ll == 0) ll = 1;
  std::string out;
  out.reserve(2 + ll + cookie_len + body.size());
  out.push_back(static_cast<char>(kMagicVersion));
  out.push_back(static_cast<char>((flags << 4) | ((ll - 1) << 2) | (cookie_len - 1)));
  put_be(out, body.size(), ll);
  put_be(out, cookie, cookie_len);
  out.append(body);
  return out;
}

std::string encode_request(uint32_t cookie, std::string_view method, const Params& params) {
  std::string body;
  put_string(body, kTypeStr, method);
  for (const auto& p : params) encode_value(body, p);
  return encode_packet(kFlagRequest, cookie, 4, body);
}

std::string encode_reply(uint32_t cookie, unsigned cookie_len, const Value& v) {
  std::string body;
  if (v.is_list()) {
    for (const auto& item : v.items()) encode_value(body, item);
  } else if (!v.is_null()) {
    encode_value(body, v);
  }
  return encode_packet(kFlagReply, cookie, cookie_len, body);
}

std::string encode_fault(uint32_t cookie, unsigned cookie_len, int code, std::string_view message) {
  std::string body;
  put_int32(body, kTypeInt, code);
  put_string(body, kTypeStr, message);
  return encode_packet(kFlagReply | kFlagError, cookie, cookie_len, body);
}

Result<std::vector<Value>> decode_body(std::string_view body) {
  Reader r{body};
  std::vector<Value> out;
  while (!r.at_end()) {
    auto h = read_head(r);
    if (!h) return h.error();
    if (h->type == kTypeAvp || (h->s && (h->type == kTypeStruct || h->type == kTypeArray))) {
      return bad("record doesn't match type");
    }
    auto v = read_value(r, *h, 0);
    if (!v) return v.error();
    out.push_back(std::move(*v));
  }
  return out;
}

Result<Request> decode_request(std::string_view body) {
  auto recs = decode_body(body);
  if (!recs) return recs.error();
  if (recs->empty() || !(*recs)[0].is_string()) return bad("record doesn't match type");
  Request req;
  req.method = (*recs)[0].as_string();
  req.params.assign(std::make_move_iterator(recs->begin() + 1), std::make_move_iterator(recs->end()));
  return req;
}

Result<Reply> decode_reply(const Header& h, std::string_view body) {
  auto recs = decode_body(body);
  if (!recs) return recs.error();
  Reply rep;
  if (h.flags & kFlagError) {
    rep.is_fault = true;
    if (!recs->empty() && (*recs)[0].is_int()) rep.fault_code = static_cast<int>((*recs)[0].as_int());
    if (recs->size() > 1 && (*recs)[1].is_string()) rep.fault_message = (*recs)[1].as_string();
    return rep;
  }
  rep.values = std::move(*recs);
  return rep;
}

}  // namespace msrpd::ctl::binrpc
