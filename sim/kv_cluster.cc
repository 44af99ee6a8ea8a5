#include "sim/kv_cluster.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/check.h"

namespace detcd::sim {

KvCluster::KvCluster(const KvClusterOptions& options, EventLoop* loop, Network* network, Prng* prng, Trace* trace,
                     RaftChecker* checker)
    : options_(options),
      loop_(loop),
      network_(network),
      prng_(prng),
      trace_(trace),
      checker_(checker),
      snapshot_sends_(loop, trace, options_.cluster.snapshot_send_timeout_us,
                      [this](uint64_t from, uint64_t incarnation, uint64_t to, bool failed) {
                        ReportSnapshot(from, incarnation, to, failed);
                      }) {
  DETCD_CHECK(options_.cluster.nodes >= 1 && options_.cluster.nodes <= 7);
  for (int i = 1; i <= options_.cluster.nodes; ++i) {
    auto n = std::make_unique<Node>();
    n->id = static_cast<uint64_t>(i);
    nodes_.push_back(std::move(n));
  }
}

KvCluster::Node& KvCluster::node(uint64_t id) {
  DETCD_CHECK(id >= 1 && id <= nodes_.size());
  return *nodes_[id - 1];
}

const KvCluster::Node& KvCluster::node(uint64_t id) const {
  DETCD_CHECK(id >= 1 && id <= nodes_.size());
  return *nodes_[id - 1];
}

void KvCluster::Start() {
  for (auto& n : nodes_) {
    DETCD_CHECK_MSG(Build(*n), "a member could not start on a fresh disk");
    ScheduleTick(n->id, static_cast<int64_t>(prng_->Range(1, static_cast<uint64_t>(options_.cluster.tick_us))));
  }
}

bool KvCluster::Build(Node& n) {
  absl::StatusOr<DiskState> found = n.disk.Open(n.id, options_.cluster.wal_segment_bytes);
  if (!found.ok()) {
    const bool corrupt = found.status().code() == absl::StatusCode::kDataLoss;
    trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, corrupt ? " refuses to start: " : " cannot start: ",
                                              found.status().message()));
    if (corrupt) {
      n.refused = true;
      ++refusals_;
    }
    return false;
  }
  for (const std::string& note : found->notes) trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, " ", note));
  kv::RecoveredState recovered;
  recovered.snapshot = std::move(found->snapshot);
  recovered.hard_state = found->hard_state;
  recovered.entries = std::move(found->entries);
  if (recovered.snapshot.metadata().index() > 0) {
    trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, " starts from snapshot ",
                                              recovered.snapshot.metadata().index()));
  }

  const ClusterOptions& o = options_.cluster;
  kv::NodeCoreConfig c = options_.core;
  c.id = n.id;
  c.peers.clear();
  for (int i = 1; i <= o.nodes; ++i) c.peers.push_back(static_cast<uint64_t>(i));
  c.election_ticks = o.election_ticks;
  c.heartbeat_ticks = o.heartbeat_ticks;
  c.tick_us = o.tick_us;
  c.pre_vote = o.pre_vote;
  c.check_quorum = o.check_quorum;
  c.snapshot_count = o.snapshot_count;
  c.snapshot_catch_up_entries = o.snapshot_catch_up_entries;
  c.seed = prng_->Next();  // each life of each member draws its own election timeouts and ids
  c.testing = o.testing;
  const uint64_t id = n.id;
  c.on_apply = [this, id](const raftpb::Entry& e) {
    checker_->SetTime(loop_->Now());
    // The bootstrap entries are committed from the start and applied as soon as they are durable: the checker learns
    // of their commitment here, before it sees them applied.
    if (const Node& self = node(id); self.core) checker_->ObserveCommit(id, self.core->raft().raft().log());
    checker_->ObserveApply(id, e);
  };
  c.on_revision = [this, id](int64_t rev, const std::vector<mvccpb::Event>& events) {
    if (on_revision_) on_revision_(id, rev, events);
  };
  c.on_compact = [this, id](int64_t rev) {
    if (on_compact_) on_compact_(id, rev);
  };
  n.core = std::make_unique<kv::NodeCore>(c, recovered);
  n.persisting.reset();
  n.synced_while_paused = false;
  // Each life's clock starts somewhere of its own; only its rate matters to the member.
  n.local_us = static_cast<int64_t>(prng_->Range(0, 1'000'000'000));
  return true;
}

void KvCluster::ScheduleTick(uint64_t id, int64_t delay_us) {
  const uint64_t incarnation = node(id).incarnation;
  loop_->ScheduleAfter(delay_us, [this, id, incarnation] { OnTick(id, incarnation); });
}

void KvCluster::OnTick(uint64_t id, uint64_t incarnation) {
  Node& n = node(id);
  if (n.incarnation != incarnation || !n.core) return;
  const int64_t interval = static_cast<int64_t>(static_cast<double>(options_.cluster.tick_us) / n.drift);
  ScheduleTick(id, interval < 1 ? 1 : interval);
  if (n.paused) return;
  // A drifting clock ticks more (or less) often, and its time moves a whole tick each time.
  n.local_us += options_.cluster.tick_us;
  n.core->Tick(n.local_us);
  n.leaderless_ticks = n.core->leader() == 0 ? n.leaderless_ticks + 1 : 0;
  if (n.leaderless_ticks >= 3 * static_cast<int64_t>(options_.cluster.election_ticks) &&
      std::any_of(streams_.begin(), streams_.end(), [id](const auto& s) { return s.second.node == id; })) {
    trace_->Record(loop_->Now(), absl::StrCat("node ", id, " has no leader: closes its watch streams"));
    BreakStreams(n, /*close_in_member=*/true);
    if (n.incarnation != incarnation || !n.core) return;
  }
  Flush(n);
}

void KvCluster::OnMember(uint64_t id, std::function<void(Node&)> fn, bool from_client) {
  Node& n = node(id);
  if (!n.core) return;
  if (n.paused) {
    const uint64_t incarnation = n.incarnation;
    n.inbox.emplace_back(from_client, [this, id, incarnation, fn = std::move(fn)] {
      Node& m = node(id);
      if (m.incarnation != incarnation || !m.core) return;
      fn(m);
    });
    return;
  }
  fn(n);
  Flush(n);
}

void KvCluster::Deliver(const raftpb::Message& m) {
  if (m.to() < 1 || m.to() > nodes_.size()) return;
  if (!node(m.to()).core) return;  // a crashed member hears nothing
  if (m.type() == raftpb::MSG_SNAP) snapshot_sends_.Delivered(m);  // the stream reached a live process
  OnMember(m.to(), [this, m](Node& n) {
    trace_->Record(loop_->Now(), absl::StrCat("recv ", DescribeMessage(m)));
    n.core->Receive(m);
  });
}

bool KvCluster::Submit(uint64_t id, const kvpb::ClientRequest& request, ReplyFn fn) {
  if (!node(id).core) return false;
  const uint64_t rid = next_request_++;
  OnMember(
      id,
      [rid, request, fn = std::move(fn)](Node& n) mutable {
        n.waiting[rid] = std::move(fn);
        n.core->Submit(rid, request);
      },
      /*from_client=*/true);
  return true;
}

uint64_t KvCluster::OpenWatch(uint64_t id, WatchFn on_response, std::function<void()> on_broken) {
  Node& n = node(id);
  // etcd refuses a require-leader watch on a member that knows no leader ("etcdserver: no leader").
  if (!n.core || n.core->leader() == 0) return 0;
  const uint64_t handle = next_stream_++;
  Stream s;
  s.node = id;
  s.incarnation = n.incarnation;
  s.sid = n.core->OpenWatchStream();
  s.on_response = std::move(on_response);
  s.on_broken = std::move(on_broken);
  streams_.emplace(handle, std::move(s));
  return handle;
}

void KvCluster::WatchRequest(uint64_t stream, const etcdserverpb::WatchRequest& request) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  const kv::WatchHub::StreamId sid = it->second.sid;
  OnMember(
      it->second.node,
      [this, stream, sid, request](Node& n) {
        if (streams_.count(stream) == 0) return;  // closed or broken meanwhile
        n.core->Watch(sid, request);
      },
      /*from_client=*/true);
}

void KvCluster::SetWatchReading(uint64_t stream, bool reading) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  it->second.reading = reading;
  Node& n = node(it->second.node);
  if (reading && n.core && !n.paused) Flush(n);
}

void KvCluster::CloseWatch(uint64_t stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  Node& n = node(it->second.node);
  if (n.core && n.incarnation == it->second.incarnation) n.core->CloseWatchStream(it->second.sid);
  streams_.erase(it);
}

void KvCluster::Observe(Node& n) {
  // A fresh member's bootstrap entries sit in Raft's log before they are durable; nothing of it is visible yet.
  if (n.core->bootstrapping()) return;
  checker_->SetTime(loop_->Now());
  const raft::Raft& r = n.core->raft().raft();
  checker_->ObserveRole(n.id, r.term(), r.state(), r.log());
  checker_->ObserveCommit(n.id, r.log());
}

void KvCluster::Flush(Node& n) {
  const uint64_t incarnation = n.incarnation;
  auto alive = [&] { return n.core != nullptr && n.incarnation == incarnation && !n.paused; };
  while (alive()) {
    Observe(n);
    bool progress = false;
    std::vector<raftpb::Message> msgs = n.core->TakeMessages();
    if (!msgs.empty()) {
      progress = true;
      SendAll(std::move(msgs));
    }
    for (kv::ClientReply& r : n.core->TakeReplies()) {
      progress = true;
      auto it = n.waiting.find(r.request_id);
      if (it == n.waiting.end()) continue;
      ReplyFn fn = std::move(it->second);
      n.waiting.erase(it);
      fn(r);
      if (!alive()) return;
    }
    std::vector<uint64_t> readable;
    for (const auto& [handle, s] : streams_) {
      if (s.node == n.id && s.reading && n.core->HasWatchResponses(s.sid)) readable.push_back(handle);
    }
    for (uint64_t handle : readable) {
      auto it = streams_.find(handle);
      if (it == streams_.end() || !alive()) continue;
      progress = true;
      WatchFn fn = it->second.on_response;
      for (const etcdserverpb::WatchResponse& r : n.core->TakeWatchResponses(it->second.sid)) fn(r);
    }
    if (!alive()) return;
    for (const raftpb::Snapshot& snap : n.core->TakeSnapshotsToSave()) {
      absl::Status s = n.disk.SaveSnapshot(snap);
      if (s.ok()) s = n.disk.RemoveOld();
      if (!s.ok()) return DieOfDiskError(n, s);
      ++snapshots_saved_;
      trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, " snapshot at ", snap.metadata().index()));
    }
    if (!n.persisting) {
      std::optional<kv::PersistRequest> p = n.core->TakePersist();
      if (p) {
        progress = true;
        if (p->snapshot.metadata().index() > 0) {
          // A leader's snapshot, installed in place of the log this member lacked.
          if (absl::Status s = n.disk.SaveSnapshot(p->snapshot); !s.ok()) return DieOfDiskError(n, s);
          ++snapshots_installed_;
          trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, " installs snapshot ",
                                                    p->snapshot.metadata().index(), " from the leader"));
        }
        if (p->hard_state || !p->entries.empty()) {
          absl::Status s = n.disk.Save(p->hard_state ? &*p->hard_state : nullptr, p->entries);
          if (!s.ok()) return DieOfDiskError(n, s);
        }
        bool sync = p->must_sync;
        if (sync && options_.testing_ack_before_sync) {
          // Broken on purpose: "durable" now, synced whenever the disk gets to it.
          p->must_sync = false;
          sync = false;
          const uint64_t id = n.id;
          loop_->ScheduleAfter(options_.cluster.sync_latency_max_us, [this, id, incarnation] {
            Node& m = node(id);
            if (m.incarnation == incarnation && m.core) (void)m.disk.Sync();
          });
        }
        n.persisting = std::move(*p);
        const ClusterOptions& o = options_.cluster;
        const int64_t latency =
            sync ? static_cast<int64_t>(prng_->Range(static_cast<uint64_t>(o.sync_latency_min_us),
                                                     static_cast<uint64_t>(o.sync_latency_max_us)))
                 : 0;
        const uint64_t id = n.id;
        loop_->ScheduleAfter(latency, [this, id, incarnation] { FinishPersist(id, incarnation); });
      }
    }
    if (!progress) return;
  }
}

void KvCluster::FinishPersist(uint64_t id, uint64_t incarnation) {
  Node& n = node(id);
  if (n.incarnation != incarnation || !n.core || !n.persisting) return;  // crashed before the sync: all lost
  const kv::PersistRequest& p = *n.persisting;
  if (p.must_sync) {
    if (absl::Status s = n.disk.Sync(); !s.ok()) return DieOfDiskError(n, s);
  }
  checker_->SetTime(loop_->Now());
  if (p.snapshot.metadata().index() > 0) {
    checker_->ObserveSnapshot(id, p.snapshot.metadata().index(), p.snapshot.metadata().term());
  }
  if (!p.entries.empty()) checker_->ObservePersisted(id, p.entries);
  if (n.paused) {
    // The disk finished, but a stopped process cannot see it until it resumes.
    n.synced_while_paused = true;
    return;
  }
  const uint64_t seq = p.seq;
  n.persisting.reset();
  n.core->Persisted(seq);
  Flush(n);
}

void KvCluster::SendAll(std::vector<raftpb::Message> msgs) {
  for (const raftpb::Message& m : msgs) {
    if (m.type() == raftpb::MSG_SNAP) snapshot_sends_.Sent(m, node(m.from()).incarnation);
    network_->Send(m);
  }
}

void KvCluster::ReportSnapshot(uint64_t from, uint64_t incarnation, uint64_t to, bool failed) {
  Node& n = node(from);
  if (n.incarnation != incarnation || !n.core) return;
  OnMember(from, [this, from, to, failed](Node& m) {
    trace_->Record(loop_->Now(), absl::StrCat("node ", from, " snapshot to ", to, failed ? " failed" : " delivered"));
    m.core->ReportSnapshot(to, failed);
  });
}

void KvCluster::PowerOff(Node& n) {
  n.core.reset();
  ++n.incarnation;
  n.paused = false;
  n.drift = 1.0;
  n.inbox.clear();
  n.persisting.reset();
  n.synced_while_paused = false;
  n.waiting.clear();  // their clients hear nothing: they time out
  n.leaderless_ticks = 0;
  n.disk.PowerOff(options_.cluster.crash_loss, prng_);
  BreakStreams(n, /*close_in_member=*/false);
}

void KvCluster::BreakStreams(Node& n, bool close_in_member) {
  std::vector<std::function<void()>> broken;
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (it->second.node == n.id) {
      if (close_in_member && n.core) n.core->CloseWatchStream(it->second.sid);
      broken.push_back(std::move(it->second.on_broken));
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& fn : broken) {
    if (fn) fn();
  }
}

void KvCluster::Crash(uint64_t id) {
  Node& n = node(id);
  if (!n.core) return;
  trace_->Record(loop_->Now(), absl::StrCat("crash node ", id));
  PowerOff(n);
  ++crashes_;
}

void KvCluster::DieOfDiskError(Node& n, const absl::Status& error) {
  trace_->Record(loop_->Now(), absl::StrCat("node ", n.id, " dies of a disk error: ", error.message()));
  PowerOff(n);
  ++disk_deaths_;
  const uint64_t id = n.id;
  loop_->ScheduleAfter(options_.cluster.supervisor_restart_us, [this, id] { Restart(id); });
}

void KvCluster::Restart(uint64_t id) {
  Node& n = node(id);
  if (n.core || n.refused) return;
  trace_->Record(loop_->Now(), absl::StrCat("restart node ", id));
  if (!Build(n)) {
    if (!n.refused) {
      loop_->ScheduleAfter(options_.cluster.supervisor_restart_us, [this, id] { Restart(id); });
    }
    return;
  }
  checker_->SetTime(loop_->Now());
  checker_->ObserveRestart(id, n.core->storage().InitialHardState(), n.core->storage().all_entries());
  ScheduleTick(id, static_cast<int64_t>(prng_->Range(1, static_cast<uint64_t>(options_.cluster.tick_us))));
  Flush(n);
}

void KvCluster::Pause(uint64_t id) {
  Node& n = node(id);
  if (!n.core || n.paused) return;
  trace_->Record(loop_->Now(), absl::StrCat("pause node ", id));
  n.paused = true;
}

void KvCluster::Resume(uint64_t id) {
  Node& n = node(id);
  if (!n.core || !n.paused) return;
  trace_->Record(loop_->Now(), absl::StrCat("resume node ", id, " with ", n.inbox.size(), " queued events"));
  n.paused = false;
  const uint64_t incarnation = n.incarnation;
  if (n.synced_while_paused) {
    n.synced_while_paused = false;
    const uint64_t seq = n.persisting->seq;
    n.persisting.reset();
    n.core->Persisted(seq);
  }
  std::deque<std::pair<bool, std::function<void()>>> inbox = std::move(n.inbox);
  n.inbox.clear();
  // A resumed process reads its connections in no particular order: the seed says whether the clients' requests
  // come before the peers' messages or everything in arrival order (each connection keeps its own order).
  if (prng_->Range(0, 1) == 1) {
    std::stable_partition(inbox.begin(), inbox.end(), [](const auto& item) { return item.first; });
  }
  for (auto& [from_client, fn] : inbox) {
    if (!n.core || n.incarnation != incarnation || n.paused) break;
    fn();
  }
  if (n.core && n.incarnation == incarnation) Flush(n);
}

void KvCluster::SetDrift(uint64_t id, double factor) {
  trace_->Record(loop_->Now(), absl::StrCat("clock drift node ", id, " x", factor));
  node(id).drift = factor > 0.01 ? factor : 0.01;
}

void KvCluster::SetDiskError(uint64_t id, bool on_sync, bool on) { node(id).disk.SetError(on_sync, on); }
void KvCluster::SetDiskFull(uint64_t id, bool on) { node(id).disk.SetFull(on); }
std::string KvCluster::FlipBit(uint64_t id, simpb::BitRot::Where where) { return node(id).disk.FlipBit(where, prng_); }

uint64_t KvCluster::Leader() const {
  uint64_t best = 0, best_term = 0;
  for (const auto& n : nodes_) {
    if (!n->core) continue;
    const raft::Raft& r = n->core->raft().raft();
    if (r.state() == raft::StateType::kLeader && r.term() >= best_term) {
      best = n->id;
      best_term = r.term();
    }
  }
  return best;
}

uint64_t KvCluster::CommitIndex(uint64_t id) const {
  const Node& n = node(id);
  return n.core ? n.core->raft().raft().log().committed() : 0;
}

uint64_t KvCluster::applied_index(uint64_t id) const {
  const Node& n = node(id);
  return n.core ? n.core->applied_index() : 0;
}

}  // namespace detcd::sim
