// Progress: what a leader knows about one follower's log, and the flow control that decides when to send it more.
// Probe: one append in flight at a time until the follower's match is found. Replicate: appends are pipelined up to
// an inflight window (Inflights). Snapshot: the follower's next entry was compacted away and a snapshot is on its way;
// nothing else is sent until the follower acknowledges it or the driver reports it failed. Progress never sends
// anything itself; the leader asks it whether it may.
#ifndef DETCD_RAFT_PROGRESS_H_
#define DETCD_RAFT_PROGRESS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace detcd::raft {

// A bounded FIFO of the last indexes of appends in flight to one follower; full means stop sending.
class Inflights {
 public:
  explicit Inflights(size_t capacity) : capacity_(capacity) {}
  bool Full() const { return count_ == capacity_; }
  size_t Count() const { return count_; }
  void Add(uint64_t last_index);
  // Frees every in-flight append whose last index is <= index (they were acknowledged).
  void FreeLE(uint64_t index);
  void FreeFirstOne();
  void Reset() {
    count_ = 0;
    start_ = 0;
  }

 private:
  size_t capacity_;
  size_t start_ = 0;
  size_t count_ = 0;
  std::vector<uint64_t> buffer_;  // a ring, grown lazily up to capacity_
};

enum class ProgressState { kProbe, kReplicate, kSnapshot };
const char* ProgressStateName(ProgressState s);

struct Progress {
  explicit Progress(size_t max_inflight) : inflights(max_inflight) {}

  uint64_t match = 0;  // highest index known to be durable on the follower
  uint64_t next = 1;   // next index to send
  ProgressState state = ProgressState::kProbe;
  // Probe: an append was sent and no answer came yet; hold further appends until a response or heartbeat response.
  bool probe_sent = false;
  // Heard from this peer since the last CheckQuorum round.
  bool recent_active = false;
  bool is_learner = false;
  uint64_t pending_snapshot = 0;  // Snapshot state: index of the snapshot being sent
  Inflights inflights;

  // From Snapshot state, probing resumes after the snapshot (pending_snapshot, if it is still set).
  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(uint64_t snapshot_index);
  // The follower acknowledged up to index: returns false if that is stale (no news).
  bool MaybeUpdate(uint64_t index);
  // Records that an append ending at last_index was sent (optimistic in Replicate, a pause in Probe).
  void SentEntries(uint64_t last_index, size_t count);
  // A rejection of the append at rejected with the follower's hint of where to probe next: returns false if the
  // rejection is stale.
  bool MaybeDecrTo(uint64_t rejected, uint64_t match_hint);
  // Whether appends to this follower must wait.
  bool IsPaused() const;
  std::string ToString() const;
};

}  // namespace detcd::raft

#endif  // DETCD_RAFT_PROGRESS_H_
