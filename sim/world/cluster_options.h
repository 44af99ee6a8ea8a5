// ClusterOptions: the simulated cluster's shape and timing, from a scenario — Raft's settings, disk latencies and what a
// crash loses, WAL segment and snapshot sizes, the supervisor's restart delay, and test-only Raft breakage. Plain
// data: it decides nothing and draws nothing.
#ifndef DETCD_SIM_WORLD_CLUSTER_OPTIONS_H_
#define DETCD_SIM_WORLD_CLUSTER_OPTIONS_H_

#include <cstddef>
#include <cstdint>

#include "api/scenario.pb.h"
#include "raft/raft.h"

namespace detcd::sim {

struct ClusterOptions {
  int nodes = 3;
  int64_t tick_us = 10'000;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  size_t max_inflight_msgs = 256;
  uint64_t max_size_per_msg_bytes = 1 << 20;
  int64_t sync_latency_min_us = 100;
  int64_t sync_latency_max_us = 2'000;
  // What a power loss does to unsynced writes; unspecified = the seed picks at each crash.
  simpb::CrashLoss crash_loss = simpb::CRASH_LOSS_UNSPECIFIED;
  uint64_t wal_segment_bytes = 64 * 1024;
  // Snapshot the state machine once more than this many entries were applied since the last snapshot (etcd's
  // --snapshot-count); 0: never (the log grows for ever).
  uint64_t snapshot_count = 0;
  // Entries kept in the log behind a snapshot, so slightly slow followers still get entries instead of a snapshot.
  uint64_t snapshot_catch_up_entries = 100;
  // A snapshot send that has not arrived after this long is reported failed to the leader.
  int64_t snapshot_send_timeout_us = 1'000'000;
  // A node that died of a disk error is restarted by its supervisor after this long.
  int64_t supervisor_restart_us = 1'000'000;
  raft::TestingKnobs testing;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORLD_CLUSTER_OPTIONS_H_
