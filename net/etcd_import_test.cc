// EtcdImport: etcd 3.4's buckets (made by the reverse mapping, net/etcd_snapshot.h, which is checked against Debian's
// etcd) read back as a detcd member's state; the WAL decides the membership and the applied index; what detcd cannot
// import is refused with an error that says what.
#include "net/etcd_import.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "api/kv_snapshot.pb.h"
#include "api/leasepb/lease.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "gtest/gtest.h"
#include "kv/auth_store.h"
#include "kv/lessor.h"
#include "kv/mvcc_store.h"
#include "net/etcd_snapshot.h"
#include "net/test_etcd_state.h"
#include "storage/bbolt_reader.h"
#include "storage/bbolt_writer.h"

namespace detcd::net {
namespace {

constexpr int64_t kLease = kEtcdctlSessionLease;
constexpr uint64_t kMember = 0xa10ef2d332bc520d;

kvpb::Member Member(uint64_t id, const std::string& name) {
  kvpb::Member m;
  m.set_id(id);
  m.set_name(name);
  m.add_peer_urls(absl::StrCat("http://127.0.0.1:", 2380 + id % 100));
  return m;
}

// put a 1; put b 2; put a 3; del b; lease grant 100; put l x --lease; compact 3; put c 4.
kvpb::StateSnapshot Session() {
  kvpb::StateSnapshot state = EtcdctlSessionState();
  *state.add_cluster_members() = Member(kMember, "old");  // the source cluster's, as restore leaves it
  return state;
}

storage::BboltDatabase Backend(kvpb::StateSnapshot state, uint64_t consistent_index,
                               std::vector<storage::BboltBucket>* edit_buckets = nullptr) {
  absl::StatusOr<std::vector<storage::BboltBucket>> buckets = EtcdBackendBuckets(&state, consistent_index);
  EXPECT_TRUE(buckets.ok()) << buckets.status();
  if (edit_buckets != nullptr) {
    for (storage::BboltBucket& b : *edit_buckets) {
      for (storage::BboltBucket& have : *buckets) {
        if (have.name == b.name) have.items = b.items;
      }
    }
  }
  absl::StatusOr<std::string> file = storage::BuildBboltFile(*buckets);
  EXPECT_TRUE(file.ok()) << file.status();
  absl::StatusOr<storage::BboltDatabase> db = storage::ReadBboltDatabase(*file);
  EXPECT_TRUE(db.ok()) << db.status();
  return *std::move(db);
}

std::string ConfChange(uint64_t type, uint64_t node, const std::string& context) {
  std::string out;
  auto varint = [&out](uint64_t v) {
    for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    out.push_back(static_cast<char>(v));
  };
  varint(2 << 3);
  varint(type);
  varint(3 << 3);
  varint(node);
  varint((4 << 3) | 2);
  varint(context.size());
  out += context;
  return out;
}

// What `etcdctl snapshot restore --name m1 --initial-cluster m1=...,m2=...` writes to the WAL: member 1 is this one.
storage::EtcdWal RestoredWal(const std::vector<kvpb::Member>& members) {
  storage::EtcdWal wal;
  wal.member_id = members[0].id();
  wal.cluster_id = 0xc1;
  uint64_t index = 0;
  for (const kvpb::Member& m : members) {
    wal.entries.push_back({1, ++index, 1, ConfChange(0, m.id(), EtcdMemberJson(m))});
  }
  wal.snapshot_index = wal.commit = index;
  wal.snapshot_term = wal.term = 1;
  wal.vote = members[0].id();
  return wal;
}

TEST(EtcdImportTest, ARestoredMemberGetsTheStoreLeasesAndTheRestoredMembers) {
  const std::vector<kvpb::Member> members = {Member(11, "m1"), Member(22, "m2"), Member(33, "m3")};
  absl::StatusOr<ImportedEtcdMember> m = ImportEtcdMember(Backend(Session(), 3), RestoredWal(members));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->member_id, 11u);
  EXPECT_EQ(m->cluster_id, 0xc1u);
  EXPECT_EQ(m->snapshot.index(), 3u);
  EXPECT_EQ(m->snapshot.term(), 1u);
  EXPECT_EQ(m->hard_state.commit(), 3u);
  EXPECT_EQ(m->snapshot.conf_state().voters_size(), 3);
  ASSERT_EQ(m->state.cluster_members_size(), 3);  // the restored members, not the source cluster's
  EXPECT_EQ(m->state.cluster_members(0).name(), "m1");
  EXPECT_EQ(m->state.cluster_members(0).peer_urls(0), members[0].peer_urls(0));

  // The store round-trips: the same versions, revision and compaction as the state etcd's buckets were made from.
  kvpb::StoreSnapshot want, got;
  ASSERT_TRUE(want.ParseFromString(Session().store()));
  ASSERT_TRUE(got.ParseFromString(m->state.store()));
  EXPECT_EQ(got.revision(), want.revision());
  EXPECT_EQ(got.compacted_revision(), 3);
  ASSERT_EQ(got.records_size(), want.records_size());
  for (int i = 0; i < got.records_size(); ++i) {
    EXPECT_EQ(got.records(i).SerializeAsString(), want.records(i).SerializeAsString()) << i;
  }
  kvpb::LeaseSnapshot leases;
  ASSERT_TRUE(leases.ParseFromString(m->state.leases()));
  ASSERT_EQ(leases.leases_size(), 1);
  EXPECT_EQ(leases.leases(0).id(), kLease);
  EXPECT_EQ(leases.leases(0).ttl(), 100);
  // The state restores in a detcd store.
  kv::MvccStore restored(1);
  ASSERT_TRUE(restored.Restore(m->state.store()).ok());
  EXPECT_EQ(restored.rev(), want.revision());
}

TEST(EtcdImportTest, AnUnfinishedCompactionIsFinished) {
  // etcd compacts lazily: scheduledCompactRev ahead of finishedCompactRev, old versions still in "key".
  kvpb::StateSnapshot state;
  kv::MvccStore store(1);
  Put(store, "a", "1");  // 2
  Put(store, "a", "2");  // 3
  Put(store, "b", "1");  // 4
  {
    kv::MvccStore::WriteTxn txn(&store);
    txn.DeleteRange("b", "", nullptr);  // 5
  }
  Put(store, "a", "3");  // 6
  state.set_store(store.Serialize());
  std::vector<storage::BboltBucket> edit = {
      {"meta", {{"consistent_index", std::string(7, '\0') + "\x01"}, {"scheduledCompactRev", EtcdRevisionKey(5, 0)}}}};
  absl::StatusOr<ImportedEtcdMember> m = ImportEtcdMember(Backend(state, 1, &edit), RestoredWal({Member(11, "m1")}));
  ASSERT_TRUE(m.ok()) << m.status();
  kvpb::StoreSnapshot got;
  ASSERT_TRUE(got.ParseFromString(m->state.store()));
  EXPECT_EQ(got.compacted_revision(), 5);
  EXPECT_EQ(got.revision(), 6);
  ASSERT_EQ(got.records_size(), 2);  // a@3 (its newest at or below 5) and a@6; b's versions end in a tombstone
  EXPECT_EQ(got.records(0).main(), 3);
  EXPECT_EQ(got.records(1).main(), 6);
}

TEST(EtcdImportTest, AStoppedEtcdsDirectoryTakesTheBackendMembersAndSkipsEmptyEntries) {
  storage::EtcdWal wal;  // a WAL whose early segments etcd removed: it starts at 10
  wal.member_id = kMember;
  wal.cluster_id = 0xc1;
  wal.snapshot_index = 9;
  wal.snapshot_term = 2;
  wal.term = 3;
  wal.vote = kMember;
  wal.commit = 12;
  wal.entries = {{2, 10, 0, "request"}, {3, 11, 0, ""}, {3, 12, 0, ""}, {3, 13, 0, ""}};
  absl::StatusOr<ImportedEtcdMember> m = ImportEtcdMember(Backend(Session(), 10), wal);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->snapshot.index(), 12u);  // the new leaders' empty entries past the consistent index
  EXPECT_EQ(m->snapshot.term(), 3u);
  EXPECT_EQ(m->skipped_entries, 2u);
  EXPECT_EQ(m->hard_state.term(), 3u);
  EXPECT_EQ(m->hard_state.vote(), kMember);
  ASSERT_EQ(m->state.cluster_members_size(), 1);
  EXPECT_EQ(m->state.cluster_members(0).name(), "old");

  // etcd's own v2 writes after a start (publish, cluster version), as etcd 3.4.23 logs them: applied, or dropped.
  const std::string publish = std::string(
                                  "\x08\x81\xaa\x8d\xcb\xcb\xc9\xe8\xc0\xda\x01\x12\x03PUT\x1a&/0/members/"
                                  "a10ef2d332bc520d/attributes\x22\x36") +
                              R"({"name":"new","clientURLs":["http://127.0.0.1:47379"]})";
  const std::string version = std::string("\x08\x84\xaa\x8d\x01\x12\x03PUT\x1a\x0a/0/version\x22\x05") + "3.4.0";
  storage::EtcdWal published = wal;
  published.entries.push_back({3, 14, 0, publish});
  published.entries.push_back({3, 15, 0, version});
  published.commit = 15;
  m = ImportEtcdMember(Backend(Session(), 10), published);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->snapshot.index(), 15u);
  EXPECT_EQ(m->state.cluster_members(0).name(), "new");
  ASSERT_EQ(m->state.cluster_members(0).client_urls_size(), 1);
  EXPECT_EQ(m->state.cluster_members(0).client_urls(0), "http://127.0.0.1:47379");

  // An etcd request the backend does not hold yet cannot be imported: refused, naming it.
  wal.entries.push_back({3, 14, 0, "put"});
  m = ImportEtcdMember(Backend(Session(), 10), wal);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("an uncommitted entry at index 14"), std::string::npos) << m.status();
  wal.commit = 14;
  m = ImportEtcdMember(Backend(Session(), 10), wal);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("a committed entry at index 14 (type 0, 3 bytes) past the backend's "
                                      "consistent index 10"),
            std::string::npos)
      << m.status();
}

TEST(EtcdImportTest, RefusesWhatItCannotImport) {
  const storage::EtcdWal wal = RestoredWal({Member(11, "m1")});
  std::vector<storage::BboltBucket> no_index = {{"meta", {}}};
  absl::StatusOr<ImportedEtcdMember> m = ImportEtcdMember(Backend(Session(), 1, &no_index), wal);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("no consistent_index"), std::string::npos) << m.status();

  std::vector<storage::BboltBucket> bad_key = {{"key", {{"not a revision", "x"}}}};
  m = ImportEtcdMember(Backend(Session(), 1, &bad_key), wal);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "etcd data: a key in bucket \"key\" is not a revision");

  storage::EtcdWal other = wal;
  other.member_id = 99;  // a WAL of a member the membership does not have
  m = ImportEtcdMember(Backend(Session(), 1), other);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("is not among the cluster's members"), std::string::npos) << m.status();
}

TEST(EtcdImportTest, AuthRoundTrips) {
  kvpb::StateSnapshot state = Session();
  *state.mutable_auth() = EtcdAuthState();
  absl::StatusOr<ImportedEtcdMember> m = ImportEtcdMember(Backend(state, 1), RestoredWal({Member(11, "m1")}));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->state.auth().SerializeAsString(), EtcdAuthState().SerializeAsString()) << m->state.auth().DebugString();
  // It restores in a detcd auth store, which then checks as etcd did: u may write the range, not other keys.
  kv::AuthStore store;
  ASSERT_TRUE(store.Restore(m->state.auth()).ok());
  EXPECT_TRUE(store.enabled());
  EXPECT_EQ(store.revision(), 9u);
  const kv::AuthInfo u{"u", 9};
  EXPECT_TRUE(store.CheckWrite(u, "b1", "").ok());
  EXPECT_TRUE(store.CheckWrite(u, "p/x", "").ok());
  EXPECT_FALSE(store.CheckWrite(u, "a", "").ok());
  EXPECT_TRUE(store.CheckRead(u, "a", "").ok());
  EXPECT_TRUE(store.CheckAdmin({"root", 9}).ok());
  ASSERT_NE(store.FindUser("cert"), nullptr);
  EXPECT_TRUE(store.FindUser("cert")->options().no_password());

  // Auth turned off again (etcd writes authEnabled 0): off, the users and roles kept.
  std::vector<storage::BboltBucket> off = {
      {"auth", {{"authEnabled", std::string(1, '\0')}, {"authRevision", std::string(7, '\0') + "\x0a"}}}};
  m = ImportEtcdMember(Backend(state, 1, &off), RestoredWal({Member(11, "m1")}));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->state.auth().enabled());
  EXPECT_EQ(m->state.auth().revision(), 10u);
  EXPECT_EQ(m->state.auth().users_size(), 3);

  // A backend with no auth (a state from before detcd had auth): off, revision 1, as a fresh etcd's.
  m = ImportEtcdMember(Backend(Session(), 1), RestoredWal({Member(11, "m1")}));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->state.auth().enabled());
  EXPECT_EQ(m->state.auth().revision(), 1u);
  EXPECT_EQ(m->state.auth().users_size(), 0);
}

TEST(EtcdImportTest, BadAuthBytesAreRefusedNamingTheBucket) {
  const storage::EtcdWal wal = RestoredWal({Member(11, "m1")});
  kvpb::StateSnapshot state = Session();
  *state.mutable_auth() = EtcdAuthState();
  const std::vector<std::pair<std::vector<storage::BboltBucket>, std::string>> cases = {
      {{{"auth", {{"authRevision", "x"}}}}, "etcd data: authRevision in bucket \"auth\" is 1 bytes, not 8"},
      {{{"auth", {{"authEnabled", "yes"}, {"authRevision", std::string(8, '\0')}}}},
       "etcd data: authEnabled in bucket \"auth\" is \"yes\", not one byte 0 or 1"},
      {{{"authUsers", {{"u", "\xff\xff"}}}}, "etcd data: the user \"u\" in bucket \"authUsers\" does not decode"},
      {{{"authUsers", {{"u", "\x0a\x01v"}}}}, "etcd data: the user \"u\" in bucket \"authUsers\" is named \"v\""},
      {{{"authRoles", {{"r\x01", "\x12\x05"}}}},
       "etcd data: the role \"r\\x01\" in bucket \"authRoles\" does not decode"},
  };
  for (const auto& [edit, want] : cases) {
    std::vector<storage::BboltBucket> buckets = edit;
    absl::StatusOr<ImportedEtcdMember> m = ImportEtcdMember(Backend(state, 1, &buckets), wal);
    ASSERT_FALSE(m.ok()) << want;
    EXPECT_EQ(m.status().message(), want);
  }
}

TEST(EtcdImportTest, ReplaysAWholeLogsConfChanges) {
  std::vector<kvpb::Member> members = {Member(11, "m1"), Member(22, "m2"), Member(33, "m3")};
  storage::EtcdWal wal = RestoredWal(members);
  kvpb::Member moved = Member(22, "");
  moved.set_peer_urls(0, "http://10.0.0.2:2380");
  kvpb::Member learner = Member(44, "");
  wal.entries.push_back({1, 4, 1, ConfChange(2, 22, EtcdMemberJson(moved))});    // update m2's peer URLs
  wal.entries.push_back({1, 5, 1, ConfChange(1, 33, "")});                       // remove m3
  wal.entries.push_back({1, 6, 1, ConfChange(3, 44, EtcdMemberJson(learner))});  // add a learner
  wal.commit = 6;
  absl::StatusOr<ImportedEtcdMember> m = ImportEtcdMember(Backend(Session(), 3), wal);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->snapshot.index(), 6u);
  ASSERT_EQ(m->state.cluster_members_size(), 3);
  EXPECT_EQ(m->state.cluster_members(1).name(), "m2");  // an update changes the peer URLs only
  EXPECT_EQ(m->state.cluster_members(1).peer_urls(0), "http://10.0.0.2:2380");
  EXPECT_TRUE(m->state.cluster_members(2).is_learner());
  ASSERT_EQ(m->state.removed_member_ids_size(), 1);
  EXPECT_EQ(m->state.removed_member_ids(0), 33u);
  EXPECT_EQ(m->snapshot.conf_state().voters_size(), 2);
  ASSERT_EQ(m->snapshot.conf_state().learners_size(), 1);
  EXPECT_EQ(m->snapshot.conf_state().learners(0), 44u);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Files Debian's etcd 3.4.23 wrote (the fuzz corpora keep them): `etcdctl snapshot restore --name r1
// --initial-cluster r1=http://127.0.0.1:47390 --initial-cluster-token tok` of a snapshot taken after put a 1; put a 2;
// put b x; put a 3; del b; compact 3; lease grant 600; put lk lv --lease; put a 4.
TEST(EtcdImportTest, ReadsWhatEtcdRestoreWrote) {
  absl::StatusOr<storage::BboltDatabase> db =
      storage::ReadBboltDatabase(Slurp("testdata/fuzz/bbolt_reader/etcd_3.4.23_restored"));
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<storage::EtcdWal> wal = storage::ReadEtcdWal(
      {{"0000000000000000-0000000000000000.wal", Slurp("testdata/fuzz/etcd_wal/etcd_3.4.23_restored")}});
  ASSERT_TRUE(wal.ok()) << wal.status();
  absl::StatusOr<ImportedEtcdMember> m = ImportEtcdMember(*db, *wal);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->member_id, 0x7b1e8a473fef1f10u);
  EXPECT_EQ(m->cluster_id, 0x860ca2388cb118dcu);
  EXPECT_EQ(m->snapshot.index(), 1u);
  EXPECT_EQ(m->snapshot.term(), 1u);
  EXPECT_EQ(m->revision, 8);
  EXPECT_EQ(m->compacted_revision, 3);
  EXPECT_EQ(m->versions, 6u);  // a@3 b@4 a@5 b@6t lk@7 a@8
  EXPECT_EQ(m->leases, 1u);
  ASSERT_EQ(m->state.cluster_members_size(), 1);  // restore's member, not the source's e1 left in the backend
  EXPECT_EQ(m->state.cluster_members(0).name(), "r1");
  EXPECT_EQ(m->state.cluster_members(0).peer_urls(0), "http://127.0.0.1:47390");
  kv::MvccStore store(1);
  ASSERT_TRUE(store.Restore(m->state.store()).ok());
  EXPECT_EQ(store.rev(), 8);
  EXPECT_EQ(store.compacted_rev(), 3);
}

}  // namespace
}  // namespace detcd::net
