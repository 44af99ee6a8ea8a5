#include "sim/checkers/auth_checker.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kv/errors.h"

namespace detcd::sim {
namespace {

// A log written by hand: root, a role "rw" with READWRITE on key "a", user "u" with it, auth on; then the checks.
class AuthCheckerTest : public testing::Test {
 protected:
  void SetUp() override {
    kvpb::ClientRequest r;
    r.mutable_auth_user_add()->set_name("root");
    Apply(r);
    r.Clear();
    r.mutable_auth_user_grant_role()->set_user("root");
    r.mutable_auth_user_grant_role()->set_role("root");
    Apply(r);
    r.Clear();
    r.mutable_auth_role_add()->set_name("rw");
    Apply(r);
    r.Clear();
    r.mutable_auth_role_grant_permission()->set_name("rw");
    r.mutable_auth_role_grant_permission()->mutable_perm()->set_key("a");
    r.mutable_auth_role_grant_permission()->mutable_perm()->set_permtype(authpb::Permission::READWRITE);
    Apply(r);
    r.Clear();
    r.mutable_auth_user_add()->set_name("u");
    Apply(r);
    r.Clear();
    r.mutable_auth_user_grant_role()->set_user("u");
    r.mutable_auth_user_grant_role()->set_role("rw");
    Apply(r);
    r.Clear();
    r.mutable_auth_enable();
    Apply(r);
    granted_ = 7;  // users, roles and the permission: six changes after revision 1
  }

  // Applies request r (with the given credentials) as the next entry, at the next microsecond.
  void Apply(kvpb::ClientRequest r, const std::string& user = "", uint64_t revision = 0) {
    if (!user.empty()) {
      r.mutable_auth()->set_username(user);
      r.mutable_auth()->set_revision(revision);
    }
    kvpb::RaftRequest req;
    req.set_id(++index_);
    *req.mutable_request() = r;
    raftpb::Entry e;
    e.set_index(index_);
    e.set_term(1);
    e.set_data(req.SerializeAsString());
    checker_.OnApply(e, ++now_us_);
  }

  // Root revokes u's permission on "a".
  void Revoke() {
    kvpb::ClientRequest r;
    r.mutable_auth_role_revoke_permission()->set_role("rw");
    r.mutable_auth_role_revoke_permission()->set_key("a");
    Apply(r, "root", granted_);
  }

  static kvpb::ClientRequest Put(const std::string& key, const std::string& value) {
    kvpb::ClientRequest r;
    r.mutable_put()->set_key(key);
    r.mutable_put()->set_value(value);
    return r;
  }

  static kvpb::ClientRequest Get(const std::string& key) {
    kvpb::ClientRequest r;
    r.mutable_range()->set_key(key);
    return r;
  }

  AuthOp Op(const kvpb::ClientRequest& r, uint64_t revision, AuthOp::Outcome outcome, int64_t invoke_us = 0) {
    AuthOp op;
    op.user = "u";
    op.request = r;
    op.admitted = true;
    op.admitted_revision = revision;
    op.invoke_us = invoke_us;
    op.complete_us = now_us_ + 10;
    op.outcome = outcome;
    return op;
  }

  AuthChecker checker_;
  uint64_t index_ = 0;
  int64_t now_us_ = 0;
  uint64_t granted_ = 0;
};

TEST_F(AuthCheckerTest, OutcomesTheAdmissionRevisionExplainsPass) {
  Apply(Put("a", "v1"), "u", granted_);
  Apply(Put("b", "v2"), "u", granted_);
  std::vector<AuthOp> ops = {Op(Put("a", "v1"), granted_, AuthOp::Outcome::kOk),
                             Op(Put("b", "v2"), granted_, AuthOp::Outcome::kDenied),
                             Op(Get("a"), granted_, AuthOp::Outcome::kOk),
                             Op(Get("b"), granted_, AuthOp::Outcome::kDenied),
                             Op(Get("a"), granted_, AuthOp::Outcome::kOther)};
  EXPECT_EQ(checker_.Check(ops), "");
  EXPECT_EQ(checker_.stats().ops_checked, 4u);
  EXPECT_EQ(checker_.stats().writes_matched, 2u);
  EXPECT_EQ(checker_.stats().auth_changes, 7u);
}

TEST_F(AuthCheckerTest, AWriteOvertakenByARevocationMustNotSucceed) {
  Revoke();
  Apply(Put("a", "v1"), "u", granted_);  // admitted before the revocation, applied after it
  std::string v = checker_.Check({Op(Put("a", "v1"), granted_, AuthOp::Outcome::kOk)});
  EXPECT_NE(v.find("revision of auth store is old"), std::string::npos) << v;
  // Answered as etcd answers it, it passes.
  EXPECT_EQ(checker_.Check({Op(Put("a", "v1"), granted_, AuthOp::Outcome::kOldRevision)}), "");
}

TEST_F(AuthCheckerTest, ADenialThePermissionsAtAdmissionAllowedIsCaught) {
  Revoke();
  Apply(Put("a", "v1"), "u", granted_);
  std::string v = checker_.Check({Op(Put("a", "v1"), granted_, AuthOp::Outcome::kDenied)});
  EXPECT_NE(v.find("allowed it"), std::string::npos) << v;
}

TEST_F(AuthCheckerTest, ReadsAreJudgedByTheirAdmissionRevision) {
  Revoke();
  EXPECT_EQ(checker_.Check({Op(Get("a"), granted_, AuthOp::Outcome::kOk),
                            Op(Get("a"), granted_ + 1, AuthOp::Outcome::kDenied)}),
            "");
  std::string v = checker_.Check({Op(Get("a"), granted_ + 1, AuthOp::Outcome::kOk)});
  EXPECT_NE(v.find("forbade it"), std::string::npos) << v;
  v = checker_.Check({Op(Get("a"), granted_, AuthOp::Outcome::kDenied)});
  EXPECT_NE(v.find("allowed it"), std::string::npos) << v;
  // A revision the log never reached, and an old-revision read, cannot be judged.
  EXPECT_EQ(checker_.Check({Op(Get("a"), granted_ + 5, AuthOp::Outcome::kOk),
                            Op(Get("a"), granted_, AuthOp::Outcome::kOldRevision)}),
            "");
}

TEST_F(AuthCheckerTest, AnAcknowledgedWriteWithNoEntryIsCaught) {
  std::string v = checker_.Check({Op(Put("a", "never"), granted_, AuthOp::Outcome::kOk)});
  EXPECT_NE(v.find("no member applied an entry"), std::string::npos) << v;
  // A denial with no entry: refused before it was proposed, judged by its admission revision only.
  EXPECT_EQ(checker_.Check({Op(Put("b", "never"), granted_, AuthOp::Outcome::kDenied)}), "");
}

TEST_F(AuthCheckerTest, ADuplicateEntryIsNotReplayedAgain) {
  // The revocation's entry applied twice under one request id: the second copy changes nothing, so the put admitted
  // at the revision after the first copy is current when it applies.
  kvpb::ClientRequest r;
  r.mutable_auth_role_revoke_permission()->set_role("rw");
  r.mutable_auth_role_revoke_permission()->set_key("a");
  r.mutable_auth()->set_username("root");
  r.mutable_auth()->set_revision(granted_);
  kvpb::RaftRequest req;
  req.set_id(1000);
  *req.mutable_request() = r;
  for (int i = 0; i < 2; ++i) {
    raftpb::Entry e;
    e.set_index(++index_);
    e.set_data(req.SerializeAsString());
    checker_.OnApply(e, ++now_us_);
  }
  kvpb::ClientRequest grant;
  grant.mutable_auth_role_grant_permission()->set_name("rw");
  grant.mutable_auth_role_grant_permission()->mutable_perm()->set_key("a");
  grant.mutable_auth_role_grant_permission()->mutable_perm()->set_permtype(authpb::Permission::WRITE);
  Apply(grant, "root", granted_ + 1);
  Apply(Put("a", "v9"), "u", granted_ + 2);
  EXPECT_EQ(checker_.Check({Op(Put("a", "v9"), granted_ + 2, AuthOp::Outcome::kOk)}), "");
  EXPECT_EQ(checker_.stats().auth_changes, 9u);
}

TEST(AuthOutcomeTest, ErrorsMapToOutcomes) {
  EXPECT_EQ(AuthOutcomeOf(absl::OkStatus()), AuthOp::Outcome::kOk);
  EXPECT_EQ(AuthOutcomeOf(kv::ErrPermissionDenied()), AuthOp::Outcome::kDenied);
  EXPECT_EQ(AuthOutcomeOf(kv::ErrAuthOldRevision()), AuthOp::Outcome::kOldRevision);
  EXPECT_EQ(AuthOutcomeOf(kv::ErrInvalidAuthToken()), AuthOp::Outcome::kOther);
}

}  // namespace
}  // namespace detcd::sim
