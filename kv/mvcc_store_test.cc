// MvccStore: revisions, ranges with etcd's conventions, reads at past revisions, write transactions, compaction,
// changes for watchers, HashKV and snapshots.
#include "kv/mvcc_store.h"

#include "api/kv_snapshot.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "base/crc32c.h"
#include "gtest/gtest.h"

namespace detcd::kv {
namespace {

void Put(MvccStore& s, const std::string& k, const std::string& v, int64_t lease = 0) {
  MvccStore::WriteTxn txn(&s);
  txn.Put(k, v, lease, nullptr);
}

void Del(MvccStore& s, const std::string& k, const std::string& end = "") {
  MvccStore::WriteTxn txn(&s);
  txn.DeleteRange(k, end, nullptr);
}

std::vector<std::string> Keys(const RangeResult& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.kvs) out.push_back(kv.key());
  return out;
}

RangeResult MustRange(const MvccStore& s, const std::string& k, const std::string& end, RangeOptions o = {}) {
  absl::StatusOr<RangeResult> r = s.Range(k, end, o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : RangeResult();
}

TEST(MvccStoreTest, EachWriteTransactionIsOneRevision) {
  MvccStore s;
  EXPECT_EQ(s.rev(), 0);
  Put(s, "a", "1");
  EXPECT_EQ(s.rev(), 1);
  {
    MvccStore::WriteTxn txn(&s);
    txn.Put("b", "2", 0, nullptr);
    txn.Put("c", "3", 0, nullptr);
    EXPECT_EQ(txn.write_rev(), 2);
  }
  EXPECT_EQ(s.rev(), 2);
  {
    MvccStore::WriteTxn txn(&s);  // writes nothing: no new revision
    EXPECT_EQ(txn.DeleteRange("zz", "", nullptr), 0);
  }
  EXPECT_EQ(s.rev(), 2);
  RangeResult r = MustRange(s, "a", std::string("\0", 1));
  ASSERT_EQ(r.kvs.size(), 3u);
  EXPECT_EQ(r.kvs[1].key(), "b");
  EXPECT_EQ(r.kvs[1].mod_revision(), 2);
  EXPECT_EQ(r.kvs[2].mod_revision(), 2);
  EXPECT_EQ(r.rev, 2);
}

TEST(MvccStoreTest, KeyValueFieldsFollowEtcd) {
  MvccStore s;
  Put(s, "k", "v1", 7);
  Put(s, "x", "y");
  Put(s, "k", "v2", 7);
  RangeResult r = MustRange(s, "k", "");
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].value(), "v2");
  EXPECT_EQ(r.kvs[0].create_revision(), 1);
  EXPECT_EQ(r.kvs[0].mod_revision(), 3);
  EXPECT_EQ(r.kvs[0].version(), 2);
  EXPECT_EQ(r.kvs[0].lease(), 7);
}

TEST(MvccStoreTest, RangeConventions) {
  MvccStore s;
  for (const char* k : {"a", "ab", "abc", "b", "c"}) Put(s, k, "v");
  EXPECT_EQ(Keys(MustRange(s, "ab", "")), (std::vector<std::string>{"ab"})) << "empty end: one key";
  EXPECT_EQ(Keys(MustRange(s, "a", "b")), (std::vector<std::string>{"a", "ab", "abc"})) << "prefix a";
  EXPECT_EQ(Keys(MustRange(s, "ab", std::string("\0", 1))), (std::vector<std::string>{"ab", "abc", "b", "c"}))
      << "\\0: every key >= key";
  EXPECT_EQ(Keys(MustRange(s, std::string("\0", 1), std::string("\0", 1))).size(), 5u) << "all keys";
  EXPECT_TRUE(MustRange(s, "zz", "").kvs.empty());
  RangeOptions limit;
  limit.limit = 2;
  RangeResult r = MustRange(s, "a", std::string("\0", 1), limit);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"a", "ab"}));
  EXPECT_EQ(r.count, 5) << "count ignores the limit";
  RangeOptions count_only;
  count_only.count_only = true;
  r = MustRange(s, "a", "b", count_only);
  EXPECT_TRUE(r.kvs.empty());
  EXPECT_EQ(r.count, 3);
}

TEST(MvccStoreTest, ReadsAtPastRevisions) {
  MvccStore s;
  Put(s, "k", "1");        // 1
  Put(s, "k", "2");        // 2
  Del(s, "k");             // 3
  Put(s, "k", "3");        // 4
  RangeOptions o;
  o.rev = 1;
  EXPECT_EQ(MustRange(s, "k", "", o).kvs[0].value(), "1");
  o.rev = 2;
  EXPECT_EQ(MustRange(s, "k", "", o).kvs[0].version(), 2);
  o.rev = 3;
  EXPECT_TRUE(MustRange(s, "k", "", o).kvs.empty());
  EXPECT_EQ(MustRange(s, "k", "", o).rev, 4) << "the header revision is the current one";
  o.rev = 4;
  EXPECT_EQ(MustRange(s, "k", "", o).kvs[0].version(), 1);
  o.rev = 5;
  absl::StatusOr<RangeResult> future = s.Range("k", "", o);
  EXPECT_TRUE(IsErrFutureRev(future.status())) << future.status();
  EXPECT_EQ(future.status().message(), "etcdserver: mvcc: required revision is a future revision");
}

TEST(MvccStoreTest, DeleteRangeCountsAndReturnsPrevious) {
  MvccStore s;
  for (const char* k : {"a", "b", "c"}) Put(s, k, k);
  Del(s, "b");
  MvccStore::WriteTxn txn(&s);
  std::vector<mvccpb::KeyValue> prev;
  EXPECT_EQ(txn.DeleteRange("a", "z", &prev), 2) << "a and c; b is already gone";
  ASSERT_EQ(prev.size(), 2u);
  EXPECT_EQ(prev[1].value(), "c");
  std::vector<mvccpb::Event> events = txn.End();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type(), mvccpb::Event::DELETE);
  EXPECT_EQ(events[0].kv().mod_revision(), 5);
  EXPECT_EQ(s.rev(), 5);
}

TEST(MvccStoreTest, TransactionsSeeTheirOwnWrites) {
  MvccStore s;
  Put(s, "a", "old");
  MvccStore::WriteTxn txn(&s);
  mvccpb::KeyValue prev;
  txn.Put("a", "new", 0, &prev);
  EXPECT_EQ(prev.value(), "old");
  absl::StatusOr<RangeResult> r = txn.Range("a", "", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kvs[0].value(), "new");
  EXPECT_EQ(r->rev, 2);
  txn.Put("b", "x", 0, &prev);
  EXPECT_EQ(prev.key(), "") << "no previous version: cleared";
  EXPECT_EQ(txn.events().size(), 2u);
}

TEST(MvccStoreTest, CompactionFailsOldReadsAndKeepsVisibleState) {
  MvccStore s;
  Put(s, "a", "1");  // 1
  Put(s, "a", "2");  // 2
  Put(s, "b", "1");  // 3
  Del(s, "b");       // 4
  Put(s, "c", "1");  // 5
  ASSERT_TRUE(s.Compact(4).ok());
  EXPECT_EQ(s.compacted_rev(), 4);
  RangeOptions o;
  o.rev = 3;
  absl::StatusOr<RangeResult> old = s.Range("a", "", o);
  EXPECT_TRUE(IsErrCompacted(old.status())) << old.status();
  EXPECT_EQ(old.status().message(), "etcdserver: mvcc: required revision has been compacted");
  o.rev = 4;
  RangeResult at4 = MustRange(s, "a", "z", o);
  EXPECT_EQ(Keys(at4), (std::vector<std::string>{"a"}));
  EXPECT_EQ(at4.kvs[0].value(), "2");
  EXPECT_TRUE(IsErrCompacted(s.Compact(4))) << "same revision again";
  EXPECT_TRUE(IsErrCompacted(s.Compact(3)));
  EXPECT_TRUE(IsErrFutureRev(s.Compact(6)));
  EXPECT_EQ(s.records(), 3u) << "a@2, the tombstone of b at 4, c@5";
  const int64_t bytes_before = s.bytes();
  ASSERT_TRUE(s.Compact(5).ok());
  EXPECT_EQ(s.records(), 2u);
  EXPECT_EQ(s.keys(), 2u) << "b's history is gone";
  EXPECT_LT(s.bytes(), bytes_before) << "compaction frees quota";
}

TEST(MvccStoreTest, ChangesForWatchers) {
  MvccStore s;
  Put(s, "a", "1");
  Put(s, "b", "1");
  Del(s, "a");
  absl::StatusOr<std::vector<mvccpb::Event>> ev = s.Changes(2, 3);
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_EQ((*ev)[0].kv().key(), "b");
  EXPECT_EQ((*ev)[1].type(), mvccpb::Event::DELETE);
  ASSERT_TRUE(s.Compact(3).ok());
  EXPECT_TRUE(s.Changes(3, 3).ok()) << "from the compaction revision itself";
  EXPECT_EQ(s.Changes(3, 3)->size(), 1u) << "the delete at 3 is kept";
  EXPECT_TRUE(IsErrCompacted(s.Changes(2, 3).status()));
}

TEST(MvccStoreTest, HashKVDependsOnContentAndRevision) {
  MvccStore a, b;
  Put(a, "k", "v");
  Put(b, "k", "v");
  EXPECT_EQ(*a.HashKV(0), *b.HashKV(0));
  Put(a, "k", "w");
  Put(b, "k", "x");
  EXPECT_NE(*a.HashKV(0), *b.HashKV(0));
  EXPECT_EQ(*a.HashKV(1), *b.HashKV(1)) << "equal up to revision 1";
  EXPECT_TRUE(IsErrFutureRev(a.HashKV(3).status()));
}

// What etcd 3.4's HashByRev feeds its CRC-32C, built here by hand: its bucket's name, then per version the revision
// bytes (big-endian main, '_', big-endian sub, 't' for a tombstone) and the stored mvccpb.KeyValue.
std::string RevBytes(int64_t main, int64_t sub = 0, bool tombstone = false) {
  std::string out;
  for (int i = 7; i >= 0; --i) out += static_cast<char>(static_cast<uint64_t>(main) >> (8 * i));
  out += '_';
  for (int i = 7; i >= 0; --i) out += static_cast<char>(static_cast<uint64_t>(sub) >> (8 * i));
  if (tombstone) out += 't';
  return out;
}
std::string Version(int64_t main, int64_t sub, const std::string& key, const std::string& value, int64_t create,
                    int64_t version, int64_t lease = 0) {
  mvccpb::KeyValue kv;
  kv.set_key(key);
  kv.set_create_revision(create);
  kv.set_mod_revision(main);
  kv.set_version(version);
  kv.set_value(value);
  kv.set_lease(lease);
  return RevBytes(main, sub) + kv.SerializeAsString();
}
std::string Tombstone(int64_t main, const std::string& key) {
  mvccpb::KeyValue kv;
  kv.set_key(key);
  return RevBytes(main, 0, true) + kv.SerializeAsString();
}

TEST(MvccStoreTest, HashKVIsEtcds) {
  // A compatibility contract: the number etcd 3.4 gives for the same history (`etcdctl endpoint hashkv` checks a
  // move from etcd with it; members compare it in corruption checks).
  MvccStore s;
  Put(s, "a", "1");     // 1
  Put(s, "b", "2", 5);  // 2
  {
    MvccStore::WriteTxn txn(&s);  // 3: two versions, subs 0 and 1; an empty value has no field
    txn.Put("c", "3", 0, nullptr);
    txn.Put("d", "", 0, nullptr);
  }
  Del(s, "b");        // 4
  Put(s, "a", "11");  // 5
  Put(s, "e", "6");   // 6
  const std::string c3 = Version(3, 0, "c", "3", 3, 1), d3 = Version(3, 1, "d", "", 3, 1);
  EXPECT_EQ(*s.HashKV(0), Crc32c("key" + Version(1, 0, "a", "1", 1, 1) + Version(2, 0, "b", "2", 2, 1, 5) + c3 + d3 +
                                 Tombstone(4, "b") + Version(5, 0, "a", "11", 1, 2) + Version(6, 0, "e", "6", 6, 1)));
  EXPECT_EQ(*s.HashKV(3), Crc32c("key" + Version(1, 0, "a", "1", 1, 1) + Version(2, 0, "b", "2", 2, 1, 5) + c3 + d3));

  ASSERT_TRUE(s.Compact(4).ok());
  // At or below the compaction revision etcd hashes only what is still its key's newest version: a@1 gave way to
  // a@5, and the delete at the compaction revision is gone from etcd's backend (this store keeps it for watchers).
  EXPECT_EQ(*s.HashKV(0), Crc32c("key" + c3 + d3 + Version(5, 0, "a", "11", 1, 2) + Version(6, 0, "e", "6", 6, 1)));
  EXPECT_EQ(*s.HashKV(5), Crc32c("key" + c3 + d3 + Version(5, 0, "a", "11", 1, 2)));
  EXPECT_TRUE(IsErrCompacted(s.HashKV(4).status())) << "etcd refuses a hash at the compaction revision";
  EXPECT_TRUE(IsErrCompacted(s.HashKV(2).status()));
  EXPECT_TRUE(IsErrFutureRev(s.HashKV(7).status()));
  ASSERT_TRUE(s.Compact(6).ok());
  EXPECT_TRUE(IsErrCompacted(s.HashKV(6).status()));
  ASSERT_TRUE(s.HashKV(0).ok()) << "now, compacted at its newest revision, still hashes: " << s.HashKV(0).status();
  EXPECT_EQ(*s.HashKV(0), Crc32c("key" + c3 + d3 + Version(5, 0, "a", "11", 1, 2) + Version(6, 0, "e", "6", 6, 1)));
}

TEST(MvccStoreTest, HashKVWithNoLiveKeyTakesEveryKeptVersion) {
  // etcd's quirk: with no key live at the revision hashed, its "keep" set is empty and it skips nothing below the
  // compaction revision, so a version since deleted still counts.
  MvccStore s;
  Put(s, "a", "1");
  ASSERT_TRUE(s.Compact(1).ok());
  Del(s, "a");
  EXPECT_EQ(*s.HashKV(0), Crc32c("key" + Version(1, 0, "a", "1", 1, 1) + Tombstone(2, "a")));
  Put(s, "z", "9");  // a key live again: the deleted one's version no longer counts
  EXPECT_EQ(*s.HashKV(0), Crc32c("key" + Tombstone(2, "a") + Version(3, 0, "z", "9", 3, 1)));

  // Nothing live and a delete at the compaction revision: etcd's backend holds neither version any more.
  MvccStore t;
  Put(t, "a", "1");
  Del(t, "a");
  ASSERT_TRUE(t.Compact(2).ok());
  EXPECT_EQ(*t.HashKV(0), Crc32c("key"));
}

TEST(MvccStoreTest, SerializeRestoreRoundTrip) {
  MvccStore s;
  Put(s, "a", "1", 5);
  Put(s, "b", "2");
  Del(s, "a");
  Put(s, "a", "3");
  ASSERT_TRUE(s.Compact(2).ok());
  MvccStore r;
  ASSERT_TRUE(r.Restore(s.Serialize()).ok());
  EXPECT_EQ(r.rev(), s.rev());
  EXPECT_EQ(r.compacted_rev(), 2);
  EXPECT_EQ(*r.HashKV(0), *s.HashKV(0));
  EXPECT_EQ(r.bytes(), s.bytes());
  RangeResult got = MustRange(r, "a", "z");
  ASSERT_EQ(got.kvs.size(), 2u);
  EXPECT_EQ(got.kvs[0].value(), "3");
  EXPECT_EQ(got.kvs[0].create_revision(), 4);
  Put(r, "a", "4");
  EXPECT_EQ(MustRange(r, "a", "").kvs[0].version(), 2);
}

TEST(MvccStoreTest, RestoreRefusesGarbageAndLeavesTheStoreAlone) {
  MvccStore s;
  Put(s, "a", "1");
  EXPECT_FALSE(s.Restore("\xff\xff garbage").ok());
  kvpb::StoreSnapshot bad;
  bad.set_revision(1);  // below its record's revision
  kvpb::StoreRecord* r = bad.add_records();
  r->set_main(2);
  r->set_key("x");
  r->set_create_revision(2);
  r->set_version(1);
  EXPECT_FALSE(s.Restore(bad.SerializeAsString()).ok());
  bad.set_revision(2);
  r->set_version(0);  // a put with version 0
  EXPECT_FALSE(s.Restore(bad.SerializeAsString()).ok());
  r->set_version(1);
  *bad.add_records() = *r;  // the same revision twice
  EXPECT_FALSE(s.Restore(bad.SerializeAsString()).ok());
  bad.mutable_records()->RemoveLast();
  bad.set_compacted_revision(3);  // compacted past the revision
  EXPECT_FALSE(s.Restore(bad.SerializeAsString()).ok());
  EXPECT_EQ(MustRange(s, "a", "").kvs[0].value(), "1") << "a refused restore changes nothing";
  bad.set_compacted_revision(0);
  ASSERT_TRUE(s.Restore(bad.SerializeAsString()).ok());
  EXPECT_EQ(MustRange(s, "x", "").kvs.size(), 1u);
  EXPECT_TRUE(MustRange(s, "a", "").kvs.empty());
}

// What a restore reattaches leases from: every key live now whose current version has a lease, and no other.
TEST(MvccStoreTest, ForEachLeasedKeyVisitsLiveLeasedKeysOnly) {
  MvccStore s(1);
  Put(s, "a", "1", 7);
  Put(s, "b", "1", 8);
  Put(s, "b", "2", 0);  // the lease is gone with the overwrite
  Put(s, "c", "1", 0);
  Put(s, "c", "2", 9);  // and comes with one
  Put(s, "d", "1", 7);
  {
    MvccStore::WriteTxn txn(&s);
    txn.DeleteRange("d", "", nullptr);  // deleted: not live
  }
  Put(s, "e", "1", 5);
  ASSERT_TRUE(s.Compact(s.rev()).ok());
  std::vector<std::pair<std::string, int64_t>> seen;
  s.ForEachLeasedKey([&](absl::string_view key, int64_t lease) { seen.emplace_back(std::string(key), lease); });
  const std::vector<std::pair<std::string, int64_t>> want = {{"a", 7}, {"c", 9}, {"e", 5}};
  EXPECT_EQ(seen, want);
}

}  // namespace
}  // namespace detcd::kv

namespace detcd::kv {
namespace {

// Every version pin `pin` sees, as (main, sub, value).
std::vector<std::string> PinnedVersions(const MvccStore& s, MvccStore::PinId pin) {
  std::vector<std::string> out;
  std::optional<Revision> from = Revision{0, 0};
  while (from) {
    from = s.VisitPinnedVersions(pin, *from, 2, [&](const Revision& rev, const MvccStore::Record& r) {
      out.push_back(std::to_string(rev.main) + "." + std::to_string(rev.sub) + "=" + r.value.str());
      return true;
    });
  }
  return out;
}

TEST(MvccStorePinsTest, EachPinSeesTheVersionsKeptWhenItWasMadeAndCompactionFreesThemWhenTheyGo) {
  MvccStore s;
  Put(s, "a", "1");  // rev 1
  Put(s, "a", "2");  // rev 2
  const MvccStore::PinId early = s.AddPin(s.rev());
  const std::vector<std::string> at_early = {"1.0=1", "2.0=2"};
  Put(s, "a", "3");  // rev 3
  ASSERT_TRUE(s.Compact(3).ok());  // removes revs 1 and 2: early still sees them
  EXPECT_EQ(s.held_versions(), 2u);
  const MvccStore::PinId late = s.AddPin(s.rev());
  s.Pin(s.rev());  // the member's own snapshot, beside them
  EXPECT_EQ(s.pins(), 3u);
  Put(s, "a", "4");  // rev 4
  ASSERT_TRUE(s.Compact(4).ok());  // removes rev 3: late and the own pin see it, early does not (3 > 2)
  EXPECT_EQ(PinnedVersions(s, early), at_early);
  EXPECT_EQ(PinnedVersions(s, late), (std::vector<std::string>{"3.0=3"})) << "not what compaction removed before it";
  s.RemovePin(early);
  EXPECT_EQ(s.held_versions(), 1u) << "revs 1 and 2 freed: no pin sees them";
  EXPECT_EQ(PinnedVersions(s, late), (std::vector<std::string>{"3.0=3"}));
  s.RemovePin(late);
  EXPECT_EQ(s.held_versions(), 1u) << "the own pin still sees rev 3";
  s.Unpin();
  EXPECT_EQ(s.pins(), 0u);
  EXPECT_EQ(s.held_versions(), 0u);
  EXPECT_EQ(s.pinned_rev(), -1);
}

}  // namespace
}  // namespace detcd::kv
