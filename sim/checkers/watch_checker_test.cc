// WatchChecker: a correct stream passes; each guarantee has a broken stream that trips it (reordered, duplicated,
// a revision split without fragments, a gap, wrong prev_kv, a filtered type delivered, a wrong value, going back in
// time); fragments reassemble; compaction cancels are accepted or refused; events ahead of the history are held.
// Then against detcd's own watch hub (kv/watch_hub.h) under random workloads — slow consumers, fragments,
// compaction, cancels, progress — every run passes, and the same runs with one response duplicated, dropped or
// swapped fail.
#include "sim/checkers/watch_checker.h"

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/prng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kv/mvcc_store.h"
#include "kv/watch_hub.h"

namespace detcd::sim {
namespace {

using etcdserverpb::WatchResponse;
using mvccpb::Event;
using mvccpb::KeyValue;
using ::testing::HasSubstr;

// A tiny store that makes the authoritative history: one Write per revision, puts (value non-empty) and deletes
// (value empty), with etcd's create revision and version bookkeeping.
class Store {
 public:
  int64_t Write(const std::vector<std::pair<std::string, std::string>>& ops) {
    ++rev_;
    std::vector<Event>& evs = events_[rev_];
    for (const auto& [key, value] : ops) {
      Event ev;
      auto it = live_.find(key);
      if (it != live_.end()) *ev.mutable_prev_kv() = it->second;
      if (value.empty()) {
        ev.set_type(Event::DELETE);
        ev.mutable_kv()->set_key(key);
        ev.mutable_kv()->set_mod_revision(rev_);
        live_.erase(key);
      } else {
        ev.set_type(Event::PUT);
        KeyValue* kv = ev.mutable_kv();
        kv->set_key(key);
        kv->set_value(value);
        kv->set_create_revision(it == live_.end() ? rev_ : it->second.create_revision());
        kv->set_version(it == live_.end() ? 1 : it->second.version() + 1);
        kv->set_mod_revision(rev_);
        live_[key] = *kv;
      }
      evs.push_back(ev);
    }
    return rev_;
  }

  // The history as a replica reports it: no prev_kv.
  std::vector<Event> Applied(int64_t rev) const {
    std::vector<Event> out = events_.at(rev);
    for (Event& ev : out) ev.clear_prev_kv();
    return out;
  }
  void Feed(WatchChecker* c) const {
    for (const auto& [rev, evs] : events_) c->OnRevision(rev, Applied(rev));
  }

  // The event for `key` at `rev`, as a watcher sees it: with prev_kv if asked (and the key existed before).
  Event At(int64_t rev, const std::string& key, bool prev_kv = false) const {
    for (Event ev : events_.at(rev)) {
      if (ev.kv().key() != key) continue;
      if (!prev_kv) ev.clear_prev_kv();
      return ev;
    }
    ADD_FAILURE() << "no event for " << key << " at " << rev;
    return Event();
  }

 private:
  int64_t rev_ = 0;
  std::map<int64_t, std::vector<Event>> events_;
  std::map<std::string, KeyValue> live_;
};

WatchResponse Created(int64_t header) {
  WatchResponse r;
  r.mutable_header()->set_revision(header);
  r.set_created(true);
  return r;
}

WatchResponse Events(int64_t header, const std::vector<Event>& evs, bool fragment = false) {
  WatchResponse r;
  r.mutable_header()->set_revision(header);
  for (const Event& ev : evs) *r.add_events() = ev;
  r.set_fragment(fragment);
  return r;
}

WatchResponse Progress(int64_t header) {
  WatchResponse r;
  r.mutable_header()->set_revision(header);
  return r;
}

WatchResponse Cancel(int64_t compact_revision) {
  WatchResponse r;
  r.set_canceled(true);
  r.set_compact_revision(compact_revision);
  return r;
}

WatchSpec Key(const std::string& key) {
  WatchSpec s;
  s.key = key;
  return s;
}

WatchSpec Range(const std::string& key, const std::string& end) {
  WatchSpec s;
  s.key = key;
  s.range_end = end;
  return s;
}

class WatchCheckerTest : public ::testing::Test {
 protected:
  // Feeds the history, then the responses, then Finish.
  void Run(const WatchSpec& spec, const std::vector<WatchResponse>& responses) {
    store.Feed(&checker);
    const int w = checker.AddWatcher(spec);
    for (const WatchResponse& r : responses) checker.OnResponse(w, r);
    checker.Finish();
  }
  void ExpectViolation(const std::string& part) {
    EXPECT_FALSE(checker.ok());
    EXPECT_THAT(checker.violation(), HasSubstr(part));
  }

  Store store;
  WatchChecker checker;
};

// ---- Correct streams -----------------------------------------------------------------------------------------

TEST_F(WatchCheckerTest, CorrectStreamPasses) {
  store.Write({{"a", "1"}});             // 1
  store.Write({{"b", "1"}});             // 2
  store.Write({{"a", "2"}, {"b", ""}});  // 3
  store.Write({{"c", "1"}});             // 4: outside [a, c)
  store.Write({{"a", ""}});              // 5
  WatchSpec spec = Range("a", "c");
  spec.prev_kv = true;
  Run(spec, {Created(0), Events(2, {store.At(1, "a", true), store.At(2, "b", true)}),
             Events(3, {store.At(3, "a", true), store.At(3, "b", true)}), Progress(4),
             Events(5, {store.At(5, "a", true)}), Progress(5)});
  EXPECT_TRUE(checker.ok()) << checker.violation();
  EXPECT_EQ(checker.events_checked(), 5);
}

TEST_F(WatchCheckerTest, KeyAndRangeConventions) {
  store.Write({{"a", "1"}});
  store.Write({{"b", "1"}});
  store.Write({{"c", "1"}});
  store.Write({{"d", "1"}});
  const std::vector<Event> all = {store.At(1, "a"), store.At(2, "b"), store.At(3, "c"), store.At(4, "d")};
  const std::string zero(1, '\0');
  struct Case {
    WatchSpec spec;
    std::vector<Event> owed;
  };
  const std::vector<Case> cases = {
      {Key("b"), {all[1]}},
      {Range("b", "d"), {all[1], all[2]}},
      {Range("b", zero), {all[1], all[2], all[3]}},
      {Range("", zero), all},
  };
  store.Feed(&checker);
  for (const Case& c : cases) {
    const int w = checker.AddWatcher(c.spec);
    checker.OnResponse(w, Created(0));
    checker.OnResponse(w, Events(4, c.owed));
  }
  checker.Finish();
  EXPECT_TRUE(checker.ok()) << checker.violation();
  EXPECT_EQ(checker.events_checked(), 1 + 2 + 3 + 4);

  // Leaving out the last owed event of the "\0" range is a gap.
  WatchChecker strict;
  store.Feed(&strict);
  const int w = strict.AddWatcher(Range("b", zero));
  strict.OnResponse(w, Created(0));
  strict.OnResponse(w, Events(4, {all[1], all[2]}));
  EXPECT_THAT(strict.violation(), HasSubstr("missing PUT \"d\""));
}

TEST_F(WatchCheckerTest, StartRevisionReplaysFromThere) {
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  store.Write({{"a", "3"}});
  WatchSpec spec = Key("a");
  spec.start_revision = 2;
  Run(spec, {Created(3), Events(3, {store.At(2, "a"), store.At(3, "a")})});
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

TEST_F(WatchCheckerTest, FiltersLeaveFilteredEventsOut) {
  store.Write({{"a", "1"}});
  store.Write({{"a", ""}});
  store.Write({{"a", "2"}});
  WatchSpec spec = Key("a");
  spec.no_put = true;
  Run(spec, {Created(0), Events(2, {store.At(2, "a")}), Progress(3)});
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

TEST_F(WatchCheckerTest, FragmentsReassemble) {
  store.Write({{"a", "1"}, {"b", "1"}, {"c", "1"}});
  Run(Range("a", "z"), {Created(0), Events(1, {store.At(1, "a")}, /*fragment=*/true),
                        Events(1, {store.At(1, "b")}, /*fragment=*/true), Events(1, {store.At(1, "c")})});
  EXPECT_TRUE(checker.ok()) << checker.violation();
  EXPECT_EQ(checker.events_checked(), 3);
}

TEST_F(WatchCheckerTest, RefusedCreateOwesNothing) {
  store.Write({{"a", "1"}});
  WatchResponse refused = Created(1);
  refused.set_canceled(true);
  Run(Key("a"), {refused});
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

// ---- Ordered, Unique, Atomic ---------------------------------------------------------------------------------

TEST_F(WatchCheckerTest, ReorderedInOneResponse) {
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  Run(Key("a"), {Created(0), Events(2, {store.At(2, "a"), store.At(1, "a")})});
  ExpectViolation("went back in time: PUT \"a\"=\"1\"");
}

TEST_F(WatchCheckerTest, GoingBackInTimeAcrossResponses) {
  // etcd #15271: after later events, an event of an earlier revision.
  store.Write({{"a", "1"}});
  store.Write({{"b", "1"}});
  store.Write({{"a", "2"}});
  Run(Key("a"),
      {Created(0), Events(1, {store.At(1, "a")}), Events(3, {store.At(3, "a")}), Events(3, {store.At(2, "b")})});
  ExpectViolation("went back in time: PUT \"b\"");
  EXPECT_THAT(checker.violation(), HasSubstr("after an event at revision 3"));
}

TEST_F(WatchCheckerTest, DuplicateAcrossResponses) {
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  Run(Key("a"),
      {Created(0), Events(1, {store.At(1, "a")}), Events(2, {store.At(2, "a")}), Events(2, {store.At(2, "a")})});
  ExpectViolation("revision 2: PUT \"a\"=\"2\" create=1 mod=2 version=2 lease=0 delivered twice");
}

TEST_F(WatchCheckerTest, DuplicateInOneResponse) {
  store.Write({{"a", "1"}});
  Run(Key("a"), {Created(0), Events(1, {store.At(1, "a"), store.At(1, "a")})});
  ExpectViolation("delivered twice in one response");
}

TEST_F(WatchCheckerTest, RevisionSplitWithoutFragments) {
  store.Write({{"a", "1"}, {"b", "1"}});
  Run(Range("a", "z"), {Created(0), Events(1, {store.At(1, "a")}), Events(1, {store.At(1, "b")})});
  ExpectViolation("only 1 of the revision's 2 matching events arrived in one response; missing PUT \"b\"");
}

TEST_F(WatchCheckerTest, FragmentedBatchCanceledMidway) {
  store.Write({{"a", "1"}, {"b", "1"}});
  Run(Range("a", "z"), {Created(0), Events(1, {store.At(1, "a")}, /*fragment=*/true), Cancel(0)});
  ExpectViolation("fragmented batch was canceled");
}

// ---- Reliable --------------------------------------------------------------------------------------------------

TEST_F(WatchCheckerTest, GapBetweenEvents) {
  // etcd #17529: a slow consumer lost events.
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  store.Write({{"a", "3"}});
  Run(Key("a"), {Created(0), Events(1, {store.At(1, "a")}), Events(3, {store.At(3, "a")})});
  ExpectViolation("revision 2: missing PUT \"a\"=\"2\"");
}

TEST_F(WatchCheckerTest, GapBehindHeaderRevision) {
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  Run(Key("a"), {Created(0), Events(2, {store.At(1, "a")})});
  ExpectViolation("revision 2: missing PUT \"a\"=\"2\"");
}

TEST_F(WatchCheckerTest, GapBehindProgress) {
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  Run(Key("a"), {Created(0), Events(1, {store.At(1, "a")}), Progress(2), Events(2, {store.At(2, "a")})});
  ExpectViolation("a progress response said every event up to 2 was sent");
}

TEST_F(WatchCheckerTest, EventAfterProgressCoveringIt) {
  store.Write({{"a", "1"}});
  store.Write({{"b", "1"}});
  Run(Key("a"), {Created(0), Events(1, {store.At(1, "a")}), Progress(2), Events(2, {store.At(2, "b")})});
  ExpectViolation("PUT \"b\"=\"1\" create=2 mod=2 version=1 lease=0 after the watcher was told every event up to 2");
}

TEST_F(WatchCheckerTest, StartRevisionZeroOwesEverythingAfterCreated) {
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  store.Write({{"a", "3"}});
  Run(Key("a"), {Created(1), Events(3, {store.At(3, "a")})});
  ExpectViolation("revision 2: missing PUT \"a\"=\"2\"");
}

TEST_F(WatchCheckerTest, EventBeforeStartRevision) {
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  Run(Key("a"), {Created(1), Events(2, {store.At(1, "a"), store.At(2, "a")})});
  ExpectViolation("is before the watcher's start revision 2");
}

// ---- Contents, filters, prev_kv --------------------------------------------------------------------------------

TEST_F(WatchCheckerTest, WrongValue) {
  store.Write({{"a", "1"}});
  Event ev = store.At(1, "a");
  ev.mutable_kv()->set_value("x");
  Run(Key("a"), {Created(0), Events(1, {ev})});
  ExpectViolation("expected PUT \"a\"=\"1\" create=1 mod=1 version=1 lease=0, saw PUT \"a\"=\"x\"");
}

TEST_F(WatchCheckerTest, WrongVersion) {
  store.Write({{"a", "1"}});
  Event ev = store.At(1, "a");
  ev.mutable_kv()->set_version(2);
  Run(Key("a"), {Created(0), Events(1, {ev})});
  ExpectViolation("version=2");
}

TEST_F(WatchCheckerTest, EventNotInHistory) {
  store.Write({{"a", "1"}});
  Event ev = store.At(1, "a");
  ev.mutable_kv()->set_key("ab");
  Run(Range("a", "b"), {Created(0), Events(1, {ev})});
  ExpectViolation("PUT \"ab\"=\"1\" create=1 mod=1 version=1 lease=0 is not in the history");
}

TEST_F(WatchCheckerTest, EventOutsideRange) {
  store.Write({{"a", "1"}, {"b", "1"}});
  Run(Key("a"), {Created(0), Events(1, {store.At(1, "a"), store.At(1, "b")})});
  ExpectViolation("PUT \"b\"=\"1\" create=1 mod=1 version=1 lease=0 is outside the watched range");
}

TEST_F(WatchCheckerTest, PutDeliveredDespiteNoPut) {
  store.Write({{"a", "1"}});
  WatchSpec spec = Key("a");
  spec.no_put = true;
  Run(spec, {Created(0), Events(1, {store.At(1, "a")})});
  ExpectViolation("delivered despite no_put");
}

TEST_F(WatchCheckerTest, DeleteDeliveredDespiteNoDelete) {
  store.Write({{"a", "1"}});
  store.Write({{"a", ""}});
  WatchSpec spec = Key("a");
  spec.no_delete = true;
  Run(spec, {Created(0), Events(2, {store.At(1, "a"), store.At(2, "a")})});
  ExpectViolation("DELETE \"a\" mod=2 delivered despite no_delete");
}

class PrevKvTest : public WatchCheckerTest {
 protected:
  void SetUp() override {
    store.Write({{"a", "1"}});  // 1: creates a
    store.Write({{"a", "2"}});  // 2: updates a
    store.Write({{"a", ""}});   // 3: deletes a
    spec = Key("a");
    spec.prev_kv = true;
  }
  WatchSpec spec;
};

TEST_F(PrevKvTest, CorrectPrevKvPasses) {
  Run(spec, {Created(0), Events(3, {store.At(1, "a", true), store.At(2, "a", true), store.At(3, "a", true)})});
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

TEST_F(PrevKvTest, WrongPrevKv) {
  Event two = store.At(2, "a", true);
  two.mutable_prev_kv()->set_value("x");
  Run(spec, {Created(0), Events(1, {store.At(1, "a", true)}), Events(2, {two})});
  ExpectViolation("expected prev_kv \"a\"=\"1\" create=1 mod=1 version=1 lease=0, saw \"a\"=\"x\"");
}

TEST_F(PrevKvTest, MissingPrevKvOnDelete) {
  Run(spec, {Created(0), Events(3, {store.At(1, "a", true), store.At(2, "a", true), store.At(3, "a")})});
  ExpectViolation("revision 3: DELETE \"a\" mod=3: expected prev_kv \"a\"=\"2\"");
}

TEST_F(PrevKvTest, PrevKvOnCreate) {
  Event one = store.At(1, "a", true);
  *one.mutable_prev_kv() = store.At(1, "a").kv();
  Run(spec, {Created(0), Events(1, {one})});
  ExpectViolation("but the key did not exist before it");
}

TEST_F(PrevKvTest, PrevKvNotAskedFor) {
  spec.prev_kv = false;
  Run(spec, {Created(0), Events(2, {store.At(1, "a"), store.At(2, "a", true)})});
  ExpectViolation("carries prev_kv the watcher did not ask for");
}

TEST_F(PrevKvTest, MissingPrevKvAcceptedWhenCompacted) {
  // etcd reads prev_kv at revision 2, which compaction at 3 removed.
  checker.OnCompact(3);
  spec.start_revision = 3;
  Run(spec, {Created(3), Events(3, {store.At(3, "a")})});
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

// ---- Compaction ----------------------------------------------------------------------------------------------

class CompactionTest : public WatchCheckerTest {
 protected:
  void SetUp() override {
    for (int i = 1; i <= 5; ++i) store.Write({{"a", std::to_string(i)}});
  }
};

TEST_F(CompactionTest, CancelAcceptedWhenStartWasCompacted) {
  checker.OnCompact(4);
  WatchSpec spec = Key("a");
  spec.start_revision = 2;
  Run(spec, {Created(5), Cancel(4)});
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

TEST_F(CompactionTest, CancelAcceptedJustBelowTheCompactionRevision) {
  checker.OnCompact(4);
  WatchSpec spec = Key("a");
  spec.start_revision = 2;
  Run(spec, {Created(5), Events(2, {store.At(2, "a")}), Cancel(4)});  // next revision 3 < 4
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

TEST_F(CompactionTest, CancelRefusedAtTheCompactionRevisionItself) {
  // Next revision 4 == compaction revision 4: history from 4 on is still there, so etcd keeps the watcher.
  checker.OnCompact(4);
  WatchSpec spec = Key("a");
  spec.start_revision = 2;
  Run(spec, {Created(5), Events(3, {store.At(2, "a"), store.At(3, "a")}), Cancel(4)});
  ExpectViolation("canceled for compaction at 4, but the watcher needed nothing below it: it had every event up to 3");
}

TEST_F(CompactionTest, CancelRefusedWhenNothingBelowWasNeeded) {
  checker.OnCompact(4);
  WatchSpec spec = Key("a");
  spec.start_revision = 2;
  Run(spec, {Created(5), Events(4, {store.At(2, "a"), store.At(3, "a"), store.At(4, "a")}), Cancel(4)});
  ExpectViolation("canceled for compaction at 4, but the watcher needed nothing below it");
}

TEST_F(CompactionTest, CancelRefusedForStartZeroWatcherAfterCompaction) {
  checker.OnCompact(3);
  Run(Key("a"), {Created(5), Cancel(3)});
  ExpectViolation("canceled for compaction at 3");
}

TEST_F(CompactionTest, CancelRefusedWhenNoReplicaCompacted) {
  checker.OnCompact(2);
  WatchSpec spec = Key("a");
  spec.start_revision = 1;
  Run(spec, {Created(5), Cancel(4)});
  ExpectViolation("canceled with compact_revision 4, but no replica compacted beyond 2");
}

TEST_F(CompactionTest, EventsSkippingCompactedRevisionsAreAGap) {
  // The server must cancel, not jump over what compaction removed.
  checker.OnCompact(4);
  WatchSpec spec = Key("a");
  spec.start_revision = 2;
  Run(spec, {Created(5), Events(5, {store.At(4, "a"), store.At(5, "a")})});
  ExpectViolation("revision 2: missing PUT \"a\"=\"2\"");
}

// ---- Responses ahead of the history --------------------------------------------------------------------------

TEST_F(WatchCheckerTest, EventsAheadOfHistoryAreHeld) {
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  const int w = checker.AddWatcher(Key("a"));
  checker.OnResponse(w, Created(0));
  checker.OnResponse(w, Events(1, {store.At(1, "a")}));
  checker.OnResponse(w, Events(2, {store.At(2, "a")}));
  EXPECT_TRUE(checker.ok());
  EXPECT_EQ(checker.events_checked(), 0);
  checker.OnRevision(2, store.Applied(2));  // out of order: nothing is known until revision 1 is
  EXPECT_EQ(checker.known_revision(), 0);
  checker.OnRevision(1, store.Applied(1));
  EXPECT_EQ(checker.known_revision(), 2);
  EXPECT_EQ(checker.events_checked(), 2);
  checker.Finish();
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

TEST_F(WatchCheckerTest, HeldEventIsCheckedOnceKnown) {
  store.Write({{"a", "1"}});
  const int w = checker.AddWatcher(Key("a"));
  Event ev = store.At(1, "a");
  ev.mutable_kv()->set_value("x");
  checker.OnResponse(w, Created(0));
  checker.OnResponse(w, Events(1, {ev}));
  EXPECT_TRUE(checker.ok());
  checker.OnRevision(1, store.Applied(1));
  ExpectViolation("saw PUT \"a\"=\"x\"");
}

TEST_F(WatchCheckerTest, EventNeverAppliedIsReportedAtFinish) {
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  checker.OnRevision(1, store.Applied(1));
  const int w = checker.AddWatcher(Key("a"));
  checker.OnResponse(w, Created(0));
  checker.OnResponse(w, Events(2, {store.At(1, "a"), store.At(2, "a")}));
  EXPECT_TRUE(checker.ok());
  checker.Finish();
  ExpectViolation("event PUT \"a\"=\"2\" create=1 mod=2 version=2 lease=0 at revision 2 never applied by any replica");
}

TEST_F(WatchCheckerTest, ProgressBeyondHistoryIsReportedAtFinish) {
  store.Write({{"a", "1"}});
  checker.OnRevision(1, store.Applied(1));
  const int w = checker.AddWatcher(Key("b"));
  checker.OnResponse(w, Created(0));
  checker.OnResponse(w, Progress(3));
  checker.Finish();
  ExpectViolation("revision 2 never applied by any replica, yet the watcher got a progress response");
}

// ---- The history itself, and protocol order ------------------------------------------------------------------

TEST_F(WatchCheckerTest, ReplicasAgreeingIsFine) {
  store.Write({{"a", "1"}});
  store.Feed(&checker);
  store.Feed(&checker);
  checker.Finish();
  EXPECT_TRUE(checker.ok()) << checker.violation();
  EXPECT_EQ(checker.known_revision(), 1);
}

TEST_F(WatchCheckerTest, ReplicasDisagree) {
  store.Write({{"a", "1"}});
  store.Feed(&checker);
  std::vector<Event> other = store.Applied(1);
  other[0].mutable_kv()->set_value("2");
  checker.OnRevision(1, other);
  ExpectViolation("history: revision 1: replicas disagree on revision 1");
}

TEST_F(WatchCheckerTest, HistoryEventOfAnotherRevision) {
  store.Write({{"a", "1"}});
  checker.OnRevision(2, store.Applied(1));
  ExpectViolation("a replica applied PUT \"a\"=\"1\" create=1 mod=1 version=1 lease=0 at revision 2");
}

TEST_F(WatchCheckerTest, ResponseBeforeCreated) {
  store.Write({{"a", "1"}});
  Run(Key("a"), {Events(1, {store.At(1, "a")})});
  ExpectViolation("a response before the created response");
}

TEST_F(WatchCheckerTest, ResponseAfterCancel) {
  store.Write({{"a", "1"}});
  Run(Key("a"), {Created(0), Cancel(0), Events(1, {store.At(1, "a")})});
  ExpectViolation("a response after the watcher was canceled");
}

TEST_F(WatchCheckerTest, HeaderBelowEvents) {
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  Run(Key("a"), {Created(0), Events(1, {store.At(1, "a"), store.At(2, "a")})});
  ExpectViolation("header revision 1 is below its events' revision 2");
}

TEST_F(WatchCheckerTest, FirstViolationIsKept) {
  store.Write({{"a", "1"}});
  store.Write({{"a", "2"}});
  Run(Key("a"), {Created(0), Events(2, {store.At(2, "a")}), Events(2, {store.At(2, "a")})});
  ExpectViolation("revision 1: missing");
  EXPECT_THAT(checker.violation(), ::testing::StartsWith("watcher 0 (key \"a\" range_end \"\" start_revision 0"));
}

// ---- Against detcd's watch hub -------------------------------------------------------------------------------

// One call to the checker, so that a recorded run can be replayed with a mutation.
struct Call {
  enum class Kind { kRevision, kCompact, kAddWatcher, kResponse } kind;
  int64_t revision = 0;
  std::vector<Event> events;
  WatchSpec spec;
  int watcher = -1;
  WatchResponse response;
};

// A random run: one member's store and watch hub, three client streams with watchers coming and going, consumers
// draining at random, progress requests and notifications, compaction. Every checker call is recorded.
std::vector<Call> RandomHubRun(uint64_t seed) {
  Prng prng(seed);
  kv::MvccStore store;
  kv::WatchHubOptions options;
  options.max_pending_events_per_stream = 1 + prng.Uniform(6);
  options.sync_batch_revisions = 1 + static_cast<int64_t>(prng.Uniform(4));
  options.max_response_bytes = 40 + prng.Uniform(120);  // small: batches with fragment set come in several parts
  kv::WatchHub hub(&store, options);
  const std::vector<std::string> keys = {"a", "b", "c", "d", "e"};
  std::vector<Call> calls;
  struct ClientWatcher {
    int checker_id;
    bool created = false;
    bool canceled = false;
  };
  std::vector<kv::WatchHub::StreamId> streams;
  std::vector<std::map<int64_t, ClientWatcher>> by_stream(3);  // watch id -> the client's view of it
  std::vector<int64_t> next_watch_id(3, 1);
  for (int i = 0; i < 3; ++i) streams.push_back(hub.OpenStream());
  int next_checker_id = 0;

  auto consume = [&](size_t s) {
    for (const WatchResponse& r : hub.TakeResponses(streams[s])) {
      std::vector<int64_t> to;
      if (r.watch_id() == -1) {  // progress for the whole stream
        for (const auto& [id, w] : by_stream[s]) {
          if (w.created && !w.canceled) to.push_back(id);
        }
      } else {
        to.push_back(r.watch_id());
      }
      for (int64_t id : to) {
        ClientWatcher& w = by_stream[s].at(id);
        w.created = true;
        w.canceled |= r.canceled();
        calls.push_back({Call::Kind::kResponse, 0, {}, {}, w.checker_id, r});
      }
    }
  };

  for (int step = 0; step < 400; ++step) {
    const uint64_t action = prng.Uniform(100);
    const size_t s = prng.Uniform(streams.size());
    if (action < 35) {
      std::vector<Event> events;
      {
        kv::MvccStore::WriteTxn txn(&store);
        for (const std::string& k : keys) {
          if (prng.Uniform(3) != 0) continue;
          if (prng.Uniform(4) == 0) {
            txn.DeleteRange(k, "", nullptr);
          } else {
            txn.Put(k, std::string(1 + prng.Uniform(30), static_cast<char>('0' + prng.Uniform(10))),
                    static_cast<int64_t>(prng.Uniform(2)), nullptr);
          }
        }
        events = txn.End();
      }
      if (events.empty()) continue;
      hub.OnApplied(store.rev(), events);
      calls.push_back({Call::Kind::kRevision, store.rev(), events, {}, -1, {}});
    } else if (action < 45) {
      etcdserverpb::WatchRequest req;
      etcdserverpb::WatchCreateRequest* c = req.mutable_create_request();
      const size_t k = prng.Uniform(keys.size());
      c->set_key(prng.Uniform(6) == 0 ? "" : keys[k]);
      switch (prng.Uniform(3)) {
        case 0:
          break;
        case 1:
          c->set_range_end(std::string(1, '\0'));
          break;
        default:
          c->set_range_end(keys[k] + "z");
      }
      if (prng.Uniform(2) == 0) c->set_start_revision(1 + static_cast<int64_t>(prng.Uniform(store.rev() + 3)));
      c->set_prev_kv(prng.Uniform(2) == 0);
      c->set_fragment(prng.Uniform(2) == 0);
      c->set_progress_notify(prng.Uniform(2) == 0);
      if (prng.Uniform(5) == 0) c->add_filters(etcdserverpb::WatchCreateRequest::NOPUT);
      if (prng.Uniform(5) == 0) c->add_filters(etcdserverpb::WatchCreateRequest::NODELETE);
      c->set_watch_id(next_watch_id[s]++);
      WatchSpec spec;
      spec.key = c->key();
      spec.range_end = c->range_end();
      spec.start_revision = c->start_revision();
      spec.prev_kv = c->prev_kv();
      for (int f : c->filters()) {
        spec.no_put |= f == etcdserverpb::WatchCreateRequest::NOPUT;
        spec.no_delete |= f == etcdserverpb::WatchCreateRequest::NODELETE;
      }
      spec.created_at_revision = store.rev();
      by_stream[s].emplace(c->watch_id(), ClientWatcher{next_checker_id++});
      calls.push_back({Call::Kind::kAddWatcher, 0, {}, spec, -1, {}});
      hub.Request(streams[s], req);
    } else if (action < 48 && !by_stream[s].empty()) {
      etcdserverpb::WatchRequest req;
      auto it = by_stream[s].begin();
      std::advance(it, prng.Uniform(by_stream[s].size()));
      req.mutable_cancel_request()->set_watch_id(it->first);
      hub.Request(streams[s], req);
    } else if (action < 53) {
      etcdserverpb::WatchRequest req;
      req.mutable_progress_request();
      hub.Request(streams[s], req);
    } else if (action < 56) {
      hub.ProgressNotify();
    } else if (action < 58 && store.rev() > store.compacted_rev()) {
      const int64_t at =
          store.compacted_rev() + 1 + static_cast<int64_t>(prng.Uniform(store.rev() - store.compacted_rev()));
      if (store.Compact(at).ok()) calls.push_back({Call::Kind::kCompact, at, {}, {}, -1, {}});
    } else if (action < 80) {
      hub.SyncStep();
    } else {
      consume(s);
    }
  }
  while (hub.SyncStep()) {
    for (size_t s = 0; s < streams.size(); ++s) consume(s);
  }
  for (size_t s = 0; s < streams.size(); ++s) consume(s);
  return calls;
}

// Replays a run into the checker, then finishes it.
void Replay(const std::vector<Call>& calls, WatchChecker* checker) {
  for (const Call& c : calls) {
    switch (c.kind) {
      case Call::Kind::kRevision:
        checker->OnRevision(c.revision, c.events);
        break;
      case Call::Kind::kCompact:
        checker->OnCompact(c.revision);
        break;
      case Call::Kind::kAddWatcher:
        checker->AddWatcher(c.spec);
        break;
      case Call::Kind::kResponse:
        checker->OnResponse(c.watcher, c.response);
        break;
    }
  }
  checker->Finish();
}

// Positions of responses carrying events (whole, not a fragment part) followed later, on the same watcher, by a
// response that claims a later revision (events or progress): dropping or repeating such a response is detectable.
std::vector<size_t> Mutable(const std::vector<Call>& calls) {
  std::vector<size_t> out;
  for (size_t i = 0; i < calls.size(); ++i) {
    const Call& c = calls[i];
    if (c.kind != Call::Kind::kResponse || c.response.events_size() == 0 || c.response.fragment()) continue;
    if (i > 0 && calls[i - 1].kind == Call::Kind::kResponse && calls[i - 1].watcher == c.watcher &&
        calls[i - 1].response.fragment()) {
      continue;  // the last part of a fragmented batch
    }
    for (size_t j = i + 1; j < calls.size(); ++j) {
      const Call& d = calls[j];
      if (d.kind != Call::Kind::kResponse || d.watcher != c.watcher) continue;
      if (!d.response.canceled() && !d.response.created()) out.push_back(i);
      break;
    }
  }
  return out;
}

TEST(WatchCheckerAgainstHubTest, RandomRunsPassAndMutationsFail) {
  int64_t events_checked = 0;
  int mutations = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const std::vector<Call> calls = RandomHubRun(seed);
    WatchChecker checker;
    Replay(calls, &checker);
    ASSERT_TRUE(checker.ok()) << "seed " << seed << ": " << checker.violation();
    events_checked += checker.events_checked();

    // Every revision reported first only after the responses (held), then twice (a second replica).
    std::vector<Call> late;
    std::vector<Call> revisions;
    for (const Call& c : calls) (c.kind == Call::Kind::kRevision ? revisions : late).push_back(c);
    late.insert(late.end(), revisions.begin(), revisions.end());
    late.insert(late.end(), revisions.begin(), revisions.end());
    WatchChecker held;
    Replay(late, &held);
    ASSERT_TRUE(held.ok()) << "seed " << seed << " (history late): " << held.violation();
    EXPECT_EQ(held.events_checked(), checker.events_checked());

    const std::vector<size_t> at = Mutable(calls);
    if (at.empty()) continue;
    const size_t i = at[seed % at.size()];
    const std::vector<std::pair<std::string, std::function<void(std::vector<Call>*)>>> mutants = {
        {"duplicated", [&](std::vector<Call>* m) { m->insert(m->begin() + static_cast<ptrdiff_t>(i), (*m)[i]); }},
        {"dropped", [&](std::vector<Call>* m) { m->erase(m->begin() + static_cast<ptrdiff_t>(i)); }},
        {"moved to the end",
         [&](std::vector<Call>* m) {
           const Call c = (*m)[i];
           m->erase(m->begin() + static_cast<ptrdiff_t>(i));
           m->push_back(c);
         }},
    };
    for (const auto& [name, mutate] : mutants) {
      std::vector<Call> m = calls;
      mutate(&m);
      WatchChecker mutant;
      Replay(m, &mutant);
      EXPECT_FALSE(mutant.ok()) << "seed " << seed << ": response " << i << " " << name << " went unnoticed";
      ++mutations;
    }
  }
  EXPECT_GT(events_checked, 1000) << "the random runs should exercise the checker";
  EXPECT_GT(mutations, 60);
}

}  // namespace
}  // namespace detcd::sim
