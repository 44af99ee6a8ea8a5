// Maintenance.Snapshot end to end (the fixture: net/grpc_services_test_fixture.h) with a keyspace larger than the
// transport buffers: the member keeps answering while a slow reader holds the stream open mid-way, the file is the
// state as of the call (writes made meanwhile are not in it), and a client that cancels mid-stream releases the
// member's pin (the versions compaction removed meanwhile are freed).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "gtest/gtest.h"
#include "net/grpc_services_test_fixture.h"
#include "net/member_runtime.h"
#include "storage/bbolt_test_reader.h"

namespace detcd::net {
namespace {

constexpr int kKeys = 8000;
constexpr size_t kValueBytes = 1024;  // about 8 MB of state: far more than the transport buffers

class GrpcServicesSnapshotTest : public GrpcServicesTest {
 protected:
  // kKeys keys of kValueBytes, a transaction of 64 puts at a time; returns the revision after.
  int64_t Fill() {
    int64_t rev = 0;
    for (int i = 0; i < kKeys; i += 64) {
      etcdserverpb::TxnRequest txn;
      for (int j = i; j < std::min(kKeys, i + 64); ++j) {
        etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
        put->set_key(absl::StrFormat("key/%06d", j));
        put->set_value(std::string(kValueBytes, static_cast<char>('a' + j % 26)));
      }
      etcdserverpb::TxnResponse response;
      grpc::ClientContext context;
      SetDeadline(&context);
      grpc::Status s = kv_->Txn(&context, txn, &response);
      EXPECT_TRUE(s.ok()) << s.error_message();
      rev = response.header().revision();
    }
    return rev;
  }

  MemberRuntime::ExportCounts Counts() {
    absl::StatusOr<MemberRuntime::ExportCounts> c = runtime_->StateExportCounts();
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : MemberRuntime::ExportCounts{};
  }

  void Compact(int64_t rev) {
    etcdserverpb::CompactionRequest request;
    request.set_revision(rev);
    request.set_physical(true);
    etcdserverpb::CompactionResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = kv_->Compact(&context, request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
};

TEST_P(GrpcServicesSnapshotTest, TheMemberServesWhileASlowReaderHoldsALargeSnapshotMidStream) {
  const int64_t rev = Fill();
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto snapshot = maintenance->Snapshot(&context, etcdserverpb::SnapshotRequest());
  etcdserverpb::SnapshotResponse chunk;
  std::string bytes;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(snapshot->Read(&chunk));
    bytes += chunk.blob();
  }
  ASSERT_GT(chunk.remaining_bytes(), uint64_t{4} << 20) << "the stream is mid-way, most of it not yet made";
  // The reader stalls. The member goes on: writes, reads and a compaction, promptly.
  const absl::Time start = absl::Now();
  for (int i = 0; i < 50; ++i) Put(absl::StrFormat("key/%06d", i), "written while the snapshot streams");
  EXPECT_EQ(Get("key/000007").kvs(0).value(), "written while the snapshot streams");
  Compact(rev + 10);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "a stalled snapshot must not stall the member";
  MemberRuntime::ExportCounts during = Counts();
  EXPECT_EQ(during.exports, 1u);
  EXPECT_GT(during.held_versions, 0u) << "the compaction removed versions the snapshot still has to send";
  // The reader goes on, slowly.
  uint64_t last_remaining = chunk.remaining_bytes();
  int reads = 0;
  while (snapshot->Read(&chunk)) {
    EXPECT_LT(chunk.remaining_bytes(), last_remaining);
    last_remaining = chunk.remaining_bytes();
    EXPECT_EQ(chunk.header().revision(), rev);
    bytes += chunk.blob();
    if (++reads % 32 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  grpc::Status finished = snapshot->Finish();
  ASSERT_TRUE(finished.ok()) << finished.error_message();
  EXPECT_EQ(last_remaining, 0u);
  // The state as of the call: every key with its first value, the writes made meanwhile not in it.
  absl::StatusOr<storage::BboltContents> db = storage::ReadBboltFile(bytes.substr(0, bytes.size() - 32));
  ASSERT_TRUE(db.ok()) << db.status();
  const auto& key = db->buckets["key"];
  ASSERT_EQ(key.size(), static_cast<size_t>(kKeys));
  mvccpb::KeyValue kv;
  ASSERT_TRUE(kv.ParseFromString(key[7].second));
  EXPECT_EQ(kv.key(), "key/000007");
  EXPECT_EQ(kv.value(), std::string(kValueBytes, 'h'));
  ASSERT_TRUE(kv.ParseFromString(key.back().second));
  EXPECT_EQ(kv.mod_revision(), rev);
  // Done: the pin went, and with it the versions it kept.
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while ((Counts().exports != 0 || Counts().pins != 0) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  const MemberRuntime::ExportCounts after = Counts();
  EXPECT_EQ(after.exports, 0u);
  EXPECT_EQ(after.pins, 0u);
  EXPECT_EQ(after.held_versions, 0u);
}

TEST_P(GrpcServicesSnapshotTest, ACancelledSnapshotReleasesItsPin) {
  const int64_t rev = Fill();
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    auto snapshot = maintenance->Snapshot(&context, etcdserverpb::SnapshotRequest());
    etcdserverpb::SnapshotResponse chunk;
    ASSERT_TRUE(snapshot->Read(&chunk));
    ASSERT_GT(chunk.remaining_bytes(), uint64_t{4} << 20);
    for (int i = 0; i < 100; ++i) Put(absl::StrFormat("key/%06d", i), "new");
    Compact(rev + 100);
    EXPECT_EQ(Counts().exports, 1u);
    EXPECT_GE(Counts().held_versions, 100u) << "the overwritten versions are kept for the snapshot";
    context.TryCancel();
    while (snapshot->Read(&chunk)) {
    }
    EXPECT_FALSE(snapshot->Finish().ok());
  }
  // The handler sees the cancellation at its next piece and ends the export: the pin goes, the kept versions too.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((Counts().exports != 0 || Counts().pins != 0) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  const MemberRuntime::ExportCounts after = Counts();
  EXPECT_EQ(after.exports, 0u);
  EXPECT_EQ(after.pins, 0u);
  EXPECT_EQ(after.held_versions, 0u);
  // And the member goes on.
  EXPECT_GT(Put("after", "cancel").header().revision(), rev + 100);
}

INSTANTIATE_TEST_SUITE_P(BothPaths, GrpcServicesSnapshotTest, testing::Values(Path::kGrpcServer, Path::kFrontEnd),
                         [](const testing::TestParamInfo<Path>& p) {
                           return p.param == Path::kGrpcServer ? std::string("GrpcServer")
                                                               : std::string("FrontEnd");
                         });

}  // namespace
}  // namespace detcd::net
