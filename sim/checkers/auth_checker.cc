#include "sim/checkers/auth_checker.h"

#include <deque>
#include <string_view>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kv/errors.h"

namespace detcd::sim {
namespace {

// NodeCore's dedup window: a request id applied among the last this many is not applied again.
constexpr size_t kDedupWindow = 10'000;

bool IsAuthChange(const kvpb::ClientRequest& r) {
  switch (r.request_case()) {
    case kvpb::ClientRequest::kAuthEnable:
    case kvpb::ClientRequest::kAuthDisable:
    case kvpb::ClientRequest::kAuthUserAdd:
    case kvpb::ClientRequest::kAuthUserDelete:
    case kvpb::ClientRequest::kAuthUserChangePassword:
    case kvpb::ClientRequest::kAuthUserGrantRole:
    case kvpb::ClientRequest::kAuthUserRevokeRole:
    case kvpb::ClientRequest::kAuthRoleAdd:
    case kvpb::ClientRequest::kAuthRoleDelete:
    case kvpb::ClientRequest::kAuthRoleGrantPermission:
    case kvpb::ClientRequest::kAuthRoleRevokePermission:
      return true;
    default:
      return false;
  }
}

// An auth change applied to the store, as the member's ApplyAuth applies it.
absl::Status ApplyChange(kv::AuthStore* s, const kvpb::ClientRequest& r) {
  switch (r.request_case()) {
    case kvpb::ClientRequest::kAuthEnable:
      return s->Enable();
    case kvpb::ClientRequest::kAuthDisable:
      return s->Disable();
    case kvpb::ClientRequest::kAuthUserAdd:
      return s->UserAdd(r.auth_user_add());
    case kvpb::ClientRequest::kAuthUserDelete:
      return s->UserDelete(r.auth_user_delete());
    case kvpb::ClientRequest::kAuthUserChangePassword:
      return s->UserChangePassword(r.auth_user_change_password());
    case kvpb::ClientRequest::kAuthUserGrantRole:
      return s->UserGrantRole(r.auth_user_grant_role());
    case kvpb::ClientRequest::kAuthUserRevokeRole:
      return s->UserRevokeRole(r.auth_user_revoke_role());
    case kvpb::ClientRequest::kAuthRoleAdd:
      return s->RoleAdd(r.auth_role_add());
    case kvpb::ClientRequest::kAuthRoleDelete:
      return s->RoleDelete(r.auth_role_delete());
    case kvpb::ClientRequest::kAuthRoleGrantPermission:
      return s->RoleGrantPermission(r.auth_role_grant_permission());
    case kvpb::ClientRequest::kAuthRoleRevokePermission:
      return s->RoleRevokePermission(r.auth_role_revoke_permission());
    default:
      return absl::InvalidArgumentError("not an auth change");
  }
}

bool IsClientWrite(const kvpb::ClientRequest& r) {
  return !r.auth().internal() && (r.has_put() || r.has_delete_range() || r.has_txn());
}

// A request as the workload sent it: what a client write's entry and its operation have in common.
std::string Canonical(const kvpb::ClientRequest& r) {
  kvpb::ClientRequest plain = r;
  plain.clear_auth();
  return plain.SerializeAsString();
}

const char* OutcomeName(AuthOp::Outcome o) {
  switch (o) {
    case AuthOp::Outcome::kOk:
      return "OK";
    case AuthOp::Outcome::kDenied:
      return "permission denied";
    case AuthOp::Outcome::kOldRevision:
      return "revision of auth store is old";
    case AuthOp::Outcome::kOther:
      return "another error";
  }
  return "?";
}

std::string Seconds(int64_t us) { return absl::StrCat(us / 1'000'000, ".", absl::Dec(us / 1000 % 1000, absl::kZeroPad3)); }

}  // namespace

AuthOp::Outcome AuthOutcomeOf(const absl::Status& s) {
  if (s.ok()) return AuthOp::Outcome::kOk;
  if (s == kv::ErrPermissionDenied()) return AuthOp::Outcome::kDenied;
  if (s == kv::ErrAuthOldRevision()) return AuthOp::Outcome::kOldRevision;
  return AuthOp::Outcome::kOther;
}

absl::Status AuthPermission(const kv::AuthStore& s, const kv::AuthInfo& who, const kvpb::ClientRequest& r) {
  switch (r.request_case()) {
    case kvpb::ClientRequest::kRange:
      return s.CheckRead(who, r.range().key(), r.range().range_end());
    case kvpb::ClientRequest::kPut: {
      if (absl::Status st = s.CheckWrite(who, r.put().key(), ""); !st.ok()) return st;
      return r.put().prev_kv() ? s.CheckRead(who, r.put().key(), "") : absl::OkStatus();
    }
    case kvpb::ClientRequest::kDeleteRange: {
      const etcdserverpb::DeleteRangeRequest& d = r.delete_range();
      if (absl::Status st = s.CheckWrite(who, d.key(), d.range_end()); !st.ok()) return st;
      return d.prev_kv() ? s.CheckRead(who, d.key(), d.range_end()) : absl::OkStatus();
    }
    case kvpb::ClientRequest::kTxn:
      return s.CheckTxn(who, r.txn());
    default:
      return absl::OkStatus();
  }
}

void AuthChecker::OnApply(const raftpb::Entry& e, int64_t now_us) {
  if (log_.count(e.index()) > 0) return;
  log_.emplace(e.index(), Seen{e.type(), e.data(), now_us});
  stats_.entries = log_.size();
}

void AuthChecker::Replay() {
  kv::AuthStore store;
  at_revision_.clear();
  writes_.clear();
  at_revision_.emplace(store.revision(), store);
  std::set<uint64_t> recent;
  std::deque<uint64_t> order;
  uint64_t next = 1;
  for (const auto& [index, seen] : log_) {
    if (index != next) {
      replay_complete_ = false;  // nobody was seen applying `next`: what follows cannot be replayed
      break;
    }
    ++next;
    if (seen.type != raftpb::ENTRY_NORMAL || seen.data.empty()) continue;
    kvpb::RaftRequest req;
    if (!req.ParseFromString(seen.data)) continue;
    if (req.id() != 0) {
      if (!recent.insert(req.id()).second) continue;  // a duplicate: the member skips it
      order.push_back(req.id());
      if (order.size() > kDedupWindow) {
        recent.erase(order.front());
        order.pop_front();
      }
    }
    const kvpb::ClientRequest& r = req.request();
    const kv::AuthInfo who{r.auth().username(), r.auth().revision()};
    if (IsAuthChange(r)) {
      absl::Status s = !store.enabled() || r.auth().internal() ? absl::OkStatus() : store.CheckAdmin(who);
      if (s.ok()) s = ApplyChange(&store, r);
      if (s.ok()) {
        ++stats_.auth_changes;
        at_revision_.insert_or_assign(store.revision(), store);
      }
      continue;
    }
    if (!IsClientWrite(r)) continue;
    AppliedWrite w;
    w.index = index;
    w.user = who.username;
    w.revision = who.revision;
    const absl::Status expected = store.enabled() ? AuthPermission(store, who, r) : absl::OkStatus();
    w.expected = AuthOutcomeOf(expected);
    w.why = absl::StrCat(expected.ok() ? "OK" : expected.message(), " (the store at auth revision ", store.revision(),
                         ")");
    w.first_apply_us = seen.first_apply_us;
    writes_.emplace(Canonical(r), std::move(w));
  }
  stats_.revisions = at_revision_.size();
}

const kv::AuthStore* AuthChecker::AtRevision(uint64_t revision) const {
  auto it = at_revision_.find(revision);
  return it == at_revision_.end() ? nullptr : &it->second;
}

std::string AuthChecker::Check(const std::vector<AuthOp>& ops) {
  violation_us_ = -1;
  stats_ = AuthCheckerStats{};
  stats_.entries = log_.size();
  replay_complete_ = true;
  Replay();
  for (const AuthOp& op : ops) {
    if (std::string v = CheckOp(op); !v.empty()) {
      violation_us_ = op.complete_us;
      return v;
    }
  }
  return "";
}

std::string AuthChecker::Describe(const AuthOp& op) const {
  return absl::StrCat("client ", op.client, " (user ", op.user, ") on host ", op.host, ": ",
                      op.request.ShortDebugString(), " admitted at auth revision ", op.admitted_revision,
                      ", invoked at ", Seconds(op.invoke_us), " s, answered at ", Seconds(op.complete_us), " s: ",
                      OutcomeName(op.outcome));
}

std::string AuthChecker::Permissions(const kv::AuthStore& s, const std::string& user) const {
  etcdserverpb::AuthUserGetRequest get;
  get.set_name(user);
  etcdserverpb::AuthUserGetResponse u;
  if (!s.UserGet(get, &u).ok()) return absl::StrCat("user ", user, " does not exist");
  std::vector<std::string> roles;
  for (const std::string& role : u.roles()) {
    etcdserverpb::AuthRoleGetRequest rget;
    rget.set_role(role);
    etcdserverpb::AuthRoleGetResponse perms;
    if (!s.RoleGet(rget, &perms).ok()) {
      roles.push_back(absl::StrCat(role, " (no such role)"));
      continue;
    }
    std::vector<std::string> ps;
    for (const authpb::Permission& p : perms.perm()) {
      const std::string end = p.range_end().empty()                        ? ""
                              : p.range_end() == std::string_view("\0", 1) ? " .. (every key after)"
                                                                           : absl::StrCat(" .. ", p.range_end());
      ps.push_back(absl::StrCat(authpb::Permission::Type_Name(p.permtype()), " ", p.key(), end));
    }
    roles.push_back(absl::StrCat(role, " {", absl::StrJoin(ps, "; "), "}"));
  }
  return absl::StrCat("user ", user, " has roles [", absl::StrJoin(roles, ", "), "]");
}

std::string AuthChecker::CheckOp(const AuthOp& op) {
  if (op.outcome == AuthOp::Outcome::kOther || !op.admitted || op.complete_us < 0) return "";
  const bool read = op.request.has_range();
  if (read && op.outcome == AuthOp::Outcome::kOldRevision) {
    ++stats_.unchecked;  // the serving member's revision is not known
    return "";
  }
  const kv::AuthStore* s = AtRevision(op.admitted_revision);
  if (s == nullptr) {
    ++stats_.unchecked;  // beyond the replay
    return "";
  }
  ++stats_.ops_checked;
  const kv::AuthInfo who{op.user, op.admitted_revision};
  const AuthOp::Outcome at_admission = AuthOutcomeOf(AuthPermission(*s, who, op.request));
  if ((op.outcome == AuthOp::Outcome::kOk && at_admission != AuthOp::Outcome::kOk) ||
      (op.outcome == AuthOp::Outcome::kDenied && at_admission == AuthOp::Outcome::kOk)) {
    return absl::StrCat(Describe(op), "; but the permissions in force at its admission ",
                        at_admission == AuthOp::Outcome::kOk ? "allowed" : "forbade", " it (",
                        Permissions(*s, op.user), ")");
  }
  if (read) return "";
  // The write against its entry: what the member had to answer when the entry applied.
  auto [lo, hi] = writes_.equal_range(Canonical(op.request));
  const AppliedWrite* seen = nullptr;
  for (auto it = lo; it != hi; ++it) {
    const AppliedWrite& w = it->second;
    if (w.user != op.user || w.first_apply_us < op.invoke_us || w.first_apply_us > op.complete_us) continue;
    if (w.expected == op.outcome && w.revision == op.admitted_revision) {
      ++stats_.writes_matched;
      return "";
    }
    seen = &w;
  }
  if (seen == nullptr) {
    // A write the member refused before proposing it leaves no entry; a denial was checked above.
    if (op.outcome == AuthOp::Outcome::kDenied) return "";
    if (!replay_complete_) {
      ++stats_.unchecked;
      return "";
    }
    return absl::StrCat(Describe(op), "; but no member applied an entry of it while it was in flight");
  }
  // A delete may have several candidates: denied by one applied then is enough (checked above), an answer no
  // candidate explains is not.
  if (op.outcome == AuthOp::Outcome::kDenied) return "";
  const kv::AuthStore* then = AtRevision(seen->revision);
  return absl::StrCat(Describe(op), "; but its entry ", seen->index, " carries auth revision ", seen->revision,
                      " and when it applied the member had to answer: ", seen->why,
                      then != nullptr ? absl::StrCat(" (", Permissions(*then, op.user), " at revision ",
                                                     seen->revision, ")")
                                      : "");
}

}  // namespace detcd::sim
