// The watch workload: W watchers, each a Watch stream on the whole key space (spread over the connections and the
// completion threads), then writers that put stamped values; every put yields one event per watcher, and each
// event's latency is from its put being sent to the watcher receiving it. ok counts events received; an event that
// has not arrived within --timeout after the last put counts as failed, as do failed puts.
#ifndef DETCD_LOAD_WATCH_LOAD_H_
#define DETCD_LOAD_WATCH_LOAD_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <vector>

#include "load/completion_threads.h"
#include "load/key_space.h"
#include "load/load_options.h"
#include "load/tally.h"

namespace detcd::load {

struct WatchOutcome {
  Tally events;       // ok: events received, with their put-to-event latency; failed: puts and events lost
  uint64_t puts = 0;  // successful puts
  double seconds = 0;  // from the first put to the last event (or the end of the wait for it)
};

WatchOutcome RunWatch(const LoadOptions& opt, const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                      CompletionThreads* threads, KeySpace* keys);

}  // namespace detcd::load

#endif  // DETCD_LOAD_WATCH_LOAD_H_
