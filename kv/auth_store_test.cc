#include "kv/auth_store.h"

#include <string>

#include "gtest/gtest.h"
#include "kv/errors.h"

namespace detcd::kv {
namespace {

using etcdserverpb::AuthRoleAddRequest;
using etcdserverpb::AuthRoleGrantPermissionRequest;
using etcdserverpb::AuthUserAddRequest;
using etcdserverpb::AuthUserGrantRoleRequest;

void AddUser(AuthStore& s, const std::string& name) {
  AuthUserAddRequest r;
  r.set_name(name);
  r.set_password("$2b$10$hash-of-" + name);
  ASSERT_TRUE(s.UserAdd(r).ok());
}

void AddRole(AuthStore& s, const std::string& name) {
  AuthRoleAddRequest r;
  r.set_name(name);
  ASSERT_TRUE(s.RoleAdd(r).ok());
}

void Grant(AuthStore& s, const std::string& user, const std::string& role) {
  AuthUserGrantRoleRequest r;
  r.set_user(user);
  r.set_role(role);
  ASSERT_TRUE(s.UserGrantRole(r).ok());
}

void Permit(AuthStore& s, const std::string& role, authpb::Permission::Type type, const std::string& key,
            const std::string& end) {
  AuthRoleGrantPermissionRequest r;
  r.set_name(role);
  r.mutable_perm()->set_permtype(type);
  r.mutable_perm()->set_key(key);
  r.mutable_perm()->set_range_end(end);
  ASSERT_TRUE(s.RoleGrantPermission(r).ok());
}

// root (with the root role) and auth on: the start of etcd's walkthrough.
AuthStore Enabled() {
  AuthStore s;
  AddUser(s, "root");
  Grant(s, "root", "root");
  EXPECT_TRUE(s.Enable().ok());
  return s;
}

TEST(AuthStoreTest, EnableNeedsRootUserWithRootRole) {
  AuthStore s;
  EXPECT_EQ(s.Enable(), ErrRootUserNotExist());
  AddUser(s, "root");
  EXPECT_EQ(s.Enable(), ErrRootRoleNotExist());
  Grant(s, "root", "root");
  const uint64_t rev = s.revision();
  EXPECT_TRUE(s.Enable().ok());
  EXPECT_TRUE(s.enabled());
  EXPECT_EQ(s.revision(), rev);  // enabling moves no revision, as in etcd
  EXPECT_TRUE(s.Disable().ok());
  EXPECT_FALSE(s.enabled());
  EXPECT_EQ(s.revision(), rev + 1);
}

TEST(AuthStoreTest, RevisionStartsAtOneAndMovesWithEveryChange) {
  AuthStore s;
  EXPECT_EQ(s.revision(), 1u);
  AddUser(s, "alice");
  EXPECT_EQ(s.revision(), 2u);
  AddRole(s, "reader");
  EXPECT_EQ(s.revision(), 3u);
  Grant(s, "alice", "reader");
  EXPECT_EQ(s.revision(), 4u);
  Grant(s, "alice", "reader");  // again: nothing changes
  EXPECT_EQ(s.revision(), 4u);
  Permit(s, "reader", authpb::Permission::READ, "a", "b");
  EXPECT_EQ(s.revision(), 5u);
}

TEST(AuthStoreTest, EtcdErrorsForUsersAndRoles) {
  AuthStore s = Enabled();
  AuthUserAddRequest add;
  EXPECT_EQ(s.UserAdd(add), ErrUserEmpty());
  add.set_name("root");
  EXPECT_EQ(s.UserAdd(add), ErrUserAlreadyExist());
  AuthRoleAddRequest role;
  EXPECT_EQ(s.RoleAdd(role), ErrRoleEmpty());
  AddRole(s, "r");
  role.set_name("r");
  EXPECT_EQ(s.RoleAdd(role), ErrRoleAlreadyExist());

  AuthUserGrantRoleRequest g;
  g.set_user("nobody");
  g.set_role("r");
  EXPECT_EQ(s.UserGrantRole(g), ErrUserNotFound());
  g.set_user("root");
  g.set_role("missing");
  EXPECT_EQ(s.UserGrantRole(g), ErrRoleNotFound());

  etcdserverpb::AuthUserRevokeRoleRequest revoke;
  revoke.set_name("root");
  revoke.set_role("root");
  EXPECT_EQ(s.UserRevokeRole(revoke), ErrInvalidAuthMgmt());
  revoke.set_role("r");
  EXPECT_EQ(s.UserRevokeRole(revoke), ErrRoleNotGranted());

  etcdserverpb::AuthUserDeleteRequest del;
  del.set_name("root");
  EXPECT_EQ(s.UserDelete(del), ErrInvalidAuthMgmt());
  etcdserverpb::AuthRoleDeleteRequest rdel;
  rdel.set_role("root");
  EXPECT_EQ(s.RoleDelete(rdel), ErrInvalidAuthMgmt());
  rdel.set_role("missing");
  EXPECT_EQ(s.RoleDelete(rdel), ErrRoleNotFound());

  etcdserverpb::AuthRoleRevokePermissionRequest rp;
  rp.set_role("r");
  rp.set_key("k");
  EXPECT_EQ(s.RoleRevokePermission(rp), ErrPermissionNotGranted());
}

TEST(AuthStoreTest, NoCredentialsOldRevisionAndUnknownUser) {
  AuthStore s = Enabled();
  EXPECT_EQ(s.CheckRead(AuthInfo{}, "k", ""), ErrUserEmpty());
  EXPECT_EQ(s.CheckAdmin(AuthInfo{}), ErrUserEmpty());
  EXPECT_EQ(s.CheckRead(AuthInfo{"root", s.revision() - 1}, "k", ""), ErrAuthOldRevision());
  EXPECT_EQ(s.CheckRead(AuthInfo{"ghost", s.revision()}, "k", ""), ErrPermissionDenied());
  EXPECT_EQ(s.CheckAdmin(AuthInfo{"ghost", s.revision()}), ErrUserNotFound());
  EXPECT_TRUE(s.CheckWrite(AuthInfo{"root", s.revision()}, "anything", std::string(1, '\0')).ok());
  EXPECT_TRUE(s.CheckAdmin(AuthInfo{"root", s.revision()}).ok());
  // Off: everything is allowed, credentials or not.
  ASSERT_TRUE(s.Disable().ok());
  EXPECT_TRUE(s.CheckWrite(AuthInfo{}, "k", "").ok());
  EXPECT_TRUE(s.CheckAdmin(AuthInfo{}).ok());
}

TEST(AuthStoreTest, KeyRangeAndPrefixPermissions) {
  AuthStore s = Enabled();
  AddUser(s, "u");
  AddRole(s, "r");
  Grant(s, "u", "r");
  Permit(s, "r", authpb::Permission::READ, "one", "");           // one key
  Permit(s, "r", authpb::Permission::READWRITE, "foo", "fop");   // the prefix foo
  Permit(s, "r", authpb::Permission::WRITE, "w", "x");           // write only
  Permit(s, "r", authpb::Permission::READ, "z", std::string(1, '\0'));  // every key from z on
  const AuthInfo u{"u", s.revision()};
  EXPECT_TRUE(s.CheckRead(u, "one", "").ok());
  EXPECT_EQ(s.CheckWrite(u, "one", ""), ErrPermissionDenied());
  EXPECT_EQ(s.CheckRead(u, "one1", ""), ErrPermissionDenied());
  EXPECT_TRUE(s.CheckRead(u, "one", std::string("one\0", 4)).ok());  // [one, one\0) is the key itself
  EXPECT_TRUE(s.CheckRead(u, "foo", "fop").ok());
  EXPECT_TRUE(s.CheckWrite(u, "foo/bar", "").ok());
  EXPECT_TRUE(s.CheckRead(u, "foo/a", "foo/b").ok());
  EXPECT_EQ(s.CheckRead(u, "fo", "fop"), ErrPermissionDenied());   // starts before the prefix
  EXPECT_EQ(s.CheckRead(u, "foo", "foq"), ErrPermissionDenied());  // ends past it
  EXPECT_TRUE(s.CheckWrite(u, "w1", "").ok());
  EXPECT_EQ(s.CheckRead(u, "w1", ""), ErrPermissionDenied());
  EXPECT_TRUE(s.CheckRead(u, "zz", std::string(1, '\0')).ok());
  EXPECT_TRUE(s.CheckRead(u, "z", "zzzz").ok());
  EXPECT_EQ(s.CheckRead(u, "y", std::string(1, '\0')), ErrPermissionDenied());
  EXPECT_EQ(s.CheckRead(u, "", std::string(1, '\0')), ErrPermissionDenied());
}

TEST(AuthStoreTest, AdjacentPermissionsTogetherCoverARange) {
  AuthStore s = Enabled();
  AddUser(s, "u");
  AddRole(s, "a");
  AddRole(s, "b");
  Grant(s, "u", "a");
  Grant(s, "u", "b");
  Permit(s, "a", authpb::Permission::READ, "a", "m");
  Permit(s, "b", authpb::Permission::READ, "m", "t");
  const AuthInfo u{"u", s.revision()};
  EXPECT_TRUE(s.CheckRead(u, "c", "s").ok());
  EXPECT_TRUE(s.CheckRead(u, "a", "t").ok());
  EXPECT_EQ(s.CheckRead(u, "a", "u"), ErrPermissionDenied());
}

TEST(AuthStoreTest, OverlappingAndTouchingPermissionsMergeAndAChangeIsSeenAtOnce) {
  AuthStore s = Enabled();
  AddUser(s, "u");
  for (const char* r : {"a", "b", "c", "d"}) {
    AddRole(s, r);
    Grant(s, "u", r);
  }
  Permit(s, "a", authpb::Permission::READ, "a", "c");
  Permit(s, "b", authpb::Permission::READ, "b", "e");                   // overlaps [a, c)
  Permit(s, "c", authpb::Permission::READWRITE, "e", "");               // [e, e\0): touches [b, e)
  Permit(s, "d", authpb::Permission::READ, std::string("e\0", 2), "g");  // touches [e, e\0)
  AuthInfo u{"u", s.revision()};
  EXPECT_TRUE(s.CheckRead(u, "a", "g").ok());
  EXPECT_TRUE(s.CheckRead(u, "d", "f").ok());
  EXPECT_EQ(s.CheckRead(u, "a", std::string("g\0", 2)), ErrPermissionDenied());
  EXPECT_EQ(s.CheckRead(u, "g", ""), ErrPermissionDenied());
  EXPECT_EQ(s.CheckRead(u, "0", "b"), ErrPermissionDenied());  // starts before every permission
  EXPECT_TRUE(s.CheckWrite(u, "e", "").ok());                   // write: only the one key
  EXPECT_EQ(s.CheckWrite(u, "e", std::string("e\0\0", 3)), ErrPermissionDenied());
  EXPECT_EQ(s.CheckWrite(u, "a", ""), ErrPermissionDenied());
  // The key in the middle goes: the range no longer holds together, at the new revision at once.
  etcdserverpb::AuthRoleRevokePermissionRequest revoke;
  revoke.set_role("c");
  revoke.set_key("e");
  ASSERT_TRUE(s.RoleRevokePermission(revoke).ok());
  u.revision = s.revision();
  EXPECT_EQ(s.CheckRead(u, "a", "g"), ErrPermissionDenied());
  EXPECT_TRUE(s.CheckRead(u, "a", "e").ok());
  EXPECT_TRUE(s.CheckRead(u, std::string("e\0", 2), "g").ok());
  EXPECT_EQ(s.CheckWrite(u, "e", ""), ErrPermissionDenied());
  // A restored state replaces the cache too.
  AuthStore other = Enabled();
  ASSERT_TRUE(other.Restore(s.State()).ok());
  EXPECT_EQ(other.CheckRead(u, "a", "g"), ErrPermissionDenied());
  EXPECT_TRUE(other.CheckRead(u, "a", "e").ok());
}

TEST(AuthStoreTest, TxnChecksEveryCompareAndOperationNested) {
  AuthStore s = Enabled();
  AddUser(s, "u");
  AddRole(s, "r");
  Grant(s, "u", "r");
  Permit(s, "r", authpb::Permission::READWRITE, "ok", "");
  Permit(s, "r", authpb::Permission::READ, "ro", "");
  const AuthInfo u{"u", s.revision()};
  etcdserverpb::TxnRequest t;
  t.add_compare()->set_key("ok");
  t.add_success()->mutable_request_put()->set_key("ok");
  EXPECT_TRUE(s.CheckTxn(u, t).ok());
  // A nested transaction in the failure branch writes a key the user may only read.
  etcdserverpb::TxnRequest* nested = t.add_failure()->mutable_request_txn();
  nested->add_success()->mutable_request_put()->set_key("ro");
  EXPECT_EQ(s.CheckTxn(u, t), ErrPermissionDenied());
  nested->mutable_success(0)->mutable_request_put()->set_key("ok");
  EXPECT_TRUE(s.CheckTxn(u, t).ok());
  t.add_compare()->set_key("other");
  EXPECT_EQ(s.CheckTxn(u, t), ErrPermissionDenied());
  // A delete's prev_kv needs read as well as write.
  etcdserverpb::TxnRequest d;
  d.add_success()->mutable_request_delete_range()->set_key("ro");
  EXPECT_EQ(s.CheckTxn(u, d), ErrPermissionDenied());
}

TEST(AuthStoreTest, RevokingARoleOrDeletingItTakesItsPermissionsAway) {
  AuthStore s = Enabled();
  AddUser(s, "u");
  AddRole(s, "r");
  Grant(s, "u", "r");
  Permit(s, "r", authpb::Permission::READ, "k", "");
  EXPECT_TRUE(s.CheckRead(AuthInfo{"u", s.revision()}, "k", "").ok());
  etcdserverpb::AuthRoleDeleteRequest del;
  del.set_role("r");
  ASSERT_TRUE(s.RoleDelete(del).ok());
  EXPECT_EQ(s.CheckRead(AuthInfo{"u", s.revision()}, "k", ""), ErrPermissionDenied());
  etcdserverpb::AuthUserGetResponse got;
  etcdserverpb::AuthUserGetRequest get;
  get.set_name("u");
  ASSERT_TRUE(s.UserGet(get, &got).ok());
  EXPECT_EQ(got.roles_size(), 0);  // the deleted role went from its users too
}

TEST(AuthStoreTest, GrantingAPermissionAgainChangesItsType) {
  AuthStore s;
  AddRole(s, "r");
  Permit(s, "r", authpb::Permission::READ, "b", "");
  Permit(s, "r", authpb::Permission::READ, "a", "");
  Permit(s, "r", authpb::Permission::WRITE, "b", "");
  etcdserverpb::AuthRoleGetRequest get;
  get.set_role("r");
  etcdserverpb::AuthRoleGetResponse got;
  ASSERT_TRUE(s.RoleGet(get, &got).ok());
  ASSERT_EQ(got.perm_size(), 2);
  EXPECT_EQ(got.perm(0).key(), "a");
  EXPECT_EQ(got.perm(1).key(), "b");
  EXPECT_EQ(got.perm(1).permtype(), authpb::Permission::WRITE);
}

TEST(AuthStoreTest, SimpleTokensExpireRenewAndGoWithTheirUser) {
  AuthStore s = Enabled();
  AddUser(s, "u");
  s.AssignSimpleToken("tok.5", "u", 1000);
  std::optional<AuthInfo> info = s.SimpleTokenInfo("tok.5", 1500);  // used: now lives until 1500
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->username, "u");
  EXPECT_EQ(info->revision, s.revision());
  s.ExpireSimpleTokens(1200);
  EXPECT_TRUE(s.SimpleTokenInfo("tok.5", 0).has_value());
  s.ExpireSimpleTokens(1500);
  EXPECT_FALSE(s.SimpleTokenInfo("tok.5", 0).has_value());

  s.AssignSimpleToken("tok.6", "u", 9000);
  etcdserverpb::AuthUserChangePasswordRequest change;
  change.set_name("u");
  change.set_password("$2b$10$new");
  ASSERT_TRUE(s.UserChangePassword(change).ok());
  EXPECT_FALSE(s.SimpleTokenInfo("tok.6", 0).has_value());  // a new password ends the old tokens

  s.AssignSimpleToken("tok.7", "u", 9000);
  ASSERT_TRUE(s.Disable().ok());
  EXPECT_EQ(s.simple_tokens(), 0u);
}

TEST(AuthStoreTest, StateRoundTripsAndRefusesDuplicates) {
  AuthStore s = Enabled();
  AddUser(s, "u");
  AddRole(s, "r");
  Permit(s, "r", authpb::Permission::READ, "k", "l");
  Grant(s, "u", "r");
  AuthStore t;
  ASSERT_TRUE(t.Restore(s.State()).ok());
  EXPECT_EQ(t.State().SerializeAsString(), s.State().SerializeAsString());
  EXPECT_TRUE(t.enabled());
  EXPECT_EQ(t.revision(), s.revision());
  EXPECT_TRUE(t.CheckRead(AuthInfo{"u", t.revision()}, "k", "").ok());

  kvpb::AuthState bad = s.State();
  *bad.add_users() = bad.users(0);
  EXPECT_FALSE(t.Restore(bad).ok());
  EXPECT_EQ(t.State().SerializeAsString(), s.State().SerializeAsString());  // unchanged by the refusal
}

}  // namespace
}  // namespace detcd::kv
