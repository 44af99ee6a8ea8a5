// WatchHub: etcd 3.4's watch server (the gRPC stream side and the watchable store's synced/unsynced groups) over
// one member's MvccStore. Every watcher is either synced (OnApplied hands it each new revision's matching events)
// or unsynced (SyncStep reads its next revisions from the store's history). A stream whose queue is full turns its
// watchers unsynced instead of queueing more, so memory stays bounded and nothing is lost: the history still holds
// what was not queued, unless compaction removed it, in which case the watcher is cancelled with compact_revision.
// It must never read a clock, do IO, start threads, draw randomness, or crash on anything a client sends; it only
// fails loudly when its caller breaks the contract (revisions applied out of order).
#include "kv/watch_hub.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <utility>

#include "base/check.h"

namespace detcd::kv {

namespace {

// etcd's words (mvcc/watcher.go, etcdserver/api/v3rpc/rpctypes/error.go).
constexpr char kReasonDuplicateId[] = "mvcc: duplicate watch ID provided on the WatchStream";
constexpr char kReasonEmptyRange[] = "mvcc: watcher range is empty";

// clientv3.AutoWatchID / InvalidWatchID.
constexpr int64_t kAutoWatchId = 0;
constexpr int64_t kInvalidWatchId = -1;

// Unsynced watchers one SyncStep visits (etcd's maxWatchersPerSync); the rest wait for the next step, round robin.
constexpr size_t kMaxWatchersPerSync = 512;

size_t VarintBytes(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// What one event adds to a serialized WatchResponse: tag of field 11 (one byte), length, the event.
size_t EventFieldBytes(const mvccpb::Event& ev) {
  const size_t n = ev.ByteSizeLong();
  return 1 + VarintBytes(n) + n;
}

}  // namespace

struct WatchHub::Watcher {
  StreamId stream = 0;
  int64_t id = 0;
  std::string key;
  std::string end;        // empty: the single key (unless all_from)
  bool all_from = false;  // the client's range_end was "\0": every key >= key
  int64_t start_rev = 0;  // as the client asked (0: from the next revision)
  // The first revision whose events this watcher has not been given. For a synced watcher it may lag behind the
  // hub's position when revisions with nothing for it went by (it is brought forward when that matters).
  int64_t next_rev = 0;
  bool synced = false;
  bool no_put = false;
  bool no_delete = false;
  bool prev_kv = false;
  bool progress_notify = false;
  bool fragment = false;
  size_t queued_responses = 0;  // responses of this watcher waiting in its stream's queue

  bool IsRange() const { return all_from || !end.empty(); }
  bool Contains(const std::string& k) const {
    if (!IsRange()) return k == key;
    return !(k < key) && (all_from || k < end);
  }
  // After the filters (etcd's FiltersFromRequest: NOPUT drops puts, NODELETE drops deletes).
  bool Wants(const mvccpb::Event& ev) const {
    if (ev.type() == mvccpb::Event::PUT) return !no_put;
    if (ev.type() == mvccpb::Event::DELETE) return !no_delete;
    return true;
  }
};

struct WatchHub::Stream {
  std::map<int64_t, uint64_t> watchers;  // watch id -> watcher serial
  int64_t next_auto_id = 0;              // etcd numbers a stream's watchers from 0
  std::deque<etcdserverpb::WatchResponse> queue;
  size_t queued_events = 0;
};

class WatchHub::Impl {
 public:
  Impl(const MvccStore* store, const WatchHubOptions& options)
      : store_(store), options_(options), applied_rev_(store->rev()) {
    if (options_.sync_batch_revisions < 1) options_.sync_batch_revisions = 1;
  }

  StreamId OpenStream() {
    const StreamId id = next_stream_++;
    streams_.emplace(id, Stream());
    return id;
  }

  void CloseStream(StreamId sid) {
    auto it = streams_.find(sid);
    if (it == streams_.end()) return;
    // Unindex erases from the stream's map: walk a copy.
    std::vector<uint64_t> serials;
    for (const auto& [id, serial] : it->second.watchers) serials.push_back(serial);
    for (uint64_t serial : serials) Unindex(serial, /*erase=*/true);
    DETCD_CHECK(queued_responses_ >= it->second.queue.size());
    queued_responses_ -= it->second.queue.size();
    streams_.erase(it);
    progress_waiting_.erase(sid);
  }

  void Request(StreamId sid, const etcdserverpb::WatchRequest& req) {
    auto it = streams_.find(sid);
    if (it == streams_.end()) return;
    switch (req.request_union_case()) {
      case etcdserverpb::WatchRequest::kCreateRequest:
        Create(sid, it->second, req.create_request());
        break;
      case etcdserverpb::WatchRequest::kCancelRequest:
        Cancel(it->second, req.cancel_request().watch_id());
        break;
      case etcdserverpb::WatchRequest::kProgressRequest:
        // Only once every watcher of the stream has everything up to the current revision may the stream be told
        // so (etcd 3.4.26+ withholds it otherwise; here it waits until then instead of being dropped).
        progress_waiting_.insert(sid);
        SendWaitingProgress();
        break;
      default:
        break;  // etcd ignores requests it does not know
    }
  }

  void OnApplied(int64_t revision, const std::vector<mvccpb::Event>& events) {
    DETCD_CHECK_MSG(revision > applied_rev_ && revision <= store_->rev(),
                    "watch hub: revisions must be applied to the store and reported in order");
    applied_rev_ = revision;
    if (!events.empty() && !watchers_.empty()) Dispatch(revision, events);
    SendWaitingProgress();
  }

  bool SyncStep() {
    if (!unsynced_.empty()) {
      ChangesCache cache;
      std::vector<uint64_t> batch;
      for (auto it = unsynced_.upper_bound(sync_cursor_); it != unsynced_.end() && batch.size() < kMaxWatchersPerSync;
           ++it) {
        batch.push_back(*it);
      }
      for (auto it = unsynced_.begin(); it != unsynced_.end() && batch.size() < kMaxWatchersPerSync; ++it) {
        if (*it > sync_cursor_) break;
        batch.push_back(*it);
      }
      for (uint64_t serial : batch) SyncWatcher(serial, &cache);
      sync_cursor_ = batch.back();
    }
    SendWaitingProgress();
    return !unsynced_.empty();
  }

  void ProgressNotify() {
    const int64_t rev = store_->rev();
    for (auto& [serial, w] : watchers_) {
      if (!w.progress_notify || !w.synced || w.queued_responses > 0 || rev < w.start_rev) continue;
      etcdserverpb::WatchResponse r;
      r.mutable_header()->set_revision(rev);
      r.set_watch_id(w.id);
      Push(&streams_.at(w.stream), &w, std::move(r));
    }
  }

  void OnRestore() {
    if (options_.testing_ignore_restore) {
      applied_rev_ = store_->rev();
      return;
    }
    // Synced watchers have seen every revision up to the last one reported; the new store may be far ahead.
    const std::vector<uint64_t> synced = SyncedSerials();
    for (uint64_t serial : synced) {
      Watcher& w = watchers_.at(serial);
      w.next_rev = std::max(w.next_rev, applied_rev_ + 1);
      Unindex(serial, /*erase=*/false);
      w.synced = false;
      unsynced_.insert(serial);
    }
    applied_rev_ = store_->rev();
  }

  std::vector<etcdserverpb::WatchResponse> TakeResponses(StreamId sid) {
    std::vector<etcdserverpb::WatchResponse> out;
    auto it = streams_.find(sid);
    if (it == streams_.end()) return out;
    Stream& s = it->second;
    out.reserve(s.queue.size());
    for (etcdserverpb::WatchResponse& r : s.queue) out.push_back(std::move(r));
    DETCD_CHECK(queued_responses_ >= s.queue.size());
    queued_responses_ -= s.queue.size();
    s.queue.clear();
    s.queued_events = 0;
    for (const auto& [id, serial] : s.watchers) watchers_.at(serial).queued_responses = 0;
    return out;
  }

  void RefuseCreate(StreamId sid, const std::string& reason) {
    auto it = streams_.find(sid);
    if (it != streams_.end()) Refuse(&it->second, reason.c_str());
  }

  bool HasResponses(StreamId sid) const {
    auto it = streams_.find(sid);
    return it != streams_.end() && !it->second.queue.empty();
  }
  bool HasAnyResponses() const { return queued_responses_ > 0; }
  size_t watchers() const { return watchers_.size(); }
  size_t unsynced_watchers() const { return unsynced_.size(); }
  size_t streams() const { return streams_.size(); }

 private:
  // History read during one SyncStep, by first revision: watchers at the same position share one read.
  using ChangesCache = std::map<int64_t, absl::StatusOr<std::vector<mvccpb::Event>>>;

  void Create(StreamId sid, Stream& s, const etcdserverpb::WatchCreateRequest& c) {
    const int64_t rev = store_->rev();
    Watcher w;
    w.stream = sid;
    w.key = c.key().empty() ? std::string(1, '\0') : c.key();  // "\0" is the smallest key
    w.all_from = c.range_end().size() == 1 && c.range_end()[0] == '\0';
    if (!w.all_from) w.end = c.range_end();
    // etcd's order of refusals: an empty range, then a duplicate id.
    if (!w.end.empty() && !(w.key < w.end)) return Refuse(&s, kReasonEmptyRange);
    if (c.watch_id() == kAutoWatchId) {
      while (s.watchers.count(s.next_auto_id) > 0) ++s.next_auto_id;
      w.id = s.next_auto_id++;
    } else {
      if (s.watchers.count(c.watch_id()) > 0) return Refuse(&s, kReasonDuplicateId);
      w.id = c.watch_id();
    }
    // etcd 3.4 takes a negative start revision as it comes: below its compaction revision (-1 before the first
    // compaction) the watcher is created and then cancelled as compacted; one at or above it (only -1, before any
    // compaction) reads no history and watches from the next revision, as a start of 0 does.
    const bool from_now = c.start_revision() < 0 && c.start_revision() >= store_->etcd_compacted_rev();
    w.start_rev = from_now ? 0 : c.start_revision();
    for (int f : c.filters()) {
      if (f == etcdserverpb::WatchCreateRequest::NOPUT) w.no_put = true;
      if (f == etcdserverpb::WatchCreateRequest::NODELETE) w.no_delete = true;
    }
    w.prev_kv = c.prev_kv();
    w.progress_notify = c.progress_notify();
    w.fragment = c.fragment();

    etcdserverpb::WatchResponse created;
    created.mutable_header()->set_revision(rev);
    created.set_watch_id(w.id);
    created.set_created(true);

    const uint64_t serial = next_serial_++;
    const bool synced = w.start_rev == 0 || w.start_rev > rev;
    w.next_rev = synced ? std::max(w.start_rev, rev + 1) : w.start_rev;
    if (options_.testing_future_start_from_now && synced) w.next_rev = rev + 1;
    Watcher& in = watchers_.emplace(serial, std::move(w)).first->second;
    s.watchers.emplace(in.id, serial);
    Push(&s, nullptr, std::move(created));
    if (synced) {
      in.synced = true;
      Index(serial);
      return;
    }
    unsynced_.insert(serial);
    // Catch up at once as far as the stream has room (a compacted start revision is cancelled here).
    ChangesCache cache;
    SyncWatcher(serial, &cache);
  }

  void Refuse(Stream* s, const char* reason) {
    etcdserverpb::WatchResponse r;
    r.mutable_header()->set_revision(store_->rev());
    r.set_watch_id(kInvalidWatchId);
    r.set_created(true);
    r.set_canceled(true);
    r.set_cancel_reason(reason);
    Push(s, nullptr, std::move(r));
  }

  void Cancel(Stream& s, int64_t id) {
    auto it = s.watchers.find(id);
    if (it == s.watchers.end()) return;  // etcd answers nothing for an unknown id
    Unindex(it->second, /*erase=*/true);
    etcdserverpb::WatchResponse r;
    r.mutable_header()->set_revision(store_->rev());
    r.set_watch_id(id);
    r.set_canceled(true);
    Push(&s, nullptr, std::move(r));
    SendWaitingProgress();
  }

  // Hands one revision's events to the synced watchers they match.
  void Dispatch(int64_t revision, const std::vector<mvccpb::Event>& events) {
    for (const mvccpb::Event& ev : events) {
      DETCD_CHECK_MSG(ev.kv().mod_revision() == revision, "watch hub: an event of another revision");
    }
    // Events by key, so that each range watcher finds its events by binary search.
    std::vector<size_t> by_key(events.size());
    std::iota(by_key.begin(), by_key.end(), 0);
    std::stable_sort(by_key.begin(), by_key.end(),
                     [&](size_t a, size_t b) { return events[a].kv().key() < events[b].kv().key(); });
    std::map<uint64_t, std::vector<size_t>> matched;  // watcher serial -> event positions
    for (size_t i = 0; i < events.size(); ++i) {
      auto it = synced_keys_.find(events[i].kv().key());
      if (it == synced_keys_.end()) continue;
      for (uint64_t serial : it->second) matched[serial].push_back(i);
    }
    for (uint64_t serial : synced_ranges_) {
      const Watcher& w = watchers_.at(serial);
      auto lo = std::lower_bound(by_key.begin(), by_key.end(), w.key,
                                 [&](size_t i, const std::string& k) { return events[i].kv().key() < k; });
      for (; lo != by_key.end() && w.Contains(events[*lo].kv().key()); ++lo) matched[serial].push_back(*lo);
    }
    for (auto& [serial, positions] : matched) {
      Watcher& w = watchers_.at(serial);
      if (revision < w.next_rev) continue;  // a start revision still ahead
      std::sort(positions.begin(), positions.end());
      std::vector<mvccpb::Event> evs;
      for (size_t i : positions) {
        if (w.Wants(events[i])) evs.push_back(events[i]);
      }
      if (evs.empty()) {
        w.next_rev = revision + 1;
        continue;
      }
      Stream& s = streams_.at(w.stream);
      if (!HasRoom(s, evs.size()) && options_.testing_drop_when_full) {
        w.next_rev = revision + 1;
        continue;
      }
      if (!HasRoom(s, evs.size())) {
        // A slow consumer: stop queueing for it; it resumes from history at this revision once there is room.
        w.next_rev = revision;
        Unindex(serial, /*erase=*/false);
        w.synced = false;
        unsynced_.insert(serial);
        continue;
      }
      w.next_rev = revision + 1;
      SendEvents(&s, &w, std::move(evs), revision);
    }
  }

  // One unsynced watcher: cancelled if its next revision was compacted; synced if it has everything; else moved
  // forward through at most sync_batch_revisions revisions of history, whole revisions only, while its stream has
  // room.
  void SyncWatcher(uint64_t serial, ChangesCache* cache) {
    Watcher& w = watchers_.at(serial);
    DETCD_CHECK(!w.synced);
    const int64_t rev = store_->rev();
    if (w.next_rev < store_->compacted_rev()) return CancelCompacted(serial);
    if (w.next_rev > rev) return MakeSynced(serial);
    Stream& s = streams_.at(w.stream);
    if (!HasRoom(s, 1)) return;
    const int64_t from = w.next_rev;
    const int64_t to = from + std::min(options_.sync_batch_revisions - 1, rev - from);
    auto cached = cache->find(from);
    if (cached == cache->end()) cached = cache->emplace(from, store_->Changes(from, to)).first;
    if (!cached->second.ok()) {
      // Only compaction makes history unreadable; anything else is a broken store.
      DETCD_CHECK_MSG(IsErrCompacted(cached->second.status()), std::string(cached->second.status().message()).c_str());
      return CancelCompacted(serial);
    }
    const std::vector<mvccpb::Event>& changes = *cached->second;
    std::vector<mvccpb::Event> out;
    int64_t synced_to = to;
    for (size_t i = 0; i < changes.size();) {
      const int64_t r = changes[i].kv().mod_revision();
      size_t j = i;
      std::vector<mvccpb::Event> of_rev;
      for (; j < changes.size() && changes[j].kv().mod_revision() == r; ++j) {
        if (w.Contains(changes[j].kv().key()) && w.Wants(changes[j])) of_rev.push_back(changes[j]);
      }
      if (!of_rev.empty()) {
        const size_t queued = s.queued_events + out.size();
        if (queued > 0 && queued + of_rev.size() > options_.max_pending_events_per_stream) {
          synced_to = r - 1;
          break;
        }
        for (mvccpb::Event& ev : of_rev) out.push_back(std::move(ev));
      }
      i = j;
    }
    w.next_rev = synced_to + 1;
    if (!out.empty()) SendEvents(&s, &w, std::move(out), synced_to);
    if (w.next_rev > rev) MakeSynced(serial);
  }

  void CancelCompacted(uint64_t serial) {
    Watcher& w = watchers_.at(serial);
    // As etcd's watcher group reports it: no header revision, just the compaction revision.
    etcdserverpb::WatchResponse r;
    r.set_watch_id(w.id);
    r.set_canceled(true);
    r.set_compact_revision(store_->etcd_compacted_rev());
    Stream* s = &streams_.at(w.stream);
    Unindex(serial, /*erase=*/true);
    Push(s, nullptr, std::move(r));
  }

  void MakeSynced(uint64_t serial) {
    unsynced_.erase(serial);
    watchers_.at(serial).synced = true;
    Index(serial);
  }

  // Room for n more events on the stream: within the bound, or the queue is empty (a revision larger than the
  // bound still goes, alone).
  bool HasRoom(const Stream& s, size_t n) const {
    return s.queued_events == 0 || s.queued_events + n <= options_.max_pending_events_per_stream;
  }

  void SendEvents(Stream* s, Watcher* w, std::vector<mvccpb::Event> evs, int64_t header_rev) {
    etcdserverpb::WatchResponse r;
    r.mutable_header()->set_revision(header_rev);
    r.set_watch_id(w->id);
    for (mvccpb::Event& ev : evs) {
      mvccpb::Event* out = r.add_events();
      *out = std::move(ev);
      if (w->prev_kv) FillPrevKv(out);
    }
    if (!w->fragment || r.events_size() < 2 || r.ByteSizeLong() < options_.max_response_bytes) {
      Push(s, w, std::move(r));
      return;
    }
    // etcd's sendFragments: as many events per part as fit under the limit (at least one), fragment on all parts
    // but the last.
    etcdserverpb::WatchResponse head = r;
    head.clear_events();
    head.set_fragment(true);
    const size_t base = head.ByteSizeLong();
    const int n = r.events_size();
    for (int i = 0; i < n;) {
      etcdserverpb::WatchResponse part = head;
      size_t bytes = base;
      while (i < n) {
        const size_t add = EventFieldBytes(r.events(i));
        if (part.events_size() > 0 && bytes + add >= options_.max_response_bytes) break;
        bytes += add;
        *part.add_events() = std::move(*r.mutable_events(i));
        ++i;
      }
      if (i == n) part.set_fragment(false);
      Push(s, w, std::move(part));
    }
  }

  // The key's version just before the event's revision, as etcd's watch server reads it; left unset when the
  // event created the key, the key did not exist then, or that revision is compacted.
  void FillPrevKv(mvccpb::Event* ev) const {
    const mvccpb::KeyValue& kv = ev->kv();
    if (ev->type() == mvccpb::Event::PUT && kv.create_revision() == kv.mod_revision()) return;
    if (kv.mod_revision() <= 1) return;  // revision 0 would mean "now" to the store
    RangeOptions o;
    o.rev = kv.mod_revision() - 1;
    absl::StatusOr<RangeResult> r = store_->Range(kv.key(), "", o);
    if (r.ok() && !r->kvs.empty()) *ev->mutable_prev_kv() = r->kvs[0];
  }

  void Push(Stream* s, Watcher* w, etcdserverpb::WatchResponse r) {
    s->queued_events += static_cast<size_t>(r.events_size());
    if (w != nullptr) ++w->queued_responses;
    s->queue.push_back(std::move(r));
    ++queued_responses_;
  }

  // A stream's waiting progress request goes out once every watcher on it is synced and past its start revision.
  void SendWaitingProgress() {
    if (progress_waiting_.empty()) return;
    const int64_t rev = store_->rev();
    for (auto it = progress_waiting_.begin(); it != progress_waiting_.end();) {
      Stream& s = streams_.at(*it);
      bool ready = true;
      for (const auto& [id, serial] : s.watchers) {
        const Watcher& w = watchers_.at(serial);
        if (!w.synced || rev < w.start_rev) {
          ready = false;
          break;
        }
      }
      if (!ready) {
        ++it;
        continue;
      }
      etcdserverpb::WatchResponse r;
      r.mutable_header()->set_revision(rev);
      r.set_watch_id(kInvalidWatchId);
      Push(&s, nullptr, std::move(r));
      it = progress_waiting_.erase(it);
    }
  }

  std::vector<uint64_t> SyncedSerials() const {
    std::vector<uint64_t> out(synced_ranges_.begin(), synced_ranges_.end());
    for (const auto& [key, set] : synced_keys_) out.insert(out.end(), set.begin(), set.end());
    std::sort(out.begin(), out.end());
    return out;
  }

  void Index(uint64_t serial) {
    const Watcher& w = watchers_.at(serial);
    if (w.IsRange()) {
      synced_ranges_.insert(serial);
    } else {
      synced_keys_[w.key].insert(serial);
    }
  }

  // Takes a watcher out of the synced and unsynced groups; with erase, out of its stream and the hub too.
  void Unindex(uint64_t serial, bool erase) {
    auto it = watchers_.find(serial);
    DETCD_CHECK(it != watchers_.end());
    const Watcher& w = it->second;
    unsynced_.erase(serial);
    if (w.IsRange()) {
      synced_ranges_.erase(serial);
    } else {
      auto k = synced_keys_.find(w.key);
      if (k != synced_keys_.end()) {
        k->second.erase(serial);
        if (k->second.empty()) synced_keys_.erase(k);
      }
    }
    if (!erase) return;
    auto s = streams_.find(w.stream);
    if (s != streams_.end()) s->second.watchers.erase(w.id);
    watchers_.erase(it);
  }

  const MvccStore* store_;
  WatchHubOptions options_;
  // The newest revision reported by OnApplied (or the store's at construction and restore): synced watchers have
  // been given every event up to it.
  int64_t applied_rev_;
  StreamId next_stream_ = 1;
  uint64_t next_serial_ = 1;  // watchers are numbered in creation order: every walk over them is deterministic
  std::map<StreamId, Stream> streams_;
  size_t queued_responses_ = 0;  // in every stream's queue together
  std::map<uint64_t, Watcher> watchers_;
  std::map<std::string, std::set<uint64_t>> synced_keys_;  // synced single-key watchers by key
  std::set<uint64_t> synced_ranges_;                        // synced range watchers
  std::set<uint64_t> unsynced_;
  uint64_t sync_cursor_ = 0;             // the last unsynced watcher SyncStep visited
  std::set<StreamId> progress_waiting_;  // streams with a progress request not yet answered
};

WatchHub::WatchHub(const MvccStore* store, const WatchHubOptions& options)
    : impl_(std::make_unique<Impl>(store, options)) {}
WatchHub::~WatchHub() = default;

WatchHub::StreamId WatchHub::OpenStream() { return impl_->OpenStream(); }
void WatchHub::CloseStream(StreamId stream) { impl_->CloseStream(stream); }
void WatchHub::Request(StreamId stream, const etcdserverpb::WatchRequest& req) { impl_->Request(stream, req); }
void WatchHub::RefuseCreate(StreamId stream, const std::string& reason) { impl_->RefuseCreate(stream, reason); }
void WatchHub::OnApplied(int64_t revision, const std::vector<mvccpb::Event>& events) {
  impl_->OnApplied(revision, events);
}
bool WatchHub::SyncStep() { return impl_->SyncStep(); }
void WatchHub::ProgressNotify() { impl_->ProgressNotify(); }
void WatchHub::OnRestore() { impl_->OnRestore(); }
std::vector<etcdserverpb::WatchResponse> WatchHub::TakeResponses(StreamId stream) {
  return impl_->TakeResponses(stream);
}
bool WatchHub::HasResponses(StreamId stream) const { return impl_->HasResponses(stream); }
bool WatchHub::HasAnyResponses() const { return impl_->HasAnyResponses(); }
size_t WatchHub::watchers() const { return impl_->watchers(); }
size_t WatchHub::unsynced_watchers() const { return impl_->unsynced_watchers(); }
size_t WatchHub::streams() const { return impl_->streams(); }

}  // namespace detcd::kv
