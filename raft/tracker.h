// ProgressTracker: the cluster configuration (voters and learners) as a leader or candidate sees it, each member's
// Progress, and the quorum arithmetic: the commit index a majority has reached, the outcome of a vote, whether a
// quorum was recently active. It holds no log and sends nothing. Members are kept in ordered maps so that iteration
// order, and with it the order of messages, is the same on every run.
#ifndef DETCD_RAFT_TRACKER_H_
#define DETCD_RAFT_TRACKER_H_

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "raft/progress.h"

namespace detcd::raft {

enum class VoteResult { kPending, kWon, kLost };

class ProgressTracker {
 public:
  explicit ProgressTracker(size_t max_inflight) : max_inflight_(max_inflight) {}

  void SetConfig(const std::vector<uint64_t>& voters, const std::vector<uint64_t>& learners);
  const std::set<uint64_t>& voters() const { return voters_; }
  const std::set<uint64_t>& learners() const { return learners_; }
  bool IsVoter(uint64_t id) const { return voters_.count(id) > 0; }
  bool IsMember(uint64_t id) const { return progress_.count(id) > 0; }
  size_t Quorum() const { return voters_.size() / 2 + 1; }
  // Test-only breakage (raft::TestingKnobs::learners_in_quorum): Committed and QuorumActive count learners' matches
  // and activity toward the voters' quorum.
  void set_testing_learners_in_quorum(bool on) { testing_learners_in_quorum_ = on; }

  // nullptr if id is not a member.
  Progress* Get(uint64_t id);
  const Progress* Get(uint64_t id) const;
  std::map<uint64_t, Progress>& progress() { return progress_; }
  const std::map<uint64_t, Progress>& progress() const { return progress_; }

  // Resets every member's progress as a new leader does: match 0, next last_index + 1; self's match is what it
  // holds durably (self_match), since a leader counts only entries it has persisted itself.
  void ResetProgress(uint64_t self, uint64_t last_index, uint64_t self_match);

  // The highest index that a majority of voters have durable (the quorum's "median" match).
  uint64_t Committed() const;
  // True if a quorum of voters (counting self) were recently active.
  bool QuorumActive(uint64_t self) const;

  void ResetVotes() { votes_.clear(); }
  // Records id's answer (the first answer of each voter counts).
  void RecordVote(uint64_t id, bool granted);
  VoteResult TallyVotes(size_t* granted = nullptr, size_t* rejected = nullptr) const;

 private:
  size_t max_inflight_;
  bool testing_learners_in_quorum_ = false;
  std::set<uint64_t> voters_;
  std::set<uint64_t> learners_;
  std::map<uint64_t, Progress> progress_;
  std::map<uint64_t, bool> votes_;
};

}  // namespace detcd::raft

#endif  // DETCD_RAFT_TRACKER_H_
