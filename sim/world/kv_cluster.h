// KvCluster: N etcd members (kv::NodeCore — Raft, MVCC store, leases, watches) inside the simulator, driven through
// the same events the production runtime gives them: ticks from each member's own (possibly drifting) clock, peer
// messages from the simulated Network, client requests and watch streams, and "your batch is durable" after a
// simulated sync latency. Each member keeps its WAL and snapshots on a simulated disk (NodeDisk): a crash loses what
// was not synced, a restart recovers from disk, corruption makes the member refuse to start, a disk error kills it
// (its supervisor restarts it). A member's own snapshot is written as the core streams it (kv::SnapshotPiece: the
// marker, the file a piece at a time, each piece reported after a drawn disk latency), so a crash can cut a save
// short (its half-written file is removed at restart) and a leader's snapshot can abandon one. A snapshot for
// followers is streamed the same way to a file of its own; its MSG_SNAPs carry that file's bytes over the simulated
// network (the production transport streams the file), and the receiving member writes them into a file of its own
// (checked as the transport checks them), installs that file as its snapshot and restores from it a piece at a time. A
// paused member reads nothing — messages and client requests queue — until it resumes. Clients talk to one member each:
// a request to a member that is down is refused at once; a member that crashes takes its clients' pending requests and
// watch streams with it (the clients see only silence, or a broken stream). Watch streams are opened with etcd's
// "require leader": a member without a leader for three election timeouts closes them, and their clients reconnect
// elsewhere. A crash can be timed to the instant right after a member sends a vote grant or an append
// acknowledgement (ArmCrashAfterSend). Every Raft event is reported to the RaftChecker; every revision a member
// applies, to the on_revision hook.
// Hosts and members: the cluster has N hosts (the scenario's nodes, 1..N: what faults and clients address). The
// founding members run on hosts 1..F with their host's number as id; the other hosts are spares. A member added to
// the running cluster (its id chosen by etcd's member add) is started on a free host with a wiped disk and joins
// (--initial-cluster-state=existing). A member that applies its own removal stops for good at once, as etcd's does;
// one that never learned of it is stopped for good by the operator (Decommission). A stopped removed member never
// runs again — no restart, no fault brings it back — and its host is free for a new member.
// It decides nothing by itself that the seed does not decide.
#ifndef DETCD_SIM_WORLD_KV_CLUSTER_H_
#define DETCD_SIM_WORLD_KV_CLUSTER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "api/kv_request.pb.h"
#include "base/prng.h"
#include "host/effects_loop.h"
#include "host/persist.h"
#include "host/received_snapshots.h"
#include "kv/node_core.h"
#include "sim/checkers/raft_checker.h"
#include "sim/world/cluster_options.h"
#include "sim/world/event_loop.h"
#include "sim/world/fault_target.h"
#include "sim/world/network.h"
#include "sim/world/node_disk.h"
#include "sim/world/snapshot_sends.h"
#include "sim/world/trace.h"

namespace detcd::sim {

struct KvClusterOptions {
  // Cluster shape, Raft settings, disk latency and crash loss, WAL segment size, snapshot settings, testing knobs.
  ClusterOptions cluster;
  // The members' settings (limits, quota, request timeout, watch options); id, peers, seed, ticks and hooks are
  // filled in per member.
  kv::NodeCoreConfig core;
  // Test-only breakage, in the persistence code the production member runs too (host::PersistTesting): with
  // skip_sync a member is told its batch is durable as soon as it is written, before the sync (the sync happens
  // later), so a crash can lose what it acknowledged (etcd #14370).
  host::PersistTesting testing_persist;
  // Founding members, on hosts 1..founding_members; 0: every host.
  int founding_members = 0;
  // Members have a name and URLs, as etcd's do: the founding members' are in the bootstrap entries (etcd's
  // --initial-cluster), and every member publishes its name and client URLs through Raft each time it starts
  // (retrying until that is applied), which is what etcd's --strict-reconfig-check counts as started.
  bool publish_members = false;
  // A member's own snapshot goes to its file in pieces this large (kv::NodeCoreConfig::snapshot_piece_bytes):
  // small, so a simulated member's snapshot leaves in several, and a crash or a leader's snapshot can cut a save.
  size_t snapshot_piece_bytes = 1024;
  // etcd's periodic corruption check, in ticks of the leader (0: off): it hashes its store, asks every running member
  // for its hash at that revision (at once, outside the simulated network: a simplification), and proposes the CORRUPT
  // alarm kv::JudgeLeaderHashes names. The cluster also writes kCanaryKey once a leader is known.
  int64_t corrupt_check_ticks = 0;
  // This member stores another value for puts to kCanaryKey (kv::KvTestingKnobs::corrupt_puts_to); 0: none.
  uint64_t corrupt_member = 0;
  // Test-only breakage of WAL recovery (storage::WalOptions::testing_corrupt_tail_is_torn): a bad checksum in the last
  // segment is cut off as a torn tail instead of refusing to start.
  bool testing_corrupt_tail_is_torn = false;
};

class KvCluster : public FaultTarget {
 public:
  static constexpr char kCanaryKey[] = "corruption-canary";
  using ReplyFn = std::function<void(const kv::ClientReply&)>;
  using WatchFn = std::function<void(const etcdserverpb::WatchResponse&)>;
  using RevisionFn = std::function<void(uint64_t node, int64_t revision, const std::vector<mvccpb::Event>& events)>;
  using CompactFn = std::function<void(uint64_t node, int64_t revision)>;
  // Every entry a member applies (the host it runs on), as the member applies it.
  using ApplyFn = std::function<void(uint64_t host, const raftpb::Entry& entry)>;
  // A client request is handed to the member's core right after this (which sees the member as it admits it).
  using AdmitFn = std::function<void(const kv::NodeCore& core)>;
  // After every event a running member handled (once its bootstrap entries are durable): the host and the member.
  using ObserveFn = std::function<void(uint64_t host, const kv::NodeCore& core)>;
  // A removed member stopped for good.
  using StoppedFn = std::function<void(uint64_t member)>;
  // A node went down or came back: "crash", "disk error", "restart", "refused to start", "pause", "resume".
  using NodeEventFn = std::function<void(uint64_t node, const char* what)>;

  KvCluster(const KvClusterOptions& options, EventLoop* loop, Network* network, Prng* prng, Trace* trace,
            RaftChecker* checker);

  void Start();
  void set_on_revision(RevisionFn fn) { on_revision_ = std::move(fn); }
  void set_on_compact(CompactFn fn) { on_compact_ = std::move(fn); }
  void set_on_apply(ApplyFn fn) { on_apply_ = std::move(fn); }
  void set_on_observe(ObserveFn fn) { on_observe_ = std::move(fn); }
  void set_on_stopped(StoppedFn fn) { on_stopped_ = std::move(fn); }
  void set_on_node_event(NodeEventFn fn) { on_node_event_ = std::move(fn); }

  // The network's delivery callback.
  void Deliver(std::shared_ptr<const raftpb::Message> shared);

  // A client request arriving at a member. False if the member is down (the connection is refused; fn is never
  // called). Otherwise fn gets the reply when the member gives one — never, if it crashes first. `admitted`, if given,
  // sees the member just before it takes the request (a paused member takes it when it resumes).
  bool Submit(uint64_t node, const kvpb::ClientRequest& request, ReplyFn fn, AdmitFn admitted = nullptr);

  // A watch stream to a member. Returns 0 if the member is down or knows no leader. on_response gets every response in
  // order; on_broken is called (once) when the member crashes, and the stream is gone.
  uint64_t OpenWatch(uint64_t node, WatchFn on_response, std::function<void()> on_broken);
  // A request on an open stream (ignored if the stream broke). A paused member reads it when it resumes.
  void WatchRequest(uint64_t stream, const etcdserverpb::WatchRequest& request);
  // The client stops reading a stream until ReadWatch (a slow consumer): responses wait in the member.
  void SetWatchReading(uint64_t stream, bool reading);
  void CloseWatch(uint64_t stream);

  // FaultTarget.
  int size() const override { return static_cast<int>(nodes_.size()); }
  bool IsUp(uint64_t id) const override { return node(id).core != nullptr; }
  bool IsPaused(uint64_t id) const override { return node(id).paused; }
  uint64_t Leader() const override;
  void Crash(uint64_t id) override;
  void Restart(uint64_t id) override;
  void Pause(uint64_t id) override;
  void Resume(uint64_t id) override;
  void SetDrift(uint64_t id, double factor) override;
  void SetDiskError(uint64_t id, bool on_sync, bool on) override;
  void SetDiskFull(uint64_t id, bool on) override;
  std::string FlipBit(uint64_t id, simpb::BitRot::Where where) override;
  std::string CorruptWalTail(uint64_t id, uint32_t records) override;
  void ArmCrashAfterSend(uint64_t id, simpb::CrashAfterSend::Message which,
                         std::function<void(const std::string& sent)> crashed) override;
  void DisarmCrashAfterSend(uint64_t id) override;
  std::vector<uint64_t> LearnerHosts(uint64_t id) const override;
  bool NeedsSnapshotOfNewConfig(uint64_t id) const override;

  // Hosts and members. The member a host runs (up or down), or 0: none yet, or it was removed and stopped for good.
  uint64_t member(uint64_t host) const;
  // The host a member id runs or ran on; 0 if none (the Network's routing).
  uint64_t HostOf(uint64_t member) const;
  int founding_members() const { return founding_; }
  // The removed member on `host` stops for good, running or not (the operator's shutdown of a member that may never
  // have learned it was removed); the host is free afterwards.
  void Decommission(uint64_t host);
  // Starts a brand-new member `id` (added to the cluster by a member add) on a free host with a wiped disk; it joins
  // the running cluster and learns everything from the leader.
  void StartNewMember(uint64_t host, uint64_t id);

  bool IsRefused(uint64_t id) const { return node(id).refused; }
  // The member (null while down).
  const kv::NodeCore* core(uint64_t id) const { return node(id).core.get(); }
  uint64_t CommitIndex(uint64_t id) const;
  uint64_t applied_index(uint64_t id) const;
  int crashes() const { return crashes_; }
  int refusals() const { return refusals_; }
  int disk_deaths() const { return disk_deaths_; }
  int snapshots_saved() const { return snapshots_saved_; }
  int snapshots_installed() const { return snapshots_installed_; }
  int members_started() const { return members_started_; }
  int removed_stops() const { return removed_stops_; }

 private:
  struct Stream {
    uint64_t node = 0;
    uint64_t incarnation = 0;
    kv::WatchHub::StreamId sid = 0;
    bool reading = true;
    WatchFn on_response;
    std::function<void()> on_broken;
  };
  // The facts the checkers' per-event observations read from a member (its role, term, leader, log bounds, commit,
  // applied index, membership, snapshot in flight) and the checkers' own position; equal fingerprints, equal checks.
  struct ObservedState {
    uint64_t incarnation = 0;
    uint64_t term = 0;
    raft::SoftState soft;
    uint64_t committed = 0;
    uint64_t last_index = 0;
    uint64_t last_term = 0;
    uint64_t stable_last = 0;
    uint64_t applied = 0;
    uint64_t membership_version = 0;
    bool pending_snapshot = false;
    uint64_t checker_version = 0;
    bool operator==(const ObservedState& o) const {
      return std::tie(incarnation, term, committed, last_index, last_term, stable_last, applied, membership_version,
                      pending_snapshot, checker_version) ==
                 std::tie(o.incarnation, o.term, o.committed, o.last_index, o.last_term, o.stable_last, o.applied,
                          o.membership_version, o.pending_snapshot, o.checker_version) &&
             soft == o.soft;
    }
  };
  struct Node {
    uint64_t id = 0;             // the host
    uint64_t member = 0;         // the member it runs (its Raft id); 0: none
    bool join_existing = false;  // a member added to the running cluster (it writes no bootstrap entries)
    bool retired = false;        // the member was removed and stopped for good
    NodeDisk disk;
    std::unique_ptr<kv::NodeCore> core;  // null while down
    bool refused = false;
    uint64_t incarnation = 0;
    bool paused = false;
    double drift = 1.0;
    int64_t local_us = 0;                          // the member's own clock, moved by its ticks
    std::optional<kv::PersistRequest> persisting;  // written, waiting for its sync
    // Snapshots on their way to their files (the member's own, and for followers): pieces handed out, the one being
    // written (its report waits for the disk's latency), the files.
    std::deque<kv::SnapshotPiece> snapshot_pieces;
    bool writing_piece = false;
    std::unique_ptr<storage::SnapshotFileWriter> snapshot_file;  // its own
    std::unique_ptr<storage::SnapshotFileWriter> send_file;      // for followers
    // A finished file for followers, from its kEnd's report to the end of the effects that follow: the bytes its
    // MSG_SNAPs carry.
    std::shared_ptr<const std::string> send_ready;
    raftpb::SnapshotMetadata send_ready_metadata;
    // Leaders' snapshots received into files on this disk, until installed.
    std::unique_ptr<host::ReceivedSnapshots> received;
    uint64_t received_files = 0;       // names them
    bool synced_while_paused = false;  // the sync finished while the process was stopped
    // What arrived while paused, in order; client requests are told apart from peer messages, because a resumed
    // process reads its connections in no particular order.
    std::deque<std::pair<bool, std::function<void()>>> inbox;
    int64_t leaderless_ticks = 0;  // ticks in a row without a known leader
    raft::SoftState last_soft;     // Raft's role and leader as last traced
    uint64_t last_term = 0;
    // What the checkers last observed of this life (Observe): observing an unchanged member against unchanged
    // checkers again would check the same inputs.
    std::optional<ObservedState> last_observed;
    // Request id -> the client waiting for its reply, and the tick of this life by which the core must have
    // answered it (its own request timeout: the core answers every request it takes, if only "request timed out").
    struct Waiting {
      ReplyFn fn;
      int64_t answer_by_tick = 0;
    };
    std::map<uint64_t, Waiting> waiting;
    int64_t ticks = 0;          // this life's ticks
    // A crash_after_send fault armed on this host: the next such message the member sends is its last.
    struct SendTrigger {
      simpb::CrashAfterSend::Message which = simpb::CrashAfterSend::ANY_DURABLE;
      std::function<void(const std::string& sent)> crashed;
    };
    std::optional<SendTrigger> crash_after_send;
    host::EffectsLoop effects;  // this life's (a new one with each start)
  };
  class NodeHost;

  Node& node(uint64_t id);
  const Node& node(uint64_t id) const;
  // "node <member>", with its host when they differ, for trace lines.
  static std::string Name(const Node& n);
  bool Build(Node& n);
  // The member stops for good (it was removed).
  void Retire(Node& n, const std::string& why);
  void PowerOff(Node& n);
  void DieOfDiskError(Node& n, const absl::Status& error);
  void ScheduleTick(uint64_t id, int64_t delay_us);
  void OnTick(uint64_t id, uint64_t incarnation);
  // The member takes a client's request: its reply is awaited, and due within the core's request timeout.
  void Await(Node& n, uint64_t rid, ReplyFn fn);
  // After a tick: a request the core took and did not answer by its own timeout breaks the core's contract.
  void CheckAnsweredInTime(Node& n);
  // On the leader's tick: the canary write, then every corrupt_check_ticks the corruption check.
  void CorruptionDuty(Node& n);
  // Runs fn on the member now, or when it resumes if it is paused; nothing if it is down or in another life. A
  // template, so the common case (a running member) wraps fn in no std::function (an allocation per message).
  template <typename Fn>
  void OnMember(uint64_t id, Fn&& fn, bool from_client = false) {
    Node& n = node(id);
    if (!n.core) return;
    if (n.paused) return QueueWhilePaused(n, std::function<void(Node&)>(std::forward<Fn>(fn)), from_client);
    fn(n);
    Flush(n);
  }
  void QueueWhilePaused(Node& n, std::function<void(Node&)> fn, bool from_client);
  // The member's watch streams end (its crash, or it lost its leader): their clients see them break.
  void BreakStreams(Node& n, bool close_in_member);
  // Takes the member's effects after an event (host::EffectsLoop through NodeHost, as the production member does):
  // snapshots to save, the next batch to persist, messages, replies, its removal, watch responses.
  void Flush(Node& n);
  // A leader's MSG_SNAP arrived with its file's bytes: into a file of this member's, then the message to the core.
  void ReceiveSnapshot(Node& n, const raftpb::Message& m);
  // The batch being persisted is durable: Persisted (with the installed snapshot's data if it brought one);
  // false if the member died of a disk error instead.
  bool ReportPersisted(Node& n);
  // Writes a batch the core handed out to the simulated disk and schedules its sync after a drawn latency.
  void StartPersist(Node& n, kv::PersistRequest batch);
  void FinishPersist(uint64_t id, uint64_t incarnation);
  // Writes the member's next snapshot piece (kv::SnapshotPiece's contract) and reports it after the disk's latency;
  // false if the member died of a disk error.
  bool WriteSnapshotPiece(Node& n);
  void SnapshotPieceWritten(uint64_t id, uint64_t incarnation, uint64_t stream, uint64_t seq,
                            const raftpb::SnapshotMetadata& metadata, std::shared_ptr<const std::string> sent);
  static void ForgetSnapshotSave(Node& n);
  // The member in this life publishes its name and client URLs, again until it is applied.
  void Publish(uint64_t host, uint64_t incarnation);
  // Ticks, publishing, and what the new life has to do at once.
  void Started(Node& n);
  void Observe(Node& n);
  void SendAll(std::vector<raftpb::Message> msgs);
  // The member's messages into the network — up to and including one its armed crash_after_send waits for, then it
  // loses power at once (the rest never leave).
  void SendFrom(Node& n, std::vector<raftpb::Message> msgs);
  // Power lost: what every crash does (the caller traces why).
  void CrashNode(Node& n);
  void ReportSnapshot(uint64_t from, uint64_t incarnation, uint64_t to, bool failed);

  KvClusterOptions options_;
  EventLoop* loop_;
  Network* network_;
  Prng* prng_;
  Trace* trace_;
  RaftChecker* checker_;
  SnapshotSends snapshot_sends_;  // after options_, loop_ and trace_: it is built from them
  RevisionFn on_revision_;
  CompactFn on_compact_;
  ApplyFn on_apply_;
  ObserveFn on_observe_;
  NodeEventFn on_node_event_;
  StoppedFn on_stopped_;
  int founding_ = 0;
  // Member id -> host, for every member that ever ran; looked up several times for every message, never iterated.
  // Small ids (the founding members', most new members') index a vector; others go to the map.
  void SetHostOf(uint64_t member, uint64_t host);
  static constexpr uint64_t kSmallIds = 64;
  std::vector<uint64_t> host_of_small_;
  absl::flat_hash_map<uint64_t, uint64_t> host_of_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<uint64_t, Stream> streams_;
  uint64_t next_stream_ = 1;
  uint64_t next_request_ = 1;
  bool canary_written_ = false;  // the corruption canary's put was acknowledged
  bool canary_in_flight_ = false;
  int crashes_ = 0;
  int refusals_ = 0;
  int disk_deaths_ = 0;
  int snapshots_saved_ = 0;
  int snapshots_installed_ = 0;
  int members_started_ = 0;
  int removed_stops_ = 0;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORLD_KV_CLUSTER_H_
