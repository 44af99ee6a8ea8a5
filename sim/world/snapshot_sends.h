// SnapshotSends: what a peer transport tells a leader about the snapshots it streams (MSG_SNAP), as both simulated
// clusters model it: "delivered" once the message reaches a running member, "failed" if it has not after a timeout.
// A report is for the sender's life that sent it (its incarnation); the cluster drops reports for an earlier life.
// It only schedules events on the loop and records trace lines; it never decides what a member does.
#ifndef DETCD_SIM_WORLD_SNAPSHOT_SENDS_H_
#define DETCD_SIM_WORLD_SNAPSHOT_SENDS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <tuple>

#include "api/raft.pb.h"
#include "sim/world/event_loop.h"
#include "sim/world/trace.h"

namespace detcd::sim {

class SnapshotSends {
 public:
  using ReportFn = std::function<void(uint64_t from, uint64_t incarnation, uint64_t to, bool failed)>;

  SnapshotSends(EventLoop* loop, Trace* trace, int64_t timeout_us, ReportFn report)
      : loop_(loop), trace_(trace), timeout_us_(timeout_us), report_(std::move(report)) {}

  // A member in its life `incarnation` sends m (a MSG_SNAP): the timeout starts.
  void Sent(const raftpb::Message& m, uint64_t incarnation);
  // m reached a running member: the sender hears it was delivered (once).
  void Delivered(const raftpb::Message& m);

 private:
  using Key = std::tuple<uint64_t, uint64_t, uint64_t>;  // from, to, snapshot index

  EventLoop* loop_;
  Trace* trace_;
  int64_t timeout_us_;
  ReportFn report_;
  std::map<Key, uint64_t> in_flight_;  // -> the sender's incarnation when it sent
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORLD_SNAPSHOT_SENDS_H_
