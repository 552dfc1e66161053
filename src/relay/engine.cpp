#include "relay/engine.h"

#include "common/log.h"
#include "net/workers.h"
#include "relay/mailbox.h"
#include "relay/worker.h"

namespace msrpd::relay {

// ---------------------------------------------------------------------------------------------
// Engine

struct Engine::Threads {
  Threads(unsigned n, size_t unauth_budget) : workers(n, unauth_budget) {}
  net::Workers workers;
};

Engine::Engine(EngineConfig cfg, Router& router) : cfg_(std::move(cfg)), router_(router) {
  if (cfg_.children == 0) cfg_.children = 1;
  if (cfg_.cmap_size > 0) cmap_ = std::make_unique<ConnectionMap>(cfg_.cmap_size);
}

Engine::~Engine() {
  stop();
}

bool Engine::post_to(unsigned worker, std::function<void()> fn) {
  if (!threads_) return false;
  return threads_->workers.post_to(worker, std::move(fn));
}

Result<void> Engine::start() {
  if (started_) return make_error(0, "engine already started");
  worker_post_ = std::make_shared<WorkerPost>(this);  // a restarted engine: resumes reach it again
  bool tls_listen = false;
  for (const ListenAddr& a : cfg_.listen) tls_listen = tls_listen || a.proto == "tls";
  const net::TlsSettings& ts = cfg_.tls;
  bool tls_configured = !ts.certificate.empty() || !ts.private_key.empty() || !ts.ca_list.empty();
  if (!tls_) {
    auto ctx = net::TlsContext::create(ts);
    if (ctx) {
      tls_ = std::move(*ctx);
    } else if (tls_listen || tls_configured) {
      // Start-up: the message names the file or the setting that is wrong.
      return ctx.error();
    } else {
      LM_WARN("engine: no TLS context, msrps next hops will fail: %s", ctx.error().message.c_str());
    }
  }
  try {
    threads_ = std::make_unique<Threads>(cfg_.children, cfg_.unauth_memory_budget);
  } catch (const std::exception& e) {
    return make_error(0, e.what());
  }
  for (unsigned i = 0; i < cfg_.children; ++i)
    workers_.push_back(std::make_unique<Worker>(*this, i, threads_->workers.connections(i)));
  ports_.clear();
  for (const ListenAddr& a : cfg_.listen) {
    if (a.proto != "tcp" && a.proto != "tls") {
      workers_.clear();
      threads_.reset();
      return make_error(0, "listen " + a.proto + ":" + a.ip + ": only tcp and tls are supported");
    }
    if (a.proto == "tls" && (!tls_ || !tls_->has_certificate())) {
      workers_.clear();
      threads_.reset();
      return make_error(0, "listen tls:" + a.ip + ":" + std::to_string(a.port) +
                               ": no certificate (modparam(\"tls\", \"certificate\", ...))");
    }
    uint16_t port = a.port;
    for (unsigned i = 0; i < workers_.size(); ++i) {
      uint16_t bound = 0;
      if (auto r = workers_[i]->listen(a, port, &bound); !r) {
        workers_.clear();
        threads_.reset();
        return r;
      }
      port = bound;
    }
    ports_.push_back(port);
  }
  sockets_.assign(cfg_.listen, ports_);
  // RFC 4976 §6.2: the names this relay answers to.
  own_ = OwnUris();
  for (size_t i = 0; i < cfg_.listen.size(); ++i) own_.add_listen(cfg_.listen[i].ip, ports_[i]);
  for (const std::string& n : cfg_.own_names) own_.add_name(n);
  if (!cfg_.use_path_addr.empty()) own_.add_name(cfg_.use_path_addr);
  if (tls_)
    for (const std::string& n : tls_->certificate_dns_names()) own_.add_name(n);
  own_.add_machine_addresses();
  if (cfg_.open_relay) {
    LM_WARN(
        "engine: open_relay=1: RFC 4976 §6 authorization is off, anyone can relay through this "
        "relay to anywhere (dangerous: labs only)");
  } else {
    LM_INFO("engine: this relay answers to %s", own_.describe().c_str());
  }
  channels_.clear();
  for (size_t i = 0; i < workers_.size() * workers_.size(); ++i)
    channels_.push_back(std::make_unique<MailChannel>());
  for (unsigned i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    threads_->workers.loop(i).post([w] { w->on_start(); });
  }
  threads_->workers.start();
  started_ = true;
  return {};
}

bool WorkerPost::post(unsigned worker, std::function<void(Worker&)> fn) {
  std::lock_guard lk(mu_);
  if (!engine_ || worker >= engine_->worker_count()) return false;
  Engine* e = engine_;
  return e->post_to(worker, [e, worker, fn = std::move(fn)] { fn(e->worker(worker)); });
}

void WorkerPost::close() {
  std::lock_guard lk(mu_);
  engine_ = nullptr;
}

void Engine::stop() {
  worker_post_->close();
  if (!threads_) return;
  threads_->workers.stop();
  // The loops have stopped: close the connections while their handlers still exist.
  for (auto& w : workers_) w->close_all();
  workers_.clear();
  channels_.clear();
  threads_.reset();
  started_ = false;
}

std::vector<uint16_t> Engine::bound_ports() const {
  return ports_;
}

}  // namespace msrpd::relay
