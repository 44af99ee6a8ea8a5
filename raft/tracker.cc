#include "raft/tracker.h"

#include <algorithm>
#include <functional>

#include "base/check.h"

namespace detcd::raft {

void ProgressTracker::SetConfig(const std::vector<uint64_t>& voters, const std::vector<uint64_t>& learners) {
  voters_ = std::set<uint64_t>(voters.begin(), voters.end());
  learners_ = std::set<uint64_t>(learners.begin(), learners.end());
  for (uint64_t id : learners_) DETCD_CHECK_MSG(voters_.count(id) == 0, "a member cannot be voter and learner");
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (voters_.count(it->first) == 0 && learners_.count(it->first) == 0) {
      it = progress_.erase(it);
    } else {
      ++it;
    }
  }
  auto add = [&](uint64_t id, bool learner) {
    auto it = progress_.find(id);
    if (it == progress_.end()) it = progress_.emplace(id, Progress(max_inflight_)).first;
    it->second.is_learner = learner;
  };
  for (uint64_t id : voters_) add(id, false);
  for (uint64_t id : learners_) add(id, true);
}

Progress* ProgressTracker::Get(uint64_t id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

const Progress* ProgressTracker::Get(uint64_t id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

void ProgressTracker::ResetProgress(uint64_t self, uint64_t last_index, uint64_t self_match) {
  for (auto& [id, pr] : progress_) {
    const bool learner = pr.is_learner;
    pr = Progress(max_inflight_);
    pr.is_learner = learner;
    pr.next = last_index + 1;
    if (id == self) pr.match = self_match;
  }
}

uint64_t ProgressTracker::Committed() const {
  if (voters_.empty()) return 0;
  std::vector<uint64_t> matches;
  matches.reserve(voters_.size());
  for (uint64_t id : voters_) {
    const Progress* pr = Get(id);
    matches.push_back(pr == nullptr ? 0 : pr->match);
  }
  if (testing_learners_in_quorum_) {
    for (uint64_t id : learners_) {
      const Progress* pr = Get(id);
      matches.push_back(pr == nullptr ? 0 : pr->match);
    }
  }
  std::sort(matches.begin(), matches.end(), std::greater<uint64_t>());
  return matches[Quorum() - 1];
}

bool ProgressTracker::QuorumActive(uint64_t self) const {
  size_t active = 0;
  for (uint64_t id : voters_) {
    const Progress* pr = Get(id);
    if (id == self || (pr != nullptr && pr->recent_active)) ++active;
  }
  if (testing_learners_in_quorum_) {
    for (uint64_t id : learners_) {
      const Progress* pr = Get(id);
      if (pr != nullptr && pr->recent_active) ++active;
    }
  }
  return active >= Quorum();
}

void ProgressTracker::RecordVote(uint64_t id, bool granted) { votes_.emplace(id, granted); }

VoteResult ProgressTracker::TallyVotes(size_t* granted_out, size_t* rejected_out) const {
  size_t granted = 0, rejected = 0;
  for (uint64_t id : voters_) {
    auto it = votes_.find(id);
    if (it == votes_.end()) continue;
    if (it->second) {
      ++granted;
    } else {
      ++rejected;
    }
  }
  if (granted_out) *granted_out = granted;
  if (rejected_out) *rejected_out = rejected;
  if (granted >= Quorum()) return VoteResult::kWon;
  if (voters_.size() - rejected < Quorum()) return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace detcd::raft
