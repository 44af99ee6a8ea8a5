// Scenario: loading, validating and printing simulator scenario files (api/scenario.proto in protobuf text format),
// and the effective settings with every default filled in (swarm.h turns swarm settings into faults). Errors name the
// file, the line and column when known, the field and the reason, because a scenario author reads them. It never
// runs anything and draws no randomness.
#ifndef DETCD_SIM_SCENARIOS_SCENARIO_H_
#define DETCD_SIM_SCENARIOS_SCENARIO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/scenario.pb.h"
#include "sim/world/network.h"

namespace detcd::sim {

inline constexpr int kMaxNodes = 7;

struct RaftSettings {
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t max_inflight_msgs = 256;
  uint64_t max_size_per_msg_bytes = 1 << 20;
};

struct WorkloadSettings {
  double proposals_per_sec = 100;
  int clients = 4;
  int64_t request_timeout_ms = 1'000;
  int value_bytes = 64;
};

struct DiskSettings {
  int64_t sync_latency_min_us = 100;
  int64_t sync_latency_max_us = 2'000;
  simpb::CrashLoss crash_loss = simpb::CRASH_LOSS_UNSPECIFIED;  // unspecified: the seed picks at each crash
  uint64_t wal_segment_bytes = 64 * 1024;
  uint64_t snapshot_count = 1'000;
  uint64_t snapshot_catch_up_entries = 100;
  uint64_t snapshot_piece_bytes = 1024;
};

struct SwarmSettings {
  bool enabled = false;
  bool draw_only = false;  // drawn (the seed's randomness stays as it was) but not injected
  int64_t mean_interval_ms = 0;
  int max_concurrent = 2;
  // Allowed kinds in enum order, no duplicates; all kinds if the file lists none.
  std::vector<simpb::FaultKind> kinds;
  int64_t min_fault_duration_ms = 200;
  int64_t max_fault_duration_ms = 0;  // default duration_ms / 4 (at least min_fault_duration_ms)
  // The scenario's operator changes the membership (kv.membership), and adds learners (learner_fraction > 0): kinds
  // that need them (SNAPSHOT_DURING_CONF_CHANGE, LEADER_WITH_LEARNERS) are drawn only then.
  bool membership_changes = false;
  bool learners = false;
};

// A validated scenario with every default applied.
struct ScenarioConfig {
  simpb::Scenario proto;  // as written in the file (defaults not applied)
  std::string path;       // where it was loaded from (the filename given to ParseScenarioText)
  std::string name;
  std::string description;
  int nodes = 3;
  int64_t duration_ms = 0;
  int64_t liveness_bound_ms = 0;
  int64_t tick_ms = 10;
  RaftSettings raft;
  WorkloadSettings workload;
  NetworkOptions network;
  DiskSettings disk;
  std::vector<simpb::Fault> faults;  // scripted, in file order
  SwarmSettings swarm;
};

// Reads, parses and validates a scenario file. Errors: "cannot read scenario file '<path>': <strerror>",
// "<path>:<line>:<col>: <parser message>", or "<path>:<line>:<col>: <field.path>: <reason>" (one per line when
// there are several; line and column are 1-based and omitted when the field has no position in the file).
absl::StatusOr<ScenarioConfig> LoadScenarioFile(const std::string& path);
// The same, from text; filename is used in messages and as the default name.
absl::StatusOr<ScenarioConfig> ParseScenarioText(absl::string_view text, const std::string& filename);
// Validates an in-memory scenario (e.g. a shrunk one) and applies the defaults; errors carry no line numbers.
absl::StatusOr<ScenarioConfig> ScenarioConfigFromProto(const simpb::Scenario& scenario, const std::string& filename);

// Text format of a scenario, loadable by ParseScenarioText. header, if not empty, is emitted first as "# " comment
// lines (e.g. the seed and command that produced a shrunk schedule).
std::string ScenarioToText(const simpb::Scenario& scenario, absl::string_view header = "");
// base with its faults replaced by `faults` and swarm turned off: a scenario that replays a concrete fault
// schedule (a swarm's draw, or a shrunk one) without depending on the seed's fault choices.
simpb::Scenario ScriptedScenario(const simpb::Scenario& base, const std::vector<simpb::Fault>& faults);

// LaggingFollower.delay_ms when the file leaves it unset.
inline constexpr int64_t kDefaultLagMs = 300;

// One line for traces and reports, e.g. "at 1.500s for 3.000s: isolate leader".
std::string FaultSummary(const simpb::Fault& fault);
std::string TargetSummary(const simpb::Target& target);

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_SCENARIO_H_
