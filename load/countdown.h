// Countdown: the run's main thread waits for N clients to reach a point (stream created, finished); the clients,
// on their completion-queue threads, count down. A one-shot latch (C++17 has no std::latch).
#ifndef DETCD_LOAD_COUNTDOWN_H_
#define DETCD_LOAD_COUNTDOWN_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/check.h"

namespace detcd::load {

class Countdown {
 public:
  explicit Countdown(int count) : count_(count) { DETCD_CHECK(count >= 0); }

  void Done() {
    std::lock_guard<std::mutex> l(mu_);
    DETCD_CHECK(count_ > 0);
    if (--count_ == 0) cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return count_ == 0; });
  }
  // True when the count reached zero within `wait`.
  bool WaitFor(std::chrono::nanoseconds wait) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, wait, [&] { return count_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_;
};

}  // namespace detcd::load

#endif  // DETCD_LOAD_COUNTDOWN_H_
