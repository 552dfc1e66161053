#pragma once
// A hand-written relay::Context for script tests: a message described by fields, and a record of
// every action the script took, as text ("reply 401 Unauthorized |WWW-Authenticate: ...").

#include <array>
#include <map>
#include <string>
#include <vector>

#include "relay/context.h"

namespace msrpd::script::testing {

class FakeContext : public relay::Context {
 public:
  relay::MessageKind kind_ = relay::MessageKind::msrp_request;
  relay::Source source_;
  std::string method_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::array<std::string, relay::kMsrpKeyCount> msrp_str_;
  std::array<int, relay::kMsrpKeyCount> msrp_kind_{};  // 0 null, 1 int, 2 string
  std::array<int64_t, relay::kMsrpKeyCount> msrp_int_{};
  std::vector<std::string> actions;
  int cmap_lookup_rc = -4;
  int cmap_save_rc = 1;
  int relay_rc = 1;

  FakeContext() {
    source_.ip = "127.0.0.1";
    source_.port = 40000;
    source_.local_ip = "127.0.0.1";
    source_.local_port = 25060;
    source_.proto = "tcp";
    source_.conid = 7;
  }

  void set_str(relay::MsrpKey k, std::string v) {
    msrp_kind_[static_cast<int>(k)] = 2;
    msrp_str_[static_cast<int>(k)] = std::move(v);
  }
  void set_int(relay::MsrpKey k, int64_t v) {
    msrp_kind_[static_cast<int>(k)] = 1;
    msrp_int_[static_cast<int>(k)] = v;
  }

  // An MSRP request: To-Path / From-Path URIs, as the engine would expose them.
  static FakeContext request(const std::string& method, const std::vector<std::string>& to_path,
                             const std::vector<std::string>& from_path) {
    FakeContext c;
    c.kind_ = relay::MessageKind::msrp_request;
    c.method_ = method;
    c.set_str(relay::MsrpKey::method, method);
    c.fill_paths(to_path, from_path);
    return c;
  }
  static FakeContext reply(int code, const std::vector<std::string>& to_path,
                           const std::vector<std::string>& from_path) {
    FakeContext c;
    c.kind_ = relay::MessageKind::msrp_reply;
    c.set_int(relay::MsrpKey::code, code);
    c.fill_paths(to_path, from_path);
    return c;
  }

  void fill_paths(const std::vector<std::string>& to_path, const std::vector<std::string>& from_path) {
    set_str(relay::MsrpKey::transid, "tid1234");
    set_str(relay::MsrpKey::crthop, to_path.front());
    if (to_path.size() > 1) set_str(relay::MsrpKey::nexthop, to_path[1]);
    set_str(relay::MsrpKey::lasthop, to_path.back());
    set_str(relay::MsrpKey::prevhop, from_path.front());
    set_str(relay::MsrpKey::firsthop, from_path.back());
    set_int(relay::MsrpKey::nexthops, static_cast<int64_t>(to_path.size()) - 1);
    set_int(relay::MsrpKey::prevhops, static_cast<int64_t>(from_path.size()));
    set_str(relay::MsrpKey::srcaddr, "msrp://127.0.0.1:40000");
    set_str(relay::MsrpKey::srcsock, "tcp:127.0.0.1:25060");
    set_int(relay::MsrpKey::conid, 7);
    // sessid: the session part of the first To-Path URI
    const std::string& first = to_path.front();
    auto slash = first.find('/', first.find("://") + 3);
    if (slash != std::string::npos) {
      auto semi = first.find(';', slash);
      set_str(relay::MsrpKey::sessid,
              first.substr(slash + 1, semi == std::string::npos ? std::string::npos : semi - slash - 1));
    }
    std::string tp, fp;
    for (const auto& u : to_path) tp += (tp.empty() ? "" : " ") + u;
    for (const auto& u : from_path) fp += (fp.empty() ? "" : " ") + u;
    headers_.emplace_back("To-Path", tp);
    headers_.emplace_back("From-Path", fp);
  }

  relay::MessageKind kind() const override { return kind_; }
  const relay::Source& source() const override { return source_; }
  relay::Value msrp(relay::MsrpKey key) override {
    int i = static_cast<int>(key);
    if (msrp_kind_[i] == 1) return relay::Value::of_int(msrp_int_[i]);
    if (msrp_kind_[i] == 2) return relay::Value::of_str(msrp_str_[i]);
    return relay::Value::null_value();
  }
  std::string_view method() const override { return method_; }
  std::optional<std::string_view> header(std::string_view name) const override {
    for (const auto& [n, v] : headers_) {
      if (n.size() != name.size()) continue;
      bool eq = true;
      for (size_t i = 0; i < n.size() && eq; ++i) eq = std::tolower(n[i]) == std::tolower(name[i]);
      if (eq) return std::string_view(v);
    }
    return std::nullopt;
  }
  std::string_view head() const override { return {}; }

  int msrp_relay() override {
    actions.push_back("relay");
    return relay_rc;
  }
  int msrp_reply(std::string_view code, std::string_view text, std::string_view hdrs) override {
    std::string a = "reply " + std::string(code) + " " + std::string(text);
    if (!hdrs.empty()) a += " |" + std::string(hdrs);
    actions.push_back(a);
    return 1;
  }
  int msrp_set_dst(std::string_view addr, std::string_view sock) override {
    actions.push_back("set_dst " + std::string(addr) + " " + std::string(sock));
    return 1;
  }
  int msrp_relay_flags(int flags) override {
    actions.push_back("relay_flags " + std::to_string(flags));
    return 1;
  }
  int msrp_reply_flags(int flags) override {
    actions.push_back("reply_flags " + std::to_string(flags));
    return 1;
  }
  int msrp_cmap_save() override {
    actions.push_back("cmap_save");
    return cmap_save_rc;
  }
  int msrp_cmap_lookup() override {
    actions.push_back("cmap_lookup");
    return cmap_lookup_rc;
  }
  int sl_send_reply(int code, std::string_view reason) override {
    actions.push_back("sl " + std::to_string(code) + " " + std::string(reason));
    return 1;
  }
};

}  // namespace msrpd::script::testing
