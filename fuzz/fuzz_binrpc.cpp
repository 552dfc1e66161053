// libFuzzer target for binrpc (src/ctl/binrpc.h), the wire of kamcmd and msrpctl, driven as the
// server's serve_binrpc drives it: the input is a stream of packets; each complete request is
// decoded and answered by an echo command (core.echo), and the answer is read back as kamcmd
// reads it. Checked on every packet:
// - the header is what was sent (header length 2 + length bytes + cookie bytes, body within
//   bounds), and the reply carries the request's cookie in the same number of bytes;
// - the echoed reply decodes to the parameters, as the encoder writes them: decoding what the
//   encoder wrote from decoded values gives those values again (one pass normalises: a 64-bit int
//   becomes its decimal string, a list inside a struct a struct of unnamed members);
// - a fault reply reads back as a fault with its code and message.
// The body alone is also decoded as records, with the same round trip.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/binrpc.h"
#include "ctl/rpc.h"

namespace {

namespace binrpc = msrpd::ctl::binrpc;
using msrpd::ctl::Value;

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr size_t kMaxBody = 4096;

// What the encoder makes of values: encode, decode.
std::vector<Value> normalised(const std::vector<Value>& values) {
  std::string body;
  for (const auto& v : values) binrpc::encode_value(body, v);
  auto back = binrpc::decode_body(body);
  check(back.ok() && back->size() == values.size());
  return *back;
}

void check_round_trip(const std::vector<Value>& values) {
  std::vector<Value> once = normalised(values);
  check(normalised(once) == once);
}

// Reads one packet back as msrpctl's client does; returns its body.
std::string_view read_reply(std::string_view packet, const binrpc::Header& req, binrpc::Header& h) {
  check(binrpc::read_header(packet, SIZE_MAX, h) == binrpc::HeaderStatus::Ok);
  check(h.cookie == req.cookie && h.cookie_len == req.cookie_len);
  check(h.header_len + h.body_len == packet.size());
  return packet.substr(h.header_len);
}

void check_fault(const std::string& packet, const binrpc::Header& req, int code, std::string_view message) {
  binrpc::Header h;
  std::string_view body = read_reply(packet, req, h);
  check(h.flags == (binrpc::kFlagReply | binrpc::kFlagError));
  auto rep = binrpc::decode_reply(h, body);
  check(rep.ok() && rep->is_fault && rep->fault_code == code && rep->fault_message == message);
}

void serve(const binrpc::Header& h, std::string_view body) {
  if (h.flags != binrpc::kFlagRequest) {
    check_fault(binrpc::encode_fault(h.cookie, h.cookie_len, 400, "bad request: not a request"), h, 400,
                "bad request: not a request");
    return;
  }
  auto req = binrpc::decode_request(body);
  if (!req) {
    check(req.error().status == 400 && !req.error().message.empty());
    std::string text = "bad request method: " + req.error().message;
    check_fault(binrpc::encode_fault(h.cookie, h.cookie_len, 400, text), h, 400, text);
    return;
  }
  // core.echo: the parameters as a top-level list, i.e. consecutive records.
  std::string packet = binrpc::encode_reply(h.cookie, h.cookie_len, Value::list(req->params));
  binrpc::Header rh;
  std::string_view rbody = read_reply(packet, h, rh);
  check(rh.flags == binrpc::kFlagReply);
  auto rep = binrpc::decode_reply(rh, rbody);
  check(rep.ok() && !rep->is_fault);
  check(rep->values == normalised(req->params));
  check_round_trip(rep->values);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  std::string_view rest = in;
  while (!rest.empty()) {
    binrpc::Header h;
    auto st = binrpc::read_header(rest, kMaxBody, h);
    if (st != binrpc::HeaderStatus::Ok) {
      // Bad: the server answers a fault and closes; NeedMore: it waits. Either way, nothing more.
      check(st == binrpc::HeaderStatus::Bad || rest.size() < binrpc::kMaxHeader);
      break;
    }
    check(h.header_len >= 4 && h.header_len <= binrpc::kMaxHeader);
    check(h.header_len == 2 + ((static_cast<uint8_t>(rest[1]) >> 2) & 3) + 1 + h.cookie_len);
    check(h.cookie_len >= 1 && h.cookie_len <= 4 && h.body_len <= kMaxBody);
    if (rest.size() < h.header_len + h.body_len) break;
    serve(h, rest.substr(h.header_len, h.body_len));
    rest.remove_prefix(h.header_len + h.body_len);
  }

  auto records = binrpc::decode_body(in);
  if (records) check_round_trip(*records);
  return 0;
}
