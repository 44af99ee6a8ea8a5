#include "raft/raw_node.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::raft {

bool IsLocalMessage(raftpb::MessageType t) {
  return t == raftpb::MSG_HUP || t == raftpb::MSG_BEAT || t == raftpb::MSG_UNREACHABLE ||
         t == raftpb::MSG_SNAP_STATUS || t == raftpb::MSG_CHECK_QUORUM;
}

bool IsResponseMessage(raftpb::MessageType t) {
  return t == raftpb::MSG_APP_RESP || t == raftpb::MSG_VOTE_RESP || t == raftpb::MSG_HEARTBEAT_RESP ||
         t == raftpb::MSG_UNREACHABLE || t == raftpb::MSG_PRE_VOTE_RESP;
}

RawNode::RawNode(const Config& config) : raft_(config), on_invariant_broken_(config.on_invariant_broken) {
  prev_soft_state_ = raft_.soft_state();
  prev_hard_state_ = raft_.hard_state();
  CheckInvariants();
}

void RawNode::CheckInvariants() {
  const std::string broken = invariants_.Check(raft_);
  if (broken.empty()) return;
  if (on_invariant_broken_) {
    on_invariant_broken_(broken);
    return;
  }
  DETCD_CHECK_MSG(false, broken.c_str());
}

absl::Status RawNode::Checked(absl::Status stepped) {
  CheckInvariants();
  return stepped;
}

void RawNode::Tick() {
  raft_.Tick();
  CheckInvariants();
}

raftpb::ConfState RawNode::ApplyConfChange(const raftpb::ConfChange& cc) {
  raftpb::ConfState cs = raft_.ApplyConfChange(cc);
  CheckInvariants();
  return cs;
}

absl::Status RawNode::Campaign() {
  raftpb::Message m;
  m.set_type(raftpb::MSG_HUP);
  m.set_from(raft_.id());
  return Checked(raft_.Step(m));
}

absl::Status RawNode::Propose(std::string data) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_PROP);
  m.set_from(raft_.id());
  m.add_entries()->set_data(std::move(data));
  return Checked(raft_.Step(m));
}

absl::Status RawNode::ProposeConfChange(const raftpb::ConfChange& cc) {
  if (cc.node_id() == kNone) return absl::InvalidArgumentError("raft: configuration change names no node");
  if (!raftpb::ConfChangeType_IsValid(cc.type())) {
    return absl::InvalidArgumentError(absl::StrCat("raft: unknown configuration change type ", cc.type()));
  }
  raftpb::Message m;
  m.set_type(raftpb::MSG_PROP);
  m.set_from(raft_.id());
  raftpb::Entry* e = m.add_entries();
  e->set_type(raftpb::ENTRY_CONF_CHANGE);
  e->set_data(cc.SerializeAsString());
  return Checked(raft_.Step(m));
}

absl::Status RawNode::Step(const raftpb::Message& m) {
  if (!raftpb::MessageType_IsValid(m.type())) {
    return absl::InvalidArgumentError(absl::StrCat("raft: unknown message type ", static_cast<int>(m.type())));
  }
  if (IsLocalMessage(m.type())) return absl::InvalidArgumentError("raft: cannot step raft local message");
  if (m.to() != raft_.id()) {
    return absl::InvalidArgumentError(absl::StrCat("raft: message for ", m.to(), " delivered to ", raft_.id()));
  }
  if (m.from() == kNone || m.from() == raft_.id()) {
    return absl::InvalidArgumentError(absl::StrCat("raft: message from invalid sender ", m.from()));
  }
  const raftpb::MessageType t = m.type();
  // Only proposals and reads forwarded to the leader travel without a term; anything else with term 0 would be
  // taken for a local message and skip the term rules.
  if (m.term() == 0 && t != raftpb::MSG_PROP && t != raftpb::MSG_READ_INDEX) {
    return absl::InvalidArgumentError("raft: message from a peer without a term");
  }
  if (IsResponseMessage(t) && !raft_.tracker().IsMember(m.from())) {
    return absl::NotFoundError("raft: cannot step as peer not found");
  }
  return Checked(raft_.Step(m));
}

void RawNode::TransferLeader(uint64_t transferee) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_TRANSFER_LEADER);
  m.set_from(transferee);
  (void)raft_.Step(m);
  CheckInvariants();
}

absl::Status RawNode::ReadIndex(std::string context) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_READ_INDEX);
  m.add_entries()->set_data(std::move(context));
  return Checked(raft_.Step(m));
}

void RawNode::ReportUnreachable(uint64_t id) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_UNREACHABLE);
  m.set_from(id);
  (void)raft_.Step(m);
  CheckInvariants();
}

void RawNode::ReportSnapshot(uint64_t id, bool failed) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_SNAP_STATUS);
  m.set_from(id);
  m.set_reject(failed);
  (void)raft_.Step(m);
  CheckInvariants();
}

bool RawNode::HardStateChanged() const {
  return raft_.term() != prev_hard_state_.term() || raft_.vote() != prev_hard_state_.vote() ||
         raft_.log().committed() != prev_hard_state_.commit();
}

bool RawNode::HasReady() const {
  // Asked after every step: the cheap and the common reasons first.
  if (!raft_.msgs().empty() || !raft_.log().UnstableEntries().empty()) return true;
  if (raft_.soft_state() != prev_soft_state_) return true;
  if (HardStateChanged()) return true;
  if (raft_.log().PendingSnapshot() != nullptr) return true;
  if (raft_.log().HasNextCommittedEntries()) return true;
  return !raft_.read_states().empty();
}

Ready RawNode::GetReady() {
  DETCD_CHECK_MSG(!ready_outstanding_, "raft: GetReady called again before Advance");
  Ready rd;
  const SoftState ss = raft_.soft_state();
  if (ss != prev_soft_state_) rd.soft_state = ss;
  if (HardStateChanged()) {
    rd.hard_state = raft_.hard_state();
    rd.must_sync = raft_.term() != prev_hard_state_.term() || raft_.vote() != prev_hard_state_.vote();
  }
  if (const raftpb::Snapshot* snap = raft_.log().PendingSnapshot()) {
    DETCD_CHECK_MSG(snap->metadata().index() > 0, "a pending snapshot at index 0");
    rd.snapshot = *snap;
    rd.must_sync = true;
  }
  rd.entries = raft_.log().UnstableEntries();
  if (!rd.entries.empty()) rd.must_sync = true;
  rd.committed_entries = raft_.log().NextCommittedEntries();
  rd.messages = std::move(raft_.mutable_msgs());
  raft_.mutable_msgs().clear();
  rd.read_states = std::move(raft_.mutable_read_states());
  raft_.mutable_read_states().clear();
  ready_outstanding_ = true;
  return rd;
}

void RawNode::Advance(const Ready& rd) {
  DETCD_CHECK_MSG(ready_outstanding_, "raft: Advance without a Ready");
  ready_outstanding_ = false;
  if (rd.soft_state) prev_soft_state_ = *rd.soft_state;
  if (rd.hard_state) prev_hard_state_ = *rd.hard_state;
  if (rd.snapshot) raft_.OnSnapshotStable(rd.snapshot->metadata().index());
  if (!rd.committed_entries.empty()) raft_.OnApplied(rd.committed_entries.back().index());
  if (!rd.entries.empty()) raft_.OnEntriesStable(rd.entries.back().index(), rd.entries.back().term());
  CheckInvariants();
}

Status RawNode::GetStatus() const {
  Status st;
  st.id = raft_.id();
  st.hard_state = raft_.hard_state();
  st.soft_state = raft_.soft_state();
  st.applied = raft_.log().applied();
  st.last_index = raft_.log().LastIndex();
  st.lead_transferee = raft_.lead_transferee();
  if (raft_.state() == StateType::kLeader) {
    for (const auto& [id, pr] : raft_.tracker().progress()) st.progress.emplace_back(id, pr);
  }
  return st;
}

}  // namespace detcd::raft
