#include "sim/world/fault_injector.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sim/scenarios/scenario.h"

namespace detcd::sim {

FaultInjector::FaultInjector(FaultTarget* cluster, Network* network, EventLoop* loop, Prng* prng, Trace* trace)
    : cluster_(cluster), network_(network), loop_(loop), prng_(prng), trace_(trace) {}

void FaultInjector::Schedule(const simpb::Fault& fault, int64_t phase_end_us) {
  loop_->Schedule(fault.at_ms() * 1000, [this, fault, phase_end_us] {
    if (!healed_) Begin(fault, phase_end_us);
  });
}

uint64_t FaultInjector::Resolve(const simpb::Target& target) {
  const uint64_t n = static_cast<uint64_t>(cluster_->size());
  if (target.kind_case() == simpb::Target::kNode) return target.node();
  const uint64_t leader = cluster_->Leader();
  switch (target.select()) {
    case simpb::Target::LEADER:
      if (leader != 0) return leader;
      break;
    case simpb::Target::FOLLOWER:
      if (leader != 0 && n > 1) {
        uint64_t pick = prng_->Range(1, n - 1);
        return pick >= leader ? pick + 1 : pick;
      }
      break;
    default:
      break;
  }
  return prng_->Range(1, n);
}

uint64_t FaultInjector::ResolveOther(const simpb::Target& target, uint64_t not_this) {
  uint64_t id = Resolve(target);
  if (id == not_this) id = id % static_cast<uint64_t>(cluster_->size()) + 1;
  return id;
}

void FaultInjector::AfterDuration(const simpb::Fault& fault, std::function<void()> undo) {
  if (fault.duration_ms() <= 0) return;  // lasts until the heal
  loop_->ScheduleAfter(fault.duration_ms() * 1000, [this, undo = std::move(undo)] {
    if (!healed_) undo();
  });
}

void FaultInjector::RejoinWhenSnapshotNeeded(uint64_t id, std::shared_ptr<bool> over,
                                             std::function<void(const char*)> rejoin) {
  if (*over || healed_) return;
  if (cluster_->NeedsSnapshotOfNewConfig(id)) {
    return rejoin("the leader's log starts past its last entry and its configuration is another");
  }
  loop_->ScheduleAfter(kRejoinPollUs, [this, id, over = std::move(over), rejoin = std::move(rejoin)] {
    RejoinWhenSnapshotNeeded(id, over, rejoin);
  });
}

void FaultInjector::Begin(const simpb::Fault& fault, int64_t phase_end_us) {
  ++faults_begun_;
  std::string what;
  switch (fault.kind_case()) {
    case simpb::Fault::kIsolate: {
      const uint64_t id = Resolve(fault.isolate().target());
      what = absl::StrCat("isolate node ", id);
      const Network::FaultId f = network_->Isolate(id);
      AfterDuration(fault, [this, f] { network_->Remove(f); });
      break;
    }
    case simpb::Fault::kPartition: {
      std::vector<std::vector<uint64_t>> groups;
      for (const simpb::Group& g : fault.partition().groups()) groups.emplace_back(g.nodes().begin(), g.nodes().end());
      what = "partition";
      const Network::FaultId f = network_->Partition(groups);
      AfterDuration(fault, [this, f] { network_->Remove(f); });
      break;
    }
    case simpb::Fault::kAsymmetric: {
      const uint64_t from = Resolve(fault.asymmetric().from());
      const uint64_t to = ResolveOther(fault.asymmetric().to(), from);
      what = absl::StrCat("block ", from, "->", to);
      const Network::FaultId f = network_->BlockOneWay(from, to);
      AfterDuration(fault, [this, f] { network_->Remove(f); });
      break;
    }
    case simpb::Fault::kBridge: {
      const simpb::Bridge& b = fault.bridge();
      what = absl::StrCat("bridge through node ", b.node());
      const Network::FaultId f = network_->Bridge(b.node(), std::vector<uint64_t>(b.side_a().begin(), b.side_a().end()),
                                                  std::vector<uint64_t>(b.side_b().begin(), b.side_b().end()));
      AfterDuration(fault, [this, f] { network_->Remove(f); });
      break;
    }
    case simpb::Fault::kClog: {
      const uint64_t from = Resolve(fault.clog().from());
      const uint64_t to = ResolveOther(fault.clog().to(), from);
      const int64_t until = fault.duration_ms() > 0 ? loop_->Now() + fault.duration_ms() * 1000 : phase_end_us;
      what = absl::StrCat("clog ", from, "->", to);
      network_->Clog(from, to, until);  // a clog ends by itself
      break;
    }
    case simpb::Fault::kCrash: {
      const uint64_t id = Resolve(fault.crash().target());
      what = absl::StrCat("crash node ", id);
      cluster_->Crash(id);
      if (fault.crash().restart_after_ms() > 0) {
        loop_->ScheduleAfter(fault.crash().restart_after_ms() * 1000, [this, id] {
          if (!healed_) cluster_->Restart(id);
        });
      }
      break;
    }
    case simpb::Fault::kCrashAfterSend: {
      const simpb::CrashAfterSend& c = fault.crash_after_send();
      const uint64_t id = Resolve(c.target());
      what = absl::StrCat("node ", id, " crashes right after its next ",
                          c.message() == simpb::CrashAfterSend::VOTE_RESP  ? "vote grant"
                          : c.message() == simpb::CrashAfterSend::APP_RESP ? "append acknowledgement"
                                                                           : "vote grant or append acknowledgement");
      const int64_t restart_after_us = c.restart_after_ms() * 1000;
      // The cluster traces the crash, naming the message it followed.
      cluster_->ArmCrashAfterSend(id, c.message(), [this, id, restart_after_us](const std::string&) {
        if (restart_after_us <= 0) return;  // at the heal
        loop_->ScheduleAfter(restart_after_us, [this, id] {
          if (!healed_) cluster_->Restart(id);
        });
      });
      AfterDuration(fault, [this, id] { cluster_->DisarmCrashAfterSend(id); });
      break;
    }
    case simpb::Fault::kLaggingFollower: {
      const uint64_t id = Resolve(fault.lagging_follower().target());
      const int64_t delay_ms =
          fault.lagging_follower().has_delay_ms() ? fault.lagging_follower().delay_ms() : kDefaultLagMs;
      what = absl::StrCat("appends to node ", id, " lag ", delay_ms, "ms");
      const Network::FaultId f = network_->SlowAppends(id, delay_ms * 1000);
      AfterDuration(fault, [this, f] { network_->Remove(f); });
      break;
    }
    case simpb::Fault::kLeaderWithLearners: {
      simpb::Target leader_target;
      leader_target.set_select(simpb::Target::LEADER);
      const uint64_t leader = Resolve(leader_target);
      std::vector<uint64_t> side = cluster_->LearnerHosts(leader);
      side.push_back(leader);
      std::sort(side.begin(), side.end());
      what = absl::StrCat("cut leader ", leader, " off from the voters, with its learners' hosts {",
                          absl::StrJoin(side, " "), "}");
      if (static_cast<int>(side.size()) >= cluster_->size()) {
        what += ": no voter elsewhere, nothing cut";
        break;
      }
      const Network::FaultId f = network_->Partition({side});
      AfterDuration(fault, [this, f] { network_->Remove(f); });
      break;
    }
    case simpb::Fault::kSnapshotDuringConfChange: {
      // A follower is one of the running members that do not lead (in a cluster whose membership changes, some hosts
      // run no member).
      const simpb::Target& target = fault.snapshot_during_conf_change().target();
      uint64_t id = 0;
      if (target.kind_case() == simpb::Target::kSelect && target.select() == simpb::Target::FOLLOWER) {
        std::vector<uint64_t> running;
        const uint64_t leader = cluster_->Leader();
        for (uint64_t h = 1; h <= static_cast<uint64_t>(cluster_->size()); ++h) {
          if (h != leader && cluster_->IsUp(h)) running.push_back(h);
        }
        if (!running.empty()) id = running[prng_->Uniform(running.size())];
      }
      if (id == 0) id = Resolve(target);
      what = absl::StrCat("isolate node ", id, " until it can catch up only by a snapshot of a newer configuration");
      const Network::FaultId f = network_->Isolate(id);
      auto over = std::make_shared<bool>(false);
      auto rejoin = [this, f, id, over](const char* why) {
        if (*over || healed_) return;
        *over = true;
        network_->Remove(f);
        trace_->Record(loop_->Now(), absl::StrCat("fault: node ", id, " rejoins: ", why));
      };
      AfterDuration(fault, [rejoin] { rejoin("the fault's duration is over"); });
      // Checked from the next instant on: the trace line of this fault comes first.
      loop_->ScheduleAfter(kRejoinPollUs, [this, id, over, rejoin] { RejoinWhenSnapshotNeeded(id, over, rejoin); });
      break;
    }
    case simpb::Fault::kPause: {
      const uint64_t id = Resolve(fault.pause().target());
      what = absl::StrCat("pause node ", id);
      cluster_->Pause(id);
      AfterDuration(fault, [this, id] { cluster_->Resume(id); });
      break;
    }
    case simpb::Fault::kClockDrift: {
      const uint64_t id = Resolve(fault.clock_drift().target());
      what = absl::StrCat("clock drift node ", id);
      cluster_->SetDrift(id, fault.clock_drift().factor());
      AfterDuration(fault, [this, id] { cluster_->SetDrift(id, 1.0); });
      break;
    }
    case simpb::Fault::kDiskError: {
      const uint64_t id = Resolve(fault.disk_error().target());
      const bool on_sync = fault.disk_error().on_sync();
      what = absl::StrCat("EIO on ", on_sync ? "syncs" : "writes", " of node ", id);
      cluster_->SetDiskError(id, on_sync, true);
      AfterDuration(fault, [this, id, on_sync] { cluster_->SetDiskError(id, on_sync, false); });
      break;
    }
    case simpb::Fault::kDiskFull: {
      const uint64_t id = Resolve(fault.disk_full().target());
      what = absl::StrCat("disk of node ", id, " full");
      cluster_->SetDiskFull(id, true);
      AfterDuration(fault, [this, id] { cluster_->SetDiskFull(id, false); });
      break;
    }
    case simpb::Fault::kBitRot: {
      // Every bit-rot fault of a run hits one node, so that a quorum of disks stays sound.
      if (rot_node_ == 0) rot_node_ = Resolve(fault.bit_rot().target());
      what = absl::StrCat("bit rot on node ", rot_node_, ": ", cluster_->FlipBit(rot_node_, fault.bit_rot().where()));
      break;
    }
    case simpb::Fault::kWalTailCorruption: {
      // The node bit rot hits (one per run, so that a quorum of disks stays sound).
      if (rot_node_ == 0) rot_node_ = Resolve(fault.wal_tail_corruption().target());
      const uint64_t id = rot_node_;
      const uint32_t records = fault.wal_tail_corruption().has_records() ? fault.wal_tail_corruption().records() : 1;
      const std::string hit = cluster_->CorruptWalTail(id, records);
      const bool up = cluster_->IsUp(id);
      trace_->Record(loop_->Now(), absl::StrCat("fault: newest synced WAL records of node ", id,
                                                " corrupt: ", hit.empty() ? "none synced yet" : hit,
                                                up ? "; it restarts at once" : "; it finds out at its next start", " (",
                                                FaultSummary(fault), ")"));
      if (up) {
        cluster_->Crash(id);
        cluster_->Restart(id);
      }
      return;  // traced before the crash and restart it causes
    }
    case simpb::Fault::kHeal:
      what = "heal network";
      network_->Heal();
      break;
    case simpb::Fault::KIND_NOT_SET:
      return;
  }
  trace_->Record(loop_->Now(), absl::StrCat("fault: ", what, " (", FaultSummary(fault), ")"));
}

void FaultInjector::HealAll() {
  healed_ = true;
  trace_->Record(loop_->Now(), "heal all");
  network_->Heal();
  for (uint64_t id = 1; id <= static_cast<uint64_t>(cluster_->size()); ++id) {
    cluster_->SetDiskError(id, /*on_sync=*/false, false);
    cluster_->SetDiskError(id, /*on_sync=*/true, false);
    cluster_->SetDiskFull(id, false);
    cluster_->DisarmCrashAfterSend(id);
    if (!cluster_->IsUp(id)) {
      cluster_->Restart(id);
    } else {
      if (cluster_->IsPaused(id)) cluster_->Resume(id);
      cluster_->SetDrift(id, 1.0);
    }
  }
}

}  // namespace detcd::sim
