// MemberRuntime: the production driver of one etcd member — the node core (kv::NodeCore), the very state machine the
// simulator runs, fed with real time and real disk. Other threads (the client front end, the disk thread, the peer
// transport) hand it work through one queue. The core is held by one thread at a time, in queue order: a front end,
// disk or transport thread that queues work while nobody holds the core runs the queue itself (a few rounds of "every
// queued event, then the effects once"), so a request, a finished fsync or a peer's message costs no hand-off and no
// wake-up; ticks, the transport's other news and whatever a poster left go to the core thread ("detcd-core"), which
// ticks every heartbeat interval with the monotonic clock. Callbacks (replies, watch responses, sends) run on whichever
// thread holds the core; they must not block. Each batch the core asks to persist goes to the disk thread, which writes
// it to the WAL (storage::MemberStore on storage::PosixDisk) and fdatasyncs it before the core is told (group commit:
// everything proposed while a sync is in flight joins the next batch). The core's own snapshots are saved beside
// it as the core streams them (kv::SnapshotPiece): the WAL marker with the WAL writes, then the (large) file a piece
// at a time on a snapshot thread of its own, so no WAL write waits behind one and no more than a few pieces are ever
// in memory, then the WAL segments it makes removable go (back on the disk thread, once the file is durable). A
// snapshot a follower needs is streamed the same way to a file for followers on that thread; its MSG_SNAPs go to the
// sender with that file (opened, its name removed: the transport streams it and it is gone once they are all sent).
// A leader's snapshot for this member arrives into a file (ReceiveSnapshotFile, written by the transport as its
// bytes come), which the disk thread installs as this member's snapshot file and the core restores from a piece at
// a time: neither side holds the state's size in memory. Raft messages go to a sender (peers; none for a single
// member).
// Threads per member: the core thread, the disk thread, the snapshot thread (idle but for snapshots), the peer
// transport's epoll thread, the client front end's epoll thread (detcd-h2), and gRPC's own few for the services the
// front end passes on (its pollers and callback executor) — a request in flight holds none.
// A WAL write or sync error stops the member for good (an fsync is never retried). Maintenance requests (HashKV, Hash,
// MoveLeader, and each bounded step of a state export for Maintenance.Snapshot) run on the core too; MoveLeader's wait for the new leader is kept here, checked after every event, since
// the core has no clock. It holds no KV or Raft state of its own.
#ifndef DETCD_NET_MEMBER_RUNTIME_H_
#define DETCD_NET_MEMBER_RUNTIME_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/kv_request.pb.h"
#include "host/effects_loop.h"
#include "host/persist.h"
#include "host/received_snapshots.h"
#include "kv/node_core.h"
#include "net/job_thread.h"
#include "net/prometheus_text.h"
#include "storage/member_store.h"
#include "storage/posix_disk.h"
#include "storage/received_snapshot_file.h"

namespace detcd::net {

struct MemberRuntimeOptions {
  kv::NodeCoreConfig core;  // id, peers, cluster id, ticks (tick_us = --heartbeat-interval), limits
  std::string data_dir;     // --data-dir
  std::string wal_dir;      // --wal-dir: where the WAL goes; "" for <data_dir>/member/wal
  uint64_t wal_segment_bytes = 64ull << 20;
  // Old snapshot files and WAL segments kept after a snapshot (etcd's --max-snapshots, --max-wals; 0: all; see
  // storage::MemberStore::SetRetention).
  size_t max_snapshots = 2;
  size_t max_wals = 1;
  // Client requests submitted and not yet answered (queued for the core or waiting in it) beyond which Submit
  // answers etcd's "etcdserver: too many requests" at once: overload never grows memory without bound.
  int64_t max_requests_in_flight = 50'000;
  // Raft messages for peers (called by the thread holding the core; must not block). A MSG_SNAP comes with its
  // snapshot file (its data empty), to stream after it; other messages with null. Null: a single member, nothing to
  // send.
  std::function<void(raftpb::Message, std::shared_ptr<storage::ReadableFile> snapshot_file)> send;
  std::function<void(const std::string&)> log;
  // The cluster's members changed (added, removed, peer URLs updated, published), and once at start: the members now
  // and every id ever removed. Called by the thread holding the core; must not block (the transport's
  // AddPeer/RemovePeer don't).
  std::function<void(const std::vector<kvpb::Member>& members, const std::set<uint64_t>& removed)> on_members;
  // This member applied its own removal from the cluster (called once, by the thread holding the core; must not
  // block).
  std::function<void()> on_removed;
  // Deliberately broken persistence (host::PersistTesting), for tests only.
  host::PersistTesting testing_persist;
  // Around each drain of the core's effects (called by the thread holding the core; must not block): the replies and
  // watch responses the client front end sends between them leave together (GrpcFrontEnd's one write per connection
  // per batch). Null: nothing.
  std::function<void()> reply_batch_begin;
  std::function<void()> reply_batch_end;
  // A round of the core that applied entries and took longer is a slow apply (etcd's warnApplyDuration, 100 ms).
  int64_t slow_apply_us = 100'000;
};

// What `etcdctl endpoint status` shows.
struct MemberStatus {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  uint64_t leader = 0;
  uint64_t raft_term = 0;
  uint64_t raft_index = 0;  // commit index
  uint64_t applied_index = 0;
  int64_t revision = 0;
  int64_t db_size = 0;                            // bytes the kept versions take
  std::vector<etcdserverpb::AlarmMember> alarms;  // raised, every member's
  bool is_learner = false;
  // The cluster's members as the log made them, with what each published (name, client URLs); by id.
  std::vector<etcdserverpb::Member> members;
  DurationHistogram wal_fsync;       // etcd_disk_wal_fsync_duration_seconds
  DurationHistogram backend_commit;  // etcd_disk_backend_commit_duration_seconds: apply rounds (see apply_)
  uint64_t slow_applies = 0;         // etcd_server_slow_apply_total: applying rounds over slow_apply_us
  // etcd's counters and gauges the core keeps (see kv::NodeCore), and the runtime's.
  kv::MvccOpCounts mvcc_ops;             // etcd_mvcc_{range,put,delete,txn}_total
  uint64_t keys = 0;                     // etcd_debugging_mvcc_keys_total: live keys
  uint64_t watchers = 0;                 // etcd_debugging_mvcc_watcher_total
  uint64_t slow_watchers = 0;            // etcd_debugging_mvcc_slow_watcher_total: not caught up (unsynced)
  uint64_t watch_streams = 0;            // etcd_debugging_mvcc_watch_stream_total
  uint64_t proposals_pending = 0;        // etcd_server_proposals_pending
  uint64_t proposals_failed = 0;         // etcd_server_proposals_failed_total
  int64_t quota_bytes = 0;               // etcd_server_quota_backend_bytes
  uint64_t heartbeat_send_failures = 0;  // etcd_server_heartbeat_send_failures_total
  // etcd's expvar "raft.status": Raft's status as etcd's raft.Status marshals it (the progress only on a leader).
  std::string raft_status_json;
};

class MemberRuntime : private host::EffectsHost {
 public:
  // Takes the reply by value: the runtime hands it over (moved), so a handler may keep its response without a copy.
  using ReplyFn = std::function<void(kv::ClientReply)>;
  // Takes one watch response; false: "no more for now" — the stream is paused (its responses wait in the member's
  // watch hub, which bounds them and catches the watchers up from history later) until ResumeWatch.
  using WatchFn = std::function<bool(const etcdserverpb::WatchResponse&)>;

  // Recovers the member from its data directory (or creates it) and starts the core thread. Errors: the directory
  // is locked by another process, the data is corrupt (naming file and offset), the disk fails.
  static absl::StatusOr<std::unique_ptr<MemberRuntime>> Start(const MemberRuntimeOptions& options);
  ~MemberRuntime();  // Stop()

  // Stops the core thread; requests still waiting are answered "etcdserver: server stopped". Idempotent.
  void Stop();
  // False once stopped (by Stop or by a disk error).
  bool running() const { return running_.load(); }
  // The leader this member knows of (0: none), as of its last drain: any thread, without a trip to the core.
  uint64_t leader() const { return leader_.load(std::memory_order_relaxed); }
  // etcd's election timeout for this member (tick interval × election ticks).
  int64_t election_timeout_us() const { return options_.core.tick_us * options_.core.election_ticks; }

  // ---- any thread ----
  // A client request; `done` runs with the reply on the thread holding the core (it must not block). Requests submitted
  // while the core thread is busy reach it as one batch: the core sees them all before it drains its effects once.
  void Submit(kvpb::ClientRequest request, ReplyFn done);
  // Submit and wait for the reply, at most `timeout` (then "etcdserver: request timed out").
  kv::ClientReply Call(const kvpb::ClientRequest& request, absl::Duration timeout);
  // A peer's Raft message (a MSG_SNAP without data is refused: its bytes come in its file, ReceiveSnapshot).
  void Receive(raftpb::Message m);
  // A leader's MSG_SNAP streamed with its snapshot file (the transport's sink): the file it goes into, in this
  // member's snapshot directory (checked as its bytes come; removed unless finished). Then, once it is finished,
  // ReceiveSnapshot with the message (its data empty) and the file's path.
  absl::StatusOr<std::unique_ptr<storage::ReceivedSnapshotFile>> ReceiveSnapshotFile(const raftpb::Message& header,
                                                                                     uint64_t file_bytes);
  void ReceiveSnapshot(raftpb::Message m, std::string path);
  // Transport news: a peer could not be reached (Raft probes it again); a snapshot sent to it arrived or failed.
  void ReportUnreachable(uint64_t peer);
  void ReportSnapshot(uint64_t peer, bool failed);

  // Watch streams: OpenWatch returns the stream's id; every response for it is passed to on_response by the thread
  // holding the core (it must not block: queue it). CloseWatch when the client goes away. on_stopped (optional) runs
  // once, on the core thread, if the member stops while the stream is open (no response will come any more).
  uint64_t OpenWatch(WatchFn on_response, std::function<void()> on_stopped = nullptr);
  // `auth`: the client's credentials (a create request is checked against them, see kv::NodeCore::Watch).
  void Watch(uint64_t stream, const etcdserverpb::WatchRequest& request, const kvpb::RequestAuth& auth = {});
  // The consumer of a paused stream (its WatchFn returned false) has room again.
  void ResumeWatch(uint64_t stream);
  void CloseWatch(uint64_t stream);

  MemberStatus Status();

  // ---- maintenance (any thread; each waits at most `timeout` for the core thread, then ErrTimeout) ----
  // HashKV for a peer's corruption check: computed by the core thread (never the caller's), `done` called there with
  // the result (or never, if the member stops first).
  void HashKVAsync(int64_t revision, std::function<void(absl::StatusOr<kv::HashKVResult>)> done);
  // etcd's HashKV at `revision` (0: current): see kv::NodeCore::HashKV.
  absl::StatusOr<kv::HashKVResult> HashKV(int64_t revision, absl::Duration timeout = absl::Seconds(5));
  // etcd's Hash: see kv::NodeCore::Hash for what it covers.
  absl::StatusOr<kv::HashResult> Hash(absl::Duration timeout = absl::Seconds(5));
  // The member's state as of now, for Maintenance.Snapshot to copy a bounded piece at a time (kv::NodeCore's state
  // exports): Begin pins it on the core and takes the small parts; each Step is one bounded slice of the core's time
  // (at most max_records versions, about max_bytes); End drops the pin (queued: any thread, never waits, safe after
  // the member stopped). A caller must End every export it began, however it ends (a client gone, an error).
  absl::StatusOr<kv::NodeCore::StateExport> BeginStateExport(absl::Duration timeout = absl::Seconds(30));
  struct ExportedVersions {
    std::vector<kvpb::StoreRecord> records;
    std::optional<kv::Revision> next;  // where to resume; nullopt: every version was copied
  };
  absl::StatusOr<ExportedVersions> StepStateExport(uint64_t id, kv::Revision from, size_t max_records,
                                                   size_t max_bytes, absl::Duration timeout = absl::Seconds(30));
  void EndStateExport(uint64_t id);
  // Exports in progress and the store's pins (the member's own snapshot's included), for tests and metrics.
  struct ExportCounts {
    size_t exports = 0;
    size_t pins = 0;
    size_t held_versions = 0;  // versions compaction removed that a pin still keeps
  };
  absl::StatusOr<ExportCounts> StateExportCounts(absl::Duration timeout = absl::Seconds(5));
  // etcd's MoveLeader: refused unless this member leads and `target` is a voter (kv::NodeCore::TransferLeadership);
  // then waits until this member sees `target` as leader and answers with a header filled at that moment, or after
  // `timeout` fails with kv::ErrLeaderTransferTimeout (the transfer may still complete later).
  absl::StatusOr<etcdserverpb::ResponseHeader> MoveLeader(uint64_t target, absl::Duration timeout);
  // etcd's TransferLeadership before it stops: a leader with other voters hands over to the most caught-up one
  // (kv::NodeCore::MostCaughtUpVoter) and waits for it to lead, at most `timeout`; proposals made meanwhile wait in
  // the core and go to the new leader. True if it handed over; false at once (with etcd's log line) for a follower
  // or a single voter.
  absl::StatusOr<bool> HandOverLeadership(absl::Duration timeout);

 private:
  using LeaderWaitFn = std::function<void(absl::StatusOr<etcdserverpb::ResponseHeader>)>;
  struct LeaderWait {
    uint64_t target;
    int64_t deadline_us;  // monotonic
    LeaderWaitFn done;
  };

  // A submitted request's reply function on its way to the core thread. The core thread takes `fn`; if the task
  // carrying it is dropped instead (the member stopping), the destructor answers "server stopped", so every
  // submitted request is answered exactly once (a gRPC call must always be finished).
  struct PendingReply {
    PendingReply(MemberRuntime* rt, ReplyFn f) : runtime(rt), fn(std::move(f)) {}
    ~PendingReply();
    MemberRuntime* runtime;
    ReplyFn fn;
  };

  explicit MemberRuntime(const MemberRuntimeOptions& options);
  // Who runs a posted task when nobody holds the core: the posting thread itself (a front end, disk or transport
  // thread: no hand-off, no wake-up), or the core thread (news the transport gives while it walks its peers).
  enum class Drainer { kPoster, kCoreThread };
  // A poster that takes the core runs at most this many rounds (a batch of tasks, then the effects) before leaving
  // the rest to the core thread, so that no gRPC or disk thread is kept from its own work for long.
  static constexpr int kPosterRounds = 4;
  // Queues a task for the core; false if the member is stopping (the task is dropped). If no thread holds the core
  // and `drainer` is kPoster, the caller takes it and runs the queue (Drain) before returning.
  bool Post(std::function<void()> task, Drainer drainer = Drainer::kPoster);
  // Runs queued tasks in batches, each followed by one Flush, for at most max_rounds batches or until the queue is
  // empty; then lets go of the core. The caller must hold it (draining_ set by itself).
  void Drain(int max_rounds);
  // The core thread: ticks, and runs whatever is queued while no other thread holds the core.
  void Loop();
  // After every event: take the core's effects (host::EffectsLoop, which calls the EffectsHost methods below).
  void Flush();
  // ---- host::EffectsHost: how this member carries out the core's effects (by the thread holding the core) ----
  // The batch goes to the disk thread (write, fdatasync, then core.Persisted on the disk thread's turn at the core).
  void Persist(kv::PersistRequest batch) override;
  void Send(std::vector<raftpb::Message> messages) override;
  // A heartbeat to `to` leaves now: etcd's timeout detector (last_heartbeat_us_).
  void ObserveHeartbeat(uint64_t to, int64_t now_us);
  void Reply(kv::ClientReply reply) override;
  std::vector<uint64_t> WatchStreamsWithRoom() override;
  void WatchResponse(uint64_t stream, const etcdserverpb::WatchResponse& response) override;
  void MembersChanged(const kv::Membership& membership) override;  // on_members
  void Removed() override;                                         // logged, on_removed
  // A request the core has: who waits for the reply, and by when it must have come (monotonic).
  struct Waiting {
    ReplyFn fn;
    int64_t deadline_us = 0;
  };
  // Hands `reply` to the request waiting at `it` (and forgets it): the one way a request the core took is answered.
  void Answer(std::map<uint64_t, Waiting>::iterator it, kv::ClientReply reply);
  // How long after submission a request must have been answered: the core's request timeout and a margin.
  int64_t RequestDeadlineUs() const;
  // The safety net under the core's own timeouts: a request still unanswered past its deadline is answered
  // "request timed out" here (and logged: the core must answer every request it takes), so that no client call —
  // a gRPC call left unfinished is never released — waits forever.
  void AnswerOverdue(int64_t now_us);
  // Answers the MoveLeader waits whose target leads now, or whose deadline passed.
  void CheckLeaderWaits(int64_t now_us);
  // After a round of the core (events, then their effects) that began at start_us with applied_before applied: if
  // it applied anything, the round's time is the backend's commit (etcd_disk_backend_commit_duration_seconds), and
  // one longer than options.slow_apply_us is a slow apply, counted and logged in etcd's words.
  void ObserveApplyRound(uint64_t applied_before, int64_t start_us);
  // Runs fn on the core (by whichever thread holds it) and waits for its result at most `timeout` (nullopt: stopped
  // or timed out).
  template <typename T>
  std::optional<T> OnCore(std::function<T()> fn, absl::Duration timeout);
  void Fail(const absl::Status& error);
  // Hands a write to the disk thread (jobs run in order; an error stops the member and every later job).
  void ToDisk(std::function<absl::Status()> job);
  void DiskLoop();
  // Does what a piece of the core's own snapshot asks (kv::SnapshotPiece), then reports it to the core: kBegin's
  // marker on the disk thread and its file on the snapshot thread; kStore and kEnd (finish, sync, rename) on the
  // snapshot thread; then kEnd's SnapshotSaved and RemoveOld on the disk thread.
  void SaveSnapshotPiece(kv::SnapshotPiece piece);
  void SaveSnapshotPieces(std::vector<kv::SnapshotPiece> pieces) override;  // each as above, at once
  // A piece of a snapshot for followers: every kind on the snapshot thread; kEnd opens the finished file for the
  // transport and removes its name, then reports with it (send_ready_).
  void SaveSendPiece(std::shared_ptr<kv::SnapshotPiece> p, std::function<void()> report);
  void Log(const std::string& line);

  MemberRuntimeOptions options_;
  storage::PosixDisk disk_;
  storage::MemberStore store_;
  std::unique_ptr<kv::NodeCore> core_;  // touched only by the thread holding the core (and before any starts)

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  // Guarded by mu_: a thread holds the core (runs tasks, ticks, Flush). Exactly one at a time, so the core, like the
  // state below marked "core only", is touched by one thread at a time, in the order tasks were queued.
  bool draining_ = false;
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> leader_{0};  // the core's leader, stored after each drain of its effects
  std::thread thread_;

  // Only the thread holding the core touches these.
  uint64_t next_request_ = 1;
  // Requests the core has, by id.
  std::map<uint64_t, Waiting> waiting_;
  int64_t last_tick_us_ = 0;  // the monotonic time of the last tick
  struct WatchStream {
    kv::WatchHub::StreamId sid = 0;
    WatchFn on_response;
    std::function<void()> on_stopped;
    bool paused = false;  // the consumer is full: its responses wait in the hub
  };
  std::map<uint64_t, WatchStream> streams_;
  std::map<kv::WatchHub::StreamId, uint64_t> stream_ids_;  // the core's stream id -> the key in streams_
  std::vector<LeaderWait> leader_waits_;
  // etcd's heartbeat timeout detector (contention.TimeoutDetector at twice the heartbeat interval): a leader's
  // heartbeat to a peer leaving more than that after the one before counts as a send failure (the leader is likely
  // overloaded, from a slow disk). The monotonic time of the last heartbeat to each peer, forgotten when the leader
  // changes, as etcd resets it when this member becomes leader.
  std::map<uint64_t, int64_t> last_heartbeat_us_;
  uint64_t heartbeat_leader_ = 0;
  std::atomic<uint64_t> heartbeat_send_failures_{0};
  // What the effects have reported already: the membership version (on_members; 0: none yet, a member that has not
  // applied its first configuration change keeps the peers it started with) and the member's removal.
  host::EffectsLoop effects_;
  std::atomic<uint64_t> next_stream_{1};
  // Client requests submitted and not yet answered; at most options_.max_requests_in_flight.
  std::atomic<int64_t> requests_in_flight_{0};

  // The disk thread: the only one that touches store_ while the member runs.
  std::thread disk_thread_;
  std::mutex disk_mu_;
  std::condition_variable disk_cv_;
  std::deque<std::function<absl::Status()>> disk_jobs_;  // guarded by disk_mu_
  bool disk_stopping_ = false;                           // guarded by disk_mu_
  // Disk and apply timings for /metrics.
  std::mutex timings_mu_;
  DurationHistogram wal_fsync_;       // guarded by timings_mu_
  DurationHistogram backend_commit_;  // guarded by timings_mu_
  uint64_t slow_applies_ = 0;         // guarded by timings_mu_
  std::atomic<bool> disk_failed_{false};
  // Writes snapshot files (MemberStore's snapshot files only: it touches no WAL); stopped before the disk thread.
  std::unique_ptr<JobThread> snapshot_thread_;
  // The own snapshot, and the one for followers, being written; only the snapshot thread touches them.
  std::unique_ptr<storage::SnapshotFileWriter> snapshot_file_;
  std::unique_ptr<storage::SnapshotFileWriter> send_file_;
  // A finished file for followers, from its kEnd's report until the effects that follow are drained: the file its
  // MSG_SNAPs go with. The thread holding the core only.
  struct SendReady {
    raftpb::SnapshotMetadata metadata;
    std::shared_ptr<storage::ReadableFile> file;
  };
  std::optional<SendReady> send_ready_;
  // Leaders' snapshots received into files, until the core has one installed. The thread holding the core only.
  host::ReceivedSnapshots received_{&disk_};
  std::atomic<uint64_t> received_files_{0};  // names them
};

// Here, not in member_runtime.cc: the runtime's files each run work on the core with it.
template <typename T>
std::optional<T> MemberRuntime::OnCore(std::function<T()> fn, absl::Duration timeout) {
  // The caller keeps the promise too: a task dropped at shutdown must not break it while the caller waits.
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();
  if (!Post([promise, fn = std::move(fn)] { promise->set_value(fn()); })) return std::nullopt;
  if (future.wait_for(absl::ToChronoMicroseconds(timeout)) != std::future_status::ready) return std::nullopt;
  return future.get();
}

}  // namespace detcd::net

#endif  // DETCD_NET_MEMBER_RUNTIME_H_
