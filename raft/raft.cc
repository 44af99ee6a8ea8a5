// Raft: construction, the term rules every message goes through, elections, and the follower and candidate roles.
// The leader's role (replication, heartbeats, reads, transfers) is in raft_leader.cc.
#include "raft/raft.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/check.h"
#include "raft/message_names.h"

namespace detcd::raft {

namespace {

raftpb::MessageType VoteResponseType(raftpb::MessageType t) {
  return t == raftpb::MSG_PRE_VOTE ? raftpb::MSG_PRE_VOTE_RESP : raftpb::MSG_VOTE_RESP;
}

bool IsVoteType(raftpb::MessageType t) {
  return t == raftpb::MSG_VOTE || t == raftpb::MSG_VOTE_RESP || t == raftpb::MSG_PRE_VOTE ||
         t == raftpb::MSG_PRE_VOTE_RESP;
}

}  // namespace

const char* StateName(StateType s) {
  switch (s) {
    case StateType::kFollower:
      return "StateFollower";
    case StateType::kCandidate:
      return "StateCandidate";
    case StateType::kLeader:
      return "StateLeader";
    case StateType::kPreCandidate:
      return "StatePreCandidate";
  }
  return "?";
}

absl::Status ErrProposalDropped() { return absl::FailedPreconditionError("raft proposal dropped"); }
bool IsProposalDropped(const absl::Status& s) {
  return absl::IsFailedPrecondition(s) && s.message() == "raft proposal dropped";
}

Raft::Raft(const Config& config)
    : id_(config.id),
      config_(config),
      log_(config.storage, config.max_committed_size_per_ready_bytes),
      tracker_(config.max_inflight_msgs),
      prng_(config.seed) {
  DETCD_CHECK_MSG(id_ != kNone, "raft: id must not be 0");
  DETCD_CHECK_MSG(config.heartbeat_ticks > 0, "raft: heartbeat ticks must be > 0");
  DETCD_CHECK_MSG(config.election_ticks > config.heartbeat_ticks, "raft: election ticks must exceed heartbeat ticks");
  DETCD_CHECK_MSG(config.max_inflight_msgs > 0, "raft: max inflight messages must be > 0");
  tracker_.set_testing_learners_in_quorum(config.testing.learners_in_quorum);
  const raftpb::HardState hs = config.storage->InitialHardState();
  const raftpb::ConfState cs = config.storage->InitialConfState();
  if (cs.voters_size() > 0 || cs.learners_size() > 0) {
    tracker_.SetConfig(std::vector<uint64_t>(cs.voters().begin(), cs.voters().end()),
                       std::vector<uint64_t>(cs.learners().begin(), cs.learners().end()));
  } else {
    tracker_.SetConfig(config.peers, config.learners);
  }
  if (hs.term() != 0 || hs.vote() != 0 || hs.commit() != 0) {
    DETCD_CHECK_MSG(hs.commit() <= log_.LastIndex(),
                    absl::StrCat("raft: hard state commit ", hs.commit(), " beyond last index ", log_.LastIndex())
                        .c_str());
    term_ = hs.term();
    vote_ = hs.vote();
    log_.CommitTo(hs.commit());
  }
  if (config.applied > 0) log_.AppliedTo(config.applied);
  BecomeFollower(term_, kNone);
  Log(absl::StrFormat("%x newRaft [term: %d, commit: %d, applied: %d, lastindex: %d, lastterm: %d]", id_, term_,
                      log_.committed(), log_.applied(), log_.LastIndex(), log_.LastTerm()));
}

raftpb::HardState Raft::hard_state() const {
  raftpb::HardState hs;
  hs.set_term(term_);
  hs.set_vote(vote_);
  hs.set_commit(log_.committed());
  return hs;
}

void Raft::Log(const std::string& line) const {
  if (config_.logger) config_.logger(line);
}

// ---- state transitions ----

void Raft::Reset(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNone;
  }
  lead_ = kNone;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  tracker_.ResetVotes();
  tracker_.ResetProgress(id_, log_.LastIndex(), log_.StableLastIndex());
  read_only_.Reset();
  pending_reads_.clear();
}

void Raft::ResetRandomizedElectionTimeout() {
  randomized_election_timeout_ =
      config_.election_ticks + static_cast<int>(prng_.Uniform(static_cast<uint64_t>(config_.election_ticks)));
}

void Raft::BecomeFollower(uint64_t term, uint64_t lead) {
  Reset(term);
  lead_ = lead;
  state_ = StateType::kFollower;
  Log(absl::StrFormat("%x became follower at term %d", id_, term_));
}

void Raft::BecomeCandidate() {
  DETCD_CHECK_MSG(state_ != StateType::kLeader, "raft: invalid transition [leader -> candidate]");
  Reset(term_ + 1);
  vote_ = id_;
  state_ = StateType::kCandidate;
  Log(absl::StrFormat("%x became candidate at term %d", id_, term_));
}

void Raft::BecomePreCandidate() {
  DETCD_CHECK_MSG(state_ != StateType::kLeader, "raft: invalid transition [leader -> pre-candidate]");
  // A pre-candidate changes neither term nor vote: that is the point of PreVote.
  tracker_.ResetVotes();
  lead_ = kNone;
  state_ = StateType::kPreCandidate;
  Log(absl::StrFormat("%x became pre-candidate at term %d", id_, term_));
}

void Raft::BecomeLeader() {
  DETCD_CHECK_MSG(state_ != StateType::kFollower, "raft: invalid transition [follower -> leader]");
  Reset(term_);
  lead_ = id_;
  state_ = StateType::kLeader;
  Progress* self = tracker_.Get(id_);
  DETCD_CHECK(self != nullptr);
  self->BecomeReplicate();
  self->next = log_.LastIndex() + 1;
  self->recent_active = true;
  // Any configuration change in the uncommitted tail may still be pending: hold new ones until it is applied.
  pending_conf_index_ = log_.LastIndex();
  // An empty entry of the new term: committing it commits everything before it (§5.4.2) and lets reads proceed.
  AppendEntries({raftpb::Entry()});
  Log(absl::StrFormat("%x became leader at term %d", id_, term_));
}

// ---- configuration ----

size_t Raft::UnappliedConfChanges() const {
  if (log_.applied() >= log_.committed()) return 0;
  size_t n = 0;
  for (const raftpb::Entry& e : log_.Slice(log_.applied() + 1, log_.committed() + 1, UINT64_MAX)) {
    if (e.type() == raftpb::ENTRY_CONF_CHANGE) ++n;
  }
  return n;
}

raftpb::ConfState Raft::conf_state() const {
  raftpb::ConfState cs;
  for (uint64_t id : tracker_.voters()) cs.add_voters(id);
  for (uint64_t id : tracker_.learners()) cs.add_learners(id);
  return cs;
}

raftpb::ConfState Raft::ApplyConfChange(const raftpb::ConfChange& cc) {
  const uint64_t id = cc.node_id();
  std::set<uint64_t> voters = tracker_.voters();
  std::set<uint64_t> learners = tracker_.learners();
  const bool was_member = tracker_.IsMember(id);
  switch (cc.type()) {
    case raftpb::CONF_CHANGE_ADD_NODE:
      learners.erase(id);  // a learner is promoted
      voters.insert(id);
      break;
    case raftpb::CONF_CHANGE_ADD_LEARNER_NODE:
      if (voters.count(id) > 0) {
        Log(absl::StrFormat("%x ignored adding learner %d: it is a voter, and voters cannot be demoted", id_, id));
        return conf_state();
      }
      learners.insert(id);
      break;
    case raftpb::CONF_CHANGE_REMOVE_NODE:
      voters.erase(id);
      learners.erase(id);
      break;
    case raftpb::CONF_CHANGE_UPDATE_NODE:
    default:
      return conf_state();
  }
  if (id == kNone) return conf_state();
  tracker_.SetConfig(std::vector<uint64_t>(voters.begin(), voters.end()),
                     std::vector<uint64_t>(learners.begin(), learners.end()));
  if (!was_member && tracker_.IsMember(id)) {
    // A new member starts where the leader would probe first, and counts as active so that CheckQuorum does not
    // count it against the leader before it had a chance to answer.
    Progress* pr = tracker_.Get(id);
    pr->next = log_.LastIndex() + 1;
    pr->recent_active = true;
  }
  Log(absl::StrFormat("%x switched to configuration voters=(%s) learners=(%s)", id_,
                      absl::StrJoin(tracker_.voters(), " "), absl::StrJoin(tracker_.learners(), " ")));
  if (state_ == StateType::kLeader && !tracker_.voters().empty()) {
    // A smaller quorum may commit entries that were waiting.
    if (MaybeCommit()) {
      ReleasePendingReads();
      BcastAppend();
    }
    if (lead_transferee_ != kNone && !tracker_.IsVoter(lead_transferee_)) AbortLeaderTransfer();
    // A new member hears from us now rather than at the next heartbeat.
    if (!was_member && tracker_.IsMember(id) && id != id_) SendAppend(id, true);
  }
  return conf_state();
}

// ---- elections ----

bool Raft::InLease() const {
  return config_.check_quorum && lead_ != kNone && election_elapsed_ < config_.election_ticks;
}

void Raft::Hup(CampaignType type) {
  if (state_ == StateType::kLeader) {
    Log(absl::StrFormat("%x ignoring MsgHup because already leader", id_));
    return;
  }
  if (!promotable()) {
    Log(absl::StrFormat("%x is unpromotable and can not campaign", id_));
    return;
  }
  if (log_.PendingSnapshot() != nullptr) {
    // Our log is a snapshot not yet on disk: what we would campaign with may still be lost.
    Log(absl::StrFormat("%x cannot campaign at term %d since there is a pending snapshot", id_, term_));
    return;
  }
  if (const size_t n = UnappliedConfChanges(); n > 0) {
    // Our configuration may be about to change: we might not even be a voter once it is applied.
    Log(absl::StrFormat("%x cannot campaign at term %d since there are still %d pending configuration changes to apply",
                        id_, term_, n));
    return;
  }
  Log(absl::StrFormat("%x is starting a new election at term %d", id_, term_));
  Campaign(type);
}

void Raft::Campaign(CampaignType type) {
  raftpb::MessageType vote_type;
  uint64_t term;
  if (type == CampaignType::kPreElection) {
    BecomePreCandidate();
    vote_type = raftpb::MSG_PRE_VOTE;
    term = term_ + 1;  // the term a real election would use; ours stays as it is
  } else {
    BecomeCandidate();
    vote_type = raftpb::MSG_VOTE;
    term = term_;
  }
  if (Poll(id_, VoteResponseType(vote_type), true) == VoteResult::kWon) {
    // A single voter wins at once.
    if (type == CampaignType::kPreElection) {
      Campaign(CampaignType::kElection);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (uint64_t voter : tracker_.voters()) {
    if (voter == id_) continue;
    Log(absl::StrFormat("%x [logterm: %d, index: %d] sent %s request to %x at term %d", id_, log_.LastTerm(),
                        log_.LastIndex(), MessageTypeName(vote_type), voter, term_));
    raftpb::Message m;
    m.set_to(voter);
    m.set_type(vote_type);
    m.set_term(term);
    m.set_index(log_.LastIndex());
    m.set_log_term(log_.LastTerm());
    if (type == CampaignType::kTransfer) m.set_context(kCampaignTransfer);
    Send(std::move(m));
  }
}

VoteResult Raft::Poll(uint64_t from, raftpb::MessageType type, bool granted) {
  if (granted) {
    Log(absl::StrFormat("%x received %s from %x at term %d", id_, MessageTypeName(type), from, term_));
  } else {
    Log(absl::StrFormat("%x received %s rejection from %x at term %d", id_, MessageTypeName(type), from, term_));
  }
  tracker_.RecordVote(from, granted);
  return tracker_.TallyVotes();
}

void Raft::HandleVoteRequest(const raftpb::Message& m) {
  // We may vote for m.from if we already did in this term, or have voted for nobody and know no leader, or this is
  // a pre-vote for a later term (pre-votes promise nothing).
  const bool can_vote = vote_ == m.from() || (vote_ == kNone && lead_ == kNone) ||
                        (m.type() == raftpb::MSG_PRE_VOTE && m.term() > term_);
  const bool up_to_date = config_.testing.vote_ignores_log || log_.IsUpToDate(m.index(), m.log_term());
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(VoteResponseType(m.type()));
  if (can_vote && up_to_date) {
    Log(absl::StrFormat("%x [logterm: %d, index: %d, vote: %x] cast %s for %d [logterm: %d, index: %d] at term %d",
                        id_, log_.LastTerm(), log_.LastIndex(), vote_, MessageTypeName(m.type()), m.from(), m.log_term(),
                        m.index(), term_));
    // The response carries the request's term: for a pre-vote that is the future term the candidate will use.
    resp.set_term(m.term());
    if (m.type() == raftpb::MSG_VOTE) {
      election_elapsed_ = 0;
      vote_ = m.from();
    }
  } else {
    Log(absl::StrFormat(
        "%x [logterm: %d, index: %d, vote: %x] rejected %s from %x [logterm: %d, index: %d] at term %d", id_,
        log_.LastTerm(), log_.LastIndex(), vote_, MessageTypeName(m.type()), m.from(), m.log_term(), m.index(), term_));
    resp.set_term(term_);
    resp.set_reject(true);
  }
  Send(std::move(resp));
}

// ---- Step: the term rules, then the role ----

absl::Status Raft::Step(const raftpb::Message& m) {
  if (m.term() == 0) {
    // A local message (or a forwarded proposal or read, which carry no term).
  } else if (m.term() > term_) {
    if (m.type() == raftpb::MSG_VOTE || m.type() == raftpb::MSG_PRE_VOTE) {
      const bool force = m.context() == kCampaignTransfer;
      if (!force && InLease()) {
        // We heard from a leader within the minimum election timeout: this candidate cannot win legitimately, so
        // neither raise our term nor vote (thesis §4.2.3).
        Log(absl::StrFormat(
            "%x [logterm: %d, index: %d, vote: %x] ignored %s from %x [logterm: %d, index: %d] at term %d: lease is "
            "not expired (remaining ticks: %d)",
            id_, log_.LastTerm(), log_.LastIndex(), vote_, MessageTypeName(m.type()), m.from(), m.log_term(), m.index(),
            term_, config_.election_ticks - election_elapsed_));
        return absl::OkStatus();
      }
    }
    if (m.type() == raftpb::MSG_PRE_VOTE) {
      // Never change our term in response to a pre-vote.
    } else if (m.type() == raftpb::MSG_PRE_VOTE_RESP && !m.reject()) {
      // A granted pre-vote carries the term we will campaign in; we move to it only once we win the pre-vote.
    } else {
      Log(absl::StrFormat("%x [term: %d] received a message with higher term from %x [term: %d]", id_, term_,
                          m.from(), m.term()));
      if (m.type() == raftpb::MSG_APP || m.type() == raftpb::MSG_HEARTBEAT || m.type() == raftpb::MSG_SNAP) {
        BecomeFollower(m.term(), m.from());
      } else {
        BecomeFollower(m.term(), kNone);
      }
    }
  } else if (m.term() < term_) {
    if ((config_.check_quorum || config_.pre_vote) &&
        (m.type() == raftpb::MSG_HEARTBEAT || m.type() == raftpb::MSG_APP)) {
      // A leader from an older term (perhaps cut off, perhaps just slow). Without CheckQuorum or PreVote its
      // messages could be dropped silently, since it would hear our higher term from our own campaign; with them,
      // our term may have moved without a campaign it can see, so tell it, or it stays leader forever.
      raftpb::Message resp;
      resp.set_to(m.from());
      resp.set_type(raftpb::MSG_APP_RESP);
      Send(std::move(resp));
    } else if (m.type() == raftpb::MSG_PRE_VOTE) {
      // Reject with our term so the pre-candidate learns it is behind.
      Log(absl::StrFormat("%x [logterm: %d, index: %d, vote: %x] rejected %s from %x [logterm: %d, index: %d] at "
                          "term %d",
                          id_, log_.LastTerm(), log_.LastIndex(), vote_, MessageTypeName(m.type()), m.from(), m.log_term(),
                          m.index(), term_));
      raftpb::Message resp;
      resp.set_to(m.from());
      resp.set_type(raftpb::MSG_PRE_VOTE_RESP);
      resp.set_term(term_);
      resp.set_reject(true);
      Send(std::move(resp));
    } else {
      Log(absl::StrFormat("%x [term: %d] ignored a message with lower term from %x [term: %d]", id_, term_, m.from(),
                          m.term()));
    }
    return absl::OkStatus();
  }

  switch (m.type()) {
    case raftpb::MSG_HUP:
      Hup(config_.pre_vote ? CampaignType::kPreElection : CampaignType::kElection);
      return absl::OkStatus();
    case raftpb::MSG_VOTE:
    case raftpb::MSG_PRE_VOTE:
      HandleVoteRequest(m);
      return absl::OkStatus();
    default:
      break;
  }
  switch (state_) {
    case StateType::kLeader:
      return StepLeader(m);
    case StateType::kCandidate:
    case StateType::kPreCandidate:
      return StepCandidate(m);
    case StateType::kFollower:
      return StepFollower(m);
  }
  return absl::OkStatus();
}

absl::Status Raft::StepCandidate(const raftpb::Message& m) {
  const raftpb::MessageType my_response =
      state_ == StateType::kPreCandidate ? raftpb::MSG_PRE_VOTE_RESP : raftpb::MSG_VOTE_RESP;
  switch (m.type()) {
    case raftpb::MSG_PROP:
      Log(absl::StrFormat("%x no leader at term %d; dropping proposal", id_, term_));
      return ErrProposalDropped();
    case raftpb::MSG_APP:
      BecomeFollower(m.term(), m.from());  // a leader exists in our term
      return HandleAppendEntries(m);
    case raftpb::MSG_HEARTBEAT:
      BecomeFollower(m.term(), m.from());
      return HandleHeartbeat(m);
    case raftpb::MSG_SNAP:
      BecomeFollower(m.term(), m.from());
      return HandleSnapshot(m);
    case raftpb::MSG_TIMEOUT_NOW:
      Log(absl::StrFormat("%x [term %d state %s] ignored MsgTimeoutNow from %x", id_, term_, StateName(state_),
                          m.from()));
      return absl::OkStatus();
    case raftpb::MSG_READ_INDEX:
      Log(absl::StrFormat("%x no leader at term %d; dropping read index", id_, term_));
      return ErrProposalDropped();
    default:
      break;
  }
  if (m.type() != my_response) return absl::OkStatus();  // e.g. a late MsgVoteResp while pre-campaigning
  size_t granted = 0, rejected = 0;
  Poll(m.from(), m.type(), !m.reject());
  const VoteResult result = tracker_.TallyVotes(&granted, &rejected);
  Log(absl::StrFormat("%x has received %d %s votes and %d vote rejections", id_, granted, MessageTypeName(m.type()),
                      rejected));
  if (result == VoteResult::kWon) {
    if (state_ == StateType::kPreCandidate) {
      Campaign(CampaignType::kElection);
    } else {
      BecomeLeader();
      BcastAppend();
    }
  } else if (result == VoteResult::kLost) {
    // A pre-candidate that lost may have learned a higher term from a rejection; it was adopted above already.
    BecomeFollower(term_, kNone);
  }
  return absl::OkStatus();
}

// A request that reached us from a peer (peer messages are addressed; local ones are not). A follower forwards only
// its own requests: forwarding others' again could bounce them between nodes with conflicting ideas of the leader
// (which forged or corrupt messages can create) forever; one hop suffices, and the requester retries.
bool Raft::ForwardedByPeer(const raftpb::Message& m) const { return m.to() != kNone; }

absl::Status Raft::StepFollower(const raftpb::Message& m) {
  switch (m.type()) {
    case raftpb::MSG_PROP: {
      if (lead_ == kNone) {
        Log(absl::StrFormat("%x no leader at term %d; dropping proposal", id_, term_));
        return ErrProposalDropped();
      }
      if (ForwardedByPeer(m)) {
        Log(absl::StrFormat("%x is not the leader; dropping proposal forwarded by %d", id_, m.from()));
        return ErrProposalDropped();
      }
      raftpb::Message fwd = m;
      fwd.set_to(lead_);
      Send(std::move(fwd));
      return absl::OkStatus();
    }
    case raftpb::MSG_APP:
      election_elapsed_ = 0;
      lead_ = m.from();
      return HandleAppendEntries(m);
    case raftpb::MSG_HEARTBEAT:
      election_elapsed_ = 0;
      lead_ = m.from();
      return HandleHeartbeat(m);
    case raftpb::MSG_SNAP:
      election_elapsed_ = 0;
      lead_ = m.from();
      return HandleSnapshot(m);
    case raftpb::MSG_TRANSFER_LEADER: {
      if (lead_ == kNone || ForwardedByPeer(m)) {
        Log(absl::StrFormat("%x no leader at term %d; dropping leader transfer msg", id_, term_));
        return absl::OkStatus();
      }
      raftpb::Message fwd = m;
      fwd.set_to(lead_);
      Send(std::move(fwd));
      return absl::OkStatus();
    }
    case raftpb::MSG_TIMEOUT_NOW:
      Log(absl::StrFormat("%x [term %d] received MsgTimeoutNow from %x and starts an election to get leadership", id_,
                          term_, m.from()));
      // Skip PreVote: the leader asked us to take over and will stop interfering.
      Hup(CampaignType::kTransfer);
      return absl::OkStatus();
    case raftpb::MSG_READ_INDEX: {
      if (lead_ == kNone || ForwardedByPeer(m)) {
        Log(absl::StrFormat("%x no leader at term %d; dropping read index", id_, term_));
        return ErrProposalDropped();
      }
      raftpb::Message fwd = m;
      fwd.set_to(lead_);
      Send(std::move(fwd));
      return absl::OkStatus();
    }
    case raftpb::MSG_READ_INDEX_RESP:
      if (m.entries_size() != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("raft: MsgReadIndexResp from ", m.from(), " carries ", m.entries_size(), " contexts, not 1"));
      }
      read_states_.push_back(ReadState{m.index(), m.entries(0).data()});
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

absl::Status Raft::HandleAppendEntries(const raftpb::Message& m) {
  // A correct leader sends contiguous entries of terms no later than its own, after (index, log_term).
  for (int i = 0; i < m.entries_size(); ++i) {
    const raftpb::Entry& e = m.entries(i);
    const uint64_t prev_term = i == 0 ? m.log_term() : m.entries(i - 1).term();
    if (e.index() != m.index() + 1 + i || e.term() > m.term() || e.term() < prev_term) {
      return absl::InvalidArgumentError(absl::StrCat("raft: malformed MsgApp from ", m.from(), ": entry ", i,
                                                     " has index ", e.index(), " term ", e.term(), " after index ",
                                                     m.index(), " (message term ", m.term(), ")"));
    }
  }
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MSG_APP_RESP);
  if (m.index() < log_.committed()) {
    // Everything up to our commit is settled; say where we are so the leader can skip ahead.
    resp.set_index(log_.committed());
    Send(std::move(resp));
    return absl::OkStatus();
  }
  if (log_.MatchTerm(m.index(), m.log_term())) {
    const uint64_t conflict = log_.FindConflict(m.entries());
    if (conflict != 0 && conflict <= log_.committed()) {
      return absl::FailedPreconditionError(absl::StrCat("raft: MsgApp from ", m.from(), " at term ", m.term(),
                                                        " conflicts with committed entry ", conflict));
    }
    uint64_t last_new;
    if (config_.testing.truncate_on_stale_append) {
      const std::optional<uint64_t> broken = log_.MaybeAppendTruncatingTail(
          m.index(), m.log_term(), m.commit(), std::vector<raftpb::Entry>(m.entries().begin(), m.entries().end()));
      DETCD_CHECK(broken.has_value());
      last_new = *broken;
    } else {
      last_new = log_.AppendMatched(m.index(), m.commit(), m.entries(), conflict);
    }
    resp.set_index(last_new);
    Send(std::move(resp));
    return absl::OkStatus();
  }
  // Rejection: tell the leader the largest index <= m.index whose term is <= m.log_term. All entries after it
  // either don't exist here or have a later term than the leader's probe, so the leader can skip them at once.
  uint64_t hint = std::min(m.index(), log_.LastIndex());
  hint = log_.FindConflictByTerm(hint, m.log_term());
  Log(absl::StrFormat("%x [logterm: %d, index: %d] rejected MsgApp [logterm: %d, index: %d] from %x", id_,
                      log_.Term(m.index()), m.index(), m.log_term(), m.index(), m.from()));
  resp.set_index(m.index());
  resp.set_reject(true);
  resp.set_reject_hint(hint);
  resp.set_log_term(log_.Term(hint));
  Send(std::move(resp));
  return absl::OkStatus();
}

absl::Status Raft::HandleHeartbeat(const raftpb::Message& m) {
  // A leader sends commit = min(our match, its commit), so a correct one never points past our log.
  if (m.commit() > log_.LastIndex()) {
    return absl::FailedPreconditionError(absl::StrCat("raft: heartbeat from ", m.from(), " commits ", m.commit(),
                                                      " beyond last index ", log_.LastIndex()));
  }
  log_.CommitTo(m.commit());
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MSG_HEARTBEAT_RESP);
  if (!m.context().empty()) resp.set_context(m.context());  // most heartbeats carry no read's context
  Send(std::move(resp));
  return absl::OkStatus();
}

absl::Status Raft::HandleSnapshot(const raftpb::Message& m) {
  const raftpb::SnapshotMetadata& md = m.snapshot().metadata();
  // A correct leader sends a snapshot of its committed state: a real index, and a term no later than its own.
  if (md.index() == 0 || md.term() == 0 || md.term() > m.term()) {
    return absl::InvalidArgumentError(absl::StrCat("raft: malformed MsgSnap from ", m.from(), ": snapshot index ",
                                                   md.index(), " term ", md.term(), " (message term ", m.term(),
                                                   ")"));
  }
  if (md.conf_state().voters_size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("raft: malformed MsgSnap from ", m.from(), ": snapshot configuration has no voters"));
  }
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MSG_APP_RESP);
  if (RestoreSnapshot(m.snapshot())) {
    Log(absl::StrFormat("%x [commit: %d] restored snapshot [index: %d, term: %d]", id_, log_.committed(), md.index(),
                        md.term()));
    resp.set_index(log_.LastIndex());
  } else {
    Log(absl::StrFormat("%x [commit: %d] ignored snapshot [index: %d, term: %d]", id_, log_.committed(), md.index(),
                        md.term()));
    resp.set_index(log_.committed());
  }
  Send(std::move(resp));
  return absl::OkStatus();
}

bool Raft::RestoreSnapshot(const raftpb::Snapshot& snapshot) {
  DETCD_CHECK_MSG(state_ == StateType::kFollower, "raft: only a follower restores a snapshot");
  const raftpb::SnapshotMetadata& md = snapshot.metadata();
  if (md.index() <= log_.committed()) return false;  // we hold all of it already
  const raftpb::ConfState& cs = md.conf_state();
  const bool member = std::find(cs.voters().begin(), cs.voters().end(), id_) != cs.voters().end() ||
                      std::find(cs.learners().begin(), cs.learners().end(), id_) != cs.learners().end();
  if (!member) {
    Log(absl::StrFormat("%x attempted to restore snapshot [index: %d, term: %d] but it is not in the ConfState", id_,
                        md.index(), md.term()));
    return false;
  }
  if (log_.MatchTerm(md.index(), md.term())) {
    // Our log already holds the snapshot's last entry, so everything before it too: just learn that it committed.
    Log(absl::StrFormat("%x [commit: %d, lastindex: %d, lastterm: %d] fast-forwarded commit to snapshot [index: %d, "
                        "term: %d]",
                        id_, log_.committed(), log_.LastIndex(), log_.LastTerm(), md.index(), md.term()));
    log_.CommitTo(md.index());
    return false;
  }
  log_.Restore(snapshot);
  const bool has_config = !tracker_.voters().empty() || !tracker_.learners().empty();
  if (!(config_.testing.restore_keeps_config && has_config)) {
    tracker_.SetConfig(std::vector<uint64_t>(cs.voters().begin(), cs.voters().end()),
                       std::vector<uint64_t>(cs.learners().begin(), cs.learners().end()));
  }
  // Configuration changes in the log we dropped are part of the snapshot's configuration now.
  pending_conf_index_ = 0;
  return true;
}

void Raft::OnSnapshotStable(uint64_t index) {
  log_.StableSnapTo(index);
  if (index > log_.applied()) log_.AppliedTo(index);
}

// ---- ticks ----

void Raft::Tick() {
  if (state_ == StateType::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    raftpb::Message m;
    m.set_type(raftpb::MSG_HUP);
    m.set_from(id_);
    (void)Step(m);
  }
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      raftpb::Message m;
      m.set_type(raftpb::MSG_CHECK_QUORUM);
      m.set_from(id_);
      (void)Step(m);
    }
    // A transfer that did not finish within an election timeout is abandoned; proposals flow again.
    if (state_ == StateType::kLeader && lead_transferee_ != kNone) AbortLeaderTransfer();
  }
  if (state_ != StateType::kLeader) return;
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    raftpb::Message m;
    m.set_type(raftpb::MSG_BEAT);
    m.set_from(id_);
    (void)Step(m);
  }
}

// ---- sending ----

void Raft::Send(raftpb::Message&& m) {
  // Keep a sender that is already set: a forwarded MsgTransferLeader names the transferee in `from`, and a forwarded
  // MsgReadIndex names the node that asked (overwriting them made the leader transfer to the forwarding follower).
  if (m.from() == kNone) m.set_from(id_);
  if (IsVoteType(m.type())) {
    DETCD_CHECK_MSG(m.term() != 0, "raft: a vote message must carry a term");
  } else if (m.type() != raftpb::MSG_PROP && m.type() != raftpb::MSG_READ_INDEX) {
    // Proposals and reads forwarded to the leader stay term-less: the leader treats them as local.
    m.set_term(term_);
  }
  // The outbox leaves with each Ready (moved out, capacity and all): room for a round to every peer at once, rather
  // than growing 1, 2, 4, ... and moving the messages each time.
  if (msgs_.capacity() == 0) msgs_.reserve(kOutboxReserve);
  msgs_.push_back(std::move(m));
}

}  // namespace detcd::raft
