#include "sim/world/kv_cluster.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "kv/corruption_check.h"

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
  founding_ = options_.founding_members > 0 ? options_.founding_members : options_.cluster.nodes;
  DETCD_CHECK(founding_ >= 1 && founding_ <= options_.cluster.nodes);
  for (int i = 1; i <= options_.cluster.nodes; ++i) {
    auto n = std::make_unique<Node>();
    n->id = static_cast<uint64_t>(i);
    if (i <= founding_) {
      n->member = n->id;
      SetHostOf(n->id, n->id);
    }
    nodes_.push_back(std::move(n));
  }
}

std::string KvCluster::Name(const Node& n) {
  if (n.member == n.id) return absl::StrCat("node ", n.id);
  if (n.member == 0) return absl::StrCat("host ", n.id, " (no member)");
  return absl::StrCat("node ", n.member, " (host ", n.id, ")");
}

uint64_t KvCluster::member(uint64_t host) const {
  const Node& n = node(host);
  return n.retired ? 0 : n.member;
}

uint64_t KvCluster::HostOf(uint64_t member) const {
  if (member < host_of_small_.size()) return host_of_small_[member];
  if (member < kSmallIds) return 0;
  auto it = host_of_.find(member);
  return it == host_of_.end() ? 0 : it->second;
}

void KvCluster::SetHostOf(uint64_t member, uint64_t host) {
  DETCD_CHECK(member != 0 && host != 0);
  if (member >= kSmallIds) {
    host_of_[member] = host;
  } else {
    if (member >= host_of_small_.size()) host_of_small_.resize(member + 1, 0);
    host_of_small_[member] = host;
  }
  DETCD_CHECK(HostOf(member) == host);
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
    if (n->member == 0) continue;  // a spare host
    DETCD_CHECK_MSG(Build(*n), "a member could not start on a fresh disk");
    ScheduleTick(n->id, static_cast<int64_t>(prng_->Range(1, static_cast<uint64_t>(options_.cluster.tick_us))));
    if (options_.publish_members) Publish(n->id, n->incarnation);
  }
}

void KvCluster::Started(Node& n) {
  ScheduleTick(n.id, static_cast<int64_t>(prng_->Range(1, static_cast<uint64_t>(options_.cluster.tick_us))));
  Flush(n);
  if (options_.publish_members && n.core) Publish(n.id, n.incarnation);
}

void KvCluster::Publish(uint64_t host, uint64_t incarnation) {
  Node& n = node(host);
  if (n.incarnation != incarnation || !n.core) return;
  kvpb::ClientRequest req;
  req.mutable_member_attributes()->set_id(n.member);
  req.mutable_member_attributes()->set_name(absl::StrCat("m", n.member));
  req.mutable_member_attributes()->add_client_urls(absl::StrCat("http://host", host, ".sim:2379"));
  const uint64_t rid = next_request_++;
  OnMember(host, [this, rid, req, host, incarnation](Node& m) {
    Await(m, rid, [this, host, incarnation](const kv::ClientReply& r) {
      if (r.status.ok()) {
        trace_->Record(loop_->Now(), absl::StrCat(Name(node(host)), " published its name and client URLs"));
        return;
      }
      loop_->ScheduleAfter(200'000, [this, host, incarnation] { Publish(host, incarnation); });
    });
    m.core->Submit(rid, req);
  });
}

bool KvCluster::Build(Node& n) {
  DETCD_CHECK_MSG(n.member != 0 && !n.retired, "a removed member must never run again");
  n.disk.store().set_testing_corrupt_tail_is_torn(options_.testing_corrupt_tail_is_torn);
  absl::StatusOr<DiskState> found = n.disk.Open(n.member, options_.cluster.wal_segment_bytes);
  if (!found.ok()) {
    const bool corrupt = found.status().code() == absl::StatusCode::kDataLoss;
    trace_->Record(
        loop_->Now(),
        absl::StrCat(Name(n), corrupt ? " refuses to start: " : " cannot start: ", found.status().message()));
    if (corrupt) {
      n.refused = true;
      ++refusals_;
      if (on_node_event_) on_node_event_(n.id, "refused to start");
    }
    return false;
  }
  for (const std::string& note : found->notes) trace_->Record(loop_->Now(), absl::StrCat(Name(n), " ", note));
  kv::RecoveredState recovered;
  recovered.snapshot = std::move(found->snapshot);
  recovered.snapshot_data = found->snapshot_data.get();  // read by the core as it starts, a piece at a time
  recovered.hard_state = found->hard_state;
  recovered.entries = std::move(found->entries);
  if (recovered.snapshot.metadata().index() > 0) {
    trace_->Record(loop_->Now(),
                   absl::StrCat(Name(n), " starts from snapshot ", recovered.snapshot.metadata().index()));
  }

  const ClusterOptions& o = options_.cluster;
  kv::NodeCoreConfig c = options_.core;
  c.id = n.member;
  c.peers.clear();
  for (int i = 1; i <= founding_; ++i) c.peers.push_back(static_cast<uint64_t>(i));
  c.join_existing = n.join_existing;
  if (options_.publish_members) {
    for (uint64_t founder : c.peers) {
      kvpb::Member& m = c.founding[founder];
      m.set_id(founder);
      m.set_name(absl::StrCat("m", founder));
      m.add_peer_urls(absl::StrCat("http://host", founder, ".sim:2380"));
    }
  }
  c.election_ticks = o.election_ticks;
  c.heartbeat_ticks = o.heartbeat_ticks;
  c.tick_us = o.tick_us;
  c.pre_vote = o.pre_vote;
  c.check_quorum = o.check_quorum;
  c.max_inflight_msgs = o.max_inflight_msgs;
  c.max_size_per_msg_bytes = o.max_size_per_msg_bytes;
  c.snapshot_count = o.snapshot_count;
  c.snapshot_catch_up_entries = o.snapshot_catch_up_entries;
  c.snapshot_piece_bytes = options_.snapshot_piece_bytes;
  c.seed = prng_->Next();  // each life of each member draws its own election timeouts and ids
  if (options_.corrupt_member != 0 && n.member == options_.corrupt_member) c.kv_testing.corrupt_puts_to = kCanaryKey;
  c.testing = o.testing;
  const uint64_t host = n.id;
  const uint64_t id = n.member;
  c.on_invariant_broken = [this, host](const std::string& what) { checker_->ObserveInvariantBroken(host, what); };
  c.on_message_refused = [this, id](const raftpb::Message& m, const absl::Status& s) {
    // A response from a peer not (or no longer) in this member's configuration is refused as etcd refuses it:
    // membership changes make those. Anything else refused is a message no correct peer sends.
    if (s.code() == absl::StatusCode::kNotFound) return;
    checker_->SetTime(loop_->Now());
    checker_->ObserveStepError(id, m, std::string(s.message()));
  };
  c.on_apply = [this, host, id](const raftpb::Entry& e) {
    checker_->SetTime(loop_->Now());
    // The bootstrap entries are committed from the start and applied as soon as they are durable: the checker learns
    // of their commitment here, before it sees them applied.
    if (const Node& self = node(host); self.core) checker_->ObserveCommit(id, self.core->raft().raft().log());
    checker_->ObserveApply(id, e);
    if (on_apply_) on_apply_(host, e);
  };
  c.on_revision = [this, id](int64_t rev, const std::vector<mvccpb::Event>& events) {
    if (on_revision_) on_revision_(id, rev, events);
  };
  c.on_compact = [this, id](int64_t rev) {
    if (on_compact_) on_compact_(id, rev);
  };
  n.core = std::make_unique<kv::NodeCore>(c, recovered);
  n.last_soft = n.core->raft().raft().soft_state();
  n.last_term = n.core->raft().raft().term();
  n.last_observed.reset();
  n.effects = host::EffectsLoop();  // this life has reported nothing yet
  n.persisting.reset();
  ForgetSnapshotSave(n);
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
  ++n.ticks;
  n.core->Tick(n.local_us);
  n.leaderless_ticks = n.core->leader() == 0 ? n.leaderless_ticks + 1 : 0;
  if (n.leaderless_ticks >= 3 * static_cast<int64_t>(options_.cluster.election_ticks) &&
      std::any_of(streams_.begin(), streams_.end(), [id](const auto& s) { return s.second.node == id; })) {
    trace_->Record(loop_->Now(), absl::StrCat(Name(n), " has no leader: closes its watch streams"));
    BreakStreams(n, /*close_in_member=*/true);
    if (n.incarnation != incarnation || !n.core) return;
  }
  Flush(n);
  if (n.incarnation != incarnation || !n.core) return;
  CheckAnsweredInTime(n);
  if (options_.corrupt_check_ticks > 0 && n.core->is_leader()) CorruptionDuty(n);
}

void KvCluster::CorruptionDuty(Node& n) {
  if (!canary_written_ && !canary_in_flight_) {
    canary_in_flight_ = true;
    kvpb::ClientRequest put;
    put.mutable_put()->set_key(kCanaryKey);
    put.mutable_put()->set_value("canary");
    const uint64_t rid = next_request_++;
    Await(n, rid, [this](const kv::ClientReply& r) {
      canary_in_flight_ = false;
      canary_written_ = r.status.ok();
    });
    n.core->Submit(rid, put);
    Flush(n);
    return;
  }
  if (n.ticks % options_.corrupt_check_ticks != 0) return;
  absl::StatusOr<kv::HashKVResult> mine = n.core->HashKV(0);
  DETCD_CHECK_MSG(mine.ok(), "a member cannot hash its own current revision");
  const kv::HashKVAnswer before{mine->hash, mine->header.revision(), mine->compact_revision};
  std::vector<kv::PeerHashKV> peers;
  for (const std::unique_ptr<Node>& p : nodes_) {
    if (p->id == n.id || !p->core || p->paused) continue;
    kv::PeerHashKV answer;
    answer.member_id = p->member;
    absl::StatusOr<kv::HashKVResult> h = p->core->HashKV(before.revision);
    if (h.ok()) {
      answer.answer = kv::HashKVAnswer{h->hash, h->header.revision(), h->compact_revision};
    } else {
      answer.error = h.status();
    }
    peers.push_back(std::move(answer));
  }
  // The simulated questions take no time: nothing is applied between the leader's two hashes.
  const kv::CorruptionVerdict v = kv::JudgeLeaderHashes(n.member, before, before, peers);
  for (const std::string& line : v.log) {
    trace_->Record(loop_->Now(), absl::StrCat(Name(n), " corruption check: ", line));
  }
  if (v.alarm_member == 0) return;
  kvpb::ClientRequest alarm;
  alarm.mutable_alarm()->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
  alarm.mutable_alarm()->set_memberid(v.alarm_member);
  alarm.mutable_alarm()->set_alarm(etcdserverpb::CORRUPT);
  const uint64_t rid = next_request_++;
  Await(n, rid, [](const kv::ClientReply&) {});  // raised again at the next check if this one is lost
  n.core->Submit(rid, alarm);
  Flush(n);
}

void KvCluster::Await(Node& n, uint64_t rid, ReplyFn fn) {
  const bool fresh =
      n.waiting.emplace(rid, Node::Waiting{std::move(fn), n.ticks + options_.core.request_timeout_ticks}).second;
  DETCD_CHECK_MSG(fresh, "a request id handed to a member twice");
}

void KvCluster::CheckAnsweredInTime(Node& n) {
  for (const auto& [rid, w] : n.waiting) {
    if (w.answer_by_tick > n.ticks) continue;
    checker_->SetTime(loop_->Now());
    checker_->ObserveInvariantBroken(
        n.id, absl::StrCat("client request ", rid, " was not answered within the request timeout (",
                           options_.core.request_timeout_ticks, " ticks): the core lost it"));
    n.waiting.erase(rid);  // reported once
    return;
  }
}

void KvCluster::QueueWhilePaused(Node& n, std::function<void(Node&)> fn, bool from_client) {
  DETCD_CHECK(n.paused && n.core);
  const uint64_t id = n.id;
  const uint64_t incarnation = n.incarnation;
  n.inbox.emplace_back(from_client, [this, id, incarnation, fn = std::move(fn)] {
    Node& m = node(id);
    if (m.incarnation != incarnation || !m.core) return;
    fn(m);
  });
}

void KvCluster::Deliver(std::shared_ptr<const raftpb::Message> shared) {
  const raftpb::Message& m = *shared;
  const uint64_t host = HostOf(m.to());
  if (host == 0) return;
  const Node& to = node(host);
  if (to.member != m.to() || !to.core) return;  // a crashed member hears nothing, nor one that stopped for good
  if (m.type() == raftpb::MSG_SNAP) snapshot_sends_.Delivered(m);  // the stream reached a live process
  OnMember(host, [this, shared = std::move(shared)](Node& n) {
    const raftpb::Message& m = *shared;
    static constexpr absl::string_view kRecv = "recv ";
    char line[kRecv.size() + std::tuple_size_v<MessageKeyBytes>];
    const MessageKeyBytes key = MessageKey(m);
    std::copy(kRecv.begin(), kRecv.end(), line);
    std::copy(key.begin(), key.end(), line + kRecv.size());
    trace_->RecordLazy(loop_->Now(), absl::string_view(line, sizeof(line)),
                       [&m] { return absl::StrCat("recv ", DescribeMessage(m)); });
    if (m.type() == raftpb::MSG_SNAP && !m.snapshot().data().empty()) return ReceiveSnapshot(n, m);
    n.core->Receive(m);
  });
}

bool KvCluster::Submit(uint64_t id, const kvpb::ClientRequest& request, ReplyFn fn, AdmitFn admitted) {
  if (!node(id).core) return false;
  const uint64_t rid = next_request_++;
  OnMember(
      id,
      [this, rid, request, fn = std::move(fn), admitted = std::move(admitted)](Node& n) mutable {
        if (admitted) admitted(*n.core);
        Await(n, rid, std::move(fn));
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
  const raft::SoftState ss = r.soft_state();
  const raft::RaftLog& log = r.log();
  const ObservedState now{n.incarnation,
                          r.term(),
                          ss,
                          log.committed(),
                          log.LastIndex(),
                          log.LastTerm(),
                          log.StableLastIndex(),
                          n.core->applied_index(),
                          n.core->membership().version(),
                          log.PendingSnapshot() != nullptr,
                          checker_->version()};
  // Most passes of an effects loop after the first find nothing moved (their effects went to the simulated network
  // and disk, which answer later): the same checks on the same inputs are skipped. A member that applied its own
  // removal is always observed, so one its host fails to stop is seen at its next event.
  if (n.last_observed == now && !n.core->removed()) return;
  n.last_observed = now;
  if (ss != n.last_soft || r.term() != n.last_term) {
    trace_->Record(loop_->Now(),
                   absl::StrCat(Name(n), " ", raft::StateName(ss.state), " term ", r.term(), " lead ", ss.lead));
    n.last_soft = ss;
    n.last_term = r.term();
  }
  checker_->ObserveRole(n.member, r.term(), r.state(), r.log());
  checker_->ObserveCommit(n.member, r.log());
  if (on_observe_) on_observe_(n.id, *n.core);
}

// How a simulated member carries out its core's effects (host::EffectsLoop decides their order, as for the
// production member): messages into the simulated network, replies to the simulated clients, batches onto the
// simulated disk with a drawn sync latency. Made for one Flush of one incarnation.
class KvCluster::NodeHost final : public host::EffectsHost {
 public:
  NodeHost(KvCluster* cluster, Node& n) : cluster_(cluster), n_(n), incarnation_(n.incarnation) {}

  bool Present() override { return n_.core != nullptr && n_.incarnation == incarnation_ && !n_.paused; }
  void BeforePass() override { cluster_->Observe(n_); }

  void SaveSnapshotPieces(std::vector<kv::SnapshotPiece> pieces) override {
    for (kv::SnapshotPiece& p : pieces) n_.snapshot_pieces.push_back(std::move(p));
    // One at a time: the next once the one being written is reported (false: it died of a disk error).
    if (!n_.writing_piece && !n_.snapshot_pieces.empty()) (void)cluster_->WriteSnapshotPiece(n_);
  }
  bool HoldsSnapshotPieces() override { return !n_.snapshot_pieces.empty(); }
  void Persist(kv::PersistRequest batch) override { cluster_->StartPersist(n_, std::move(batch)); }
  void Send(std::vector<raftpb::Message> messages) override {
    for (raftpb::Message& m : messages) {
      if (m.type() != raftpb::MSG_SNAP || !m.snapshot().data().empty()) continue;
      DETCD_CHECK_MSG(n_.send_ready != nullptr &&
                          n_.send_ready_metadata.SerializeAsString() == m.snapshot().metadata().SerializeAsString(),
                      "a MSG_SNAP without the file made for it");
      // The simulated wire carries the file's bytes in the message (the production transport streams the file).
      m.mutable_snapshot()->set_data(*n_.send_ready);
    }
    cluster_->SendFrom(n_, std::move(messages));
  }
  void Reply(kv::ClientReply reply) override {
    auto it = n_.waiting.find(reply.request_id);
    if (it == n_.waiting.end()) return;
    ReplyFn fn = std::move(it->second.fn);
    n_.waiting.erase(it);
    fn(reply);
  }
  std::vector<uint64_t> WatchStreamsWithRoom() override {
    room_.clear();
    std::vector<uint64_t> sids;
    for (const auto& [handle, s] : cluster_->streams_) {
      if (s.node != n_.id || !s.reading) continue;
      room_.emplace_back(s.sid, handle);
      sids.push_back(s.sid);
    }
    return sids;
  }
  void WatchResponse(uint64_t sid, const etcdserverpb::WatchResponse& response) override {
    auto handle = std::find_if(room_.begin(), room_.end(), [sid](const auto& r) { return r.first == sid; });
    DETCD_CHECK_MSG(handle != room_.end(), "a watch response for a stream that was not offered");
    auto it = cluster_->streams_.find(handle->second);
    if (it == cluster_->streams_.end() || !Present()) return;  // its client went away meanwhile
    WatchFn fn = it->second.on_response;                       // a copy: the callback may close the stream
    fn(response);
  }
  void Removed() override { cluster_->Retire(n_, "applied its own removal: stops for good"); }

 private:
  KvCluster* cluster_;
  Node& n_;
  const uint64_t incarnation_;
  // The streams offered in this pass, (core's id, handle): a member has a few, so a list beats a tree's allocations.
  std::vector<std::pair<kv::WatchHub::StreamId, uint64_t>> room_;
};

void KvCluster::Flush(Node& n) {
  if (n.core == nullptr || n.paused) return;
  NodeHost host(this, n);
  n.effects.Drain(*n.core, host);
  // A finished file for followers serves the MSG_SNAPs of the effects right after its kEnd's report, no later.
  n.send_ready.reset();
}

void KvCluster::StartPersist(Node& n, kv::PersistRequest p) {
  DETCD_CHECK_MSG(!n.persisting, "the core handed out a batch while another was not yet reported persisted");
  const uint64_t incarnation = n.incarnation;
  const std::string received =
      host::InstallsReceivedSnapshot(p) ? n.received->Take(p.snapshot->metadata()) : std::string();
  if (absl::Status s = host::WriteBatch(n.disk.store(), p, received); !s.ok()) return DieOfDiskError(n, s);
  if (p.snapshot) {
    // A leader's snapshot, installed in place of the log this member lacked.
    ++snapshots_installed_;
    trace_->Record(loop_->Now(),
                   absl::StrCat(Name(n), " installs snapshot ", p.snapshot->metadata().index(), " from the leader"));
  }
  const bool sync = host::NeedsSync(p, options_.testing_persist);
  if (p.must_sync && !sync) {
    // Broken on purpose (host::PersistTesting): "durable" now, synced whenever the disk gets to it.
    const uint64_t id = n.id;
    loop_->ScheduleAfter(options_.cluster.sync_latency_max_us, [this, id, incarnation] {
      Node& m = node(id);
      if (m.incarnation == incarnation && m.core) (void)m.disk.Sync();
    });
  }
  n.persisting = std::move(p);
  const ClusterOptions& o = options_.cluster;
  const int64_t latency = sync ? static_cast<int64_t>(prng_->Range(static_cast<uint64_t>(o.sync_latency_min_us),
                                                                   static_cast<uint64_t>(o.sync_latency_max_us)))
                               : 0;
  const uint64_t id = n.id;
  loop_->ScheduleAfter(latency, [this, id, incarnation] { FinishPersist(id, incarnation); });
}

void KvCluster::FinishPersist(uint64_t id, uint64_t incarnation) {
  Node& n = node(id);
  if (n.incarnation != incarnation || !n.core || !n.persisting) return;  // crashed before the sync: all lost
  const kv::PersistRequest& p = *n.persisting;
  if (absl::Status s = host::SyncBatch(n.disk.store(), p, options_.testing_persist); !s.ok())
    return DieOfDiskError(n, s);
  checker_->SetTime(loop_->Now());
  if (p.snapshot) {
    checker_->ObserveSnapshot(n.member, p.snapshot->metadata().index(), p.snapshot->metadata().term());
  }
  if (!p.entries.empty()) checker_->ObservePersisted(n.member, p.entries);
  if (n.paused) {
    // The disk finished, but a stopped process cannot see it until it resumes.
    n.synced_while_paused = true;
    return;
  }
  if (ReportPersisted(n)) Flush(n);
}

void KvCluster::SendAll(std::vector<raftpb::Message> msgs) {
  for (raftpb::Message& m : msgs) {
    if (m.type() == raftpb::MSG_SNAP) snapshot_sends_.Sent(m, node(HostOf(m.from())).incarnation);
    network_->Send(std::move(m));
  }
}

namespace {

// Whether m is a message whose sender vouches for state it must have made durable before sending it.
bool DependsOnDurableState(const raftpb::Message& m, simpb::CrashAfterSend::Message which) {
  if (m.to() == m.from() || m.reject()) return false;
  const bool vote = m.type() == raftpb::MSG_VOTE_RESP || m.type() == raftpb::MSG_PRE_VOTE_RESP;
  const bool append = m.type() == raftpb::MSG_APP_RESP;
  switch (which) {
    case simpb::CrashAfterSend::VOTE_RESP:
      return vote;
    case simpb::CrashAfterSend::APP_RESP:
      return append;
    default:
      return vote || append;
  }
}

}  // namespace

void KvCluster::SendFrom(Node& n, std::vector<raftpb::Message> msgs) {
  if (!n.crash_after_send) return SendAll(std::move(msgs));
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (!DependsOnDurableState(msgs[i], n.crash_after_send->which)) continue;
    const std::string sent = DescribeMessage(msgs[i]);
    const size_t never_sent = msgs.size() - i - 1;
    msgs.resize(i + 1);
    SendAll(std::move(msgs));
    std::function<void(const std::string&)> crashed = std::move(n.crash_after_send->crashed);
    n.crash_after_send.reset();
    trace_->Record(loop_->Now(),
                   absl::StrCat("crash ", Name(n), " right after sending ", sent,
                                never_sent > 0 ? absl::StrCat(" (", never_sent, " more never leave)") : std::string()));
    CrashNode(n);
    DETCD_CHECK(!n.core);
    if (crashed) crashed(sent);
    return;
  }
  SendAll(std::move(msgs));
}

void KvCluster::ReportSnapshot(uint64_t from, uint64_t incarnation, uint64_t to, bool failed) {
  const uint64_t host = HostOf(from);
  if (host == 0) return;
  Node& n = node(host);
  if (n.member != from || n.incarnation != incarnation || !n.core) return;
  OnMember(host, [this, from, to, failed](Node& m) {
    trace_->Record(loop_->Now(), absl::StrCat("node ", from, " snapshot to ", to, failed ? " failed" : " delivered"));
    m.core->ReportSnapshot(to, failed);
  });
}

void KvCluster::PowerOff(Node& n) {
  if (n.snapshot_file) {
    trace_->Record(loop_->Now(), absl::StrCat(Name(n), " crashes mid-save: ", n.snapshot_file->temporary_path(),
                                              " is left half-written"));
  }
  n.core.reset();
  ++n.incarnation;
  n.paused = false;
  n.drift = 1.0;
  n.inbox.clear();
  n.persisting.reset();
  ForgetSnapshotSave(n);
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
  trace_->Record(loop_->Now(), absl::StrCat("crash ", Name(n)));
  CrashNode(n);
}

void KvCluster::CrashNode(Node& n) {
  DETCD_CHECK(n.core);
  if (on_node_event_) on_node_event_(n.id, "crash");
  PowerOff(n);
  ++crashes_;
}

void KvCluster::DieOfDiskError(Node& n, const absl::Status& error) {
  trace_->Record(loop_->Now(), absl::StrCat(Name(n), " dies of a disk error: ", error.message()));
  if (on_node_event_) on_node_event_(n.id, "disk error");
  PowerOff(n);
  ++disk_deaths_;
  const uint64_t id = n.id;
  const uint64_t member = n.member;
  // The supervisor restarts its own member, not whatever the host runs by then.
  loop_->ScheduleAfter(options_.cluster.supervisor_restart_us, [this, id, member] {
    if (node(id).member == member) Restart(id);
  });
}

void KvCluster::Restart(uint64_t id) {
  Node& n = node(id);
  if (n.core || n.refused || n.member == 0) return;
  if (n.retired) {
    trace_->Record(loop_->Now(), absl::StrCat(Name(n), " was removed: it stays down"));
    return;
  }
  trace_->Record(loop_->Now(), absl::StrCat("restart ", Name(n)));
  if (!Build(n)) {
    if (!n.refused) {
      const uint64_t member = n.member;
      loop_->ScheduleAfter(options_.cluster.supervisor_restart_us, [this, id, member] {
        if (node(id).member == member) Restart(id);
      });
    }
    return;
  }
  checker_->SetTime(loop_->Now());
  checker_->ObserveRestart(n.member, n.core->storage().InitialHardState(), n.core->storage().all_entries());
  if (on_node_event_) on_node_event_(id, "restart");
  Started(n);
}

void KvCluster::Pause(uint64_t id) {
  Node& n = node(id);
  if (!n.core || n.paused) return;
  trace_->Record(loop_->Now(), absl::StrCat("pause ", Name(n)));
  if (on_node_event_) on_node_event_(id, "pause");
  n.paused = true;
}

void KvCluster::Resume(uint64_t id) {
  Node& n = node(id);
  if (!n.core || !n.paused) return;
  trace_->Record(loop_->Now(), absl::StrCat("resume ", Name(n), " with ", n.inbox.size(), " queued events"));
  if (on_node_event_) on_node_event_(id, "resume");
  n.paused = false;
  const uint64_t incarnation = n.incarnation;
  if (n.synced_while_paused) {
    n.synced_while_paused = false;
    if (!ReportPersisted(n)) return;
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
  trace_->Record(loop_->Now(), absl::StrCat("clock drift ", Name(node(id)), " x", factor));
  node(id).drift = factor > 0.01 ? factor : 0.01;
}

void KvCluster::SetDiskError(uint64_t id, bool on_sync, bool on) { node(id).disk.SetError(on_sync, on); }
void KvCluster::SetDiskFull(uint64_t id, bool on) { node(id).disk.SetFull(on); }
std::string KvCluster::FlipBit(uint64_t id, simpb::BitRot::Where where) { return node(id).disk.FlipBit(where, prng_); }
std::string KvCluster::CorruptWalTail(uint64_t id, uint32_t records) {
  return node(id).disk.CorruptWalTail(records, prng_);
}

void KvCluster::ArmCrashAfterSend(uint64_t id, simpb::CrashAfterSend::Message which,
                                  std::function<void(const std::string& sent)> crashed) {
  node(id).crash_after_send = Node::SendTrigger{which, std::move(crashed)};
}

void KvCluster::DisarmCrashAfterSend(uint64_t id) { node(id).crash_after_send.reset(); }

void KvCluster::Retire(Node& n, const std::string& why) {
  trace_->Record(loop_->Now(), absl::StrCat(Name(n), " ", why));
  const bool was_running = n.core != nullptr;
  if (was_running) {
    PowerOff(n);
  } else {
    n.disk.Close();
  }
  n.retired = true;
  if (was_running) ++removed_stops_;
  if (on_stopped_) on_stopped_(n.member);
}

void KvCluster::Decommission(uint64_t host) {
  Node& n = node(host);
  if (n.member == 0 || n.retired) return;
  Retire(n, n.core ? "is shut down by the operator (removed from the cluster)"
                   : "is decommissioned by the operator (removed from the cluster; it stays down)");
}

void KvCluster::StartNewMember(uint64_t host, uint64_t id) {
  DETCD_CHECK_MSG(member(host) == 0, "a new member needs a free host");
  DETCD_CHECK_MSG(id != 0 && HostOf(id) == 0, "a new member has an id no host ever ran");
  DETCD_CHECK(!node(host).core);
  // A wiped host: a new disk, a new process; events of the host's earlier lives are ignored (incarnation).
  auto fresh = std::make_unique<Node>();
  fresh->id = host;
  fresh->member = id;
  fresh->join_existing = true;
  fresh->incarnation = node(host).incarnation + 1;
  nodes_[host - 1] = std::move(fresh);
  SetHostOf(id, host);
  Node& n = node(host);
  trace_->Record(loop_->Now(), absl::StrCat("start new ", Name(n), " joining the cluster"));
  ++members_started_;
  DETCD_CHECK_MSG(Build(n), "a new member could not start on a wiped disk");
  checker_->SetTime(loop_->Now());
  checker_->ObserveRestart(n.member, n.core->storage().InitialHardState(), n.core->storage().all_entries());
  if (on_node_event_) on_node_event_(id, "restart");
  Started(n);
}

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

std::vector<uint64_t> KvCluster::LearnerHosts(uint64_t id) const {
  std::vector<uint64_t> hosts;
  const Node& n = node(id);
  if (!n.core) return hosts;
  for (uint64_t learner : n.core->raft().raft().tracker().learners()) {
    const uint64_t host = HostOf(learner);
    if (host != 0 && host != id && member(host) == learner) hosts.push_back(host);
  }
  return hosts;
}

bool KvCluster::NeedsSnapshotOfNewConfig(uint64_t id) const {
  const uint64_t leader = Leader();
  const Node& n = node(id);
  if (leader == 0 || leader == id || !n.core) return false;
  const raft::Raft& lr = node(leader).core->raft().raft();
  const raft::Raft& r = n.core->raft().raft();
  // The leader sends a snapshot when the next entry the member needs is no longer in its log.
  if (r.log().LastIndex() + 1 >= lr.log().FirstIndex()) return false;
  return lr.tracker().voters() != r.tracker().voters() || lr.tracker().learners() != r.tracker().learners();
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
