// Cluster: drives N Raft nodes through the Ready contract inside the simulator. Each node has a simulated disk
// (SimDisk) holding its WAL and snapshots: a Ready's entries and hard state are written to the WAL at once and synced
// after a simulated sync latency; a crash before then loses them (wholly, torn or out of order). Each node runs a
// Replica state machine; every snapshot_count applied entries it snapshots it (WAL marker, then snapshot file) and
// compacts its log, keeping snapshot_catch_up_entries for slow followers; a follower sent a leader's snapshot
// persists it the same way and restores its Replica from it. A restart recovers from the newest valid snapshot plus
// the WAL after it; a node whose data is corrupt refuses to start. A disk error kills the node, and its supervisor
// restarts it. Messages go through the simulated Network, which tells a leader whether its snapshot arrived (as a
// transport's stream does) or not within snapshot_send_timeout_us; ticks come from each node's own (possibly
// drifting) clock. Nodes can crash, restart, pause and resume. After every event it reports
// what it sees to the RaftChecker. It decides nothing by itself that the seed does not decide.
#ifndef DETCD_SIM_CLUSTER_H_
#define DETCD_SIM_CLUSTER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "api/scenario.pb.h"
#include "base/prng.h"
#include "raft/raw_node.h"
#include "raft/storage.h"
#include "sim/cluster_options.h"
#include "sim/event_loop.h"
#include "sim/fault_target.h"
#include "sim/network.h"
#include "sim/node_disk.h"
#include "sim/raft_checker.h"
#include "sim/replica.h"
#include "sim/snapshot_sends.h"
#include "sim/trace.h"

namespace detcd::sim {

class Cluster : public FaultTarget {
 public:
  // Called when a node applies a committed entry (after the checker saw it).
  using ApplyFn = std::function<void(uint64_t node, const raftpb::Entry& entry)>;

  Cluster(const ClusterOptions& options, EventLoop* loop, Network* network, Prng* prng, Trace* trace,
          RaftChecker* checker);

  // Builds the nodes and starts their clocks.
  void Start();
  void set_on_apply(ApplyFn fn) { on_apply_ = std::move(fn); }

  // The network's delivery callback.
  void Deliver(const raftpb::Message& m);

  // A client request arriving at a node. Fails if the node is down or paused (the request is lost), or Raft drops
  // the proposal.
  absl::Status Propose(uint64_t id, const std::string& data);

  void Crash(uint64_t id) override;
  void Restart(uint64_t id) override;
  void Pause(uint64_t id) override;
  void Resume(uint64_t id) override;
  // The node's clock runs `factor` times as fast as real time (its ticks come every tick_us / factor).
  void SetDrift(uint64_t id, double factor) override;
  // Disk faults: EIO on every write (or sync) while on; a full disk while on; one synced bit flipped (returns what
  // was hit, or "" if the node's disk holds nothing synced there yet).
  void SetDiskError(uint64_t id, bool on_sync, bool on) override;
  void SetDiskFull(uint64_t id, bool on) override;
  std::string FlipBit(uint64_t id, simpb::BitRot::Where where) override;

  int size() const override { return static_cast<int>(nodes_.size()); }
  bool IsUp(uint64_t id) const override { return node(id).raft != nullptr; }
  bool IsPaused(uint64_t id) const override { return node(id).paused; }
  // The node found its data corrupt and refuses to start, for good (an operator must rebuild it).
  bool IsRefused(uint64_t id) const { return node(id).refused; }
  int refusals() const { return refusals_; }
  int disk_deaths() const { return disk_deaths_; }
  // The leader of the highest term among running nodes, or 0.
  uint64_t Leader() const override;
  // What a node believes about the leader (0 if down or unknown).
  uint64_t LeaderHint(uint64_t id) const;
  const raft::RawNode* raft(uint64_t id) const { return node(id).raft.get(); }
  // The node's state machine (empty while it is down) and the index it has applied.
  const Replica& replica(uint64_t id) const { return node(id).replica; }
  uint64_t applied_index(uint64_t id) const { return node(id).replica.applied_index(); }
  uint64_t CommitIndex(uint64_t id) const;
  int crashes() const { return crashes_; }
  int snapshots_taken() const { return snapshots_taken_; }
  int snapshots_installed() const { return snapshots_installed_; }

 private:
  struct Node {
    uint64_t id = 0;
    NodeDisk disk;                          // survives crashes: the WAL and snapshots live here
    raft::MemoryStorage storage;            // Raft's view of the durable log, rebuilt from the WAL at every start
    bool refused = false;                   // its WAL is corrupt: it will not start again
    std::unique_ptr<raft::RawNode> raft;    // null while crashed
    uint64_t incarnation = 0;               // bumped by every crash: events of an earlier life are ignored
    bool paused = false;
    double drift = 1.0;
    bool ready_in_flight = false;           // a Ready was taken and waits for its sync
    std::deque<raftpb::Message> inbox;      // messages that arrived while paused
    std::shared_ptr<raft::Ready> synced_while_paused;  // a Ready whose sync finished during a pause
    Replica replica;                        // the state machine: volatile, rebuilt at every start
    raft::SoftState last_soft;
    uint64_t last_term = 0;
  };

  Node& node(uint64_t id);
  const Node& node(uint64_t id) const;
  // Opens (or, the first time, creates) the node's WAL and builds its Raft from it. Returns false if the node
  // cannot start: it stays down (for good if its data is corrupt).
  bool Build(Node& n);
  // The node loses power: its process and every unsynced write (as the crash-loss mode says).
  void PowerOff(Node& n);
  // A disk write or sync failed: the node dies (an fsync is never retried) and its supervisor restarts it later.
  void DieOfDiskError(Node& n, const absl::Status& error);
  void ScheduleTick(uint64_t id, int64_t delay_us);
  void OnTick(uint64_t id, uint64_t incarnation);
  void StepMessage(Node& n, const raftpb::Message& m);
  // Takes and handles Readies until none is left or one waits for its sync.
  void Pump(Node& n);
  void FinishReady(uint64_t id, uint64_t incarnation, raft::Ready rd);
  void CompleteReady(Node& n, raft::Ready rd);
  void Observe(Node& n);
  void SendAll(const std::vector<raftpb::Message>& msgs);
  // Snapshots the node's state machine at its applied index, then compacts its log and removes old WAL segments
  // and snapshot files.
  void TakeSnapshot(Node& n);
  // The transport's view of a MSG_SNAP: delivered (success) or timed out (failure), told to the sender.
  void ReportSnapshot(uint64_t from, uint64_t incarnation, uint64_t to, bool failed);

  ClusterOptions options_;
  EventLoop* loop_;
  Network* network_;
  Prng* prng_;
  Trace* trace_;
  RaftChecker* checker_;
  SnapshotSends snapshot_sends_;  // after options_, loop_ and trace_: it is built from them
  ApplyFn on_apply_;
  std::vector<std::unique_ptr<Node>> nodes_;  // index id - 1
  int crashes_ = 0;
  int snapshots_taken_ = 0;
  int snapshots_installed_ = 0;
  // Snapshot sends on their way: (from, to, snapshot index) -> the sender's incarnation when it sent.
  int refusals_ = 0;
  int disk_deaths_ = 0;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_CLUSTER_H_
