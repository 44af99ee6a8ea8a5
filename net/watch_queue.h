// WatchQueue: the watch responses of one stream, handed from the member's core thread (Push, which never blocks for
// long) to the thread that sends them to the client (Take) — for the gRPC Watch stream, the HTTP gateway's watch and
// the Lock/Election waits alike. Unbounded: the member's watch hub bounds what it queues per stream, but once handed
// over here a slow client's responses wait in memory. Thread-safe; holds nothing but the responses.
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
  // Queues a response (dropped once stopped).
  void Push(const etcdserverpb::WatchResponse& response) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      pending_.push_back(response);
    }
    cv_.notify_one();
  }

  // No more responses will be taken: a waiting Take returns at once.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }

  // Waits at most `timeout` for responses and takes all there are. False once stopped.
  bool Take(absl::Duration timeout, std::deque<etcdserverpb::WatchResponse>* out) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return stopped_ || !pending_.empty(); });
    out->swap(pending_);
    return !stopped_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<etcdserverpb::WatchResponse> pending_;  // guarded by mu_
  bool stopped_ = false;                             // guarded by mu_
};

}  // namespace detcd::net

#endif  // DETCD_NET_WATCH_QUEUE_H_
