// WatchChecker: checks what the clients of a simulated etcd cluster received from Watch against the authoritative
// history the replicas applied, for etcd's documented watch guarantees:
//  - Ordered: a watcher's events never go back in revision (etcd bug #15271, "watch going back in time").
//  - Unique: no event (revision, key) is delivered twice.
//  - Atomic: all of a revision's matching events arrive in one response (fragments are reassembled first).
//  - Reliable: once a watcher got an event at revision R, or a response whose header says R, it has every matching
//    event from its start revision up to R (etcd bug #17529 lost events for a slow consumer); a progress response
//    at R also means no event at or below R may come later (Bookmarkable).
//  - Exact: each event equals the history's (type, key, value, create and mod revision, version, lease), is in the
//    watched range, passes the no_put / no_delete filters, and carries prev_kv exactly when asked and the key
//    existed before (etcd leaves it out when the revision before was compacted; so does the checker).
//  - Compaction: a cancel with compact_revision C is accepted only if the watcher still needed a revision < C (as
//    etcd: a watcher whose next revision N < C is cancelled) and some replica compacted at C or later.
// Events may reach a client before the checker heard of their revision (another replica applied first): a watcher's
// responses wait, in order, until the history covers them; Finish() reports any that never became checkable.
//
// Resumability is the workload's business, not this unit's. The checker only records: it never changes what it is
// fed, never aborts on a violation (only on a caller's misuse: an unknown watcher id, a revision < 1), and is
// deterministic — no clock, no randomness, no IO. The first violation found is kept; later calls do nothing.
#ifndef DETCD_SIM_CHECKERS_WATCH_CHECKER_H_
#define DETCD_SIM_CHECKERS_WATCH_CHECKER_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"

namespace detcd::sim {

// What a client asked for when it created a watcher (etcd's WatchCreateRequest, the parts the guarantees depend on).
struct WatchSpec {
  // etcd's conventions: key "" means "\0" (the smallest key); range_end "" = the single key; range_end "\0" (one
  // zero byte) = every key >= key (so key "" with range_end "\0" is every key); otherwise [key, range_end) bytewise.
  std::string key;
  std::string range_end;
  int64_t start_revision = 0;  // 0: from the revision after the created response's header revision
  bool prev_kv = false;
  bool no_put = false;
  bool no_delete = false;
  // The store revision the client knew when it sent the create. Named in reports only: a start_revision-0 watcher
  // owes events from the created response's header revision + 1, which may be lower than this when the serving
  // member lags (etcd allows that: the client then also gets events it already knew).
  int64_t created_at_revision = 0;
};

class WatchChecker {
 public:
  // Revisions up to initial_revision are the empty store a member starts with (etcd's: 1); events start after it.
  explicit WatchChecker(int64_t initial_revision = 0);
  WatchChecker(const WatchChecker&) = delete;
  WatchChecker& operator=(const WatchChecker&) = delete;

  // A replica applied `revision` (>= 1) with these events, in the store's order (a PUT carries the new kv; a DELETE
  // the key and mod_revision; no prev_kv). Call it from every replica: a revision reported again must carry the same
  // events ("replicas disagree on revision R" otherwise). Revisions may arrive out of order; the history counts as
  // known up to the highest R for which 1..R have all been reported.
  void OnRevision(int64_t revision, const std::vector<mvccpb::Event>& events);

  // A replica's store was compacted at `revision`.
  void OnCompact(int64_t revision);

  // A client sent a create; returns the watcher's id for OnResponse (0, 1, 2, ... in call order).
  int AddWatcher(const WatchSpec& spec);

  // A response the client received for `watcher`, in the order received: the created response first, then event
  // responses (fragment=true on every part of a batch but the last), progress responses (no events: header.revision
  // R means every event up to R was sent), and at most one cancel (canceled=true, compact_revision > 0 when the
  // watcher's history was compacted). A created response that is also canceled is a refused create.
  void OnResponse(int watcher, const etcdserverpb::WatchResponse& response);

  // End of run: responses still waiting for revisions no replica reported, and compaction cancels at a revision no
  // replica compacted at, are violations. A fragmented batch never completed is not (the run ended mid-batch).
  void Finish();

  bool ok() const { return violation_.empty(); }
  // The first violation: the watcher, its spec, the revision, and what was expected versus seen. Empty if none.
  const std::string& violation() const { return violation_; }

  int64_t known_revision() const { return known_revision_; }  // history complete up to here
  int64_t events_checked() const { return events_checked_; }  // delivered events compared against the history

 private:
  // One revision of the authoritative history, with each event's prev_kv (the key's kv just before the revision;
  // computed once every earlier revision is known).
  struct Revision {
    bool reported = false;
    std::vector<mvccpb::Event> events;
    std::vector<std::optional<mvccpb::KeyValue>> prev;
  };

  // One response as checked: a created response, a reassembled event batch, a progress response, or a cancel.
  struct Step {
    enum class Kind { kEvents, kProgress, kCancel };
    Kind kind = Kind::kEvents;
    int64_t header_revision = 0;
    int64_t compact_revision = 0;
    std::vector<mvccpb::Event> events;
    int64_t needs_revision = 0;  // the history must be known up to here before the step can be checked
  };

  struct Watcher {
    WatchSpec spec;
    std::string from;  // the range, normalized: [from, to), or every key >= from if to_end; the single key if !range
    std::string to;
    bool to_end = false;
    bool range = false;

    // As received (protocol state, checked on arrival).
    bool created = false;
    bool ended = false;  // canceled, or its create was refused
    bool in_fragments = false;
    std::vector<mvccpb::Event> fragments;  // the parts of an incomplete batch so far

    // As checked (in order, once the history covers each step).
    int64_t start_revision = 0;  // first revision the watcher is owed events from
    int64_t covered = 0;         // every matching event up to here has been delivered
    int64_t last_event_revision = 0;
    std::deque<Step> waiting;
  };

  bool Contains(const Watcher& w, const std::string& key) const;
  bool Wants(const Watcher& w, const mvccpb::Event& ev) const;
  // Indices into history_[revision].events of the events the watcher is owed at a known revision.
  std::vector<size_t> Owed(const Watcher& w, int64_t revision) const;

  void AdvanceKnown();
  void Drain(int id);
  void CheckStep(int id, const Step& step);
  void CheckEvents(int id, const Step& step);
  // Checks the events delivered at one revision against what the watcher is owed there.
  void CheckRevision(int id, int64_t revision, const std::vector<const mvccpb::Event*>& delivered);
  // Checks that nothing owed in (w.covered, up_to] is missing, apart from revisions in `delivered_revisions`.
  void CheckNoGap(int id, int64_t up_to, const std::vector<int64_t>& delivered_revisions, const std::string& claim);
  void Fail(int id, int64_t revision, const std::string& what);

  std::vector<Revision> history_;  // index = revision - 1
  int64_t known_revision_ = 0;
  absl::flat_hash_map<std::string, mvccpb::KeyValue> live_;  // every live key at known_revision_
  int64_t compacted_revision_ = 0;
  std::vector<Watcher> watchers_;
  std::vector<std::pair<int, int64_t>> compact_cancels_;  // (watcher, compact_revision), checked at Finish
  int64_t events_checked_ = 0;
  std::string violation_;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_CHECKERS_WATCH_CHECKER_H_
