// Runner: one simulation run of a scenario under one seed. It builds the world (event loop, network, etcd members
// on the member host, clients, checkers) from the scenario, runs the fault phase, heals everything, and runs the
// liveness phase: the cluster must then elect a leader, finish every request in flight and bring every member to the
// same state within the scenario's bound. At the end every acknowledged write must be in every member. Same scenario
// + same seed => the same events in the same order, and the same trace hash. It reads no clock and does no IO except
// writing the readable trace where it is told to.
#ifndef DETCD_SIM_SCENARIOS_RUNNER_H_
#define DETCD_SIM_SCENARIOS_RUNNER_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "history/history.h"
#include "kv/node_core.h"
#include "raft/raft.h"
#include "sim/scenarios/scenario.h"
#include "sim/scenarios/timeline.h"
#include "sim/world/cluster_options.h"

namespace detcd::sim {

enum class Outcome { kPass = 0, kSafety = 1, kLiveness = 2 };
const char* OutcomeName(Outcome o);

struct RunOptions {
  uint64_t seed = 1;
  std::ostream* trace_out = nullptr;  // readable trace, if wanted
  raft::TestingKnobs testing;         // deliberately broken Raft, for tests of the checkers only
  kv::KvTestingKnobs kv_testing;      // deliberately broken etcd members, likewise
  bool kv_ack_before_sync = false;    // members acknowledge writes before their sync, likewise
  bool no_corruption_check = false;   // the leader's corruption check never runs (its checker's own test)
  bool wal_corrupt_tail_is_torn = false;  // WAL recovery cuts a bad checksum at the tail as a torn write, likewise
  Timeline* timeline = nullptr;       // filled with the run's picture (detcd-sim --html), if wanted
};

struct RunResult {
  Outcome outcome = Outcome::kPass;
  std::string checker;  // which check failed (empty on pass)
  std::string detail;
  int64_t failure_time_us = 0;
  std::string trace_hash;
  int64_t simulated_us = 0;
  uint64_t committed_index = 0;
  size_t terms_with_leader = 0;
  int faults = 0;
  int crashes = 0;
  std::vector<simpb::Fault> schedule;  // the faults scheduled (scripted and swarm), by start time
  int refusals = 0;                    // nodes that found their data corrupt and would not start
  int snapshots_taken = 0;             // by nodes of their own state machines (log compaction)
  int snapshots_installed = 0;         // sent by a leader and restored by a follower
  uint64_t messages_sent = 0;
  uint64_t events = 0;
  // The scenario has a kv workload (else its clients were register writers).
  bool kv = false;
  history::History history;  // the register clients' operations, for detcd-check
  uint64_t kv_requests = 0;  // client requests sent (a Raft scenario's: puts)
  uint64_t kv_ok = 0;        // ... acknowledged
  uint64_t acked_puts = 0;   // puts acknowledged: each must be in every member at the end
  uint64_t kv_unknown = 0;
  uint64_t watch_events = 0;
  uint64_t watch_reconnects = 0;
  int64_t final_revision = 0;
  size_t linearizability_undecided = 0;
  uint64_t leases_granted = 0;
  uint64_t leases_revoked = 0;  // keys the checker gave up on (too many operations of unknown outcome)
  // Membership changes (kv.membership): what the operator did, and removed members that stopped by themselves once
  // they applied their removal.
  uint64_t members_added = 0;
  uint64_t members_removed = 0;
  uint64_t members_promoted = 0;
  uint64_t leaders_removed = 0;
  int removed_members_stopped = 0;
  // Auth (kv.auth): the clients' operations answered OK, "permission denied" and "revision of auth store is old",
  // those the auth checker checked against their admission revision and against their entry, and the auth changes
  // the log held.
  uint64_t auth_ok = 0;
  uint64_t auth_denied = 0;
  uint64_t auth_old_revision = 0;
  uint64_t auth_ops_checked = 0;
  uint64_t auth_writes_matched = 0;
  uint64_t auth_changes = 0;
};

// The simulated cluster's settings from a scenario.
ClusterOptions ClusterOptionsFor(const ScenarioConfig& scenario, const RunOptions& options);

// Runs the scenario on etcd members: with its kv workload, or register writers if it has none.
RunResult RunScenario(const ScenarioConfig& scenario, const RunOptions& options);

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_RUNNER_H_
