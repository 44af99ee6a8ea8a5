// NodeCore: construction, the Ready contract (persist, send, apply, advance), applying committed entries to the
// state machine, snapshots, and the role changes that move lease deadlines. Client request intake is in
// node_core_requests.cc.
#include "kv/node_core.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "kv/errors.h"

namespace detcd::kv {

namespace {

int64_t MinLeaseTTLSeconds(const NodeCoreConfig& c) {
  // etcd: 1.5 election timeouts, rounded up to whole seconds.
  const int64_t us = static_cast<int64_t>(c.election_ticks) * c.tick_us * 3 / 2;
  return (us + 999'999) / 1'000'000;
}

// What raft's storage keeps of a snapshot: its metadata (as etcd's raft storage does). The state is the store itself;
// a snapshot sent to a follower is made afresh.
raftpb::Snapshot MetadataOnly(const raftpb::Snapshot& snap) {
  raftpb::Snapshot out;
  *out.mutable_metadata() = snap.metadata();
  return out;
}

}  // namespace

NodeCore::NodeCore(const NodeCoreConfig& config, const RecoveredState& recovered)
    : config_(config),
      lessor_(MinLeaseTTLSeconds(config)),
      auto_compactor_(config.auto_compaction, config.tick_us),
      applier_(&store_, &lessor_) {
  DETCD_CHECK_MSG(config_.id != 0, "a member id must not be 0");
  config_.watch.testing_future_start_from_now = config_.kv_testing.watch_future_start_from_now;
  config_.watch.testing_drop_when_full = config_.kv_testing.watch_drop_when_full;
  config_.watch.testing_ignore_restore = config_.kv_testing.watch_ignores_restore;
  hub_ = std::make_unique<WatchHub>(&store_, config_.watch);
  store_.set_testing_revision_from_records(config_.kv_testing.restore_revision_from_records);
  auth_.set_testing_ignore_revision(config_.kv_testing.auth_ignores_revision);
  // Proposal ids: member id and this life's seed in the high bits, a counter below (unique across restarts).
  id_prefix_ = ((config_.id & 0xffff) << 48) | ((config_.seed & 0xffffff) << 24);
  if (recovered.snapshot.metadata().index() > 0) {
    DETCD_CHECK(storage_.ApplySnapshot(MetadataOnly(recovered.snapshot)).ok());
    RestoreState(recovered.snapshot, recovered.snapshot_data);
  }
  const bool empty_disk = recovered.snapshot.metadata().index() == 0 && recovered.entries.empty() &&
                          recovered.hard_state.term() == 0 && recovered.hard_state.commit() == 0;
  recovered_commit_ = recovered.hard_state.commit();
  if (config_.force_new_cluster && !empty_disk) {
    ForceNewCluster(recovered);
  } else {
    storage_.Append(recovered.entries);
    storage_.SetHardState(recovered.hard_state);
  }
  if (empty_disk && !config_.join_existing) Bootstrap();
  raft::Config rc;
  rc.id = config_.id;
  // No implicit configuration: Raft learns it from the log's configuration changes (the bootstrap entries first) or
  // from a snapshot, the same way on every member.
  rc.election_ticks = config_.election_ticks;
  rc.heartbeat_ticks = config_.heartbeat_ticks;
  rc.pre_vote = config_.pre_vote;
  rc.check_quorum = config_.check_quorum;
  rc.max_inflight_msgs = config_.max_inflight_msgs;
  rc.max_size_per_msg_bytes = config_.max_size_per_msg_bytes;
  rc.seed = config_.seed;
  rc.applied = applied_index_;
  rc.storage = &storage_;
  rc.logger = config_.logger;
  rc.testing = config_.testing;
  rc.on_invariant_broken = config_.on_invariant_broken;
  raft_ = std::make_unique<raft::RawNode>(rc);
}

void NodeCore::ForceNewCluster(const RecoveredState& recovered) {
  // etcd's restartAsStandaloneNode: what was not committed is dropped; configuration changes removing every other
  // member (and adding this one, if it is not a member) are appended and committed, so that this member alone is the
  // cluster once they apply.
  const uint64_t commit = recovered.hard_state.commit();
  std::vector<raftpb::Entry> kept;
  std::set<uint64_t> ids;
  for (uint64_t id : recovered.snapshot.metadata().conf_state().voters()) ids.insert(id);
  for (uint64_t id : recovered.snapshot.metadata().conf_state().learners()) ids.insert(id);
  for (const raftpb::Entry& e : recovered.entries) {
    if (e.index() > commit) break;
    kept.push_back(e);
    raftpb::ConfChange cc;
    if (e.type() != raftpb::ENTRY_CONF_CHANGE || !cc.ParseFromString(e.data())) continue;
    if (cc.type() == raftpb::CONF_CHANGE_REMOVE_NODE) ids.erase(cc.node_id());
    if (cc.type() == raftpb::CONF_CHANGE_ADD_NODE || cc.type() == raftpb::CONF_CHANGE_ADD_LEARNER_NODE) {
      ids.insert(cc.node_id());
    }
  }
  storage_.Append(kept);
  const uint64_t term = std::max<uint64_t>(recovered.hard_state.term(), 1);
  const uint64_t base = std::max(commit, storage_.FirstIndex() - 1);
  std::vector<raftpb::Entry> forced;
  for (uint64_t id : ids) {
    if (id != config_.id) {
      forced.push_back(ConfChangeEntry(raftpb::CONF_CHANGE_REMOVE_NODE, id, term, base + forced.size() + 1));
    }
  }
  if (ids.count(config_.id) == 0) {
    forced.push_back(ConfChangeEntry(raftpb::CONF_CHANGE_ADD_NODE, config_.id, term, base + forced.size() + 1));
  }
  raftpb::HardState hs = recovered.hard_state;
  hs.set_term(term);
  hs.set_commit(base + forced.size());
  if (config_.logger) {
    config_.logger(absl::StrCat("forcing restart of member ", absl::Hex(config_.id), " at commit index ", commit,
                                ": removing ", forced.size(), " other members"));
  }
  WriteOwnEntries(std::move(forced), hs);
}

void NodeCore::Bootstrap() {
  std::vector<raftpb::Entry> entries;
  std::vector<uint64_t> ids = config_.peers;
  std::sort(ids.begin(), ids.end());
  for (uint64_t id : ids) entries.push_back(ConfChangeEntry(raftpb::CONF_CHANGE_ADD_NODE, id, 1, entries.size() + 1));
  raftpb::HardState hs;
  hs.set_term(1);
  hs.set_commit(entries.size());
  // Every founding member writes the same entries, so they agree.
  WriteOwnEntries(std::move(entries), hs);
}

raftpb::Entry NodeCore::ConfChangeEntry(raftpb::ConfChangeType type, uint64_t id, uint64_t term,
                                        uint64_t index) const {
  raftpb::ConfChange cc;
  cc.set_type(type);
  cc.set_node_id(id);
  kvpb::ConfChangeContext context;
  if (auto it = config_.founding.find(id); it != config_.founding.end()) *context.mutable_member() = it->second;
  context.mutable_member()->set_id(id);
  cc.set_context(context.SerializeAsString());
  raftpb::Entry e;
  e.set_term(term);
  e.set_index(index);
  e.set_type(raftpb::ENTRY_CONF_CHANGE);
  e.set_data(cc.SerializeAsString());
  return e;
}

void NodeCore::WriteOwnEntries(std::vector<raftpb::Entry> entries, const raftpb::HardState& hs) {
  storage_.Append(entries);
  storage_.SetHardState(hs);
  // Durable before anything else happens (no Ready until Persisted).
  PersistRequest p;
  p.seq = ++persist_seq_;
  p.hard_state = hs;
  p.entries = std::move(entries);
  p.must_sync = true;
  persist_out_ = std::move(p);
  bootstrapping_ = true;
}

std::string NodeCore::StateSnapshot() const {
  kvpb::StateSnapshot snap = SmallState();
  snap.set_store(store_.Serialize());
  return snap.SerializeAsString();
}

kvpb::StateSnapshot NodeCore::SmallState() const {
  kvpb::StateSnapshot snap;
  snap.set_leases(lessor_.Serialize());
  for (uint64_t id : recent_order_) snap.add_recent_request_ids(id);
  membership_.SaveTo(&snap);
  for (const etcdserverpb::AlarmMember& a : alarms_.List()) *snap.add_alarms() = a;
  *snap.mutable_auth() = auth_.State();
  return snap;
}

void NodeCore::Tick(int64_t now_us) {
  now_us_ = now_us;
  ++ticks_;
  raft_->Tick();
  if (read_batch_ && ++read_batch_->ticks_waiting >= config_.read_index_retry_ticks) {
    // No answer: the leader may be gone. Ask again with a new round; a late answer to the old one is ignored.
    for (PendingRead& r : read_batch_->reads) queued_reads_.push_front(std::move(r));
    read_batch_.reset();
  }
  IssueReadIndex();
  ExpireLeases();
  auth_.ExpireSimpleTokens(now_us);
  AutoCompact();
  TimeOutRequests();
  hub_->SyncStep();
  if (config_.progress_notify_ticks > 0 && ticks_ % config_.progress_notify_ticks == 0) hub_->ProgressNotify();
  Pump();
  StepSnapshotBuild();
}

void NodeCore::Receive(const raftpb::Message& m) {
  // etcd: a removed member's messages are refused (it may not know it was removed).
  if (membership_.IsRemoved(m.from())) return;
  if (m.type() == raftpb::MSG_TIMEOUT_NOW ||
      ((m.type() == raftpb::MSG_VOTE || m.type() == raftpb::MSG_PRE_VOTE) && m.context() == raft::kCampaignTransfer)) {
    hand_over_election_tick_ = ticks_;  // a leader hands over: the election about to start is not a failure's
  }
  if (m.type() == raftpb::MSG_PROP && (transferring_leadership() || !is_leader()) &&
      held_forwarded_.size() < kHeldProposalsMax) {
    // A proposal forwarded to a leader that is handing over, or that stepped down before the sender knew: Raft
    // would drop it and its sender wait out its timeout. Proposed again once a leader is known (ReleaseHeldProposals).
    held_forwarded_.emplace_back(ticks_, m);
    return;
  }
  // A peer's message that breaks the protocol is refused by Raft with no state change; nothing else to do here but
  // tell whoever watches.
  const absl::Status s = raft_->Step(m);
  if (!s.ok() && !raft::IsProposalDropped(s) && config_.on_message_refused) config_.on_message_refused(m, s);
  Pump();
}

void NodeCore::ReportSnapshot(uint64_t to, bool failed) {
  raft_->ReportSnapshot(to, failed);
  Pump();
}

void NodeCore::ReportUnreachable(uint64_t to) {
  raft_->ReportUnreachable(to);
  Pump();
}

void NodeCore::Watch(WatchHub::StreamId s, const etcdserverpb::WatchRequest& req, const kvpb::RequestAuth& auth) {
  if (req.has_create_request() && auth_.enabled()) {
    absl::StatusOr<AuthInfo> who = ResolveAuth(auth);
    absl::Status allowed = who.ok() ? auth_.CheckRead(*who, req.create_request().key(), req.create_request().range_end())
                                    : who.status();
    // etcd's cancel reason is the gRPC error's text: "rpc error: code = PermissionDenied desc = etcdserver: ...".
    if (!allowed.ok()) return hub_->RefuseCreate(s, GrpcErrorText(allowed));
  }
  hub_->Request(s, req);
}

std::vector<etcdserverpb::WatchResponse> NodeCore::TakeWatchResponses(WatchHub::StreamId s) {
  std::vector<etcdserverpb::WatchResponse> out = hub_->TakeResponses(s);
  for (etcdserverpb::WatchResponse& r : out) {
    const int64_t rev = r.header().revision();
    FillHeader(r.mutable_header());
    r.mutable_header()->set_revision(rev);
  }
  // Room was made: watchers that fell behind may catch up.
  hub_->SyncStep();
  return out;
}

std::vector<raftpb::Message> NodeCore::TakeMessages() { return std::exchange(out_msgs_, {}); }
std::optional<PersistRequest> NodeCore::TakePersist() { return std::exchange(persist_out_, std::nullopt); }
std::vector<SnapshotPiece> NodeCore::TakeSnapshotPieces() { return std::exchange(out_pieces_, {}); }
std::vector<ClientReply> NodeCore::TakeReplies() { return std::exchange(out_replies_, {}); }

void NodeCore::OnRoleChange() {
  if (leader() != last_leader_) {
    last_leader_ = leader();
    if (last_leader_ != 0) leader_elected_tick_ = ticks_;
    if (last_leader_ != 0 && read_batch_ && !read_batch_->answered && read_batch_->leader != last_leader_) {
      // The round went to a leader that is gone (a hand-over, an election): ask the new one now rather than after
      // the retry interval, so the reads do not wait out their clients' deadlines.
      for (PendingRead& r : read_batch_->reads) queued_reads_.push_front(std::move(r));
      read_batch_.reset();
    }
  }
  const bool leader = is_leader();
  if (leader == was_leader_) return;
  was_leader_ = leader;
  if (leader) {
    // No lease may expire because of an election: every deadline starts over, plus an election timeout.
    lessor_.Promote(now_us_, static_cast<int64_t>(config_.election_ticks) * config_.tick_us);
  } else {
    lessor_.Demote();
    revoking_.clear();
  }
}

void NodeCore::Pump() {
  ReleaseHeldProposals();
  while (!ready_ && !bootstrapping_ && raft_->HasReady()) {
    raft::Ready rd = raft_->GetReady();
    if (rd.soft_state) OnRoleChange();
    const bool early_all = config_.kv_testing.send_before_durable;
    if (is_leader() || early_all) {
      // A leader's appends and heartbeats need nothing durable here first (it counts itself only after Persisted).
      const auto early = [early_all](const raftpb::Message& m) {
        return (early_all && m.type() != raftpb::MSG_SNAP) || m.type() == raftpb::MSG_APP ||
               m.type() == raftpb::MSG_HEARTBEAT;
      };
      std::vector<raftpb::Message> late;
      Emit(&rd.messages, early, [&late](raftpb::Message&& m) { late.push_back(std::move(m)); });
      rd.messages = std::move(late);
    }
    const bool persist = rd.snapshot || rd.hard_state || !rd.entries.empty();
    if (!persist) {
      // Nothing to write: finished here, never held in ready_ (as FinishReady would, it runs with ready_ empty).
      FinishReady(rd, nullptr);
      continue;
    }
    ready_ = std::move(rd);
    // Committed entries are durable on a quorum already: they are applied (and their clients answered) while this
    // batch is written, as etcd applies concurrently with its WAL write — not one fsync later. A leader's snapshot
    // replaces the state only once it is durable.
    if (!ready_->snapshot && !ready_->committed_entries.empty()) {
      for (const raftpb::Entry& e : ready_->committed_entries) ApplyEntry(e);
      ready_applied_ = true;
      ServeReadyReads();
    }
    PersistRequest p;
    p.seq = ++persist_seq_;
    p.snapshot = ready_->snapshot;
    p.hard_state = ready_->hard_state;
    p.entries = ready_->entries;
    p.must_sync = ready_->must_sync;
    persist_out_ = std::move(p);
    return;  // until Persisted
  }
}

void NodeCore::Persisted(uint64_t seq, ByteSource* snapshot_data) {
  if (bootstrapping_) {
    DETCD_CHECK_MSG(seq == persist_seq_, "Persisted for a batch that is not outstanding");
    bootstrapping_ = false;
    persist_out_.reset();
    Pump();
    return;
  }
  DETCD_CHECK_MSG(ready_.has_value() && seq == persist_seq_, "Persisted for a batch that is not outstanding");
  persist_out_.reset();
  if (ready_->snapshot) DETCD_CHECK(storage_.ApplySnapshot(MetadataOnly(*ready_->snapshot)).ok());
  storage_.Append(ready_->entries);
  if (ready_->hard_state) storage_.SetHardState(*ready_->hard_state);
  FinishReady(snapshot_data);
  Pump();
}

template <typename Now, typename Otherwise>
void NodeCore::Emit(std::vector<raftpb::Message>* messages, const Now& now, const Otherwise& otherwise) {
  if (out_msgs_.empty() && std::all_of(messages->begin(), messages->end(), now)) {
    out_msgs_ = std::move(*messages);  // the common round: the whole outbox at once, no message moved
    messages->clear();
    return;
  }
  out_msgs_.reserve(out_msgs_.size() + messages->size());
  for (raftpb::Message& m : *messages) {
    if (now(m)) {
      out_msgs_.push_back(std::move(m));
    } else {
      otherwise(std::move(m));
    }
  }
  messages->clear();
}

void NodeCore::FinishReady(ByteSource* snapshot_data) {
  raft::Ready rd = std::move(*ready_);
  ready_.reset();
  FinishReady(rd, snapshot_data);
}

void NodeCore::FinishReady(raft::Ready& rd, ByteSource* snapshot_data) {
  DETCD_CHECK(!ready_.has_value());
  Emit(
      &rd.messages, [](const raftpb::Message& m) { return m.type() != raftpb::MSG_SNAP; },
      [this](raftpb::Message&& m) { QueueSnapshotSend(std::move(m)); });
  if (rd.snapshot) RestoreState(*rd.snapshot, snapshot_data);
  if (!std::exchange(ready_applied_, false)) {
    for (const raftpb::Entry& e : rd.committed_entries) ApplyEntry(e);
  }
  for (const raft::ReadState& rs : rd.read_states) {
    if (read_batch_ && read_batch_->ctx == rs.request_ctx) {
      read_batch_->index = rs.index;
      read_batch_->answered = true;
      ready_reads_.push_back(std::move(*read_batch_));
      read_batch_.reset();
    }
  }
  raft_->Advance(rd);
  OnRoleChange();
  ServeReadyReads();
  IssueReadIndex();
  // Lease requests waiting for the leader to catch up with its own commits.
  while (!lease_waiting_.empty() && applied_index_ >= raft_->raft().log().committed()) {
    LeaseWait w = std::move(lease_waiting_.front());
    lease_waiting_.pop_front();
    ServeLeaseLocal(w.request_id, w.request);
  }
  MaybeSnapshot();
  StepSnapshotBuild();
}

void NodeCore::ApplyEntry(const raftpb::Entry& e) {
  DETCD_CHECK_MSG(e.index() == applied_index_ + 1,
                  absl::StrCat("applying entry ", e.index(), " after ", applied_index_).c_str());
  applied_index_ = e.index();
  if (config_.on_apply) config_.on_apply(e);
  if (e.type() == raftpb::ENTRY_CONF_CHANGE) return ApplyConfChange(e);
  if (e.data().empty()) return;  // a new leader's empty entry
  kvpb::RaftRequest req;
  if (!req.ParseFromString(e.data())) {
    // Every replica skips the same undecodable entry the same way; nothing proposes one.
    if (config_.logger) config_.logger(absl::StrCat(config_.id, " skipped undecodable entry ", e.index()));
    return;
  }
  // A proposal can reach the log twice (a forwarded MsgProp delivered twice, a retried forward): its second copy must
  // not take effect again — that would be a write applied after its client was told it was done. Every member makes
  // the same decision from the same log, and the window travels in snapshots.
  if (req.id() != 0 && !Remember(req.id())) {
    if (config_.logger) config_.logger(absl::StrCat(config_.id, " skipped duplicate request in entry ", e.index()));
    return;
  }
  ApplyRequest(req, e.index());
}

bool NodeCore::Remember(uint64_t id) {
  if (!recent_ids_.insert(id).second) return false;
  recent_order_.push_back(id);
  if (recent_order_.size() > kDedupWindow) {
    recent_ids_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
  return true;
}

void NodeCore::ApplyConfChange(const raftpb::Entry& e) {
  raftpb::ConfChange cc;
  kvpb::ConfChangeContext context;
  if (!cc.ParseFromString(e.data()) || !context.ParseFromString(cc.context())) {
    if (config_.logger) config_.logger(absl::StrCat(config_.id, " skipped undecodable conf change ", e.index()));
    return;
  }
  // No dedup window here: a change applied twice fails its second check (the member exists, is gone, is no longer
  // a learner) and changes nothing, the same way on every member.
  const absl::Status status = membership_.Check(cc, context);
  if (status.ok()) {
    membership_.Apply(cc, context);
    raft_->ApplyConfChange(cc);
    if (config_.logger) {
      config_.logger(absl::StrCat(absl::Hex(config_.id), " applied configuration change ",
                                  raftpb::ConfChangeType_Name(cc.type()), " ", absl::Hex(cc.node_id()),
                                  context.is_promote() ? " (promote)" : ""));
    }
  } else if (config_.logger) {
    config_.logger(absl::StrCat(absl::Hex(config_.id), " refused configuration change ",
                                raftpb::ConfChangeType_Name(cc.type()), " ", absl::Hex(cc.node_id()), ": ",
                                status.message()));
  }
  auto it = proposals_.find(cc.id());
  if (cc.id() == 0 || it == proposals_.end()) return;
  const uint64_t client = it->second.request_id;
  proposals_.erase(it);
  if (!status.ok()) return Reply(client, status);
  kvpb::ClientResponse resp;
  google::protobuf::RepeatedPtrField<etcdserverpb::Member>* members = nullptr;
  switch (cc.type()) {
    case raftpb::CONF_CHANGE_REMOVE_NODE:
      members = resp.mutable_member_remove()->mutable_members();
      break;
    case raftpb::CONF_CHANGE_UPDATE_NODE:
      members = resp.mutable_member_update()->mutable_members();
      break;
    default:
      if (context.is_promote()) {
        members = resp.mutable_member_promote()->mutable_members();
      } else {
        etcdserverpb::Member* m = resp.mutable_member_add()->mutable_member();
        m->set_id(cc.node_id());
        *m->mutable_peerurls() = context.member().peer_urls();
        m->set_islearner(cc.type() == raftpb::CONF_CHANGE_ADD_LEARNER_NODE);
        members = resp.mutable_member_add()->mutable_members();
      }
  }
  for (etcdserverpb::Member& m : membership_.ToEtcd()) *members->Add() = std::move(m);
  Reply(client, absl::OkStatus(), std::move(resp));
}

void NodeCore::ApplyAlarm(const etcdserverpb::AlarmRequest& a, etcdserverpb::AlarmResponse* resp) {
  // etcd's applier answers with the alarm it raised or cleared (nothing if there was nothing to clear).
  const uint64_t member = a.memberid();
  bool changed = false;
  if (a.action() == etcdserverpb::AlarmRequest::ACTIVATE) {
    if (a.alarm() == etcdserverpb::NONE) return;
    changed = alarms_.Activate(member, a.alarm());
    etcdserverpb::AlarmMember* m = resp->add_alarms();
    m->set_memberid(member);
    m->set_alarm(a.alarm());
  } else if (a.action() == etcdserverpb::AlarmRequest::DEACTIVATE) {
    if (!alarms_.Deactivate(member, a.alarm())) return;
    changed = true;
    etcdserverpb::AlarmMember* m = resp->add_alarms();
    m->set_memberid(member);
    m->set_alarm(a.alarm());
  }
  if (changed && config_.logger) {
    config_.logger(absl::StrCat(a.action() == etcdserverpb::AlarmRequest::ACTIVATE ? "alarm raised: "
                                                                                   : "alarm disarmed: ",
                                etcdserverpb::AlarmType_Name(a.alarm()), " for member ", absl::Hex(member)));
  }
}

void NodeCore::ApplyRequest(const kvpb::RaftRequest& req, uint64_t index) {
  kvpb::ClientResponse resp;
  absl::Status status;
  Applied applied;
  const kvpb::ClientRequest& r = req.request();
  // With the CORRUPT alarm raised, no request that changes the store or the leases applies (etcd's corrupt applier);
  // with NOSPACE, none that can grow the store (etcd's capped applier).
  const bool grows = r.has_put() || (r.has_txn() && IsWrite(r.txn())) || r.has_lease_grant();
  const bool changes = grows || r.has_delete_range() || r.has_compaction() || r.has_lease_revoke();
  if (changes && alarms_.Has(etcdserverpb::CORRUPT)) {
    status = ErrCorrupt();
  } else if (grows && alarms_.Has(etcdserverpb::NOSPACE)) {
    status = ErrNoSpace();
  } else if (status = config_.kv_testing.auth_check_at_admission_only && IsKvWrite(r) ? absl::OkStatus()
                                                                                     : CheckApplyPermission(r);
             !status.ok()) {
    // refused: nothing applies
  } else if (IsLoggedAuthRequest(r)) {
    status = ApplyAuth(r, index, &resp);
  } else {
    switch (r.request_case()) {
      case kvpb::ClientRequest::kPut:
        if (!config_.kv_testing.corrupt_puts_to.empty() && r.put().key() == config_.kv_testing.corrupt_puts_to) {
          etcdserverpb::PutRequest bad = r.put();
          bad.set_value(bad.value() + "~");
          status = applier_.Put(bad, resp.mutable_put(), &applied);
          break;
        }
        status = applier_.Put(r.put(), resp.mutable_put(), &applied);
        break;
      case kvpb::ClientRequest::kDeleteRange:
        status = applier_.DeleteRange(r.delete_range(), resp.mutable_delete_range(), &applied);
        break;
      case kvpb::ClientRequest::kTxn:
        status = applier_.Txn(r.txn(), resp.mutable_txn(), &applied);
        break;
      case kvpb::ClientRequest::kCompaction:
        status = applier_.Compaction(r.compaction(), resp.mutable_compaction());
        if (status.ok() && config_.on_compact) config_.on_compact(r.compaction().revision());
        break;
      case kvpb::ClientRequest::kLeaseGrant:
        status = applier_.LeaseGrant(r.lease_grant(), now_us_, resp.mutable_lease_grant());
        break;
      case kvpb::ClientRequest::kLeaseRevoke:
        if (config_.kv_testing.revoke_keeps_keys) {
          status = lessor_.Revoke(r.lease_revoke().id()).status();
          resp.mutable_lease_revoke();
        } else {
          status = applier_.LeaseRevoke(r.lease_revoke(), resp.mutable_lease_revoke(), &applied);
        }
        revoking_.erase(r.lease_revoke().id());
        break;
      case kvpb::ClientRequest::kLeaseKeepAlive: {
        // A keep-alive a follower forwarded: the leader (the only member with deadlines) renews; every member
        // answers with the lease's TTL, or 0 if it is gone (etcd's answer for an unknown lease).
        const int64_t id = r.lease_keep_alive().id();
        if (lessor_.primary()) (void)lessor_.Renew(id, now_us_);
        const Lease* l = lessor_.Lookup(id);
        resp.mutable_lease_keep_alive()->set_id(id);
        resp.mutable_lease_keep_alive()->set_ttl(l == nullptr ? 0 : l->ttl_s);
        break;
      }
      case kvpb::ClientRequest::kMemberAttributes:
        membership_.Publish(r.member_attributes());
        break;
      case kvpb::ClientRequest::kMemberPromote:
        // A promotion a follower was asked for: the leader checks the learner and proposes it, under this request's
        // id, so the member that asked answers its client when the change applies (or the refusal does).
        if (is_leader()) PromoteAsLeader(0, req.id(), r.member_promote().id());
        return;
      case kvpb::ClientRequest::kLeaseTimeToLive:
        // A follower's question: the leader answers through the log, under the question's id (the follower waits).
        if (is_leader()) {
          kvpb::ClientRequest answer;
          answer.mutable_lease_time_to_live_answer()->set_request_id(req.id());
          *answer.mutable_lease_time_to_live_answer()->mutable_response() = LeaseTimeToLive(r.lease_time_to_live());
          ProposeInternal(std::move(answer));
        }
        return;
      case kvpb::ClientRequest::kLeaseTimeToLiveAnswer:
        if (auto it = proposals_.find(r.lease_time_to_live_answer().request_id()); it != proposals_.end()) {
          const uint64_t client = it->second.request_id;
          proposals_.erase(it);
          *resp.mutable_lease_time_to_live() = r.lease_time_to_live_answer().response();
          Reply(client, absl::OkStatus(), std::move(resp));
        }
        return;
      case kvpb::ClientRequest::kLearnerNotReady:
        status = ErrLearnerNotReady();
        if (auto it = proposals_.find(r.learner_not_ready()); it != proposals_.end()) {
          const uint64_t client = it->second.request_id;
          proposals_.erase(it);
          Reply(client, status);
        }
        return;
      case kvpb::ClientRequest::kAlarm:
        ApplyAlarm(r.alarm(), resp.mutable_alarm());
        break;
      default:
        status = absl::InvalidArgumentError("etcdserver: unknown request in the log");
    }
  }
  if (applied.revision > 0) {
    if (config_.on_revision) config_.on_revision(applied.revision, applied.events);
    hub_->OnApplied(applied.revision, applied.events);
  }
  auto it = proposals_.find(req.id());
  if (it == proposals_.end()) return;  // another member's request, or one whose client this life does not know
  const uint64_t client = it->second.request_id;
  proposals_.erase(it);
  Reply(client, status, std::move(resp));
}

}  // namespace detcd::kv
