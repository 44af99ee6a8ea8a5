// MemoryCluster: a minimal synchronous driver for unit tests and benchmarks — N RawNodes over MemoryStorage, a
// message queue delivered in FIFO order, and optional cuts between nodes. It follows the Ready contract exactly
// (persist, then send, then apply, then Advance) with no latency and no faults beyond dropped links. Its state machine
// is the list of applied data, which it can snapshot (Compact) and restore from a leader's snapshot. The simulator
// (sim/) is the driver with time and faults; this one exists so raft/ tests need nothing outside raft/.
#ifndef DETCD_RAFT_RAFTTEST_MEMORY_CLUSTER_H_
#define DETCD_RAFT_RAFTTEST_MEMORY_CLUSTER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "raft/raw_node.h"
#include "raft/storage.h"

namespace detcd::raft::rafttest {

class MemoryCluster {
 public:
  // Nodes 1..n, all voters. configure may adjust each node's Config before it is built.
  explicit MemoryCluster(int n, std::function<void(Config*)> configure = nullptr);
  MemoryCluster(MemoryCluster&&) = default;
  MemoryCluster& operator=(MemoryCluster&&) = default;

  RawNode& node(uint64_t id) { return *nodes_.at(id); }
  MemoryStorage& storage(uint64_t id) { return *storages_.at(id); }
  const std::vector<std::string>& applied(uint64_t id) const { return applied_.at(id); }
  std::vector<uint64_t> ids() const;

  // Processes Readies and delivers messages until nothing is left to do. Returns the number of messages delivered.
  size_t Stabilize();
  // Handles one node's Ready (if any): persist, queue messages, apply, advance.
  bool ProcessReady(uint64_t id);
  void Tick(uint64_t id, int times = 1);
  // Elects `id` by campaigning and stabilizing. Returns true if it became leader.
  bool Elect(uint64_t id);
  uint64_t Leader() const;

  void Cut(uint64_t a, uint64_t b);  // both directions
  void Isolate(uint64_t id);
  void Heal() { cut_.clear(); }
  // Drops every queued message, e.g. to model loss.
  void DropQueued() { queue_.clear(); }

  // Starts node `id` with an empty log, as a member joining an existing cluster does. Like every node it starts from
  // the founding configuration (the one at index 0) and learns the rest by applying the log the leader sends it.
  void Join(uint64_t id);

  // Loses the node's volatile state (anything not persisted stays lost) and rebuilds it from its storage.
  void Restart(uint64_t id);

  // Log compaction as a driver does it: snapshots the node's state machine at its applied index, then drops the
  // entries before `keep_entries` entries back from there. Returns the snapshot's index.
  uint64_t Compact(uint64_t id, uint64_t keep_entries = 0);
  // Snapshots delivered (MSG_SNAP messages that reached their node).
  int snapshots_delivered() const { return snapshots_delivered_; }

 private:
  void Build(uint64_t id);
  std::function<void(Config*)> configure_;
  int snapshots_delivered_ = 0;
  int n_;
  std::map<uint64_t, std::unique_ptr<MemoryStorage>> storages_;
  std::map<uint64_t, std::unique_ptr<RawNode>> nodes_;
  std::map<uint64_t, std::vector<std::string>> applied_;
  std::deque<raftpb::Message> queue_;
  std::set<std::pair<uint64_t, uint64_t>> cut_;
};

}  // namespace detcd::raft::rafttest

#endif  // DETCD_RAFT_RAFTTEST_MEMORY_CLUSTER_H_
