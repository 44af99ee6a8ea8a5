// Progress and Inflights: the leader's per-follower flow control — the inflight ring (including wrap-around), the
// Probe/Replicate transitions, acknowledgements, rejections (MaybeDecrTo) and when sending must pause.
#include "raft/progress.h"

#include "gtest/gtest.h"

namespace detcd::raft {
namespace {

TEST(InflightsTest, AddUntilFullThenFreeLE) {
  Inflights in(10);
  for (uint64_t i = 0; i < 5; ++i) in.Add(i);
  EXPECT_EQ(in.Count(), 5u);
  EXPECT_FALSE(in.Full());
  for (uint64_t i = 5; i < 10; ++i) in.Add(i);
  EXPECT_TRUE(in.Full());
  in.FreeLE(4);
  EXPECT_EQ(in.Count(), 5u);
  EXPECT_FALSE(in.Full());
  in.FreeLE(8);
  EXPECT_EQ(in.Count(), 1u);
  in.FreeLE(3);  // already freed: no change
  EXPECT_EQ(in.Count(), 1u);
  in.FreeLE(9);
  EXPECT_EQ(in.Count(), 0u);
}

// The ring wraps: after freeing the front, new entries go to the start of the buffer and are freed in order.
TEST(InflightsTest, WrapAround) {
  Inflights in(10);
  for (uint64_t i = 0; i < 5; ++i) in.Add(i);
  in.FreeLE(4);  // empty again
  for (uint64_t i = 5; i < 10; ++i) in.Add(i);
  in.FreeLE(6);                                  // 7, 8, 9 left; start is inside the buffer
  for (uint64_t i = 10; i < 17; ++i) in.Add(i);  // wraps past the end of the buffer
  EXPECT_TRUE(in.Full());
  in.FreeLE(12);
  EXPECT_EQ(in.Count(), 4u);  // 13..16
  for (uint64_t i = 17; i < 23; ++i) in.Add(i);
  EXPECT_TRUE(in.Full());
  in.FreeLE(16);
  EXPECT_EQ(in.Count(), 6u);  // 17..22
  in.FreeLE(22);
  EXPECT_EQ(in.Count(), 0u);
}

// Many rounds of partial frees keep the FIFO order at every rotation of the ring.
TEST(InflightsTest, KeepsFifoOrderOverManyRotations) {
  Inflights in(7);
  uint64_t next = 1, freed = 0;
  for (int round = 0; round < 50; ++round) {
    while (!in.Full()) in.Add(next++);
    freed += 1 + round % 5;
    in.FreeLE(freed);
    ASSERT_EQ(in.Count(), next - 1 - freed) << "round " << round;
  }
}

TEST(InflightsTest, FreeFirstOne) {
  Inflights in(10);
  for (uint64_t i = 0; i < 10; ++i) in.Add(i);
  in.FreeFirstOne();
  EXPECT_EQ(in.Count(), 9u);
  in.FreeLE(5);
  in.FreeFirstOne();
  EXPECT_EQ(in.Count(), 3u);  // 7, 8, 9
  Inflights empty(3);
  empty.FreeFirstOne();
  EXPECT_EQ(empty.Count(), 0u);
}

// Appends in flight can carry the same last index (empty appends are never added, but retries may repeat one):
// FreeFirstOne frees everything up to the first one's index.
TEST(InflightsTest, FreeFirstOneFreesEqualIndexes) {
  Inflights in(5);
  in.Add(3);
  in.Add(3);
  in.Add(4);
  in.FreeFirstOne();
  EXPECT_EQ(in.Count(), 1u);
}

TEST(InflightsTest, ResetEmpties) {
  Inflights in(3);
  for (uint64_t i = 1; i <= 3; ++i) in.Add(i);
  in.Reset();
  EXPECT_EQ(in.Count(), 0u);
  EXPECT_FALSE(in.Full());
  for (uint64_t i = 4; i <= 6; ++i) in.Add(i);
  EXPECT_TRUE(in.Full());
  in.FreeLE(5);
  EXPECT_EQ(in.Count(), 1u);
}

TEST(InflightsDeathTest, AddToFullAborts) {
  Inflights in(2);
  in.Add(1);
  in.Add(2);
  EXPECT_DEATH(in.Add(3), "full");
}

TEST(ProgressTest, BecomeProbeAndReplicateRestartAfterMatch) {
  Progress pr(4);
  pr.match = 5;
  pr.next = 9;
  pr.inflights.Add(8);
  pr.state = ProgressState::kReplicate;
  pr.BecomeProbe();
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  EXPECT_EQ(pr.next, 6u);
  EXPECT_EQ(pr.inflights.Count(), 0u);
  EXPECT_FALSE(pr.probe_sent);
  pr.probe_sent = true;
  pr.BecomeReplicate();
  EXPECT_EQ(pr.state, ProgressState::kReplicate);
  EXPECT_EQ(pr.next, 6u);
  EXPECT_FALSE(pr.probe_sent);
}

TEST(ProgressTest, MaybeUpdate) {
  struct Case {
    uint64_t index;
    bool updated;
    uint64_t match, next;
  };
  for (const Case& c : std::vector<Case>{
           {3, false, 5, 7},  // stale
           {5, false, 5, 7},  // no news
           {6, true, 6, 7},
           {7, true, 7, 8},  // next moves past the acknowledged index
           {9, true, 9, 10},
       }) {
    Progress pr(4);
    pr.match = 5;
    pr.next = 7;
    pr.probe_sent = true;
    EXPECT_EQ(pr.MaybeUpdate(c.index), c.updated) << c.index;
    EXPECT_EQ(pr.match, c.match) << c.index;
    EXPECT_EQ(pr.next, c.next) << c.index;
    EXPECT_EQ(pr.probe_sent, !c.updated) << "news unpauses the probe";
  }
}

TEST(ProgressTest, SentEntriesInReplicateIsOptimistic) {
  Progress pr(2);
  pr.BecomeReplicate();
  pr.SentEntries(5, 5);
  EXPECT_EQ(pr.next, 6u);
  EXPECT_EQ(pr.inflights.Count(), 1u);
  pr.SentEntries(5, 0);  // an empty append (e.g. carrying a commit index) takes no slot
  EXPECT_EQ(pr.inflights.Count(), 1u);
  EXPECT_FALSE(pr.IsPaused());
  pr.SentEntries(8, 3);
  EXPECT_EQ(pr.next, 9u);
  EXPECT_TRUE(pr.IsPaused()) << "window of 2 is full";
  pr.inflights.FreeLE(5);
  EXPECT_FALSE(pr.IsPaused());
}

TEST(ProgressTest, SentEntriesInProbePausesUntilAnswer) {
  Progress pr(8);
  pr.next = 4;
  pr.SentEntries(6, 3);
  EXPECT_EQ(pr.next, 4u) << "a probe does not move next";
  EXPECT_TRUE(pr.probe_sent);
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_EQ(pr.inflights.Count(), 0u);
}

TEST(ProgressTest, MaybeDecrToInReplicate) {
  struct Case {
    uint64_t rejected, hint;
    bool ok;
    uint64_t next;
  };
  for (const Case& c : std::vector<Case>{
           {5, 0, false, 10},  // at or below match: stale
           {4, 0, false, 10},
           {9, 3, true, 6},  // back to match + 1, whatever the hint
           {7, 9, true, 6},
       }) {
    Progress pr(4);
    pr.BecomeReplicate();
    pr.match = 5;
    pr.next = 10;
    EXPECT_EQ(pr.MaybeDecrTo(c.rejected, c.hint), c.ok) << c.rejected;
    EXPECT_EQ(pr.next, c.next) << c.rejected;
  }
}

TEST(ProgressTest, MaybeDecrToInProbe) {
  struct Case {
    uint64_t match, next, rejected, hint;
    bool ok;
    uint64_t want_next;
  };
  for (const Case& c : std::vector<Case>{
           {0, 5, 3, 0, false, 5},  // not the append last sent (next - 1 = 4): stale
           {0, 5, 5, 0, false, 5},
           {0, 5, 4, 3, true, 4},  // hint + 1 = 4
           {0, 5, 4, 1, true, 2},  // jump back to hint + 1
           {0, 5, 4, 9, true, 4},  // a hint past the rejected index: retry just below
           {0, 5, 4, 0, true, 1},
           {2, 5, 4, 0, true, 3},  // never below match + 1
           {0, 1, 0, 0, true, 1},
       }) {
    Progress pr(4);
    pr.match = c.match;
    pr.next = c.next;
    pr.probe_sent = true;
    EXPECT_EQ(pr.MaybeDecrTo(c.rejected, c.hint), c.ok) << c.next << "/" << c.rejected << "/" << c.hint;
    EXPECT_EQ(pr.next, c.want_next) << c.next << "/" << c.rejected << "/" << c.hint;
    EXPECT_EQ(pr.probe_sent, !c.ok) << "an answered probe unpauses";
  }
}

TEST(ProgressTest, IsPausedPerState) {
  Progress pr(1);
  EXPECT_FALSE(pr.IsPaused());
  pr.probe_sent = true;
  EXPECT_TRUE(pr.IsPaused());
  pr.BecomeReplicate();
  EXPECT_FALSE(pr.IsPaused());
  pr.inflights.Add(1);
  EXPECT_TRUE(pr.IsPaused());
  pr.state = ProgressState::kSnapshot;
  pr.inflights.Reset();
  EXPECT_TRUE(pr.IsPaused()) << "a peer receiving a snapshot gets no appends";
}

TEST(ProgressTest, ToStringShowsState) {
  Progress pr(1);
  pr.match = 3;
  pr.next = 4;
  pr.is_learner = true;
  pr.probe_sent = true;
  EXPECT_EQ(pr.ToString(), "StateProbe match=3 next=4 learner paused");
  pr.BecomeReplicate();
  pr.inflights.Add(4);
  pr.is_learner = false;
  EXPECT_EQ(pr.ToString(), "StateReplicate match=3 next=4 inflight=1[full]");
}

}  // namespace
}  // namespace detcd::raft
