// EtcdSnapshot: the buckets and bytes etcd 3.4 writes (values below were read from a snapshot that Debian's etcd
// 3.4.23 streamed after the same operations), the padding and SHA-256 trailer, and what it refuses.
#include "net/etcd_snapshot.h"

#include <openssl/evp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/kv_snapshot.pb.h"
#include "gtest/gtest.h"
#include "kv/lessor.h"
#include "kv/mvcc_store.h"
#include "net/test_etcd_state.h"
#include "storage/bbolt_test_reader.h"

namespace detcd::net {
namespace {

using Items = std::vector<std::pair<std::string, std::string>>;

constexpr int64_t kLease = kEtcdctlSessionLease;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

// The state after etcdctl's: put a 1; put b 2; put a 3; del b; lease grant 100; put l x --lease; compact 3; put c 4.
kvpb::StateSnapshot EtcdctlSession() {
  kvpb::StateSnapshot state = EtcdctlSessionState();
  kvpb::Member* m = state.add_cluster_members();
  m->set_id(0xa10ef2d332bc520d);
  m->set_name("g");
  m->add_peer_urls("http://127.0.0.1:52522");
  m->add_client_urls("http://127.0.0.1:52521");
  return state;
}

std::string Rev(int64_t main, bool tombstone = false) { return EtcdRevisionKey(main, 0, tombstone); }

// The state as etcd's backend file (consistent index 12), built and read back with bbolt's layout.
absl::StatusOr<storage::BboltContents> AsBboltFile(kvpb::StateSnapshot* state) {
  absl::StatusOr<std::vector<storage::BboltBucket>> buckets = EtcdBackendBuckets(state, 12);
  if (!buckets.ok()) return buckets.status();
  absl::StatusOr<std::string> file = storage::BuildBboltFile(*buckets);
  if (!file.ok()) return file.status();
  return storage::ReadBboltFile(*file);
}

TEST(EtcdSnapshotTest, BucketsAreEtcd34s) {
  kvpb::StateSnapshot state = EtcdctlSession();
  state.add_removed_member_ids(0x2a);
  etcdserverpb::AlarmMember* alarm = state.add_alarms();
  alarm->set_memberid(0xa10ef2d332bc520d);
  alarm->set_alarm(etcdserverpb::NOSPACE);
  absl::StatusOr<storage::BboltContents> read = AsBboltFile(&state);
  ASSERT_TRUE(read.ok()) << read.status();

  std::vector<std::string> names;
  for (const auto& [name, items] : read->buckets) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"alarm", "auth", "authRoles", "authUsers", "cluster", "key", "lease",
                                             "members", "members_removed", "meta"}));
  const Items key = {
      {Rev(2), Bytes({'\n', 1, 'a', 0x10, 2, 0x18, 2, ' ', 1, '*', 1, '1'})},
      {Rev(3), Bytes({'\n', 1, 'b', 0x10, 3, 0x18, 3, ' ', 1, '*', 1, '2'})},
      {Rev(4), Bytes({'\n', 1, 'a', 0x10, 2, 0x18, 4, ' ', 2, '*', 1, '3'})},
      {Rev(5, true), Bytes({'\n', 1, 'b'})},
      {Rev(6), Bytes({'\n', 1,   'l',  0x10, 6,    0x18, 6,    ' ',  1,    '*',  1,
                      'x',  '0', 0x89, 0xb4, 0xe3, 0xf7, 0xc3, 0xc5, 0xe8, 0x86, 'R'})},
      {Rev(7), Bytes({'\n', 1, 'c', 0x10, 7, 0x18, 7, ' ', 1, '*', 1, '4'})},
  };
  EXPECT_EQ(read->buckets["key"], key);
  EXPECT_EQ(Rev(5, true), Bytes({0, 0, 0, 0, 0, 0, 0, 5, '_', 0, 0, 0, 0, 0, 0, 0, 0, 't'}));
  EXPECT_EQ(read->buckets["lease"],
            (Items{{Bytes({0x52, 0x0d, 0xa2, 0x2c, 0x3e, 0xf8, 0xda, 0x09}),
                    Bytes({8, 0x89, 0xb4, 0xe3, 0xf7, 0xc3, 0xc5, 0xe8, 0x86, 'R', 0x10, 'd'})}}));
  EXPECT_EQ(read->buckets["meta"], (Items{{"consistent_index", Bytes({0, 0, 0, 0, 0, 0, 0, 12})},
                                          {"finishedCompactRev", Rev(3)},
                                          {"scheduledCompactRev", Rev(3)}}));
  EXPECT_EQ(
      read->buckets["members"],
      (Items{{"a10ef2d332bc520d", R"({"id":11605480278683570701,"peerURLs":["http://127.0.0.1:52522"],"name":"g",)"
                                  R"("clientURLs":["http://127.0.0.1:52521"]})"}}));
  EXPECT_EQ(read->buckets["members_removed"], (Items{{"2a", "removed"}}));
  EXPECT_EQ(read->buckets["cluster"], (Items{{"clusterVersion", "3.4.0"}}));
  EXPECT_EQ(read->buckets["auth"], (Items{{"authRevision", Bytes({0, 0, 0, 0, 0, 0, 0, 1})}}));
  EXPECT_TRUE(read->buckets["authUsers"].empty());
  EXPECT_TRUE(read->buckets["authRoles"].empty());
  EXPECT_EQ(read->buckets["alarm"], (Items{{alarm->SerializeAsString(), ""}}));
}

TEST(EtcdSnapshotTest, AuthIsEtcdsAuthBuckets) {
  kvpb::StateSnapshot state = EtcdctlSession();
  *state.mutable_auth() = EtcdAuthState();
  std::reverse(state.mutable_auth()->mutable_users()->begin(), state.mutable_auth()->mutable_users()->end());
  absl::StatusOr<storage::BboltContents> read = AsBboltFile(&state);
  ASSERT_TRUE(read.ok()) << read.status();

  EXPECT_EQ(read->buckets["auth"],
            (Items{{"authEnabled", Bytes({1})}, {"authRevision", Bytes({0, 0, 0, 0, 0, 0, 0, 9})}}));
  const kvpb::AuthState want = EtcdAuthState();
  // Sorted by name, as bbolt keeps them; each as gogo-protobuf marshals authpb.User and authpb.Role.
  const Items& users = read->buckets["authUsers"];
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0], (std::pair<std::string, std::string>{
                          "cert", Bytes({0x0a, 4, 'c', 'e', 'r', 't', 0x1a, 1, 'r', 0x22, 2, 0x08, 1})}));
  EXPECT_EQ(users[1].first, "root");
  EXPECT_EQ(users[1].second, want.users(1).SerializeAsString());
  EXPECT_EQ(users[2].first, "u");
  EXPECT_EQ(users[2].second, want.users(2).SerializeAsString());
  const Items& roles = read->buckets["authRoles"];
  ASSERT_EQ(roles.size(), 3u);
  EXPECT_EQ(roles[0].first, "r");
  EXPECT_EQ(roles[0].second, Bytes({0x0a, 1, 'r',                                     // name
                                    0x12, 3, 0x12, 1, 'a',                            // READ a
                                    0x12, 8, 0x08, 2, 0x12, 1, 'b', 0x1a, 1, 'c',     // READWRITE [b, c)
                                    0x12, 8, 0x08, 1, 0x12, 1, 'p', 0x1a, 1, 'q'}));  // WRITE [p, q)
  EXPECT_EQ(roles[1], (std::pair<std::string, std::string>{"root", Bytes({0x0a, 4, 'r', 'o', 'o', 't'})}));
  EXPECT_EQ(roles[2], (std::pair<std::string, std::string>{"w", Bytes({0x0a, 1, 'w'})}));

  // Auth off: no authEnabled key (etcd reads it as off); a state from before auth existed has revision 1.
  state = EtcdctlSession();
  *state.mutable_auth() = EtcdAuthState();
  state.mutable_auth()->set_enabled(false);
  absl::StatusOr<std::vector<storage::BboltBucket>> buckets = EtcdBackendBuckets(&state, 12);
  ASSERT_TRUE(buckets.ok()) << buckets.status();
  EXPECT_EQ((*buckets)[1].name, "auth");
  EXPECT_EQ((*buckets)[1].items, (Items{{"authRevision", Bytes({0, 0, 0, 0, 0, 0, 0, 9})}}));
  EXPECT_EQ((*buckets)[3].name, "authUsers");
  EXPECT_EQ((*buckets)[3].items.size(), 3u);

  // A user with no name has no key in etcd's bucket: refused, not written.
  state = EtcdctlSession();
  state.mutable_auth()->add_users()->set_password("x");
  buckets = EtcdBackendBuckets(&state, 12);
  ASSERT_FALSE(buckets.ok());
  EXPECT_NE(buckets.status().message().find("a user with no name"), std::string::npos) << buckets.status();
}

TEST(EtcdSnapshotTest, NeverCompactedHasNoCompactionKeys) {
  kv::MvccStore store(1);
  Put(store, "k", "v");
  kvpb::StateSnapshot state;
  state.set_store(store.Serialize());
  absl::StatusOr<std::vector<storage::BboltBucket>> buckets = EtcdBackendBuckets(&state, 3);
  ASSERT_TRUE(buckets.ok()) << buckets.status();
  const storage::BboltBucket& meta = buckets->back();
  ASSERT_EQ(meta.name, "meta");
  EXPECT_EQ(meta.items, (Items{{"consistent_index", Bytes({0, 0, 0, 0, 0, 0, 0, 3})}}));
}

TEST(EtcdSnapshotTest, FileIsTheDatabasePaddedThenItsSha256) {
  kvpb::StateSnapshot state = EtcdctlSession();
  absl::StatusOr<std::string> file = EtcdSnapshotFile(state.SerializeAsString(), 12);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_GT(file->size(), 32u);
  const std::string db = file->substr(0, file->size() - 32);
  EXPECT_EQ(db.size() % 512, 0u) << "etcdctl snapshot restore looks for the hash 32 bytes past a 512 multiple";
  unsigned char digest[32];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(db.data(), db.size(), digest, &len, EVP_sha256(), nullptr), 1);
  EXPECT_EQ(file->substr(db.size()), std::string(reinterpret_cast<char*>(digest), 32));
  absl::StatusOr<storage::BboltContents> read = storage::ReadBboltFile(db);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->buckets["key"].size(), 6u);
  // etcdctl snapshot status: the revision is the "key" bucket's last key's main revision.
  EXPECT_EQ(read->buckets["key"].back().first, Rev(7));
}

TEST(EtcdSnapshotTest, ManyVersionsMakeAValidLargeFile) {
  kv::MvccStore store(1);
  for (int i = 0; i < 50000; ++i) Put(store, absl::StrCat("key/", i % 5000), std::string(100, 'v'));
  kvpb::StateSnapshot state;
  state.set_store(store.Serialize());
  absl::StatusOr<std::string> file = EtcdSnapshotFile(state.SerializeAsString(), 50001);
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<storage::BboltContents> read = storage::ReadBboltFile(file->substr(0, file->size() - 32));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->buckets["key"].size(), 50000u);
  EXPECT_EQ(read->buckets["key"].back().first, Rev(50001));
  EXPECT_GE(read->depth_max, 2);
}

TEST(EtcdSnapshotTest, RefusesARevisionEtcdWouldNotRestore) {
  kvpb::StoreSnapshot store;
  store.set_revision(9);
  kvpb::StoreRecord* r = store.add_records();
  r->set_main(5);
  r->set_key("k");
  r->set_value("v");
  r->set_create_revision(5);
  r->set_version(1);
  kvpb::StateSnapshot state;
  state.set_store(store.SerializeAsString());
  absl::StatusOr<std::string> file = EtcdSnapshotFile(state.SerializeAsString(), 1);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kFailedPrecondition) << file.status();
  // A compaction at the revision expresses it (etcd restores max(last key, compaction)).
  store.set_compacted_revision(9);
  state.set_store(store.SerializeAsString());
  EXPECT_TRUE(EtcdSnapshotFile(state.SerializeAsString(), 1).ok());
  EXPECT_EQ(EtcdSnapshotFile("\xff garbage", 1).status().code(), absl::StatusCode::kDataLoss);
}

TEST(EtcdSnapshotTest, MemberJsonIsGoEncodingJson) {
  kvpb::Member m;
  m.set_id(7);
  EXPECT_EQ(EtcdMemberJson(m), R"({"id":7,"peerURLs":null})");
  m.add_peer_urls("http://h:1");
  m.set_is_learner(true);
  EXPECT_EQ(EtcdMemberJson(m), R"({"id":7,"peerURLs":["http://h:1"],"isLearner":true})");
  m.set_name("a\"b\\<>&\n\x01\xe2\x80\xa8é");
  EXPECT_EQ(EtcdMemberJson(m),
            "{\"id\":7,\"peerURLs\":[\"http://h:1\"],\"isLearner\":true,"
            "\"name\":\"a\\\"b\\\\\\u003c\\u003e\\u0026\\n\\u0001\\u2028é\"}");
}

}  // namespace
}  // namespace detcd::net
