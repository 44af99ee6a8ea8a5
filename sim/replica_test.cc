#include "sim/replica.h"

#include "gtest/gtest.h"

namespace detcd::sim {
namespace {

raftpb::Entry E(uint64_t index, const std::string& data) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(1);
  e.set_data(data);
  return e;
}

TEST(ReplicaTest, KeepsFirstApplicationOfEachRequest) {
  Replica r;
  r.Apply(E(1, ""));
  r.Apply(E(2, "c0-1:xxxx"));
  r.Apply(E(3, "c1-1:yy"));
  r.Apply(E(4, "c0-1:xxxx"));  // a retry committed twice
  EXPECT_EQ(r.applied_index(), 4u);
  EXPECT_EQ(r.ids(), (std::vector<std::string>{"c0-1", "c1-1"}));
  EXPECT_TRUE(r.Holds("c1-1"));
  EXPECT_FALSE(r.Holds("c2-1"));
}

TEST(ReplicaTest, SnapshotRoundTrips) {
  Replica a;
  a.Apply(E(1, "c0-1:a"));
  a.Apply(E(2, "c0-2:b"));
  Replica b;
  b.Apply(E(1, "c9-9:z"));
  ASSERT_TRUE(b.Restore(a.Snapshot()).ok());
  EXPECT_EQ(b.applied_index(), 2u);
  EXPECT_EQ(b.ids(), a.ids());
  EXPECT_FALSE(b.Holds("c9-9"));
  b.Apply(E(3, "c0-3:c"));
  EXPECT_EQ(b.ids().back(), "c0-3");
}

TEST(ReplicaTest, RestoreRefusesGarbageAndKeepsState) {
  Replica r;
  r.Apply(E(1, "c0-1:a"));
  for (const char* bad : {"", "replica\n", "replica x\n", "replica 3\nc0-1", "replica 3\nc0-1\nc0-1\n", "junk"}) {
    EXPECT_FALSE(r.Restore(bad).ok()) << bad;
  }
  EXPECT_EQ(r.applied_index(), 1u);
  EXPECT_EQ(r.ids(), std::vector<std::string>{"c0-1"});
}

}  // namespace
}  // namespace detcd::sim
