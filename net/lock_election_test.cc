// LockElectionServices end to end: a real single-member MemberRuntime (data directory under TEST_TMPDIR, 10 ms ticks)
// behind a grpc::Server on 127.0.0.1 with EtcdServices (for leases and reads) and the Lock and Election services,
// driven through etcd's generated stubs as `etcdctl lock` / `etcdctl elect` clients of the gRPC API would.
#include "net/lock_election.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "api/v3electionpb/v3election.grpc.pb.h"
#include "api/v3lockpb/v3lock.grpc.pb.h"
#include "gtest/gtest.h"
#include "net/grpc_services.h"
#include "net/member_runtime.h"
#include "net/test_member.h"

namespace detcd::net {
namespace {

void SetDeadline(grpc::ClientContext* context, int seconds = 5) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

std::string Describe(const grpc::Status& s) { return absl::StrCat(s.error_code(), ": ", s.error_message()); }

class LockElectionTest : public testing::Test {
 protected:
  void SetUp() override {
    runtime_ = StartLeadingSingleMember(CurrentTestName());
    ASSERT_NE(runtime_, nullptr);

    GrpcServicesOptions so;
    so.request_timeout = EtcdRequestTimeout(SingleMemberOptions("").core);
    services_ = std::make_unique<EtcdServices>(runtime_.get(), so);
    LockElectionOptions lo;
    lo.request_timeout = so.request_timeout;
    lo.poll_interval = absl::Milliseconds(20);
    lock_election_ = std::make_unique<LockElectionServices>(runtime_.get(), lo);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    services_->RegisterOn(builder);
    lock_election_->RegisterOn(builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    services_->Serve();
    ASSERT_GT(port_, 0);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    kv_ = etcdserverpb::KV::NewStub(channel_);
    lease_ = etcdserverpb::Lease::NewStub(channel_);
    lock_ = v3lockpb::Lock::NewStub(channel_);
    election_ = v3electionpb::Election::NewStub(channel_);
  }

  void TearDown() override {
    if (lock_election_ != nullptr) lock_election_->StopWaits();
    if (services_ != nullptr) services_->StopStreams();
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    lock_election_.reset();
    services_.reset();
    if (runtime_ != nullptr) runtime_->Stop();
  }

  int64_t Grant(int64_t ttl = 30) {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl);
    etcdserverpb::LeaseGrantResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = lease_->LeaseGrant(&context, request, &response);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return response.id();
  }

  void Revoke(int64_t id) {
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(id);
    etcdserverpb::LeaseRevokeResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = lease_->LeaseRevoke(&context, request, &response);
    EXPECT_TRUE(s.ok()) << Describe(s);
  }

  // The keys under `prefix`, oldest first by creation.
  std::vector<std::string> KeysUnder(std::string prefix) {
    etcdserverpb::RangeRequest request;
    request.set_key(prefix);
    prefix.back() = static_cast<char>(prefix.back() + 1);
    request.set_range_end(prefix);
    request.set_sort_target(etcdserverpb::RangeRequest::CREATE);
    request.set_sort_order(etcdserverpb::RangeRequest::ASCEND);
    etcdserverpb::RangeResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = kv_->Range(&context, request, &response);
    EXPECT_TRUE(s.ok()) << Describe(s);
    std::vector<std::string> keys;
    for (const mvccpb::KeyValue& kv : response.kvs()) keys.push_back(kv.key());
    return keys;
  }

  grpc::Status Lock(const std::string& name, int64_t lease, v3lockpb::LockResponse* response, int seconds = 5) {
    v3lockpb::LockRequest request;
    request.set_name(name);
    request.set_lease(lease);
    grpc::ClientContext context;
    SetDeadline(&context, seconds);
    return lock_->Lock(&context, request, response);
  }

  grpc::Status Unlock(const std::string& key, v3lockpb::UnlockResponse* response) {
    v3lockpb::UnlockRequest request;
    request.set_key(key);
    grpc::ClientContext context;
    SetDeadline(&context);
    return lock_->Unlock(&context, request, response);
  }

  grpc::Status Campaign(const std::string& name, int64_t lease, const std::string& value,
                        v3electionpb::CampaignResponse* response) {
    v3electionpb::CampaignRequest request;
    request.set_name(name);
    request.set_lease(lease);
    request.set_value(value);
    grpc::ClientContext context;
    SetDeadline(&context);
    return election_->Campaign(&context, request, response);
  }

  grpc::Status Proclaim(const v3electionpb::LeaderKey& leader, const std::string& value) {
    v3electionpb::ProclaimRequest request;
    *request.mutable_leader() = leader;
    request.set_value(value);
    v3electionpb::ProclaimResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    return election_->Proclaim(&context, request, &response);
  }

  grpc::Status Leader(const std::string& name, v3electionpb::LeaderResponse* response) {
    v3electionpb::LeaderRequest request;
    request.set_name(name);
    grpc::ClientContext context;
    SetDeadline(&context);
    return election_->Leader(&context, request, response);
  }

  grpc::Status Resign(const v3electionpb::LeaderKey& leader) {
    v3electionpb::ResignRequest request;
    *request.mutable_leader() = leader;
    v3electionpb::ResignResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    return election_->Resign(&context, request, &response);
  }

  std::unique_ptr<MemberRuntime> runtime_;
  std::unique_ptr<EtcdServices> services_;
  std::unique_ptr<LockElectionServices> lock_election_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<v3lockpb::Lock::Stub> lock_;
  std::unique_ptr<v3electionpb::Election::Stub> election_;
};

TEST_F(LockElectionTest, SecondLockerWaitsForTheFirstToUnlock) {
  const int64_t lease_a = Grant();
  const int64_t lease_b = Grant();
  v3lockpb::LockResponse a;
  grpc::Status s = Lock("mylock", lease_a, &a);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(a.key(), absl::StrCat("mylock/", absl::Hex(lease_a))) << "etcd's key: name/<lease id in hex>";
  EXPECT_EQ(a.header().member_id(), 1u);
  EXPECT_GT(a.header().revision(), 1);

  // The same lease locking again finds its key and holds the lock at once (concurrency.Mutex reuses the key).
  v3lockpb::LockResponse again;
  s = Lock("mylock", lease_a, &again);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(again.key(), a.key());

  std::atomic<bool> b_done{false};
  absl::Time b_locked_at;
  v3lockpb::LockResponse b;
  grpc::Status b_status;
  std::thread locker([&] {
    b_status = Lock("mylock", lease_b, &b);
    b_locked_at = absl::Now();
    b_done = true;
  });
  // B is queued behind A: its key exists, newer than A's, and it does not return.
  const absl::Time give_up = absl::Now() + absl::Seconds(3);
  while (KeysUnder("mylock/").size() < 2 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(10));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(b_done.load()) << "the second locker got the lock while the first held it";
  EXPECT_EQ(KeysUnder("mylock/"), (std::vector<std::string>{a.key(), absl::StrCat("mylock/", absl::Hex(lease_b))}));

  const absl::Time unlocked_at = absl::Now();
  v3lockpb::UnlockResponse unlocked;
  s = Unlock(a.key(), &unlocked);
  ASSERT_TRUE(s.ok()) << Describe(s);
  locker.join();
  ASSERT_TRUE(b_status.ok()) << Describe(b_status);
  EXPECT_GE(b_locked_at, unlocked_at);
  EXPECT_EQ(b.key(), absl::StrCat("mylock/", absl::Hex(lease_b)));
  EXPECT_GE(b.header().revision(), unlocked.header().revision()) << "B's header comes after A's deletion";
  EXPECT_EQ(KeysUnder("mylock/"), std::vector<std::string>{b.key()});

  s = Unlock(b.key(), &unlocked);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_TRUE(KeysUnder("mylock/").empty());
}

TEST_F(LockElectionTest, LockWithARevokedLeaseFailsAsEtcdDoes) {
  const int64_t lease = Grant();
  Revoke(lease);
  v3lockpb::LockResponse response;
  grpc::Status s = Lock("gone", lease, &response);
  // etcd's lock server hands on its embedded client's error, which gRPC-go reports as UNKNOWN.
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNKNOWN) << Describe(s);
  EXPECT_EQ(s.error_message(), "etcdserver: requested lease not found");
  EXPECT_TRUE(KeysUnder("gone/").empty());
}

TEST_F(LockElectionTest, AWaiterThatGivesUpLeavesTheQueue) {
  const int64_t lease_a = Grant();
  const int64_t lease_b = Grant();
  v3lockpb::LockResponse a;
  grpc::Status s = Lock("q", lease_a, &a);
  ASSERT_TRUE(s.ok()) << Describe(s);
  v3lockpb::LockResponse b;
  s = Lock("q", lease_b, &b, /*seconds=*/1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << Describe(s);
  // The server notices within a poll interval and deletes the waiter's key, as concurrency.Mutex does on error.
  const absl::Time give_up = absl::Now() + absl::Seconds(3);
  while (KeysUnder("q/").size() > 1 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(KeysUnder("q/"), std::vector<std::string>{a.key()});
}

TEST_F(LockElectionTest, AWaiterWhoseLeaseEndsDoesNotGetTheLock) {
  const int64_t lease_a = Grant();
  const int64_t lease_b = Grant();
  v3lockpb::LockResponse a;
  grpc::Status s = Lock("exp", lease_a, &a);
  ASSERT_TRUE(s.ok()) << Describe(s);
  v3lockpb::LockResponse b;
  grpc::Status b_status;
  std::thread locker([&] { b_status = Lock("exp", lease_b, &b); });
  const absl::Time give_up = absl::Now() + absl::Seconds(3);
  while (KeysUnder("exp/").size() < 2 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(10));
  Revoke(lease_b);
  v3lockpb::UnlockResponse unlocked;
  s = Unlock(a.key(), &unlocked);
  ASSERT_TRUE(s.ok()) << Describe(s);
  locker.join();
  EXPECT_EQ(b_status.error_code(), grpc::StatusCode::UNKNOWN) << Describe(b_status);
  EXPECT_EQ(b_status.error_message(), "mutex: session is expired");
  EXPECT_TRUE(KeysUnder("exp/").empty());
}

TEST_F(LockElectionTest, LockWithoutALeaseGrantsASessionLease) {
  v3lockpb::LockResponse response;
  grpc::Status s = Lock("nolease", 0, &response);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_EQ(response.key().rfind("nolease/", 0), 0u) << response.key();
  const int64_t lease = static_cast<int64_t>(std::stoull(response.key().substr(8), nullptr, 16));
  etcdserverpb::LeaseTimeToLiveRequest request;
  request.set_id(lease);
  etcdserverpb::LeaseTimeToLiveResponse ttl;
  grpc::ClientContext context;
  SetDeadline(&context);
  s = lease_->LeaseTimeToLive(&context, request, &ttl);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(ttl.grantedttl(), 60) << "concurrency.defaultSessionTTL";
}

TEST_F(LockElectionTest, StopWaitsEndsAWaitingLockPromptly) {
  const int64_t lease_a = Grant();
  const int64_t lease_b = Grant();
  v3lockpb::LockResponse a;
  grpc::Status s = Lock("stop", lease_a, &a);
  ASSERT_TRUE(s.ok()) << Describe(s);
  v3lockpb::LockResponse b;
  grpc::Status b_status;
  absl::Time b_ended;
  std::thread locker([&] {
    b_status = Lock("stop", lease_b, &b);
    b_ended = absl::Now();
  });
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time stopped = absl::Now();
  lock_election_->StopWaits();
  locker.join();
  EXPECT_EQ(b_status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(b_status);
  EXPECT_EQ(b_status.error_message(), "etcdserver: server stopped");
  EXPECT_LT(b_ended - stopped, absl::Seconds(1));
}

TEST_F(LockElectionTest, ACandidateThatGivesUpWithdraws) {
  const int64_t lease_a = Grant();
  const int64_t lease_b = Grant();
  v3electionpb::CampaignResponse a;
  grpc::Status s = Campaign("quit", lease_a, "a", &a);
  ASSERT_TRUE(s.ok()) << Describe(s);
  v3electionpb::CampaignRequest request;
  request.set_name("quit");
  request.set_lease(lease_b);
  request.set_value("b");
  v3electionpb::CampaignResponse b;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  s = election_->Campaign(&context, request, &b);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << Describe(s);
  const absl::Time give_up = absl::Now() + absl::Seconds(3);
  while (KeysUnder("quit/").size() > 1 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(KeysUnder("quit/"), std::vector<std::string>{a.leader().key()});
}

TEST_F(LockElectionTest, CampaignProclaimResignAndTheNextLeader) {
  v3electionpb::LeaderResponse leader;
  grpc::Status s = Leader("job", &leader);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(s.error_message(), "election: no leader");

  const int64_t lease_a = Grant();
  const int64_t lease_b = Grant();
  v3electionpb::CampaignResponse a;
  s = Campaign("job", lease_a, "a1", &a);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(a.leader().name(), "job");
  EXPECT_EQ(a.leader().key(), absl::StrCat("job/", absl::Hex(lease_a)));
  EXPECT_EQ(a.leader().lease(), lease_a);
  EXPECT_EQ(a.leader().rev(), a.header().revision()) << "a fresh candidate's key is created by the campaign";

  s = Leader("job", &leader);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(leader.kv().key(), a.leader().key());
  EXPECT_EQ(leader.kv().value(), "a1");
  EXPECT_EQ(leader.kv().lease(), lease_a);

  s = Proclaim(a.leader(), "a2");
  ASSERT_TRUE(s.ok()) << Describe(s);
  s = Leader("job", &leader);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(leader.kv().value(), "a2");

  std::atomic<bool> b_done{false};
  v3electionpb::CampaignResponse b;
  grpc::Status b_status;
  std::thread candidate([&] {
    b_status = Campaign("job", lease_b, "b1", &b);
    b_done = true;
  });
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(b_done.load()) << "the second candidate was elected while the first led";
  s = Leader("job", &leader);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(leader.kv().value(), "a2") << "a waiting candidate's value is not the leader's";

  s = Resign(a.leader());
  ASSERT_TRUE(s.ok()) << Describe(s);
  candidate.join();
  ASSERT_TRUE(b_status.ok()) << Describe(b_status);
  EXPECT_EQ(b.leader().key(), absl::StrCat("job/", absl::Hex(lease_b)));
  s = Leader("job", &leader);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(leader.kv().value(), "b1");

  // The resigned leader's key is gone: proclaiming with it fails, and resigning again changes nothing.
  s = Proclaim(a.leader(), "a3");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(s.error_message(), "election: not leader");
  s = Resign(a.leader());
  EXPECT_TRUE(s.ok()) << Describe(s);
  s = Leader("job", &leader);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(leader.kv().value(), "b1");

  v3electionpb::ProclaimRequest no_leader;
  v3electionpb::ProclaimResponse ignored;
  grpc::ClientContext context;
  SetDeadline(&context);
  s = election_->Proclaim(&context, no_leader, &ignored);
  EXPECT_EQ(s.error_message(), "\"leader\" field must be provided");
}

TEST_F(LockElectionTest, ObserveSeesEveryLeaderValueInOrder) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v3electionpb::LeaderRequest request;
  request.set_name("obs");
  std::unique_ptr<grpc::ClientReader<v3electionpb::LeaderResponse>> stream = election_->Observe(&context, request);

  // No leader yet: the observer waits for the first candidate.
  absl::SleepFor(absl::Milliseconds(100));
  const int64_t lease_a = Grant();
  const int64_t lease_b = Grant();
  v3electionpb::CampaignResponse a;
  grpc::Status s = Campaign("obs", lease_a, "v1", &a);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_TRUE(Proclaim(a.leader(), "v2").ok());
  ASSERT_TRUE(Proclaim(a.leader(), "v3").ok());

  v3electionpb::LeaderResponse seen;
  int64_t last_revision = 0;
  for (const char* want : {"v1", "v2", "v3"}) {
    ASSERT_TRUE(stream->Read(&seen)) << "observe ended before " << want;
    EXPECT_EQ(seen.kv().key(), a.leader().key());
    EXPECT_EQ(seen.kv().value(), want);
    EXPECT_GT(seen.header().revision(), last_revision);
    last_revision = seen.header().revision();
  }

  // The next leader after a resignation.
  std::thread candidate([&] {
    v3electionpb::CampaignResponse b;
    grpc::Status bs = Campaign("obs", lease_b, "w1", &b);
    EXPECT_TRUE(bs.ok()) << Describe(bs);
  });
  absl::SleepFor(absl::Milliseconds(100));
  ASSERT_TRUE(Resign(a.leader()).ok());
  candidate.join();
  ASSERT_TRUE(stream->Read(&seen));
  EXPECT_EQ(seen.kv().key(), absl::StrCat("obs/", absl::Hex(lease_b)));
  EXPECT_EQ(seen.kv().value(), "w1");

  context.TryCancel();
  while (stream->Read(&seen)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

}  // namespace
}  // namespace detcd::net
