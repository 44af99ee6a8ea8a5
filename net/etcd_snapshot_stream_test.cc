// EtcdSnapshotStream: streamed from a pinned store while writes and compactions go on, the bytes are exactly the
// whole-file path's (EtcdSnapshotFile at the pin: tombstones, leases, compaction keys, large values, an empty key
// bucket, many leaves), and one stream of a large keyspace holds a bounded amount however many versions it has.
#include "net/etcd_snapshot_stream.h"

#include "absl/strings/str_cat.h"
#include "api/authpb/auth.pb.h"
#include "api/kv_snapshot.pb.h"
#include "gtest/gtest.h"
#include "kv/lessor.h"
#include "kv/mvcc_store.h"
#include "net/etcd_snapshot.h"
#include "storage/bbolt_test_reader.h"

namespace detcd::net {
namespace {

void Put(kv::MvccStore& s, const std::string& k, const std::string& v, int64_t lease = 0) {
  kv::MvccStore::WriteTxn txn(&s);
  txn.Put(k, v, lease, nullptr);
}

void Del(kv::MvccStore& s, const std::string& k) {
  kv::MvccStore::WriteTxn txn(&s);
  txn.DeleteRange(k, "", nullptr);
}

struct Streamed {
  absl::Status status;
  std::string file;
  size_t pieces = 0;
  size_t piece_bytes_max = 0;
  size_t held_bytes_max = 0;
  size_t leaves = 0;
};

// Streams the store's state at `pin` as a member would, batches of at most `batch_records` versions; `between` runs
// before each batch (writes and compactions going on meanwhile).
Streamed StreamPinned(kv::MvccStore* store, const kvpb::StateSnapshot& small, uint64_t consistent_index,
                      size_t piece_bytes, size_t batch_records, const std::function<void()>& between = nullptr) {
  const kv::MvccStore::PinId pin = store->AddPin(store->rev());
  EtcdSnapshotStream stream(small, store->rev(), store->compacted_rev(), consistent_index,
                            [&](kv::Revision from, std::vector<kvpb::StoreRecord>* out) {
                              if (between) between();
                              return store->VisitPinnedVersions(
                                  pin, from, batch_records, [&](const kv::Revision& rev, const kv::MvccStore::Record& r) {
                                    kv::MvccStore::ToStoreRecord(rev, r, &out->emplace_back());
                                    return true;
                                  });
                            });
  Streamed s;
  s.status = stream.Prepare();
  if (s.status.ok()) {
    const uint64_t total = stream.total_bytes();
    while (!stream.done()) {
      absl::StatusOr<std::string> piece = stream.Next(piece_bytes);
      if (!piece.ok()) {
        s.status = piece.status();
        break;
      }
      ++s.pieces;
      s.piece_bytes_max = std::max(s.piece_bytes_max, piece->size());
      s.file += *piece;
    }
    EXPECT_EQ(s.file.size(), total) << "the size said before the first byte";
    s.held_bytes_max = stream.held_bytes_max();
    s.leaves = stream.leaves();
  }
  store->RemovePin(pin);
  return s;
}

std::string WholeFile(const kv::MvccStore& store, kvpb::StateSnapshot small, uint64_t consistent_index) {
  small.set_store(store.Serialize());
  absl::StatusOr<std::string> file = EtcdSnapshotFile(small.SerializeAsString(), consistent_index);
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *file : "";
}

kvpb::StateSnapshot SmallState(const kv::Lessor& lessor) {
  kvpb::StateSnapshot small;
  small.set_leases(lessor.Serialize());
  kvpb::Member* m = small.add_cluster_members();
  m->set_id(0xa10ef2d332bc520d);
  m->set_name("g");
  m->add_peer_urls("http://127.0.0.1:52522");
  small.add_removed_member_ids(0x2a);
  // The auth store's buckets sit before and around the key bucket's leaves: a user and a role of each.
  kvpb::AuthState* auth = small.mutable_auth();
  auth->set_enabled(true);
  auth->set_revision(4);
  authpb::User* u = auth->add_users();
  u->set_name("root");
  u->set_password("$2a$10$aaaaaaaaaaaaaaaaaaaaaOaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  u->add_roles("root");
  authpb::Role* r = auth->add_roles();
  r->set_name("root");
  r = auth->add_roles();
  r->set_name("r");
  authpb::Permission* p = r->add_keypermission();
  p->set_permtype(authpb::Permission::READWRITE);
  p->set_key("foo");
  p->set_range_end("fop");
  return small;
}

TEST(EtcdSnapshotStreamTest, TombstonesLeasesAndCompactionAreTheWholeFilesBytes) {
  kv::MvccStore store(1);
  kv::Lessor lessor(1);
  ASSERT_TRUE(lessor.Grant(77, 100, 0).ok());
  Put(store, "a", "1");
  Put(store, "b", "2");
  Put(store, "a", "3");
  Del(store, "b");
  Put(store, "l", "x", 77);
  ASSERT_TRUE(store.Compact(3).ok());
  Put(store, "c", "4");
  const kvpb::StateSnapshot small = SmallState(lessor);
  const std::string whole = WholeFile(store, small, 12);
  for (size_t piece : {size_t{1}, size_t{100}, size_t{4096}, size_t{32 << 10}, size_t{1} << 30}) {
    Streamed s = StreamPinned(&store, small, 12, piece, 2);
    ASSERT_TRUE(s.status.ok()) << s.status;
    EXPECT_TRUE(s.file == whole) << "piece " << piece;
  }
  absl::StatusOr<storage::BboltContents> read = storage::ReadBboltFile(whole.substr(0, whole.size() - 32));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->buckets["auth"].size(), 2u);  // authEnabled, authRevision
  ASSERT_EQ(read->buckets["authUsers"].size(), 1u);
  EXPECT_EQ(read->buckets["authUsers"][0].second, small.auth().users(0).SerializeAsString());
  ASSERT_EQ(read->buckets["authRoles"].size(), 2u);
  EXPECT_EQ(read->buckets["authRoles"][0].first, "r");  // sorted by name, not as given
}

TEST(EtcdSnapshotStreamTest, AnEmptyKeyBucket) {
  kv::MvccStore store(1);
  kv::Lessor lessor(1);
  const std::string whole = WholeFile(store, SmallState(lessor), 1);
  Streamed s = StreamPinned(&store, SmallState(lessor), 1, 32 << 10, 10);
  ASSERT_TRUE(s.status.ok()) << s.status;
  EXPECT_TRUE(s.file == whole);
}

TEST(EtcdSnapshotStreamTest, LargeValuesTakeOverflowPages) {
  kv::MvccStore store(1);
  kv::Lessor lessor(1);
  for (int i = 0; i < 20; ++i) Put(store, absl::StrCat("big/", i), std::string(size_t{1} << (i % 18), 'v'));
  Put(store, "after", "small");
  const std::string whole = WholeFile(store, SmallState(lessor), 5);
  Streamed s = StreamPinned(&store, SmallState(lessor), 5, 32 << 10, 3);
  ASSERT_TRUE(s.status.ok()) << s.status;
  EXPECT_TRUE(s.file == whole);
}

TEST(EtcdSnapshotStreamTest, ManyVersionsStreamWithBoundedMemoryWhileWritesAndCompactionsGoOn) {
  kv::MvccStore store(1);
  kv::Lessor lessor(1);
  for (int i = 0; i < 200000; ++i) Put(store, absl::StrCat("key/", i % 20000), std::string(100, 'v'));
  for (int i = 0; i < 2000; ++i) Del(store, absl::StrCat("key/", i * 7));
  const kvpb::StateSnapshot small = SmallState(lessor);
  const std::string whole = WholeFile(store, small, 99);
  const int64_t at = store.rev();
  int batch = 0;
  constexpr size_t kPiece = 32 << 10;
  constexpr size_t kBatchRecords = 256;
  Streamed s = StreamPinned(&store, small, 99, kPiece, kBatchRecords, [&] {
    // The member goes on: overwrites, deletes, and compactions past the pinned revision.
    ++batch;
    Put(store, absl::StrCat("key/", batch % 20000), "new");
    if (batch % 3 == 0) Del(store, absl::StrCat("key/", (batch * 13) % 20000));
    if (batch % 500 == 0) {
      ASSERT_TRUE(store.Compact(std::min(store.rev(), at + batch / 10)).ok());
    }
  });
  ASSERT_TRUE(s.status.ok()) << s.status;
  EXPECT_GT(store.compacted_rev(), at) << "compactions ran past the pin";
  ASSERT_EQ(s.file.size(), whole.size());
  EXPECT_TRUE(s.file == whole) << "the pinned state, not what was written meanwhile";
  // Bounded: a piece and one leaf, plus one batch of versions — whatever the keyspace (about 30 MB of file here).
  EXPECT_GT(s.file.size(), size_t{25} << 20);
  EXPECT_LT(s.piece_bytes_max, kPiece + 2 * storage::kBboltPageBytes);
  EXPECT_LT(s.held_bytes_max, kPiece + 2 * storage::kBboltPageBytes + kBatchRecords * 200);
  EXPECT_GT(s.leaves, 5000u);
  absl::StatusOr<storage::BboltContents> read = storage::ReadBboltFile(s.file.substr(0, s.file.size() - 32));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_GE(read->depth_max, 3);
}

TEST(EtcdSnapshotStreamTest, ARevisionEtcdWouldNotRestoreIsRefusedBeforeAnyByte) {
  kv::MvccStore store(1);
  Put(store, "k", "v");
  Del(store, "k");
  ASSERT_TRUE(store.Compact(store.rev()).ok());  // the tombstone goes: the newest version kept is below the revision
  Put(store, "k2", "v");
  Del(store, "k2");
  // Newest kept: k2's tombstone at rev 5 = rev(): fine. Compact to drop it, leaving nothing at the revision.
  ASSERT_TRUE(store.Compact(store.rev()).ok());
  kv::Lessor lessor(1);
  Streamed s = StreamPinned(&store, SmallState(lessor), 1, 1024, 10);
  // etcd restores max(last key, compaction) = the revision: accepted.
  EXPECT_TRUE(s.status.ok()) << s.status;

  EtcdSnapshotStream refused(kvpb::StateSnapshot(), 9, 0, 1,
                             [](kv::Revision, std::vector<kvpb::StoreRecord>* out) {
                               kvpb::StoreRecord& r = out->emplace_back();
                               r.set_main(5);
                               r.set_key("k");
                               r.set_create_revision(5);
                               r.set_version(1);
                               return std::optional<kv::Revision>();
                             });
  EXPECT_EQ(refused.Prepare().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(EtcdSnapshotStreamTest, ASourceThatFailsFailsTheStream) {
  EtcdSnapshotStream failing(kvpb::StateSnapshot(), 1, 0, 1, [](kv::Revision, std::vector<kvpb::StoreRecord>*) {
    return absl::StatusOr<std::optional<kv::Revision>>(absl::CancelledError("gone"));
  });
  EXPECT_EQ(failing.Prepare().code(), absl::StatusCode::kCancelled);
  kvpb::StateSnapshot bad;
  bad.set_leases("\xff garbage");
  EtcdSnapshotStream undecodable(bad, 1, 0, 1, [](kv::Revision, std::vector<kvpb::StoreRecord>*) {
    return absl::StatusOr<std::optional<kv::Revision>>(std::nullopt);
  });
  EXPECT_EQ(undecodable.Prepare().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace detcd::net
