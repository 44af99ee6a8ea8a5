// Raft: the consensus state machine of one node — elections (with PreVote and CheckQuorum), log replication with
// flow control, commitment, ReadIndex and leadership transfer. It is a value driven from outside: Step() feeds it a
// message, Tick() advances its logical clock, and what it wants done (messages to send, entries to persist, entries to
// apply, reads to serve) accumulates for RawNode to hand out as a Ready. It never does IO, reads a clock, starts a
// thread or draws randomness from anything but the Prng seeded from its Config.
#ifndef DETCD_RAFT_RAFT_H_
#define DETCD_RAFT_RAFT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "api/raft.pb.h"
#include "base/prng.h"
#include "raft/log.h"
#include "raft/read_only.h"
#include "raft/storage.h"
#include "raft/tracker.h"

namespace detcd::raft {

constexpr uint64_t kNone = 0;  // no node: no leader known, no vote cast
// The context of a MsgVote (MsgPreVote) sent because of a leadership transfer: voters grant it even inside their
// leader lease, and a member's core knows from it that a hand-over's election is under way.
inline constexpr char kCampaignTransfer[] = "CampaignTransfer";

// Deliberately broken variants of Raft's rules, for tests that show the simulator's checkers catch a broken rule.
// Never set outside tests; no scenario file or flag reaches them.
struct TestingKnobs {
  bool vote_ignores_log = false;           // grant votes without the §5.4.1 up-to-date check
  bool commit_earlier_terms = false;       // commit by counting replicas of earlier terms' entries (figure 8)
  bool truncate_on_stale_append = false;   // a stale append cuts the log tail even though nothing conflicts
  bool learners_in_quorum = false;         // learners' acks and activity count toward the voters' quorum (commit,
                                           // check-quorum), as if they voted
  bool restore_keeps_config = false;       // a follower that has a configuration keeps it when it restores a
                                           // snapshot, not the snapshot's ConfState (only a new, empty one takes it)
};

struct Config {
  uint64_t id = 0;
  // The configuration at index 0: the founding voters and learners. Used when the storage holds no configuration
  // (no snapshot); every node, including one that joins later, starts from it and replays the log's changes.
  std::vector<uint64_t> peers;
  std::vector<uint64_t> learners;
  int election_ticks = 10;  // a follower that hears from no leader for this many ticks (randomized up to 2x) campaigns
  int heartbeat_ticks = 1;  // a leader sends heartbeats every this many ticks
  bool pre_vote = true;     // thesis §9.6: a pre-election that does not raise terms, so a rejoining node can't disrupt
  bool check_quorum = true; // a leader steps down if a quorum is not active; voters ignore votes inside a lease
  size_t max_inflight_msgs = 256;                // appends in flight to one follower in Replicate state
  uint64_t max_size_per_msg_bytes = 1 << 20;     // entries per MsgApp, in bytes (at least one entry is always sent)
  uint64_t max_committed_size_per_ready_bytes = 64ull << 20;
  uint64_t seed = 0;        // seeds the randomized election timeout
  uint64_t applied = 0;     // on restart, the index the state machine already holds
  const Storage* storage = nullptr;
  // Optional: receives one line per notable event (state changes, votes). Raft does no IO; the driver decides.
  std::function<void(const std::string&)> logger;
  // Called (by RawNode) when a step breaks one of the node's own invariants (raft/invariants.h), with what broke.
  // Null: the process stops at once (DETCD_CHECK). The simulator records it as the run's failure instead.
  std::function<void(const std::string&)> on_invariant_broken;
  TestingKnobs testing;
};

enum class StateType { kFollower, kCandidate, kLeader, kPreCandidate };
const char* StateName(StateType s);

struct SoftState {
  uint64_t lead = kNone;
  StateType state = StateType::kFollower;
  bool operator==(const SoftState& o) const { return lead == o.lead && state == o.state; }
  bool operator!=(const SoftState& o) const { return !(*this == o); }
};

// A ReadIndex answer: once the state machine has applied `index`, a read for `request_ctx` may be served.
struct ReadState {
  uint64_t index = 0;
  std::string request_ctx;
};

// The error Propose/Step return when a proposal cannot be accepted (no leader, or a leadership transfer).
absl::Status ErrProposalDropped();
bool IsProposalDropped(const absl::Status& s);

class Raft {
 public:
  explicit Raft(const Config& config);

  // Feeds one message, local (MSG_HUP, MSG_PROP, ...) or from a peer. Returns an error for a dropped proposal and
  // for a peer message that breaks the protocol (which a correct peer never sends); state is unchanged then.
  absl::Status Step(const raftpb::Message& m);
  void Tick();

  // The driver made entries up to (index, term) durable; a leader counts itself toward commitment only from here.
  void OnEntriesStable(uint64_t index, uint64_t term);
  void OnApplied(uint64_t index) { log_.AppliedTo(index); }
  // The driver persisted the snapshot at index that a Ready carried, and restored its state machine from it.
  void OnSnapshotStable(uint64_t index);
  // The driver applied a committed ENTRY_CONF_CHANGE entry: change the configuration and return the new one (which
  // the driver records with its snapshot state). Changes that make no sense (promoting a non-member, demoting a
  // voter to learner) leave the configuration as it is.
  raftpb::ConfState ApplyConfChange(const raftpb::ConfChange& cc);
  raftpb::ConfState conf_state() const;

  uint64_t id() const { return id_; }
  uint64_t term() const { return term_; }
  uint64_t vote() const { return vote_; }
  uint64_t lead() const { return lead_; }
  StateType state() const { return state_; }
  uint64_t lead_transferee() const { return lead_transferee_; }
  int randomized_election_timeout() const { return randomized_election_timeout_; }
  int election_elapsed() const { return election_elapsed_; }
  const RaftLog& log() const { return log_; }
  const ProgressTracker& tracker() const { return tracker_; }
  bool promotable() const { return tracker_.IsVoter(id_); }
  raftpb::HardState hard_state() const;
  SoftState soft_state() const { return SoftState{lead_, state_}; }

  // What RawNode hands out: messages and read states accumulate here until taken.
  std::vector<raftpb::Message>& mutable_msgs() { return msgs_; }
  std::vector<ReadState>& mutable_read_states() { return read_states_; }
  const std::vector<raftpb::Message>& msgs() const { return msgs_; }
  const std::vector<ReadState>& read_states() const { return read_states_; }

 private:
  enum class CampaignType { kPreElection, kElection, kTransfer };

  void BecomeFollower(uint64_t term, uint64_t lead);
  void BecomeCandidate();
  void BecomePreCandidate();
  void BecomeLeader();
  void Reset(uint64_t term);
  void ResetRandomizedElectionTimeout();
  void Hup(CampaignType type);
  // Committed configuration changes not yet applied: a node must not campaign with them pending.
  size_t UnappliedConfChanges() const;
  void Campaign(CampaignType type);
  VoteResult Poll(uint64_t from, raftpb::MessageType type, bool granted);
  void HandleVoteRequest(const raftpb::Message& m);
  bool InLease() const;

  absl::Status StepLeader(const raftpb::Message& m);
  absl::Status StepCandidate(const raftpb::Message& m);
  absl::Status StepFollower(const raftpb::Message& m);
  bool ForwardedByPeer(const raftpb::Message& m) const;
  absl::Status HandleAppendEntries(const raftpb::Message& m);
  absl::Status HandleHeartbeat(const raftpb::Message& m);
  absl::Status HandleSnapshot(const raftpb::Message& m);
  // Follower: adopts a leader's snapshot if it is news. Returns false if it was ignored (not newer than our commit,
  // not for a configuration we are in, or matching our log — then only the commit index moves).
  bool RestoreSnapshot(const raftpb::Snapshot& snapshot);
  void HandleSnapshotStatus(const raftpb::Message& m, Progress* pr);
  void HandleAppendResponse(const raftpb::Message& m, Progress* pr);
  void HandleHeartbeatResponse(const raftpb::Message& m, Progress* pr);
  void HandleTransferLeader(const raftpb::Message& m, Progress* pr);
  void HandleReadIndex(const raftpb::Message& m);

  void Send(raftpb::Message&& m);
  bool SendAppend(uint64_t to, bool send_if_empty);
  // The follower's next entry was compacted: send the storage's snapshot instead (if it has one and the follower is
  // recently active). Returns true if a snapshot went out.
  bool SendSnapshot(uint64_t to, Progress* pr);
  void BcastAppend();
  void BcastHeartbeat(const std::string& ctx);
  void SendTimeoutNow(uint64_t to);
  void AppendEntries(std::vector<raftpb::Entry> entries);
  bool MaybeCommit();
  bool CommittedEntryInCurrentTerm() const { return log_.Term(log_.committed()) == term_; }
  void AnswerRead(const raftpb::Message& req, uint64_t index);
  void ReleasePendingReads();
  void AbortLeaderTransfer() { lead_transferee_ = kNone; }
  void TickElection();
  void TickHeartbeat();
  void Log(const std::string& line) const;

  const uint64_t id_;
  const Config config_;
  uint64_t term_ = 0;
  uint64_t vote_ = kNone;
  uint64_t lead_ = kNone;
  StateType state_ = StateType::kFollower;
  RaftLog log_;
  ProgressTracker tracker_;
  ReadOnly read_only_;
  // ReadIndex requests that reached a leader before it committed an entry of its term; served once it has.
  std::vector<raftpb::Message> pending_reads_;
  // Index of the newest configuration change in the log that may not be applied yet: a leader accepts a new one
  // only once this is applied, so at most one change is in flight (single-member changes are safe only one at a time).
  uint64_t pending_conf_index_ = 0;
  uint64_t lead_transferee_ = kNone;
  int election_elapsed_ = 0;   // ticks since the last election timeout reset (leader: since the last quorum check)
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  Prng prng_;
  static constexpr size_t kOutboxReserve = 8;
  std::vector<raftpb::Message> msgs_;
  std::vector<ReadState> read_states_;
};

}  // namespace detcd::raft

#endif  // DETCD_RAFT_RAFT_H_
