#include "kv/auth_store.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "kv/errors.h"

namespace detcd::kv {
namespace {

bool Grants(authpb::Permission::Type have, bool write) {
  return have == authpb::Permission::READWRITE || (write ? have == authpb::Permission::WRITE
                                                         : have == authpb::Permission::READ);
}

bool HasRootRole(const authpb::User& u) {
  return std::find(u.roles().begin(), u.roles().end(), AuthStore::kRootRole) != u.roles().end();
}

}  // namespace

const authpb::User* AuthStore::FindUser(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

absl::Status AuthStore::Enable() {
  if (enabled_) return absl::OkStatus();  // etcd ignores a second enable
  const authpb::User* root = FindUser(kRootUser);
  if (root == nullptr) return ErrRootUserNotExist();
  if (!HasRootRole(*root)) return ErrRootRoleNotExist();
  enabled_ = true;
  return absl::OkStatus();
}

absl::Status AuthStore::Disable() {
  if (!enabled_) return absl::OkStatus();
  enabled_ = false;
  ++revision_;
  tokens_.clear();  // etcd's token provider forgets every token when auth goes off
  return absl::OkStatus();
}

absl::Status AuthStore::UserAdd(const etcdserverpb::AuthUserAddRequest& r) {
  if (r.name().empty()) return ErrUserEmpty();
  if (users_.count(r.name()) > 0) return ErrUserAlreadyExist();
  authpb::User u;
  u.set_name(r.name());
  u.set_password(r.password());
  u.mutable_options()->set_no_password(r.options().no_password());
  users_.emplace(r.name(), std::move(u));
  ++revision_;
  return absl::OkStatus();
}

absl::Status AuthStore::UserDelete(const etcdserverpb::AuthUserDeleteRequest& r) {
  if (enabled_ && r.name() == kRootUser) return ErrInvalidAuthMgmt();
  auto it = users_.find(r.name());
  if (it == users_.end()) return ErrUserNotFound();
  users_.erase(it);
  ++revision_;
  InvalidateUser(r.name());
  return absl::OkStatus();
}

absl::Status AuthStore::UserChangePassword(const etcdserverpb::AuthUserChangePasswordRequest& r) {
  auto it = users_.find(r.name());
  if (it == users_.end()) return ErrUserNotFound();
  it->second.set_password(r.password());
  ++revision_;
  InvalidateUser(r.name());
  return absl::OkStatus();
}

absl::Status AuthStore::UserGrantRole(const etcdserverpb::AuthUserGrantRoleRequest& r) {
  auto it = users_.find(r.user());
  if (it == users_.end()) return ErrUserNotFound();
  // The root role need not exist as a role: granting it makes a user an administrator.
  if (r.role() != kRootRole && roles_.count(r.role()) == 0) return ErrRoleNotFound();
  auto* roles = it->second.mutable_roles();
  auto at = std::lower_bound(roles->begin(), roles->end(), r.role());
  if (at != roles->end() && *at == r.role()) return absl::OkStatus();  // granted already: no change, as etcd
  roles->Add(std::string(r.role()));
  std::sort(roles->begin(), roles->end());
  ++revision_;
  return absl::OkStatus();
}

absl::Status AuthStore::UserRevokeRole(const etcdserverpb::AuthUserRevokeRoleRequest& r) {
  if (enabled_ && r.name() == kRootUser && r.role() == kRootRole) return ErrInvalidAuthMgmt();
  auto it = users_.find(r.name());
  if (it == users_.end()) return ErrUserNotFound();
  auto* roles = it->second.mutable_roles();
  auto at = std::find(roles->begin(), roles->end(), r.role());
  if (at == roles->end()) return ErrRoleNotGranted();
  roles->erase(at);
  ++revision_;
  return absl::OkStatus();
}

absl::Status AuthStore::RoleAdd(const etcdserverpb::AuthRoleAddRequest& r) {
  if (r.name().empty()) return ErrRoleEmpty();
  if (roles_.count(r.name()) > 0) return ErrRoleAlreadyExist();
  authpb::Role role;
  role.set_name(r.name());
  roles_.emplace(r.name(), std::move(role));
  ++revision_;
  return absl::OkStatus();
}

absl::Status AuthStore::RoleDelete(const etcdserverpb::AuthRoleDeleteRequest& r) {
  if (enabled_ && r.role() == kRootRole) return ErrInvalidAuthMgmt();
  auto it = roles_.find(r.role());
  if (it == roles_.end()) return ErrRoleNotFound();
  roles_.erase(it);
  for (auto& [name, user] : users_) {
    auto* roles = user.mutable_roles();
    roles->erase(std::remove(roles->begin(), roles->end(), r.role()), roles->end());
  }
  ++revision_;
  return absl::OkStatus();
}

absl::Status AuthStore::RoleGrantPermission(const etcdserverpb::AuthRoleGrantPermissionRequest& r) {
  auto it = roles_.find(r.name());
  if (it == roles_.end()) return ErrRoleNotFound();
  auto* perms = it->second.mutable_keypermission();
  auto same = std::find_if(perms->begin(), perms->end(), [&](const authpb::Permission& p) {
    return p.key() == r.perm().key() && p.range_end() == r.perm().range_end();
  });
  if (same != perms->end()) {
    same->set_permtype(r.perm().permtype());  // the same key or range again: its type changes
  } else {
    authpb::Permission* p = perms->Add();
    p->set_key(r.perm().key());
    p->set_range_end(r.perm().range_end());
    p->set_permtype(r.perm().permtype());
    // Kept by key, as etcd keeps them (a stable sort: permissions on one key keep their order of grant).
    std::stable_sort(perms->begin(), perms->end(),
                     [](const authpb::Permission& a, const authpb::Permission& b) { return a.key() < b.key(); });
  }
  ++revision_;
  return absl::OkStatus();
}

absl::Status AuthStore::RoleRevokePermission(const etcdserverpb::AuthRoleRevokePermissionRequest& r) {
  auto it = roles_.find(r.role());
  if (it == roles_.end()) return ErrRoleNotFound();
  auto* perms = it->second.mutable_keypermission();
  const int before = perms->size();
  perms->erase(std::remove_if(perms->begin(), perms->end(),
                              [&](const authpb::Permission& p) {
                                return p.key() == r.key() && p.range_end() == r.range_end();
                              }),
               perms->end());
  if (perms->size() == before) return ErrPermissionNotGranted();
  ++revision_;
  return absl::OkStatus();
}

absl::Status AuthStore::UserGet(const etcdserverpb::AuthUserGetRequest& r,
                                etcdserverpb::AuthUserGetResponse* resp) const {
  const authpb::User* u = FindUser(r.name());
  if (u == nullptr) return ErrUserNotFound();
  *resp->mutable_roles() = u->roles();
  return absl::OkStatus();
}

void AuthStore::UserList(etcdserverpb::AuthUserListResponse* resp) const {
  for (const auto& [name, u] : users_) resp->add_users(name);
}

absl::Status AuthStore::RoleGet(const etcdserverpb::AuthRoleGetRequest& r,
                                etcdserverpb::AuthRoleGetResponse* resp) const {
  auto it = roles_.find(r.role());
  if (it == roles_.end()) return ErrRoleNotFound();
  *resp->mutable_perm() = it->second.keypermission();
  return absl::OkStatus();
}

void AuthStore::RoleList(etcdserverpb::AuthRoleListResponse* resp) const {
  for (const auto& [name, r] : roles_) resp->add_roles(name);
}

bool AuthStore::HasRole(std::string_view user, std::string_view role) const {
  const authpb::User* u = FindUser(user);
  return u != nullptr && std::find(u->roles().begin(), u->roles().end(), role) != u->roles().end();
}

absl::Status AuthStore::Check(const AuthInfo& who, std::string_view key, std::string_view range_end,
                              bool write) const {
  if (!enabled_) return absl::OkStatus();
  if (who.revision == 0) return ErrUserEmpty();
  if (who.revision < revision_ && !testing_ignore_revision_) return ErrAuthOldRevision();
  const authpb::User* u = FindUser(who.username);
  if (u == nullptr) return ErrPermissionDenied();
  if (HasRootRole(*u)) return absl::OkStatus();
  const std::vector<KeyInterval>& have = write ? MergedFor(*u).write : MergedFor(*u).read;
  // The last interval that begins at or before key: the only one that can hold it.
  auto after = std::upper_bound(have.begin(), have.end(), key,
                                [](std::string_view k, const KeyInterval& i) { return k < i.begin; });
  if (after == have.begin()) return ErrPermissionDenied();
  const KeyInterval& i = *std::prev(after);
  const bool open = range_end == std::string_view("\0", 1);
  if (range_end.empty() || (!open && range_end <= key)) {
    // One key (or a range that holds none but its start).
    return i.open || key < i.end ? absl::OkStatus() : ErrPermissionDenied();
  }
  // A range [key, range_end) (etcd's interval-tree Contains): merged intervals never touch, so one must hold it all.
  if (i.open) return absl::OkStatus();
  if (!open && key < i.end && range_end <= i.end) return absl::OkStatus();
  return ErrPermissionDenied();
}

// etcd's merged permissions: a permission on one key covers [key, key+"\0"); one with range_end "\0" covers every
// key from `key` on.
AuthStore::KeyInterval AuthStore::IntervalOf(const authpb::Permission& p) {
  if (p.range_end().empty()) return KeyInterval{p.key(), p.key() + std::string(1, '\0'), false};
  if (p.range_end() == std::string_view("\0", 1)) return KeyInterval{p.key(), "", true};
  return KeyInterval{p.key(), p.range_end(), false};
}

const AuthStore::MergedPermissions& AuthStore::MergedFor(const authpb::User& u) const {
  if (merged_revision_ != revision_) {
    merged_.clear();
    merged_revision_ = revision_;
  }
  auto found = merged_.find(u.name());
  if (found != merged_.end()) return found->second;
  MergedPermissions m;
  for (bool write : {false, true}) {
    std::vector<KeyInterval> all;
    for (const std::string& role_name : u.roles()) {
      auto it = roles_.find(role_name);
      if (it == roles_.end()) continue;
      for (const authpb::Permission& p : it->second.keypermission()) {
        if (Grants(p.permtype(), write)) all.push_back(IntervalOf(p));
      }
    }
    std::sort(all.begin(), all.end(), [](const KeyInterval& a, const KeyInterval& b) { return a.begin < b.begin; });
    std::vector<KeyInterval>& out = write ? m.write : m.read;
    for (KeyInterval& i : all) {
      if (!out.empty() && (out.back().open || i.begin <= out.back().end)) {
        // Overlaps or touches the last one: one interval.
        if (i.open) {
          out.back().open = true;
          out.back().end.clear();
        } else if (!out.back().open && i.end > out.back().end) {
          out.back().end = std::move(i.end);
        }
        continue;
      }
      out.push_back(std::move(i));
    }
  }
  return merged_.emplace(u.name(), std::move(m)).first->second;
}

absl::Status AuthStore::CheckRead(const AuthInfo& who, std::string_view key, std::string_view range_end) const {
  return Check(who, key, range_end, false);
}

absl::Status AuthStore::CheckWrite(const AuthInfo& who, std::string_view key, std::string_view range_end) const {
  return Check(who, key, range_end, true);
}

absl::Status AuthStore::CheckAdmin(const AuthInfo& who) const {
  if (!enabled_) return absl::OkStatus();
  if (who.username.empty()) return ErrUserEmpty();
  const authpb::User* u = FindUser(who.username);
  if (u == nullptr) return ErrUserNotFound();
  if (!HasRootRole(*u)) return ErrPermissionDenied();
  return absl::OkStatus();
}

absl::Status AuthStore::CheckOps(const AuthInfo& who,
                                 const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops) const {
  for (const etcdserverpb::RequestOp& op : ops) {
    absl::Status s;
    switch (op.request_case()) {
      case etcdserverpb::RequestOp::kRequestRange:
        s = CheckRead(who, op.request_range().key(), op.request_range().range_end());
        break;
      case etcdserverpb::RequestOp::kRequestPut:
        s = CheckWrite(who, op.request_put().key(), "");
        if (s.ok() && op.request_put().prev_kv()) s = CheckRead(who, op.request_put().key(), "");
        break;
      case etcdserverpb::RequestOp::kRequestDeleteRange: {
        const auto& d = op.request_delete_range();
        if (d.prev_kv()) s = CheckRead(who, d.key(), d.range_end());
        if (s.ok()) s = CheckWrite(who, d.key(), d.range_end());
        break;
      }
      case etcdserverpb::RequestOp::kRequestTxn:
        s = CheckTxn(who, op.request_txn());
        break;
      default:
        break;
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status AuthStore::CheckTxn(const AuthInfo& who, const etcdserverpb::TxnRequest& r) const {
  if (!enabled_) return absl::OkStatus();
  for (const etcdserverpb::Compare& c : r.compare()) {
    if (absl::Status s = CheckRead(who, c.key(), c.range_end()); !s.ok()) return s;
  }
  if (absl::Status s = CheckOps(who, r.success()); !s.ok()) return s;
  return CheckOps(who, r.failure());
}

void AuthStore::AssignSimpleToken(const std::string& token, const std::string& user, int64_t expires_us) {
  tokens_[token] = Token{user, expires_us};
}

std::optional<AuthInfo> AuthStore::SimpleTokenInfo(const std::string& token, int64_t renewed_expiry_us) {
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return std::nullopt;
  it->second.expires_us = std::max(it->second.expires_us, renewed_expiry_us);
  return AuthInfo{it->second.user, revision_};
}

void AuthStore::ExpireSimpleTokens(int64_t now_us) {
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    it = it->second.expires_us <= now_us ? tokens_.erase(it) : std::next(it);
  }
}

void AuthStore::InvalidateUser(const std::string& user) {
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    it = it->second.user == user ? tokens_.erase(it) : std::next(it);
  }
}

kvpb::AuthState AuthStore::State() const {
  kvpb::AuthState s;
  s.set_enabled(enabled_);
  s.set_revision(revision_);
  for (const auto& [name, u] : users_) *s.add_users() = u;
  for (const auto& [name, r] : roles_) *s.add_roles() = r;
  return s;
}

absl::Status AuthStore::Restore(const kvpb::AuthState& state) {
  std::map<std::string, authpb::User, std::less<>> users;
  std::map<std::string, authpb::Role, std::less<>> roles;
  for (const authpb::User& u : state.users()) {
    if (u.name().empty() || !users.emplace(u.name(), u).second) {
      return absl::DataLossError("auth state: a user with no name, or two of one name");
    }
  }
  for (const authpb::Role& r : state.roles()) {
    if (r.name().empty() || !roles.emplace(r.name(), r).second) {
      return absl::DataLossError("auth state: a role with no name, or two of one name");
    }
  }
  users_ = std::move(users);
  roles_ = std::move(roles);
  enabled_ = state.enabled();
  // A state from before auth existed (no field): revision 1, as a fresh store's.
  revision_ = state.revision() == 0 ? 1 : state.revision();
  merged_.clear();  // a restored store may hold other roles at the same revision number
  if (!enabled_) {
    tokens_.clear();
  } else {
    for (auto it = tokens_.begin(); it != tokens_.end();) {
      it = users_.count(it->second.user) == 0 ? tokens_.erase(it) : std::next(it);
    }
  }
  return absl::OkStatus();
}

}  // namespace detcd::kv
