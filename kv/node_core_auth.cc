// NodeCore: etcd's auth in the core — the Auth service's requests applied from the log (and the one answered from
// local state: what checking a password takes), and the permission each applied request needs, checked against the
// auth store as it is when the entry applies (etcd's authApplierV3), so a permission revoked while a request is in
// flight is refused as etcd refuses it.
#include <string>

#include "absl/strings/str_cat.h"
#include "kv/errors.h"
#include "kv/node_core.h"

namespace detcd::kv {

void NodeCore::ServeAuthLocal(uint64_t request_id, const kvpb::ClientRequest& request) {
  if (!auth_.enabled()) return Reply(request_id, ErrAuthNotEnabled());
  const authpb::User* u = auth_.FindUser(request.auth_password_lookup().name());
  if (u == nullptr) return Reply(request_id, ErrAuthFailed());
  if (u->options().no_password()) {
    // etcd's ErrNoPasswordUser has no gRPC code of its own: clients see it as Unknown, in the auth store's words.
    return Reply(request_id,
                 absl::UnknownError("auth: authentication failed, password was given for no password user"));
  }
  kvpb::ClientResponse resp;
  resp.mutable_auth_password_lookup()->set_hash(u->password());
  resp.mutable_auth_password_lookup()->set_revision(auth_.revision());
  Reply(request_id, absl::OkStatus(), std::move(resp));
}

bool NodeCore::IsKvWrite(const kvpb::ClientRequest& r) {
  return !r.auth().internal() && (r.has_put() || r.has_delete_range() || r.has_txn());
}

absl::Status NodeCore::CheckApplyPermission(const kvpb::ClientRequest& r) const {
  if (!auth_.enabled() || r.auth().internal()) return absl::OkStatus();
  const AuthInfo who{r.auth().username(), r.auth().revision()};
  // A lease may be attached to, or revoked, only by a user who may write every key it holds already (else revoking
  // it would delete keys the user may not touch).
  auto lease_keys_writable = [&](int64_t lease) {
    if (const Lease* l = lessor_.Lookup(lease); l != nullptr) {
      for (const std::string& key : l->keys) {
        if (absl::Status s = auth_.CheckWrite(who, key, ""); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  };
  switch (r.request_case()) {
    case kvpb::ClientRequest::kPut: {
      if (absl::Status s = auth_.CheckWrite(who, r.put().key(), ""); !s.ok()) return s;
      if (absl::Status s = lease_keys_writable(r.put().lease()); !s.ok()) return s;
      return r.put().prev_kv() ? auth_.CheckRead(who, r.put().key(), "") : absl::OkStatus();
    }
    case kvpb::ClientRequest::kDeleteRange: {
      const etcdserverpb::DeleteRangeRequest& d = r.delete_range();
      if (absl::Status s = auth_.CheckWrite(who, d.key(), d.range_end()); !s.ok()) return s;
      return d.prev_kv() ? auth_.CheckRead(who, d.key(), d.range_end()) : absl::OkStatus();
    }
    case kvpb::ClientRequest::kTxn:
      return auth_.CheckTxn(who, r.txn());
    case kvpb::ClientRequest::kLeaseRevoke:
      return lease_keys_writable(r.lease_revoke().id());
    case kvpb::ClientRequest::kCompaction:
    case kvpb::ClientRequest::kAuthEnable:
    case kvpb::ClientRequest::kAuthDisable:
    case kvpb::ClientRequest::kAuthUserAdd:
    case kvpb::ClientRequest::kAuthUserDelete:
    case kvpb::ClientRequest::kAuthUserChangePassword:
    case kvpb::ClientRequest::kAuthUserGrantRole:
    case kvpb::ClientRequest::kAuthUserRevokeRole:
    case kvpb::ClientRequest::kAuthUserList:
    case kvpb::ClientRequest::kAuthRoleAdd:
    case kvpb::ClientRequest::kAuthRoleDelete:
    case kvpb::ClientRequest::kAuthRoleGrantPermission:
    case kvpb::ClientRequest::kAuthRoleRevokePermission:
    case kvpb::ClientRequest::kAuthRoleList:
      return auth_.CheckAdmin(who);
    case kvpb::ClientRequest::kAuthUserGet: {
      // A user may read its own entry.
      absl::Status s = auth_.CheckAdmin(who);
      return s.ok() || r.auth_user_get().name() == who.username ? absl::OkStatus() : s;
    }
    case kvpb::ClientRequest::kAuthRoleGet: {
      // And a role it has.
      absl::Status s = auth_.CheckAdmin(who);
      return s.ok() || auth_.HasRole(who.username, r.auth_role_get().role()) ? absl::OkStatus() : s;
    }
    default:
      return absl::OkStatus();
  }
}

bool NodeCore::IsLoggedAuthRequest(const kvpb::ClientRequest& r) {
  switch (r.request_case()) {
    case kvpb::ClientRequest::kAuthEnable:
    case kvpb::ClientRequest::kAuthDisable:
    case kvpb::ClientRequest::kAuthenticate:
    case kvpb::ClientRequest::kAuthUserAdd:
    case kvpb::ClientRequest::kAuthUserGet:
    case kvpb::ClientRequest::kAuthUserList:
    case kvpb::ClientRequest::kAuthUserDelete:
    case kvpb::ClientRequest::kAuthUserChangePassword:
    case kvpb::ClientRequest::kAuthUserGrantRole:
    case kvpb::ClientRequest::kAuthUserRevokeRole:
    case kvpb::ClientRequest::kAuthRoleAdd:
    case kvpb::ClientRequest::kAuthRoleGet:
    case kvpb::ClientRequest::kAuthRoleList:
    case kvpb::ClientRequest::kAuthRoleDelete:
    case kvpb::ClientRequest::kAuthRoleGrantPermission:
    case kvpb::ClientRequest::kAuthRoleRevokePermission:
      return true;
    default:
      return false;
  }
}

absl::Status NodeCore::ApplyAuth(const kvpb::ClientRequest& r, uint64_t index, kvpb::ClientResponse* resp) {
  switch (r.request_case()) {
    case kvpb::ClientRequest::kAuthEnable:
      resp->mutable_auth_enable();
      return auth_.Enable();
    case kvpb::ClientRequest::kAuthDisable:
      resp->mutable_auth_disable();
      return auth_.Disable();
    case kvpb::ClientRequest::kAuthenticate: {
      const kvpb::AuthenticateInternal& a = r.authenticate();
      if (!auth_.enabled()) return ErrAuthNotEnabled();
      const authpb::User* u = auth_.FindUser(a.name());
      if (u == nullptr || u->options().no_password()) return ErrAuthFailed();
      // The password was checked against the store at checked_revision: if anything changed since (a new password,
      // the user deleted and added again), that check does not count. The member that asked checks again.
      if (a.checked_revision() != auth_.revision()) return ErrAuthOldRevision();
      resp->mutable_authenticate();
      if (!a.simple_token_prefix().empty() && index > recovered_commit_) {
        const std::string token = absl::StrCat(a.simple_token_prefix(), ".", index);
        auth_.AssignSimpleToken(token, a.name(), now_us_ + config_.simple_token_ttl_us);
        resp->mutable_authenticate()->set_token(token);
      }
      return absl::OkStatus();
    }
    case kvpb::ClientRequest::kAuthUserAdd:
      resp->mutable_auth_user_add();
      return auth_.UserAdd(r.auth_user_add());
    case kvpb::ClientRequest::kAuthUserGet:
      return auth_.UserGet(r.auth_user_get(), resp->mutable_auth_user_get());
    case kvpb::ClientRequest::kAuthUserList:
      auth_.UserList(resp->mutable_auth_user_list());
      return absl::OkStatus();
    case kvpb::ClientRequest::kAuthUserDelete:
      resp->mutable_auth_user_delete();
      return auth_.UserDelete(r.auth_user_delete());
    case kvpb::ClientRequest::kAuthUserChangePassword:
      resp->mutable_auth_user_change_password();
      return auth_.UserChangePassword(r.auth_user_change_password());
    case kvpb::ClientRequest::kAuthUserGrantRole:
      resp->mutable_auth_user_grant_role();
      return auth_.UserGrantRole(r.auth_user_grant_role());
    case kvpb::ClientRequest::kAuthUserRevokeRole:
      resp->mutable_auth_user_revoke_role();
      return auth_.UserRevokeRole(r.auth_user_revoke_role());
    case kvpb::ClientRequest::kAuthRoleAdd:
      resp->mutable_auth_role_add();
      return auth_.RoleAdd(r.auth_role_add());
    case kvpb::ClientRequest::kAuthRoleGet:
      return auth_.RoleGet(r.auth_role_get(), resp->mutable_auth_role_get());
    case kvpb::ClientRequest::kAuthRoleList:
      auth_.RoleList(resp->mutable_auth_role_list());
      return absl::OkStatus();
    case kvpb::ClientRequest::kAuthRoleDelete:
      resp->mutable_auth_role_delete();
      return auth_.RoleDelete(r.auth_role_delete());
    case kvpb::ClientRequest::kAuthRoleGrantPermission:
      resp->mutable_auth_role_grant_permission();
      return auth_.RoleGrantPermission(r.auth_role_grant_permission());
    case kvpb::ClientRequest::kAuthRoleRevokePermission:
      resp->mutable_auth_role_revoke_permission();
      return auth_.RoleRevokePermission(r.auth_role_revoke_permission());
    default:
      return absl::InvalidArgumentError("etcdserver: unknown request in the log");
  }
}

}  // namespace detcd::kv
