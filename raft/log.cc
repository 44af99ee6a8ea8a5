#include "raft/log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::raft {

RaftLog::RaftLog(const Storage* storage, uint64_t max_committed_bytes_per_ready)
    : storage_(storage), max_committed_bytes_per_ready_(max_committed_bytes_per_ready) {
  DETCD_CHECK(storage_ != nullptr);
  unstable_offset_ = storage_->LastIndex() + 1;
  // Everything before the first retained entry was applied before it was compacted.
  committed_ = storage_->FirstIndex() - 1;
  applied_ = storage_->FirstIndex() - 1;
}

uint64_t RaftLog::FirstIndex() const {
  if (pending_snapshot_) return pending_snapshot_->metadata().index() + 1;
  return storage_->FirstIndex();
}

uint64_t RaftLog::LastIndex() const {
  if (!unstable_.empty()) return unstable_.back().index();
  return unstable_offset_ - 1;
}

uint64_t RaftLog::LastTerm() const { return Term(LastIndex()); }

const raftpb::Entry* RaftLog::UnstableAt(uint64_t i) const {
  if (i < unstable_offset_ || i - unstable_offset_ >= unstable_.size()) return nullptr;
  return &unstable_[i - unstable_offset_];
}

uint64_t RaftLog::Term(uint64_t i) const {
  if (const raftpb::Entry* e = UnstableAt(i)) return e->term();
  if (i >= unstable_offset_) return 0;  // beyond the last entry
  if (pending_snapshot_) {
    // Storage still holds the old log, which the snapshot replaced: only the snapshot's own point is known.
    return i == pending_snapshot_->metadata().index() ? pending_snapshot_->metadata().term() : 0;
  }
  return storage_->TermIfHeld(i);
}

template <typename Entries>
uint64_t RaftLog::FindConflict(const Entries& entries) const {
  for (const raftpb::Entry& e : entries) {
    if (!MatchTerm(e.index(), e.term())) return e.index();
  }
  return 0;
}

template uint64_t RaftLog::FindConflict(const std::vector<raftpb::Entry>&) const;
template uint64_t RaftLog::FindConflict(const google::protobuf::RepeatedPtrField<raftpb::Entry>&) const;

uint64_t RaftLog::FindConflictByTerm(uint64_t index, uint64_t term) const {
  index = std::min(index, LastIndex());
  for (; index > 0; --index) {
    if (index < FirstIndex() - 1) return index;  // unknown below the compaction point; stop there
    if (Term(index) <= term) return index;
  }
  return 0;
}

template <typename Entries>
std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t prev_index, uint64_t prev_term, uint64_t leader_commit,
                                             const Entries& entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  return AppendMatched(prev_index, leader_commit, entries, FindConflict(entries));
}

template <typename Entries>
uint64_t RaftLog::AppendMatched(uint64_t prev_index, uint64_t leader_commit, const Entries& entries,
                                uint64_t conflict) {
  const uint64_t last_new = prev_index + static_cast<uint64_t>(entries.size());
  if (conflict != 0) {
    DETCD_CHECK_MSG(conflict > committed_,
                    absl::StrCat("entry ", conflict, " conflicts with committed entry (commit ", committed_, ")").c_str());
    DETCD_CHECK(conflict > prev_index && conflict <= last_new);
    Append(std::vector<raftpb::Entry>(entries.begin() + static_cast<long>(conflict - (prev_index + 1)), entries.end()));
  }
  CommitTo(std::min(leader_commit, last_new));
  return last_new;
}

template std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t, uint64_t, uint64_t, const std::vector<raftpb::Entry>&);
template std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t, uint64_t, uint64_t,
                                                      const google::protobuf::RepeatedPtrField<raftpb::Entry>&);
template uint64_t RaftLog::AppendMatched(uint64_t, uint64_t, const google::protobuf::RepeatedPtrField<raftpb::Entry>&,
                                         uint64_t);

std::optional<uint64_t> RaftLog::MaybeAppendTruncatingTail(uint64_t prev_index, uint64_t prev_term,
                                                           uint64_t leader_commit,
                                                           const std::vector<raftpb::Entry>& entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  const uint64_t last_new = prev_index + entries.size();
  // The bug: rewrite the log from the first given entry on, cutting the tail after them even when nothing conflicts.
  // Committed entries are left alone so that the log's own assertions do not stop the run before a checker sees it.
  if (!entries.empty() && entries[0].index() > committed_ && last_new < LastIndex()) {
    TruncateAndAppend(entries);
    CommitTo(std::min(leader_commit, last_new));
    return last_new;
  }
  return MaybeAppend(prev_index, prev_term, leader_commit, entries);
}

uint64_t RaftLog::Append(std::vector<raftpb::Entry> entries) {
  if (entries.empty()) return LastIndex();
  DETCD_CHECK_MSG(entries[0].index() > committed_,
                  absl::StrCat("append at ", entries[0].index(), " would overwrite commit ", committed_).c_str());
  TruncateAndAppend(std::move(entries));
  return LastIndex();
}

void RaftLog::TruncateAndAppend(std::vector<raftpb::Entry> entries) {
  const uint64_t after = entries[0].index();
  DETCD_CHECK_MSG(after <= LastIndex() + 1, absl::StrCat("gap: append at ", after, ", last ", LastIndex()).c_str());
  if (after == unstable_offset_ + unstable_.size()) {
    // The common case: the entries follow on directly.
  } else if (after <= unstable_offset_) {
    // Replacing part of the durable log: the new tail starts at `after`, and the driver will overwrite storage.
    unstable_offset_ = after;
    unstable_.clear();
  } else {
    unstable_.resize(after - unstable_offset_);
  }
  for (raftpb::Entry& e : entries) {
    DETCD_CHECK(e.index() == unstable_offset_ + unstable_.size());
    unstable_.push_back(std::move(e));
  }
}

namespace {

// The stored part of a slice, into an empty `out`.
absl::Status Stored(const Storage& storage, uint64_t lo, uint64_t hi, uint64_t max_bytes,
                    std::vector<raftpb::Entry>* out) {
  absl::StatusOr<std::vector<raftpb::Entry>> stored = storage.Entries(lo, hi, max_bytes);
  if (!stored.ok()) return stored.status();
  *out = std::move(*stored);
  return absl::OkStatus();
}
absl::Status Stored(const Storage& storage, uint64_t lo, uint64_t hi, uint64_t max_bytes,
                    google::protobuf::RepeatedPtrField<raftpb::Entry>* out) {
  return storage.CopyEntries(lo, hi, max_bytes, out);
}

void AddCopies(const raftpb::Entry* first, size_t n, std::vector<raftpb::Entry>* out) {
  out->insert(out->end(), first, first + n);
}
void AddCopies(const raftpb::Entry* first, size_t n, google::protobuf::RepeatedPtrField<raftpb::Entry>* out) {
  out->Reserve(out->size() + static_cast<int>(n));
  for (const raftpb::Entry* e = first; e != first + n; ++e) *out->Add() = *e;
}

}  // namespace

template <typename Out>
void RaftLog::SliceInto(uint64_t lo, uint64_t hi, uint64_t max_bytes, Out* out) const {
  DETCD_CHECK(out->empty());
  if (lo >= hi) return;
  DETCD_CHECK_MSG(lo >= FirstIndex() && hi <= LastIndex() + 1,
                  absl::StrCat("slice [", lo, ",", hi, ") out of [", FirstIndex(), ",", LastIndex(), "]").c_str());
  // LimitSize's rule over the whole slice, copying only what is kept (a follower far behind must not cost a copy of
  // the whole tail per message). Storage applies it to the stored prefix itself (its Entries contract).
  if (lo < unstable_offset_) {
    const absl::Status stored = Stored(*storage_, lo, std::min(hi, unstable_offset_), max_bytes, out);
    DETCD_CHECK_MSG(stored.ok(), stored.ToString().c_str());
    // Storage limited by size: don't go on into the unstable tail.
    if (static_cast<uint64_t>(out->size()) < std::min(hi, unstable_offset_) - lo) return;
  }
  if (hi > unstable_offset_) {
    // The limit runs on from the stored prefix's size into the unstable tail (sized only when the slice crosses).
    uint64_t total = 0;
    const size_t stored = static_cast<size_t>(out->size());
    DETCD_CHECK_MSG(CountWithinSize(out->begin(), out->end(), max_bytes, 0, &total) == stored,
                    "storage returned entries beyond its size limit");
    const uint64_t from = std::max(lo, unstable_offset_);
    const raftpb::Entry* first = UnstableAt(from);
    DETCD_CHECK(first != nullptr && hi - 1 <= LastIndex());
    AddCopies(first, CountWithinSize(first, first + (hi - from), max_bytes, stored, &total), out);
  }
}

std::vector<raftpb::Entry> RaftLog::Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  std::vector<raftpb::Entry> out;
  SliceInto(lo, hi, max_bytes, &out);
  return out;
}

void RaftLog::CopyEntriesFrom(uint64_t i, uint64_t max_bytes,
                              google::protobuf::RepeatedPtrField<raftpb::Entry>* out) const {
  SliceInto(i, LastIndex() + 1, max_bytes, out);
}

void RaftLog::Restore(const raftpb::Snapshot& snapshot) {
  const uint64_t index = snapshot.metadata().index();
  DETCD_CHECK_MSG(index > committed_,
                  absl::StrCat("restore of snapshot ", index, " at or before commit ", committed_).c_str());
  pending_snapshot_ = snapshot;
  unstable_.clear();
  unstable_offset_ = index + 1;
  committed_ = index;
}

void RaftLog::StableSnapTo(uint64_t index) {
  if (pending_snapshot_ && pending_snapshot_->metadata().index() == index) pending_snapshot_.reset();
}

bool RaftLog::HasNextCommittedEntries() const {
  if (pending_snapshot_) return false;  // the snapshot is applied first
  return std::min(committed_, StableLastIndex()) > applied_;
}

std::vector<raftpb::Entry> RaftLog::NextCommittedEntries() const {
  if (pending_snapshot_) return {};
  const uint64_t hi = std::min(committed_, StableLastIndex());
  if (hi <= applied_) return {};
  return Slice(applied_ + 1, hi + 1, max_committed_bytes_per_ready_);
}

void RaftLog::StableTo(uint64_t index, uint64_t term) {
  const raftpb::Entry* e = UnstableAt(index);
  if (e == nullptr || e->term() != term) return;  // replaced meanwhile; the new entries come in a later Ready
  const size_t n = index - unstable_offset_ + 1;
  unstable_.erase(unstable_.begin(), unstable_.begin() + n);
  unstable_offset_ = index + 1;
}

void RaftLog::AppliedTo(uint64_t index) {
  if (index == 0) return;
  DETCD_CHECK_MSG(index <= committed_ && index >= applied_,
                  absl::StrCat("applied ", index, " outside [", applied_, ",", committed_, "]").c_str());
  applied_ = index;
}

void RaftLog::CommitTo(uint64_t index) {
  if (index <= committed_) return;  // commit never decreases
  DETCD_CHECK_MSG(index <= LastIndex(),
                  absl::StrCat("commit ", index, " beyond last index ", LastIndex(), ": log corrupt or truncated")
                      .c_str());
  committed_ = index;
}

bool RaftLog::MaybeCommit(uint64_t max_index, uint64_t term) {
  if (max_index > committed_ && Term(max_index) == term) {
    CommitTo(max_index);
    return true;
  }
  return false;
}

}  // namespace detcd::raft
