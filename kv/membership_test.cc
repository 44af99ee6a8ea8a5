#include "kv/membership.h"

#include "gtest/gtest.h"
#include "kv/errors.h"

namespace detcd::kv {
namespace {

raftpb::ConfChange Change(raftpb::ConfChangeType type, uint64_t id) {
  raftpb::ConfChange cc;
  cc.set_type(type);
  cc.set_node_id(id);
  return cc;
}

kvpb::ConfChangeContext WithUrls(std::vector<std::string> urls) {
  kvpb::ConfChangeContext c;
  for (const std::string& u : urls) c.mutable_member()->add_peer_urls(u);
  return c;
}

kvpb::ConfChangeContext Promote() {
  kvpb::ConfChangeContext c;
  c.set_is_promote(true);
  return c;
}

// Applies `cc` if Check accepts it; returns Check's answer.
absl::Status Make(Membership* m, const raftpb::ConfChange& cc, const kvpb::ConfChangeContext& c) {
  absl::Status s = m->Check(cc, c);
  if (s.ok()) m->Apply(cc, c);
  return s;
}

TEST(MembershipTest, PeerUrlsAreCheckedAsEtcdDoes) {
  EXPECT_TRUE(ValidPeerUrls({"http://127.0.0.1:2380"}));
  EXPECT_TRUE(ValidPeerUrls({"https://node-1.example:12380", "http://[::1]:2380"}));
  EXPECT_FALSE(ValidPeerUrls({}));
  EXPECT_FALSE(ValidPeerUrls({"127.0.0.1:2380"}));
  EXPECT_FALSE(ValidPeerUrls({"unix://x:1"}));
  EXPECT_FALSE(ValidPeerUrls({"http://127.0.0.1"}));
  EXPECT_FALSE(ValidPeerUrls({"http://127.0.0.1:2380/path"}));
  EXPECT_FALSE(ValidPeerUrls({"http://127.0.0.1:99999"}));
  EXPECT_FALSE(ValidPeerUrls({"http://127.0.0.1:2380", "garbage"}));
}

TEST(MembershipTest, AddRemoveUpdateFollowEtcdsRules) {
  Membership m;
  ASSERT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 1), WithUrls({"http://a:1"})).ok());
  ASSERT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 2), WithUrls({"http://b:1"})).ok());
  EXPECT_EQ(m.members().size(), 2u);
  // The same id again, or another id on a peer URL in use.
  EXPECT_EQ(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 2), WithUrls({"http://c:1"})), ErrMemberExist());
  EXPECT_EQ(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 3), WithUrls({"http://b:1"})), ErrPeerURLExist());
  // Update: to a URL another member has is refused; to its own or a new one is fine.
  EXPECT_EQ(Make(&m, Change(raftpb::CONF_CHANGE_UPDATE_NODE, 2), WithUrls({"http://a:1"})), ErrPeerURLExist());
  ASSERT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_UPDATE_NODE, 2), WithUrls({"http://b2:1"})).ok());
  EXPECT_EQ(m.Find(2)->peer_urls(0), "http://b2:1");
  EXPECT_EQ(Make(&m, Change(raftpb::CONF_CHANGE_UPDATE_NODE, 9), WithUrls({"http://z:1"})), ErrMemberNotFound());
  // Remove: once; the id never comes back, and its messages are to be refused.
  ASSERT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_REMOVE_NODE, 2), {}).ok());
  EXPECT_TRUE(m.IsRemoved(2));
  EXPECT_EQ(m.Find(2), nullptr);
  EXPECT_EQ(Make(&m, Change(raftpb::CONF_CHANGE_REMOVE_NODE, 2), {}), ErrMemberNotFound());
  EXPECT_EQ(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 2), WithUrls({"http://b3:1"})), ErrMemberNotFound());
  // Its old URL is free again for a new member.
  EXPECT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 4), WithUrls({"http://b2:1"})).ok());
}

TEST(MembershipTest, OneLearnerAtATimeAndOnlyLearnersArePromoted) {
  Membership m;
  ASSERT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 1), WithUrls({"http://a:1"})).ok());
  EXPECT_EQ(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 1), Promote()), ErrMemberNotLearner());
  EXPECT_EQ(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 7), Promote()), ErrMemberNotFound());
  ASSERT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 2), WithUrls({"http://b:1"})).ok());
  EXPECT_TRUE(m.Find(2)->is_learner());
  EXPECT_EQ(Make(&m, Change(raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 3), WithUrls({"http://c:1"})),
            ErrTooManyLearners());
  ASSERT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 2), Promote()).ok());
  EXPECT_FALSE(m.Find(2)->is_learner());
  // Promoting twice (a change applied twice) changes nothing the second time.
  EXPECT_EQ(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 2), Promote()), ErrMemberNotLearner());
  EXPECT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 3), WithUrls({"http://c:1"})).ok());
}

TEST(MembershipTest, PublishedAttributesAndSnapshotRoundTrip) {
  Membership m;
  kvpb::ConfChangeContext c = WithUrls({"http://a:1"});
  c.mutable_member()->set_name("founder");
  ASSERT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 1), c).ok());
  ASSERT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_ADD_NODE, 3), WithUrls({"http://c:1"})).ok());
  ASSERT_TRUE(Make(&m, Change(raftpb::CONF_CHANGE_REMOVE_NODE, 3), {}).ok());
  const uint64_t before = m.version();
  kvpb::MemberAttributes a;
  a.set_id(1);
  a.set_name("infra1");
  a.add_client_urls("http://a:2379");
  m.Publish(a);
  EXPECT_GT(m.version(), before);
  a.set_id(99);  // not a member: ignored
  m.Publish(a);
  EXPECT_EQ(m.Find(99), nullptr);

  std::vector<etcdserverpb::Member> listed = m.ToEtcd();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name(), "infra1");
  EXPECT_EQ(listed[0].clienturls(0), "http://a:2379");
  EXPECT_EQ(listed[0].peerurls(0), "http://a:1");

  kvpb::StateSnapshot snap;
  m.SaveTo(&snap);
  Membership restored;
  restored.RestoreFrom(snap);
  EXPECT_EQ(restored.ToEtcd()[0].DebugString(), listed[0].DebugString());
  EXPECT_TRUE(restored.IsRemoved(3));
}

}  // namespace
}  // namespace detcd::kv

namespace detcd::kv {
namespace {

TEST(MembershipTest, StrictReconfigCheckCountsStartedVoters) {
  Membership m;
  auto add = [&](uint64_t id, bool learner, const std::string& name) {
    kvpb::ConfChangeContext c = WithUrls({"http://n" + std::to_string(id) + ":1"});
    c.mutable_member()->set_name(name);
    ASSERT_TRUE(Make(&m, Change(learner ? raftpb::CONF_CHANGE_ADD_LEARNER_NODE : raftpb::CONF_CHANGE_ADD_NODE, id), c)
                    .ok());
  };
  add(1, false, "a");
  EXPECT_TRUE(m.ReadyToAddVoter()) << "a single member may add a second";
  add(2, false, "");  // added, not started
  EXPECT_FALSE(m.ReadyToAddVoter()) << "1 started of 3 voters";
  EXPECT_FALSE(m.ReadyToRemoveVoter(1)) << "removing the started one leaves none started";
  EXPECT_TRUE(m.ReadyToRemoveVoter(2));
  kvpb::MemberAttributes started;
  started.set_id(2);
  started.set_name("b");
  m.Publish(started);
  EXPECT_TRUE(m.ReadyToAddVoter()) << "2 started of 3";
  add(3, false, "");
  EXPECT_FALSE(m.ReadyToAddVoter()) << "2 started of 4 voters: below a quorum of 3";
  add(4, true, "");
  EXPECT_FALSE(m.ReadyToPromote(4)) << "2 started of 4 voters with the learner";
  EXPECT_TRUE(m.ReadyToRemoveVoter(3)) << "2 started of the 2 voters left";
}

}  // namespace
}  // namespace detcd::kv
