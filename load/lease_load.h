// The lease-keepalive workload: one lease granted per client (untimed, before the run), then each client sends
// keep-alives for its lease on a LeaseKeepAlive stream of its own, one in flight, and times each round trip. A round
// trip without an answer within --timeout is cancelled and counted as failed; a broken stream is reopened.
#ifndef DETCD_LOAD_LEASE_LOAD_H_
#define DETCD_LOAD_LEASE_LOAD_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <vector>

#include "load/completion_threads.h"
#include "load/load_options.h"
#include "load/tally.h"

namespace detcd::load {

struct LeaseOutcome {
  Tally tally;
  double seconds = 0;
};

LeaseOutcome RunLeaseKeepalive(const LoadOptions& opt, const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                               CompletionThreads* threads);

}  // namespace detcd::load

#endif  // DETCD_LOAD_LEASE_LOAD_H_
