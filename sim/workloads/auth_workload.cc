#include "sim/workloads/auth_workload.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "kv/errors.h"

namespace detcd::sim {
namespace {

// The message of a reply the client made up itself: it gave up waiting (the outcome is unknown).
constexpr char kClientTimeout[] = "client gave up waiting";

const std::string kAllFrom(1, '\0');

// A token refused as invalid this soon after it was obtained may be one the member has not applied yet.
constexpr int64_t kFreshTokenUs = 500'000;

}  // namespace

AuthWorkload::AuthWorkload(const AuthWorkloadOptions& options, KvCluster* cluster, EventLoop* loop, Prng* prng,
                           Trace* trace)
    : options_(options), cluster_(cluster), loop_(loop), prng_(prng), trace_(trace) {
  DETCD_CHECK_MSG(options_.keys >= 1 && options_.keys <= 99, "the auth workload has 1..99 keys");
  DETCD_CHECK_MSG(options_.users >= 1 && options_.roles >= 1, "the auth workload needs users and roles");
  for (uint64_t host = 1; host <= static_cast<uint64_t>(cluster_->size()); ++host) {
    if (cluster_->member(host) != 0) endpoints_.push_back(host);
  }
  DETCD_CHECK(!endpoints_.empty());
  for (int i = 0; i < options_.users; ++i) users_.push_back(absl::StrCat("u", i));
  for (int i = 0; i < options_.roles; ++i) roles_.push_back(absl::StrCat("r", i));
  for (int i = 0; i <= options_.clients; ++i) {
    Actor a;
    a.index = i;
    a.user = i == options_.clients ? kv::AuthStore::kRootUser : users_[static_cast<size_t>(i % options_.users)];
    actors_.push_back(a);
  }
}

std::string AuthWorkload::Key(int i) { return absl::StrCat("auth/k", absl::Dec(i, absl::kZeroPad2)); }

int64_t AuthWorkload::Latency() {
  return static_cast<int64_t>(prng_->Range(static_cast<uint64_t>(options_.client_latency_min_us),
                                           static_cast<uint64_t>(options_.client_latency_max_us)));
}

int64_t AuthWorkload::Think(double per_sec_mean) {
  const int64_t mean_us = per_sec_mean > 0 ? static_cast<int64_t>(1e6 / per_sec_mean) : 1'000'000;
  return static_cast<int64_t>(prng_->Range(1, static_cast<uint64_t>(2 * std::max<int64_t>(1, mean_us))));
}

void AuthWorkload::After(int64_t delay_us, std::function<void()> fn) { loop_->ScheduleAfter(delay_us, std::move(fn)); }

void AuthWorkload::Send(Actor& a, uint64_t host, kvpb::ClientRequest req, ReplyFn done, KvCluster::AdmitFn admitted) {
  if (host == 0) {
    const auto it = std::upper_bound(endpoints_.begin(), endpoints_.end(), a.member);
    host = it == endpoints_.end() ? endpoints_[0] : *it;
  }
  a.member = host;
  const int idx = a.index;
  const uint64_t attempt = ++a.attempt;
  ++stats_.requests;
  ++in_flight_;
  // Whichever comes first, the reply or the client's own deadline, answers; the other is ignored.
  auto finish = std::make_shared<ReplyFn>([this, idx, attempt, done = std::move(done)](const kv::ClientReply& r) {
    Actor& me = actors_[static_cast<size_t>(idx)];
    if (me.attempt != attempt) return;
    ++me.attempt;
    --in_flight_;
    done(r);
  });
  After(Latency(), [this, host, req = std::move(req), finish, admitted = std::move(admitted), idx] {
    trace_->Record(loop_->Now(), absl::StrCat("auth actor ", idx, " -> node ", host, ": ", req.ShortDebugString()));
    const bool sent = cluster_->Submit(
        host, req,
        [this, finish, idx, host](const kv::ClientReply& reply) {
          trace_->Record(loop_->Now(), absl::StrCat("auth actor ", idx, " <- node ", host, ": ",
                                                    reply.status.ok() ? reply.response.ShortDebugString()
                                                                      : std::string(reply.status.message())));
          After(Latency(), [finish, reply] { (*finish)(reply); });
        },
        admitted);
    if (!sent) {
      kv::ClientReply refused;
      refused.status = absl::UnavailableError("connection refused");
      (*finish)(refused);
    }
  });
  After(options_.request_timeout_us, [finish] {
    kv::ClientReply timeout;
    timeout.status = absl::DeadlineExceededError(kClientTimeout);
    (*finish)(timeout);
  });
}

void AuthWorkload::Start(int64_t stop_us) {
  stop_us_ = stop_us;
  trace_->Record(loop_->Now(), "auth: setting up users, roles and permissions");
  setup_ = SetUpRequests();
  SetUpStep(0);
}

authpb::Permission AuthWorkload::RandomPermission() {
  authpb::Permission p;
  const int i = static_cast<int>(prng_->Range(0, static_cast<uint64_t>(options_.keys - 1)));
  const uint64_t kind = prng_->Range(0, 9);
  if (kind < 4) {  // one key
    p.set_key(Key(i));
  } else if (kind < 7) {  // a range of keys
    p.set_key(Key(i));
    p.set_range_end(Key(static_cast<int>(prng_->Range(static_cast<uint64_t>(i + 1),
                                                      static_cast<uint64_t>(options_.keys)))));
  } else if (kind < 8) {  // the prefix of every key
    p.set_key("auth/");
    p.set_range_end("auth0");
  } else {  // every key from one on
    p.set_key(Key(i));
    p.set_range_end(kAllFrom);
  }
  const uint64_t type = prng_->Range(0, 2);
  p.set_permtype(type == 0 ? authpb::Permission::READ : type == 1 ? authpb::Permission::WRITE
                                                                  : authpb::Permission::READWRITE);
  return p;
}

std::vector<kvpb::ClientRequest> AuthWorkload::SetUpRequests() {
  std::vector<kvpb::ClientRequest> out;
  auto user_add = [&](const std::string& name) {
    kvpb::ClientRequest r;
    r.mutable_auth_user_add()->set_name(name);
    r.mutable_auth_user_add()->set_password(Hash(Password(name)));
    out.push_back(r);
  };
  auto role_add = [&](const std::string& name) {
    kvpb::ClientRequest r;
    r.mutable_auth_role_add()->set_name(name);
    out.push_back(r);
  };
  auto grant_role = [&](const std::string& user, const std::string& role) {
    kvpb::ClientRequest r;
    r.mutable_auth_user_grant_role()->set_user(user);
    r.mutable_auth_user_grant_role()->set_role(role);
    out.push_back(r);
    if (user != kv::AuthStore::kRootUser) user_roles_.emplace(user, role);
  };
  user_add(kv::AuthStore::kRootUser);
  role_add(kv::AuthStore::kRootRole);
  grant_role(kv::AuthStore::kRootUser, kv::AuthStore::kRootRole);
  for (const std::string& role : roles_) {
    role_add(role);
    for (int i = 0; i < 3; ++i) {
      kvpb::ClientRequest r;
      r.mutable_auth_role_grant_permission()->set_name(role);
      *r.mutable_auth_role_grant_permission()->mutable_perm() = RandomPermission();
      const authpb::Permission& p = r.auth_role_grant_permission().perm();
      granted_.emplace(role, p.key(), p.range_end());
      out.push_back(r);
    }
  }
  for (size_t i = 0; i < users_.size(); ++i) {
    user_add(users_[i]);
    grant_role(users_[i], roles_[i % roles_.size()]);
    if (prng_->Chance(0.5)) grant_role(users_[i], roles_[prng_->Uniform(roles_.size())]);
  }
  kvpb::ClientRequest enable;
  enable.mutable_auth_enable();
  out.push_back(enable);
  return out;
}

void AuthWorkload::SetUpStep(size_t step) {
  if (step == setup_.size()) {
    set_up_ = true;
    trace_->Record(loop_->Now(), "auth: enabled; the administrator and the clients start");
    if (loop_->Now() >= stop_us_) return;
    ScheduleChange();
    for (int c = 0; c < options_.clients; ++c) ScheduleClient(c);
    return;
  }
  const bool enabling = setup_[step].has_auth_enable();
  Send(admin(), 0, setup_[step], [this, step, enabling](const kv::ClientReply& r) {
    // Retried after an unknown outcome, a step may find itself done already (auth on: the retried enable, made
    // without credentials, is refused as having none).
    const bool done = r.status.ok() || r.status == kv::ErrUserAlreadyExist() || r.status == kv::ErrRoleAlreadyExist() ||
                      (enabling && r.status == kv::ErrUserEmpty());
    if (done) return SetUpStep(step + 1);
    After(static_cast<int64_t>(prng_->Range(50'000, 200'000)), [this, step] { SetUpStep(step); });
  });
}

void AuthWorkload::Login(int actor, std::function<void()> then) {
  Actor& a = actors_[static_cast<size_t>(actor)];
  a.token.clear();
  auto retry = [this, actor, then] {
    if (loop_->Now() >= stop_us_) return;  // the run's clients have stopped
    After(static_cast<int64_t>(prng_->Range(50'000, 300'000)), [this, actor, then] { Login(actor, then); });
  };
  kvpb::ClientRequest lookup;
  lookup.mutable_auth_password_lookup()->set_name(a.user);
  Send(a, 0, lookup, [this, actor, then, retry](const kv::ClientReply& info) {
    Actor& me = actors_[static_cast<size_t>(actor)];
    if (!info.status.ok()) return retry();
    // The driver's password check, against the hash the member keeps.
    if (info.response.auth_password_lookup().hash() != Hash(Password(me.user))) {
      trace_->Record(loop_->Now(), absl::StrCat("auth actor ", actor, ": wrong hash for ", me.user));
      return retry();
    }
    kvpb::ClientRequest auth;
    auth.mutable_authenticate()->set_name(me.user);
    auth.mutable_authenticate()->set_simple_token_prefix(absl::StrCat(absl::Hex(prng_->Next(), absl::kZeroPad16)));
    auth.mutable_authenticate()->set_checked_revision(info.response.auth_password_lookup().revision());
    // The same member: the one whose store the password was checked against.
    Send(me, me.member, auth, [this, actor, then, retry](const kv::ClientReply& r) {
      if (!r.status.ok() || r.response.authenticate().token().empty()) return retry();
      Actor& done = actors_[static_cast<size_t>(actor)];
      done.token = r.response.authenticate().token();
      done.login_us = loop_->Now();
      ++stats_.logins;
      if (options_.relogin_every_us > 0) {
        done.relogin_at_us = loop_->Now() + static_cast<int64_t>(prng_->Range(
                                                static_cast<uint64_t>(options_.relogin_every_us / 2),
                                                static_cast<uint64_t>(3 * options_.relogin_every_us / 2)));
      }
      then();
    });
  });
}

void AuthWorkload::ScheduleClient(int c) {
  const int64_t delay = Think(options_.ops_per_sec / std::max(1, options_.clients));
  if (loop_->Now() + delay >= stop_us_) return;
  After(delay, [this, c] { ClientStep(c); });
}

kvpb::ClientRequest AuthWorkload::RandomOp() {
  kvpb::ClientRequest req;
  auto key = [this] { return static_cast<int>(prng_->Range(0, static_cast<uint64_t>(options_.keys - 1))); };
  auto above = [this](int i) {
    return static_cast<int>(prng_->Range(static_cast<uint64_t>(i + 1), static_cast<uint64_t>(options_.keys)));
  };
  const uint64_t roll = prng_->Range(0, 99);
  const int i = key();
  if (roll < 35) {
    req.mutable_range()->set_key(Key(i));
    req.mutable_range()->set_serializable(prng_->Chance(0.5));
  } else if (roll < 45) {
    if (prng_->Chance(0.3)) {
      req.mutable_range()->set_key("auth/");
      req.mutable_range()->set_range_end("auth0");
    } else {
      req.mutable_range()->set_key(Key(i));
      req.mutable_range()->set_range_end(Key(above(i)));
    }
    req.mutable_range()->set_serializable(prng_->Chance(0.5));
  } else if (roll < 70) {
    req.mutable_put()->set_key(Key(i));
    req.mutable_put()->set_value(absl::StrCat("v", next_value_++));  // unique: the checker finds its entry by it
    req.mutable_put()->set_prev_kv(prng_->Chance(0.2));
  } else if (roll < 80) {
    req.mutable_delete_range()->set_key(Key(i));
    if (prng_->Chance(0.3)) req.mutable_delete_range()->set_range_end(Key(above(i)));
    req.mutable_delete_range()->set_prev_kv(prng_->Chance(0.2));
  } else {
    etcdserverpb::TxnRequest* txn = req.mutable_txn();
    etcdserverpb::Compare* cmp = txn->add_compare();
    cmp->set_key(Key(i));
    cmp->set_result(etcdserverpb::Compare::EQUAL);
    cmp->set_target(etcdserverpb::Compare::VALUE);
    cmp->set_value(absl::StrCat("v", prng_->Range(1, static_cast<uint64_t>(next_value_))));
    etcdserverpb::PutRequest* put = txn->add_success()->mutable_request_put();
    // Often one key throughout: a txn whose parts all need different permissions is seldom allowed.
    const bool one_key = prng_->Chance(0.5);
    put->set_key(one_key ? Key(i) : Key(key()));
    put->set_value(absl::StrCat("v", next_value_++));
    txn->add_failure()->mutable_request_range()->set_key(one_key ? Key(i) : Key(key()));
  }
  return req;
}

void AuthWorkload::ClientStep(int c) {
  if (loop_->Now() >= stop_us_) return;
  Actor& a = actors_[static_cast<size_t>(c)];
  if (a.token.empty() || (options_.relogin_every_us > 0 && loop_->Now() >= a.relogin_at_us)) {
    return Login(c, [this, c] { ClientStep(c); });
  }
  const size_t op = ops_.size();
  AuthOp rec;
  rec.client = c;
  rec.user = a.user;
  rec.request = RandomOp();
  rec.invoke_us = loop_->Now();
  const auto it = std::upper_bound(endpoints_.begin(), endpoints_.end(), a.member);
  rec.host = it == endpoints_.end() ? endpoints_[0] : *it;
  kvpb::ClientRequest req = rec.request;
  req.mutable_auth()->set_simple_token(a.token);
  const uint64_t host = rec.host;
  const std::string token = a.token;
  ops_.push_back(std::move(rec));
  Send(
      a, host, std::move(req),
      [this, c, op, token](const kv::ClientReply& r) {
        AuthOp& rec = ops_[op];
        if (r.status.message() == kClientTimeout) {
          ++stats_.unknown;
        } else {
          rec.complete_us = loop_->Now();
          rec.outcome = AuthOutcomeOf(r.status);
          if (!r.status.ok()) rec.error = std::string(r.status.message());
          switch (rec.outcome) {
            case AuthOp::Outcome::kOk:
              ++stats_.ok;
              break;
            case AuthOp::Outcome::kDenied:
              ++stats_.denied;
              break;
            case AuthOp::Outcome::kOldRevision:
              ++stats_.old_revision;
              break;
            case AuthOp::Outcome::kOther:
              break;
          }
        }
        Actor& me = actors_[static_cast<size_t>(c)];
        if (r.status == kv::ErrInvalidAuthToken()) {
          ++stats_.invalid_token;
          // A restarted member, or a password set: log in again — unless the token is so new that the member may
          // just not have applied its authentication yet (the next request goes to the next member).
          if (me.token == token && loop_->Now() - me.login_us >= kFreshTokenUs) me.token.clear();
        }
        ScheduleClient(c);
      },
      [this, op](const kv::NodeCore& core) {
        ops_[op].admitted = true;
        ops_[op].admitted_revision = core.auth().revision();
      });
}

kvpb::ClientRequest AuthWorkload::RandomChange() {
  kvpb::ClientRequest req;
  const uint64_t roll = prng_->Range(0, 99);
  const std::string& role = roles_[prng_->Uniform(roles_.size())];
  const std::string& user = users_[prng_->Uniform(users_.size())];
  if (roll >= 45 && roll < 70 && !granted_.empty()) {
    auto it = granted_.begin();
    std::advance(it, static_cast<long>(prng_->Uniform(granted_.size())));
    auto* r = req.mutable_auth_role_revoke_permission();
    r->set_role(std::get<0>(*it));
    r->set_key(std::get<1>(*it));
    r->set_range_end(std::get<2>(*it));
  } else if (roll >= 70 && roll < 82) {
    req.mutable_auth_user_grant_role()->set_user(user);
    req.mutable_auth_user_grant_role()->set_role(role);
  } else if (roll >= 82 && roll < 94 && !user_roles_.empty()) {
    auto it = user_roles_.begin();
    std::advance(it, static_cast<long>(prng_->Uniform(user_roles_.size())));
    req.mutable_auth_user_revoke_role()->set_name(it->first);
    req.mutable_auth_user_revoke_role()->set_role(it->second);
  } else if (roll >= 94) {
    // The same password again: the user's tokens go (etcd invalidates them), its clients log in again.
    req.mutable_auth_user_change_password()->set_name(user);
    req.mutable_auth_user_change_password()->set_password(Hash(Password(user)));
  } else {
    req.mutable_auth_role_grant_permission()->set_name(role);
    *req.mutable_auth_role_grant_permission()->mutable_perm() = RandomPermission();
  }
  return req;
}

void AuthWorkload::ScheduleChange() {
  const int64_t delay = static_cast<int64_t>(prng_->Range(1, static_cast<uint64_t>(2 * options_.change_every_us)));
  if (loop_->Now() + delay >= stop_us_) return;
  After(delay, [this] { Change(); });
}

void AuthWorkload::Change() {
  if (loop_->Now() >= stop_us_) return;
  Actor& a = admin();
  if (a.token.empty()) return Login(a.index, [this] { Change(); });
  kvpb::ClientRequest req = RandomChange();
  kvpb::ClientRequest sent = req;
  sent.mutable_auth()->set_simple_token(a.token);
  const std::string token = a.token;
  Send(a, 0, std::move(sent), [this, req, token](const kv::ClientReply& r) {
    if (r.status.ok()) ++stats_.changes;
    const bool ok = r.status.ok();
    if (req.has_auth_role_grant_permission() && ok) {
      const auto& g = req.auth_role_grant_permission();
      granted_.emplace(g.name(), g.perm().key(), g.perm().range_end());
    } else if (req.has_auth_role_revoke_permission() && (ok || r.status == kv::ErrPermissionNotGranted())) {
      const auto& v = req.auth_role_revoke_permission();
      granted_.erase({v.role(), v.key(), v.range_end()});
    } else if (req.has_auth_user_grant_role() && ok) {
      user_roles_.emplace(req.auth_user_grant_role().user(), req.auth_user_grant_role().role());
    } else if (req.has_auth_user_revoke_role() && (ok || r.status == kv::ErrRoleNotGranted())) {
      user_roles_.erase({req.auth_user_revoke_role().name(), req.auth_user_revoke_role().role()});
    }
    if (r.status == kv::ErrInvalidAuthToken() && admin().token == token) admin().token.clear();
    ScheduleChange();
  });
}

}  // namespace detcd::sim
