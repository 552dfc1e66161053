#pragma once
// Connection handlers shared by the net tests: Recorder keeps what arrives (and how it closed),
// Echo sends every byte back.

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <functional>
#include <string>
#include <string_view>

#include "net/connection.h"

namespace msrpd::net::testing {

// Records what a connection receives; consumes at most `consume_limit` bytes per call.
struct Recorder : ConnectionHandler {
  std::string data;
  size_t consume_limit = SIZE_MAX;
  size_t calls = 0;
  size_t last_view = 0;
  int drained = 0;
  bool closed = false;
  CloseReason reason = CloseReason::local;
  std::string detail;
  std::function<void(Connection&)> after_data;

  size_t on_data(Connection& c, std::string_view d) override {
    ++calls;
    last_view = d.size();
    size_t n = std::min(d.size(), consume_limit);
    data.append(d.substr(0, n));
    if (after_data) after_data(c);
    return n;
  }
  void on_drained(Connection&) override { ++drained; }
  void on_close(Connection&, CloseReason r, std::string_view d) override {
    closed = true;
    reason = r;
    detail = std::string(d);
  }
};

struct Echo : Recorder {
  size_t on_data(Connection& c, std::string_view d) override {
    data.append(d);
    EXPECT_TRUE(c.send(d).ok());
    return d.size();
  }
};

}  // namespace msrpd::net::testing
