// ProgressTracker: the quorum arithmetic — the commit index a majority of voters holds, vote tallies, quorum
// activity — and how configuration changes keep or drop members' progress. Learners never count.
#include "raft/tracker.h"

#include "gtest/gtest.h"

namespace detcd::raft {
namespace {

ProgressTracker WithMatches(const std::vector<uint64_t>& matches, const std::vector<uint64_t>& learner_matches = {}) {
  ProgressTracker t(8);
  std::vector<uint64_t> voters, learners;
  for (size_t i = 0; i < matches.size(); ++i) voters.push_back(i + 1);
  for (size_t i = 0; i < learner_matches.size(); ++i) learners.push_back(100 + i);
  t.SetConfig(voters, learners);
  for (size_t i = 0; i < matches.size(); ++i) t.Get(i + 1)->match = matches[i];
  for (size_t i = 0; i < learner_matches.size(); ++i) t.Get(100 + i)->match = learner_matches[i];
  return t;
}

TEST(TrackerTest, CommittedIsQuorumIndex) {
  struct Case {
    std::vector<uint64_t> matches;
    uint64_t want;
  };
  const std::vector<Case> cases = {
      {{0}, 0},
      {{7}, 7},
      {{5, 0}, 0},
      {{5, 4}, 4},
      {{5, 4, 0}, 4},
      {{1, 9, 5}, 5},
      {{2, 2, 2}, 2},
      {{9, 0, 0, 8}, 0},
      {{9, 3, 0, 8}, 3},
      {{1, 2, 3, 4}, 2},
      {{1, 2, 3, 4, 5}, 3},
      {{5, 5, 0, 0, 0}, 0},
      {{6, 1, 6, 1, 6}, 6},
      {{10, 9, 8, 7, 6, 5}, 7},
      {{0, 0, 0, 9, 9, 9}, 0},
      {{1, 2, 3, 4, 5, 6, 7}, 4},
      {{7, 7, 7, 0, 0, 0, 0}, 0},
      {{7, 7, 7, 7, 0, 0, 0}, 7},
  };
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(WithMatches(cases[i].matches).Committed(), cases[i].want) << i;
}

TEST(TrackerTest, CommittedIgnoresLearners) {
  EXPECT_EQ(WithMatches({5, 0, 0}, {5, 5, 5}).Committed(), 0u);
  EXPECT_EQ(WithMatches({5, 3, 0}, {9}).Committed(), 3u);
}

// The broken tracker the simulator must catch (TestingKnobs::learners_in_quorum): a leader with two learners' acks
// commits although no other voter has the entry, and counts their activity as a quorum's.
TEST(TrackerTest, TestingLearnersInQuorumCountsThem) {
  ProgressTracker t = WithMatches({5, 0, 0}, {5, 5});
  t.set_testing_learners_in_quorum(true);
  EXPECT_EQ(t.Committed(), 5u);
  t.Get(100)->recent_active = true;
  EXPECT_TRUE(t.QuorumActive(1));
  t.set_testing_learners_in_quorum(false);
  EXPECT_EQ(t.Committed(), 0u);
  EXPECT_FALSE(t.QuorumActive(1));
}

TEST(TrackerTest, QuorumSizes) {
  for (const auto& [n, q] :
       std::vector<std::pair<size_t, size_t>>{{1, 1}, {2, 2}, {3, 2}, {4, 3}, {5, 3}, {6, 4}, {7, 4}}) {
    EXPECT_EQ(WithMatches(std::vector<uint64_t>(n, 0)).Quorum(), q) << n;
  }
}

TEST(TrackerTest, TallyVotes) {
  struct Case {
    int voters;
    std::vector<std::pair<uint64_t, bool>> votes;
    VoteResult want;
  };
  const std::vector<Case> cases = {
      {1, {}, VoteResult::kPending},
      {1, {{1, true}}, VoteResult::kWon},
      {1, {{1, false}}, VoteResult::kLost},
      {3, {{1, true}}, VoteResult::kPending},
      {3, {{1, true}, {2, true}}, VoteResult::kWon},
      {3, {{1, true}, {2, false}}, VoteResult::kPending},
      {3, {{1, true}, {2, false}, {3, false}}, VoteResult::kLost},
      {4, {{1, true}, {2, true}}, VoteResult::kPending},
      {4, {{1, true}, {2, false}, {3, false}}, VoteResult::kLost},
      {4, {{1, true}, {2, true}, {3, true}}, VoteResult::kWon},
      {5, {{1, true}, {2, false}, {3, false}}, VoteResult::kPending},
      {5, {{1, true}, {2, false}, {3, false}, {4, false}}, VoteResult::kLost},
      {5, {{1, true}, {4, true}, {5, true}}, VoteResult::kWon},
      // The first answer of a voter counts; a later change of mind does not.
      {3, {{1, true}, {2, false}, {2, true}}, VoteResult::kPending},
      {3, {{1, true}, {2, true}, {2, false}, {3, false}}, VoteResult::kWon},
      // Answers from non-voters (learners or strangers) are not counted.
      {3, {{1, true}, {100, true}, {9, true}}, VoteResult::kPending},
      {3, {{1, false}, {100, false}, {2, false}}, VoteResult::kLost},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    ProgressTracker t = WithMatches(std::vector<uint64_t>(cases[i].voters, 0), {0});
    for (const auto& [id, granted] : cases[i].votes) t.RecordVote(id, granted);
    EXPECT_EQ(t.TallyVotes(), cases[i].want) << "case " << i;
  }
}

TEST(TrackerTest, TallyVotesCountsAndResets) {
  ProgressTracker t = WithMatches({0, 0, 0, 0, 0});
  t.RecordVote(1, true);
  t.RecordVote(2, false);
  t.RecordVote(3, true);
  size_t granted = 0, rejected = 0;
  EXPECT_EQ(t.TallyVotes(&granted, &rejected), VoteResult::kPending);
  EXPECT_EQ(granted, 2u);
  EXPECT_EQ(rejected, 1u);
  t.ResetVotes();
  t.TallyVotes(&granted, &rejected);
  EXPECT_EQ(granted, 0u);
  EXPECT_EQ(rejected, 0u);
}

TEST(TrackerTest, QuorumActive) {
  ProgressTracker t = WithMatches({0, 0, 0, 0, 0}, {0});
  EXPECT_FALSE(t.QuorumActive(1)) << "self alone is 1 of 5";
  t.Get(2)->recent_active = true;
  EXPECT_FALSE(t.QuorumActive(1));
  t.Get(100)->recent_active = true;
  EXPECT_FALSE(t.QuorumActive(1)) << "an active learner does not help";
  t.Get(5)->recent_active = true;
  EXPECT_TRUE(t.QuorumActive(1));
  t.Get(1)->recent_active = false;
  EXPECT_TRUE(t.QuorumActive(1)) << "self always counts as active";
  EXPECT_TRUE(t.QuorumActive(3)) << "viewed from 3: 2, 5 and self";
  t.Get(5)->recent_active = false;
  EXPECT_FALSE(t.QuorumActive(1));
}

TEST(TrackerTest, SetConfigKeepsRetainedProgressAndDropsOthers) {
  ProgressTracker t(8);
  t.SetConfig({1, 2, 3}, {4});
  t.Get(2)->match = 7;
  t.Get(4)->match = 3;
  t.SetConfig({1, 2, 4}, {5});
  EXPECT_EQ(t.Get(3), nullptr);
  ASSERT_NE(t.Get(2), nullptr);
  EXPECT_EQ(t.Get(2)->match, 7u);
  ASSERT_NE(t.Get(4), nullptr);
  EXPECT_EQ(t.Get(4)->match, 3u);
  EXPECT_FALSE(t.Get(4)->is_learner) << "promoted to voter";
  EXPECT_TRUE(t.Get(5)->is_learner);
  EXPECT_TRUE(t.IsVoter(4));
  EXPECT_FALSE(t.IsVoter(5));
  EXPECT_TRUE(t.IsMember(5));
  EXPECT_FALSE(t.IsMember(3));
}

TEST(TrackerTest, ResetProgressAsANewLeader) {
  ProgressTracker t = WithMatches({4, 9, 2}, {6});
  t.Get(2)->recent_active = true;
  t.ResetProgress(1, 10, 8);
  for (uint64_t id : {1, 2, 3, 100}) {
    EXPECT_EQ(t.Get(id)->next, 11u) << id;
    EXPECT_EQ(t.Get(id)->state, ProgressState::kProbe) << id;
    EXPECT_FALSE(t.Get(id)->recent_active) << id;
  }
  EXPECT_EQ(t.Get(1)->match, 8u) << "self: only what is durable";
  EXPECT_EQ(t.Get(2)->match, 0u);
  EXPECT_TRUE(t.Get(100)->is_learner);
}

TEST(TrackerDeathTest, MemberCannotBeVoterAndLearner) {
  ProgressTracker t(8);
  EXPECT_DEATH(t.SetConfig({1, 2}, {2}), "voter and learner");
}

}  // namespace
}  // namespace detcd::raft
