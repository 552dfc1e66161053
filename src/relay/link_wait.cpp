// Link: an AUTH whose route needs data from elsewhere first (Router::ready: auth_db's
// credentials from the database). The frame stays unconsumed in the connection's buffer and the
// connection stops reading, so this client's later frames keep their order behind it; the other
// connections of the worker are not concerned. When the router's resume runs on this worker, the
// connection reads again: its buffered bytes are handed over anew and the frame is parsed and
// routed, the data now in the router's per-worker cache.

#include "relay/link.h"
#include "relay/worker.h"

namespace msrpd::relay {

bool Link::auth_ready() {
  if (!conn_) return true;
  uint64_t id = id_;
  unsigned index = w_.index();
  std::shared_ptr<WorkerPost> post = w_.engine().worker_post();
  Resume resume = [post, index, id](std::function<void()> fn) {
    post->post(index, [fn = std::move(fn), id](Worker& w) {
      if (fn) fn();
      if (Link* l = w.link(id)) l->resume_routing();
    });
  };
  if (w_.engine().router().ready(parser_.frame(), index, resume)) return true;
  parser_.reset();  // the head is read again then
  conn_->pause_reading();
  return false;
}

void Link::resume_routing() {
  if (conn_) conn_->resume_reading();
}

}  // namespace msrpd::relay
