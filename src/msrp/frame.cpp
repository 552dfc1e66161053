#include "msrp/frame.h"

#include "common/ascii.h"

namespace msrpd::msrp {

void Frame::clear() {
  request_ = true;
  has_body_ = false;
  method_id_ = Method::other;
  status_code_ = 0;
  tid_ = method_ = comment_ = start_line_ = head_ = {};
  headers_.clear();
  to_path_.clear();
  from_path_.clear();
  known_.fill(-1);
}

std::optional<std::string_view> Frame::header(HeaderId id) const {
  const Header* h = find(id);
  if (!h) return std::nullopt;
  return h->value;
}

std::optional<std::string_view> Frame::header(std::string_view name) const {
  for (const Header& h : headers_) {
    if (ascii::iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

Result<std::string_view> Frame::message_id() const {
  const Header* h = find(HeaderId::message_id);
  if (!h) return make_error(Status::bad_request, "missing Message-ID");
  std::string_view v = ascii::rtrim(h->value);
  if (!is_ident(v)) return make_error(Status::bad_request, "malformed Message-ID");
  return v;
}

Result<std::optional<ByteRange>> Frame::byte_range() const {
  const Header* h = find(HeaderId::byte_range);
  if (!h) return std::optional<ByteRange>{};
  auto r = parse_byte_range(h->value);
  if (!r) return r.error();
  return std::optional<ByteRange>{*r};
}

Result<bool> Frame::success_report() const {
  const Header* h = find(HeaderId::success_report);
  if (!h) return false;
  return parse_success_report(h->value);
}

Result<FailureReport> Frame::failure_report() const {
  const Header* h = find(HeaderId::failure_report);
  if (!h) return FailureReport::yes;
  return parse_failure_report(h->value);
}

Result<std::optional<StatusHeader>> Frame::report_status() const {
  const Header* h = find(HeaderId::status);
  if (!h) return std::optional<StatusHeader>{};
  auto r = parse_status_header(h->value);
  if (!r) return r.error();
  return std::optional<StatusHeader>{*r};
}

Result<std::optional<uint32_t>> Frame::seconds(HeaderId id) const {
  const Header* h = find(id);
  if (!h) return std::optional<uint32_t>{};
  auto r = parse_delta_seconds(h->value);
  if (!r) return r.error();
  return std::optional<uint32_t>{*r};
}

Result<std::optional<uint32_t>> Frame::expires() const {
  return seconds(HeaderId::expires);
}
Result<std::optional<uint32_t>> Frame::min_expires() const {
  return seconds(HeaderId::min_expires);
}
Result<std::optional<uint32_t>> Frame::max_expires() const {
  return seconds(HeaderId::max_expires);
}

Result<bool> Frame::use_path(std::vector<std::string_view>& out) const {
  const Header* h = find(HeaderId::use_path);
  if (!h) return false;
  auto r = split_uri_list(h->value, out);
  if (!r) return r.error();
  return true;
}

}  // namespace msrpd::msrp
