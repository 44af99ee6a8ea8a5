// WatchHub: etcd's Watch service over one member's MVCC store — client streams, each with many watchers on a key or
// range from a start revision, fed with the events of every revision the member applies. A watcher is "synced" when
// it is at the store's current revision (new events go straight to it) and "unsynced" while it catches up from the
// store's history (a past start revision, or a consumer that fell behind): SyncStep moves unsynced watchers forward
// a bounded amount at a time, so a slow consumer costs bounded memory and loses nothing. It keeps etcd's guarantees:
// events ordered by revision, never duplicated, all events of one revision in one response (unless the client asked
// for fragments), no gaps, resumable from any revision not yet compacted; a watcher whose next revision was
// compacted is cancelled with compact_revision. Pure and single-threaded: no clock (progress notifications come when
// the caller says), no IO; responses wait in per-stream queues until the caller takes them.
#ifndef DETCD_KV_WATCH_HUB_H_
#define DETCD_KV_WATCH_HUB_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "kv/mvcc_store.h"

namespace detcd::kv {

struct WatchHubOptions {
  // Events queued on one stream before its watchers stop taking new ones and fall back to catching up from history
  // (etcd's slow-watcher handling). Responses already queued stay.
  size_t max_pending_events_per_stream = 1024;
  // Revisions of history one SyncStep reads per unsynced watcher.
  int64_t sync_batch_revisions = 100;
  // A response with fragment set is split so that each part's events stay under this size (etcd: the server's max
  // request bytes plus gRPC overhead).
  size_t max_response_bytes = 1536 * 1024 + 512 * 1024;
  // Test-only breakage (kv::KvTestingKnobs says what each one reproduces).
  bool testing_future_start_from_now = false;
  bool testing_drop_when_full = false;
  bool testing_ignore_restore = false;
};

class WatchHub {
 public:
  using StreamId = uint64_t;

  WatchHub(const MvccStore* store, const WatchHubOptions& options);
  ~WatchHub();

  StreamId OpenStream();
  // Drops the stream and its watchers (the client went away).
  void CloseStream(StreamId stream);

  // One request from a client's stream: create (key "" means "\0"; range_end "\0" means every key >= key;
  // start_revision 0 means "from the next revision"; watch_id 0 means "choose one"), cancel, or progress. Responses
  // are queued on the stream: created (with the watch id), canceled (with cancel_reason when refused), progress
  // (watch_id -1, header revision = the store's revision).
  void Request(StreamId stream, const etcdserverpb::WatchRequest& req);
  // A create request refused before it reached the hub (its user may not read the range): the stream gets etcd's
  // created-and-canceled answer with this reason.
  void RefuseCreate(StreamId stream, const std::string& reason);

  // The member applied a revision: its events (in the order the store made them) go to every synced watcher whose
  // range and filters match, with prev_kv when asked.
  void OnApplied(int64_t revision, const std::vector<mvccpb::Event>& events);

  // Moves unsynced watchers forward from history (bounded work); watchers that reach the current revision become
  // synced. Cancels (with compact_revision) watchers whose next revision was compacted. Returns true if more work is
  // left (call again after the consumers drained their queues or on the next tick).
  bool SyncStep();

  // The progress-notify interval passed: every synced watcher that asked for progress_notify gets an empty response
  // carrying the current revision.
  void ProgressNotify();

  // The store was replaced by a snapshot: every watcher catches up again from its next revision.
  void OnRestore();

  // Responses waiting for the stream's client, oldest first; taking them makes room for more.
  std::vector<etcdserverpb::WatchResponse> TakeResponses(StreamId stream);
  bool HasResponses(StreamId stream) const;
  // Whether any stream has responses waiting: what a host asks before looking at its streams one by one.
  bool HasAnyResponses() const;
  size_t watchers() const;
  size_t unsynced_watchers() const;
  size_t streams() const;  // open streams

 private:
  struct Watcher;
  struct Stream;
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_WATCH_HUB_H_
