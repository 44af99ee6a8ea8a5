// etcd's corruption judgements: the initial check refuses only for a peer with the same compaction revision and
// another hash (unreachable, slow or compacted peers are only warned about); the leader's periodic check alarms its
// own id when its hash changed under the same revision, and a follower's for a revision or compaction ahead of the
// leader's or a different hash at the same compaction — the first such member only.
#include "kv/corruption_check.h"

#include "gtest/gtest.h"
#include "kv/mvcc_store.h"

namespace detcd::kv {
namespace {

PeerHashKV Peer(uint64_t id, uint32_t hash, int64_t rev, int64_t crev) {
  PeerHashKV p;
  p.member_id = id;
  p.answer = HashKVAnswer{hash, rev, crev};
  return p;
}

PeerHashKV Failed(uint64_t id, absl::Status error) {
  PeerHashKV p;
  p.member_id = id;
  p.error = std::move(error);
  return p;
}

TEST(CorruptionCheckTest, InitialCheckRefusesOnlyADifferentHashAtTheSameCompaction) {
  const HashKVAnswer local{111, 50, 10};
  CorruptionVerdict ok = JudgeInitialHashes(1, local, {Peer(2, 111, 60, 10), Peer(3, 111, 50, 10)});
  EXPECT_FALSE(ok.inconsistent);
  ASSERT_FALSE(ok.log.empty());
  EXPECT_EQ(ok.log.back(), "1 initial corruption checking passed; no corruption");

  CorruptionVerdict bad = JudgeInitialHashes(0xab, local, {Peer(2, 111, 50, 10), Peer(3, 222, 50, 10)});
  EXPECT_TRUE(bad.inconsistent);
  ASSERT_EQ(bad.log.size(), 1u);
  EXPECT_NE(bad.log[0].find("found different hash values from remote peer"), std::string::npos) << bad.log[0];
  EXPECT_EQ(InconsistentWithPeers(0xab).message(), "ab found data inconsistency with peers");

  // Another compaction revision: the hashes cannot be compared (etcd warns and starts).
  CorruptionVerdict compacted = JudgeInitialHashes(1, local, {Peer(2, 222, 50, 20)});
  EXPECT_FALSE(compacted.inconsistent);
  EXPECT_NE(compacted.log[0].find("found different compact revision values"), std::string::npos);
}

TEST(CorruptionCheckTest, InitialCheckOnlyWarnsAboutPeersThatCannotAnswer) {
  const HashKVAnswer local{111, 50, 10};
  CorruptionVerdict v = JudgeInitialHashes(
      1, local,
      {Failed(2, ErrFutureRev()), Failed(3, ErrCompacted()), Failed(4, absl::UnavailableError("connection refused"))});
  EXPECT_FALSE(v.inconsistent);
  ASSERT_EQ(v.log.size(), 4u);
  EXPECT_EQ(v.log[0], "cannot fetch hash from slow remote peer 2");
  EXPECT_EQ(v.log[1], "cannot fetch hash from remote peer 3; local member is behind");
  EXPECT_EQ(v.log[2], "cannot fetch hash from remote peer 4: connection refused");
}

TEST(CorruptionCheckTest, LeaderAlarmsItselfWhenItsHashChangedUnderTheSameRevision) {
  const HashKVAnswer before{111, 50, 10};
  EXPECT_EQ(JudgeLeaderHashes(1, before, before, {}).alarm_member, 0u);
  EXPECT_EQ(JudgeLeaderHashes(1, before, HashKVAnswer{999, 50, 10}, {}).alarm_member, 1u);
  // A write between the two hashes moves the revision: no evidence.
  EXPECT_EQ(JudgeLeaderHashes(1, before, HashKVAnswer{999, 51, 10}, {}).alarm_member, 0u);
}

TEST(CorruptionCheckTest, LeaderAlarmsTheFirstFollowerOutOfLine) {
  const HashKVAnswer before{111, 50, 10};
  const HashKVAnswer after{111, 55, 10};
  // Behind the leader, same hash at the leader's revision: fine; an unreachable follower: nothing.
  EXPECT_EQ(JudgeLeaderHashes(1, before, after, {Peer(2, 111, 52, 10), Failed(3, ErrFutureRev())}).alarm_member, 0u);
  // A follower ahead of the leader.
  EXPECT_EQ(JudgeLeaderHashes(1, before, after, {Peer(2, 111, 56, 10)}).alarm_member, 2u);
  // A follower compacted further than the leader.
  EXPECT_EQ(JudgeLeaderHashes(1, before, after, {Peer(2, 111, 55, 11)}).alarm_member, 2u);
  // The same compaction and another hash; the second member out of line is logged but not alarmed.
  CorruptionVerdict v = JudgeLeaderHashes(1, before, after, {Peer(3, 7, 55, 10), Peer(2, 8, 55, 10)});
  EXPECT_EQ(v.alarm_member, 3u);
  EXPECT_EQ(v.log.size(), 2u);
  EXPECT_NE(v.log[0].find("same compact revision then hashes must match"), std::string::npos) << v.log[0];
  // Another compaction revision (the follower is behind in compacting): hashes are not compared.
  EXPECT_EQ(JudgeLeaderHashes(1, before, after, {Peer(2, 7, 55, 9)}).alarm_member, 0u);
}

}  // namespace
}  // namespace detcd::kv
