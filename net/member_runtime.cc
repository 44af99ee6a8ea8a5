#include "net/member_runtime.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "host/persist.h"
#include "kv/errors.h"

namespace detcd::net {

namespace {

int64_t MonotonicUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

MemberRuntime::MemberRuntime(const MemberRuntimeOptions& options)
    : options_(options), store_(&disk_, options.data_dir, options.wal_dir) {
  store_.SetRetention(options.max_snapshots, options.max_wals);
}

absl::StatusOr<std::unique_ptr<MemberRuntime>> MemberRuntime::Start(const MemberRuntimeOptions& options) {
  if (options.core.id == 0) return absl::InvalidArgumentError("member id must not be 0");
  if (options.core.tick_us <= 0) return absl::InvalidArgumentError("tick interval must be positive");
  std::unique_ptr<MemberRuntime> rt(new MemberRuntime(options));
  if (absl::Status s = rt->disk_.MkdirAll(options.data_dir); !s.ok()) return s;
  absl::StatusOr<storage::RecoveredMember> found = rt->store_.Open(options.core.id, options.wal_segment_bytes);
  if (!found.ok()) return found.status();
  for (const std::string& note : found->notes) rt->Log(note);
  kv::RecoveredState recovered;
  recovered.snapshot = std::move(found->snapshot);
  recovered.snapshot_data = found->snapshot_data.get();  // read by the core as it starts, a piece at a time
  recovered.hard_state = found->hard_state;
  recovered.entries = std::move(found->entries);
  if (recovered.snapshot.metadata().index() > 0) {
    rt->Log(absl::StrCat("recovered from snapshot at index ", recovered.snapshot.metadata().index()));
  }
  kv::NodeCoreConfig c = options.core;
  if (c.seed == 0) c.seed = static_cast<uint64_t>(MonotonicUs()) ^ (c.id << 32);  // election timeouts; ids
  if (!c.logger) c.logger = options.log;
  rt->core_ = std::make_unique<kv::NodeCore>(c, recovered);
  if (c.peers.size() == 1 && c.election_ticks > 1) {
    // As etcd does for a single member: no peer to wait for, so skip most of the first election timeout.
    rt->Log(absl::StrCat(absl::Hex(c.id), " as single-node; fast-forwarding ", c.election_ticks - 1,
                         " ticks (election ticks ", c.election_ticks, ")"));
    const int64_t now = MonotonicUs();
    for (int i = 0; i < c.election_ticks - 1; ++i) rt->core_->Tick(now);
  }
  rt->last_tick_us_ = MonotonicUs();
  rt->running_ = true;
  rt->snapshot_thread_ = std::make_unique<JobThread>([p = rt.get()](const absl::Status& s) {
    p->disk_failed_ = true;
    p->Fail(s);
  });
  rt->disk_thread_ = std::thread([p = rt.get()] {
    pthread_setname_np(pthread_self(), "detcd-disk");  // for top -H and perf
    p->DiskLoop();
  });
  rt->thread_ = std::thread([p = rt.get()] {
    pthread_setname_np(pthread_self(), "detcd-core");
    p->Loop();
  });
  return rt;
}

MemberRuntime::~MemberRuntime() { Stop(); }

void MemberRuntime::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  running_ = false;
}

bool MemberRuntime::Post(std::function<void()> task, Drainer drainer) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return false;
    tasks_.push_back(std::move(task));
    if (draining_) return true;  // whoever holds the core runs it before letting go
    if (drainer == Drainer::kCoreThread) {
      cv_.notify_one();
      return true;
    }
    draining_ = true;
  }
  Drain(kPosterRounds);
  return true;
}

void MemberRuntime::Drain(int max_rounds) {
  for (int round = 0;; ++round) {
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard<std::mutex> l(mu_);
      DETCD_CHECK_MSG(draining_, "the core run by a thread that does not hold it");
      if (stopping_ || tasks_.empty() || round == max_rounds) {
        // Let go; what is left (a poster's rounds ran out) is the core thread's.
        draining_ = false;
        if (stopping_ || !tasks_.empty()) cv_.notify_all();
        return;
      }
      batch.swap(tasks_);
    }
    // Every event of the batch first, then the effects once: proposals that arrived together become one Raft
    // append (one Ready, one WAL write), and replies, messages and watch responses leave together.
    const uint64_t applied_before = core_->applied_index();
    const int64_t start_us = MonotonicUs();
    for (auto& task : batch) {
      task();
      if (!running_) break;
    }
    if (running_) {
      Flush();
      CheckLeaderWaits(MonotonicUs());
      ObserveApplyRound(applied_before, start_us);
    }
  }
}

void MemberRuntime::Submit(kvpb::ClientRequest request, ReplyFn done) {
  // Overload is met with etcd's error, never with unbounded memory: a request beyond the bound is refused at once.
  if (requests_in_flight_.fetch_add(1) >= options_.max_requests_in_flight) {
    requests_in_flight_.fetch_sub(1);
    kv::ClientReply r;
    r.status = kv::ErrTooManyRequests();
    done(std::move(r));
    return;
  }
  auto pending = std::make_shared<PendingReply>(this, std::move(done));
  (void)Post(
      [this, request = std::move(request), pending] {
        const uint64_t id = next_request_++;
        const int64_t deadline_us = last_tick_us_ + options_.core.tick_us + RequestDeadlineUs();
        const bool fresh = waiting_.emplace(id, Waiting{std::exchange(pending->fn, nullptr), deadline_us}).second;
        DETCD_CHECK_MSG(fresh, "a request id handed out twice");
        core_->Submit(id, request);
      },
      Drainer::kPoster);
  // Not posted (stopping), or dropped unrun at shutdown: the last owner of `pending` answers "server stopped".
}

MemberRuntime::PendingReply::~PendingReply() {
  if (!fn) return;  // handed to the core thread
  runtime->requests_in_flight_.fetch_sub(1);
  kv::ClientReply r;
  r.status = kv::ErrStopped();
  fn(std::move(r));
}

kv::ClientReply MemberRuntime::Call(const kvpb::ClientRequest& request, absl::Duration timeout) {
  auto promise = std::make_shared<std::promise<kv::ClientReply>>();
  std::future<kv::ClientReply> future = promise->get_future();
  Submit(request, [promise](kv::ClientReply r) { promise->set_value(std::move(r)); });
  if (future.wait_for(absl::ToChronoMilliseconds(timeout)) != std::future_status::ready) {
    kv::ClientReply r;
    r.status = kv::ErrTimeout();  // the request may still take effect
    return r;
  }
  return future.get();
}

// A peer's message is run by the transport's thread itself when the core is free (it calls deliver holding none of
// its locks; its rounds are bounded, so its sockets wait little): no wake-up of the core thread per message batch.
// The transport's other news goes to the core thread.
void MemberRuntime::Receive(raftpb::Message m) {
  if (m.type() == raftpb::MSG_SNAP && m.snapshot().data().empty()) {
    // A snapshot's bytes come with its message or in its file (ReceiveSnapshot): one with neither is bad input from
    // the network, never a snapshot to install.
    Log(absl::StrCat("refused a snapshot without data from ", absl::Hex(m.from())));
    return;
  }
  (void)Post([this, m = std::move(m)] { core_->Receive(m); }, Drainer::kPoster);
}

void MemberRuntime::ReportUnreachable(uint64_t peer) {
  (void)Post([this, peer] { core_->ReportUnreachable(peer); }, Drainer::kCoreThread);
}

void MemberRuntime::ReportSnapshot(uint64_t peer, bool failed) {
  (void)Post([this, peer, failed] { core_->ReportSnapshot(peer, failed); }, Drainer::kCoreThread);
}

uint64_t MemberRuntime::OpenWatch(WatchFn on_response, std::function<void()> on_stopped) {
  const uint64_t id = next_stream_++;
  const bool posted = Post([this, id, fn = std::move(on_response), stopped = on_stopped]() mutable {
    const kv::WatchHub::StreamId sid = core_->OpenWatchStream();
    streams_[id] = WatchStream{sid, std::move(fn), std::move(stopped), false};
    DETCD_CHECK_MSG(stream_ids_.emplace(sid, id).second, "the core gave a watch stream id twice");
  });
  if (!posted && on_stopped) on_stopped();
  return id;
}

void MemberRuntime::Watch(uint64_t stream, const etcdserverpb::WatchRequest& request,
                          const kvpb::RequestAuth& auth) {
  (void)Post([this, stream, request, auth] {
    auto it = streams_.find(stream);
    if (it != streams_.end()) core_->Watch(it->second.sid, request, auth);
  });
}

void MemberRuntime::ResumeWatch(uint64_t stream) {
  (void)Post([this, stream] {
    auto it = streams_.find(stream);
    if (it != streams_.end()) it->second.paused = false;
  });
}

void MemberRuntime::CloseWatch(uint64_t stream) {
  (void)Post([this, stream] {
    auto it = streams_.find(stream);
    if (it == streams_.end()) return;
    core_->CloseWatchStream(it->second.sid);
    DETCD_CHECK(stream_ids_.erase(it->second.sid) == 1);
    streams_.erase(it);
  });
}

namespace {

// etcd's raft.Status.MarshalJSON (ids in hex; the progress, of a leader only, here in id order).
std::string RaftStatusJson(const raft::Raft& r, uint64_t applied) {
  auto hex = [](uint64_t v) {
    char b[20];
    std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
    return std::string(b);
  };
  std::string j =
      absl::StrCat("{\"id\":\"", hex(r.id()), "\",\"term\":", r.term(), ",\"vote\":\"", hex(r.vote()),
                   "\",\"commit\":", r.log().committed(), ",\"lead\":\"", hex(r.lead()), "\",\"raftState\":\"",
                   raft::StateName(r.state()), "\",\"applied\":", applied, ",\"progress\":{");
  if (r.state() == raft::StateType::kLeader) {
    bool first = true;
    for (const auto& [id, p] : r.tracker().progress()) {
      absl::StrAppend(&j, first ? "" : ",", "\"", hex(id), "\":{\"match\":", p.match, ",\"next\":", p.next,
                      ",\"state\":\"", raft::ProgressStateName(p.state), "\"}");
      first = false;
    }
  }
  absl::StrAppend(&j, "},\"leadtransferee\":\"", hex(r.lead_transferee()), "\"}");
  return j;
}

}  // namespace

MemberStatus MemberRuntime::Status() {
  auto promise = std::make_shared<std::promise<MemberStatus>>();
  std::future<MemberStatus> future = promise->get_future();
  const bool posted = Post([this, promise] {
    MemberStatus s;
    s.member_id = options_.core.id;
    s.cluster_id = options_.core.cluster_id;
    s.leader = core_->leader();
    s.raft_term = core_->raft().raft().term();
    s.raft_index = core_->raft().raft().log().committed();
    s.applied_index = core_->applied_index();
    s.revision = core_->store().rev();
    s.db_size = core_->store().bytes();
    s.alarms = core_->alarms();
    s.members = core_->membership().ToEtcd();
    if (const kvpb::Member* self = core_->membership().Find(options_.core.id)) s.is_learner = self->is_learner();
    {
      std::lock_guard<std::mutex> l(timings_mu_);
      s.wal_fsync = wal_fsync_;
      s.backend_commit = backend_commit_;
      s.slow_applies = slow_applies_;
    }
    s.mvcc_ops = core_->mvcc_op_counts();
    s.keys = core_->store().live_keys();
    s.watchers = core_->watch_hub().watchers();
    s.slow_watchers = core_->watch_hub().unsynced_watchers();
    s.watch_streams = core_->watch_hub().streams();
    s.proposals_pending = core_->proposals_pending();
    s.proposals_failed = core_->proposals_failed();
    s.quota_bytes = options_.core.quota_bytes;
    s.heartbeat_send_failures = heartbeat_send_failures_.load(std::memory_order_relaxed);
    s.raft_status_json = RaftStatusJson(core_->raft().raft(), core_->applied_index());
    promise->set_value(s);
  });
  if (!posted || future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    MemberStatus s;
    s.member_id = options_.core.id;
    s.cluster_id = options_.core.cluster_id;
    return s;
  }
  return future.get();
}


absl::StatusOr<kv::HashKVResult> MemberRuntime::HashKV(int64_t revision, absl::Duration timeout) {
  std::optional<absl::StatusOr<kv::HashKVResult>> r =
      OnCore<absl::StatusOr<kv::HashKVResult>>([this, revision] { return core_->HashKV(revision); }, timeout);
  if (!r) return running() ? kv::ErrTimeout() : kv::ErrStopped();
  return *std::move(r);
}

void MemberRuntime::HashKVAsync(int64_t revision, std::function<void(absl::StatusOr<kv::HashKVResult>)> done) {
  (void)Post([this, revision, done = std::move(done)] { done(core_->HashKV(revision)); }, Drainer::kCoreThread);
}

absl::StatusOr<kv::HashResult> MemberRuntime::Hash(absl::Duration timeout) {
  std::optional<kv::HashResult> r = OnCore<kv::HashResult>([this] { return core_->Hash(); }, timeout);
  if (!r) return running() ? kv::ErrTimeout() : kv::ErrStopped();
  return *std::move(r);
}


absl::StatusOr<etcdserverpb::ResponseHeader> MemberRuntime::MoveLeader(uint64_t target, absl::Duration timeout) {
  using Result = absl::StatusOr<etcdserverpb::ResponseHeader>;
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> future = promise->get_future();
  const int64_t deadline_us = MonotonicUs() + absl::ToInt64Microseconds(timeout);
  const bool posted = Post([this, target, deadline_us, promise] {
    if (absl::Status s = core_->TransferLeadership(target); !s.ok()) return promise->set_value(s);
    Log(absl::StrCat("leadership transfer starting: ", absl::Hex(options_.core.id), " to ", absl::Hex(target)));
    leader_waits_.push_back(LeaderWait{target, deadline_us, [promise](Result r) { promise->set_value(std::move(r)); }});
  });
  if (!posted) return kv::ErrStopped();
  // The core thread answers by the deadline (checked every tick); the margin only guards against a stuck thread.
  if (future.wait_for(absl::ToChronoMicroseconds(timeout + absl::Seconds(1))) != std::future_status::ready) {
    return kv::ErrLeaderTransferTimeout();
  }
  return future.get();
}

absl::StatusOr<bool> MemberRuntime::HandOverLeadership(absl::Duration timeout) {
  auto promise = std::make_shared<std::promise<std::pair<bool, uint64_t>>>();  // (leads, transferee)
  std::future<std::pair<bool, uint64_t>> future = promise->get_future();
  if (!Post([this, promise] { promise->set_value({core_->is_leader(), core_->MostCaughtUpVoter()}); })) {
    return kv::ErrStopped();
  }
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return kv::ErrTimeout();
  const auto [leads, target] = future.get();
  // etcd's words (etcdserver.TransferLeadership).
  if (!leads) {
    Log("skipped leadership transfer for stopping non-leader member");
    return false;
  }
  if (target == 0) {
    Log("skipped leadership transfer for single voting member cluster");
    return false;
  }
  const int64_t start_us = MonotonicUs();
  absl::StatusOr<etcdserverpb::ResponseHeader> moved = MoveLeader(target, timeout);
  if (!moved.ok()) return moved.status();
  Log(absl::StrCat(absl::Hex(options_.core.id), " finished leadership transfer to ", absl::Hex(target), " (took ",
                   (MonotonicUs() - start_us) / 1000, "ms)"));
  return true;
}

int64_t MemberRuntime::RequestDeadlineUs() const {
  // The core answers every request by its own timeout; a second more is the runtime's margin.
  return options_.core.request_timeout_ticks * options_.core.tick_us + 1'000'000;
}

void MemberRuntime::Answer(std::map<uint64_t, Waiting>::iterator it, kv::ClientReply reply) {
  DETCD_CHECK(it != waiting_.end() && it->first == reply.request_id);
  ReplyFn fn = std::move(it->second.fn);
  waiting_.erase(it);
  DETCD_CHECK_MSG(requests_in_flight_.fetch_sub(1) > 0, "more requests answered than submitted");
  fn(std::move(reply));
}

void MemberRuntime::AnswerOverdue(int64_t now_us) {
  // Ids grow with submission, and so do deadlines: the overdue ones are first.
  while (!waiting_.empty() && waiting_.begin()->second.deadline_us <= now_us) {
    kv::ClientReply r;
    r.request_id = waiting_.begin()->first;
    r.status = kv::ErrTimeout();  // its outcome is unknown, as for any timed-out request
    Log(absl::StrCat("request ", r.request_id,
                     " was not answered by its deadline: answered 'request timed out' (the "
                     "core must answer every request it takes)"));
    Answer(waiting_.begin(), std::move(r));
  }
}

void MemberRuntime::CheckLeaderWaits(int64_t now_us) {
  if (leader_waits_.empty()) return;
  const uint64_t leader = core_->leader();
  // std::remove_if: an element kept in place is never moved onto itself (which empties a vector or string).
  auto done = std::remove_if(leader_waits_.begin(), leader_waits_.end(), [&](LeaderWait& w) {
    if (leader == w.target) {
      Log(absl::StrCat("leadership transfer finished: ", absl::Hex(w.target), " leads"));
      w.done(core_->Header());
      return true;
    }
    if (now_us < w.deadline_us) return false;
    w.done(kv::ErrLeaderTransferTimeout());
    return true;
  });
  leader_waits_.erase(done, leader_waits_.end());
}

void MemberRuntime::Loop() {
  int64_t next_tick = MonotonicUs() + options_.core.tick_us;
  for (;;) {
    {
      // Sleep until a tick is due or there is work nobody else is running; then take the core.
      std::unique_lock<std::mutex> l(mu_);
      for (;;) {
        if (stopping_) {
          if (!draining_) break;  // the last holder let go: shut down
        } else if (!draining_ && (!tasks_.empty() || MonotonicUs() >= next_tick)) {
          break;
        }
        const int64_t wait_us = std::max<int64_t>(next_tick - MonotonicUs(), 1);
        cv_.wait_for(l, std::chrono::microseconds(wait_us));
      }
      if (stopping_) break;
      draining_ = true;
    }
    const int64_t now = MonotonicUs();
    if (now >= next_tick) {
      last_tick_us_ = now;
      const uint64_t applied_before = core_->applied_index();
      core_->Tick(now);
      Flush();
      AnswerOverdue(now);
      ObserveApplyRound(applied_before, now);
      // A late tick is not made up for: the next comes one interval from now.
      next_tick = now + options_.core.tick_us;
    }
    CheckLeaderWaits(now);
    Drain(std::numeric_limits<int>::max());
  }
  {
    // Tasks that will never run: a request among them is answered "server stopped" as its task goes.
    std::deque<std::function<void()>> dropped;
    std::lock_guard<std::mutex> l(mu_);
    dropped.swap(tasks_);
  }
  for (auto& [id, stream] : streams_) {
    if (stream.on_stopped) stream.on_stopped();
  }
  stream_ids_.clear();
  streams_.clear();  // and their callbacks go now, with whatever they hold (a gRPC call), not with this object
  for (LeaderWait& w : leader_waits_) w.done(kv::ErrStopped());
  leader_waits_.clear();
  // Whoever still waits hears that the server stopped.
  while (!waiting_.empty()) {
    kv::ClientReply r;
    r.request_id = waiting_.begin()->first;
    r.status = kv::ErrStopped();
    Answer(waiting_.begin(), std::move(r));
  }
  // The snapshot piece being written finishes; the rest are dropped: a half-written file stays as "<name>.tmp",
  // which the next start removes (and its marker alone is ignored at recovery).
  snapshot_thread_->Stop();
  {
    std::lock_guard<std::mutex> l(disk_mu_);
    disk_stopping_ = true;
  }
  disk_cv_.notify_all();
  if (disk_thread_.joinable()) disk_thread_.join();
  store_.Close();
  running_ = false;
}

void MemberRuntime::ObserveApplyRound(uint64_t applied_before, int64_t start_us) {
  const uint64_t applied = core_->applied_index();
  if (applied == applied_before) return;
  const int64_t took_us = MonotonicUs() - start_us;
  bool slow = false;
  {
    std::lock_guard<std::mutex> l(timings_mu_);
    backend_commit_.Observe(static_cast<double>(took_us) / 1e6);
    if (took_us > options_.slow_apply_us) {
      ++slow_applies_;
      slow = true;
    }
  }
  if (slow) {
    Log(absl::StrCat("apply request took too long (took ", absl::FormatDuration(absl::Microseconds(took_us)),
                     ", expected-duration ", absl::FormatDuration(absl::Microseconds(options_.slow_apply_us)),
                     ", applied entries ", applied_before + 1, "..", applied, ")"));
  }
}

void MemberRuntime::Flush() {
  // Replies and watch responses of one drain leave together (one write per client connection), not one by one.
  if (options_.reply_batch_begin) options_.reply_batch_begin();
  effects_.Drain(*core_, *this);
  leader_.store(core_->leader(), std::memory_order_relaxed);
  // A finished file for followers serves the MSG_SNAPs of the effects right after its kEnd's report, no later.
  send_ready_.reset();
  if (options_.reply_batch_end) options_.reply_batch_end();
}

void MemberRuntime::Persist(kv::PersistRequest request) {
  // Group commit: the disk thread writes and syncs this batch while the core goes on; whatever is proposed meanwhile
  // forms the next batch, taken once the core hears this one is durable.
  auto batch = std::make_shared<kv::PersistRequest>(std::move(request));
  // A leader's snapshot that came without data: the file it was received into becomes this member's snapshot.
  std::string received;
  if (host::InstallsReceivedSnapshot(*batch)) received = received_.Take(batch->snapshot->metadata());
  ToDisk([this, batch, received] {
    if (absl::Status s = host::WriteBatch(store_, *batch, received); !s.ok()) return s;
    if (host::NeedsSync(*batch, options_.testing_persist)) {
      const auto start = std::chrono::steady_clock::now();
      if (absl::Status s = host::SyncBatch(store_, *batch, options_.testing_persist); !s.ok()) return s;
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
      std::lock_guard<std::mutex> l(timings_mu_);
      wal_fsync_.Observe(took.count());
    }
    // The disk thread runs the core itself (no hand-off): the batch is durable, the next one is taken at once.
    const uint64_t seq = batch->seq;
    if (host::InstallsReceivedSnapshot(*batch)) {
      // The core restores from the installed file, a piece at a time (checked once more on the way).
      absl::StatusOr<std::unique_ptr<storage::SnapshotFileReader>> data =
          host::OpenInstalledSnapshot(&disk_, store_, *batch);
      if (!data.ok()) return data.status();
      std::shared_ptr<storage::SnapshotFileReader> reader = std::move(*data);
      Log(absl::StrCat("installed the leader's snapshot at index ", batch->snapshot->metadata().index(), " (",
                       reader->layout().file_bytes, " bytes)"));
      (void)Post([this, seq, reader] { core_->Persisted(seq, reader.get()); }, Drainer::kPoster);
      return absl::OkStatus();
    }
    (void)Post([this, seq] { core_->Persisted(seq); }, Drainer::kPoster);
    return absl::OkStatus();
  });
}

void MemberRuntime::Send(std::vector<raftpb::Message> messages) {
  if (!options_.send) return;  // a single member: nobody to send to
  int64_t now_us = -1;         // read once, and only for heartbeats
  for (raftpb::Message& m : messages) {
    if (m.type() == raftpb::MSG_HEARTBEAT) {
      if (now_us < 0) now_us = MonotonicUs();
      ObserveHeartbeat(m.to(), now_us);
    }
    std::shared_ptr<storage::ReadableFile> file;
    if (m.type() == raftpb::MSG_SNAP && m.snapshot().data().empty()) {
      DETCD_CHECK_MSG(
          send_ready_ && send_ready_->metadata.SerializeAsString() == m.snapshot().metadata().SerializeAsString(),
          "a MSG_SNAP without the file made for it");
      file = send_ready_->file;
    }
    options_.send(std::move(m), std::move(file));
  }
}

void MemberRuntime::ObserveHeartbeat(uint64_t to, int64_t now_us) {
  if (core_->leader() != heartbeat_leader_) {
    heartbeat_leader_ = core_->leader();
    last_heartbeat_us_.clear();
  }
  auto [it, first] = last_heartbeat_us_.emplace(to, now_us);
  if (first) return;
  const int64_t max_us = 2 * options_.core.tick_us * options_.core.heartbeat_ticks;
  const int64_t exceeded_us = now_us - it->second - max_us;
  it->second = now_us;
  if (exceeded_us <= 0) return;
  heartbeat_send_failures_.fetch_add(1, std::memory_order_relaxed);
  // etcd's warning (capnslog), with Go's durations.
  char to_hex[20];
  std::snprintf(to_hex, sizeof to_hex, "%llx", static_cast<unsigned long long>(to));
  Log(absl::StrCat("failed to send out heartbeat on time (exceeded the ",
                   absl::FormatDuration(absl::Microseconds(max_us / 2)), " timeout for ",
                   absl::FormatDuration(absl::Microseconds(exceeded_us)), ", to ", to_hex, ")"));
  Log("server is likely overloaded");
}

void MemberRuntime::Reply(kv::ClientReply reply) {
  auto it = waiting_.find(reply.request_id);
  if (it == waiting_.end()) return;  // answered already (by its deadline)
  Answer(it, std::move(reply));
}

std::vector<uint64_t> MemberRuntime::WatchStreamsWithRoom() {
  std::vector<uint64_t> sids;
  for (const auto& [id, stream] : streams_) {
    if (!stream.paused) sids.push_back(stream.sid);
  }
  return sids;
}

void MemberRuntime::WatchResponse(uint64_t sid, const etcdserverpb::WatchResponse& response) {
  auto id = stream_ids_.find(sid);
  DETCD_CHECK_MSG(id != stream_ids_.end(), "a watch response for a stream this member does not have");
  WatchStream& stream = streams_.at(id->second);
  DETCD_CHECK(stream.sid == sid);
  // The rest of the take still goes to it; then it waits until the consumer resumes it.
  if (!stream.on_response(response)) stream.paused = true;
}

void MemberRuntime::MembersChanged(const kv::Membership& membership) {
  if (!options_.on_members) return;
  std::vector<kvpb::Member> members;
  for (const auto& [id, m] : membership.members()) members.push_back(m);
  options_.on_members(members, membership.removed());
}

void MemberRuntime::Removed() {
  Log("the member has been permanently removed from the cluster");
  if (options_.on_removed) options_.on_removed();
}

void MemberRuntime::ToDisk(std::function<absl::Status()> job) {
  {
    std::lock_guard<std::mutex> l(disk_mu_);
    disk_jobs_.push_back(std::move(job));
  }
  disk_cv_.notify_one();
}

void MemberRuntime::DiskLoop() {
  for (;;) {
    std::function<absl::Status()> job;
    {
      std::unique_lock<std::mutex> l(disk_mu_);
      disk_cv_.wait(l, [this] { return !disk_jobs_.empty() || disk_stopping_; });
      if (disk_jobs_.empty()) return;  // stopping, and everything handed over was written
      job = std::move(disk_jobs_.front());
      disk_jobs_.pop_front();
    }
    if (disk_failed_) continue;  // after a failed write or sync nothing more is written
    if (absl::Status s = job(); !s.ok()) {
      disk_failed_ = true;
      Fail(s);
    }
  }
}

void MemberRuntime::Fail(const absl::Status& error) {
  Log(absl::StrCat("stopping: disk error (an fsync is never retried): ", error.message()));
  running_ = false;
  std::lock_guard<std::mutex> l(mu_);
  stopping_ = true;
}

void MemberRuntime::Log(const std::string& line) {
  if (options_.log) options_.log(line);
}

}  // namespace detcd::net
