// GrpcServicesTest: the fixture of the EtcdServices end-to-end tests (net/grpc_services_test.cc,
// net/grpc_services_admin_test.cc): a real single-member MemberRuntime (data directory under TEST_TMPDIR, real time,
// 10 ms ticks so it elects itself at once) behind a grpc::Server on 127.0.0.1, driven through etcd's generated stubs
// as etcdctl would; each test runs twice, against the gRPC server itself and through the client port's front end.
#ifndef DETCD_NET_GRPC_SERVICES_TEST_FIXTURE_H_
#define DETCD_NET_GRPC_SERVICES_TEST_FIXTURE_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "gtest/gtest.h"
#include "net/grpc_services.h"
#include "net/member_runtime.h"
#include "net/test_client_port.h"
#include "net/test_member.h"

namespace detcd::net {

inline constexpr char kVersion[] = "3.4.23";

// The key just past every key with this prefix (etcdctl --prefix).
inline std::string PrefixEnd(std::string prefix) {
  prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

// Each test runs twice: against the gRPC server itself (its own listening port), and as a client reaches the member
// in production — through the client port's ClientListener and GrpcFrontEnd (KV and unary Lease served there, the
// rest passed to the same gRPC server in-process), with the member's reply batches written together.
enum class Path { kGrpcServer, kFrontEnd };

class GrpcServicesTest : public testing::TestWithParam<Path> {
 protected:
  bool front_end() const { return GetParam() == Path::kFrontEnd; }

  void SetUp() override {
    runtime_ = StartLeadingSingleMember(CurrentTestName(), [this](MemberRuntimeOptions* o) {
      if (front_end()) TestClientPort::UseFrontEnd(o);
    });
    ASSERT_NE(runtime_, nullptr);

    GrpcServicesOptions so;
    so.version = kVersion;
    so.member_name = "infra1";
    so.peer_urls = {"http://127.0.0.1:2380"};
    so.client_urls = {"http://127.0.0.1:2379"};
    so.request_timeout = EtcdRequestTimeout(SingleMemberOptions("").core);
    services_ = std::make_unique<EtcdServices>(runtime_.get(), so);
    grpc::ServerBuilder builder;
    if (!front_end()) builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    services_->RegisterOn(builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    services_->Serve();
    if (front_end()) {
      client_port_ = TestClientPort::Start(runtime_.get(), services_.get(), server_.get());
      ASSERT_NE(client_port_, nullptr);
      port_ = client_port_->port();
    }
    ASSERT_GT(port_, 0);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    kv_ = etcdserverpb::KV::NewStub(channel_);
    watch_ = etcdserverpb::Watch::NewStub(channel_);
    lease_ = etcdserverpb::Lease::NewStub(channel_);
  }

  void TearDown() override {
    if (client_port_ != nullptr) client_port_->Stop();
    if (services_ != nullptr) services_->StopStreams();
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    services_.reset();
    if (runtime_ != nullptr) runtime_->Stop();
  }

  // Every call gets a deadline so a broken server fails the test instead of hanging it.
  static void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  etcdserverpb::LeaseGrantResponse Grant(int64_t ttl) {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl);
    etcdserverpb::LeaseGrantResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = lease_->LeaseGrant(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    return response;
  }

  etcdserverpb::PutResponse Put(const std::string& key, const std::string& value, int64_t lease = 0) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    request.set_lease(lease);
    etcdserverpb::PutResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = kv_->Put(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    return response;
  }

  grpc::Status Range(const etcdserverpb::RangeRequest& request, etcdserverpb::RangeResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    return kv_->Range(&context, request, response);
  }

  etcdserverpb::RangeResponse Get(const std::string& key, const std::string& range_end = "") {
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    request.set_range_end(range_end);
    etcdserverpb::RangeResponse response;
    grpc::Status s = Range(request, &response);
    EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    return response;
  }

  std::unique_ptr<MemberRuntime> runtime_;
  std::unique_ptr<EtcdServices> services_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<TestClientPort> client_port_;  // kFrontEnd only
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
};

// Both paths, named for the test list.
#define DETCD_GRPC_SERVICES_TEST_ON_BOTH_PATHS()                                                                 \
  INSTANTIATE_TEST_SUITE_P(BothPaths, GrpcServicesTest, testing::Values(Path::kGrpcServer, Path::kFrontEnd), \
                           [](const testing::TestParamInfo<Path>& p) {                                        \
                             return p.param == Path::kGrpcServer ? std::string("GrpcServer")                  \
                                                                 : std::string("FrontEnd");                   \
                           })

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_SERVICES_TEST_FIXTURE_H_
