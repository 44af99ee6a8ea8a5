// KeyIndex: generations, versions, reads at past revisions, Since, compaction and restore checks.
#include "kv/key_index.h"

#include "gtest/gtest.h"

namespace detcd::kv {
namespace {

TEST(KeyIndexTest, VersionsCountWithinAGeneration) {
  KeyIndex ki;
  EXPECT_EQ(ki.Put({2, 0}).version, 1);
  EXPECT_EQ(ki.Put({4, 0}).version, 2);
  const KeyChange& c = ki.Put({6, 1});
  EXPECT_EQ(c.version, 3);
  EXPECT_EQ(c.create_main, 2);
  ASSERT_TRUE(ki.Tombstone({8, 0}));
  EXPECT_FALSE(ki.IsLive());
  EXPECT_FALSE(ki.Tombstone({9, 0})) << "deleting a deleted key changes nothing";
  const KeyChange& again = ki.Put({10, 0});
  EXPECT_EQ(again.version, 1) << "a new generation starts over";
  EXPECT_EQ(again.create_main, 10);
}

TEST(KeyIndexTest, GetSeesTheKeyAsOfARevision) {
  KeyIndex ki;
  ki.Put({2, 0});
  ki.Put({4, 0});
  ki.Tombstone({6, 0});
  ki.Put({8, 0});
  KeyAt k;
  EXPECT_FALSE(ki.Get(1, &k)) << "before creation";
  ASSERT_TRUE(ki.Get(3, &k));
  EXPECT_EQ(k.mod, (Revision{2, 0}));
  EXPECT_EQ(k.version, 1);
  ASSERT_TRUE(ki.Get(5, &k));
  EXPECT_EQ(k.mod, (Revision{4, 0}));
  EXPECT_EQ(k.version, 2);
  EXPECT_EQ(k.create_main, 2);
  EXPECT_FALSE(ki.Get(6, &k)) << "deleted at 6";
  EXPECT_FALSE(ki.Get(7, &k));
  ASSERT_TRUE(ki.Get(100, &k));
  EXPECT_EQ(k.mod, (Revision{8, 0}));
  EXPECT_EQ(k.create_main, 8);
}

TEST(KeyIndexTest, SinceListsLaterChanges) {
  KeyIndex ki;
  ki.Put({2, 0});
  ki.Tombstone({5, 0});
  ki.Put({7, 0});
  std::vector<KeyChange> out;
  ki.Since(5, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].tombstone);
  EXPECT_EQ(out[1].rev.main, 7);
}

TEST(KeyIndexTest, CompactKeepsWhatReadsAtOrAfterTheRevisionSee) {
  KeyIndex ki;
  ki.Put({2, 0});
  ki.Put({4, 0});
  ki.Put({6, 0});
  std::vector<Revision> removed;
  ki.Compact(5, &removed);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], (Revision{2, 0}));
  KeyAt k;
  ASSERT_TRUE(ki.Get(5, &k));
  EXPECT_EQ(k.mod, (Revision{4, 0}));
  EXPECT_EQ(k.version, 2) << "versions survive compaction";
}

TEST(KeyIndexTest, CompactDropsAnOlderTombstoneAndEverythingBefore) {
  KeyIndex ki;
  ki.Put({2, 0});
  ki.Tombstone({3, 0});
  std::vector<Revision> removed;
  ki.Compact(4, &removed);
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_TRUE(ki.Empty());
}

TEST(KeyIndexTest, CompactKeepsATombstoneAtTheCompactionRevision) {
  KeyIndex ki;
  ki.Put({2, 0});
  ki.Tombstone({3, 0});
  std::vector<Revision> removed;
  ki.Compact(3, &removed);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], (Revision{2, 0}));
  std::vector<KeyChange> since;
  ki.Since(3, &since);
  ASSERT_EQ(since.size(), 1u) << "a watcher from the compaction revision still sees the delete";
  EXPECT_TRUE(since[0].tombstone);
  KeyAt k;
  EXPECT_FALSE(ki.Get(3, &k));
}

TEST(KeyIndexTest, RestoreRefusesInconsistentHistories) {
  KeyIndex ki;
  EXPECT_TRUE(ki.Restore({{5, 0}, 3, 2, false})) << "the first kept change may be any version";
  EXPECT_FALSE(ki.Restore({{4, 0}, 3, 3, false})) << "out of order";
  EXPECT_FALSE(ki.Restore({{6, 0}, 3, 4, false})) << "version skips";
  EXPECT_FALSE(ki.Restore({{6, 0}, 2, 3, false})) << "create revision changes within a generation";
  EXPECT_TRUE(ki.Restore({{6, 0}, 3, 3, false}));
  EXPECT_TRUE(ki.Restore({{7, 0}, 0, 0, true}));
  EXPECT_FALSE(ki.Restore({{8, 0}, 0, 0, true})) << "tombstone on a deleted key";
  EXPECT_FALSE(ki.Restore({{8, 0}, 8, 2, false})) << "a new generation starts at version 1";
  EXPECT_TRUE(ki.Restore({{8, 0}, 8, 1, false}));
  KeyIndex fresh;
  EXPECT_FALSE(fresh.Restore({{5, 0}, 6, 1, false})) << "created after it was written";
  EXPECT_TRUE(fresh.Restore({{5, 0}, 0, 0, true})) << "a tombstone kept at the compaction revision";
  EXPECT_FALSE(fresh.Restore({{6, 0}, 0, 0, true})) << "two tombstones";
}

}  // namespace
}  // namespace detcd::kv
