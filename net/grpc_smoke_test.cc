// Smoke test for the gRPC groundwork: Debian's libgrpc++ links with our generated etcd services (//api:etcd_cc_grpc)
// and serves a call over loopback. One in-process server on 127.0.0.1 with an ephemeral port (works in the Bazel
// sandbox), a KV service whose Range answers a fixed pair, and the generated stubs as the client. Not a test of detcd's
// KV semantics: those live with the real service adapters.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "api/v3electionpb/v3election.grpc.pb.h"
#include "api/v3lockpb/v3lock.grpc.pb.h"

namespace {

constexpr int64_t kFixedRevision = 7;

// Answers every Range with one fixed key-value; every other KV method keeps the generated UNIMPLEMENTED default.
class FixedRangeKV final : public etcdserverpb::KV::Service {
 public:
  grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest* request,
                     etcdserverpb::RangeResponse* response) override {
    response->mutable_header()->set_revision(kFixedRevision);
    mvccpb::KeyValue* kv = response->add_kvs();
    kv->set_key(request->key());
    kv->set_value("fixed-value");
    kv->set_mod_revision(kFixedRevision);
    response->set_count(1);
    return grpc::Status::OK;
  }
};

class GrpcSmokeTest : public testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&kv_service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0) << "no ephemeral port bound on 127.0.0.1";
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials());
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  // Every call gets a deadline so a broken server fails the test instead of hanging it.
  static void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  FixedRangeKV kv_service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(GrpcSmokeTest, RangeReturnsTheFixedPair) {
  std::unique_ptr<etcdserverpb::KV::Stub> stub = etcdserverpb::KV::NewStub(channel_);
  etcdserverpb::RangeRequest request;
  request.set_key("foo");
  etcdserverpb::RangeResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);

  grpc::Status status = stub->Range(&context, request, &response);

  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(response.header().revision(), kFixedRevision);
  EXPECT_EQ(response.count(), 1);
  ASSERT_EQ(response.kvs_size(), 1);
  EXPECT_EQ(response.kvs(0).key(), "foo");
  EXPECT_EQ(response.kvs(0).value(), "fixed-value");
  EXPECT_EQ(response.kvs(0).mod_revision(), kFixedRevision);
}

TEST_F(GrpcSmokeTest, MethodNotOverriddenIsUnimplemented) {
  std::unique_ptr<etcdserverpb::KV::Stub> stub = etcdserverpb::KV::NewStub(channel_);
  etcdserverpb::PutRequest request;
  request.set_key("foo");
  request.set_value("bar");
  etcdserverpb::PutResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);

  grpc::Status status = stub->Put(&context, request, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
}

// A service the server does not register at all is also UNIMPLEMENTED, and the Lock stub compiles and links.
TEST_F(GrpcSmokeTest, UnregisteredLockServiceIsUnimplemented) {
  std::unique_ptr<v3lockpb::Lock::Stub> stub = v3lockpb::Lock::NewStub(channel_);
  v3lockpb::LockRequest request;
  request.set_name("lock-name");
  v3lockpb::LockResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);

  grpc::Status status = stub->Lock(&context, request, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
}

// The remaining generated services are at least usable types (compile and link).
TEST(GrpcGeneratedServices, AllEtcdServicesHaveTheirFullNames) {
  EXPECT_STREQ(etcdserverpb::KV::service_full_name(), "etcdserverpb.KV");
  EXPECT_STREQ(etcdserverpb::Watch::service_full_name(), "etcdserverpb.Watch");
  EXPECT_STREQ(etcdserverpb::Lease::service_full_name(), "etcdserverpb.Lease");
  EXPECT_STREQ(etcdserverpb::Cluster::service_full_name(), "etcdserverpb.Cluster");
  EXPECT_STREQ(etcdserverpb::Maintenance::service_full_name(), "etcdserverpb.Maintenance");
  EXPECT_STREQ(etcdserverpb::Auth::service_full_name(), "etcdserverpb.Auth");
  EXPECT_STREQ(v3lockpb::Lock::service_full_name(), "v3lockpb.Lock");
  EXPECT_STREQ(v3electionpb::Election::service_full_name(), "v3electionpb.Election");
}

}  // namespace
