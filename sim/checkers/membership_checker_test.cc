// The membership checker on real members (kv::NodeCore) that bootstrapped from different founding lists: agreement,
// members running, what the operator made, and a removed member seen again.
#include "sim/checkers/membership_checker.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace detcd::sim {
namespace {

// A member that wrote and applied its bootstrap entries (the founding members `peers`).
std::unique_ptr<kv::NodeCore> Bootstrapped(uint64_t id, std::vector<uint64_t> peers) {
  kv::NodeCoreConfig c;
  c.id = id;
  c.peers = std::move(peers);
  c.seed = id;
  auto core = std::make_unique<kv::NodeCore>(c, kv::RecoveredState());
  while (std::optional<kv::PersistRequest> p = core->TakePersist()) core->Persisted(p->seq);
  EXPECT_EQ(core->membership().members().size(), c.peers.size());
  EXPECT_EQ(core->raft().raft().conf_state().voters_size(), static_cast<int>(c.peers.size()));
  return core;
}

bool Mentions(const MembershipChecker& m, const std::string& what) {
  return m.violation().has_value() && absl::StrContains(*m.violation(), what);
}

// Two members and a removed id; `change` alters one thing.
kv::Membership MembershipWith(const std::function<void(kvpb::StateSnapshot*)>& change) {
  kvpb::StateSnapshot s;
  for (uint64_t id : {1, 2}) {
    kvpb::Member* m = s.add_cluster_members();
    m->set_id(id);
    m->set_name(absl::StrCat("m", id));
    m->add_peer_urls(absl::StrCat("http://10.0.0.", id, ":2380"));
    m->add_client_urls(absl::StrCat("http://10.0.0.", id, ":2379"));
  }
  s.add_removed_member_ids(7);
  change(&s);
  kv::Membership out;
  out.RestoreFrom(s);
  return out;
}

TEST(MembershipCheckerTest, DigestAndSameMembershipTellApartAChangeInAnyField) {
  const std::string same = MembershipChecker::Digest(MembershipWith([](kvpb::StateSnapshot*) {}));
  EXPECT_EQ(MembershipChecker::Digest(MembershipWith([](kvpb::StateSnapshot*) {})), same);
  const std::vector<std::pair<const char*, std::function<void(kvpb::StateSnapshot*)>>> changes = {
      {"name", [](kvpb::StateSnapshot* s) { s->mutable_cluster_members(1)->set_name("m2x"); }},
      {"peer url", [](kvpb::StateSnapshot* s) { s->mutable_cluster_members(1)->set_peer_urls(0, "http://x:2380"); }},
      {"one more peer url", [](kvpb::StateSnapshot* s) { s->mutable_cluster_members(1)->add_peer_urls(""); }},
      {"client url", [](kvpb::StateSnapshot* s) { s->mutable_cluster_members(0)->set_client_urls(0, "http://x"); }},
      {"url moved between lists",
       [](kvpb::StateSnapshot* s) {
         kvpb::Member* m = s->mutable_cluster_members(0);
         m->add_peer_urls(m->client_urls(0));
         m->clear_client_urls();
       }},
      {"learner", [](kvpb::StateSnapshot* s) { s->mutable_cluster_members(0)->set_is_learner(true); }},
      {"member id", [](kvpb::StateSnapshot* s) { s->mutable_cluster_members(1)->set_id(3); }},
      {"member gone", [](kvpb::StateSnapshot* s) { s->mutable_cluster_members()->RemoveLast(); }},
      {"removed id", [](kvpb::StateSnapshot* s) { s->set_removed_member_ids(0, 8); }},
      {"no removed id", [](kvpb::StateSnapshot* s) { s->clear_removed_member_ids(); }},
  };
  const kv::Membership base = MembershipWith([](kvpb::StateSnapshot*) {});
  EXPECT_TRUE(MembershipChecker::SameMembership(base, MembershipWith([](kvpb::StateSnapshot*) {})));
  for (const auto& [what, change] : changes) {
    EXPECT_NE(MembershipChecker::Digest(MembershipWith(change)), same) << what;
    EXPECT_FALSE(MembershipChecker::SameMembership(base, MembershipWith(change))) << what;
    EXPECT_FALSE(MembershipChecker::SameMembership(MembershipWith(change), base)) << what;
  }
}

TEST(MembershipCheckerTest, AgreeingMembersPass) {
  auto a = Bootstrapped(1, {1, 2, 3}), b = Bootstrapped(2, {1, 2, 3}), c = Bootstrapped(3, {1, 2, 3});
  MembershipChecker m;
  for (const auto* core : {a.get(), b.get(), c.get()}) m.Observe(*core);
  const std::map<uint64_t, bool> made{{1, false}, {2, false}, {3, false}};
  m.Finish({a.get(), b.get(), c.get()}, {}, &made);
  EXPECT_TRUE(m.ok()) << *m.violation();
}

TEST(MembershipCheckerTest, SameAppliedIndexDifferentMembership) {
  auto a = Bootstrapped(1, {1, 2, 3}), b = Bootstrapped(2, {1, 2, 4});
  MembershipChecker m;
  m.Observe(*a);
  m.Observe(*b);
  EXPECT_TRUE(Mentions(m, "applied index 3 with different memberships")) << m.violation().value_or("");
}

TEST(MembershipCheckerTest, MembersDisagreeAtTheEnd) {
  auto a = Bootstrapped(1, {1, 2}), b = Bootstrapped(2, {1, 2, 3});
  MembershipChecker m;
  m.Finish({a.get(), b.get()}, {}, nullptr);
  EXPECT_TRUE(Mentions(m, "disagree on the membership")) << m.violation().value_or("");
}

TEST(MembershipCheckerTest, EveryMemberRunsUnlessRefused) {
  auto a = Bootstrapped(1, {1, 2, 3}), b = Bootstrapped(2, {1, 2, 3});
  MembershipChecker refused;
  refused.Finish({a.get(), b.get()}, {3}, nullptr);
  EXPECT_TRUE(refused.ok()) << *refused.violation();
  MembershipChecker missing;
  missing.Finish({a.get(), b.get()}, {}, nullptr);
  EXPECT_TRUE(Mentions(missing, "the members running are {1 2}")) << missing.violation().value_or("");
}

TEST(MembershipCheckerTest, TheClusterMustHaveWhatTheOperatorMade) {
  auto a = Bootstrapped(1, {1, 2}), b = Bootstrapped(2, {1, 2});
  MembershipChecker m;
  const std::map<uint64_t, bool> made{{1, false}, {2, true}};  // the operator thinks 2 is still a learner
  m.Finish({a.get(), b.get()}, {}, &made);
  EXPECT_TRUE(Mentions(m, "the operator made")) << m.violation().value_or("");
}

TEST(MembershipCheckerTest, AStoppedRemovedMemberNeverRunsAgain) {
  auto a = Bootstrapped(1, {1, 2, 3});
  MembershipChecker m;
  m.Observe(*a);
  m.OnStopped(1);
  EXPECT_TRUE(m.ok());
  m.Observe(*a);
  EXPECT_TRUE(Mentions(m, "member 1 runs again")) << m.violation().value_or("");
}

}  // namespace
}  // namespace detcd::sim
