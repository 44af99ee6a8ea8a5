// StateSnapshotWriter with MvccStore's pin: a snapshot written a piece at a time while the store is written and
// compacted holds exactly the store as it was when pinned, and decodes with the ordinary Restore.
#include "kv/state_snapshot_writer.h"

#include <algorithm>

#include "api/kv_request.pb.h"
#include "api/kv_snapshot.pb.h"
#include "gtest/gtest.h"
#include "kv/mvcc_store.h"

namespace detcd::kv {
namespace {

void Put(MvccStore& s, const std::string& k, const std::string& v, int64_t lease = 0) {
  MvccStore::WriteTxn txn(&s);
  txn.Put(k, v, lease, nullptr);
}

void Del(MvccStore& s, const std::string& k) {
  MvccStore::WriteTxn txn(&s);
  txn.DeleteRange(k, "", nullptr);
}

// A store with history: overwrites, deletes, a compaction.
MvccStore History(int keys) {
  MvccStore s(1);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < keys; ++i) Put(s, "k" + std::to_string(i), "v" + std::to_string(round), i % 3);
  }
  for (int i = 0; i < keys; i += 4) Del(s, "k" + std::to_string(i));
  EXPECT_TRUE(s.Compact(s.rev() - keys).ok());
  return s;
}

kvpb::StateSnapshot Small() {
  kvpb::StateSnapshot small;
  small.set_leases("leases");
  small.add_recent_request_ids(7);
  small.add_recent_request_ids(9);
  return small;
}

std::string WriteAll(StateSnapshotWriter& w, const MvccStore& s, size_t chunk, int* steps) {
  *steps = 0;
  while (!w.Step(s, chunk)) ++*steps;
  return w.Finish();
}

TEST(StateSnapshotWriterTest, PiecesMakeTheSameStateAsOneSerialize) {
  MvccStore s = History(50);
  const std::string whole = s.Serialize();
  for (size_t chunk : {1, 7, 1000}) {
    s.Pin(s.rev());
    StateSnapshotWriter w(Small(), s);
    int steps = 0;
    const std::string data = WriteAll(w, s, chunk, &steps);
    s.Unpin();
    EXPECT_EQ(w.records(), s.records());
    EXPECT_GE(steps, static_cast<int>(s.records() / chunk) - 1) << "chunk " << chunk;
    kvpb::StateSnapshot state;
    ASSERT_TRUE(state.ParseFromString(data)) << "chunk " << chunk;
    EXPECT_EQ(state.store(), whole) << "the store field is exactly MvccStore::Serialize's bytes";
    EXPECT_EQ(state.leases(), "leases");
    EXPECT_EQ(state.recent_request_ids_size(), 2);
    MvccStore restored(1);
    ASSERT_TRUE(restored.Restore(state.store()).ok());
    EXPECT_EQ(*restored.HashKV(0), *s.HashKV(0));
    EXPECT_EQ(restored.rev(), s.rev());
    EXPECT_EQ(restored.compacted_rev(), s.compacted_rev());
  }
}

TEST(StateSnapshotWriterTest, WritesAndCompactionsDuringTheSnapshotDoNotChangeIt) {
  MvccStore s = History(40);
  const int64_t at = s.rev();
  const std::string whole = s.Serialize();
  const uint32_t hash_at = *s.HashKV(at);
  const size_t records_at = s.records();
  s.Pin(at);
  StateSnapshotWriter w(Small(), s);
  int i = 0;
  for (bool done = false; !done; ++i) {
    done = w.Step(s, 5);
    // Writes go on: overwrite keys the snapshot has not reached yet and ones it has, delete some.
    Put(s, "k" + std::to_string(i % 40), "new" + std::to_string(i));
    if (i % 5 == 0) Del(s, "k" + std::to_string((i * 7) % 40));
    // Compactions remove versions the snapshot still has to write (below and at its revision, then above it).
    if (i == 3) {
      ASSERT_TRUE(s.Compact(at).ok());
    }
    if (i == 6) {
      ASSERT_TRUE(s.Compact(at + 4).ok());
    }
  }
  ASSERT_LT(s.records(), records_at + static_cast<size_t>(i)) << "compaction really removed versions";
  EXPECT_TRUE(IsErrCompacted(s.HashKV(at).status())) << "compaction hides the pinned versions at once";
  const std::string data = w.Finish();
  s.Unpin();
  kvpb::StateSnapshot state;
  ASSERT_TRUE(state.ParseFromString(data));
  EXPECT_EQ(state.store(), whole);
  MvccStore restored(1);
  ASSERT_TRUE(restored.Restore(state.store()).ok());
  EXPECT_EQ(restored.rev(), at);
  EXPECT_EQ(*restored.HashKV(0), hash_at);
  EXPECT_EQ(restored.records(), records_at);
}

TEST(StateSnapshotWriterTest, UnpinFreesWhatCompactionHeld) {
  MvccStore s = History(10);
  s.Pin(s.rev());
  for (int i = 0; i < 10; ++i) Put(s, "k" + std::to_string(i), "x");
  const size_t before = s.records();
  ASSERT_TRUE(s.Compact(s.rev()).ok());
  const size_t after = s.records();
  EXPECT_LT(after, before);
  s.Unpin();
  EXPECT_EQ(s.records(), after);
  s.Pin(s.rev());  // and a new pin may start
  s.Unpin();
}

TEST(StateSnapshotWriterTest, EmptyStore) {
  MvccStore s(1);
  s.Pin(s.rev());
  StateSnapshotWriter w(kvpb::StateSnapshot(), s);
  EXPECT_TRUE(w.Step(s, 10));
  const std::string data = w.Finish();
  s.Unpin();
  kvpb::StateSnapshot state;
  ASSERT_TRUE(state.ParseFromString(data));
  EXPECT_EQ(state.store(), s.Serialize());
}

// Streamed: the prefix, then the store's bytes taken as they come, make exactly the bytes the whole output makes, and
// the writer never holds more than the piece bound plus one version, however the steps and takes interleave.
TEST(StateSnapshotWriterTest, StreamedPiecesConcatenateToTheWholeSnapshot) {
  MvccStore s = History(200);
  s.Pin(s.rev());
  StateSnapshotWriter whole(Small(), s);
  int steps = 0;
  const std::string expected = WriteAll(whole, s, 13, &steps);
  for (size_t piece : {size_t{1}, size_t{64}, size_t{1000}, size_t{1} << 20}) {
    StateSnapshotWriter w(Small(), s, piece);
    ASSERT_TRUE(w.streamed());
    const std::string prefix = w.TakePrefix();
    std::string store;
    size_t pieces = 0;
    size_t largest = 0;
    for (int i = 0; !w.done() || w.pending_bytes() > 0; ++i) {
      ASSERT_LT(i, 100000);
      w.Step(s, 17);
      ASSERT_LT(w.pending_bytes(), piece + 64) << "bounded by the piece (and one small version)";
      // Take whenever a piece is full, or everything is in; sometimes late, to check nothing grows meanwhile.
      if ((w.pending_bytes() >= piece && i % 3 != 0) || w.done()) {
        const std::string bytes = w.TakeStoreBytes();
        largest = std::max(largest, bytes.size());
        store += bytes;
        ++pieces;
      }
    }
    EXPECT_EQ(w.store_bytes(), store.size());
    EXPECT_LT(w.held_bytes_max(), piece + 64);
    EXPECT_LT(largest, piece + 64);
    if (piece < 1000) {
      EXPECT_GT(pieces, 10u);
    }
    EXPECT_EQ(StateSnapshotWriter::Assemble(prefix, store), expected) << "piece " << piece;
  }
  s.Unpin();
}

TEST(StateSnapshotWriterDeathTest, StreamedWriterRefusesWholeFinish) {
  MvccStore s = History(5);
  s.Pin(s.rev());
  StateSnapshotWriter w(Small(), s, 100);
  (void)w.TakePrefix();
  while (!w.Step(s, 10)) (void)w.TakeStoreBytes();
  EXPECT_DEATH((void)w.Finish(), "pieces");
  s.Unpin();
}

TEST(StateSnapshotWriterDeathTest, RefusesAnUnpinnedStore) {
  MvccStore s = History(5);
  EXPECT_DEATH(StateSnapshotWriter(kvpb::StateSnapshot(), s), "pinned");
}

}  // namespace
}  // namespace detcd::kv
