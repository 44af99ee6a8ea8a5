#include "sim/scenarios/swarm.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "base/check.h"

namespace detcd::sim {

namespace {

// Whether a kind can do anything in a cluster of this size (and with this scenario's membership changes).
bool Possible(simpb::FaultKind kind, int nodes, const SwarmSettings& swarm) {
  switch (kind) {
    case simpb::LEADER_WITH_LEARNERS:
      return nodes >= 2 && swarm.learners;
    case simpb::SNAPSHOT_DURING_CONF_CHANGE:
      return nodes >= 2 && swarm.membership_changes;
    case simpb::ISOLATE:
    case simpb::PARTITION:
    case simpb::ASYMMETRIC:
    case simpb::CLOG:
    case simpb::LAGGING_FOLLOWER:
      return nodes >= 2;
    case simpb::BRIDGE:
      return nodes >= 3;
    case simpb::CRASH:
    case simpb::CRASH_AFTER_SEND:
    case simpb::PAUSE:
    case simpb::CLOCK_DRIFT:
    case simpb::DISK_ERROR:
    case simpb::DISK_FULL:
      return nodes >= 1;
    case simpb::BIT_ROT:
    case simpb::WAL_TAIL_CORRUPTION:
      return nodes >= 3;  // the rotten node may never start again: the others must still form a quorum
    default:
      return false;
  }
}

uint64_t RandomNode(int nodes, Prng* prng) { return prng->Range(1, static_cast<uint64_t>(nodes)); }

// Fisher-Yates over 1..nodes with the simulator's Prng (std::shuffle's algorithm is implementation-defined).
std::vector<uint64_t> ShuffledNodes(int nodes, Prng* prng) {
  std::vector<uint64_t> ids;
  for (uint64_t n = 1; n <= static_cast<uint64_t>(nodes); ++n) ids.push_back(n);
  for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[prng->Uniform(i)]);
  return ids;
}

void SetSorted(google::protobuf::RepeatedField<uint64_t>* out, std::vector<uint64_t> ids) {
  std::sort(ids.begin(), ids.end());
  for (uint64_t id : ids) out->Add(id);
}

// Mostly roles (the leader is where faults hurt most), sometimes a fixed node.
void RandomTarget(simpb::Target* target, int nodes, Prng* prng) {
  const uint64_t r = prng->Uniform(10);
  if (r < 4) {
    target->set_select(simpb::Target::LEADER);
  } else if (r < 7 && nodes >= 2) {
    target->set_select(simpb::Target::FOLLOWER);
  } else if (r < 8) {
    target->set_select(simpb::Target::RANDOM);
  } else {
    target->set_node(RandomNode(nodes, prng));
  }
}

// Two targets that resolve to different nodes.
void RandomPair(simpb::Target* from, simpb::Target* to, int nodes, Prng* prng) {
  DETCD_CHECK(nodes >= 2);
  switch (prng->Uniform(3)) {
    case 0:
      from->set_select(simpb::Target::LEADER);
      to->set_select(simpb::Target::FOLLOWER);
      break;
    case 1:
      from->set_select(simpb::Target::FOLLOWER);
      to->set_select(simpb::Target::LEADER);
      break;
    default: {
      const uint64_t a = RandomNode(nodes, prng);
      const uint64_t b = 1 + (a - 1 + prng->Range(1, static_cast<uint64_t>(nodes - 1))) % static_cast<uint64_t>(nodes);
      from->set_node(a);
      to->set_node(b);
      break;
    }
  }
}

// A fault of the given kind starting at at_ms and lasting length_ms (> 0).
simpb::Fault MakeFault(simpb::FaultKind kind, int64_t at_ms, int64_t length_ms, int nodes, Prng* prng) {
  simpb::Fault f;
  f.set_at_ms(at_ms);
  f.set_duration_ms(length_ms);
  switch (kind) {
    case simpb::ISOLATE:
      RandomTarget(f.mutable_isolate()->mutable_target(), nodes, prng);
      break;
    case simpb::PARTITION: {
      const std::vector<uint64_t> ids = ShuffledNodes(nodes, prng);
      // Two sides usually; three now and then when there are enough nodes (no side may then have a quorum).
      std::vector<size_t> cuts;
      if (nodes >= 3 && prng->Chance(0.25)) {
        const size_t first = prng->Range(1, nodes - 2);
        cuts = {first, static_cast<size_t>(prng->Range(first + 1, nodes - 1))};
      } else {
        cuts = {static_cast<size_t>(prng->Range(1, nodes - 1))};
      }
      cuts.push_back(ids.size());
      size_t begin = 0;
      for (size_t end : cuts) {
        SetSorted(f.mutable_partition()->add_groups()->mutable_nodes(),
                  std::vector<uint64_t>(ids.begin() + begin, ids.begin() + end));
        begin = end;
      }
      break;
    }
    case simpb::ASYMMETRIC:
      RandomPair(f.mutable_asymmetric()->mutable_from(), f.mutable_asymmetric()->mutable_to(), nodes, prng);
      break;
    case simpb::BRIDGE: {
      const std::vector<uint64_t> ids = ShuffledNodes(nodes, prng);
      const size_t split = 1 + prng->Range(1, nodes - 2);  // side_a = ids[1, split), side_b = ids[split, n)
      simpb::Bridge* b = f.mutable_bridge();
      b->set_node(ids[0]);
      SetSorted(b->mutable_side_a(), std::vector<uint64_t>(ids.begin() + 1, ids.begin() + split));
      SetSorted(b->mutable_side_b(), std::vector<uint64_t>(ids.begin() + split, ids.end()));
      break;
    }
    case simpb::CLOG:
      RandomPair(f.mutable_clog()->mutable_from(), f.mutable_clog()->mutable_to(), nodes, prng);
      break;
    case simpb::CRASH:
      // A crash's length is its restart delay; Fault.duration_ms is not used by crashes.
      f.set_duration_ms(0);
      RandomTarget(f.mutable_crash()->mutable_target(), nodes, prng);
      f.mutable_crash()->set_restart_after_ms(length_ms);
      break;
    case simpb::CRASH_AFTER_SEND: {
      // Armed for the fault's length; the crash comes with the target's next vote grant or append acknowledgement,
      // and it is down for a tenth of that length (a quick restart, so that what it forgot matters at once).
      static constexpr simpb::CrashAfterSend::Message kMessages[] = {
          simpb::CrashAfterSend::ANY_DURABLE, simpb::CrashAfterSend::VOTE_RESP, simpb::CrashAfterSend::APP_RESP};
      simpb::CrashAfterSend* c = f.mutable_crash_after_send();
      RandomTarget(c->mutable_target(), nodes, prng);
      c->set_message(kMessages[prng->Uniform(3)]);
      c->set_restart_after_ms(std::max<int64_t>(1, length_ms / 10));
      break;
    }
    case simpb::PAUSE:
      RandomTarget(f.mutable_pause()->mutable_target(), nodes, prng);
      break;
    case simpb::CLOCK_DRIFT: {
      // A few exact factors rather than a continuous draw: readable in traces and shrunk scenarios.
      static constexpr double kFactors[] = {0.5, 0.75, 1.5, 2.0};
      RandomTarget(f.mutable_clock_drift()->mutable_target(), nodes, prng);
      f.mutable_clock_drift()->set_factor(kFactors[prng->Uniform(4)]);
      break;
    }
    case simpb::DISK_ERROR:
      RandomTarget(f.mutable_disk_error()->mutable_target(), nodes, prng);
      f.mutable_disk_error()->set_on_sync(prng->Chance(0.5));
      break;
    case simpb::DISK_FULL:
      RandomTarget(f.mutable_disk_full()->mutable_target(), nodes, prng);
      break;
    case simpb::BIT_ROT:
      f.set_duration_ms(0);
      RandomTarget(f.mutable_bit_rot()->mutable_target(), nodes, prng);
      f.mutable_bit_rot()->set_where(simpb::BitRot::ANY);
      break;
    case simpb::LAGGING_FOLLOWER: {
      static constexpr int64_t kLagsMs[] = {100, 300, 1000};
      RandomTarget(f.mutable_lagging_follower()->mutable_target(), nodes, prng);
      f.mutable_lagging_follower()->set_delay_ms(kLagsMs[prng->Uniform(3)]);
      break;
    }
    case simpb::LEADER_WITH_LEARNERS:
      f.mutable_leader_with_learners();
      break;
    case simpb::SNAPSHOT_DURING_CONF_CHANGE:
      // The length bounds the wait for the snapshot; the target rejoins as soon as only such a snapshot can help it.
      f.mutable_snapshot_during_conf_change()->mutable_target()->set_select(simpb::Target::FOLLOWER);
      break;
    case simpb::WAL_TAIL_CORRUPTION:
      f.set_duration_ms(0);
      RandomTarget(f.mutable_wal_tail_corruption()->mutable_target(), nodes, prng);
      f.mutable_wal_tail_corruption()->set_records(static_cast<uint32_t>(prng->Range(1, 3)));
      break;
    default:
      DETCD_CHECK_MSG(false, "unknown fault kind");
  }
  return f;
}

}  // namespace

std::vector<simpb::Fault> GenerateSwarmFaults(const SwarmSettings& swarm, int nodes, int64_t duration_ms, Prng* prng) {
  std::vector<simpb::Fault> faults;
  if (!swarm.enabled) return faults;
  DETCD_CHECK(nodes >= 1 && duration_ms > 0 && swarm.mean_interval_ms > 0 && swarm.max_concurrent >= 1);
  DETCD_CHECK(swarm.min_fault_duration_ms >= 1 && swarm.min_fault_duration_ms <= swarm.max_fault_duration_ms);

  std::vector<simpb::FaultKind> possible;
  for (simpb::FaultKind k : swarm.kinds) {
    if (Possible(k, nodes, swarm)) possible.push_back(k);
  }
  if (possible.empty()) return faults;

  // The seed's fault mix: each possible kind is in with probability 1/2 (at least one is), with a weight in 1..8.
  std::vector<std::pair<simpb::FaultKind, uint64_t>> mix;
  for (simpb::FaultKind k : possible) {
    if (prng->Chance(0.5)) mix.push_back({k, 0});
  }
  if (mix.empty()) mix.push_back({possible[prng->Uniform(possible.size())], 0});
  uint64_t total_weight = 0;
  for (auto& [kind, weight] : mix) {
    weight = prng->Range(1, 8);
    total_weight += weight;
  }
  const double mean_gap_ms = static_cast<double>(swarm.mean_interval_ms) * (0.5 + 1.5 * prng->Unit());

  std::vector<int64_t> active_until_ms;  // end times of faults in effect
  int64_t t_ms = 0;
  for (;;) {
    // Exponential gaps (a Poisson process), by inverse CDF: std:: distributions are implementation-defined.
    t_ms += 1 + static_cast<int64_t>(-mean_gap_ms * std::log(1.0 - prng->Unit()));
    active_until_ms.erase(std::remove_if(active_until_ms.begin(), active_until_ms.end(),
                                         [t_ms](int64_t end_ms) { return end_ms <= t_ms; }),
                          active_until_ms.end());
    if (static_cast<int>(active_until_ms.size()) >= swarm.max_concurrent) {
      // Full: the next fault starts when the earliest one ends.
      auto earliest = std::min_element(active_until_ms.begin(), active_until_ms.end());
      t_ms = *earliest;
      active_until_ms.erase(earliest);
    }
    if (t_ms >= duration_ms) break;

    uint64_t pick = prng->Uniform(total_weight);
    simpb::FaultKind kind = mix.back().first;
    for (const auto& [k, weight] : mix) {
      if (pick < weight) {
        kind = k;
        break;
      }
      pick -= weight;
    }
    const int64_t length_ms =
        std::min<int64_t>(static_cast<int64_t>(prng->Range(static_cast<uint64_t>(swarm.min_fault_duration_ms),
                                                           static_cast<uint64_t>(swarm.max_fault_duration_ms))),
                          duration_ms - t_ms);
    faults.push_back(MakeFault(kind, t_ms, length_ms, nodes, prng));
    active_until_ms.push_back(t_ms + length_ms);
  }
  return faults;
}

std::vector<simpb::Fault> FaultSchedule(const ScenarioConfig& config, Prng* prng) {
  std::vector<simpb::Fault> faults = config.faults;
  std::vector<simpb::Fault> swarm = GenerateSwarmFaults(config.swarm, config.nodes, config.duration_ms, prng);
  if (!config.swarm.draw_only) faults.insert(faults.end(), swarm.begin(), swarm.end());
  std::stable_sort(faults.begin(), faults.end(),
                   [](const simpb::Fault& a, const simpb::Fault& b) { return a.at_ms() < b.at_ms(); });
  return faults;
}

}  // namespace detcd::sim
