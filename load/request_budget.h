// RequestBudget: when a run's clients stop sending — after `total` requests in all (when total > 0) or at the
// deadline, whichever comes first. Shared by every client; Take is lock-free.
#ifndef DETCD_LOAD_REQUEST_BUDGET_H_
#define DETCD_LOAD_REQUEST_BUDGET_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace detcd::load {

class RequestBudget {
 public:
  RequestBudget(int64_t total, std::chrono::steady_clock::time_point deadline)
      : limited_(total > 0), remaining_(total), deadline_(deadline) {}

  // Whether one more request may be sent (and counts it).
  bool Take() {
    if (std::chrono::steady_clock::now() >= deadline_) return false;
    return !limited_ || remaining_.fetch_sub(1, std::memory_order_relaxed) > 0;
  }

 private:
  const bool limited_;
  std::atomic<int64_t> remaining_;
  const std::chrono::steady_clock::time_point deadline_;
};

}  // namespace detcd::load

#endif  // DETCD_LOAD_REQUEST_BUDGET_H_
