#include "sim/scenarios/fault_schedule_gen.h"

#include "sim/scenarios/scenario.h"

namespace detcd::sim {

rc::Gen<std::vector<GenFault>> GenSchedule(int nodes, int duration_ms) {
  // Every fault ends before the fault phase does, as scenario validation demands.
  const int last_start_ms = duration_ms * 3 / 4;
  const int max_length_ms = duration_ms / 4;
  rc::Gen<GenFault> fault = rc::gen::apply(
      [](int at, int length, int kind, int node, int other) {
        GenFault f;
        f.at_ms = at;
        f.duration_ms = length;
        f.kind = kind;
        f.node = node;
        f.other = other;
        return f;
      },
      rc::gen::inRange(0, last_start_ms), rc::gen::inRange(50, max_length_ms), rc::gen::inRange(0, kGenKinds),
      rc::gen::inRange(1, nodes + 1), rc::gen::inRange(1, nodes + 1));
  return rc::gen::container<std::vector<GenFault>>(fault);
}

std::vector<simpb::Fault> ToFaults(const std::vector<GenFault>& schedule, int nodes) {
  std::vector<simpb::Fault> out;
  for (const GenFault& g : schedule) {
    simpb::Fault f;
    f.set_at_ms(g.at_ms);
    f.set_duration_ms(g.duration_ms);
    const int other = g.other == g.node ? g.node % nodes + 1 : g.other;
    switch (static_cast<GenKind>(g.kind)) {
      case GenKind::kIsolate:
        f.mutable_isolate()->mutable_target()->set_node(g.node);
        break;
      case GenKind::kCrash:
        f.set_duration_ms(0);  // a crash lasts until its restart
        f.mutable_crash()->mutable_target()->set_node(g.node);
        f.mutable_crash()->set_restart_after_ms(g.duration_ms);
        break;
      case GenKind::kPause:
        f.mutable_pause()->mutable_target()->set_node(g.node);
        break;
      case GenKind::kAsymmetric:
        f.mutable_asymmetric()->mutable_from()->set_node(g.node);
        f.mutable_asymmetric()->mutable_to()->set_node(other);
        break;
      case GenKind::kPartition: {
        // The nodes up to g.node on one side, the rest on the other.
        simpb::Group* a = f.mutable_partition()->add_groups();
        simpb::Group* b = f.mutable_partition()->add_groups();
        for (int i = 1; i <= nodes; ++i) (i <= g.node ? a : b)->add_nodes(i);
        if (b->nodes_size() == 0) f.mutable_partition()->mutable_groups()->RemoveLast();
        break;
      }
      case GenKind::kClockDrift:
        f.mutable_clock_drift()->mutable_target()->set_node(g.node);
        f.mutable_clock_drift()->set_factor(g.other % 2 == 0 ? 0.5 : 3.0);
        break;
      case GenKind::kClog:
        f.mutable_clog()->mutable_from()->set_node(g.node);
        f.mutable_clog()->mutable_to()->set_node(other);
        break;
      case GenKind::kDiskError:
        f.mutable_disk_error()->mutable_target()->set_node(g.node);
        f.mutable_disk_error()->set_on_sync(g.other % 2 == 0);
        break;
      case GenKind::kDiskFull:
        f.mutable_disk_full()->mutable_target()->set_node(g.node);
        break;
    }
    out.push_back(f);
  }
  return out;
}

simpb::Scenario ScheduleScenario(const simpb::Scenario& base, const std::vector<simpb::Fault>& faults) {
  return ScriptedScenario(base, faults);
}

}  // namespace detcd::sim
