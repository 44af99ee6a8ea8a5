// RawNode: the driver's handle on one Raft node, following etcd-io/raft's Ready contract. The driver calls Tick(),
// Step() for peer messages and Propose()/Campaign()/TransferLeader()/ReadIndex() for local requests; then, whenever
// HasReady(), takes a Ready and must, in this order:
//   1. persist ready.snapshot (if set), then ready.entries and ready.hard_state (if set) to stable
//      storage — durably — and give the snapshot to Storage (MemoryStorage::ApplySnapshot) before the entries;
//   2. send ready.messages (a leader may send its MSG_APP and MSG_HEARTBEAT messages before step 1 completes: it
//      counts itself toward commitment only after Advance, thesis §10.2.1);
//   3. restore the state machine from ready.snapshot (if set), apply ready.committed_entries, serve
//      ready.read_states once applied far enough;
//   4. call Advance(ready).
// Step may be called between GetReady and Advance; GetReady may not (one Ready at a time). RawNode does no IO.
// After each call that can change the node it checks the node's own invariants (raft/invariants.h): a broken one
// stops the process, or goes to Config::on_invariant_broken.
// Log compaction is the driver's: it snapshots its state machine at an applied index (MemoryStorage::CreateSnapshot)
// and then compacts Storage, never past that snapshot (a follower that needs compacted entries is sent it).
#ifndef DETCD_RAFT_RAW_NODE_H_
#define DETCD_RAFT_RAW_NODE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "api/raft.pb.h"
#include "raft/invariants.h"
#include "raft/raft.h"

namespace detcd::raft {

struct Ready {
  std::optional<SoftState> soft_state;        // set when leader or role changed (not persisted)
  std::optional<raftpb::HardState> hard_state;  // set when term, vote or commit changed: persist it
  std::vector<ReadState> read_states;
  // A snapshot from the leader that replaces the whole log (its index is never 0): persist it before the entries,
  // restore the state machine from it. Never comes with committed entries. Most Readys have none, and make none.
  std::optional<raftpb::Snapshot> snapshot;
  std::vector<raftpb::Entry> entries;            // to persist, before sending messages
  std::vector<raftpb::Entry> committed_entries;  // to apply
  std::vector<raftpb::Message> messages;
  // True if entries or a changed term/vote must reach the disk with an fsync before messages go out (a commit
  // index change alone may be written lazily: it can be recomputed).
  bool must_sync = false;
};

// A snapshot of a node's state for observers (checkers, status endpoints, scripts).
struct Status {
  uint64_t id = 0;
  raftpb::HardState hard_state;
  SoftState soft_state;
  uint64_t applied = 0;
  uint64_t last_index = 0;
  uint64_t lead_transferee = 0;
  std::vector<std::pair<uint64_t, Progress>> progress;  // leader only, by id
};

class RawNode {
 public:
  explicit RawNode(const Config& config);

  void Tick();
  // Starts an election now (with PreVote when configured), as if the election timeout had passed.
  absl::Status Campaign();
  // Proposes data for the log; fails with ErrProposalDropped if no leader is known or a transfer is under way.
  absl::Status Propose(std::string data);
  // Proposes a configuration change (an ENTRY_CONF_CHANGE entry). When it is applied the driver must call
  // ApplyConfChange. A change proposed while another is pending is turned into an empty entry by the leader.
  absl::Status ProposeConfChange(const raftpb::ConfChange& cc);
  raftpb::ConfState ApplyConfChange(const raftpb::ConfChange& cc);
  // A message from a peer. Refuses local-only message types, messages addressed to another node, and malformed
  // messages, with an error and no state change.
  absl::Status Step(const raftpb::Message& m);
  // Asks the leader to hand leadership to `transferee`.
  void TransferLeader(uint64_t transferee);
  // Requests a linearizable read point; the answer comes back as a ReadState with the same context.
  absl::Status ReadIndex(std::string context);
  // The transport could not deliver to `id`.
  void ReportUnreachable(uint64_t id);
  // The transport finished sending a MSG_SNAP to `id` (failed: it did not arrive). A leader waits for this before it
  // sends that follower anything but heartbeats.
  void ReportSnapshot(uint64_t id, bool failed);

  bool HasReady() const;
  Ready GetReady();
  void Advance(const Ready& ready);

  Status GetStatus() const;
  const Raft& raft() const { return raft_; }

 private:
  // After every call that can change the node: its invariants (raft/invariants.h) against the step before.
  void CheckInvariants();
  absl::Status Checked(absl::Status stepped);  // CheckInvariants(), then `stepped`
  // Term, vote or commit differ from the last Ready's (read in place: no HardState built to compare).
  bool HardStateChanged() const;

  Raft raft_;
  std::function<void(const std::string&)> on_invariant_broken_;
  NodeInvariants invariants_;
  SoftState prev_soft_state_;
  raftpb::HardState prev_hard_state_;
  bool ready_outstanding_ = false;
};

bool IsLocalMessage(raftpb::MessageType t);
bool IsResponseMessage(raftpb::MessageType t);

}  // namespace detcd::raft

#endif  // DETCD_RAFT_RAW_NODE_H_
