// Network: the simulated network between nodes 1..N carrying Raft messages. For each message it decides — with draws
// from the simulator's one seeded Prng, in a fixed order — whether it is dropped, duplicated, delayed or reordered,
// and schedules its delivery on the EventLoop through a callback the cluster harness supplies. It also models link
// faults: isolation, partitions, one-way blocks, bridges, clogs and slow log replication to one node, each undoable on
// its own or all at once by Heal(). A message's from and to are Raft ids; a Raft id is its host's number unless the
// harness says which host each id runs on (members added to a running cluster get ids that are not host numbers): link
// faults are between hosts. It owns no nodes and never looks at whether a node is up or paused (that is the harness's
// concern), never reads a clock, and never draws randomness from anywhere but the Prng it is given.
#ifndef DETCD_SIM_WORLD_NETWORK_H_
#define DETCD_SIM_WORLD_NETWORK_H_

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/raft.pb.h"
#include "base/prng.h"
#include "sim/world/event_loop.h"
#include "sim/world/trace.h"

namespace detcd::sim {

enum class LatencyDistribution {
  // Uniform in [latency_min_us, latency_max_us].
  kUniform,
  // latency_min_us plus an exponential tail with mean (latency_mean_us - latency_min_us), capped at latency_max_us:
  // most messages are fast, a few are very slow — closer to real networks than uniform.
  kExponential,
};

struct NetworkOptions {
  TimeUs latency_min_us = 200;
  TimeUs latency_max_us = 2'000;
  LatencyDistribution distribution = LatencyDistribution::kUniform;
  // Exponential only: the mean one-way latency; 0 means latency_min_us + (latency_max_us - latency_min_us) / 5.
  TimeUs latency_mean_us = 0;
  double drop_probability = 0;
  double duplicate_probability = 0;
  // Random latency already reorders messages; with this probability a message is also held back by an extra
  // delay drawn uniformly from [1, reorder_delay_max_us], so it overtakes nothing but is overtaken by much.
  double reorder_probability = 0;
  // 0 means 5 * latency_max_us.
  TimeUs reorder_delay_max_us = 0;
};

struct NetworkStats {
  uint64_t sent = 0;               // Send() calls
  uint64_t delivered = 0;          // deliveries handed to the callback (duplicates included)
  uint64_t dropped_random = 0;     // lost to drop_probability
  uint64_t dropped_blocked = 0;    // sent on a blocked link
  uint64_t dropped_in_flight = 0;  // the link was cut while the message travelled
  uint64_t duplicated = 0;         // extra copies made
  uint64_t reordered = 0;          // copies given the extra reorder delay
  uint64_t clogged = 0;            // copies held back by a clog
  uint64_t dropped_unroutable = 0;  // sent from or to an id that runs on no host

  uint64_t dropped() const { return dropped_random + dropped_blocked + dropped_in_flight + dropped_unroutable; }
};

class Network {
 public:
  // A delivery hands over the message itself, shared with its duplicates (no copy for whoever keeps it).
  using DeliverFn = std::function<void(std::shared_ptr<const raftpb::Message>)>;
  // The host (1..nodes) a Raft id runs on, or 0 if none.
  using HostFn = std::function<uint64_t(uint64_t id)>;
  // Identifies one fault for Remove; never 0.
  using FaultId = uint64_t;

  // Nodes are 1..nodes. prng and loop must outlive the network; trace may be null (no trace lines).
  Network(const NetworkOptions& options, int nodes, EventLoop* loop, Prng* prng, Trace* trace,
          DeliverFn deliver = nullptr);
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // The harness usually builds the network before the nodes that receive its deliveries.
  void set_deliver(DeliverFn deliver) { deliver_ = std::move(deliver); }
  // Without it, a Raft id is its host's number (and any other id is a broken invariant). With it, a message from or
  // to an id that runs on no host is lost.
  void set_host_of(HostFn host_of) { host_of_ = std::move(host_of); }

  // Decides the fate of m and schedules its delivery (or not). Draw order per call, fixed for determinism:
  // drop?, duplicate?, then per copy: latency, reorder?, [reorder delay].
  void Send(raftpb::Message&& m);

  // Link faults. Each returns an id for Remove; overlapping faults compose (a link is blocked while any fault
  // blocks it). Messages already in flight on a link that becomes blocked are dropped when they arrive.
  //
  // node can neither send to nor receive from any other node.
  FaultId Isolate(uint64_t node);
  // Nodes in different groups cannot talk. Nodes named in no group form one more group together, so
  // Partition({{1}}) cuts node 1 from the rest. A node may appear in at most one group.
  FaultId Partition(const std::vector<std::vector<uint64_t>>& groups);
  // from's messages to `to` are lost; the reverse direction still works.
  FaultId BlockOneWay(uint64_t from, uint64_t to);
  // side_a and side_b cannot talk to each other; node (in neither side) still talks to both. Nodes in none of the
  // three are unaffected.
  FaultId Bridge(uint64_t node, const std::vector<uint64_t>& side_a, const std::vector<uint64_t>& side_b);
  // Messages from -> to are held, not lost, until until_us (or until the clog is removed or healed); then they
  // arrive in the order they were sent, no earlier than their drawn latency.
  FaultId Clog(uint64_t from, uint64_t to, TimeUs until_us);
  // Log replication to host `to` (MsgApp and MsgSnap) takes extra_us longer than its drawn latency; every other
  // message (heartbeats, votes, read-index answers) keeps its own: the node learns of commits before it has the
  // entries (a follower lagging behind what it is told was committed). No draws from the Prng.
  FaultId SlowAppends(uint64_t to, TimeUs extra_us);
  // Ends one fault (no-op if it already ended). Ending a clog releases its held messages.
  void Remove(FaultId id);
  // Ends every fault.
  void Heal();

  // True if a message from host `from` to host `to` would be dropped by a link fault now.
  bool Blocked(uint64_t from, uint64_t to) const;
  bool Clogged(uint64_t from, uint64_t to) const;
  // Number of faults currently in effect.
  size_t active_faults() const { return faults_.size(); }

  int nodes() const { return nodes_; }
  const NetworkOptions& options() const { return options_; }
  const NetworkStats& stats() const { return stats_; }
  // Copies scheduled or held but not yet delivered or dropped.
  uint64_t in_flight() const { return in_flight_; }

 private:
  using Link = std::pair<uint64_t, uint64_t>;  // (from, to)
  struct Fault {
    std::string description;
    std::vector<Link> blocked;  // links this fault blocks (each counted once)
    bool is_clog = false;
    Link clog_link{0, 0};
    EventLoop::EventId expiry_event = 0;  // a clog's scheduled end; cancelled if it ends early
    uint64_t slow_to = 0;                 // SlowAppends: the host, and its extra delay
    TimeUs slow_us = 0;
  };
  struct Held {
    std::shared_ptr<const raftpb::Message> message;
    TimeUs arrival_us;  // when it would have arrived without the clog
  };

  void CheckNode(uint64_t id) const {
    if (id < 1 || id > static_cast<uint64_t>(nodes_)) NodeOutOfRange(id);
  }
  [[noreturn]] static void NodeOutOfRange(uint64_t id);
  // The host of a Raft id (0: none).
  uint64_t HostOf(uint64_t id) const;
  FaultId AddBlockFault(std::string description, std::vector<Link> links);
  TimeUs DrawLatency();
  void ScheduleDelivery(std::shared_ptr<const raftpb::Message> m, TimeUs at_us);
  void Deliver(std::shared_ptr<const raftpb::Message> shared);
  void Record(const std::string& line);

  NetworkOptions options_;
  int nodes_;
  EventLoop* loop_;
  Prng* prng_;
  Trace* trace_;
  DeliverFn deliver_;
  HostFn host_of_;
  NetworkStats stats_;
  uint64_t in_flight_ = 0;
  FaultId next_fault_id_ = 1;
  std::map<FaultId, Fault> faults_;  // ordered: Heal ends faults in the order they began
  // [from][to]: how many active faults block / clog the directed link. Index 0 unused.
  std::vector<std::vector<int>> block_count_;
  std::vector<std::vector<int>> clog_count_;
  std::vector<TimeUs> append_delay_us_;  // [to]: extra delay of appends to a host (SlowAppends), summed
  std::map<Link, std::deque<Held>> held_;
  // Messages scheduled for delivery, by the place their event names; free places are reused.
  std::vector<std::shared_ptr<const raftpb::Message>> travelling_;
  std::vector<uint32_t> free_places_;
};

// One line describing a message, for trace lines: "1->2 MsgApp t3 i5/2 c4 n2".
std::string DescribeMessage(const raftpb::Message& m);
// The fields DescribeMessage shows, as fixed-width bytes: what a trace hashes for a message when its line is made
// only if shown (Trace::RecordLazy) — as telling as the line, without formatting numbers or allocating.
using MessageKeyBytes = std::array<char, 80>;
MessageKeyBytes MessageKey(const raftpb::Message& m);

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORLD_NETWORK_H_
