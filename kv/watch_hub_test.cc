// WatchHub: etcd's watch semantics over one store — created/canceled responses and watch ids, keys, prefixes and
// "\0" ranges, history replay from a past revision, filters and prev_kv, compaction cancelling a watcher, progress
// requests, fragments, and the guarantees under a slow consumer: every event exactly once, in revision order, each
// revision's events together, with bounded queues.
#include "kv/watch_hub.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace detcd::kv {
namespace {

using etcdserverpb::WatchCreateRequest;
using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;

class WatchHubTest : public ::testing::Test {
 protected:
  void Recreate(const WatchHubOptions& o) { hub = std::make_unique<WatchHub>(&store, o); }

  // One write transaction: puts (value non-empty) and deletes (value empty) at one revision, reported to the hub.
  int64_t Write(const std::vector<std::pair<std::string, std::string>>& ops) {
    std::vector<mvccpb::Event> events;
    {
      MvccStore::WriteTxn txn(&store);
      for (const auto& [k, v] : ops) {
        if (v.empty()) {
          txn.DeleteRange(k, "", nullptr);
        } else {
          txn.Put(k, v, 0, nullptr);
        }
      }
      events = txn.End();
    }
    if (!events.empty()) hub->OnApplied(store.rev(), events);
    return store.rev();
  }
  int64_t Put(const std::string& k, const std::string& v) { return Write({{k, v}}); }
  int64_t Del(const std::string& k) { return Write({{k, ""}}); }

  static WatchRequest Create(const std::string& key, const std::string& end = "", int64_t start = 0) {
    WatchRequest r;
    WatchCreateRequest* c = r.mutable_create_request();
    c->set_key(key);
    c->set_range_end(end);
    c->set_start_revision(start);
    return r;
  }
  static WatchRequest CancelReq(int64_t id) {
    WatchRequest r;
    r.mutable_cancel_request()->set_watch_id(id);
    return r;
  }

  // Events per watch id from the stream's responses, checking each response's events share one revision unless
  // it replays history (then they must be in order).
  std::map<int64_t, std::vector<mvccpb::Event>> Drain(WatchHub::StreamId s, std::vector<WatchResponse>* all = nullptr) {
    std::map<int64_t, std::vector<mvccpb::Event>> out;
    for (WatchResponse& r : hub->TakeResponses(s)) {
      for (const mvccpb::Event& ev : r.events()) out[r.watch_id()].push_back(ev);
      if (all != nullptr) all->push_back(std::move(r));
    }
    return out;
  }

  static std::vector<std::string> Keys(const std::vector<mvccpb::Event>& evs) {
    std::vector<std::string> out;
    for (const mvccpb::Event& e : evs) out.push_back(e.kv().key());
    return out;
  }

  MvccStore store;
  std::unique_ptr<WatchHub> hub = std::make_unique<WatchHub>(&store, WatchHubOptions());
};

TEST_F(WatchHubTest, KeyWatcherSeesOnlyItsKeyFromTheNextRevision) {
  Put("a", "0");
  const WatchHub::StreamId s = hub->OpenStream();
  hub->Request(s, Create("a"));
  std::vector<WatchResponse> rs;
  Drain(s, &rs);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_TRUE(rs[0].created());
  EXPECT_EQ(rs[0].watch_id(), 0) << "etcd numbers a stream's watchers from 0";
  EXPECT_EQ(rs[0].header().revision(), 1);

  Put("a", "1");
  Put("ab", "x");
  Del("a");
  rs.clear();
  auto got = Drain(s, &rs);
  ASSERT_EQ(got[0].size(), 2u);
  EXPECT_EQ(got[0][0].type(), mvccpb::Event::PUT);
  EXPECT_EQ(got[0][0].kv().value(), "1");
  EXPECT_EQ(got[0][0].kv().version(), 2);
  EXPECT_EQ(got[0][1].type(), mvccpb::Event::DELETE);
  EXPECT_EQ(got[0][1].kv().mod_revision(), 4);
  EXPECT_EQ(rs.back().header().revision(), 4);
}

TEST_F(WatchHubTest, AnyResponsesCountsEveryStreamsQueueUntilTakenOrClosed) {
  EXPECT_FALSE(hub->HasAnyResponses());
  const WatchHub::StreamId a = hub->OpenStream();
  const WatchHub::StreamId b = hub->OpenStream();
  hub->Request(a, Create("k"));
  hub->Request(b, Create("k"));
  EXPECT_TRUE(hub->HasAnyResponses());  // the two "created" responses
  Drain(a);
  EXPECT_TRUE(hub->HasAnyResponses());  // b's is still there
  Drain(b);
  EXPECT_FALSE(hub->HasAnyResponses());
  Put("k", "1");
  EXPECT_TRUE(hub->HasResponses(a));
  EXPECT_TRUE(hub->HasAnyResponses());
  Drain(a);
  EXPECT_TRUE(hub->HasAnyResponses());
  hub->CloseStream(b);  // its queued event goes with it
  EXPECT_FALSE(hub->HasAnyResponses());
  Put("k", "2");
  EXPECT_TRUE(hub->HasAnyResponses());
  EXPECT_EQ(Drain(a)[0].size(), 1u);
  EXPECT_FALSE(hub->HasAnyResponses());
}

TEST_F(WatchHubTest, PrefixAndAllKeysRanges) {
  const WatchHub::StreamId s = hub->OpenStream();
  hub->Request(s, Create("foo", "fop"));          // prefix "foo"
  hub->Request(s, Create("b", std::string(1, '\0')));  // every key >= "b"
  hub->Request(s, Create("", std::string(1, '\0')));   // every key
  Drain(s);
  Put("a", "1");
  Put("foo", "1");
  Put("foo/bar", "1");
  Put("fop", "1");
  auto got = Drain(s);
  EXPECT_EQ(Keys(got[0]), (std::vector<std::string>{"foo", "foo/bar"}));
  EXPECT_EQ(Keys(got[1]), (std::vector<std::string>{"foo", "foo/bar", "fop"}));
  EXPECT_EQ(Keys(got[2]), (std::vector<std::string>{"a", "foo", "foo/bar", "fop"}));
}

TEST_F(WatchHubTest, PastStartRevisionReplaysHistoryThenGoesLive) {
  for (int i = 1; i <= 5; ++i) Put("k", std::to_string(i));
  const WatchHub::StreamId s = hub->OpenStream();
  hub->Request(s, Create("k", "", 3));
  Put("k", "6");
  while (hub->SyncStep()) {
  }
  Put("k", "7");
  auto got = Drain(s);
  std::vector<int64_t> revs;
  for (const mvccpb::Event& e : got[0]) revs.push_back(e.kv().mod_revision());
  EXPECT_EQ(revs, (std::vector<int64_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(hub->unsynced_watchers(), 0u);
}

TEST_F(WatchHubTest, FutureStartRevisionWaitsForIt) {
  // etcd: a start revision past the store's starts the watcher there; the revisions before it are not sent.
  Put("k", "1");
  const WatchHub::StreamId s = hub->OpenStream();
  hub->Request(s, Create("k", "", 4));
  Put("k", "2");
  Put("k", "3");
  Put("k", "4");
  Put("k", "5");
  while (hub->SyncStep()) {
  }
  std::vector<int64_t> revs;
  for (const mvccpb::Event& e : Drain(s)[0]) revs.push_back(e.kv().mod_revision());
  EXPECT_EQ(revs, (std::vector<int64_t>{4, 5}));
}

TEST_F(WatchHubTest, FiltersAndPrevKv) {
  Put("k", "old");
  const WatchHub::StreamId s = hub->OpenStream();
  WatchRequest noput = Create("k");
  noput.mutable_create_request()->add_filters(WatchCreateRequest::NOPUT);
  noput.mutable_create_request()->set_prev_kv(true);
  hub->Request(s, noput);
  WatchRequest nodel = Create("k");
  nodel.mutable_create_request()->add_filters(WatchCreateRequest::NODELETE);
  nodel.mutable_create_request()->set_prev_kv(true);
  hub->Request(s, nodel);
  Drain(s);
  Put("k", "new");
  Del("k");
  Put("k", "again");
  auto got = Drain(s);
  ASSERT_EQ(got[0].size(), 1u);
  EXPECT_EQ(got[0][0].type(), mvccpb::Event::DELETE);
  EXPECT_EQ(got[0][0].prev_kv().value(), "new");
  ASSERT_EQ(got[1].size(), 2u);
  EXPECT_EQ(got[1][0].prev_kv().value(), "old");
  EXPECT_FALSE(got[1][1].has_prev_kv()) << "a put that re-creates the key has no previous version";
}

TEST_F(WatchHubTest, CompactedStartRevisionIsCancelledWithCompactRevision) {
  for (int i = 0; i < 5; ++i) Put("k", std::to_string(i));
  ASSERT_TRUE(store.Compact(4).ok());
  const WatchHub::StreamId s = hub->OpenStream();
  hub->Request(s, Create("k", "", 2));
  std::vector<WatchResponse> rs;
  Drain(s, &rs);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(rs[0].created());
  EXPECT_TRUE(rs[1].canceled());
  EXPECT_EQ(rs[1].compact_revision(), 4);
  EXPECT_EQ(hub->watchers(), 0u);

  // From the compaction revision itself the history is still there.
  hub->Request(s, Create("k", "", 4));
  auto got = Drain(s);
  ASSERT_EQ(got[1].size(), 2u);
  EXPECT_EQ(got[1][0].kv().mod_revision(), 4);
}

TEST_F(WatchHubTest, NegativeStartRevisionAsEtcd34) {
  // etcd 3.4 (checked against Debian's 3.4.23 through its JSON gateway): a start revision below the compaction
  // revision — -1 before any compaction — is created, then cancelled with that compaction revision; -1 before any
  // compaction reads no history and watches from the next revision.
  Put("k", "1");
  const WatchHub::StreamId s = hub->OpenStream();
  hub->Request(s, Create("k", "", -5));
  hub->Request(s, Create("k", "", -1));
  while (hub->SyncStep()) {
  }
  std::vector<WatchResponse> rs;
  Drain(s, &rs);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_TRUE(rs[0].created());
  EXPECT_FALSE(rs[0].canceled());
  EXPECT_EQ(rs[0].watch_id(), 0);
  EXPECT_TRUE(rs[1].canceled());
  EXPECT_EQ(rs[1].watch_id(), 0);
  EXPECT_EQ(rs[1].compact_revision(), -1) << "etcd's compaction revision before the first compaction";
  EXPECT_TRUE(rs[2].created());
  EXPECT_FALSE(rs[2].canceled());
  EXPECT_EQ(rs[2].watch_id(), 1);
  EXPECT_EQ(hub->watchers(), 1u);
  Put("k", "2");
  auto got = Drain(s);
  ASSERT_EQ(got[1].size(), 1u) << "the -1 watcher sees what comes next, not the history";
  EXPECT_EQ(got[1][0].kv().mod_revision(), 2);

  ASSERT_TRUE(store.Compact(2).ok());
  hub->Request(s, Create("k", "", -1));
  while (hub->SyncStep()) {
  }
  rs.clear();
  Drain(s, &rs);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(rs[0].created());
  EXPECT_TRUE(rs[1].canceled());
  EXPECT_EQ(rs[1].compact_revision(), 2);
}

TEST_F(WatchHubTest, RefusalsUseEtcdsReasons) {
  const WatchHub::StreamId s = hub->OpenStream();
  WatchRequest w = Create("k");
  w.mutable_create_request()->set_watch_id(7);
  hub->Request(s, w);
  hub->Request(s, w);
  hub->Request(s, Create("b", "a"));
  std::vector<WatchResponse> rs;
  Drain(s, &rs);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].watch_id(), 7);
  EXPECT_FALSE(rs[0].canceled());
  EXPECT_TRUE(rs[1].canceled());
  EXPECT_EQ(rs[1].watch_id(), -1);
  EXPECT_EQ(rs[1].cancel_reason(), "mvcc: duplicate watch ID provided on the WatchStream");
  EXPECT_EQ(rs[2].cancel_reason(), "mvcc: watcher range is empty");
  EXPECT_EQ(hub->watchers(), 1u);
}

TEST_F(WatchHubTest, CancelStopsEventsAndClosingDropsWatchers) {
  const WatchHub::StreamId s = hub->OpenStream();
  hub->Request(s, Create("k"));
  hub->Request(s, Create("k"));
  Drain(s);
  hub->Request(s, CancelReq(0));
  Put("k", "v");
  std::vector<WatchResponse> rs;
  auto got = Drain(s, &rs);
  EXPECT_TRUE(rs[0].canceled());
  EXPECT_EQ(rs[0].watch_id(), 0);
  EXPECT_EQ(got.count(0), 0u);
  EXPECT_EQ(got[1].size(), 1u);
  hub->CloseStream(s);
  EXPECT_EQ(hub->watchers(), 0u);
  Put("k", "w");  // nobody left: must not touch the closed stream
  EXPECT_FALSE(hub->HasResponses(s));
}

TEST_F(WatchHubTest, ProgressRequestWaitsUntilEveryWatcherIsCaughtUp) {
  WatchHubOptions o;
  o.max_pending_events_per_stream = 2;
  o.sync_batch_revisions = 1;
  Recreate(o);
  for (int i = 0; i < 6; ++i) Put("k", std::to_string(i));
  const WatchHub::StreamId s = hub->OpenStream();
  hub->Request(s, Create("k", "", 1));
  WatchRequest p;
  p.mutable_progress_request();
  hub->Request(s, p);
  std::vector<WatchResponse> rs;
  Drain(s, &rs);
  for (const WatchResponse& r : rs) EXPECT_NE(r.watch_id(), -1) << "progress before the watcher caught up";
  while (hub->SyncStep()) Drain(s, &rs);
  hub->SyncStep();
  rs.clear();
  Drain(s, &rs);
  ASSERT_FALSE(rs.empty());
  EXPECT_EQ(rs.back().watch_id(), -1);
  EXPECT_EQ(rs.back().header().revision(), 6);
}

TEST_F(WatchHubTest, ProgressNotifyGoesToSyncedWatchersThatAskedForIt) {
  const WatchHub::StreamId s = hub->OpenStream();
  WatchRequest w = Create("k");
  w.mutable_create_request()->set_progress_notify(true);
  hub->Request(s, w);
  hub->Request(s, Create("other"));
  Put("x", "1");
  Drain(s);
  hub->ProgressNotify();
  std::vector<WatchResponse> rs;
  Drain(s, &rs);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].watch_id(), 0);
  EXPECT_EQ(rs[0].events_size(), 0);
  EXPECT_EQ(rs[0].header().revision(), 1);
}

TEST_F(WatchHubTest, OneRevisionsEventsComeTogetherOrInFragmentsWhenAsked) {
  WatchHubOptions o;
  o.max_response_bytes = 300;
  Recreate(o);
  const WatchHub::StreamId s = hub->OpenStream();
  hub->Request(s, Create("a", "z"));
  WatchRequest f = Create("a", "z");
  f.mutable_create_request()->set_fragment(true);
  hub->Request(s, f);
  Drain(s);
  std::vector<std::pair<std::string, std::string>> ops;
  for (char c = 'a'; c < 'k'; ++c) ops.push_back({std::string(1, c), std::string(100, c)});
  Write(ops);
  std::vector<WatchResponse> rs;
  Drain(s, &rs);
  int whole = 0, parts = 0, unfinished = 0;
  size_t fragment_events = 0;
  for (const WatchResponse& r : rs) {
    if (r.watch_id() == 0) {
      ++whole;
      EXPECT_EQ(r.events_size(), 10);
    } else {
      ++parts;
      fragment_events += static_cast<size_t>(r.events_size());
      if (r.fragment()) ++unfinished;
      EXPECT_LT(r.ByteSizeLong(), 300u + 150u);
    }
  }
  EXPECT_EQ(whole, 1);
  EXPECT_GT(parts, 2);
  EXPECT_EQ(unfinished, parts - 1) << "every part but the last says fragment";
  EXPECT_FALSE(rs.back().fragment());
  EXPECT_EQ(fragment_events, 10u);
}

// A consumer that reads rarely: the stream's queue stays bounded, and once drained the watcher still gets every
// event exactly once, in order, each revision whole — for a synced watcher that fell behind and one replaying history.
TEST_F(WatchHubTest, SlowConsumerLosesNothingWithBoundedQueues) {
  WatchHubOptions o;
  o.max_pending_events_per_stream = 8;
  o.sync_batch_revisions = 5;
  Recreate(o);
  Put("p/0", "x");
  const WatchHub::StreamId s = hub->OpenStream();
  hub->Request(s, Create("p/", "p0"));
  hub->Request(s, Create("p/", "p0", 1));
  std::map<int64_t, std::vector<mvccpb::Event>> got = Drain(s);
  size_t max_queued = 0;
  int64_t expect_events = 0;
  for (int i = 0; i < 200; ++i) {
    if (i % 7 == 0) {
      Write({{"p/" + std::to_string(i), "a"}, {"p/x" + std::to_string(i), "b"}, {"q", "c"}});
      expect_events += 2;
    } else {
      Put("p/" + std::to_string(i % 13), std::to_string(i));
      expect_events += 1;
    }
    hub->SyncStep();
    if (i % 25 == 24) {
      std::vector<WatchResponse> rs;
      for (auto& [id, evs] : Drain(s, &rs)) got[id].insert(got[id].end(), evs.begin(), evs.end());
      size_t events = 0;
      for (const WatchResponse& r : rs) events += static_cast<size_t>(r.events_size());
      max_queued = std::max(max_queued, events);
    }
  }
  for (int i = 0; i < 1000 && (hub->SyncStep() || hub->HasResponses(s)); ++i) {
    for (auto& [id, evs] : Drain(s)) got[id].insert(got[id].end(), evs.begin(), evs.end());
  }
  EXPECT_LE(max_queued, 8u + 2u) << "the queue is bounded (one revision may overshoot)";
  EXPECT_EQ(hub->unsynced_watchers(), 0u);
  ASSERT_EQ(got[0].size(), static_cast<size_t>(expect_events));
  ASSERT_EQ(got[1].size(), static_cast<size_t>(expect_events + 1)) << "the second also replays revision 1";
  for (int64_t id : {0, 1}) {
    int64_t last_rev = 0;
    for (const mvccpb::Event& e : got[id]) {
      EXPECT_GE(e.kv().mod_revision(), last_rev) << "watch " << id;
      last_rev = e.kv().mod_revision();
    }
  }
  // Exactly the store's history, in order.
  absl::StatusOr<std::vector<mvccpb::Event>> all = store.Changes(2, store.rev());
  ASSERT_TRUE(all.ok());
  std::vector<mvccpb::Event> want;
  for (const mvccpb::Event& e : *all) {
    if (e.kv().key() >= "p/" && e.kv().key() < "p0") want.push_back(e);
  }
  ASSERT_EQ(got[0].size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[0][i].kv().key(), want[i].kv().key()) << i;
    EXPECT_EQ(got[0][i].kv().mod_revision(), want[i].kv().mod_revision()) << i;
    EXPECT_EQ(got[1][i + 1].kv().mod_revision(), want[i].kv().mod_revision()) << i;
  }
}

TEST_F(WatchHubTest, RestoreMakesWatchersCatchUpFromTheNewStore) {
  const WatchHub::StreamId s = hub->OpenStream();
  hub->Request(s, Create("k"));
  Put("k", "1");
  Drain(s);
  // A snapshot from a peer that is three revisions ahead.
  MvccStore ahead;
  ASSERT_TRUE(ahead.Restore(store.Serialize()).ok());
  for (int i = 2; i <= 4; ++i) {
    MvccStore::WriteTxn t(&ahead);
    t.Put("k", std::to_string(i), 0, nullptr);
    t.End();
  }
  ASSERT_TRUE(store.Restore(ahead.Serialize()).ok());
  hub->OnRestore();
  while (hub->SyncStep()) {
  }
  auto got = Drain(s);
  ASSERT_EQ(got[0].size(), 3u);
  EXPECT_EQ(got[0][0].kv().value(), "2");
  EXPECT_EQ(got[0][2].kv().value(), "4");
  Put("k", "5");
  EXPECT_EQ(Drain(s)[0].size(), 1u);
}

}  // namespace
}  // namespace detcd::kv
