// StateSnapshotReader against StateSnapshotWriter: the streamed writer's pieces, read back through a small buffer,
// restore exactly the store that was written (same HashKV, revisions and versions) and the small parts; the reader
// holds about its buffer, not the state; protobuf's own encoding of the same state (fields in another order) reads
// the same; anything cut short or corrupt is refused with DataLoss, never a crash.
#include "kv/state_snapshot_reader.h"

#include <string>

#include "api/kv_request.pb.h"
#include "api/kv_snapshot.pb.h"
#include "base/byte_source.h"
#include "gtest/gtest.h"
#include "kv/mvcc_store.h"
#include "kv/state_snapshot_writer.h"

namespace detcd::kv {
namespace {

void Put(MvccStore& s, const std::string& k, const std::string& v, int64_t lease = 0) {
  MvccStore::WriteTxn txn(&s);
  txn.Put(k, v, lease, nullptr);
}

// A store with history: overwrites, deletes, a compaction; values of `value_bytes`.
MvccStore History(int keys, size_t value_bytes) {
  MvccStore s(1);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < keys; ++i) {
      Put(s, "k" + std::to_string(i), std::string(value_bytes, static_cast<char>('a' + round)), i % 3);
    }
  }
  for (int i = 0; i < keys; i += 4) {
    MvccStore::WriteTxn txn(&s);
    txn.DeleteRange("k" + std::to_string(i), "", nullptr);
  }
  EXPECT_TRUE(s.Compact(s.rev() - keys).ok());
  return s;
}

kvpb::StateSnapshot Small() {
  kvpb::StateSnapshot small;
  small.set_leases(std::string(3000, 'l'));  // longer than the reader's buffer in the tests below
  small.add_recent_request_ids(7);
  small.add_recent_request_ids(9);
  small.add_removed_member_ids(4);
  return small;
}

// The state as the streamed writer makes it (prefix ‖ 5-byte store length ‖ store pieces).
std::string Streamed(MvccStore& s, size_t piece_bytes) {
  s.Pin(s.rev());
  StateSnapshotWriter w(Small(), s, piece_bytes);
  const std::string prefix = w.TakePrefix();
  std::string store;
  while (!w.Step(s, 16)) store += w.TakeStoreBytes();
  store += w.TakeStoreBytes();
  s.Unpin();
  return StateSnapshotWriter::Assemble(prefix, store);
}

absl::StatusOr<MvccStore> RestoreFrom(const std::string& data, size_t read_bytes, kvpb::StateSnapshot* small,
                                      size_t* held = nullptr) {
  StringByteSource source(data);
  StateSnapshotReader reader(&source, read_bytes);
  absl::StatusOr<DecodedState> d = reader.Read();
  if (held != nullptr) *held = reader.held_bytes_max();
  if (!d.ok()) return d.status();
  EXPECT_EQ(source.remaining(), 0u);
  *small = d->small;
  MvccStore out(0);
  if (absl::Status s = out.FinishRestore(std::move(d->store), d->revision, d->compacted_revision); !s.ok()) return s;
  return out;
}

void ExpectSameStore(const MvccStore& got, const MvccStore& want) {
  EXPECT_EQ(got.rev(), want.rev());
  EXPECT_EQ(got.compacted_rev(), want.compacted_rev());
  EXPECT_EQ(got.records(), want.records());
  EXPECT_EQ(got.keys(), want.keys());
  EXPECT_EQ(got.bytes(), want.bytes());
  EXPECT_EQ(*got.HashKV(0), *want.HashKV(0));
  EXPECT_EQ(got.Serialize(), want.Serialize());
}

TEST(StateSnapshotReaderTest, StreamedWriterRoundTripsThroughASmallBuffer) {
  MvccStore s = History(200, 100);
  const std::string data = Streamed(s, 512);
  ASSERT_GT(data.size(), 20'000u);
  for (size_t read_bytes : {16, 100, 1024, 1 << 20}) {
    kvpb::StateSnapshot small;
    size_t held = 0;
    absl::StatusOr<MvccStore> got = RestoreFrom(data, read_bytes, &small, &held);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSameStore(*got, s);
    EXPECT_EQ(small.SerializeAsString(), Small().SerializeAsString());
    // A buffer's worth and at most one version (about 120 bytes here) besides: never the state.
    EXPECT_LE(held, std::max<size_t>(read_bytes, 200)) << "read_bytes " << read_bytes;
  }
}

TEST(StateSnapshotReaderTest, ProtobufsOwnEncodingReadsTheSame) {
  // SerializeToString writes the store first (field 1), the streamed writer last: both are state snapshots.
  MvccStore s = History(50, 10);
  kvpb::StateSnapshot whole = Small();
  whole.set_store(s.Serialize());
  kvpb::StateSnapshot small;
  absl::StatusOr<MvccStore> got = RestoreFrom(whole.SerializeAsString(), 64, &small);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameStore(*got, s);
  EXPECT_EQ(small.SerializeAsString(), Small().SerializeAsString());
  // And the whole decoder agrees with the streamed bytes.
  kvpb::StateSnapshot parsed;
  ASSERT_TRUE(parsed.ParseFromString(Streamed(s, 100)));
  MvccStore again(0);
  ASSERT_TRUE(again.Restore(parsed.store()).ok());
  ExpectSameStore(again, s);
}

TEST(StateSnapshotReaderTest, EmptyStateIsAnEmptyStore) {
  kvpb::StateSnapshot small;
  absl::StatusOr<MvccStore> got = RestoreFrom("", 64, &small);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->rev(), 0);
  EXPECT_EQ(got->records(), 0u);
}

TEST(StateSnapshotReaderTest, CutShortOrCorruptIsRefused) {
  MvccStore s = History(40, 20);
  const std::string data = Streamed(s, 256);
  kvpb::StateSnapshot small;
  // Every cut inside the store (after the small parts, which end at field boundaries of their own): refused.
  for (size_t cut = Small().ByteSizeLong() + 1; cut < data.size(); cut += 7) {
    absl::StatusOr<MvccStore> got = RestoreFrom(data.substr(0, cut), 32, &small);
    EXPECT_FALSE(got.ok()) << "cut at " << cut;
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
    }
  }
  // Every byte flipped: refused or decoded, never a crash; a flipped revision order is refused.
  int refused = 0;
  for (size_t at = 0; at < data.size(); at += 3) {
    std::string bad = data;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    refused += RestoreFrom(bad, 32, &small).ok() ? 0 : 1;
  }
  EXPECT_GT(refused, 0);
  // A second store field.
  kvpb::StateSnapshot two;
  two.set_store(s.Serialize());
  const std::string doubled = two.SerializeAsString() + two.SerializeAsString();
  absl::StatusOr<MvccStore> got = RestoreFrom(doubled, 64, &small);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("two store fields"), std::string::npos) << got.status();
  // Versions out of order.
  kvpb::StoreSnapshot store;
  ASSERT_TRUE(store.ParseFromString(s.Serialize()));
  ASSERT_GT(store.records_size(), 2);
  store.mutable_records()->SwapElements(0, 1);
  kvpb::StateSnapshot swapped;
  swapped.set_store(store.SerializeAsString());
  got = RestoreFrom(swapped.SerializeAsString(), 64, &small);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("out of order"), std::string::npos) << got.status();
}

}  // namespace
}  // namespace detcd::kv
