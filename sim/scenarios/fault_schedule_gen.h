// Fault schedules as generated values for property tests (RapidCheck): a schedule is a list of small fault records
// whose fields shrink toward "earlier, shorter, node 1" and whose list shrinks by dropping faults, so a failing
// schedule shrinks to a minimal one. ToFaults turns records into scenario faults; ScheduleScenario puts them into a
// scripted scenario that can be printed and replayed. Test-only.
#ifndef DETCD_SIM_SCENARIOS_FAULT_SCHEDULE_GEN_H_
#define DETCD_SIM_SCENARIOS_FAULT_SCHEDULE_GEN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "api/scenario.pb.h"
#include "rapidcheck.h"

namespace detcd::sim {

enum class GenKind { kIsolate, kCrash, kPause, kAsymmetric, kPartition, kClockDrift, kClog, kDiskError, kDiskFull };
constexpr int kGenKinds = 9;

struct GenFault {
  int at_ms = 0;
  int duration_ms = 0;
  int kind = 0;   // GenKind
  int node = 1;   // 1..nodes
  int other = 1;  // a second node (asymmetric, clog), the drift direction, or write vs sync errors
};

// Generates schedules for a cluster of `nodes` over `duration_ms`.
rc::Gen<std::vector<GenFault>> GenSchedule(int nodes, int duration_ms);

std::vector<simpb::Fault> ToFaults(const std::vector<GenFault>& schedule, int nodes);

// base with exactly these faults and no swarm.
simpb::Scenario ScheduleScenario(const simpb::Scenario& base, const std::vector<simpb::Fault>& faults);

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_FAULT_SCHEDULE_GEN_H_
