// CqServer: the thread that runs gRPC for the member's hot services (KV, Lease, Watch) on gRPC's asynchronous API —
// one completion queue, one thread. That thread is gRPC's only poller for those calls: it reads a request, hands it to
// the member (which runs the core on this same thread when the core is free), and writes what is ready, with no
// hand-off to another gRPC thread per request (gRPC's callback API keeps two "nexting" threads that pass the poller
// role back and forth, about one futex wake-up per request). Replies finished on other threads (the disk thread after
// an fsync) only queue their writes.
//
// A call is a Tag: Proceed(ok) runs on this thread for each of its completions, and the call deletes itself when its
// last one has come. It must never block (no waiting for the member: a call asks and is answered by callback).
#ifndef DETCD_NET_GRPC_CQ_SERVER_H_
#define DETCD_NET_GRPC_CQ_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <thread>

namespace detcd::net {

class CqServer {
 public:
  // One pending completion of a call.
  class Tag {
   public:
    virtual ~Tag() = default;
    // ok: gRPC's verdict for the operation (false: the call or the server is going away).
    virtual void Proceed(bool ok) = 0;
  };

  // Whether the queue still takes operations. A call answered by the member after Stop (the server was shut down
  // and the queue with it) must not start one: it holds the gate while it does, and drops itself once it is closed.
  struct Gate {
    std::mutex mu;
    bool closed = false;  // guarded by mu

    // Runs `start` (which starts one operation on the queue) unless the queue is stopped; true if it ran.
    template <typename F>
    bool Start(F&& start) {
      std::lock_guard<std::mutex> l(mu);
      if (closed) return false;
      start();
      return true;
    }
  };

  explicit CqServer(std::unique_ptr<grpc::ServerCompletionQueue> cq);
  ~CqServer();  // Stop()
  CqServer(const CqServer&) = delete;
  CqServer& operator=(const CqServer&) = delete;

  grpc::ServerCompletionQueue* cq() const { return cq_.get(); }
  const std::shared_ptr<Gate>& gate() const { return gate_; }
  // Starts the thread (named detcd-grpc). Calls must be requested on cq() before or after; after Server::Shutdown.
  void Start();
  // After grpc::Server::Shutdown: shuts the queue down, lets every call see its last completions, joins the thread.
  // Idempotent.
  void Stop();

 private:
  void Loop();

  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  std::thread thread_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_CQ_SERVER_H_
