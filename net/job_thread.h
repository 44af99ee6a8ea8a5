// JobThread: one thread that runs the jobs handed to it, in order. A job that fails stops it for good: the error goes
// to on_error (on this thread) and every later job is dropped. Stop() lets the job running finish, drops those not
// started and joins. Used by MemberRuntime to write snapshot files off the WAL's thread. It knows nothing of what the
// jobs do.
#ifndef DETCD_NET_JOB_THREAD_H_
#define DETCD_NET_JOB_THREAD_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"

namespace detcd::net {

class JobThread {
 public:
  using Job = std::function<absl::Status()>;
  explicit JobThread(std::function<void(const absl::Status&)> on_error);
  ~JobThread();  // Stop()
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  // Queues a job; dropped if stopping, stopped or failed.
  void Add(Job job);
  void Stop();

 private:
  void Run();

  std::function<void(const absl::Status&)> on_error_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  bool failed_ = false;    // guarded by mu_
  std::thread thread_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_JOB_THREAD_H_
