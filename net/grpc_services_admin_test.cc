// EtcdServices end to end (the fixture: net/grpc_services_test_fixture.h), the services beside KV and Watch: leases
// with keep-alive, endpoint status, alarms and defragment, HashKV / Hash / MoveLeader, member list and member add's
// errors, the unimplemented Auth; and etcd's request-timeout formula.
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "gtest/gtest.h"
#include "net/grpc_services.h"
#include "net/grpc_services_test_fixture.h"
#include "net/member_runtime.h"
#include "net/test_member.h"
#include "storage/bbolt_test_reader.h"

namespace detcd::net {
namespace {

using etcdserverpb::Compare;
using mvccpb::Event;

TEST_P(GrpcServicesTest, LeaseLeasesWithNoLeaseIsEmpty) {
  etcdserverpb::LeaseLeasesResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(lease_->LeaseLeases(&context, etcdserverpb::LeaseLeasesRequest(), &response).ok());
  EXPECT_EQ(response.leases_size(), 0);
  EXPECT_EQ(response.header().cluster_id(), 0xc1u);
}

TEST_P(GrpcServicesTest, LeaseRevokeDeletesItsKeys) {
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(60);
  etcdserverpb::LeaseGrantResponse granted;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(lease_->LeaseGrant(&context, grant, &granted).ok());
  }
  ASSERT_NE(granted.id(), 0);
  EXPECT_EQ(granted.ttl(), 60);
  Put("leased", "v", granted.id());
  EXPECT_EQ(Get("leased").kvs(0).lease(), granted.id());

  {
    etcdserverpb::LeaseTimeToLiveRequest request;
    request.set_id(granted.id());
    request.set_keys(true);
    etcdserverpb::LeaseTimeToLiveResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(lease_->LeaseTimeToLive(&context, request, &response).ok());
    EXPECT_EQ(response.grantedttl(), 60);
    ASSERT_EQ(response.keys_size(), 1);
    EXPECT_EQ(response.keys(0), "leased");
  }
  {
    etcdserverpb::LeaseLeasesResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(lease_->LeaseLeases(&context, etcdserverpb::LeaseLeasesRequest(), &response).ok());
    ASSERT_EQ(response.leases_size(), 1);
    EXPECT_EQ(response.leases(0).id(), granted.id());
  }

  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(granted.id());
  etcdserverpb::LeaseRevokeResponse revoked;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(lease_->LeaseRevoke(&context, revoke, &revoked).ok());
  }
  EXPECT_EQ(Get("leased").count(), 0);
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status again = lease_->LeaseRevoke(&context, revoke, &revoked);
    EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(again.error_message(), "etcdserver: requested lease not found");
  }
}

TEST_P(GrpcServicesTest, KeepAliveStreamRenewsAndAnswersTtlZeroForAnUnknownLease) {
  const etcdserverpb::LeaseGrantResponse granted = Grant(30);
  ASSERT_GT(granted.id(), 0);

  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = lease_->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  etcdserverpb::LeaseKeepAliveResponse response;
  for (int i = 0; i < 2; ++i) {
    request.set_id(granted.id());
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.id(), granted.id());
    EXPECT_EQ(response.ttl(), 30);
    EXPECT_EQ(response.header().member_id(), 1u);
  }
  request.set_id(granted.id() + 1);
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.id(), granted.id() + 1);
  EXPECT_EQ(response.ttl(), 0);

  // Like etcd, the client's half-close ends the stream cleanly.
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
}

TEST_P(GrpcServicesTest, EndpointStatusAlarmsAndDefragment) {
  const int64_t rev = Put("k", "v").header().revision();
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  etcdserverpb::StatusResponse status;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(maintenance->Status(&context, etcdserverpb::StatusRequest(), &status).ok());
  }
  EXPECT_EQ(status.version(), kVersion);
  EXPECT_EQ(status.leader(), 1u);
  EXPECT_GT(status.raftindex(), 0u);
  EXPECT_GT(status.raftappliedindex(), 0u);
  EXPECT_GT(status.raftterm(), 0u);
  EXPECT_GT(status.dbsize(), 0);
  EXPECT_TRUE(status.errors().empty());
  EXPECT_EQ(status.header().member_id(), 1u);
  EXPECT_EQ(status.header().cluster_id(), 0xc1u);
  EXPECT_EQ(status.header().revision(), rev);

  etcdserverpb::AlarmRequest get;
  get.set_action(etcdserverpb::AlarmRequest::GET);
  etcdserverpb::AlarmResponse alarms;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = maintenance->Alarm(&context, get, &alarms);
    ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
  }
  EXPECT_EQ(alarms.alarms_size(), 0);
  EXPECT_FALSE(alarms.has_header()) << "etcd 3.4 answers an alarm request without a header";

  etcdserverpb::DefragmentResponse defragmented;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(maintenance->Defragment(&context, etcdserverpb::DefragmentRequest(), &defragmented).ok());
  }
  EXPECT_FALSE(defragmented.has_header()) << "etcd 3.4 answers a defragmentation with an empty response";

  etcdserverpb::SnapshotResponse chunk;
  grpc::ClientContext context;
  SetDeadline(&context);
  auto snapshot = maintenance->Snapshot(&context, etcdserverpb::SnapshotRequest());
  // The state in pieces, each saying what is still to come, ending with a SHA-256 of what came before (as etcd's).
  std::string bytes;
  uint64_t last_remaining = UINT64_MAX;
  while (snapshot->Read(&chunk)) {
    EXPECT_LT(chunk.remaining_bytes(), last_remaining);
    last_remaining = chunk.remaining_bytes();
    EXPECT_EQ(chunk.header().revision(), rev);
    bytes += chunk.blob();
  }
  ASSERT_TRUE(snapshot->Finish().ok());
  EXPECT_EQ(last_remaining, 0u);
  ASSERT_GT(bytes.size(), 32u);
  unsigned char digest[32];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(bytes.data(), bytes.size() - 32, digest, &len, EVP_sha256(), nullptr), 1);
  EXPECT_EQ(bytes.substr(bytes.size() - 32), std::string(reinterpret_cast<char*>(digest), 32));
  EXPECT_EQ((bytes.size() - 32) % 512, 0u) << "whole 512-byte pages before the hash, as etcdctl checks";
  // Before the hash: etcd 3.4's backend database (bbolt), whose "key" bucket ends with the put's revision.
  absl::StatusOr<storage::BboltContents> db = storage::ReadBboltFile(bytes.substr(0, bytes.size() - 32));
  ASSERT_TRUE(db.ok()) << db.status();
  const auto& key = db->buckets["key"];
  ASSERT_EQ(key.size(), 1u);
  ASSERT_LT(rev, 256);
  EXPECT_EQ(key[0].first.substr(0, 8), std::string("\0\0\0\0\0\0\0", 7) + static_cast<char>(rev));
  mvccpb::KeyValue kv;
  ASSERT_TRUE(kv.ParseFromString(key[0].second));
  EXPECT_EQ(kv.key(), "k");
  EXPECT_EQ(kv.value(), "v");
  EXPECT_EQ(kv.mod_revision(), rev);
  ASSERT_EQ(db->buckets["meta"].size(), 1u);
  EXPECT_EQ(db->buckets["meta"][0].first, "consistent_index");
  EXPECT_EQ(db->buckets["members"].size(), 1u);
}

grpc::Status HashKV(etcdserverpb::Maintenance::Stub* maintenance, int64_t revision,
                    etcdserverpb::HashKVResponse* response) {
  etcdserverpb::HashKVRequest request;
  request.set_revision(revision);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return maintenance->HashKV(&context, request, response);
}

TEST_P(GrpcServicesTest, HashKVIsStableAtARevisionAndRefusesCompactedAndFutureOnes) {
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  Put("a", "1");
  const int64_t rev = Put("b", "2").header().revision();
  etcdserverpb::HashKVResponse first, again, current;
  ASSERT_TRUE(HashKV(maintenance.get(), rev, &first).ok());
  ASSERT_TRUE(HashKV(maintenance.get(), rev, &again).ok());
  ASSERT_TRUE(HashKV(maintenance.get(), 0, &current).ok());
  EXPECT_EQ(first.hash(), again.hash());
  EXPECT_EQ(first.hash(), current.hash()) << "revision 0 is the current revision";
  EXPECT_EQ(first.compact_revision(), -1) << "as etcd: never compacted";
  EXPECT_EQ(first.header().revision(), rev);
  EXPECT_EQ(first.header().member_id(), 1u);
  EXPECT_EQ(first.header().cluster_id(), 0xc1u);
  EXPECT_GT(first.header().raft_term(), 0u);

  // A write changes the current hash, not the one at the earlier revision.
  Put("a", "3");
  etcdserverpb::HashKVResponse after, at_rev;
  ASSERT_TRUE(HashKV(maintenance.get(), 0, &after).ok());
  ASSERT_TRUE(HashKV(maintenance.get(), rev, &at_rev).ok());
  EXPECT_NE(after.hash(), first.hash());
  EXPECT_EQ(at_rev.hash(), first.hash());
  EXPECT_EQ(at_rev.header().revision(), rev + 1) << "the header carries the current revision";

  etcdserverpb::HashKVResponse refused;
  grpc::Status s = HashKV(maintenance.get(), rev + 5, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(s.error_message(), "etcdserver: mvcc: required revision is a future revision");

  etcdserverpb::CompactionRequest compact;
  compact.set_revision(rev);
  etcdserverpb::CompactionResponse compacted;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(kv_->Compact(&context, compact, &compacted).ok());
  }
  // As etcd's HashByRev: the compaction revision itself is refused too.
  for (int64_t r : {rev - 1, rev}) {
    s = HashKV(maintenance.get(), r, &refused);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE) << r;
    EXPECT_EQ(s.error_message(), "etcdserver: mvcc: required revision has been compacted") << r;
  }
  etcdserverpb::HashKVResponse latest;
  ASSERT_TRUE(HashKV(maintenance.get(), rev + 1, &latest).ok());
  EXPECT_EQ(latest.compact_revision(), rev);
}

TEST_P(GrpcServicesTest, HashCoversTheMembersStateWithAHeader) {
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  const int64_t rev = Put("k", "v").header().revision();
  auto hash = [&] {
    etcdserverpb::HashResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = maintenance->Hash(&context, etcdserverpb::HashRequest(), &response);
    EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    return response;
  };
  const etcdserverpb::HashResponse before = hash();
  EXPECT_EQ(hash().hash(), before.hash());
  EXPECT_EQ(before.header().revision(), rev);
  EXPECT_EQ(before.header().member_id(), 1u);
  Put("k", "w");
  EXPECT_NE(hash().hash(), before.hash());
}

TEST_P(GrpcServicesTest, MoveLeaderRefusesAnUnknownTransferee) {
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  etcdserverpb::MoveLeaderRequest request;
  request.set_targetid(0xbad);
  etcdserverpb::MoveLeaderResponse response;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = maintenance->MoveLeader(&context, request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(s.error_message(), "etcdserver: bad leader transferee");
  }
  // To itself: it already leads, so etcd answers at once.
  request.set_targetid(1);
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status s = maintenance->MoveLeader(&context, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
  EXPECT_EQ(response.header().member_id(), 1u);
  EXPECT_GT(response.header().raft_term(), 0u);
  EXPECT_EQ(runtime_->Status().leader, 1u);
}

TEST_P(GrpcServicesTest, MemberListShowsTheSingleMember) {
  // What detcd publishes through Raft once it runs: the name and client URLs.
  kvpb::ClientRequest publish;
  publish.mutable_member_attributes()->set_id(1);
  publish.mutable_member_attributes()->set_name("infra1");
  publish.mutable_member_attributes()->add_client_urls("http://127.0.0.1:2379");
  ASSERT_TRUE(runtime_->Call(publish, absl::Seconds(5)).status.ok());
  auto cluster = etcdserverpb::Cluster::NewStub(channel_);
  etcdserverpb::MemberListResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(cluster->MemberList(&context, etcdserverpb::MemberListRequest(), &response).ok());
  EXPECT_EQ(response.header().cluster_id(), 0xc1u);
  ASSERT_EQ(response.members_size(), 1);
  const etcdserverpb::Member& m = response.members(0);
  EXPECT_EQ(m.id(), 1u);
  EXPECT_EQ(m.name(), "infra1");
  ASSERT_EQ(m.peerurls_size(), 1);
  EXPECT_EQ(m.peerurls(0), "http://localhost:2380");
  ASSERT_EQ(m.clienturls_size(), 1);
  EXPECT_EQ(m.clienturls(0), "http://127.0.0.1:2379");
  EXPECT_FALSE(m.islearner());

  // A member add without peer URLs: etcd's InvalidArgument.
  etcdserverpb::MemberAddResponse added;
  grpc::ClientContext add_context;
  SetDeadline(&add_context);
  grpc::Status s = cluster->MemberAdd(&add_context, etcdserverpb::MemberAddRequest(), &added);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "etcdserver: given member URLs are invalid");
}

// etcd's auth through the services on both paths (the gRPC server's, and the front end's own calls and watches):
// root and its role, auth on, a wrong password refused, a token from Authenticate, requests without it refused with
// etcd's errors, a plain user's permissions (a watch on a range it may not read canceled), admin-only maintenance.
TEST_P(GrpcServicesTest, AuthWalkthrough) {
  auto auth = etcdserverpb::Auth::NewStub(channel_);
  auto call = [&](auto method, const auto& request, auto* response, const std::string& token = "") {
    grpc::ClientContext context;
    SetDeadline(&context);
    if (!token.empty()) context.AddMetadata("token", token);
    return (auth.get()->*method)(&context, request, response);
  };
  etcdserverpb::AuthUserAddRequest add;
  etcdserverpb::AuthUserAddResponse added;
  add.set_name("root");
  add.set_password("rootpw");
  ASSERT_TRUE(call(&etcdserverpb::Auth::Stub::UserAdd, add, &added).ok());
  add.set_name("u");
  add.set_password("upw");
  ASSERT_TRUE(call(&etcdserverpb::Auth::Stub::UserAdd, add, &added).ok());
  etcdserverpb::AuthUserGrantRoleRequest grant;
  etcdserverpb::AuthUserGrantRoleResponse granted;
  grant.set_user("root");
  grant.set_role("root");
  ASSERT_TRUE(call(&etcdserverpb::Auth::Stub::UserGrantRole, grant, &granted).ok());
  etcdserverpb::AuthRoleAddRequest role;
  etcdserverpb::AuthRoleAddResponse role_added;
  role.set_name("r");
  ASSERT_TRUE(call(&etcdserverpb::Auth::Stub::RoleAdd, role, &role_added).ok());
  etcdserverpb::AuthRoleGrantPermissionRequest perm;
  etcdserverpb::AuthRoleGrantPermissionResponse permitted;
  perm.set_name("r");
  perm.mutable_perm()->set_key("a");
  perm.mutable_perm()->set_range_end("b");
  perm.mutable_perm()->set_permtype(authpb::Permission::READWRITE);
  ASSERT_TRUE(call(&etcdserverpb::Auth::Stub::RoleGrantPermission, perm, &permitted).ok());
  grant.set_user("u");
  grant.set_role("r");
  ASSERT_TRUE(call(&etcdserverpb::Auth::Stub::UserGrantRole, grant, &granted).ok());
  etcdserverpb::AuthEnableRequest enable;
  etcdserverpb::AuthEnableResponse enabled;
  ASSERT_TRUE(call(&etcdserverpb::Auth::Stub::AuthEnable, enable, &enabled).ok());

  etcdserverpb::AuthenticateRequest login;
  etcdserverpb::AuthenticateResponse token;
  login.set_name("u");
  login.set_password("wrong");
  grpc::Status s = call(&etcdserverpb::Auth::Stub::Authenticate, login, &token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "etcdserver: authentication failed, invalid user ID or password");
  login.set_password("upw");
  ASSERT_TRUE(call(&etcdserverpb::Auth::Stub::Authenticate, login, &token).ok());
  ASSERT_FALSE(token.token().empty());

  auto put = [&](const std::string& key, const std::string& with) {
    etcdserverpb::PutRequest r;
    r.set_key(key);
    r.set_value("v");
    etcdserverpb::PutResponse resp;
    grpc::ClientContext context;
    SetDeadline(&context);
    if (!with.empty()) context.AddMetadata("token", with);
    return kv_->Put(&context, r, &resp);
  };
  EXPECT_TRUE(put("a1", token.token()).ok());
  s = put("a1", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "etcdserver: user name is empty");
  s = put("b1", token.token());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "etcdserver: permission denied");
  s = put("a1", "bogus.1");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "etcdserver: invalid auth token");

  // A watch on a range the user may not read: created and canceled with etcd's reason.
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata("token", token.token());
    auto stream = watch_->Watch(&context);
    etcdserverpb::WatchRequest w;
    w.mutable_create_request()->set_key("b1");
    ASSERT_TRUE(stream->Write(w));
    etcdserverpb::WatchResponse r;
    ASSERT_TRUE(stream->Read(&r));
    EXPECT_TRUE(r.created());
    EXPECT_TRUE(r.canceled());
    EXPECT_EQ(r.cancel_reason(), "rpc error: code = PermissionDenied desc = etcdserver: permission denied");
    context.TryCancel();
  }

  // Maintenance's hash is root's.
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  etcdserverpb::HashKVRequest hash;
  etcdserverpb::HashKVResponse hashed;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata("token", token.token());
    s = maintenance->HashKV(&context, hash, &hashed);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  }
  login.set_name("root");
  login.set_password("rootpw");
  etcdserverpb::AuthenticateResponse root;
  ASSERT_TRUE(call(&etcdserverpb::Auth::Stub::Authenticate, login, &root).ok());
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata("token", root.token());
    EXPECT_TRUE(maintenance->HashKV(&context, hash, &hashed).ok());
  }
  etcdserverpb::AuthUserListRequest list;
  etcdserverpb::AuthUserListResponse users;
  ASSERT_TRUE(call(&etcdserverpb::Auth::Stub::UserList, list, &users, root.token()).ok());
  ASSERT_EQ(users.users_size(), 2);
  EXPECT_EQ(users.users(0), "root");
  EXPECT_EQ(call(&etcdserverpb::Auth::Stub::UserList, list, &users, token.token()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST(EtcdRequestTimeoutTest, IsFiveSecondsPlusTwoElectionTimeouts) {
  kv::NodeCoreConfig core;
  core.election_ticks = 10;
  core.tick_us = 100'000;
  EXPECT_EQ(EtcdRequestTimeout(core), absl::Seconds(7));
}


DETCD_GRPC_SERVICES_TEST_ON_BOTH_PATHS();

}  // namespace
}  // namespace detcd::net
