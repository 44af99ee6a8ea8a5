// Storage: the read side of a node's stable storage, as the Raft log sees it — the durable entries, hard state and
// configuration. The driver writes to it (after persisting a Ready); Raft only reads. MemoryStorage keeps everything
// in memory: in the simulator it stands for the disk (it survives a simulated crash; the Ready state that was never
// handed to it does not). Storage never decides anything about consensus; it never reorders or drops entries.
#ifndef DETCD_RAFT_STORAGE_H_
#define DETCD_RAFT_STORAGE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "api/raft.pb.h"

namespace detcd::raft {

// Errors a Storage returns for entries it no longer (or does not yet) hold.
absl::Status ErrCompacted();    // the requested index is at or before the first retained entry
absl::Status ErrUnavailable();  // the requested index is after the last entry
absl::Status ErrSnapOutOfDate();  // a snapshot older than the one the storage already holds
bool IsCompacted(const absl::Status& s);
bool IsUnavailable(const absl::Status& s);
bool IsSnapOutOfDate(const absl::Status& s);

class Storage {
 public:
  virtual ~Storage() = default;
  virtual raftpb::HardState InitialHardState() const = 0;
  virtual raftpb::ConfState InitialConfState() const = 0;
  // Entries in [lo, hi), at least one if any exists, and no more than max_bytes in total beyond the first.
  virtual absl::StatusOr<std::vector<raftpb::Entry>> Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const = 0;
  // The same entries added to the end of *out (a message's), with no vector in between.
  virtual absl::Status CopyEntries(uint64_t lo, uint64_t hi, uint64_t max_bytes,
                                   google::protobuf::RepeatedPtrField<raftpb::Entry>* out) const = 0;
  // Term of entry i; i may be FirstIndex()-1 (the term of the compaction point).
  virtual absl::StatusOr<uint64_t> Term(uint64_t i) const = 0;
  // The same term if the storage holds entry i (FirstIndex()-1 <= i <= LastIndex()), else 0 (no entry has term 0):
  // the Raft log asks this on every step and wants no Status built for it.
  virtual uint64_t TermIfHeld(uint64_t i) const = 0;
  virtual uint64_t FirstIndex() const = 0;
  virtual uint64_t LastIndex() const = 0;
  // The most recent snapshot (index 0 if there is none): what a leader sends a follower whose next entry is gone.
  virtual raftpb::Snapshot Snapshot() const = 0;
};

class MemoryStorage final : public Storage {
 public:
  MemoryStorage();

  raftpb::HardState InitialHardState() const override { return hard_state_; }
  raftpb::ConfState InitialConfState() const override { return conf_state_; }
  absl::StatusOr<std::vector<raftpb::Entry>> Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const override;
  absl::Status CopyEntries(uint64_t lo, uint64_t hi, uint64_t max_bytes,
                           google::protobuf::RepeatedPtrField<raftpb::Entry>* out) const override;
  absl::StatusOr<uint64_t> Term(uint64_t i) const override;
  uint64_t TermIfHeld(uint64_t i) const override {
    const uint64_t offset = entries_[0].index();
    return i >= offset && i - offset < entries_.size() ? entries_[i - offset].term() : 0;
  }
  uint64_t FirstIndex() const override { return entries_[0].index() + 1; }
  uint64_t LastIndex() const override { return entries_[0].index() + entries_.size() - 1; }
  raftpb::Snapshot Snapshot() const override { return snapshot_; }

  void SetHardState(const raftpb::HardState& hs) { hard_state_ = hs; }
  void SetConfState(const raftpb::ConfState& cs) { conf_state_ = cs; }
  // Appends entries; an entry whose index is already present replaces it and everything after it (a conflict the
  // Raft log resolved). Entries must be contiguous and must not leave a gap after LastIndex().
  void Append(const std::vector<raftpb::Entry>& entries);
  // Drops entries up to and including `index` (which must be applied); the entry at `index` becomes the dummy.
  absl::Status Compact(uint64_t index);
  // Records a snapshot of the state machine at `index` (<= LastIndex(), applied by the driver) with the
  // configuration in force there; entries stay until Compact. ErrSnapOutOfDate if not newer than the current one.
  absl::StatusOr<raftpb::Snapshot> CreateSnapshot(uint64_t index, const raftpb::ConfState& conf_state, std::string data);
  // Replaces the whole log with a snapshot received from a leader: the dummy entry becomes (index, term), every
  // entry is dropped, and the configuration is the snapshot's. ErrSnapOutOfDate if not newer than the current one.
  absl::Status ApplySnapshot(const raftpb::Snapshot& snapshot);

  // Read-only view, for checkers and tests; element 0 is the dummy entry of the compaction point.
  const std::vector<raftpb::Entry>& all_entries() const { return entries_; }

 private:
  // The entries Entries(lo, hi, max_bytes) returns, in place.
  absl::StatusOr<absl::Span<const raftpb::Entry>> Kept(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;

  raftpb::HardState hard_state_;
  raftpb::ConfState conf_state_;
  raftpb::Snapshot snapshot_;
  // entries_[0] is a dummy whose index/term are those of the last compacted entry (0/0 at the beginning).
  std::vector<raftpb::Entry> entries_;
};

// Sum of the protobuf sizes of entries, the measure Raft's byte limits use.
uint64_t EntriesSize(const std::vector<raftpb::Entry>& entries);

// Keeps the longest prefix of entries whose total size is <= max_bytes, but always at least one entry.
void LimitSize(std::vector<raftpb::Entry>* entries, uint64_t max_bytes);
// How many of the entries [first, last) fit after already_kept entries of total size *total (LimitSize's rule: the
// slice's first entry always goes), adding their size to *total: what lets a caller copy only those instead of
// copying a lagging follower's whole tail and trimming it.
// It iterates over const raftpb::Entry& (an array's pointers, a message's entries).
template <typename It>
size_t CountWithinSize(It first, It last, uint64_t max_bytes, size_t already_kept, uint64_t* total) {
  size_t keep = 0;
  for (It e = first; e != last; ++e, ++keep) {
    const uint64_t size = e->ByteSizeLong();
    if (already_kept + keep > 0 && *total + size > max_bytes) break;  // a slice's first entry goes whatever its size
    *total += size;
  }
  return keep;
}

}  // namespace detcd::raft

#endif  // DETCD_RAFT_STORAGE_H_
