// Lessor: grants with the minimum TTL, revocation returning keys, attachments, the leader's deadlines (promote,
// renew, expire, demote) and snapshots.
#include "kv/lessor.h"

#include "gtest/gtest.h"

namespace detcd::kv {
namespace {

constexpr int64_t kSec = 1'000'000;

TEST(LessorTest, GrantRaisesShortTTLsAndRefusesDuplicatesAndHugeTTLs) {
  Lessor l(2);
  auto a = l.Grant(1, 1, 0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->ttl_s, 2) << "raised to the minimum";
  EXPECT_EQ(l.Grant(1, 10, 0).status().message(), "etcdserver: lease already exists");
  EXPECT_EQ(l.Grant(2, kMaxLeaseTTLSeconds + 1, 0).status().message(), "etcdserver: too large lease TTL");
  EXPECT_FALSE(l.Grant(0, 10, 0).ok());
  EXPECT_EQ(l.Ids(), (std::vector<int64_t>{1}));
}

TEST(LessorTest, RevokeReturnsAttachedKeys) {
  Lessor l(1);
  ASSERT_TRUE(l.Grant(7, 10, 0).ok());
  l.Attach(7, "a");
  l.Attach(7, "b");
  l.Detach(7, "a");
  l.Attach(99, "c");  // unknown lease: nothing happens
  auto keys = l.Revoke(7);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"b"}));
  EXPECT_TRUE(IsErrLeaseNotFound(l.Revoke(7).status()));
  EXPECT_EQ(l.Revoke(7).status().message(), "etcdserver: requested lease not found");
}

TEST(LessorTest, OnlyThePrimaryHasDeadlines) {
  Lessor l(1);
  ASSERT_TRUE(l.Grant(1, 5, 0).ok());
  EXPECT_TRUE(l.Expired(100 * kSec, 10).empty()) << "a follower never expires leases";
  EXPECT_EQ(l.Renew(1, 0).status().message(), "etcdserver: not primary");
  l.Promote(10 * kSec, 2 * kSec);  // deadline 17 s
  EXPECT_TRUE(l.Expired(16 * kSec, 10).empty());
  EXPECT_EQ(l.RemainingSeconds(*l.Lookup(1), 16 * kSec), 1);
  EXPECT_EQ(l.RemainingSeconds(*l.Lookup(1), 16 * kSec + 1), 0) << "whole seconds left, rounded down as etcd";
  EXPECT_EQ(l.RemainingSeconds(*l.Lookup(1), 15 * kSec + 1), 1);
  EXPECT_EQ(l.Expired(17 * kSec, 10), (std::vector<int64_t>{1}));
  ASSERT_TRUE(l.Renew(1, 16 * kSec).ok());  // deadline 21 s
  EXPECT_TRUE(l.Expired(20 * kSec, 10).empty());
  EXPECT_EQ(l.Expired(21 * kSec, 10).size(), 1u);
  ASSERT_TRUE(l.Grant(2, 1, 20 * kSec).ok());  // granted on the primary: deadline 21 s too
  EXPECT_EQ(l.Expired(30 * kSec, 1).size(), 1u) << "limit";
  l.Demote();
  EXPECT_TRUE(l.Expired(100 * kSec, 10).empty());
  EXPECT_EQ(l.RemainingSeconds(*l.Lookup(1), 100 * kSec), 5) << "a follower reports the TTL";
}

TEST(LessorTest, NewLeaderExtendsEveryDeadline) {
  Lessor l(1);
  l.Promote(0, 0);
  ASSERT_TRUE(l.Grant(1, 3, 0).ok());  // deadline 3 s
  l.Demote();
  l.Promote(2 * kSec, 1 * kSec);  // re-elected: 2 + 3 + 1 = 6 s
  EXPECT_TRUE(l.Expired(5 * kSec, 10).empty());
  EXPECT_EQ(l.Expired(6 * kSec, 10).size(), 1u);
}

TEST(LessorTest, SnapshotKeepsLeasesNotDeadlines) {
  Lessor l(1);
  l.Promote(0, 0);
  ASSERT_TRUE(l.Grant(3, 30, 0).ok());
  ASSERT_TRUE(l.Grant(4, 40, 0).ok());
  Lessor r(1);
  ASSERT_TRUE(r.Restore(l.Serialize()).ok());
  EXPECT_EQ(r.Ids(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(r.Lookup(4)->ttl_s, 40);
  EXPECT_FALSE(r.primary());
  EXPECT_FALSE(r.Restore("\x08\x01garbage").ok());
  EXPECT_EQ(r.size(), 2u) << "a refused restore changes nothing";
}

}  // namespace
}  // namespace detcd::kv
