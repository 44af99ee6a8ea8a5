// Unary workloads: put, range (linearizable or serializable) and txn-put — N clients, one request in flight each,
// on the completion threads, over shared connections, until the request budget is spent. Also drives the untimed
// fill of the key space before a range run and the watch workload's writers (puts stamped with their send time).
#ifndef DETCD_LOAD_UNARY_LOAD_H_
#define DETCD_LOAD_UNARY_LOAD_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <vector>

#include "load/completion_threads.h"
#include "load/key_space.h"
#include "load/load_options.h"
#include "load/tally.h"

namespace detcd::load {

struct UnaryPlan {
  Workload workload = Workload::kPut;  // put, range, range-serializable or txn-put
  int clients = 1;
  int64_t total = 0;                                    // 0: until the duration
  absl::Duration duration = absl::InfiniteDuration();  // with total, an upper bound
  bool stamp_values = false;                            // values start with their send time (value_stamp.h)
};

struct UnaryOutcome {
  Tally tally;
  double seconds = 0;  // from the first request sent to the last answer
};

UnaryOutcome RunUnary(const LoadOptions& opt, const UnaryPlan& plan,
                      const std::vector<std::shared_ptr<grpc::Channel>>& channels, CompletionThreads* threads,
                      KeySpace* keys);

}  // namespace detcd::load

#endif  // DETCD_LOAD_UNARY_LOAD_H_
