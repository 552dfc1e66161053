#pragma once
// The RPC registry every control front end shares (binrpc for kamcmd/msrpctl, JSON-RPC over HTTP):
// a value tree as Kamailio's rpc API builds it, and name -> handler + one-line doc.
//
//   Registry reg;
//   reg.add("core.echo", "Returns its parameters.", [](const Params& p) -> Result<Value> {
//     return Value::list(p);
//   });
//   auto r = reg.call("core.echo", {Value::integer(1)});
//
// A reply is one Value. A top-level List is "several values" (Kamailio's repeated rpc->add): binrpc
// sends them as consecutive records, JSON-RPC as an array. Nested lists are arrays.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace msrpd::ctl {

class Value {
 public:
  enum class Type { Null, Int, Double, String, Struct, List };
  using Member = std::pair<std::string, Value>;

  Value() = default;
  static Value null() { return Value(); }
  static Value integer(int64_t v);
  static Value real(double v);
  static Value str(std::string v);
  static Value structure();  // empty struct; add members with add()
  static Value list(std::vector<Value> items = {});

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_int() const { return type_ == Type::Int; }
  bool is_double() const { return type_ == Type::Double; }
  bool is_string() const { return type_ == Type::String; }
  bool is_struct() const { return type_ == Type::Struct; }
  bool is_list() const { return type_ == Type::List; }

  int64_t as_int() const { return i_; }
  double as_double() const { return d_; }
  const std::string& as_string() const { return s_; }
  // Struct members in insertion order; names may repeat (CONDATA, CONDATA...).
  const std::vector<Member>& members() const { return members_; }
  const std::vector<Value>& items() const { return items_; }

  // Appends a member (struct) and returns *this for chaining.
  Value& add(std::string name, Value v);
  // Appends an item (list).
  Value& push(Value v);
  // The first member of that name, or nullptr.
  const Value* find(std::string_view name) const;

  friend bool operator==(const Value& a, const Value& b);

 private:
  Type type_ = Type::Null;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<Member> members_;
  std::vector<Value> items_;
};

// A fault is the Error of the handler's Result: status = the fault code (500, 400, 404...).
using Params = std::vector<Value>;
using Handler = std::function<Result<Value>(const Params&)>;

inline Error fault(uint16_t code, std::string message) {
  return make_error(code, std::move(message));
}

// Thread-safe: add()/remove() and call() may run on any threads at once. A handler runs on the
// calling (control) thread, outside the registry's lock, so it may itself use the registry.
class Registry {
 public:
  // Replaces a command of the same name.
  void add(std::string name, std::string doc, Handler handler);
  bool remove(std::string_view name);
  bool has(std::string_view name) const;

  // The handler's result, or fault 500 "command NAME not found" (Kamailio's text).
  Result<Value> call(std::string_view name, const Params& params) const;

  std::vector<std::string> names() const;  // sorted
  // Sets out to the doc line; false when there is no such command.
  bool doc(std::string_view name, std::string& out) const;

 private:
  struct Entry {
    std::string doc;
    std::shared_ptr<const Handler> handler;
  };
  mutable std::shared_mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

// The workers and threads core.psx lists. Threads add themselves when they start.
class ProcessTable {
 public:
  struct Process {
    int idx = 0;
    long pid = 0;  // the kernel thread id (gettid), as Kamailio shows its process ids
    std::string desc;
  };
  // Adds an entry and returns its idx (0, 1, 2... in order of adding).
  int add(long pid, std::string desc);
  void remove(int idx);
  std::vector<Process> list() const;

 private:
  mutable std::mutex mu_;
  int next_ = 0;
  std::vector<Process> procs_;
};

// The calling thread's kernel id (what core.psx shows as PID).
long current_thread_id();

}  // namespace msrpd::ctl
