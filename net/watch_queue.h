// WatchQueue: the watch responses of one stream, handed from the member's core thread (Push, which never blocks for
// long) to the thread that sends them to the client (Take) — for the gRPC Watch stream, the HTTP gateway's watch and
// the Lock/Election waits alike. Bounded: once it holds `capacity` responses Push says so (the member then pauses the
// stream, and its watch hub keeps the rest, catching the watchers up from history later), and the Take that empties
// it says the stream may resume. Thread-safe; holds nothing but the responses.
#ifndef DETCD_NET_WATCH_QUEUE_H_
#define DETCD_NET_WATCH_QUEUE_H_

#include <condition_variable>
#include <deque>
#include <mutex>

#include "absl/time/time.h"
#include "api/etcdserverpb/rpc.pb.h"

namespace detcd::net {

class WatchQueue {
 public:
  explicit WatchQueue(size_t capacity = 256) : capacity_(capacity) {}

  // Queues a response (dropped once stopped). False: the queue is full — send no more until a Take says resume.
  bool Push(const etcdserverpb::WatchResponse& response) {
    bool room = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return true;
      pending_.push_back(response);
      if (pending_.size() >= capacity_) {
        full_ = true;
        room = false;
      }
    }
    cv_.notify_one();
    return room;
  }

  // No more responses will be taken: a waiting Take returns at once.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }

  // Waits at most `timeout` for responses and takes all there are. False once stopped. *resume (if not null) is set
  // when this Take emptied a queue that had said it was full: the producer may send again (MemberRuntime::ResumeWatch).
  bool Take(absl::Duration timeout, std::deque<etcdserverpb::WatchResponse>* out, bool* resume = nullptr) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return stopped_ || !pending_.empty(); });
    out->swap(pending_);
    if (resume != nullptr) *resume = full_;
    full_ = false;
    return !stopped_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const size_t capacity_;
  std::deque<etcdserverpb::WatchResponse> pending_;  // guarded by mu_
  bool stopped_ = false;                             // guarded by mu_
  bool full_ = false;                                // guarded by mu_: Push said it was full
};

}  // namespace detcd::net

#endif  // DETCD_NET_WATCH_QUEUE_H_
