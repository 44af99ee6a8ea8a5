// AutoCompactor: etcd 3.4's auto-compaction (--auto-compaction-mode, --auto-compaction-retention; etcd's
// compactor package) as a pure state machine over the member's ticks, so the simulator runs it as production does.
//   periodic: every retry interval (a tenth of the retention, at most 6 minutes) it notes the current revision,
//     keeping the notes of one retention back; once a retention has passed since it started (then every
//     min(retention, 1 h) after the last success) the leader compacts at the revision noted a retention ago.
//   revision: every 5 minutes the leader compacts at current revision - retention, unless that is not positive or
//     is what it compacted last time.
// Only a leader compacts (etcd pauses the compactor on followers); notes are taken whatever the role. A compaction
// succeeded once the store's compaction revision reaches it (etcd: the Compact call returned, or ErrCompacted); one
// that did not within a retry interval failed (dropped with a leader change) and is tried again later.
//
// It never reads a clock (time is ticks × tick_us), does IO, or proposes anything itself: NodeCore proposes what
// Tick returns and logs the lines etcd logs.
#ifndef DETCD_KV_AUTO_COMPACTOR_H_
#define DETCD_KV_AUTO_COMPACTOR_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace detcd::kv {

struct AutoCompactionConfig {
  enum class Mode { kOff, kPeriodic, kRevision };
  Mode mode = Mode::kOff;
  int64_t retention_ms = 0;         // periodic: how much history, by time
  int64_t retention_revisions = 0;  // revision: how many revisions
};

class AutoCompactor {
 public:
  // tick_us: what one tick stands for (--heartbeat-interval).
  AutoCompactor(AutoCompactionConfig config, int64_t tick_us);

  struct Step {
    int64_t compact_at = 0;          // propose a compaction at this revision (0: nothing to do)
    std::vector<std::string> log;    // etcd's lines ("Starting auto-compaction at revision ...", ...)
  };
  // One tick: `revision` is the store's current revision, `compacted` its compaction revision, `leader` whether this
  // member leads now.
  Step Tick(int64_t revision, int64_t compacted, bool leader);

  bool enabled() const { return config_.mode != AutoCompactionConfig::Mode::kOff; }

 private:
  Step Periodic(int64_t revision, bool leader);
  Step Revision(int64_t revision, bool leader);
  // A compaction in flight that the store reached (success) or that waited too long (failure).
  void Settle(int64_t compacted, Step* step);

  const AutoCompactionConfig config_;
  const int64_t tick_us_;
  int64_t ticks_ = 0;
  // periodic
  int64_t retry_ticks_ = 1;       // between notes (and between attempts)
  int64_t compact_ticks_ = 1;     // between compactions once the first is done
  size_t notes_kept_ = 1;         // a retention's worth, plus one
  bool first_done_ = false;       // before the first success, a whole retention must pass
  int64_t last_success_tick_ = 0;
  int64_t next_note_tick_ = 0;
  std::deque<int64_t> notes_;     // notes_.front(): the revision a retention ago
  // revision
  int64_t next_try_tick_ = 0;
  int64_t last_compacted_at_ = 0;  // etcd's `prev`
  // in flight
  int64_t pending_ = 0;
  int64_t pending_since_ = 0;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_AUTO_COMPACTOR_H_
