#include "sim/runner.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/prng.h"
#include "sim/cluster.h"
#include "sim/event_loop.h"
#include "sim/fault_injector.h"
#include "sim/network.h"
#include "sim/raft_checker.h"
#include "sim/swarm.h"
#include "sim/trace.h"

namespace detcd::sim {

namespace {

// How often the runner looks at the checkers and the liveness condition (virtual time).
constexpr int64_t kCheckIntervalUs = 50'000;

}  // namespace

ClusterOptions ClusterOptionsFor(const ScenarioConfig& sc, const RunOptions& opt) {
  ClusterOptions c;
  c.nodes = sc.nodes;
  c.tick_us = sc.tick_ms * 1000;
  c.election_ticks = sc.raft.election_ticks;
  c.heartbeat_ticks = sc.raft.heartbeat_ticks;
  c.pre_vote = sc.raft.pre_vote;
  c.check_quorum = sc.raft.check_quorum;
  c.max_inflight_msgs = sc.raft.max_inflight_msgs;
  c.max_size_per_msg_bytes = sc.raft.max_size_per_msg_bytes;
  c.sync_latency_min_us = sc.disk.sync_latency_min_us;
  c.sync_latency_max_us = sc.disk.sync_latency_max_us;
  c.crash_loss = sc.disk.crash_loss;
  c.wal_segment_bytes = sc.disk.wal_segment_bytes;
  c.snapshot_count = sc.disk.snapshot_count;
  c.snapshot_catch_up_entries = sc.disk.snapshot_catch_up_entries;
  c.testing = opt.testing;
  return c;
}

namespace {

WorkloadOptions WorkloadOptionsFor(const ScenarioConfig& sc) {
  WorkloadOptions w;
  w.proposals_per_sec = sc.workload.proposals_per_sec;
  w.clients = sc.workload.clients;
  w.request_timeout_us = sc.workload.request_timeout_ms * 1000;
  w.value_bytes = sc.workload.value_bytes;
  return w;
}

// Why the cluster has not converged yet, or "" if it has.
std::string NotConverged(const Cluster& cluster, const Workload& workload) {
  const uint64_t leader = cluster.Leader();
  if (leader == 0) return "no leader";
  if (workload.pending() > 0) {
    return absl::StrCat(workload.pending(), " proposals still pending (first: ", workload.PendingValues()[0], ")");
  }
  const uint64_t commit = cluster.CommitIndex(leader);
  for (uint64_t id = 1; id <= static_cast<uint64_t>(cluster.size()); ++id) {
    if (cluster.IsRefused(id)) continue;  // its data is corrupt: it stays out, the others carry on
    if (cluster.CommitIndex(id) != commit || cluster.applied_index(id) != commit) {
      return absl::StrCat("node ", id, " has commit ", cluster.CommitIndex(id), " applied ",
                          cluster.applied_index(id), " while leader ", leader, " has commit ", commit);
    }
  }
  return "";
}

}  // namespace

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPass:
      return "pass";
    case Outcome::kSafety:
      return "safety violation";
    case Outcome::kLiveness:
      return "liveness failure";
  }
  return "?";
}

RunResult RunScenario(const ScenarioConfig& sc, const RunOptions& opt) {
  if (sc.proto.has_kv()) return RunKvScenario(sc, opt);
  EventLoop loop;
  Prng prng(opt.seed);
  Trace trace;
  trace.set_output(opt.trace_out);
  RaftChecker checker;
  Network network(sc.network, sc.nodes, &loop, &prng, &trace);
  Cluster cluster(ClusterOptionsFor(sc, opt), &loop, &network, &prng, &trace, &checker);
  network.set_deliver([&cluster](const raftpb::Message& m) { cluster.Deliver(m); });
  Workload workload(WorkloadOptionsFor(sc), &cluster, &loop, &prng, &trace);
  cluster.set_on_apply([&workload](uint64_t node, const raftpb::Entry& e) { workload.OnApply(node, e); });
  FaultInjector faults(&cluster, &network, &loop, &prng, &trace);

  trace.Record(0, absl::StrCat("scenario ", sc.name, " seed ", opt.seed, " nodes ", sc.nodes));
  const int64_t phase_end_us = sc.duration_ms * 1000;
  const int64_t deadline_us = phase_end_us + sc.liveness_bound_ms * 1000;
  for (const simpb::Fault& f : FaultSchedule(sc, &prng)) faults.Schedule(f, phase_end_us);
  cluster.Start();
  workload.Start(phase_end_us);

  RunResult result;
  auto finish = [&](Outcome outcome, std::string check, std::string detail, int64_t at_us) {
    result.outcome = outcome;
    result.checker = std::move(check);
    result.detail = std::move(detail);
    result.failure_time_us = at_us;
  };

  // Fault phase: safety is checked all along.
  while (loop.Now() < phase_end_us && checker.ok()) loop.RunUntil(std::min(loop.Now() + kCheckIntervalUs, phase_end_us));

  // Liveness phase.
  if (checker.ok()) {
    faults.HealAll();
    std::string why = NotConverged(cluster, workload);
    while (!why.empty() && loop.Now() < deadline_us && checker.ok()) {
      loop.RunUntil(std::min(loop.Now() + kCheckIntervalUs, deadline_us));
      why = NotConverged(cluster, workload);
    }
    if (checker.ok() && !why.empty()) {
      finish(Outcome::kLiveness, "liveness",
             absl::StrCat("not converged ", sc.liveness_bound_ms, " ms after the heal: ", why), loop.Now());
    }
  }
  if (!checker.ok()) {
    const Violation& v = *checker.violation();
    finish(Outcome::kSafety, v.checker, v.detail, v.time_us);
  }

  // End of run: every acknowledged write is in every replica, and the replicas agree.
  if (result.outcome == Outcome::kPass) {
    uint64_t reference = 0;  // the first node that still serves
    for (uint64_t id = 1; id <= static_cast<uint64_t>(sc.nodes) && result.outcome == Outcome::kPass; ++id) {
      if (cluster.IsRefused(id)) continue;
      if (reference == 0) reference = id;
      const Replica& replica = cluster.replica(id);
      for (const std::string& acked : workload.acknowledged()) {
        if (!replica.Holds(acked)) {
          finish(Outcome::kSafety, "acknowledged-write-lost",
                 absl::StrCat("write ", acked, " was acknowledged but node ", id, " does not hold it"), loop.Now());
          break;
        }
      }
      if (result.outcome == Outcome::kPass && replica.ids() != cluster.replica(reference).ids()) {
        finish(Outcome::kSafety, "replicas-equal",
               absl::StrCat("node ", id, "'s state machine differs from node ", reference, "'s after convergence"),
               loop.Now());
      }
    }
  }

  trace.Record(loop.Now(), absl::StrCat("end: ", OutcomeName(result.outcome), " ", result.checker));
  result.trace_hash = trace.HashHex();
  result.simulated_us = loop.Now();
  result.workload = workload.stats();
  result.committed_index = checker.committed_index();
  result.terms_with_leader = checker.leaders_seen();
  result.faults = faults.faults_begun();
  result.crashes = cluster.crashes();
  result.refusals = cluster.refusals();
  result.snapshots_taken = cluster.snapshots_taken();
  result.snapshots_installed = cluster.snapshots_installed();
  result.messages_sent = network.stats().sent;
  result.events = loop.events_run();
  result.acknowledged = workload.acknowledged();
  return result;
}

}  // namespace detcd::sim
