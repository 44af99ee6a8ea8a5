#include "net/job_thread.h"

#include <utility>

#include "base/check.h"

namespace detcd::net {

JobThread::JobThread(std::function<void(const absl::Status&)> on_error) : on_error_(std::move(on_error)) {
  DETCD_CHECK(on_error_ != nullptr);
  thread_ = std::thread([this] { Run(); });
}

JobThread::~JobThread() { Stop(); }

void JobThread::Add(Job job) {
  DETCD_CHECK(job != nullptr);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ || failed_) return;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void JobThread::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void JobThread::Run() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return !jobs_.empty() || stopping_; });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    if (absl::Status s = job(); !s.ok()) {
      {
        std::lock_guard<std::mutex> l(mu_);
        failed_ = true;
        jobs_.clear();
      }
      on_error_(s);
      return;
    }
  }
}

}  // namespace detcd::net
