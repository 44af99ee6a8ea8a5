// RaftLog: the append rule (conflicts, truncation), commit and stability bookkeeping, what is handed out to apply
// (durable and size-limited), the up-to-date comparison, and slicing across the durable/unstable boundary.
#include "raft/log.h"

#include "gtest/gtest.h"
#include "raft/rafttest/test_node.h"
#include "raft/storage.h"

namespace detcd::raft {
namespace {

using rafttest::EntriesWithTerms;

constexpr uint64_t kNoLimit = ~0ull;

std::vector<uint64_t> Terms(const std::vector<raftpb::Entry>& entries) {
  std::vector<uint64_t> out;
  for (const raftpb::Entry& e : entries) out.push_back(e.term());
  return out;
}

std::vector<uint64_t> Indexes(const std::vector<raftpb::Entry>& entries) {
  std::vector<uint64_t> out;
  for (const raftpb::Entry& e : entries) out.push_back(e.index());
  return out;
}

std::vector<uint64_t> LogTerms(const RaftLog& log) {
  std::vector<uint64_t> out;
  for (uint64_t i = log.FirstIndex(); i <= log.LastIndex(); ++i) out.push_back(log.Term(i));
  return out;
}

raftpb::Entry EntryWithData(uint64_t index, uint64_t term, size_t data_bytes) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::string(data_bytes, 'x'));
  return e;
}

TEST(RaftLogTest, FindConflict) {
  struct Case {
    std::vector<raftpb::Entry> entries;
    uint64_t want;
  };
  const std::vector<Case> cases = {
      {{}, 0},
      {EntriesWithTerms({1, 2, 3}), 0},  // all present
      {EntriesWithTerms({2, 3}, 2), 0},
      {EntriesWithTerms({3}, 3), 0},
      {EntriesWithTerms({1, 2, 3, 4, 4}), 4},  // new entries after a matching prefix
      {EntriesWithTerms({2, 3, 4, 4}, 2), 4},
      {EntriesWithTerms({4, 4}, 4), 4},
      {EntriesWithTerms({4, 4}), 1},  // conflicting terms
      {EntriesWithTerms({1, 4, 4}), 2},
      {EntriesWithTerms({4, 4, 4, 4}, 3), 3},
  };
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(EntriesWithTerms({1, 2, 3}));
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(log.FindConflict(cases[i].entries), cases[i].want) << i;
}

TEST(RaftLogTest, FindConflictByTerm) {
  MemoryStorage storage;
  storage.Append(EntriesWithTerms({1, 1, 2, 2, 5, 5, 5}));
  RaftLog log(&storage, kNoLimit);
  struct Case {
    uint64_t index, term, want;
  };
  for (const Case& c : std::vector<Case>{
           {7, 5, 7},  // the entry itself has a term <= 5
           {7, 4, 4},  // skip the whole term-5 run
           {7, 2, 4},
           {7, 1, 2},
           {7, 0, 0},
           {3, 1, 2},
           {20, 5, 7},  // beyond the log: start from the last entry
           {20, 3, 4},
           {0, 9, 0},
       }) {
    EXPECT_EQ(log.FindConflictByTerm(c.index, c.term), c.want) << c.index << "/" << c.term;
  }
}

TEST(RaftLogTest, FindConflictByTermStopsAtCompactionPoint) {
  MemoryStorage storage;
  storage.Append(EntriesWithTerms({1, 1, 2, 2, 5, 5, 5}));
  ASSERT_TRUE(storage.Compact(4).ok());
  RaftLog log(&storage, kNoLimit);
  EXPECT_EQ(log.FindConflictByTerm(7, 2), 4u);  // the compaction point's term is known
  EXPECT_EQ(log.FindConflictByTerm(7, 1), 3u);  // below it nothing is known: stop just under it
}

// The follower side of AppendEntries (etcd's TestLogMaybeAppend): match, extend, truncate, commit.
TEST(RaftLogTest, MaybeAppend) {
  struct Case {
    uint64_t prev_index, prev_term, commit;
    std::vector<raftpb::Entry> entries;
    bool ok;
    uint64_t last_new, want_commit;
    std::vector<uint64_t> want_terms;
  };
  const std::vector<Case> cases = {
      // no match at prev: nothing changes
      {3, 2, 3, EntriesWithTerms({4}, 4), false, 0, 1, {1, 2, 3}},
      {4, 3, 3, EntriesWithTerms({4}, 5), false, 0, 1, {1, 2, 3}},
      // match at the last entry
      {3, 3, 3, {}, true, 3, 3, {1, 2, 3}},
      {3, 3, 4, {}, true, 3, 3, {1, 2, 3}},  // commit never beyond what this message vouches for
      {3, 3, 2, {}, true, 3, 2, {1, 2, 3}},
      {3, 3, 0, {}, true, 3, 1, {1, 2, 3}},  // commit never decreases
      {0, 0, 3, {}, true, 0, 1, {1, 2, 3}},
      {3, 3, 3, EntriesWithTerms({4}, 4), true, 4, 3, {1, 2, 3, 4}},
      {3, 3, 4, EntriesWithTerms({4}, 4), true, 4, 4, {1, 2, 3, 4}},
      {3, 3, 5, EntriesWithTerms({4, 4}, 4), true, 5, 5, {1, 2, 3, 4, 4}},
      // match in the middle: entries already present change nothing, new ones truncate the conflicting tail
      {2, 2, 3, EntriesWithTerms({3}, 3), true, 3, 3, {1, 2, 3}},
      {2, 2, 3, EntriesWithTerms({4}, 3), true, 3, 3, {1, 2, 4}},
      {2, 2, 3, EntriesWithTerms({4, 4}, 3), true, 4, 3, {1, 2, 4, 4}},
      {1, 1, 3, EntriesWithTerms({2}, 2), true, 2, 2, {1, 2, 3}},  // a stale, shorter append keeps the tail
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    MemoryStorage storage;
    RaftLog log(&storage, kNoLimit);
    log.Append(EntriesWithTerms({1, 2, 3}));
    log.CommitTo(1);
    const std::optional<uint64_t> got = log.MaybeAppend(c.prev_index, c.prev_term, c.commit, c.entries);
    EXPECT_EQ(got.has_value(), c.ok) << "case " << i;
    if (got) {
      EXPECT_EQ(*got, c.last_new) << "case " << i;
    }
    EXPECT_EQ(log.committed(), c.want_commit) << "case " << i;
    EXPECT_EQ(LogTerms(log), c.want_terms) << "case " << i;
  }
}

TEST(RaftLogDeathTest, TruncatingCommittedEntryAborts) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(EntriesWithTerms({1, 2, 3}));
  log.CommitTo(2);
  EXPECT_DEATH(log.MaybeAppend(1, 1, 3, EntriesWithTerms({4}, 2)), "conflicts with committed");
}

TEST(RaftLogTest, CommitNeverDecreases) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(EntriesWithTerms({1, 1, 2}));
  log.CommitTo(3);
  log.CommitTo(1);
  EXPECT_EQ(log.committed(), 3u);
  EXPECT_FALSE(log.MaybeCommit(2, 1));
  EXPECT_EQ(log.committed(), 3u);
}

TEST(RaftLogTest, MaybeCommitRequiresTheGivenTerm) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(EntriesWithTerms({1, 1, 2}));
  EXPECT_FALSE(log.MaybeCommit(2, 2));  // entry 2 has term 1
  EXPECT_EQ(log.committed(), 0u);
  EXPECT_TRUE(log.MaybeCommit(3, 2));
  EXPECT_EQ(log.committed(), 3u);
}

TEST(RaftLogTest, StableToMovesUnstableTail) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(EntriesWithTerms({1, 1, 2}));
  EXPECT_EQ(log.StableLastIndex(), 0u);
  log.StableTo(2, 1);
  EXPECT_EQ(log.StableLastIndex(), 2u);
  EXPECT_EQ(Indexes(log.UnstableEntries()), (std::vector<uint64_t>{3}));
  log.StableTo(3, 1);  // wrong term: not what is at 3
  EXPECT_EQ(log.StableLastIndex(), 2u);
  log.StableTo(9, 2);  // beyond the log
  EXPECT_EQ(log.StableLastIndex(), 2u);
}

// A Ready's entries may be replaced (a new leader overwrote them) before the driver reports them durable: the report
// of the old entries must not mark the new ones durable.
TEST(RaftLogTest, StableToIgnoresReplacedTail) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(EntriesWithTerms({1, 1, 1}));
  ASSERT_TRUE(log.MaybeAppend(1, 1, 0, EntriesWithTerms({2, 2}, 2)).has_value());
  ASSERT_EQ(LogTerms(log), (std::vector<uint64_t>{1, 2, 2}));
  log.StableTo(3, 1);  // the old entry 3 (term 1) was persisted, but it is gone
  EXPECT_EQ(log.StableLastIndex(), 0u);
  EXPECT_EQ(log.UnstableEntries().size(), 3u);
  log.StableTo(3, 2);
  EXPECT_EQ(log.StableLastIndex(), 3u);
  EXPECT_TRUE(log.UnstableEntries().empty());
}

// Replacing part of the durable log moves the stable boundary back: the replaced entries must be written again.
TEST(RaftLogTest, ReplacingDurableEntriesMakesThemUnstable) {
  MemoryStorage storage;
  storage.Append(EntriesWithTerms({1, 1, 1}));
  RaftLog log(&storage, kNoLimit);
  ASSERT_EQ(log.StableLastIndex(), 3u);
  ASSERT_TRUE(log.MaybeAppend(1, 1, 0, EntriesWithTerms({2}, 2)).has_value());
  EXPECT_EQ(log.StableLastIndex(), 1u);
  EXPECT_EQ(log.LastIndex(), 2u);
  EXPECT_EQ(log.Term(3), 0u) << "entry 3 still in storage is no longer part of the log";
  EXPECT_EQ(Indexes(log.UnstableEntries()), (std::vector<uint64_t>{2}));
}

// Only committed entries that are durable locally are handed out to apply.
TEST(RaftLogTest, NextCommittedEntriesLimitedToDurable) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(EntriesWithTerms({1, 1, 1, 1}));
  log.CommitTo(3);
  EXPECT_FALSE(log.HasNextCommittedEntries());
  EXPECT_TRUE(log.NextCommittedEntries().empty());
  storage.Append(EntriesWithTerms({1, 1}));
  log.StableTo(2, 1);
  EXPECT_TRUE(log.HasNextCommittedEntries());
  EXPECT_EQ(Indexes(log.NextCommittedEntries()), (std::vector<uint64_t>{1, 2}));
  storage.Append(EntriesWithTerms({1, 1}, 3));
  log.StableTo(4, 1);
  EXPECT_EQ(Indexes(log.NextCommittedEntries()), (std::vector<uint64_t>{1, 2, 3})) << "durable, but 4 not committed";
  log.AppliedTo(2);
  EXPECT_EQ(Indexes(log.NextCommittedEntries()), (std::vector<uint64_t>{3}));
  log.AppliedTo(3);
  EXPECT_FALSE(log.HasNextCommittedEntries());
}

TEST(RaftLogTest, NextCommittedEntriesLimitedBySize) {
  MemoryStorage storage;
  std::vector<raftpb::Entry> entries;
  for (uint64_t i = 1; i <= 5; ++i) entries.push_back(EntryWithData(i, 1, 100));
  const uint64_t one = entries[0].ByteSizeLong();
  storage.Append(entries);
  for (const auto& [limit, want] : std::vector<std::pair<uint64_t, size_t>>{
           {0, 1}, {one, 1}, {2 * one - 1, 1}, {2 * one, 2}, {3 * one + 1, 3}, {kNoLimit, 5}}) {
    RaftLog log(&storage, limit);
    log.CommitTo(5);
    EXPECT_EQ(log.NextCommittedEntries().size(), want) << "limit " << limit;
  }
}

TEST(RaftLogTest, IsUpToDate) {
  MemoryStorage storage;
  RaftLog log(&storage, kNoLimit);
  log.Append(EntriesWithTerms({1, 2, 3}));
  struct Case {
    uint64_t index, term;
    bool want;
  };
  for (const Case& c : std::vector<Case>{
           {2, 4, true},
           {3, 4, true},
           {4, 4, true},  // later last term wins whatever the length
           {2, 2, false},
           {3, 2, false},
           {4, 2, false},  // earlier last term loses whatever the length
           {2, 3, false},
           {3, 3, true},
           {4, 3, true},  // same term: at least as long
       }) {
    EXPECT_EQ(log.IsUpToDate(c.index, c.term), c.want) << c.index << "/" << c.term;
  }
}

TEST(RaftLogTest, TermOutsideLogIsZero) {
  MemoryStorage storage;
  storage.Append(EntriesWithTerms({1, 2, 3, 4, 5}));
  ASSERT_TRUE(storage.Compact(2).ok());
  RaftLog log(&storage, kNoLimit);
  log.Append(EntriesWithTerms({6}, 6));
  EXPECT_EQ(log.FirstIndex(), 3u);
  EXPECT_EQ(log.Term(1), 0u);  // compacted
  EXPECT_EQ(log.Term(2), 2u);  // the compaction point's term is kept
  EXPECT_EQ(log.Term(5), 5u);
  EXPECT_EQ(log.Term(6), 6u);  // unstable
  EXPECT_EQ(log.Term(7), 0u);
  EXPECT_EQ(log.committed(), 2u) << "a compacted prefix was committed and applied";
  EXPECT_EQ(log.applied(), 2u);
}

TEST(RaftLogTest, SliceAcrossStableAndUnstable) {
  MemoryStorage storage;
  std::vector<raftpb::Entry> stable;
  for (uint64_t i = 1; i <= 4; ++i) stable.push_back(EntryWithData(i, 1, 50));
  storage.Append(stable);
  ASSERT_TRUE(storage.Compact(1).ok());
  RaftLog log(&storage, kNoLimit);
  std::vector<raftpb::Entry> unstable;
  for (uint64_t i = 5; i <= 7; ++i) unstable.push_back(EntryWithData(i, 2, 50));
  log.Append(unstable);
  const uint64_t one = stable[0].ByteSizeLong();
  ASSERT_EQ(one, unstable[0].ByteSizeLong());
  struct Case {
    uint64_t lo, hi, max_bytes;
    std::vector<uint64_t> want;
  };
  const std::vector<Case> cases = {
      {2, 2, kNoLimit, {}},
      {2, 5, kNoLimit, {2, 3, 4}},     // stable only
      {5, 8, kNoLimit, {5, 6, 7}},     // unstable only
      {3, 7, kNoLimit, {3, 4, 5, 6}},  // across the boundary
      {2, 8, kNoLimit, {2, 3, 4, 5, 6, 7}},
      {2, 8, 0, {2}},              // at least one entry
      {2, 8, 2 * one, {2, 3}},     // the limit stops inside storage: no unstable entry after a gap
      {3, 8, 3 * one, {3, 4, 5}},  // the limit stops after the boundary
      {4, 8, 2 * one, {4, 5}},
      {5, 8, one, {5}},
      {6, 8, 0, {6}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    EXPECT_EQ(Indexes(log.Slice(c.lo, c.hi, c.max_bytes)), c.want) << "case " << i;
  }
  google::protobuf::RepeatedPtrField<raftpb::Entry> copied;
  log.CopyEntriesFrom(4, kNoLimit, &copied);
  EXPECT_EQ(Terms(std::vector<raftpb::Entry>(copied.begin(), copied.end())), (std::vector<uint64_t>{1, 2, 2, 2}));
}

TEST(RaftLogTest, SliceOfUnevenEntriesMatchesCopyingAllThenLimiting) {
  // Entries of uneven sizes on both sides of the boundary; every slice under every limit must be what copying the
  // whole range and applying LimitSize gives (the slice copies only what it keeps).
  MemoryStorage storage;
  std::vector<raftpb::Entry> all = {EntryWithData(1, 1, 0)};  // all[i] is index i (all[0] the compaction point)
  std::vector<raftpb::Entry> stable;
  for (uint64_t i = 1; i <= 6; ++i) stable.push_back(EntryWithData(i, 1, static_cast<int>(10 + 37 * (i % 3))));
  storage.Append(stable);
  ASSERT_TRUE(storage.Compact(1).ok());
  RaftLog log(&storage, kNoLimit);
  std::vector<raftpb::Entry> unstable;
  for (uint64_t i = 7; i <= 11; ++i) unstable.push_back(EntryWithData(i, 2, static_cast<int>(5 + 61 * (i % 4))));
  log.Append(unstable);
  all.insert(all.end(), stable.begin(), stable.end());
  all.insert(all.end(), unstable.begin(), unstable.end());
  for (uint64_t lo = 2; lo <= 11; ++lo) {
    for (uint64_t hi = lo + 1; hi <= 12; ++hi) {
      for (uint64_t max_bytes : {uint64_t{0}, uint64_t{40}, uint64_t{90}, uint64_t{150}, uint64_t{300}, kNoLimit}) {
        std::vector<raftpb::Entry> want(all.begin() + static_cast<std::ptrdiff_t>(lo),
                                        all.begin() + static_cast<std::ptrdiff_t>(hi));
        LimitSize(&want, max_bytes);
        EXPECT_EQ(Indexes(log.Slice(lo, hi, max_bytes)), Indexes(want))
            << "[" << lo << ", " << hi << ") max " << max_bytes;
        if (hi == 12) {
          // What a leader puts in a message: the same entries, byte for byte.
          google::protobuf::RepeatedPtrField<raftpb::Entry> copied;
          log.CopyEntriesFrom(lo, max_bytes, &copied);
          ASSERT_EQ(static_cast<size_t>(copied.size()), want.size()) << "from " << lo << " max " << max_bytes;
          for (size_t k = 0; k < want.size(); ++k) {
            EXPECT_EQ(copied[static_cast<int>(k)].SerializeAsString(), want[k].SerializeAsString())
                << "from " << lo << " max " << max_bytes << " entry " << k;
          }
        }
        if (hi <= 7) {
          absl::StatusOr<std::vector<raftpb::Entry>> stored = storage.Entries(lo, hi, max_bytes);
          ASSERT_TRUE(stored.ok());
          EXPECT_EQ(Indexes(*stored), Indexes(want)) << "storage [" << lo << ", " << hi << ") max " << max_bytes;
        }
      }
    }
  }
}

TEST(RaftLogDeathTest, SliceOutOfBoundsAborts) {
  MemoryStorage storage;
  storage.Append(EntriesWithTerms({1, 1, 1}));
  ASSERT_TRUE(storage.Compact(1).ok());
  RaftLog log(&storage, kNoLimit);
  EXPECT_DEATH(log.Slice(1, 3, kNoLimit), "out of");
  EXPECT_DEATH(log.Slice(2, 5, kNoLimit), "out of");
}

TEST(RaftLogTest, AppliedToStaysBetweenAppliedAndCommitted) {
  MemoryStorage storage;
  storage.Append(EntriesWithTerms({1, 1, 1}));
  RaftLog log(&storage, kNoLimit);
  log.CommitTo(2);
  log.AppliedTo(2);
  EXPECT_EQ(log.applied(), 2u);
  EXPECT_DEATH(log.AppliedTo(3), "applied 3 outside");
  EXPECT_DEATH(log.AppliedTo(1), "applied 1 outside");
}

}  // namespace
}  // namespace detcd::raft
