// CompletionThreads: the few threads that drive every client of a run. Each thread owns one gRPC completion queue
// and completes whatever comes out of it; a client is bound to one queue, so its state is only ever touched by that
// queue's thread and needs no lock. Tags put on a queue are always Pending objects. Never block inside Complete.
#ifndef DETCD_LOAD_COMPLETION_THREADS_H_
#define DETCD_LOAD_COMPLETION_THREADS_H_

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <thread>
#include <vector>

namespace detcd::load {

// An operation started on a completion queue; the queue's thread calls Complete with the operation's `ok`.
class Pending {
 public:
  virtual ~Pending() = default;
  virtual void Complete(bool ok) = 0;
};

// A Pending that calls a member function of its owner: a client with several operations in flight at once (a
// stream's read and write) has one of these per kind of operation.
template <typename Owner>
class MemberTag final : public Pending {
 public:
  MemberTag(Owner* owner, void (Owner::*method)(bool)) : owner_(owner), method_(method) {}
  void Complete(bool ok) override { (owner_->*method_)(ok); }

 private:
  Owner* owner_;
  void (Owner::*method_)(bool);
};

class CompletionThreads {
 public:
  explicit CompletionThreads(int threads);
  // Shuts the queues down and joins; every operation started on them must have completed already.
  ~CompletionThreads();
  CompletionThreads(const CompletionThreads&) = delete;
  CompletionThreads& operator=(const CompletionThreads&) = delete;

  // The queue client `index` is bound to (round-robin).
  grpc::CompletionQueue* queue(int index) { return queues_[index % queues_.size()].get(); }

 private:
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;
  std::vector<std::thread> threads_;
};

}  // namespace detcd::load

#endif  // DETCD_LOAD_COMPLETION_THREADS_H_
