// Raft: the leader's role — accepting proposals, replicating with flow control, advancing commit by counting
// replicas of current-term entries, heartbeats and CheckQuorum, ReadIndex rounds, and leadership transfer.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"
#include "raft/raft.h"

namespace detcd::raft {

absl::Status Raft::StepLeader(const raftpb::Message& m) {
  switch (m.type()) {
    case raftpb::MSG_BEAT:
      BcastHeartbeat(read_only_.LastPendingContext());
      return absl::OkStatus();
    case raftpb::MSG_CHECK_QUORUM:
      if (!tracker_.QuorumActive(id_)) {
        Log(absl::StrFormat("%x stepped down to follower since quorum is not active", id_));
        BecomeFollower(term_, kNone);
      }
      // Each round asks afresh who was heard from.
      for (auto& [id, pr] : tracker_.progress()) {
        if (id != id_) pr.recent_active = false;
      }
      return absl::OkStatus();
    case raftpb::MSG_PROP: {
      if (m.entries_size() == 0) {
        return absl::InvalidArgumentError(absl::StrCat("raft: proposal from ", m.from(), " has no entries"));
      }
      if (!tracker_.IsMember(id_)) return ErrProposalDropped();  // removed from the configuration
      if (lead_transferee_ != kNone) {
        Log(absl::StrFormat("%x [term %d] transfer leadership to %d is in progress; dropping proposal", id_, term_,
                            lead_transferee_));
        return ErrProposalDropped();
      }
      std::vector<raftpb::Entry> entries(m.entries().begin(), m.entries().end());
      for (size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].type() != raftpb::ENTRY_CONF_CHANGE) continue;
        if (pending_conf_index_ > log_.applied()) {
          // Another change is in flight: this one becomes a no-op entry, as etcd does, so the proposer's entry still
          // commits (and it learns from applying it that nothing changed).
          Log(absl::StrFormat("%x propose conf change ignored since pending unapplied configuration [index %d, "
                              "applied %d]",
                              id_, pending_conf_index_, log_.applied()));
          entries[i] = raftpb::Entry();
        } else {
          pending_conf_index_ = log_.LastIndex() + i + 1;
        }
      }
      AppendEntries(std::move(entries));
      BcastAppend();
      return absl::OkStatus();
    }
    case raftpb::MSG_READ_INDEX:
      HandleReadIndex(m);
      return absl::OkStatus();
    default:
      break;
  }
  Progress* pr = tracker_.Get(m.from());
  if (pr == nullptr) {
    Log(absl::StrFormat("%x no progress available for %d", id_, m.from()));
    return absl::OkStatus();
  }
  switch (m.type()) {
    case raftpb::MSG_APP_RESP:
      if (!m.reject() && m.index() > log_.LastIndex()) {
        return absl::FailedPreconditionError(absl::StrCat("raft: MsgAppResp from ", m.from(), " acknowledges index ",
                                                          m.index(), " beyond leader's last index ",
                                                          log_.LastIndex()));
      }
      HandleAppendResponse(m, pr);
      return absl::OkStatus();
    case raftpb::MSG_HEARTBEAT_RESP:
      HandleHeartbeatResponse(m, pr);
      return absl::OkStatus();
    case raftpb::MSG_UNREACHABLE:
      // The transport lost a message to this peer: stop streaming optimistically and probe.
      if (pr->state == ProgressState::kReplicate) pr->BecomeProbe();
      return absl::OkStatus();
    case raftpb::MSG_TRANSFER_LEADER:
      HandleTransferLeader(m, pr);
      return absl::OkStatus();
    case raftpb::MSG_SNAP_STATUS:
      HandleSnapshotStatus(m, pr);
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

void Raft::HandleAppendResponse(const raftpb::Message& m, Progress* pr) {
  pr->recent_active = true;
  if (m.reject()) {
    Log(absl::StrFormat("%x received MsgAppResp(rejected, hint: (index %d, term %d)) from %x for index %d", id_,
                        m.reject_hint(), m.log_term(), m.from(), m.index()));
    // Skip, in one step, every entry of ours whose term the follower's log cannot match: the next probe goes to
    // the last index whose term is <= the term the follower has at its hint.
    uint64_t next_probe = m.reject_hint();
    if (m.log_term() > 0) next_probe = log_.FindConflictByTerm(m.reject_hint(), m.log_term());
    if (pr->MaybeDecrTo(m.index(), next_probe)) {
      if (pr->state == ProgressState::kReplicate) pr->BecomeProbe();
      SendAppend(m.from(), true);
    }
    return;
  }
  const bool was_paused = pr->IsPaused();
  const bool updated = pr->MaybeUpdate(m.index());
  if (!updated && !(pr->match == m.index() && pr->state == ProgressState::kProbe)) return;  // stale
  if (pr->state == ProgressState::kProbe) {
    pr->BecomeReplicate();
  } else if (pr->state == ProgressState::kSnapshot) {
    // The follower holds the snapshot (or caught up past it otherwise): stream entries again.
    if (pr->match >= pr->pending_snapshot || pr->match + 1 >= log_.FirstIndex()) {
      Log(absl::StrFormat("%x snapshot to %d done [match %d, pending snapshot %d]; resuming replication", id_,
                          m.from(), pr->match, pr->pending_snapshot));
      pr->BecomeProbe();
      pr->BecomeReplicate();
    }
  } else if (pr->state == ProgressState::kReplicate) {
    pr->inflights.FreeLE(m.index());
  }
  if (MaybeCommit()) {
    ReleasePendingReads();
    BcastAppend();
  } else if (was_paused) {
    SendAppend(m.from(), true);
  }
  // Keep the pipe full: send what remains while the window allows.
  while (SendAppend(m.from(), false)) {
  }
  if (m.from() == lead_transferee_ && pr->match == log_.LastIndex()) {
    Log(absl::StrFormat("%x sent MsgTimeoutNow to %d after received MsgAppResp", id_, m.from()));
    SendTimeoutNow(m.from());
  }
}

void Raft::HandleSnapshotStatus(const raftpb::Message& m, Progress* pr) {
  if (pr->state != ProgressState::kSnapshot) return;
  if (m.reject()) {
    // It never arrived: probe from what the follower is known to hold (which will ask for a snapshot again).
    Log(absl::StrFormat("%x snapshot to %d failed; probing again after the next heartbeat response", id_, m.from()));
    pr->pending_snapshot = 0;
  }
  pr->BecomeProbe();
  // After a success, wait for the follower's MsgAppResp before the next append; after a failure, for a heartbeat
  // response (so a snapshot is not resent in a tight loop to a peer that cannot take it).
  pr->probe_sent = true;
}

void Raft::HandleHeartbeatResponse(const raftpb::Message& m, Progress* pr) {
  pr->recent_active = true;
  pr->probe_sent = false;
  // A full window with nothing acknowledged may mean appends were lost; let one more go so the follower's
  // rejection (or acceptance) gets replication moving again.
  if (pr->state == ProgressState::kReplicate && pr->inflights.Full()) pr->inflights.FreeFirstOne();
  if (pr->match < log_.LastIndex()) SendAppend(m.from(), true);
  // A transferee that is caught up but still a follower lost our MsgTimeoutNow (it went while the transferee was
  // unreachable): tell it again rather than wait for the transfer to be aborted an election timeout later.
  if (m.from() == lead_transferee_ && pr->match == log_.LastIndex()) SendTimeoutNow(m.from());
  if (m.context().empty() || read_only_.pending() == 0) return;
  if (read_only_.RecvAck(m.from(), m.context()) == 0) return;
  // Only voters' acknowledgements make a quorum.
  size_t voter_acks = 0;
  for (uint64_t id : read_only_.Acks(m.context())) voter_acks += tracker_.IsVoter(id) ? 1 : 0;
  if (voter_acks < tracker_.Quorum()) return;
  for (ReadIndexStatus& rs : read_only_.Advance(m.context())) AnswerRead(rs.request, rs.index);
  // Requests that arrived after this round's heartbeat was sent need a round of their own.
  if (read_only_.pending() > 0) BcastHeartbeat(read_only_.LastPendingContext());
}

void Raft::HandleReadIndex(const raftpb::Message& m) {
  if (!CommittedEntryInCurrentTerm()) {
    // Our commit index may lag what a previous leader committed until an entry of our term commits (§6.4). This
    // holds for a single voter too: a commit-only HardState is written lazily (MustSync=false), so after a crash
    // the restored commit index can be behind writes that were applied and acknowledged before it
    // (testdata/election/single_node_read_after_restart.txt).
    pending_reads_.push_back(m);
    return;
  }
  if (tracker_.voters().size() <= 1) {
    // A single voter is its own quorum: once an entry of its term has committed, its commit index is current.
    AnswerRead(m, log_.committed());
    return;
  }
  if (!read_only_.AddRequest(log_.committed(), m)) return;  // a duplicate context: the first request answers
  read_only_.RecvAck(id_, ReadContext(m));
  // One heartbeat round at a time: a request that arrives while one is in flight joins the next round.
  if (read_only_.pending() == 1) BcastHeartbeat(ReadContext(m));
}

void Raft::ReleasePendingReads() {
  if (pending_reads_.empty() || !CommittedEntryInCurrentTerm()) return;
  std::vector<raftpb::Message> reads = std::move(pending_reads_);
  pending_reads_.clear();
  for (const raftpb::Message& m : reads) HandleReadIndex(m);
}

void Raft::AnswerRead(const raftpb::Message& req, uint64_t index) {
  if (req.from() == kNone || req.from() == id_) {
    read_states_.push_back(ReadState{index, ReadContext(req)});
    return;
  }
  raftpb::Message resp;
  resp.set_to(req.from());
  resp.set_type(raftpb::MSG_READ_INDEX_RESP);
  resp.set_index(index);
  *resp.mutable_entries() = req.entries();
  Send(std::move(resp));
}

void Raft::HandleTransferLeader(const raftpb::Message& m, Progress* pr) {
  const uint64_t transferee = m.from();
  if (pr->is_learner) {
    Log(absl::StrFormat("%x is learner. Ignored transferring leadership", transferee));
    return;
  }
  if (lead_transferee_ != kNone) {
    if (lead_transferee_ == transferee) {
      Log(absl::StrFormat("%x [term %d] transfer leadership to %d is in progress, ignores request to same node %d",
                          id_, term_, transferee, transferee));
      return;
    }
    Log(absl::StrFormat("%x [term %d] abort previous transferring leadership to %d", id_, term_, lead_transferee_));
    AbortLeaderTransfer();
  }
  if (transferee == id_) {
    Log(absl::StrFormat("%x is already leader. Ignored transferring leadership to self", id_));
    return;
  }
  Log(absl::StrFormat("%x [term %d] starts to transfer leadership to %d", id_, term_, transferee));
  // The transfer must finish within one election timeout, or it is abandoned (see TickHeartbeat).
  election_elapsed_ = 0;
  lead_transferee_ = transferee;
  if (pr->match == log_.LastIndex()) {
    Log(absl::StrFormat("%x sends MsgTimeoutNow to %d immediately as %d already has up-to-date log", id_, transferee,
                        transferee));
    SendTimeoutNow(transferee);
  } else {
    SendAppend(transferee, true);
  }
}

void Raft::SendTimeoutNow(uint64_t to) {
  raftpb::Message m;
  m.set_to(to);
  m.set_type(raftpb::MSG_TIMEOUT_NOW);
  Send(std::move(m));
}

void Raft::AppendEntries(std::vector<raftpb::Entry> entries) {
  uint64_t index = log_.LastIndex();
  for (raftpb::Entry& e : entries) {
    e.set_term(term_);
    e.set_index(++index);
  }
  log_.Append(std::move(entries));
  // The leader's own progress moves in OnEntriesStable, once these entries are durable here.
}

void Raft::OnEntriesStable(uint64_t index, uint64_t term) {
  log_.StableTo(index, term);
  if (state_ != StateType::kLeader || log_.StableLastIndex() < index || !log_.MatchTerm(index, term)) return;
  Progress* self = tracker_.Get(id_);
  if (self != nullptr && self->MaybeUpdate(index) && MaybeCommit()) {
    ReleasePendingReads();
    BcastAppend();
  }
}

bool Raft::MaybeCommit() {
  const uint64_t quorum_index = tracker_.Committed();
  if (config_.testing.commit_earlier_terms) {
    // The figure-8 bug: an entry of an earlier term counted as committed once a majority stores it.
    if (quorum_index > log_.committed()) {
      log_.CommitTo(quorum_index);
      return true;
    }
    return false;
  }
  // Only entries of the current term are committed by counting replicas (§5.4.2); earlier ones commit with them.
  return log_.MaybeCommit(quorum_index, term_);
}

bool Raft::SendAppend(uint64_t to, bool send_if_empty) {
  Progress* pr = tracker_.Get(to);
  if (pr == nullptr || pr->IsPaused()) return false;
  const uint64_t prev_index = pr->next - 1;
  if (prev_index + 1 < log_.FirstIndex()) {
    // The follower needs entries this log no longer holds: only a snapshot can help.
    return SendSnapshot(to, pr);
  }
  raftpb::Message m;
  if (pr->next <= log_.LastIndex()) log_.CopyEntriesFrom(pr->next, config_.max_size_per_msg_bytes, m.mutable_entries());
  if (m.entries().empty() && !send_if_empty) return false;
  m.set_to(to);
  m.set_type(raftpb::MSG_APP);
  m.set_index(prev_index);
  m.set_log_term(log_.Term(prev_index));
  m.set_commit(log_.committed());
  const size_t count = static_cast<size_t>(m.entries_size());
  pr->SentEntries(count == 0 ? prev_index : m.entries(m.entries_size() - 1).index(), count);
  Send(std::move(m));
  return true;
}

bool Raft::SendSnapshot(uint64_t to, Progress* pr) {
  if (!pr->recent_active) {
    // Don't push a whole snapshot at a peer that may be down; it gets one once it answers again.
    Log(absl::StrFormat("%x ignored sending snapshot to %d since it is not recently active", id_, to));
    return false;
  }
  raftpb::Snapshot snapshot = config_.storage->Snapshot();
  if (snapshot.metadata().index() == 0) {
    Log(absl::StrFormat("%x failed to send snapshot to %d because snapshot is temporarily unavailable", id_, to));
    return false;
  }
  DETCD_CHECK_MSG(snapshot.metadata().index() + 1 >= log_.FirstIndex(),
                  absl::StrCat("raft: storage compacted to ", log_.FirstIndex() - 1, " past its snapshot at ",
                               snapshot.metadata().index())
                      .c_str());
  Log(absl::StrFormat("%x [firstindex: %d, commit: %d] sent snapshot[index: %d, term: %d] to %d [%s]", id_,
                      log_.FirstIndex(), log_.committed(), snapshot.metadata().index(), snapshot.metadata().term(), to,
                      pr->ToString()));
  pr->BecomeSnapshot(snapshot.metadata().index());
  raftpb::Message m;
  m.set_to(to);
  m.set_type(raftpb::MSG_SNAP);
  *m.mutable_snapshot() = std::move(snapshot);
  Send(std::move(m));
  return true;
}

void Raft::BcastAppend() {
  for (const auto& [id, pr] : tracker_.progress()) {
    if (id != id_) SendAppend(id, true);
  }
}

void Raft::BcastHeartbeat(const std::string& ctx) {
  for (const auto& [id, pr] : tracker_.progress()) {
    if (id == id_) continue;
    raftpb::Message m;
    m.set_to(id);
    m.set_type(raftpb::MSG_HEARTBEAT);
    // Never point a follower's commit past what it is known to hold.
    m.set_commit(std::min(pr.match, log_.committed()));
    if (!ctx.empty()) m.set_context(ctx);  // an empty one would still cost the message a string of its own
    Send(std::move(m));
  }
}

}  // namespace detcd::raft
