#include "raft/progress.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::raft {

void Inflights::Add(uint64_t last_index) {
  DETCD_CHECK_MSG(!Full(), "cannot add to a full inflights window");
  size_t slot = start_ + count_;
  if (slot >= capacity_) slot -= capacity_;
  if (slot >= buffer_.size()) buffer_.resize(std::min(capacity_, std::max<size_t>(slot + 1, buffer_.size() * 2)));
  buffer_[slot] = last_index;
  ++count_;
}

void Inflights::FreeLE(uint64_t index) {
  while (count_ > 0 && buffer_[start_] <= index) {
    ++start_;
    if (start_ >= capacity_) start_ -= capacity_;
    --count_;
  }
  if (count_ == 0) start_ = 0;
}

void Inflights::FreeFirstOne() {
  if (count_ > 0) FreeLE(buffer_[start_]);
}

const char* ProgressStateName(ProgressState s) {
  switch (s) {
    case ProgressState::kProbe:
      return "StateProbe";
    case ProgressState::kReplicate:
      return "StateReplicate";
    case ProgressState::kSnapshot:
      return "StateSnapshot";
  }
  return "?";
}

void Progress::BecomeProbe() {
  // Leaving Snapshot state after the snapshot went out: the follower will hold it, so probe right after it.
  const uint64_t after = state == ProgressState::kSnapshot ? std::max(match, pending_snapshot) : match;
  state = ProgressState::kProbe;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.Reset();
  next = after + 1;
}

void Progress::BecomeReplicate() {
  state = ProgressState::kReplicate;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.Reset();
  next = match + 1;
}

void Progress::BecomeSnapshot(uint64_t snapshot_index) {
  state = ProgressState::kSnapshot;
  probe_sent = false;
  pending_snapshot = snapshot_index;
  inflights.Reset();
}

bool Progress::MaybeUpdate(uint64_t index) {
  bool updated = false;
  if (match < index) {
    match = index;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, index + 1);
  return updated;
}

void Progress::SentEntries(uint64_t last_index, size_t count) {
  switch (state) {
    case ProgressState::kReplicate:
      if (count > 0) {
        next = last_index + 1;
        inflights.Add(last_index);
      }
      break;
    case ProgressState::kProbe:
      probe_sent = true;
      break;
    case ProgressState::kSnapshot:
      DETCD_CHECK_MSG(false, "sending entries to a peer that is receiving a snapshot");
  }
}

bool Progress::MaybeDecrTo(uint64_t rejected, uint64_t match_hint) {
  // A rejection while a snapshot is on its way answers an append sent before it: stale.
  if (state == ProgressState::kSnapshot) return false;
  if (state == ProgressState::kReplicate) {
    // Only a rejection of something at or after what we know matches is news; then fall back to match + 1.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // Probe: only the rejection of the append we last sent counts.
  if (next - 1 != rejected) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.Full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

std::string Progress::ToString() const {
  std::string s = absl::StrCat(ProgressStateName(state), " match=", match, " next=", next);
  if (is_learner) absl::StrAppend(&s, " learner");
  if (probe_sent) absl::StrAppend(&s, " paused");
  if (state == ProgressState::kSnapshot) absl::StrAppend(&s, " pendingSnap=", pending_snapshot);
  if (inflights.Count() > 0) absl::StrAppend(&s, " inflight=", inflights.Count());
  if (inflights.Full()) absl::StrAppend(&s, "[full]");
  return s;
}

}  // namespace detcd::raft
