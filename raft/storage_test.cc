// MemoryStorage: terms and entries by index with their out-of-range errors (and TermIfHeld's 0 for them), byte
// limits, appends that overwrite a conflicting tail, and compaction.
#include "raft/storage.h"

#include "gtest/gtest.h"
#include "raft/rafttest/test_node.h"

namespace detcd::raft {
namespace {

using rafttest::EntriesWithTerms;

constexpr uint64_t kNoLimit = ~0ull;

std::vector<uint64_t> Indexes(const std::vector<raftpb::Entry>& entries) {
  std::vector<uint64_t> out;
  for (const raftpb::Entry& e : entries) out.push_back(e.index());
  return out;
}

std::vector<uint64_t> StoredTerms(const MemoryStorage& s) {
  std::vector<uint64_t> out;
  for (const raftpb::Entry& e : s.all_entries()) out.push_back(e.term());
  return out;  // element 0 is the compaction point
}

// Entries 1..5 with terms 1..5, compacted through 3: entries 4 and 5 remain, after the compaction point (3, 3).
MemoryStorage CompactedAt3() {
  MemoryStorage s;
  s.Append(EntriesWithTerms({1, 2, 3, 4, 5}));
  EXPECT_TRUE(s.Compact(3).ok());
  return s;
}

TEST(MemoryStorageTest, EmptyStorage) {
  MemoryStorage s;
  EXPECT_EQ(s.FirstIndex(), 1u);
  EXPECT_EQ(s.LastIndex(), 0u);
  ASSERT_TRUE(s.Term(0).ok());
  EXPECT_EQ(*s.Term(0), 0u);
  EXPECT_TRUE(raft::IsUnavailable(s.Term(1).status()));
}

TEST(MemoryStorageTest, TermWithOutOfRangeErrors) {
  MemoryStorage s = CompactedAt3();
  EXPECT_EQ(s.FirstIndex(), 4u);
  EXPECT_EQ(s.LastIndex(), 5u);
  EXPECT_TRUE(IsCompacted(s.Term(2).status()));
  ASSERT_TRUE(s.Term(3).ok()) << "the compaction point keeps its term";
  EXPECT_EQ(*s.Term(3), 3u);
  EXPECT_EQ(*s.Term(5), 5u);
  EXPECT_TRUE(raft::IsUnavailable(s.Term(6).status()));
  EXPECT_FALSE(IsCompacted(s.Term(6).status()));
  EXPECT_FALSE(raft::IsUnavailable(s.Term(2).status()));
}

TEST(MemoryStorageTest, TermIfHeldIsTermOrZeroOutsideTheHeldRange) {
  MemoryStorage empty;
  EXPECT_EQ(empty.TermIfHeld(0), 0u);
  EXPECT_EQ(empty.TermIfHeld(1), 0u);
  MemoryStorage s = CompactedAt3();
  for (uint64_t i = 0; i <= 8; ++i) {
    const absl::StatusOr<uint64_t> t = s.Term(i);
    EXPECT_EQ(s.TermIfHeld(i), t.ok() ? *t : 0u) << i;
  }
  EXPECT_EQ(s.TermIfHeld(3), 3u) << "the compaction point keeps its term";
  EXPECT_EQ(s.TermIfHeld(5), 5u);
  EXPECT_EQ(s.TermIfHeld(2), 0u) << "compacted";
  EXPECT_EQ(s.TermIfHeld(6), 0u) << "beyond the last entry";
}

TEST(MemoryStorageTest, EntriesWithSizeLimit) {
  MemoryStorage s;
  std::vector<raftpb::Entry> entries = EntriesWithTerms({1, 2, 3, 4, 5, 6});
  for (raftpb::Entry& e : entries) e.set_data("0123456789");
  s.Append(entries);
  ASSERT_TRUE(s.Compact(2).ok());
  const uint64_t one = entries[0].ByteSizeLong();
  struct Case {
    uint64_t lo, hi, max_bytes;
    std::vector<uint64_t> want;
  };
  const std::vector<Case> cases = {
      {3, 3, kNoLimit, {}},
      {3, 4, kNoLimit, {3}},
      {3, 7, kNoLimit, {3, 4, 5, 6}},
      {4, 6, kNoLimit, {4, 5}},
      {3, 7, 0, {3}},  // at least one entry
      {3, 7, one, {3}},
      {3, 7, 2 * one - 1, {3}},
      {3, 7, 2 * one, {3, 4}},
      {3, 7, 3 * one, {3, 4, 5}},
      {3, 7, EntriesSize({entries[2], entries[3], entries[4], entries[5]}), {3, 4, 5, 6}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    absl::StatusOr<std::vector<raftpb::Entry>> got = s.Entries(cases[i].lo, cases[i].hi, cases[i].max_bytes);
    ASSERT_TRUE(got.ok()) << "case " << i << ": " << got.status();
    EXPECT_EQ(Indexes(*got), cases[i].want) << "case " << i;
    // CopyEntries adds the same entries after what a message holds already.
    google::protobuf::RepeatedPtrField<raftpb::Entry> copied;
    copied.Add()->set_index(99);
    ASSERT_TRUE(s.CopyEntries(cases[i].lo, cases[i].hi, cases[i].max_bytes, &copied).ok()) << "case " << i;
    ASSERT_EQ(static_cast<size_t>(copied.size()), 1 + got->size()) << "case " << i;
    EXPECT_EQ(copied[0].index(), 99u) << "case " << i;
    for (size_t k = 0; k < got->size(); ++k) {
      EXPECT_EQ(copied[static_cast<int>(k + 1)].SerializeAsString(), (*got)[k].SerializeAsString()) << "case " << i;
    }
  }
  EXPECT_TRUE(IsCompacted(s.Entries(2, 4, kNoLimit).status()));
  EXPECT_TRUE(IsCompacted(s.Entries(1, 4, kNoLimit).status()));
  google::protobuf::RepeatedPtrField<raftpb::Entry> none;
  EXPECT_TRUE(IsCompacted(s.CopyEntries(2, 4, kNoLimit, &none)));
  EXPECT_TRUE(none.empty());
}

TEST(MemoryStorageDeathTest, EntriesBeyondLastAborts) {
  MemoryStorage s = CompactedAt3();
  EXPECT_DEATH((void)s.Entries(4, 7, kNoLimit), "beyond last");
}

TEST(MemoryStorageTest, AppendOverwritesAndTruncates) {
  struct Case {
    std::vector<raftpb::Entry> append;
    std::vector<uint64_t> want;  // terms from the compaction point (index 3) on
  };
  const std::vector<Case> cases = {
      {EntriesWithTerms({3, 4, 5}, 3), {3, 4, 5}},  // identical
      {EntriesWithTerms({3, 6, 6}, 3), {3, 6, 6}},  // conflicting terms replace
      {EntriesWithTerms({3, 4, 5, 5}, 3), {3, 4, 5, 5}},
      {EntriesWithTerms({1, 2, 3, 4, 4}), {3, 4, 4}},  // a compacted prefix is skipped
      {EntriesWithTerms({1, 2}), {3, 4, 5}},           // entirely compacted: ignored
      {EntriesWithTerms({5}, 4), {3, 5}},              // an overwrite truncates everything after it
      {EntriesWithTerms({6}, 6), {3, 4, 5, 6}},        // plain append
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    MemoryStorage s = CompactedAt3();
    s.Append(cases[i].append);
    EXPECT_EQ(StoredTerms(s), cases[i].want) << "case " << i;
    EXPECT_EQ(s.LastIndex(), 2 + cases[i].want.size()) << "case " << i;
  }
}

TEST(MemoryStorageDeathTest, AppendWithGapAborts) {
  MemoryStorage s = CompactedAt3();
  EXPECT_DEATH(s.Append(EntriesWithTerms({7}, 7)), "missing log entries");
}

TEST(MemoryStorageTest, Compact) {
  struct Case {
    uint64_t index;
    bool ok;
    uint64_t first, dummy_term;
    size_t entries;
  };
  for (const Case& c : std::vector<Case>{
           {2, false, 4, 3, 3},  // already compacted
           {3, false, 4, 3, 3},
           {4, true, 5, 4, 2},
           {5, true, 6, 5, 1},  // everything: only the dummy remains
       }) {
    MemoryStorage s = CompactedAt3();
    const absl::Status st = s.Compact(c.index);
    EXPECT_EQ(st.ok(), c.ok) << c.index;
    if (!c.ok) {
      EXPECT_TRUE(IsCompacted(st)) << c.index;
    }
    EXPECT_EQ(s.FirstIndex(), c.first) << c.index;
    EXPECT_EQ(s.LastIndex(), 5u) << c.index;
    EXPECT_EQ(s.all_entries()[0].term(), c.dummy_term) << c.index;
    EXPECT_EQ(s.all_entries()[0].index(), c.first - 1) << c.index;
    EXPECT_EQ(s.all_entries().size(), c.entries) << c.index;
  }
}

TEST(MemoryStorageTest, CreateSnapshotKeepsEntriesAndRefusesOlderOnes) {
  MemoryStorage s = CompactedAt3();  // dummy (3, 3), entries 4 (term 4) and 5 (term 5)
  EXPECT_EQ(s.Snapshot().metadata().index(), 0u);
  raftpb::ConfState cs;
  cs.add_voters(1);
  cs.add_voters(2);
  absl::StatusOr<raftpb::Snapshot> snap = s.CreateSnapshot(4, cs, "state@4");
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->metadata().index(), 4u);
  EXPECT_EQ(snap->metadata().term(), 4u);
  EXPECT_EQ(snap->metadata().conf_state().voters_size(), 2);
  EXPECT_EQ(s.Snapshot().data(), "state@4");
  EXPECT_EQ(s.FirstIndex(), 4u);  // entries stay until Compact
  EXPECT_TRUE(IsSnapOutOfDate(s.CreateSnapshot(4, cs, "again").status()));
  EXPECT_TRUE(IsSnapOutOfDate(s.CreateSnapshot(3, cs, "older").status()));
  ASSERT_TRUE(s.CreateSnapshot(5, cs, "state@5").ok());
  EXPECT_EQ(s.Snapshot().metadata().term(), 5u);
}

TEST(MemoryStorageTest, ApplySnapshotReplacesTheLog) {
  MemoryStorage s = CompactedAt3();
  raftpb::Snapshot snap;
  snap.set_data("leader state");
  snap.mutable_metadata()->set_index(10);
  snap.mutable_metadata()->set_term(7);
  snap.mutable_metadata()->mutable_conf_state()->add_voters(3);
  ASSERT_TRUE(s.ApplySnapshot(snap).ok());
  EXPECT_EQ(s.FirstIndex(), 11u);
  EXPECT_EQ(s.LastIndex(), 10u);
  EXPECT_EQ(*s.Term(10), 7u);
  EXPECT_TRUE(IsCompacted(s.Term(9).status()));
  EXPECT_EQ(s.InitialConfState().voters_size(), 1);
  EXPECT_EQ(s.Snapshot().data(), "leader state");
  snap.mutable_metadata()->set_index(9);
  EXPECT_TRUE(IsSnapOutOfDate(s.ApplySnapshot(snap)));
  EXPECT_EQ(s.LastIndex(), 10u);
}

TEST(MemoryStorageDeathTest, CompactBeyondLastAborts) {
  MemoryStorage s = CompactedAt3();
  EXPECT_DEATH((void)s.Compact(6), "beyond last");
}

TEST(MemoryStorageTest, HardAndConfStateRoundTrip) {
  MemoryStorage s;
  raftpb::HardState hs;
  hs.set_term(4);
  hs.set_vote(2);
  hs.set_commit(9);
  s.SetHardState(hs);
  raftpb::ConfState cs;
  cs.add_voters(1);
  cs.add_learners(4);
  s.SetConfState(cs);
  EXPECT_EQ(s.InitialHardState().term(), 4u);
  EXPECT_EQ(s.InitialHardState().vote(), 2u);
  EXPECT_EQ(s.InitialHardState().commit(), 9u);
  EXPECT_EQ(s.InitialConfState().voters_size(), 1);
  EXPECT_EQ(s.InitialConfState().learners(0), 4u);
}

TEST(StorageSizeTest, LimitSizeKeepsAtLeastOne) {
  std::vector<raftpb::Entry> entries = EntriesWithTerms({1, 1, 1});
  const uint64_t one = entries[0].ByteSizeLong();
  EXPECT_EQ(EntriesSize(entries), 3 * one);
  std::vector<raftpb::Entry> e = entries;
  LimitSize(&e, 0);
  EXPECT_EQ(e.size(), 1u);
  e = entries;
  LimitSize(&e, 2 * one);
  EXPECT_EQ(e.size(), 2u);
  e = entries;
  LimitSize(&e, 3 * one);
  EXPECT_EQ(e.size(), 3u);
  e.clear();
  LimitSize(&e, 0);
  EXPECT_TRUE(e.empty());
}

}  // namespace
}  // namespace detcd::raft
