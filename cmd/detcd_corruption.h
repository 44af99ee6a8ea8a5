// etcd's corruption checks on a running member (etcdserver/corrupt.go): the initial check a restarting member with
// --experimental-initial-corrupt-check runs before it serves (its HashKV against its peers' at its revision; a
// mismatch refuses the start), and the leader's periodic check every --experimental-corrupt-check-time (its hash
// before and after a linearizable read, the followers' in between; a mismatch raises the CORRUPT alarm through the
// log, which stops writes cluster-wide). Peers are asked on their peer ports (net/peer_query.h); the judgement is
// kv/corruption_check's. It never changes the member's state except by proposing that alarm.
#ifndef DETCD_CMD_DETCD_CORRUPTION_H_
#define DETCD_CMD_DETCD_CORRUPTION_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/member_runtime.h"
#include "net/peer_tls.h"
#include "net/peer_transport.h"

namespace detcd {

struct CorruptionCheckOptions {
  net::MemberRuntime* runtime = nullptr;
  uint64_t self = 0;
  // The other members' peer addresses, as the member knows them now.
  std::function<std::map<uint64_t, net::PeerAddress>()> peers;
  std::shared_ptr<const net::PeerTls> tls;
  absl::Duration timeout = absl::Seconds(7);  // etcd's request timeout, per question
  std::function<void(const std::string&)> info;
  std::function<void(const std::string&)> warn;
};

// etcd's CheckInitialHashKV: OK (logged), or the error the start is refused with.
absl::Status CheckInitialHashKV(const CorruptionCheckOptions& o);

// The leader's periodic check, on a thread of its own, every `period` (the first after one period).
class PeriodicCorruptionCheck {
 public:
  static std::unique_ptr<PeriodicCorruptionCheck> Start(CorruptionCheckOptions options, absl::Duration period);
  ~PeriodicCorruptionCheck();  // Stop()
  void Stop();
  // One check now, on the caller's thread (the loop's step; tests).
  void CheckOnce();

 private:
  PeriodicCorruptionCheck(CorruptionCheckOptions options, absl::Duration period)
      : options_(std::move(options)), period_(period) {}
  const CorruptionCheckOptions options_;
  const absl::Duration period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace detcd

#endif  // DETCD_CMD_DETCD_CORRUPTION_H_
