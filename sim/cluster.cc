#include "sim/cluster.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::sim {

Cluster::Cluster(const ClusterOptions& options, EventLoop* loop, Network* network, Prng* prng, Trace* trace,
                 RaftChecker* checker)
    : options_(options),
      loop_(loop),
      network_(network),
      prng_(prng),
      trace_(trace),
      checker_(checker),
      snapshot_sends_(loop, trace, options_.snapshot_send_timeout_us,
                      [this](uint64_t from, uint64_t incarnation, uint64_t to, bool failed) {
                        ReportSnapshot(from, incarnation, to, failed);
                      }) {
  DETCD_CHECK(options_.nodes >= 1 && options_.nodes <= 7);
  for (int i = 1; i <= options_.nodes; ++i) {
    auto n = std::make_unique<Node>();
    n->id = static_cast<uint64_t>(i);
    nodes_.push_back(std::move(n));
  }
}

Cluster::Node& Cluster::node(uint64_t id) {
  DETCD_CHECK(id >= 1 && id <= nodes_.size());
  return *nodes_[id - 1];
}

const Cluster::Node& Cluster::node(uint64_t id) const {
  DETCD_CHECK(id >= 1 && id <= nodes_.size());
  return *nodes_[id - 1];
}


void Cluster::Start() {
  for (auto& n : nodes_) {
    DETCD_CHECK_MSG(Build(*n), "a node could not start on a fresh disk");
    // Clocks start out of phase, as real ones do.
    ScheduleTick(n->id, static_cast<int64_t>(prng_->Range(1, static_cast<uint64_t>(options_.tick_us))));
  }
}

bool Cluster::Build(Node& n) {
  n.storage = raft::MemoryStorage();
  n.replica.Clear();
  auto cannot_start = [&](const absl::Status& s) {
    const bool corrupt = s.code() == absl::StatusCode::kDataLoss;
    trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, corrupt ? " refuses to start: " : " cannot start: ",
                                              s.message()));
    if (corrupt) {
      n.refused = true;
      ++refusals_;
    }
    return false;
  };
  absl::StatusOr<DiskState> found = n.disk.Open(n.id, options_.wal_segment_bytes);
  if (!found.ok()) return cannot_start(found.status());
  for (const std::string& note : found->notes) trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, " ", note));
  raftpb::Snapshot& sn = found->snapshot;
  if (sn.metadata().index() > 0) {
    // A replica's state is small: read whole (Raft's storage here keeps it, to send to followers).
    absl::StatusOr<std::string> data = found->snapshot_data->ReadAll();
    if (!data.ok()) return cannot_start(data.status());
    sn.set_data(std::move(*data));
    if (absl::Status s = n.replica.Restore(sn.data()); !s.ok()) {
      return cannot_start(
          absl::DataLossError(absl::StrCat("snapshot at index ", sn.metadata().index(), ": ", s.message())));
    }
    DETCD_CHECK(n.storage.ApplySnapshot(sn).ok());
    trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, " starts from snapshot ", sn.metadata().index(), " term ",
                                              sn.metadata().term()));
  }
  n.storage.Append(found->entries);
  n.storage.SetHardState(found->hard_state);
  raft::Config c;
  c.id = n.id;
  for (int i = 1; i <= options_.nodes; ++i) c.peers.push_back(static_cast<uint64_t>(i));
  c.election_ticks = options_.election_ticks;
  c.heartbeat_ticks = options_.heartbeat_ticks;
  c.pre_vote = options_.pre_vote;
  c.check_quorum = options_.check_quorum;
  c.max_inflight_msgs = options_.max_inflight_msgs;
  c.max_size_per_msg_bytes = options_.max_size_per_msg_bytes;
  c.seed = prng_->Next();  // each life of each node draws its own election timeouts
  c.storage = &n.storage;
  c.applied = n.disk.snapshot_index();  // the state machine holds the snapshot; the log after it is applied again
  c.testing = options_.testing;
  c.on_invariant_broken = [checker = checker_, id = n.id](const std::string& what) {
    checker->ObserveInvariantBroken(id, what);
  };
  n.raft = std::make_unique<raft::RawNode>(c);
  n.ready_in_flight = false;
  n.last_soft = n.raft->raft().soft_state();
  n.last_term = n.raft->raft().term();
  return true;
}

void Cluster::ScheduleTick(uint64_t id, int64_t delay_us) {
  const uint64_t incarnation = node(id).incarnation;
  loop_->ScheduleAfter(delay_us, [this, id, incarnation] { OnTick(id, incarnation); });
}

void Cluster::OnTick(uint64_t id, uint64_t incarnation) {
  Node& n = node(id);
  if (n.incarnation != incarnation || !n.raft) return;  // a tick of an earlier life
  const int64_t interval = static_cast<int64_t>(static_cast<double>(options_.tick_us) / n.drift);
  ScheduleTick(id, interval < 1 ? 1 : interval);
  if (n.paused) return;
  n.raft->Tick();
  Pump(n);
}

void Cluster::Deliver(const raftpb::Message& m) {
  if (m.to() < 1 || m.to() > nodes_.size()) return;
  Node& n = node(m.to());
  if (!n.raft) return;  // a crashed node hears nothing
  if (m.type() == raftpb::MSG_SNAP) snapshot_sends_.Delivered(m);  // the stream reached a live process
  if (n.paused) {
    n.inbox.push_back(m);
    return;
  }
  StepMessage(n, m);
  Pump(n);
}

void Cluster::StepMessage(Node& n, const raftpb::Message& m) {
  trace_->Record(loop_->Now(), absl::StrCat("recv ", DescribeMessage(m)));
  absl::Status s = n.raft->Step(m);
  if (!s.ok() && !raft::IsProposalDropped(s)) checker_->ObserveStepError(n.id, m, std::string(s.message()));
}

absl::Status Cluster::Propose(uint64_t id, const std::string& data) {
  Node& n = node(id);
  if (!n.raft) return absl::UnavailableError("node is down");
  if (n.paused) return absl::UnavailableError("node is paused");
  absl::Status s = n.raft->Propose(data);
  Pump(n);
  return s;
}

void Cluster::Observe(Node& n) {
  checker_->SetTime(loop_->Now());
  const raft::Raft& r = n.raft->raft();
  const raft::SoftState ss = r.soft_state();
  if (ss != n.last_soft || r.term() != n.last_term) {
    trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, " ", raft::StateName(ss.state), " term ", r.term(),
                                              " lead ", ss.lead));
    n.last_soft = ss;
    n.last_term = r.term();
  }
  checker_->ObserveRole(n.id, r.term(), r.state(), r.log());
  checker_->ObserveCommit(n.id, r.log());
}

void Cluster::SendAll(const std::vector<raftpb::Message>& msgs) {
  for (const raftpb::Message& m : msgs) {
    if (m.type() == raftpb::MSG_SNAP) snapshot_sends_.Sent(m, node(m.from()).incarnation);
    network_->Send(m);
  }
}

void Cluster::ReportSnapshot(uint64_t from, uint64_t incarnation, uint64_t to, bool failed) {
  Node& n = node(from);
  if (n.incarnation != incarnation || !n.raft) return;  // the sender crashed meanwhile: nobody waits for it
  if (n.paused) {
    // A stopped process reads its transport's news when it resumes; look again later.
    loop_->ScheduleAfter(options_.tick_us, [this, from, incarnation, to, failed] {
      ReportSnapshot(from, incarnation, to, failed);
    });
    return;
  }
  trace_->Record(loop_->Now(), absl::StrCat("node ", from, " snapshot to ", to, failed ? " failed" : " delivered"));
  n.raft->ReportSnapshot(to, failed);
  Pump(n);
}

void Cluster::TakeSnapshot(Node& n) {
  const uint64_t index = n.replica.applied_index();
  absl::StatusOr<raftpb::Snapshot> snap =
      n.storage.CreateSnapshot(index, n.raft->raft().conf_state(), n.replica.Snapshot());
  DETCD_CHECK_MSG(snap.ok(), snap.status().ToString().c_str());
  if (absl::Status s = n.disk.SaveSnapshot(*snap); !s.ok()) {
    DieOfDiskError(n, s);
    return;
  }
  ++snapshots_taken_;
  // Keep a tail of entries for followers that are only a little behind; older ones get the snapshot.
  const uint64_t keep = options_.snapshot_catch_up_entries;
  uint64_t compact = index > keep ? index - keep : 0;
  if (compact > n.storage.FirstIndex() - 1) DETCD_CHECK(n.storage.Compact(compact).ok());
  trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, " snapshot at ", index, ", log compacted to ",
                                            n.storage.FirstIndex() - 1));
  if (absl::Status s = n.disk.RemoveOld(); !s.ok()) DieOfDiskError(n, s);
}

void Cluster::Pump(Node& n) {
  while (n.raft && !n.paused && !n.ready_in_flight) {
    Observe(n);
    if (!n.raft->HasReady()) return;
    raft::Ready rd = n.raft->GetReady();
    if (rd.snapshot.metadata().index() > 0) {
      // A leader's snapshot: durable before the entries that follow it are written.
      if (absl::Status s = n.disk.SaveSnapshot(rd.snapshot); !s.ok()) {
        DieOfDiskError(n, s);
        return;
      }
    }
    // Write to the WAL now (the page cache); the sync below is what makes it durable.
    if (rd.hard_state || !rd.entries.empty()) {
      if (absl::Status s = n.disk.Save(rd.hard_state ? &*rd.hard_state : nullptr, rd.entries); !s.ok()) {
        DieOfDiskError(n, s);
        return;
      }
    }
    if (n.raft->raft().state() == raft::StateType::kLeader) {
      // Appends and heartbeats need nothing durable here first: the leader counts itself only after its sync.
      std::vector<raftpb::Message> early, late;
      for (raftpb::Message& m : rd.messages) {
        (m.type() == raftpb::MSG_APP || m.type() == raftpb::MSG_HEARTBEAT ? early : late).push_back(std::move(m));
      }
      SendAll(early);
      rd.messages = std::move(late);
    }
    if (rd.must_sync) {
      n.ready_in_flight = true;
      const int64_t latency = static_cast<int64_t>(prng_->Range(static_cast<uint64_t>(options_.sync_latency_min_us),
                                                                static_cast<uint64_t>(options_.sync_latency_max_us)));
      const uint64_t id = n.id, incarnation = n.incarnation;
      auto shared = std::make_shared<raft::Ready>(std::move(rd));
      loop_->ScheduleAfter(latency, [this, id, incarnation, shared] { FinishReady(id, incarnation, std::move(*shared)); });
      return;
    }
    n.ready_in_flight = true;
    FinishReady(n.id, n.incarnation, std::move(rd));
  }
}

void Cluster::FinishReady(uint64_t id, uint64_t incarnation, raft::Ready rd) {
  Node& n = node(id);
  if (n.incarnation != incarnation || !n.raft) return;  // the node crashed before its sync finished: all lost
  // 1. durable. The disk finishes a write even while the process is stopped.
  if (rd.must_sync) {
    if (absl::Status s = n.disk.Sync(); !s.ok()) {
      DieOfDiskError(n, s);
      return;
    }
  }
  if (rd.snapshot.metadata().index() > 0) {
    const raftpb::SnapshotMetadata& md = rd.snapshot.metadata();
    // A newer snapshot may have reached storage already (one taken after this Ready was): nothing to replace then.
    if (md.index() > n.storage.Snapshot().metadata().index()) DETCD_CHECK(n.storage.ApplySnapshot(rd.snapshot).ok());
    checker_->ObserveSnapshot(id, md.index(), md.term());
    trace_->Record(loop_->Now(), absl::StrCat("node ", id, " persisted snapshot ", md.index(), " term ", md.term()));
  }
  if (!rd.entries.empty()) {
    n.storage.Append(rd.entries);
    checker_->ObservePersisted(id, rd.entries);
    trace_->Record(loop_->Now(), absl::StrCat("node ", id, " persisted ", rd.entries.front().index(), "..",
                                              rd.entries.back().index()));
  }
  if (rd.hard_state) n.storage.SetHardState(*rd.hard_state);
  if (n.paused) {
    // ...but a stopped process cannot see that it finished: it sends and applies when it resumes.
    n.synced_while_paused = std::make_shared<raft::Ready>(std::move(rd));
    return;
  }
  CompleteReady(n, std::move(rd));
}

void Cluster::CompleteReady(Node& n, raft::Ready rd) {
  // 2. send
  SendAll(rd.messages);
  // 3. apply
  checker_->SetTime(loop_->Now());
  if (rd.snapshot.metadata().index() > 0) {
    // The leader's snapshot was made from a replica like ours; bytes that do not restore are a harness bug.
    absl::Status restored = n.replica.Restore(rd.snapshot.data());
    DETCD_CHECK_MSG(restored.ok(), restored.ToString().c_str());
    DETCD_CHECK(n.replica.applied_index() == rd.snapshot.metadata().index());
    ++snapshots_installed_;
  }
  for (const raftpb::Entry& e : rd.committed_entries) {
    checker_->ObserveApply(n.id, e);
    n.replica.Apply(e);
    if (on_apply_) on_apply_(n.id, e);
    if (!n.raft) return;  // the apply callback may not crash nodes, but stay safe
  }
  // 4. advance
  n.raft->Advance(rd);
  n.ready_in_flight = false;
  if (options_.snapshot_count > 0 && n.replica.applied_index() > n.disk.snapshot_index() + options_.snapshot_count) {
    TakeSnapshot(n);
    if (!n.raft) return;  // died of a disk error
  }
  Pump(n);
}

void Cluster::PowerOff(Node& n) {
  n.raft.reset();
  n.replica.Clear();  // memory is gone; the next start restores it from disk
  ++n.incarnation;
  n.paused = false;
  n.drift = 1.0;
  n.inbox.clear();
  n.ready_in_flight = false;
  n.synced_while_paused.reset();
  n.disk.PowerOff(options_.crash_loss, prng_);
}

void Cluster::Crash(uint64_t id) {
  Node& n = node(id);
  if (!n.raft) return;
  trace_->Record(loop_->Now(), absl::StrCat("crash node ", id));
  PowerOff(n);
  ++crashes_;
}

void Cluster::DieOfDiskError(Node& n, const absl::Status& error) {
  trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, " dies of a disk error: ", error.message()));
  PowerOff(n);
  ++disk_deaths_;
  const uint64_t id = n.id;
  loop_->ScheduleAfter(options_.supervisor_restart_us, [this, id] { Restart(id); });
}

void Cluster::Restart(uint64_t id) {
  Node& n = node(id);
  if (n.raft || n.refused) return;
  trace_->Record(loop_->Now(), absl::StrCat("restart node ", id));
  if (!Build(n)) {
    // Not corrupt, just failing (a disk error): the supervisor tries again later.
    if (!n.refused) loop_->ScheduleAfter(options_.supervisor_restart_us, [this, id] { Restart(id); });
    return;
  }
  checker_->SetTime(loop_->Now());
  checker_->ObserveRestart(id, n.storage.InitialHardState(), n.storage.all_entries());
  ScheduleTick(id, static_cast<int64_t>(prng_->Range(1, static_cast<uint64_t>(options_.tick_us))));
  Pump(n);
}

void Cluster::Pause(uint64_t id) {
  Node& n = node(id);
  if (!n.raft || n.paused) return;
  trace_->Record(loop_->Now(), absl::StrCat("pause node ", id));
  n.paused = true;
}

void Cluster::Resume(uint64_t id) {
  Node& n = node(id);
  if (!n.raft || !n.paused) return;
  trace_->Record(loop_->Now(), absl::StrCat("resume node ", id, " with ", n.inbox.size(), " queued messages"));
  n.paused = false;
  std::deque<raftpb::Message> inbox = std::move(n.inbox);
  n.inbox.clear();
  if (n.synced_while_paused) {
    std::shared_ptr<raft::Ready> rd = std::move(n.synced_while_paused);
    CompleteReady(n, std::move(*rd));
  }
  // The messages the node could not read are read now, in order.
  for (const raftpb::Message& m : inbox) {
    if (!n.raft || n.paused) break;
    StepMessage(n, m);
  }
  Pump(n);
}

void Cluster::SetDrift(uint64_t id, double factor) {
  Node& n = node(id);
  trace_->Record(loop_->Now(), absl::StrCat("clock drift node ", id, " x", factor));
  n.drift = factor > 0.01 ? factor : 0.01;
}

void Cluster::SetDiskError(uint64_t id, bool on_sync, bool on) { node(id).disk.SetError(on_sync, on); }

void Cluster::SetDiskFull(uint64_t id, bool on) { node(id).disk.SetFull(on); }

std::string Cluster::FlipBit(uint64_t id, simpb::BitRot::Where where) { return node(id).disk.FlipBit(where, prng_); }

uint64_t Cluster::Leader() const {
  uint64_t best = 0, best_term = 0;
  for (const auto& n : nodes_) {
    if (!n->raft) continue;
    const raft::Raft& r = n->raft->raft();
    if (r.state() == raft::StateType::kLeader && r.term() >= best_term) {
      best = n->id;
      best_term = r.term();
    }
  }
  return best;
}

uint64_t Cluster::LeaderHint(uint64_t id) const {
  const Node& n = node(id);
  return n.raft ? n.raft->raft().lead() : 0;
}

uint64_t Cluster::CommitIndex(uint64_t id) const {
  const Node& n = node(id);
  return n.raft ? n.raft->raft().log().committed() : 0;
}

}  // namespace detcd::sim
