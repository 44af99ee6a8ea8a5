// NodeCore: one etcd member as a deterministic state machine. A driver (the simulator, or the production runtime)
// feeds it events — a tick with the time, a peer's Raft message, a client request, "the disk finished what you asked",
// a watch request — and takes its effects — Raft messages to send, a batch to persist (entries, hard state, a
// leader's snapshot), snapshots to write (its own, and those for followers: streamed to their file a bounded piece at
// a time), client replies, watch responses. Inside: Raft (raft/), the Raft log's
// durable view (MemoryStorage, fed only with what the driver confirmed durable), the MVCC store, the lessor, the
// applier and the watch hub. Writes become Raft proposals and are answered when applied; linearizable reads wait
// for a ReadIndex round (one round serves every read queued meanwhile) and for the apply to reach it; serializable
// reads are served at once. Leases expire by the leader's clock (the time in Tick) and are revoked through Raft.
// Every response carries etcd's header {cluster_id, member_id, revision, raft_term}. Maintenance: HashKV and Hash
// digest local state; TransferLeadership starts a Raft leader transfer (the driver waits for leader() to change).
// It never does IO, reads a clock, starts a thread or draws unseeded randomness; one thread drives it.
#ifndef DETCD_KV_NODE_CORE_H_
#define DETCD_KV_NODE_CORE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/kv_request.pb.h"
#include "api/raft.pb.h"
#include "base/byte_source.h"
#include "kv/alarm_set.h"
#include "kv/applier.h"
#include "kv/auth_store.h"
#include "kv/auto_compactor.h"
#include "kv/lessor.h"
#include "kv/membership.h"
#include "kv/mvcc_store.h"
#include "kv/state_snapshot_writer.h"
#include "kv/watch_hub.h"
#include "raft/raw_node.h"
#include "raft/storage.h"

namespace detcd::kv {

// Deliberately broken behaviour, so that tests can show the simulator's checkers catch the bug classes etcd's own
// robustness tests found. Never set outside tests.
struct KvTestingKnobs {
  // Auto-compaction compacts at the newest revision instead of the one noted a retention ago (history a reader or
  // watcher may still ask for within the retention is gone).
  bool auto_compact_newest = false;
  // A leader answers linearizable reads from its own state at once, trusting that it still leads (a deposed leader
  // resuming from a pause serves stale data: etcd #20418).
  bool leader_reads_locally = false;
  // A watch whose start revision is ahead of the member's store starts at the member's next revision instead of
  // waiting for the requested one (a client resuming on a lagging member sees revisions go back: etcd #15271).
  bool watch_future_start_from_now = false;
  // Events for a stream whose queue is full are dropped instead of being caught up from history (etcd #17529).
  bool watch_drop_when_full = false;
  // Compaction drops a tombstone at the compaction revision, and a member restarting from a snapshot takes its
  // revision from the newest record kept rather than from the snapshot: a compaction at a delete makes the revision
  // go back after a restart (etcd #17780).
  bool restore_revision_from_records = false;
  // A revoked or expired lease goes, but its keys stay (keys outliving their lease).
  bool revoke_keeps_keys = false;
  // Watchers are not told the store was replaced by a leader's snapshot: synced ones skip what the snapshot
  // brought (watch events lost when a member catches up by snapshot).
  bool watch_ignores_restore = false;
  // The order of effects broken: votes and append acknowledgements leave before the batch they depend on is durable
  // (a member that crashes then can vote twice in a term, or lose an entry it acknowledged).
  bool send_before_durable = false;
  // Linearizable reads whose round was answered but whose index is not applied yet are forgotten, never answered
  // (what moving a kept round onto itself did: the client waits out its own deadline).
  bool forget_reads_awaiting_apply = false;
  // Linearizable reads are answered as soon as their read index is confirmed, without waiting for the member to apply
  // up to it (a lagging follower serves what it has: a stale read).
  bool read_before_apply = false;
  // Auth (etcd's authApplierV3 broken three ways). A put, delete or txn is checked against the auth store when the
  // member admits it and not again when its entry applies: a permission revoked (or any auth change) while it is in
  // flight does not stop it (a time-of-check/time-of-use bug).
  bool auth_check_at_admission_only = false;
  // Requests are checked against the permissions in force when checked, whatever auth revision they carry: no
  // ErrAuthOldRevision (a request admitted before a change is judged by the rules after it).
  bool auth_ignores_revision = false;
  // Serializable reads are served without checking the user may read the range.
  bool auth_serializable_reads_unchecked = false;
  // Puts to this key (if not empty) store another value on this member only: a replica whose state silently went bad
  // (a bit flipped in memory), for the corruption checks to find.
  std::string corrupt_puts_to;
};

struct NodeCoreConfig {
  uint64_t id = 0;  // member id, also the Raft id
  // The founding members' ids (etcd's --initial-cluster). A member starting on an empty disk writes the bootstrap
  // entries at the head of its log, as etcd does: one configuration change adding each founding member (term 1,
  // committed), so that a member joining later learns the whole configuration by replaying the log.
  std::vector<uint64_t> peers;
  // Optional: what the bootstrap entries say about each founding member (name, peer URLs), by id.
  std::map<uint64_t, kvpb::Member> founding;
  // A member added to a running cluster (etcd's --initial-cluster-state=existing): it starts with an empty log and
  // no configuration and learns both from the leader; `peers` and `founding` are ignored.
  bool join_existing = false;
  // etcd's --strict-reconfig-check: refuse membership changes that would leave fewer started voting members than a
  // quorum (a started member is one that published its name). Off here; detcd takes etcd's default (on).
  bool strict_reconfig_check = false;
  // etcd's --force-new-cluster: a member restarting on its data drops what was not committed and commits the removal
  // of every other member, becoming a cluster of one (disaster recovery). Ignored on an empty disk.
  bool force_new_cluster = false;
  uint64_t cluster_id = 0;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  int64_t tick_us = 100'000;  // etcd's --heartbeat-interval: the time one tick stands for
  bool pre_vote = true;
  bool check_quorum = true;
  size_t max_inflight_msgs = 256;             // appends in flight to one follower (raft::Config's)
  uint64_t max_size_per_msg_bytes = 1 << 20;  // entry bytes in one append; at least one entry is always sent
  uint64_t seed = 0;  // Raft's election timeouts; proposal and lease ids
  int max_txn_ops = 128;                       // --max-txn-ops
  size_t max_request_bytes = 1536 * 1024;      // --max-request-bytes
  int64_t quota_bytes = 2ll << 30;             // --quota-backend-bytes
  uint64_t snapshot_count = 100'000;           // --snapshot-count (0: never)
  uint64_t snapshot_catch_up_entries = 5'000;  // entries kept behind a snapshot for slow followers
  // A snapshot (own or for a follower) is made a piece at a time while the member keeps serving: this many MVCC
  // versions per event (each tick and each finished Ready), so no event spends long on it.
  size_t snapshot_chunk_records = 8'192;
  // A snapshot (the member's own, or one for followers) goes to its file in pieces of about this many bytes, at most
  // kSnapshotPiecesInFlight of them handed out and not yet reported written: what a snapshot holds in memory.
  size_t snapshot_piece_bytes = 4 << 20;
  // A ReadIndex round that got no answer within this many ticks is asked again (the leader may have changed).
  int read_index_retry_ticks = 20;
  // A request not answered within this many ticks gets "etcdserver: request timed out" (its outcome is unknown:
  // a proposal may still commit). etcd: 5 s + 2 election timeouts.
  int64_t request_timeout_ticks = 70;
  // etcd's --auth-token-ttl: a simple token unused this long is forgotten.
  int64_t simple_token_ttl_us = 300'000'000;
  // Every this many ticks synced watchers that asked for progress notifications get one (0: never).
  int64_t progress_notify_ticks = 0;
  // etcd's --auto-compaction-mode/--auto-compaction-retention: the leader proposes compactions (kv/auto_compactor.h).
  AutoCompactionConfig auto_compaction;
  WatchHubOptions watch;
  std::function<void(const std::string&)> logger;
  // Raft's node invariants broken in a step (raft::Config::on_invariant_broken); null: the process stops.
  std::function<void(const std::string&)> on_invariant_broken;
  // A peer's message Raft refused as breaking the protocol (with no state change); a dropped forwarded proposal is not
  // one. Null: refused silently.
  std::function<void(const raftpb::Message&, const absl::Status&)> on_message_refused;
  raft::TestingKnobs testing;
  KvTestingKnobs kv_testing;
  // Observation hooks for a driver's checkers (nothing needs them to run): every entry applied, every revision's
  // events as the store made them, every compaction applied.
  std::function<void(const raftpb::Entry&)> on_apply;
  std::function<void(int64_t revision, const std::vector<mvccpb::Event>& events)> on_revision;
  std::function<void(int64_t revision)> on_compact;
};

// What the member found on its disk at start: its newest snapshot (index 0: none), then the WAL after it. The
// snapshot's data is either in it, or (empty) read from snapshot_data during construction: the driver's file, a
// bounded piece at a time.
struct RecoveredState {
  raftpb::Snapshot snapshot;
  raftpb::HardState hard_state;
  std::vector<raftpb::Entry> entries;
  ByteSource* snapshot_data = nullptr;
};

// A batch the driver must make durable, then confirm with Persisted(seq): first the snapshot (if its index is not
// 0: a leader's snapshot replacing the log — WAL marker, then snapshot file), then the entries and hard state. If
// must_sync is false the write may stay in the page cache (a commit-index change alone). A leader's snapshot whose
// data is empty came with its bytes outside the message (the file the driver's transport received them into, see
// SnapshotPiece): the driver installs that file as the snapshot file, and hands its data to Persisted.
struct PersistRequest {
  uint64_t seq = 0;
  std::optional<raftpb::Snapshot> snapshot;  // never at index 0
  std::optional<raftpb::HardState> hard_state;
  std::vector<raftpb::Entry> entries;
  bool must_sync = false;
};

// A piece of a snapshot on its way to a file: this member's own (target kSave), or one for followers that need a
// snapshot (kSend). A stream is kBegin, kStore..., kEnd (or, cut short, kAbandon); its data (what RestoreState
// decodes) is kBegin's bytes ‖ the store's length as a 5-byte varint ‖ the kStore bytes
// (StateSnapshotWriter::Assemble); the file is a snapshot file (storage::SnapshotFileWriter) either way. The driver
// applies a stream's pieces in order, each once the one before is done, and reports each but kAbandon with
// SnapshotPieceWritten(stream, seq) when it is:
//   kBegin:   kSave: the WAL marker for `metadata` is durable and the file is begun with `bytes` (storage::MemberStore's
//             SaveSnapshotMarker, then BeginSnapshotFile); kSend: the file is begun (no marker: nothing durable
//             refers to it). Nothing follows a kBegin until it is reported;
//   kStore:   `bytes` are appended to the file;
//   kEnd:     kSave: the file is finished (store_bytes is the store's length), durable and in place, then
//             SnapshotSaved and RemoveOld ran: a crash between any two steps recovers from the snapshot before.
//             kSend: the file is finished (it need not be durable: a crash loses it, and start-up removes it). On
//             this report the core hands out the MSG_SNAPs it serves, their snapshot data empty: the driver sends
//             each with this file's bytes (its transport streams them); the file is the driver's to delete once it
//             gave them to its transport, at the latest after the effects that follow the report;
//   kAbandon: the state was replaced (a leader's snapshot): the half-written file goes. Not reported.
// The core hands out at most kSnapshotPiecesInFlight unreported pieces of a stream, each of at most about
// snapshot_piece_bytes, so a snapshot holds O(snapshot_piece_bytes) whatever the state's size; one stream of each
// target at a time.
struct SnapshotPiece {
  enum class Kind { kBegin, kStore, kEnd, kAbandon };
  enum class Target { kSave, kSend };
  Kind kind = Kind::kBegin;
  Target target = Target::kSave;
  uint64_t stream = 0;                // which stream (numbered from 1 in each life of the core, both targets)
  uint64_t seq = 0;                   // its place in the stream, from 0
  raftpb::SnapshotMetadata metadata;  // the snapshot's, on every piece
  std::string bytes;                  // kBegin: the state without its store; kStore: the next store bytes
  uint64_t store_bytes = 0;           // kEnd: every kStore's bytes together
};
inline constexpr uint64_t kSnapshotPiecesInFlight = 2;

struct ClientReply {
  uint64_t request_id = 0;  // as given to Submit
  absl::Status status;      // etcd's error, or OK with the response
  kvpb::ClientResponse response;
};

// Maintenance.HashKV's answer (etcd's HashByRev).
struct HashKVResult {
  uint32_t hash = 0;
  int64_t compact_revision = 0;         // -1 if the store was never compacted, as etcd reports it
  etcdserverpb::ResponseHeader header;  // revision: the store's current revision (not the one hashed)
};

// Maintenance.Hash's answer.
struct HashResult {
  uint32_t hash = 0;
  etcdserverpb::ResponseHeader header;
};

// etcd's errors for MoveLeader (rpctypes: ErrGRPCNotLeader and ErrGRPCBadLeaderTransferee are FailedPrecondition;
// etcdserver.ErrTimeoutLeaderTransfer has no gRPC mapping in 3.4's togRPCError, so it reaches clients as Unknown).

// Proposals a leader holds while it hands leadership over (NodeCore::held_proposals_), at most.
inline constexpr size_t kHeldProposalsMax = 10'000;

class NodeCore {
 public:
  NodeCore(const NodeCoreConfig& config, const RecoveredState& recovered);
  NodeCore(const NodeCore&) = delete;
  NodeCore& operator=(const NodeCore&) = delete;

  // ---- events ----
  // One Raft tick; now_us is the driver's clock (monotonic), used for lease deadlines.
  void Tick(int64_t now_us);
  void Receive(const raftpb::Message& m);
  // A client request; request_id is the driver's, echoed in the reply. A range with serializable set is served
  // from local state at once; everything else is answered when it has taken effect (or failed).
  void Submit(uint64_t request_id, const kvpb::ClientRequest& request);
  // The driver made the batch with this seq durable as asked. If the batch has a leader's snapshot whose data is
  // empty (see PersistRequest), snapshot_data gives those bytes (the installed file's, read a piece at a time): the
  // state is restored from it now. The driver checked them (their file's checksum); bytes that do not decode are a
  // broken invariant.
  void Persisted(uint64_t seq, ByteSource* snapshot_data = nullptr);
  // The driver did what a piece of a stream asked (see SnapshotPiece); reports for an abandoned stream are ignored.
  void SnapshotPieceWritten(uint64_t stream, uint64_t seq);
  // Transport news about a peer.
  void ReportSnapshot(uint64_t to, bool failed);
  void ReportUnreachable(uint64_t to);
  // Maintenance.MoveLeader's first half: a leader asks Raft to hand leadership to `target` (a no-op if it is this
  // member). Errors: ErrNotLeader if this member does not lead, ErrBadLeaderTransferee if target is not a
  // voter of the configuration. The transfer may still fail (Raft abandons it after an election timeout): the
  // driver watches leader() and gives up after its own deadline (etcd's ErrLeaderTransferTimeout).
  absl::Status TransferLeadership(uint64_t target);
  // The voter other than this member whose log matches the leader's furthest (lowest id on a tie): whom a leader
  // about to stop hands over to (etcd hands over before it stops, so the cluster waits for no election timeout).
  // 0 if this member does not lead or is the only voter.
  uint64_t MostCaughtUpVoter() const;
  // A leader transfer is under way on this leader: proposals wait for its end (see held_).
  bool transferring_leadership() const { return is_leader() && raft_->raft().lead_transferee() != 0; }
  // Watches: a client stream and its requests.
  WatchHub::StreamId OpenWatchStream() { return hub_->OpenStream(); }
  void CloseWatchStream(WatchHub::StreamId s) { hub_->CloseStream(s); }
  // A create request is checked against the auth store first (read permission on its range, as etcd's watch server
  // checks at creation): refused, the stream gets etcd's created-and-canceled answer with the permission error.
  void Watch(WatchHub::StreamId s, const etcdserverpb::WatchRequest& req, const kvpb::RequestAuth& auth = {});

  // ---- effects ----
  std::vector<raftpb::Message> TakeMessages();
  // The next batch to persist, if one is ready; the next comes only after Persisted(seq) for this one.
  std::optional<PersistRequest> TakePersist();
  // Snapshots as pieces to write, in order (see SnapshotPiece): this member's own (every snapshot_count entries; each
  // made over many events, see snapshot_chunk_records; WAL entries up to a snapshot's index are no longer needed once
  // a newer snapshot exists), and those for followers. The core keeps only their metadata (raft's storage has no
  // data), and never a whole snapshot.
  std::vector<SnapshotPiece> TakeSnapshotPieces();
  std::vector<ClientReply> TakeReplies();
  std::vector<etcdserverpb::WatchResponse> TakeWatchResponses(WatchHub::StreamId s);
  bool HasWatchResponses(WatchHub::StreamId s) const { return hub_->HasResponses(s); }
  bool HasAnyWatchResponses() const { return hub_->HasAnyResponses(); }

  // ---- observation (tests, checkers, status) ----
  uint64_t id() const { return config_.id; }
  const raft::RawNode& raft() const { return *raft_; }
  const raft::MemoryStorage& storage() const { return storage_; }
  const MvccStore& store() const { return store_; }
  const Lessor& lessor() const { return lessor_; }
  const AuthStore& auth() const { return auth_; }
  // A client's credentials as this member resolves them: a simple token by its token table (ErrInvalidAuthToken if
  // unknown), else the user and revision the driver gave (a JWT it verified, a certificate's common name).
  absl::StatusOr<AuthInfo> ResolveAuth(const kvpb::RequestAuth& auth);
  uint64_t applied_index() const { return applied_index_; }
  bool is_leader() const { return raft_->raft().state() == raft::StateType::kLeader; }
  uint64_t leader() const { return raft_->raft().lead(); }
  bool nospace_alarm() const { return alarms_.Has(etcdserverpb::NOSPACE); }
  bool corrupt_alarm() const { return alarms_.Has(etcdserverpb::CORRUPT); }
  // The raised alarms, every member's (etcd's alarm list).
  std::vector<etcdserverpb::AlarmMember> alarms() const { return alarms_.List(); }
  // The cluster's members as the log made them (peer URLs, learners) with what each published (name, client URLs).
  const Membership& membership() const { return membership_; }
  // This member applied its own removal from the cluster: it must stop (etcd: "the member has been permanently
  // removed from the cluster").
  bool removed() const { return membership_.IsRemoved(config_.id); }
  // The bootstrap entries are not durable yet: Raft holds them but nothing has left this member (no Ready).
  bool bootstrapping() const { return bootstrapping_; }
  // The state machine as snapshot bytes (what a snapshot at applied_index() would carry), made at once.
  std::string StateSnapshot() const;
  // A snapshot is being made (a piece per event); its index (0: none).
  uint64_t snapshot_in_progress() const { return build_ ? build_->index : 0; }
  // This member's own snapshot is being saved (made, or its pieces not all reported written); its index (0: none).
  uint64_t snapshot_save_in_progress() const { return save_ ? save_->metadata.index() : 0; }
  // A snapshot for followers is being written to its file (made, or its pieces not all reported); its index.
  uint64_t snapshot_send_in_progress() const { return send_ ? send_->metadata.index() : 0; }
  // etcd's counters of the store's operations (etcd_mvcc_*_total), watchers and watch streams.
  const MvccOpCounts& mvcc_op_counts() const { return applier_.op_counts(); }
  const WatchHub& watch_hub() const { return *hub_; }
  // etcd_server_proposals_pending: clients' proposals made and waiting for their entry to apply (held ones included);
  // etcd_server_proposals_failed_total: those that could not be proposed (no leader) or timed out waiting.
  size_t proposals_pending() const { return proposals_.size(); }
  uint64_t proposals_failed() const { return proposals_failed_; }

  // ---- maintenance (local state, answered at once) ----
  // etcd's HashKV: a digest of the MVCC store's versions up to `revision` (0: the current revision) and its
  // compaction revision; equal on members that applied the same entries. Errors as etcd's HashByRev: ErrCompacted
  // if revision <= the compaction revision (the compaction revision itself included, unlike reads), ErrFutureRev
  // if it is past the store's revision.
  absl::StatusOr<HashKVResult> HashKV(int64_t revision) const;
  // etcd hashes its whole backend; this member's backend is its state machine, so the digest (CRC-32C) covers
  // exactly what a snapshot carries: every MVCC version kept with the revision and compaction revision, the leases
  // (ids and TTLs, not their deadlines, which only the leader keeps), the applied-request dedup window, the alarms
  // and the auth store (not the member's simple tokens). Equal on members at the same applied index; it does not
  // cover the Raft log or hard state. Made a version at a time: it never holds the state's bytes.
  HashResult Hash() const;
  // etcd's response header as this member would fill it now.
  etcdserverpb::ResponseHeader Header() const;

  // ---- state exports (node_core_exports.cc): the state as of one moment, read a bounded piece per event ----
  // For a reader on another thread (Maintenance.Snapshot streaming etcd's format): Begin pins the store at its
  // revision (MvccStore::AddPin: writes and compactions go on, the pinned versions stay readable) and takes the small
  // parts at once; each Step copies at most max_records versions (stopping once max_bytes of keys and values are
  // copied) in revision order; End drops the pin. A replaced state (a leader's snapshot restored) ends every export:
  // its Step then fails with FailedPrecondition. Several exports may run at once, beside the member's own snapshot.
  struct StateExport {
    uint64_t id = 0;
    kvpb::StateSnapshot small;  // the state without its store (leases, dedup window, members, alarms)
    int64_t revision = 0;
    int64_t compacted_revision = 0;
    uint64_t applied_index = 0;
    etcdserverpb::ResponseHeader header;
  };
  StateExport BeginStateExport();
  // Appends the versions from `from` to *out; returns where to resume, or nullopt once every version was copied.
  absl::StatusOr<std::optional<Revision>> StepStateExport(uint64_t id, Revision from, size_t max_records,
                                                          size_t max_bytes, std::vector<kvpb::StoreRecord>* out);
  // Idempotent (an export the state's replacement ended is gone already).
  void EndStateExport(uint64_t id);
  size_t state_exports() const { return exports_.size(); }

 private:
  struct PendingRead {
    uint64_t request_id;
    etcdserverpb::RangeRequest request;
    int64_t deadline_tick;
    AuthInfo auth;  // checked when the read is served
  };
  struct Proposal {
    uint64_t request_id;
    int64_t deadline_tick;
  };
  struct ReadBatch {
    std::string ctx;
    std::vector<PendingRead> reads;
    uint64_t leader = 0;  // who was asked: a new leader never answers another's round
    int ticks_waiting = 0;
    uint64_t index = 0;  // set once the ReadState came back
    bool answered = false;
  };

  // The Ready contract: take a Ready when none is being persisted, emit its batch, finish it on Persisted.
  void Pump();
  void FinishReady(ByteSource* snapshot_data);
  // The same for a Ready that was never held (nothing to persist); ready_ is empty.
  void FinishReady(raft::Ready& rd, ByteSource* snapshot_data);
  // Moves the messages for which now(m) holds to out_msgs_, in order, and hands each other one to otherwise; leaves
  // *messages empty.
  template <typename Now, typename Otherwise>
  void Emit(std::vector<raftpb::Message>* messages, const Now& now, const Otherwise& otherwise);
  void ApplyEntry(const raftpb::Entry& e);
  // An applied Alarm request: raises or clears it in alarms_, answering with what changed.
  void ApplyAlarm(const etcdserverpb::AlarmRequest& a, etcdserverpb::AlarmResponse* resp);
  void ApplyRequest(const kvpb::RaftRequest& req, uint64_t index);
  void ApplyConfChange(const raftpb::Entry& e);
  // Remembers a request id in the dedup window; false if it was applied already.
  bool Remember(uint64_t id);
  void Bootstrap();
  void ForceNewCluster(const RecoveredState& recovered);
  // A configuration change entry this member writes itself (bootstrap, --force-new-cluster); its context names the
  // member as `founding` describes it.
  raftpb::Entry ConfChangeEntry(raftpb::ConfChangeType type, uint64_t id, uint64_t term, uint64_t index) const;
  // Puts entries this member wrote itself into its log and has them persisted before any Ready.
  void WriteOwnEntries(std::vector<raftpb::Entry> entries, const raftpb::HardState& hs);
  // Membership changes (Cluster service): checked here against the members now, proposed as configuration changes,
  // answered when their entry applies (where they are checked again: that decision is the one that counts).
  void SubmitMemberChange(uint64_t request_id, const kvpb::ClientRequest& request);
  void ProposeMemberChange(uint64_t request_id, uint64_t proposal_id, raftpb::ConfChange cc);
  // A promotion is made by the leader, the only member that knows whether the learner caught up.
  absl::Status LearnerReady(uint64_t id) const;
  void PromoteAsLeader(uint64_t request_id, uint64_t proposal_id, uint64_t learner);
  // Replaces the state with the snapshot's: its data inline, or (empty) from `source`.
  void RestoreState(const raftpb::Snapshot& snap, ByteSource* source);
  void RestoreState(const raftpb::SnapshotMetadata& metadata, ByteSource& data);
  // The state without the MVCC store (leases, dedup window, members, alarms): what a snapshot takes at once.
  kvpb::StateSnapshot SmallState() const;
  // A leader's MSG_SNAP waits for a snapshot made at or after now (etcd's merged snapshot: the state and
  // configuration as they are, not the snapshot saved last, which may predate the member it goes to).
  void QueueSnapshotSend(raftpb::Message m);
  void MaybeSnapshot();
  // What to make once nothing is being made: a snapshot for the followers waiting for one, else a periodic one.
  void NextSnapshotBuild();
  // Drops the sends Raft asked for in an earlier term or while this member led and no longer does (Raft reset the
  // follower's progress since, and asks again).
  void DropStaleSnapshotSends();
  // Snapshots in progress: start one at the applied index; hand out its next piece if the driver has room for one;
  // finish it (its kEnd out); abandon it (the state is being replaced).
  void StartSnapshotBuild(SnapshotPiece::Target target);
  void StepSnapshotBuild();
  void FinishSnapshotBuild();
  void AbandonSnapshotBuild();
  // A snapshot for followers is in its file: the MSG_SNAPs it serves go.
  void FinishSnapshotSend();
  void OnRoleChange();
  // etcd's parseProposeCtxErr: a proposal that times out having started while the previous leader was being lost (at
  // most two election timeouts before the current leader was elected) is said to be due to that leader's failure.
  absl::Status ProposalTimeout(int64_t start_tick) const;

  // Client requests.
  absl::Status CheckWrite(const kvpb::ClientRequest& request) const;
  void Propose(uint64_t request_id, kvpb::ClientRequest request);
  void ProposeInternal(kvpb::ClientRequest request);
  void IssueReadIndex();
  // This member leads, is the configuration's only voter (learners aside) and has committed an entry of its term:
  // its commit index is a read index.
  bool SoleVoterLeader() const;
  void ServeReadyReads();
  void ServeRange(uint64_t request_id, const etcdserverpb::RangeRequest& r, const AuthInfo& who);
  // Auth requests: those answered from local state at once, and the applied ones.
  void ServeAuthLocal(uint64_t request_id, const kvpb::ClientRequest& request);
  absl::Status ApplyAuth(const kvpb::ClientRequest& r, uint64_t index, kvpb::ClientResponse* resp);
  // The Auth service's requests that go through the log (all but the local lookups), which ApplyAuth applies.
  static bool IsLoggedAuthRequest(const kvpb::ClientRequest& r);
  // etcd's authApplierV3: the permission a request needs, checked when it applies against the auth store then.
  absl::Status CheckApplyPermission(const kvpb::ClientRequest& r) const;
  // A put, delete or txn from a client (what KvTestingKnobs::auth_check_at_admission_only checks at admission).
  static bool IsKvWrite(const kvpb::ClientRequest& r);
  void ServeLeaseLocal(uint64_t request_id, const kvpb::ClientRequest& request);
  void ExpireLeases();
  // A tick of the auto-compactor: logs its lines, proposes the compaction it asks for (a leader's, best effort).
  void AutoCompact();
  // The leader's answer to LeaseTimeToLive (remaining TTL by its clock).
  etcdserverpb::LeaseTimeToLiveResponse LeaseTimeToLive(const etcdserverpb::LeaseTimeToLiveRequest& r) const;
  void TimeOutRequests();
  void Reply(uint64_t request_id, absl::Status status, kvpb::ClientResponse response = {});
  void FillHeader(etcdserverpb::ResponseHeader* h) const;
  void FillHeaders(kvpb::ClientResponse* r) const;
  uint64_t NextId();

  NodeCoreConfig config_;
  raft::MemoryStorage storage_;
  std::unique_ptr<raft::RawNode> raft_;
  MvccStore store_{1};  // as etcd: a fresh member is at revision 1, its first write makes revision 2
  Lessor lessor_;
  AuthStore auth_;  // in the state snapshot (but its simple tokens, which are this member's)
  AutoCompactor auto_compactor_;
  Applier applier_;
  std::unique_ptr<WatchHub> hub_;
  int64_t now_us_ = 0;
  uint64_t applied_index_ = 0;
  // The commit index this member recovered from its disk: entries up to it were committed in an earlier life, and
  // re-applying them assigns no simple tokens (a member's tokens die with it, as etcd's do).
  uint64_t recovered_commit_ = 0;
  uint64_t snapshot_index_ = 0;
  AlarmSet alarms_;  // raised by applied Alarm requests (NOSPACE: no growth; CORRUPT: no writes)
  bool was_leader_ = false;
  uint64_t last_leader_ = 0;          // the leader this member last knew (0: none)
  int64_t leader_elected_tick_ = -1;  // when it learned of the current leader

  // The Ready being persisted (at most one).
  std::optional<raft::Ready> ready_;
  bool ready_applied_ = false;  // its committed entries were applied while it was being persisted
  uint64_t persist_seq_ = 0;
  std::optional<PersistRequest> persist_out_;

  uint64_t id_prefix_ = 0;
  uint64_t id_counter_ = 0;
  std::map<uint64_t, Proposal> proposals_;  // proposal id -> the client waiting for it
  uint64_t proposals_failed_ = 0;           // see proposals_failed()
  std::deque<PendingRead> queued_reads_;    // waiting for the next ReadIndex round
  std::optional<ReadBatch> read_batch_;     // the round in flight
  std::vector<ReadBatch> ready_reads_;      // rounds answered, waiting for the apply to reach their index
  // Lease requests the leader answers itself, waiting until it has applied everything committed (so it knows every
  // lease granted before the request), or for their deadline.
  struct LeaseWait {
    uint64_t request_id;
    kvpb::ClientRequest request;
    int64_t deadline_tick;
  };
  std::deque<LeaseWait> lease_waiting_;
  std::set<int64_t> revoking_;              // expired leases whose revocation was proposed
  // Proposals made while this leader hands leadership over, which Raft would drop: this member's own (their
  // proposals_ entries made, so they still time out) and the MsgProps followers forwarded (also those that reach
  // it after it stepped down). Proposed (stepped) again
  // once the transfer ended and a leader is known — forwarded to the new leader, or appended here if it was
  // aborted — so a graceful hand-off fails no request. Bounded in number and (forwarded ones, whose senders time
  // them out) in age; past that they are dropped as Raft would.
  // This member's own are also held while no leader is known in an election a hand-over started (this member got
  // MsgTimeoutNow, or a vote request marked as a transfer), for at most an election timeout each, then refused with
  // "no leader" as before. In any other election they are refused at once, as etcd does.
  int64_t hand_over_election_tick_ = -1;  // when this member last saw a hand-over's election begin
  bool InHandOverElection() const {
    return leader() == 0 && hand_over_election_tick_ >= 0 && ticks_ - hand_over_election_tick_ <= config_.election_ticks;
  }
  struct HeldProposal {
    uint64_t id = 0;
    std::string data;
    int64_t until_tick = 0;
  };
  std::deque<HeldProposal> held_proposals_;
  std::deque<std::pair<int64_t, raftpb::Message>> held_forwarded_;  // (tick held, message)
  void ReleaseHeldProposals();
  // etcd's maxGapBetweenApplyAndCommitIndex: a write is refused ("too many requests") while the member has more
  // than this many committed entries it has not applied yet.
  static constexpr uint64_t kMaxApplyGap = 5000;
  // The ids of the last kDedupWindow requests applied (and as a set): a duplicate is skipped.
  static constexpr size_t kDedupWindow = 10'000;
  std::deque<uint64_t> recent_order_;
  absl::flat_hash_set<uint64_t> recent_ids_;
  Membership membership_;  // in the state snapshot
  // The entries this member wrote itself at start (bootstrap, or --force-new-cluster) are being persisted: no Ready
  // until they are.
  bool bootstrapping_ = false;
  int64_t ticks_ = 0;

  // The snapshot being made, a piece per event (the store pinned at its revision meanwhile).
  struct SnapshotBuild {
    raftpb::SnapshotMetadata metadata;
    uint64_t index = 0;
    SnapshotPiece::Target target = SnapshotPiece::Target::kSave;
    std::unique_ptr<StateSnapshotWriter> writer;  // streamed
  };
  std::optional<SnapshotBuild> build_;
  // State exports in progress: their store pins, by export id.
  std::map<uint64_t, MvccStore::PinId> exports_;
  uint64_t last_export_id_ = 0;
  // The state is being replaced: every export ends (its pin goes before the store is restored).
  void EndStateExports();
  // A snapshot on its way to its file: from the build's start until the driver reports its kEnd (the build may be
  // over before that), or until it is abandoned. One of each target at a time.
  struct SnapshotStream {
    uint64_t id = 0;
    SnapshotPiece::Target target = SnapshotPiece::Target::kSave;
    raftpb::SnapshotMetadata metadata;
    uint64_t next_seq = 0;   // pieces handed out
    uint64_t written = 0;    // pieces reported written (in order)
    bool ended = false;      // kEnd handed out
    bool abandoned = false;  // abandoned before kBegin was reported: kAbandon follows the report
  };
  std::optional<SnapshotStream> save_;  // the member's own
  std::optional<SnapshotStream> send_;  // for followers
  uint64_t last_stream_id_ = 0;
  std::optional<SnapshotStream>& StreamOf(SnapshotPiece::Target target) {
    return target == SnapshotPiece::Target::kSave ? save_ : send_;
  }
  void StepSnapshotStream(SnapshotStream& st);
  void EmitSnapshotPiece(SnapshotStream& st, SnapshotPiece::Kind kind, std::string bytes, uint64_t store_bytes = 0);
  // MSG_SNAPs waiting for a snapshot at or after min_index (the applied index when Raft asked for them).
  struct SnapshotSend {
    raftpb::Message message;
    uint64_t min_index = 0;
  };
  std::vector<SnapshotSend> snapshot_sends_;

  std::vector<raftpb::Message> out_msgs_;
  std::vector<SnapshotPiece> out_pieces_;
  std::vector<ClientReply> out_replies_;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_NODE_CORE_H_
