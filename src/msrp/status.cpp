#include "msrp/status.h"

#include "common/ascii.h"

namespace msrpd::msrp {

std::optional<Status> status_from_code(uint16_t code) {
  switch (code) {
    case 200:
    case 400:
    case 401:
    case 403:
    case 404:
    case 408:
    case 413:
    case 415:
    case 423:
    case 424:
    case 425:
    case 428:
    case 481:
    case 501:
    case 506:
      return static_cast<Status>(code);
    default:
      return std::nullopt;
  }
}

std::string_view reason_phrase(Status s) {
  switch (s) {
    case Status::ok:
      return "OK";
    case Status::bad_request:
      return "Bad Request";
    case Status::unauthorized:
      return "Unauthorized";
    case Status::forbidden:
      return "Forbidden";
    case Status::not_found:
      return "Not Found";
    case Status::request_timeout:
      return "Request Timeout";
    case Status::stop_sending:
      return "Stop Sending Message";
    case Status::unsupported_media_type:
      return "Unsupported Media Type";
    case Status::interval_out_of_bounds:
      return "Interval Out Of Bounds";
    case Status::nickname_usage_failed:
      return "Nickname Usage Failed";
    case Status::nickname_in_use:
      return "Nickname Reserved Or Already In Use";
    case Status::private_not_supported:
      return "Private Messages Not Supported";
    case Status::session_does_not_exist:
      return "Session Does Not Exist";
    case Status::method_not_understood:
      return "Method Not Understood";
    case Status::session_already_in_use:
      return "Session Already In Use";
  }
  return {};
}

std::string_view reason_phrase(uint16_t code) {
  auto s = status_from_code(code);
  return s ? reason_phrase(*s) : std::string_view{};
}

bool is_method_token(std::string_view token) {
  // A leading letter keeps methods apart from status codes ("MSRP tid 2000" is a broken response).
  return !token.empty() && token[0] >= 'A' && token[0] <= 'Z' && ascii::kMsrpMethod.all_of(token);
}

Method method_from_token(std::string_view token) {
  if (token == "SEND") return Method::send;
  if (token == "REPORT") return Method::report;
  if (token == "AUTH") return Method::auth;
  if (token == "NICKNAME") return Method::nickname;
  return Method::other;
}

std::string_view method_name(Method m) {
  switch (m) {
    case Method::send:
      return "SEND";
    case Method::report:
      return "REPORT";
    case Method::auth:
      return "AUTH";
    case Method::nickname:
      return "NICKNAME";
    case Method::other:
      return {};
  }
  return {};
}

}  // namespace msrpd::msrp
