#include "ctl/rpc.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace msrpd::ctl {

Value Value::integer(int64_t v) {
  Value r;
  r.type_ = Type::Int;
  r.i_ = v;
  return r;
}

Value Value::real(double v) {
  Value r;
  r.type_ = Type::Double;
  r.d_ = v;
  return r;
}

Value Value::str(std::string v) {
  Value r;
  r.type_ = Type::String;
  r.s_ = std::move(v);
  return r;
}

Value Value::structure() {
  Value r;
  r.type_ = Type::Struct;
  return r;
}

Value Value::list(std::vector<Value> items) {
  Value r;
  r.type_ = Type::List;
  r.items_ = std::move(items);
  return r;
}

Value& Value::add(std::string name, Value v) {
  members_.emplace_back(std::move(name), std::move(v));
  return *this;
}

Value& Value::push(Value v) {
  items_.push_back(std::move(v));
  return *this;
}

const Value* Value::find(std::string_view name) const {
  for (const auto& [n, v] : members_) {
    if (n == name) return &v;
  }
  return nullptr;
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Value::Type::Null:
      return true;
    case Value::Type::Int:
      return a.i_ == b.i_;
    case Value::Type::Double:
      return a.d_ == b.d_;
    case Value::Type::String:
      return a.s_ == b.s_;
    case Value::Type::Struct:
      return a.members_ == b.members_;
    case Value::Type::List:
      return a.items_ == b.items_;
  }
  return false;
}

void Registry::add(std::string name, std::string doc, Handler handler) {
  std::unique_lock lock(mu_);
  entries_[std::move(name)] = Entry{std::move(doc), std::make_shared<const Handler>(std::move(handler))};
}

bool Registry::remove(std::string_view name) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

bool Registry::has(std::string_view name) const {
  std::shared_lock lock(mu_);
  return entries_.find(name) != entries_.end();
}

Result<Value> Registry::call(std::string_view name, const Params& params) const {
  std::shared_ptr<const Handler> h;
  {
    std::shared_lock lock(mu_);
    auto it = entries_.find(name);
    if (it != entries_.end()) h = it->second.handler;
  }
  if (!h) return fault(500, "command " + std::string(name) + " not found");
  return (*h)(params);
}

std::vector<std::string> Registry::names() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [n, e] : entries_) out.push_back(n);
  return out;
}

bool Registry::doc(std::string_view name, std::string& out) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return false;
  out = it->second.doc;
  return true;
}

int ProcessTable::add(long pid, std::string desc) {
  std::lock_guard lock(mu_);
  int idx = next_++;
  procs_.push_back(Process{idx, pid, std::move(desc)});
  return idx;
}

void ProcessTable::remove(int idx) {
  std::lock_guard lock(mu_);
  std::erase_if(procs_, [idx](const Process& p) { return p.idx == idx; });
}

std::vector<ProcessTable::Process> ProcessTable::list() const {
  std::lock_guard lock(mu_);
  return procs_;
}

long current_thread_id() {
  return static_cast<long>(::syscall(SYS_gettid));
}

}  // namespace msrpd::ctl
