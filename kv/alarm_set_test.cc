// AlarmSet: raised once per member and type, cleared one at a time, listed (all, or of one type) in member order,
// restored from a snapshot's list.
#include "kv/alarm_set.h"

#include "gtest/gtest.h"

namespace detcd::kv {
namespace {

TEST(AlarmSetTest, RaisedPerMemberAndTypeAndClearedOneAtATime) {
  AlarmSet s;
  EXPECT_FALSE(s.Has(etcdserverpb::CORRUPT));
  EXPECT_TRUE(s.Activate(7, etcdserverpb::CORRUPT));
  EXPECT_FALSE(s.Activate(7, etcdserverpb::CORRUPT)) << "raised twice";
  EXPECT_TRUE(s.Activate(3, etcdserverpb::CORRUPT));
  EXPECT_TRUE(s.Activate(3, etcdserverpb::NOSPACE));
  EXPECT_FALSE(s.Activate(3, etcdserverpb::NONE)) << "NONE is no alarm";
  ASSERT_EQ(s.List().size(), 3u);
  EXPECT_EQ(s.List()[0].memberid(), 3u);
  EXPECT_EQ(s.List(etcdserverpb::CORRUPT).size(), 2u);
  EXPECT_TRUE(s.Deactivate(7, etcdserverpb::CORRUPT));
  EXPECT_FALSE(s.Deactivate(7, etcdserverpb::CORRUPT)) << "cleared twice";
  EXPECT_TRUE(s.Has(etcdserverpb::CORRUPT)) << "member 3's is still raised";
  EXPECT_TRUE(s.Deactivate(3, etcdserverpb::CORRUPT));
  EXPECT_FALSE(s.Has(etcdserverpb::CORRUPT));
  EXPECT_TRUE(s.Has(etcdserverpb::NOSPACE));
}

TEST(AlarmSetTest, RestoredFromASnapshotsList) {
  AlarmSet s;
  s.Activate(1, etcdserverpb::NOSPACE);
  google::protobuf::RepeatedPtrField<etcdserverpb::AlarmMember> saved;
  etcdserverpb::AlarmMember* a = saved.Add();
  a->set_memberid(9);
  a->set_alarm(etcdserverpb::CORRUPT);
  s.Restore(saved);
  EXPECT_FALSE(s.Has(etcdserverpb::NOSPACE)) << "what the snapshot did not carry is gone";
  ASSERT_EQ(s.List().size(), 1u);
  EXPECT_EQ(s.List()[0].memberid(), 9u);
  EXPECT_EQ(s.List()[0].alarm(), etcdserverpb::CORRUPT);
}

}  // namespace
}  // namespace detcd::kv
