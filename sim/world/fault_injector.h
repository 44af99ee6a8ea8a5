// FaultInjector: turns a scenario's fault schedule into actions on the simulated cluster and network at their virtual
// times — resolving "the leader" or "a random follower" at the moment a fault begins, and undoing each fault when its
// duration ends. HealAll() ends every fault at once (the end of the fault phase): links heal, disks work again,
// crashed nodes restart, paused nodes resume, clocks run true (a flipped bit stays flipped); faults scheduled for
// later are ignored from then on. Every choice it makes comes from the simulation's Prng.
#ifndef DETCD_SIM_WORLD_FAULT_INJECTOR_H_
#define DETCD_SIM_WORLD_FAULT_INJECTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "api/scenario.pb.h"
#include "base/prng.h"
#include "sim/world/event_loop.h"
#include "sim/world/fault_target.h"
#include "sim/world/network.h"
#include "sim/world/trace.h"

namespace detcd::sim {

class FaultInjector {
 public:
  FaultInjector(FaultTarget* cluster, Network* network, EventLoop* loop, Prng* prng, Trace* trace);

  // Schedules a fault at its at_ms; phase_end_us bounds faults that last "until the heal".
  void Schedule(const simpb::Fault& fault, int64_t phase_end_us);
  void HealAll();
  int faults_begun() const { return faults_begun_; }

 private:
  void Begin(const simpb::Fault& fault, int64_t phase_end_us);
  // Runs undo after the fault's duration, unless everything has healed by then.
  void AfterDuration(const simpb::Fault& fault, std::function<void()> undo);
  uint64_t Resolve(const simpb::Target& target);
  uint64_t ResolveOther(const simpb::Target& target, uint64_t not_this);
  // SnapshotDuringConfChange: checks every kRejoinPollUs whether node `id` can now catch up only by a snapshot of a
  // newer configuration, and then calls rejoin (once: `over` says it happened, here or at the fault's end).
  void RejoinWhenSnapshotNeeded(uint64_t id, std::shared_ptr<bool> over, std::function<void(const char*)> rejoin);

  static constexpr int64_t kRejoinPollUs = 10'000;

  FaultTarget* cluster_;
  Network* network_;
  EventLoop* loop_;
  Prng* prng_;
  Trace* trace_;
  bool healed_ = false;
  uint64_t rot_node_ = 0;  // the one node bit-rot faults hit (0 until the first)
  int faults_begun_ = 0;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORLD_FAULT_INJECTOR_H_
