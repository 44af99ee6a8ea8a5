// NodeInvariants on views made by hand: each invariant trips on the state that breaks it and stays quiet on the
// legal steps next to it (a snapshot's jump, an election, a vote in a new term, a leader's commit of its own term).
#include "raft/invariants.h"

#include "gtest/gtest.h"

namespace detcd::raft {
namespace {

NodeView Follower(uint64_t term, uint64_t committed, uint64_t last) {
  NodeView v;
  v.id = 1;
  v.term = term;
  v.committed = committed;
  v.applied = committed;
  v.last_index = last;
  v.committed_term = committed == 0 ? 0 : term;
  return v;
}

NodeView Leader(uint64_t term, uint64_t committed, uint64_t last, uint64_t quorum_match) {
  NodeView v = Follower(term, committed, last);
  v.state = StateType::kLeader;
  v.vote = v.lead = v.id;
  v.quorum_match = quorum_match;
  return v;
}

// The message of the second check, after `before`.
std::string After(const NodeView& before, const NodeView& after) {
  NodeInvariants inv;
  EXPECT_EQ(inv.Check(before), "");
  return inv.Check(after);
}

bool Says(const std::string& broken, const std::string& part) { return broken.find(part) != std::string::npos; }

TEST(NodeInvariantsTest, TermAndVote) {
  NodeView voted = Follower(3, 0, 0);
  voted.vote = 2;
  NodeView other = voted;
  other.vote = 3;
  EXPECT_TRUE(Says(After(voted, other), "the vote changed from 2 to 3 within the term"));
  NodeView next_term = other;
  next_term.term = 4;
  EXPECT_EQ(After(voted, next_term), "");  // a new term, a new vote
  EXPECT_TRUE(Says(After(next_term, voted), "the term went back from 4"));
}

TEST(NodeInvariantsTest, CommitAndApplied) {
  EXPECT_TRUE(Says(After(Follower(2, 5, 9), Follower(2, 4, 9)), "commit went back from 5 to 4"));
  NodeView ahead = Follower(2, 5, 9);
  ahead.applied = 6;
  NodeInvariants inv;
  EXPECT_TRUE(Says(inv.Check(ahead), "applied 6 is beyond commit 5"));
  EXPECT_TRUE(Says(NodeInvariants().Check(Follower(2, 10, 9)), "commit 10 is beyond the last index 9"));
  NodeView jumped = Follower(2, 50, 50);  // a snapshot installed: commit jumps, the old entries are gone
  jumped.first_index = 51;
  EXPECT_EQ(After(Follower(2, 5, 9), jumped), "");
}

TEST(NodeInvariantsTest, TheCommittedEntryKeepsItsTerm) {
  // Checked at the previous commit index, which the view knows when it is its own commit point.
  NodeView before = Follower(3, 7, 9);
  before.committed_term = 2;
  NodeView rewritten = before;
  rewritten.committed_term = 3;
  EXPECT_TRUE(Says(After(before, rewritten), "committed entry 7 changed its term from 2 to 3"));
}

TEST(NodeInvariantsTest, ALeaderVotedForItselfAndCommitsItsOwnTermWithAQuorum) {
  NodeView bad = Leader(4, 0, 0, 0);
  bad.vote = 2;
  EXPECT_TRUE(Says(NodeInvariants().Check(bad), "a leader that voted for 2"));
  // Elected with commit 5 from term 3 (more than the fresh tracker's quorum index): legal.
  NodeView candidate = Follower(4, 5, 6);
  candidate.committed_term = 3;
  candidate.vote = 1;
  NodeView elected = Leader(4, 5, 6, 0);
  elected.committed_term = 3;
  EXPECT_EQ(After(candidate, elected), "");
  // Committing index 6 of term 4 once a quorum matched it: legal; of term 3 (figure 8): not.
  NodeView own = Leader(4, 6, 6, 6);
  EXPECT_EQ(After(elected, own), "");
  NodeView earlier = own;
  earlier.committed_term = 3;
  EXPECT_TRUE(Says(After(elected, earlier), "an entry of an earlier term (3)"));
  NodeView unmatched = Leader(4, 6, 6, 5);
  EXPECT_TRUE(Says(After(elected, unmatched), "a quorum matched only 5"));
}

}  // namespace
}  // namespace detcd::raft
