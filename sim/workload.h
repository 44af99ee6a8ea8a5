// Workload: simulated clients that propose values and wait for them to commit, as etcd clients do: a request goes to
// the node the client believes leads; it is acknowledged when that node applies it; a dropped proposal or a timeout
// makes the client retry the same value through whichever node it now believes leads (so a value may be committed
// more than once: the replicated-log state machine keeps the first). It records which values were acknowledged, so
// the end-of-run check can demand that every one of them is in every replica (Cluster::replica). It never looks inside
// Raft beyond the
// leader hint a real client would get from a node's reply.
#ifndef DETCD_SIM_WORKLOAD_H_
#define DETCD_SIM_WORKLOAD_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/prng.h"
#include "sim/cluster.h"
#include "sim/event_loop.h"
#include "sim/trace.h"

namespace detcd::sim {

struct WorkloadOptions {
  double proposals_per_sec = 100;
  int clients = 4;
  int64_t request_timeout_us = 1'000'000;
  int value_bytes = 64;
  int64_t client_latency_min_us = 50;   // client <-> node, one way
  int64_t client_latency_max_us = 500;
};

struct WorkloadStats {
  uint64_t issued = 0;      // distinct values proposed
  uint64_t attempts = 0;    // proposals sent, retries included
  uint64_t acknowledged = 0;
  uint64_t retries = 0;
};

class Workload {
 public:
  Workload(const WorkloadOptions& options, Cluster* cluster, EventLoop* loop, Prng* prng, Trace* trace);

  // Starts issuing values now; stops issuing new ones at stop_issuing_us (pending ones keep retrying).
  void Start(int64_t stop_issuing_us);
  // Called by the cluster for every entry a node applies.
  void OnApply(uint64_t node, const raftpb::Entry& entry);

  // Values proposed but not yet acknowledged.
  size_t pending() const { return pending_.size(); }
  std::vector<std::string> PendingValues() const;
  const std::vector<std::string>& acknowledged() const { return acknowledged_; }
  const WorkloadStats& stats() const { return stats_; }

 private:
  struct Request {
    std::string value;
    int client = 0;
    uint64_t attempt = 0;           // bumped per retry: timeouts of earlier attempts are ignored
    std::set<uint64_t> sent_to;     // nodes that accepted the proposal at some attempt
  };

  void ScheduleNextArrival();
  void Issue();
  void SendAttempt(const std::string& value, uint64_t target);
  void Retry(const std::string& value, int64_t delay_us);
  uint64_t PickTarget(int client);
  int64_t ClientLatency();

  WorkloadOptions options_;
  Cluster* cluster_;
  EventLoop* loop_;
  Prng* prng_;
  Trace* trace_;
  int64_t stop_issuing_us_ = 0;
  uint64_t next_seq_ = 1;
  std::vector<bool> client_busy_;
  std::vector<uint64_t> client_leader_hint_;
  std::map<std::string, Request> pending_;
  std::vector<std::string> acknowledged_;
  WorkloadStats stats_;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORKLOAD_H_
