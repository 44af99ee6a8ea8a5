#include "raft/storage.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::raft {

namespace {
constexpr char kCompacted[] = "requested index is unavailable due to compaction";
constexpr char kUnavailable[] = "requested entry at index is unavailable";
constexpr char kSnapOutOfDate[] = "requested index is older than the existing snapshot";
}  // namespace

absl::Status ErrCompacted() { return absl::OutOfRangeError(kCompacted); }
absl::Status ErrUnavailable() { return absl::UnavailableError(kUnavailable); }
bool IsCompacted(const absl::Status& s) { return absl::IsOutOfRange(s) && s.message() == kCompacted; }
bool IsUnavailable(const absl::Status& s) { return absl::IsUnavailable(s) && s.message() == kUnavailable; }
absl::Status ErrSnapOutOfDate() { return absl::FailedPreconditionError(kSnapOutOfDate); }
bool IsSnapOutOfDate(const absl::Status& s) {
  return absl::IsFailedPrecondition(s) && s.message() == kSnapOutOfDate;
}

uint64_t EntriesSize(const std::vector<raftpb::Entry>& entries) {
  uint64_t total = 0;
  for (const raftpb::Entry& e : entries) total += e.ByteSizeLong();
  return total;
}

void LimitSize(std::vector<raftpb::Entry>* entries, uint64_t max_bytes) {
  uint64_t total = 0;
  entries->resize(CountWithinSize(entries->data(), entries->data() + entries->size(), max_bytes, 0, &total));
}

MemoryStorage::MemoryStorage() { entries_.emplace_back(); }

absl::StatusOr<absl::Span<const raftpb::Entry>> MemoryStorage::Kept(uint64_t lo, uint64_t hi,
                                                                    uint64_t max_bytes) const {
  const uint64_t offset = entries_[0].index();
  if (lo <= offset) return ErrCompacted();
  DETCD_CHECK_MSG(hi <= LastIndex() + 1, absl::StrCat("entries hi ", hi, " beyond last ", LastIndex()).c_str());
  DETCD_CHECK(lo <= hi);
  // Only what fits is copied: a follower far behind must not cost a copy of the whole tail per message.
  const raftpb::Entry* from = entries_.data() + (lo - offset);
  uint64_t total = 0;
  return absl::Span<const raftpb::Entry>(from,
                                         CountWithinSize(from, entries_.data() + (hi - offset), max_bytes, 0, &total));
}

absl::StatusOr<std::vector<raftpb::Entry>> MemoryStorage::Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  absl::StatusOr<absl::Span<const raftpb::Entry>> kept = Kept(lo, hi, max_bytes);
  if (!kept.ok()) return kept.status();
  return std::vector<raftpb::Entry>(kept->begin(), kept->end());
}

absl::Status MemoryStorage::CopyEntries(uint64_t lo, uint64_t hi, uint64_t max_bytes,
                                        google::protobuf::RepeatedPtrField<raftpb::Entry>* out) const {
  absl::StatusOr<absl::Span<const raftpb::Entry>> kept = Kept(lo, hi, max_bytes);
  if (!kept.ok()) return kept.status();
  out->Reserve(out->size() + static_cast<int>(kept->size()));
  for (const raftpb::Entry& e : *kept) *out->Add() = e;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> MemoryStorage::Term(uint64_t i) const {
  const uint64_t offset = entries_[0].index();
  if (i < offset) return ErrCompacted();
  if (i - offset >= entries_.size()) return ErrUnavailable();
  return entries_[i - offset].term();
}

void MemoryStorage::Append(const std::vector<raftpb::Entry>& entries) {
  if (entries.empty()) return;
  const uint64_t first = FirstIndex();
  const uint64_t last = entries.back().index();
  if (last < first) return;  // everything given is already compacted
  size_t skip = 0;
  if (entries[0].index() < first) skip = first - entries[0].index();
  const uint64_t start = entries[skip].index();
  DETCD_CHECK_MSG(start <= LastIndex() + 1,
                  absl::StrCat("missing log entries: last ", LastIndex(), ", appending at ", start).c_str());
  entries_.resize(start - entries_[0].index());
  for (size_t i = skip; i < entries.size(); ++i) {
    DETCD_CHECK(entries[i].index() == start + (i - skip));
    entries_.push_back(entries[i]);
  }
}

absl::Status MemoryStorage::Compact(uint64_t index) {
  const uint64_t offset = entries_[0].index();
  if (index <= offset) return ErrCompacted();
  DETCD_CHECK_MSG(index <= LastIndex(), absl::StrCat("compact ", index, " beyond last ", LastIndex()).c_str());
  raftpb::Entry dummy;
  dummy.set_index(entries_[index - offset].index());
  dummy.set_term(entries_[index - offset].term());
  std::vector<raftpb::Entry> rest;
  rest.reserve(entries_.size() - (index - offset));
  rest.push_back(std::move(dummy));
  for (size_t i = index - offset + 1; i < entries_.size(); ++i) rest.push_back(std::move(entries_[i]));
  entries_ = std::move(rest);
  return absl::OkStatus();
}

absl::StatusOr<raftpb::Snapshot> MemoryStorage::CreateSnapshot(uint64_t index, const raftpb::ConfState& conf_state,
                                                               std::string data) {
  if (index <= snapshot_.metadata().index()) return ErrSnapOutOfDate();
  const uint64_t offset = entries_[0].index();
  if (index < offset) return ErrCompacted();
  DETCD_CHECK_MSG(index <= LastIndex(), absl::StrCat("snapshot ", index, " beyond last ", LastIndex()).c_str());
  raftpb::Snapshot snap;
  snap.set_data(std::move(data));
  snap.mutable_metadata()->set_index(index);
  snap.mutable_metadata()->set_term(entries_[index - offset].term());
  *snap.mutable_metadata()->mutable_conf_state() = conf_state;
  snapshot_ = snap;
  return snap;
}

absl::Status MemoryStorage::ApplySnapshot(const raftpb::Snapshot& snapshot) {
  if (snapshot.metadata().index() <= snapshot_.metadata().index()) return ErrSnapOutOfDate();
  snapshot_ = snapshot;
  raftpb::Entry dummy;
  dummy.set_index(snapshot.metadata().index());
  dummy.set_term(snapshot.metadata().term());
  entries_.assign(1, dummy);
  conf_state_ = snapshot.metadata().conf_state();
  return absl::OkStatus();
}

}  // namespace detcd::raft
