// RaftLog: one node's view of the replicated log — the durable prefix (in Storage) plus the unstable tail (entries
// accepted but not yet handed to the driver for persistence, or handed but not yet confirmed durable), with the
// commit and applied pointers, and a snapshot received from a leader until the driver has made it durable. It answers the questions the Raft rules ask (term at an index, does a log match, is a
// candidate's log up to date) and applies the append rule of §5.3. It never talks to peers and never persists
// anything itself.
#ifndef DETCD_RAFT_LOG_H_
#define DETCD_RAFT_LOG_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "api/raft.pb.h"
#include "raft/storage.h"

namespace detcd::raft {

class RaftLog {
 public:
  // storage must outlive the log. applied: index the state machine already holds (0 on a fresh start).
  RaftLog(const Storage* storage, uint64_t max_committed_bytes_per_ready);

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  uint64_t FirstIndex() const;
  uint64_t LastIndex() const;
  uint64_t LastTerm() const;
  // Last index that is durable (in Storage, or in the pending snapshot); the unstable tail starts after it.
  uint64_t StableLastIndex() const { return unstable_offset_ - 1; }

  // InstallSnapshot, follower side: the snapshot replaces the whole log (it must be newer than the commit index).
  // It stays pending — no committed entry is applied — until the driver made it durable and calls StableSnapTo.
  void Restore(const raftpb::Snapshot& snapshot);
  // The snapshot waiting to be persisted, or nullptr.
  const raftpb::Snapshot* PendingSnapshot() const { return pending_snapshot_ ? &*pending_snapshot_ : nullptr; }
  // The driver persisted the pending snapshot at index (and applied it to its state machine and Storage).
  void StableSnapTo(uint64_t index);

  // Term of entry i, or 0 if i is outside [FirstIndex()-1, LastIndex()] (compacted or not yet known).
  uint64_t Term(uint64_t i) const;
  // True if the log holds an entry at i with this term (index 0, before every entry, has term 0).
  bool MatchTerm(uint64_t i, uint64_t term) const {
    if (i == 0) return term == 0;
    const uint64_t t = Term(i);
    return t != 0 && t == term;
  }

  // §5.4.1: a candidate whose last entry is (last_index, last_term) is at least as up to date as this log.
  bool IsUpToDate(uint64_t last_index, uint64_t last_term) const {
    return last_term > LastTerm() || (last_term == LastTerm() && last_index >= LastIndex());
  }

  // The follower side of AppendEntries (§5.3): if the entry before `entries` matches (prev_index, prev_term), drops
  // any conflicting suffix, appends what is new, advances commit to min(leader_commit, last new index) and returns
  // that last new index. Returns nullopt if the log does not match at prev_index. Only the entries from the first
  // new or conflicting one on are copied (a retransmitted MsgApp costs no copy of what the log has). Entries: a
  // std::vector or a message's RepeatedPtrField of raftpb::Entry.
  template <typename Entries>
  std::optional<uint64_t> MaybeAppend(uint64_t prev_index, uint64_t prev_term, uint64_t leader_commit,
                                      const Entries& entries);
  // MaybeAppend for a caller that matched prev_index itself and has conflict = FindConflict(entries) (Raft looks at
  // the conflict before appending): the entries are not scanned again.
  template <typename Entries>
  uint64_t AppendMatched(uint64_t prev_index, uint64_t leader_commit, const Entries& entries, uint64_t conflict);
  // Test-only broken variant of MaybeAppend used to show the checkers catch it: truncates the log right after the
  // given entries even when nothing conflicts (so a stale, reordered append erases entries already acknowledged).
  std::optional<uint64_t> MaybeAppendTruncatingTail(uint64_t prev_index, uint64_t prev_term, uint64_t leader_commit,
                                                    const std::vector<raftpb::Entry>& entries);

  // Appends entries that follow on from some index in the log (truncating after it); returns the new last index.
  uint64_t Append(std::vector<raftpb::Entry> entries);

  // First index in entries whose term conflicts with the log, or whose index is beyond it (a new entry); 0 if all
  // of them are already present.
  template <typename Entries>
  uint64_t FindConflict(const Entries& entries) const;
  // The largest index <= index whose term is <= term: where a leader's probe should go next after a rejection
  // (lets backtracking skip a whole term per round trip).
  uint64_t FindConflictByTerm(uint64_t index, uint64_t term) const;

  // Entries in [lo, hi), limited to max_bytes beyond the first. lo must be >= FirstIndex() (callers check
  // compaction first: a leader sends a snapshot instead of entries that are gone).
  std::vector<raftpb::Entry> Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;
  // All entries from i to the end, limited to max_bytes beyond the first, copied into an empty *out (a message's).
  void CopyEntriesFrom(uint64_t i, uint64_t max_bytes, google::protobuf::RepeatedPtrField<raftpb::Entry>* out) const;

  // Entries appended but not yet confirmed durable.
  const std::vector<raftpb::Entry>& UnstableEntries() const { return unstable_; }
  // Committed entries that are ready to apply: after applied, up to commit, limited to entries that are durable
  // locally (applying an entry this node could still lose would be wrong after a crash).
  bool HasNextCommittedEntries() const;
  std::vector<raftpb::Entry> NextCommittedEntries() const;

  // The driver persisted the unstable entries up to (index, term). Ignored if the tail was replaced meanwhile.
  void StableTo(uint64_t index, uint64_t term);
  void AppliedTo(uint64_t index);
  void CommitTo(uint64_t index);
  // Leader: commit up to max_index if the entry there has the given (current) term. Returns true if commit moved.
  bool MaybeCommit(uint64_t max_index, uint64_t term);

 private:
  // Slice into an empty vector or message entries.
  template <typename Out>
  void SliceInto(uint64_t lo, uint64_t hi, uint64_t max_bytes, Out* out) const;
  void TruncateAndAppend(std::vector<raftpb::Entry> entries);
  const raftpb::Entry* UnstableAt(uint64_t i) const;

  const Storage* storage_;
  uint64_t max_committed_bytes_per_ready_;
  // A snapshot from the leader, not yet durable: while set, the log holds nothing before its index and
  // unstable_offset_ is its index + 1 (Storage still shows the old log and is not read).
  std::optional<raftpb::Snapshot> pending_snapshot_;
  std::vector<raftpb::Entry> unstable_;  // entries at indexes unstable_offset_, unstable_offset_ + 1, ...
  uint64_t unstable_offset_;
  uint64_t committed_ = 0;
  uint64_t applied_ = 0;
};

}  // namespace detcd::raft

#endif  // DETCD_RAFT_LOG_H_
