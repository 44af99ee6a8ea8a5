// NodeCore: client requests — etcd's checks at the edge, proposals and their answers, linearizable reads through
// batched ReadIndex rounds, the leader's lease requests and lease expiry, time-outs, response headers, and the
// maintenance requests served from local state (HashKV, Hash) or through Raft (leader transfer).
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/crc32c.h"
#include "kv/errors.h"
#include "kv/node_core.h"
#include "kv/request_check.h"

namespace detcd::kv {


uint64_t NodeCore::NextId() { return id_prefix_ | (++id_counter_ & 0xffffff); }

void NodeCore::FillHeader(etcdserverpb::ResponseHeader* h) const {
  h->set_cluster_id(config_.cluster_id);
  h->set_member_id(config_.id);
  h->set_raft_term(raft_->raft().term());
  if (h->revision() == 0) h->set_revision(store_.rev());
}

etcdserverpb::ResponseHeader NodeCore::Header() const {
  etcdserverpb::ResponseHeader h;
  FillHeader(&h);
  return h;
}

void NodeCore::FillHeaders(kvpb::ClientResponse* r) const {
  switch (r->response_case()) {
    case kvpb::ClientResponse::kRange:
      return FillHeader(r->mutable_range()->mutable_header());
    case kvpb::ClientResponse::kPut:
      return FillHeader(r->mutable_put()->mutable_header());
    case kvpb::ClientResponse::kDeleteRange:
      return FillHeader(r->mutable_delete_range()->mutable_header());
    case kvpb::ClientResponse::kTxn: {
      FillHeader(r->mutable_txn()->mutable_header());
      return;
    }
    case kvpb::ClientResponse::kCompaction:
      return FillHeader(r->mutable_compaction()->mutable_header());
    case kvpb::ClientResponse::kLeaseGrant:
      return FillHeader(r->mutable_lease_grant()->mutable_header());
    case kvpb::ClientResponse::kLeaseRevoke:
      return FillHeader(r->mutable_lease_revoke()->mutable_header());
    case kvpb::ClientResponse::kLeaseKeepAlive:
      return FillHeader(r->mutable_lease_keep_alive()->mutable_header());
    case kvpb::ClientResponse::kLeaseTimeToLive:
      return FillHeader(r->mutable_lease_time_to_live()->mutable_header());
    case kvpb::ClientResponse::kLeaseLeases:
      return FillHeader(r->mutable_lease_leases()->mutable_header());
    case kvpb::ClientResponse::kAlarm:
      return FillHeader(r->mutable_alarm()->mutable_header());
    case kvpb::ClientResponse::kAuthEnable:
      return FillHeader(r->mutable_auth_enable()->mutable_header());
    case kvpb::ClientResponse::kAuthDisable:
      return FillHeader(r->mutable_auth_disable()->mutable_header());
    case kvpb::ClientResponse::kAuthenticate:
      return FillHeader(r->mutable_authenticate()->mutable_header());
    case kvpb::ClientResponse::kAuthUserAdd:
      return FillHeader(r->mutable_auth_user_add()->mutable_header());
    case kvpb::ClientResponse::kAuthUserGet:
      return FillHeader(r->mutable_auth_user_get()->mutable_header());
    case kvpb::ClientResponse::kAuthUserList:
      return FillHeader(r->mutable_auth_user_list()->mutable_header());
    case kvpb::ClientResponse::kAuthUserDelete:
      return FillHeader(r->mutable_auth_user_delete()->mutable_header());
    case kvpb::ClientResponse::kAuthUserChangePassword:
      return FillHeader(r->mutable_auth_user_change_password()->mutable_header());
    case kvpb::ClientResponse::kAuthUserGrantRole:
      return FillHeader(r->mutable_auth_user_grant_role()->mutable_header());
    case kvpb::ClientResponse::kAuthUserRevokeRole:
      return FillHeader(r->mutable_auth_user_revoke_role()->mutable_header());
    case kvpb::ClientResponse::kAuthRoleAdd:
      return FillHeader(r->mutable_auth_role_add()->mutable_header());
    case kvpb::ClientResponse::kAuthRoleGet:
      return FillHeader(r->mutable_auth_role_get()->mutable_header());
    case kvpb::ClientResponse::kAuthRoleList:
      return FillHeader(r->mutable_auth_role_list()->mutable_header());
    case kvpb::ClientResponse::kAuthRoleDelete:
      return FillHeader(r->mutable_auth_role_delete()->mutable_header());
    case kvpb::ClientResponse::kAuthRoleGrantPermission:
      return FillHeader(r->mutable_auth_role_grant_permission()->mutable_header());
    case kvpb::ClientResponse::kAuthRoleRevokePermission:
      return FillHeader(r->mutable_auth_role_revoke_permission()->mutable_header());
    // etcd's cluster server fills its headers without a revision.
    case kvpb::ClientResponse::kMemberAdd:
      FillHeader(r->mutable_member_add()->mutable_header());
      return r->mutable_member_add()->mutable_header()->clear_revision();
    case kvpb::ClientResponse::kMemberRemove:
      FillHeader(r->mutable_member_remove()->mutable_header());
      return r->mutable_member_remove()->mutable_header()->clear_revision();
    case kvpb::ClientResponse::kMemberUpdate:
      FillHeader(r->mutable_member_update()->mutable_header());
      return r->mutable_member_update()->mutable_header()->clear_revision();
    case kvpb::ClientResponse::kMemberPromote:
      FillHeader(r->mutable_member_promote()->mutable_header());
      return r->mutable_member_promote()->mutable_header()->clear_revision();
    default:
      return;
  }
}

void NodeCore::Reply(uint64_t request_id, absl::Status status, kvpb::ClientResponse response) {
  ClientReply r;
  r.request_id = request_id;
  r.status = std::move(status);
  if (r.status.ok()) {
    r.response = std::move(response);
    FillHeaders(&r.response);
  }
  out_replies_.push_back(std::move(r));
}

absl::Status NodeCore::CheckWrite(const kvpb::ClientRequest& request) const {
  switch (request.request_case()) {
    case kvpb::ClientRequest::kPut:
      return CheckPut(request.put());
    case kvpb::ClientRequest::kDeleteRange:
      return CheckDeleteRange(request.delete_range());
    case kvpb::ClientRequest::kTxn:
      return CheckTxn(request.txn(), config_.max_txn_ops);
    default:
      return absl::OkStatus();
  }
}

absl::StatusOr<AuthInfo> NodeCore::ResolveAuth(const kvpb::RequestAuth& auth) {
  if (auth.invalid_token()) return ErrInvalidAuthToken();
  if (auth.certificate()) return AuthInfo{auth.username(), auth_.revision()};
  if (auth.simple_token().empty()) return AuthInfo{auth.username(), auth.revision()};
  std::optional<AuthInfo> who = auth_.SimpleTokenInfo(auth.simple_token(), now_us_ + config_.simple_token_ttl_us);
  if (!who.has_value()) return ErrInvalidAuthToken();
  return *who;
}

void NodeCore::Submit(uint64_t request_id, const kvpb::ClientRequest& request) {
  if (!request.auth().simple_token().empty() || request.auth().invalid_token() || request.auth().certificate()) {
    // The token is this member's to resolve: the request goes on (and into the log) with its user and revision.
    absl::StatusOr<AuthInfo> who = ResolveAuth(request.auth());
    if (!who.ok()) return Reply(request_id, who.status());
    kvpb::ClientRequest resolved = request;
    resolved.mutable_auth()->clear_simple_token();
    resolved.mutable_auth()->clear_certificate();
    resolved.mutable_auth()->set_username(who->username);
    resolved.mutable_auth()->set_revision(who->revision);
    return Submit(request_id, resolved);
  }
  const AuthInfo who{request.auth().username(), request.auth().revision()};
  const int64_t deadline = ticks_ + config_.request_timeout_ticks;
  if (IsLoggedAuthRequest(request)) {
    if (raft_->raft().log().committed() > applied_index_ + kMaxApplyGap) return Reply(request_id, ErrTooManyRequests());
    Propose(request_id, request);
    Pump();
    return;
  }
  // etcd 3.4: a learner serves serializable reads only (and its status, outside this core).
  if (const kvpb::Member* self = membership_.Find(config_.id);
      self != nullptr && self->is_learner() && !(request.has_range() && request.range().serializable()) &&
      !request.has_member_attributes()) {
    return Reply(request_id, ErrNotSupportedForLearner());
  }
  switch (request.request_case()) {
    case kvpb::ClientRequest::kMemberAdd:
    case kvpb::ClientRequest::kMemberRemove:
    case kvpb::ClientRequest::kMemberUpdate:
    case kvpb::ClientRequest::kMemberPromote:
      // etcd checks membership changes' permission where they are asked (they apply as configuration changes).
      if (absl::Status s = auth_.CheckAdmin(who); !s.ok()) return Reply(request_id, s);
      SubmitMemberChange(request_id, request);
      Pump();
      return;
    case kvpb::ClientRequest::kAuthPasswordLookup:
      return ServeAuthLocal(request_id, request);
    case kvpb::ClientRequest::kAuthAdminCheck: {
      if (absl::Status s = auth_.CheckAdmin(who); !s.ok()) return Reply(request_id, s);
      kvpb::ClientResponse resp;
      resp.mutable_auth_admin_check();
      return Reply(request_id, absl::OkStatus(), std::move(resp));
    }
    case kvpb::ClientRequest::kLearnerNotReady:
    case kvpb::ClientRequest::kLeaseTimeToLiveAnswer:
      return Reply(request_id, absl::InvalidArgumentError("etcdserver: empty request"));
    case kvpb::ClientRequest::kRange: {
      if (absl::Status s = CheckRange(request.range()); !s.ok()) return Reply(request_id, s);
      if (request.range().serializable() || (config_.kv_testing.leader_reads_locally && is_leader())) {
        ServeRange(request_id, request.range(), who);
        return;
      }
      if (SoleVoterLeader()) {
        // As etcd-raft answers a lone voter's ReadIndex: the commit index is the read index, no round needed (no
        // other member can be elected or commit without this one). The read waits only for its index to be applied,
        // never for a Ready — so never for an unrelated WAL write in flight.
        const uint64_t index = raft_->raft().log().committed();
        if (applied_index_ >= index) return ServeRange(request_id, request.range(), who);
        ReadBatch b;
        b.index = index;
        b.answered = true;
        b.reads.push_back(PendingRead{request_id, request.range(), deadline, who});
        ready_reads_.push_back(std::move(b));
        return;
      }
      queued_reads_.push_back(PendingRead{request_id, request.range(), deadline, who});
      IssueReadIndex();
      Pump();
      return;
    }
    case kvpb::ClientRequest::kPut:
    case kvpb::ClientRequest::kDeleteRange:
    case kvpb::ClientRequest::kTxn:
    case kvpb::ClientRequest::kCompaction:
    case kvpb::ClientRequest::kLeaseGrant:
    case kvpb::ClientRequest::kLeaseRevoke:
    case kvpb::ClientRequest::kMemberAttributes: {
      if (absl::Status s = CheckWrite(request); !s.ok()) return Reply(request_id, s);
      if (config_.kv_testing.auth_check_at_admission_only && IsKvWrite(request)) {
        if (absl::Status s = CheckApplyPermission(request); !s.ok()) return Reply(request_id, s);
      }
      // etcd refuses new proposals while its apply lags far behind the commit index (an overloaded member).
      if (raft_->raft().log().committed() > applied_index_ + kMaxApplyGap) {
        return Reply(request_id, ErrTooManyRequests());
      }
      const bool grows = request.has_put() || (request.has_txn() && IsWrite(request.txn())) ||
                         request.has_lease_grant();
      const bool nospace = alarms_.Has(etcdserverpb::NOSPACE);
      if (grows && (nospace || store_.bytes() + static_cast<int64_t>(request.ByteSizeLong()) > config_.quota_bytes)) {
        if (!nospace) {
          // Over the quota: raise the NOSPACE alarm for the whole cluster, as etcd does.
          kvpb::ClientRequest alarm;
          alarm.mutable_alarm()->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
          alarm.mutable_alarm()->set_memberid(config_.id);
          alarm.mutable_alarm()->set_alarm(etcdserverpb::NOSPACE);
          ProposeInternal(std::move(alarm));
          Pump();
        }
        return Reply(request_id, ErrNoSpace());
      }
      Propose(request_id, request);
      Pump();
      return;
    }
    case kvpb::ClientRequest::kAlarm: {
      if (request.alarm().action() == etcdserverpb::AlarmRequest::GET) {
        kvpb::ClientResponse resp;
        resp.mutable_alarm();  // set even when none is raised: the answer is of its request's kind
        for (const etcdserverpb::AlarmMember& a : alarms_.List(request.alarm().alarm())) {
          *resp.mutable_alarm()->add_alarms() = a;
        }
        return Reply(request_id, absl::OkStatus(), std::move(resp));
      }
      Propose(request_id, request);
      Pump();
      return;
    }
    case kvpb::ClientRequest::kLeaseLeases:
      return ServeLeaseLocal(request_id, request);
    case kvpb::ClientRequest::kLeaseKeepAlive:
    case kvpb::ClientRequest::kLeaseTimeToLive:
      if (request.has_lease_time_to_live() && request.lease_time_to_live().keys()) {
        // The lease's keys are shown only to a user who may read every one of them (etcd 3.4.26+).
        if (const Lease* l = lessor_.Lookup(request.lease_time_to_live().id()); l != nullptr) {
          for (const std::string& key : l->keys) {
            if (absl::Status s = auth_.CheckRead(who, key, ""); !s.ok()) return Reply(request_id, s);
          }
        }
      }
      // The leader holds the deadlines. It answers once it has applied everything committed, so that it knows every
      // lease granted before the request. A follower's keep-alive travels to the leader through the log (etcd
      // forwards it over its peer HTTP API): the leader renews the lease when it applies the entry.
      // A follower's time-to-live question goes the same way; the leader answers it through the log (etcd forwards
      // it to the leader too), since only the leader knows how long a lease has left.
      if (!is_leader()) {
        Propose(request_id, request);
        Pump();
        return;
      }
      if (applied_index_ < raft_->raft().log().committed()) {
        lease_waiting_.push_back(LeaseWait{request_id, request, deadline});
        return;
      }
      return ServeLeaseLocal(request_id, request);
    default:
      return Reply(request_id, absl::InvalidArgumentError("etcdserver: empty request"));
  }
}

void NodeCore::SubmitMemberChange(uint64_t request_id, const kvpb::ClientRequest& request) {
  raftpb::ConfChange cc;
  kvpb::ConfChangeContext context;
  switch (request.request_case()) {
    case kvpb::ClientRequest::kMemberAdd: {
      const auto& add = request.member_add();
      std::vector<std::string> urls(add.peerurls().begin(), add.peerurls().end());
      if (!ValidPeerUrls(urls)) return Reply(request_id, ErrMemberBadURLs());
      // A new member's id: from its peer URLs and a proposal id of this member (etcd hashes the URLs with the time).
      std::string seed = absl::StrCat(NextId(), "/", config_.cluster_id);
      for (const std::string& u : urls) absl::StrAppend(&seed, "/", u);
      uint64_t id = (static_cast<uint64_t>(Crc32c(seed)) << 32) | Crc32c(seed + "#");
      if (id == 0) id = 1;
      cc.set_type(add.islearner() ? raftpb::CONF_CHANGE_ADD_LEARNER_NODE : raftpb::CONF_CHANGE_ADD_NODE);
      cc.set_node_id(id);
      context.mutable_member()->set_id(id);
      *context.mutable_member()->mutable_peer_urls() = add.peerurls();
      context.mutable_member()->set_is_learner(add.islearner());
      break;
    }
    case kvpb::ClientRequest::kMemberRemove:
      cc.set_type(raftpb::CONF_CHANGE_REMOVE_NODE);
      cc.set_node_id(request.member_remove().id());
      break;
    case kvpb::ClientRequest::kMemberUpdate: {
      const auto& update = request.member_update();
      std::vector<std::string> urls(update.peerurls().begin(), update.peerurls().end());
      if (!ValidPeerUrls(urls)) return Reply(request_id, ErrMemberBadURLs());
      cc.set_type(raftpb::CONF_CHANGE_UPDATE_NODE);
      cc.set_node_id(update.id());
      context.mutable_member()->set_id(update.id());
      *context.mutable_member()->mutable_peer_urls() = update.peerurls();
      break;
    }
    case kvpb::ClientRequest::kMemberPromote: {
      cc.set_type(raftpb::CONF_CHANGE_ADD_NODE);
      cc.set_node_id(request.member_promote().id());
      context.set_is_promote(true);
      if (absl::Status s = membership_.Check(cc, context); !s.ok()) return Reply(request_id, s);
      if (config_.strict_reconfig_check && !membership_.ReadyToPromote(cc.node_id())) {
        return Reply(request_id, ErrMemberNotEnoughStarted());
      }
      if (is_leader()) return PromoteAsLeader(request_id, NextId(), cc.node_id());
      // Only the leader knows how far the learner got: the request goes to it through the log.
      return Propose(request_id, request);
    }
    default:
      return Reply(request_id, absl::InvalidArgumentError("etcdserver: empty request"));
  }
  cc.set_context(context.SerializeAsString());
  // No check against this member's view of the members here: it may lag (an add it has not applied yet makes a remove
  // look like "member not found"). As in etcd, the change is judged where its entry applies, and that answer is the
  // client's. etcd's --strict-reconfig-check does look at the local view, before proposing.
  if (config_.strict_reconfig_check) {
    const bool ready = cc.type() == raftpb::CONF_CHANGE_ADD_NODE      ? membership_.ReadyToAddVoter()
                       : cc.type() == raftpb::CONF_CHANGE_REMOVE_NODE ? membership_.ReadyToRemoveVoter(cc.node_id())
                                                                      : true;
    if (!ready) return Reply(request_id, ErrMemberNotEnoughStarted());
  }
  ProposeMemberChange(request_id, NextId(), cc);
}

void NodeCore::ProposeMemberChange(uint64_t request_id, uint64_t proposal_id, raftpb::ConfChange cc) {
  cc.set_id(proposal_id);
  if (!raft_->ProposeConfChange(cc).ok()) {
    if (request_id != 0) {
      ++proposals_failed_;
      Reply(request_id, ErrNoLeader());
    }
    return;
  }
  if (request_id != 0) proposals_[proposal_id] = Proposal{request_id, ticks_ + config_.request_timeout_ticks};
}

absl::Status NodeCore::LearnerReady(uint64_t id) const {
  // etcd's isLearnerReady: the learner's match index is at least 90% of the leader's.
  const raft::Progress* learner = raft_->raft().tracker().Get(id);
  const raft::Progress* leader = raft_->raft().tracker().Get(config_.id);
  if (learner == nullptr || leader == nullptr) return ErrLearnerNotReady();
  if (learner->match * 10 < leader->match * 9) return ErrLearnerNotReady();
  return absl::OkStatus();
}

void NodeCore::PromoteAsLeader(uint64_t request_id, uint64_t proposal_id, uint64_t learner) {
  raftpb::ConfChange cc;
  cc.set_type(raftpb::CONF_CHANGE_ADD_NODE);
  cc.set_node_id(learner);
  kvpb::ConfChangeContext context;
  context.set_is_promote(true);
  cc.set_context(context.SerializeAsString());
  absl::Status s = membership_.Check(cc, context);
  if (s.ok()) s = LearnerReady(learner);
  if (!s.ok()) {
    if (request_id != 0) return Reply(request_id, s);
    // Asked through the log by another member, which waits under proposal_id: tell it through the log.
    kvpb::ClientRequest refusal;
    refusal.set_learner_not_ready(proposal_id);
    return ProposeInternal(std::move(refusal));
  }
  ProposeMemberChange(request_id, proposal_id, cc);
}

void NodeCore::Propose(uint64_t request_id, kvpb::ClientRequest request) {
  kvpb::RaftRequest req;
  req.set_id(NextId());
  if (request.has_lease_grant() && request.lease_grant().id() == 0) {
    // The proposer picks the lease id, as etcd does: positive, unique.
    request.mutable_lease_grant()->set_id(static_cast<int64_t>(req.id() & 0x7fffffffffffffffull));
  }
  *req.mutable_request() = std::move(request);
  std::string data = req.SerializeAsString();
  if (data.size() > config_.max_request_bytes) return Reply(request_id, ErrRequestTooLarge());
  if ((transferring_leadership() || InHandOverElection()) && held_proposals_.size() < kHeldProposalsMax) {
    proposals_[req.id()] = Proposal{request_id, ticks_ + config_.request_timeout_ticks};
    held_proposals_.push_back(HeldProposal{req.id(), std::move(data), ticks_ + config_.election_ticks});
    return;
  }
  absl::Status s = raft_->Propose(std::move(data));
  if (!s.ok()) {
    ++proposals_failed_;
    return Reply(request_id, ErrNoLeader());  // dropped: nothing was appended or forwarded
  }
  proposals_[req.id()] = Proposal{request_id, ticks_ + config_.request_timeout_ticks};
}

void NodeCore::ProposeInternal(kvpb::ClientRequest request) {
  request.mutable_auth()->set_internal(true);
  kvpb::RaftRequest req;
  req.set_id(NextId());
  *req.mutable_request() = std::move(request);
  (void)raft_->Propose(req.SerializeAsString());  // best effort: retried by whoever needs it
}

bool NodeCore::SoleVoterLeader() const {
  if (!is_leader()) return false;
  const std::set<uint64_t>& voters = raft_->raft().tracker().voters();
  if (voters.size() != 1 || *voters.begin() != config_.id) return false;
  // A leader knows its commit index covers every acknowledged write only once it committed an entry of its own
  // term: after a restart, entries acknowledged before the crash may sit in the log above the commit index it
  // recovered (the simulator found this: kv_single_member seeds 67 and 122). Until then, the ReadIndex round waits.
  const raft::RaftLog& log = raft_->raft().log();
  return log.Term(log.committed()) == raft_->raft().term();
}

void NodeCore::IssueReadIndex() {
  if (read_batch_ || queued_reads_.empty()) return;
  ReadBatch b;
  b.ctx = absl::StrCat(NextId());
  b.leader = leader();
  if (!raft_->ReadIndex(b.ctx).ok()) return;  // no leader known: the reads wait for one (or time out)
  b.reads.assign(std::make_move_iterator(queued_reads_.begin()), std::make_move_iterator(queued_reads_.end()));
  queued_reads_.clear();
  read_batch_ = std::move(b);
}

void NodeCore::ServeReadyReads() {
  // std::remove_if never moves an element onto itself (a self-move-assigned vector comes out empty: the rounds kept
  // in place here lost their reads that way, unanswered, until the simulator checked that every request is answered).
  auto served = std::remove_if(ready_reads_.begin(), ready_reads_.end(), [&](const ReadBatch& b) {
    if (b.index > applied_index_ && !config_.kv_testing.read_before_apply) {
      return config_.kv_testing.forget_reads_awaiting_apply;
    }
    for (const PendingRead& r : b.reads) ServeRange(r.request_id, r.request, r.auth);
    return true;
  });
  ready_reads_.erase(served, ready_reads_.end());
}

void NodeCore::ServeRange(uint64_t request_id, const etcdserverpb::RangeRequest& r, const AuthInfo& who) {
  // Checked when served (after the read index is applied), against the auth store then, as etcd's doSerialize.
  if (!(config_.kv_testing.auth_serializable_reads_unchecked && r.serializable())) {
    if (absl::Status s = auth_.CheckRead(who, r.key(), r.range_end()); !s.ok()) return Reply(request_id, s);
  }
  kvpb::ClientResponse resp;
  absl::Status s = applier_.Range(r, resp.mutable_range());
  Reply(request_id, s, std::move(resp));
}

void NodeCore::ServeLeaseLocal(uint64_t request_id, const kvpb::ClientRequest& request) {
  kvpb::ClientResponse resp;
  if (request.has_lease_leases()) {
    resp.mutable_lease_leases();  // set even when there are none: the answer is of its request's kind
    for (int64_t id : lessor_.Ids()) resp.mutable_lease_leases()->add_leases()->set_id(id);
    return Reply(request_id, absl::OkStatus(), std::move(resp));
  }
  if (!is_leader()) return Reply(request_id, ErrNotLeader());
  if (request.has_lease_keep_alive()) {
    const int64_t id = request.lease_keep_alive().id();
    absl::StatusOr<int64_t> ttl = lessor_.Renew(id, now_us_);
    // etcd answers a keep-alive for a lease that does not exist with TTL 0.
    resp.mutable_lease_keep_alive()->set_id(id);
    resp.mutable_lease_keep_alive()->set_ttl(ttl.ok() ? *ttl : 0);
    if (!ttl.ok() && !IsErrLeaseNotFound(ttl.status())) return Reply(request_id, ttl.status());
    return Reply(request_id, absl::OkStatus(), std::move(resp));
  }
  *resp.mutable_lease_time_to_live() = LeaseTimeToLive(request.lease_time_to_live());
  Reply(request_id, absl::OkStatus(), std::move(resp));
}

etcdserverpb::LeaseTimeToLiveResponse NodeCore::LeaseTimeToLive(const etcdserverpb::LeaseTimeToLiveRequest& r) const {
  etcdserverpb::LeaseTimeToLiveResponse t;
  t.set_id(r.id());
  const Lease* l = lessor_.Lookup(r.id());
  if (l == nullptr) {
    t.set_ttl(-1);  // etcd: an expired or unknown lease has TTL -1
  } else {
    t.set_ttl(lessor_.RemainingSeconds(*l, now_us_));
    t.set_grantedttl(l->ttl_s);
    if (r.keys()) {
      for (const std::string& k : l->keys) t.add_keys(k);
    }
  }
  return t;
}

void NodeCore::ExpireLeases() {
  if (!is_leader()) return;
  for (int64_t id : lessor_.Expired(now_us_, 16)) {
    if (!revoking_.insert(id).second) continue;
    kvpb::ClientRequest r;
    r.mutable_lease_revoke()->set_id(id);
    ProposeInternal(std::move(r));
  }
}

void NodeCore::AutoCompact() {
  if (!auto_compactor_.enabled()) return;
  AutoCompactor::Step step = auto_compactor_.Tick(store_.rev(), store_.compacted_rev(), is_leader());
  for (const std::string& line : step.log) {
    if (config_.logger) config_.logger(line);
  }
  if (step.compact_at > 0) {
    kvpb::ClientRequest r;
    r.mutable_compaction()->set_revision(config_.kv_testing.auto_compact_newest ? store_.rev() : step.compact_at);
    ProposeInternal(std::move(r));
  }
}

void NodeCore::TimeOutRequests() {
  for (auto it = proposals_.begin(); it != proposals_.end();) {
    if (it->second.deadline_tick <= ticks_) {
      ++proposals_failed_;
      Reply(it->second.request_id, ProposalTimeout(it->second.deadline_tick - config_.request_timeout_ticks));
      it = proposals_.erase(it);
    } else {
      ++it;
    }
  }
  auto expire_reads = [&](auto& reads) {
    auto expired = std::remove_if(reads.begin(), reads.end(), [&](const PendingRead& r) {
      if (r.deadline_tick > ticks_) return false;
      Reply(r.request_id, ErrTimeout());
      return true;
    });
    reads.erase(expired, reads.end());
  };
  expire_reads(queued_reads_);
  // Lease requests waiting for the apply to catch up (it may never, on a leader about to lose its place).
  while (!lease_waiting_.empty() && lease_waiting_.front().deadline_tick <= ticks_) {
    Reply(lease_waiting_.front().request_id, ErrTimeout());
    lease_waiting_.pop_front();
  }
  if (read_batch_) expire_reads(read_batch_->reads);
  for (ReadBatch& b : ready_reads_) expire_reads(b.reads);
}

absl::Status NodeCore::ProposalTimeout(int64_t start_tick) const {
  const int64_t lost = leader_elected_tick_ - 2 * static_cast<int64_t>(config_.election_ticks);
  if (leader_elected_tick_ > start_tick && start_tick > lost) return ErrTimeoutDueToLeaderFail();
  return ErrTimeout();
}

absl::StatusOr<HashKVResult> NodeCore::HashKV(int64_t revision) const {
  // etcd's HashByRev, bounds included (stricter than a read's: the compaction revision is refused too; 0 is now,
  // which a store compacted at its newest revision still answers).
  absl::StatusOr<uint32_t> hash = store_.HashKV(revision);
  if (!hash.ok()) return hash.status();
  HashKVResult r;
  r.hash = *hash;
  r.compact_revision = store_.etcd_compacted_rev();
  FillHeader(&r.header);
  return r;
}

HashResult NodeCore::Hash() const {
  HashResult r;
  // The CRC-32C of the small state's bytes, then each version's StoreRecord in revision order, then the store's
  // revision and compaction revision: what a snapshot carries, one version in memory at a time (a whole snapshot
  // made in memory for a hash cost a member its state's size again).
  uint32_t crc = Crc32c(SmallState().SerializeAsString());
  kvpb::StoreRecord record;
  std::string bytes;
  store_.ForEachVersion([&](const Revision& rev, const MvccStore::Record& v) {
    MvccStore::ToStoreRecord(rev, v, &record);
    record.SerializeToString(&bytes);
    crc = Crc32cExtend(crc, bytes.data(), bytes.size());
  });
  const std::string revisions = absl::StrCat(store_.rev(), "/", store_.compacted_rev());
  r.hash = Crc32cExtend(crc, revisions.data(), revisions.size());
  FillHeader(&r.header);
  return r;
}

uint64_t NodeCore::MostCaughtUpVoter() const {
  if (!is_leader()) return 0;
  uint64_t best = 0, best_match = 0;
  for (uint64_t id : raft_->raft().tracker().voters()) {
    if (id == config_.id) continue;
    auto pr = raft_->raft().tracker().progress().find(id);
    if (pr == raft_->raft().tracker().progress().end()) continue;
    const uint64_t match = pr->second.match;
    if (best == 0 || match > best_match) {
      best = id;
      best_match = match;
    }
  }
  return best;
}

void NodeCore::ReleaseHeldProposals() {
  if (held_proposals_.empty() && held_forwarded_.empty()) return;
  // Until the hand-over ended and somebody leads (the old leader steps down before it learns who won).
  if (transferring_leadership() || leader() == 0) {
    while (!held_forwarded_.empty() && ticks_ - held_forwarded_.front().first > config_.request_timeout_ticks) {
      held_forwarded_.pop_front();  // its sender gave up on it long ago
    }
    while (!held_proposals_.empty() && held_proposals_.front().until_tick <= ticks_) {
      // No leader within an election timeout: refused, as a proposal is when no leader is known.
      auto it = proposals_.find(held_proposals_.front().id);
      if (it != proposals_.end()) {
        ++proposals_failed_;
        Reply(it->second.request_id, ErrNoLeader());
        proposals_.erase(it);
      }
      held_proposals_.pop_front();
    }
    return;
  }
  std::deque<HeldProposal> local = std::move(held_proposals_);
  std::deque<std::pair<int64_t, raftpb::Message>> forwarded = std::move(held_forwarded_);
  held_proposals_.clear();
  held_forwarded_.clear();
  for (HeldProposal& held : local) {
    auto it = proposals_.find(held.id);
    if (it == proposals_.end()) continue;  // timed out meanwhile
    if (!raft_->Propose(std::move(held.data)).ok()) {
      ++proposals_failed_;
      Reply(it->second.request_id, ErrNoLeader());  // no leader known now: dropped, as any proposal then
      proposals_.erase(it);
    }
  }
  for (const auto& [tick, m] : forwarded) {
    // Proposed again as this member's own: a follower forwards only its own proposals (never a peer's, against
    // loops), and the proposer learns the outcome by its proposal id in the entry, not by who forwarded it.
    for (const raftpb::Entry& e : m.entries()) {
      if (e.type() == raftpb::ENTRY_NORMAL) (void)raft_->Propose(e.data());  // else its sender times it out
    }
  }
}

absl::Status NodeCore::TransferLeadership(uint64_t target) {
  // etcd's order: the maintenance server refuses a non-leader first, then MoveLeader checks the transferee.
  if (!is_leader()) return ErrNotLeader();
  if (!raft_->raft().tracker().IsVoter(target)) return ErrBadLeaderTransferee();
  if (target == config_.id) return absl::OkStatus();  // already there: leader() == target
  if (config_.logger) config_.logger(absl::StrCat(config_.id, " starts leadership transfer to ", target));
  raft_->TransferLeader(target);
  Pump();
  return absl::OkStatus();
}

}  // namespace detcd::kv
