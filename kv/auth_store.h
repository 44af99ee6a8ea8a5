// AuthStore: etcd 3.4's auth store as a replicated state machine — users (with their bcrypt hashes, or none for
// certificate-only users), roles and their key permissions, whether auth is enabled, and the auth revision that every
// change moves on; the checks etcd makes of a request's user against them (read, write, admin); and the member's
// simple tokens (each assigned when an Authenticate entry applies, forgotten after their TTL by the core's clock).
// Mutations arrive only as applied entries, so every member holds the same users, roles and revision; the token
// table is the member's own (as etcd's: not in snapshots, gone on restart). It never hashes or checks a password
// (the driver does, off the core's thread), reads a clock, or draws randomness.
#ifndef DETCD_KV_AUTH_STORE_H_
#define DETCD_KV_AUTH_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/authpb/auth.pb.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/kv_request.pb.h"

namespace detcd::kv {

// Who a request is from, as its credentials resolved (etcd's AuthInfo): revision 0 means no credentials.
struct AuthInfo {
  std::string username;
  uint64_t revision = 0;
};

class AuthStore {
 public:
  static constexpr char kRootUser[] = "root";
  static constexpr char kRootRole[] = "root";

  bool enabled() const { return enabled_; }
  // Starts at 1, as etcd's; moved on by every change of users, roles or permissions, and by disabling auth.
  uint64_t revision() const { return revision_; }
  const authpb::User* FindUser(std::string_view name) const;

  // ---- changes (applied entries), with etcd's errors ----
  absl::Status Enable();
  absl::Status Disable();
  // `r.password()` is the bcrypt hash the admitting member made (empty for a no-password user).
  absl::Status UserAdd(const etcdserverpb::AuthUserAddRequest& r);
  absl::Status UserDelete(const etcdserverpb::AuthUserDeleteRequest& r);
  absl::Status UserChangePassword(const etcdserverpb::AuthUserChangePasswordRequest& r);
  absl::Status UserGrantRole(const etcdserverpb::AuthUserGrantRoleRequest& r);
  absl::Status UserRevokeRole(const etcdserverpb::AuthUserRevokeRoleRequest& r);
  absl::Status RoleAdd(const etcdserverpb::AuthRoleAddRequest& r);
  absl::Status RoleDelete(const etcdserverpb::AuthRoleDeleteRequest& r);
  absl::Status RoleGrantPermission(const etcdserverpb::AuthRoleGrantPermissionRequest& r);
  absl::Status RoleRevokePermission(const etcdserverpb::AuthRoleRevokePermissionRequest& r);

  // ---- reads ----
  absl::Status UserGet(const etcdserverpb::AuthUserGetRequest& r, etcdserverpb::AuthUserGetResponse* resp) const;
  void UserList(etcdserverpb::AuthUserListResponse* resp) const;
  absl::Status RoleGet(const etcdserverpb::AuthRoleGetRequest& r, etcdserverpb::AuthRoleGetResponse* resp) const;
  void RoleList(etcdserverpb::AuthRoleListResponse* resp) const;
  bool HasRole(std::string_view user, std::string_view role) const;

  // ---- checks (etcd's IsRangePermitted, IsPutPermitted, IsDeleteRangePermitted, IsAdminPermitted) ----
  // OK when auth is off. Otherwise: no credentials → ErrUserEmpty; credentials from before the last change →
  // ErrAuthOldRevision; an unknown user or a range its roles do not cover → ErrPermissionDenied. A user with the root
  // role may do anything. range_end as in a RangeRequest: empty for one key, "\0" for every key from `key` on.
  absl::Status CheckRead(const AuthInfo& who, std::string_view key, std::string_view range_end) const;
  absl::Status CheckWrite(const AuthInfo& who, std::string_view key, std::string_view range_end) const;
  // Admin: the root role (no revision check, as etcd's). Unknown user → ErrUserNotFound.
  absl::Status CheckAdmin(const AuthInfo& who) const;
  // Every compare and operation of a transaction, nested ones and both branches included (etcd's checkTxnAuth).
  absl::Status CheckTxn(const AuthInfo& who, const etcdserverpb::TxnRequest& r) const;

  // ---- the member's simple tokens ----
  // Assigned when an Authenticate entry applies; lives ttl_us from now_us, each use renewing it.
  void AssignSimpleToken(const std::string& token, const std::string& user, int64_t expires_us);
  // The token's user and the current revision (etcd's tokenSimple.info), renewing it; nullopt if unknown.
  std::optional<AuthInfo> SimpleTokenInfo(const std::string& token, int64_t renewed_expiry_us);
  void ExpireSimpleTokens(int64_t now_us);
  size_t simple_tokens() const { return tokens_.size(); }

  // Test-only breakage (kv::KvTestingKnobs::auth_ignores_revision): checks never answer ErrAuthOldRevision.
  void set_testing_ignore_revision(bool on) { testing_ignore_revision_ = on; }

  // ---- state (snapshots) ----
  kvpb::AuthState State() const;
  // Replaces the users, roles, flag and revision; tokens of users that are gone go too (all if auth is off).
  absl::Status Restore(const kvpb::AuthState& state);

 private:
  absl::Status Check(const AuthInfo& who, std::string_view key, std::string_view range_end, bool write) const;
  absl::Status CheckOps(const AuthInfo& who, const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops)
      const;
  void InvalidateUser(const std::string& user);

  // A half-open interval of keys [begin, end); `open` means every key from `begin` on.
  struct KeyInterval {
    std::string begin;
    std::string end;
    bool open = false;
  };
  // A user's permissions of one kind (read or write), merged: sorted, disjoint and not touching, so a key or a range
  // is allowed iff one interval holds it. Made on a user's first check at a revision, as etcd caches its per-user
  // interval trees: a check is then a binary search, not a walk over every permission of every role.
  struct MergedPermissions {
    std::vector<KeyInterval> read;
    std::vector<KeyInterval> write;
  };
  static KeyInterval IntervalOf(const authpb::Permission& p);
  const MergedPermissions& MergedFor(const authpb::User& u) const;

  bool enabled_ = false;
  bool testing_ignore_revision_ = false;
  uint64_t revision_ = 1;
  std::map<std::string, authpb::User, std::less<>> users_;
  std::map<std::string, authpb::Role, std::less<>> roles_;
  struct Token {
    std::string user;
    int64_t expires_us = 0;
  };
  std::map<std::string, Token> tokens_;
  // MergedFor's cache: valid for merged_revision_ only (every change of users or roles moves the revision; a restore
  // clears it).
  mutable std::map<std::string, MergedPermissions, std::less<>> merged_;
  mutable uint64_t merged_revision_ = 0;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_AUTH_STORE_H_
