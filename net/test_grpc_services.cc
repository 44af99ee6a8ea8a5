#include "net/test_grpc_services.h"

#include <chrono>
#include <utility>

#include "gtest/gtest.h"

namespace detcd::net {

TestGrpcServices::TestGrpcServices(MemberRuntime* runtime, GrpcServicesOptions options)
    : etcd_(runtime, std::move(options)), lock_election_(runtime, LockElectionOptions()) {}

std::unique_ptr<TestGrpcServices> TestGrpcServices::Start(MemberRuntime* runtime, GrpcServicesOptions options) {
  std::unique_ptr<TestGrpcServices> s(new TestGrpcServices(runtime, std::move(options)));
  grpc::ServerBuilder builder;
  s->etcd_.RegisterOn(builder);
  s->lock_election_.RegisterOn(builder);
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr) {
    ADD_FAILURE() << "the in-process gRPC server did not start";
    return nullptr;
  }
  s->etcd_.Serve();
  s->channel_ = s->server_->InProcessChannel(grpc::ChannelArguments());
  return s;
}

TestGrpcServices::~TestGrpcServices() { Stop(); }

void TestGrpcServices::Stop() {
  if (stopped_) return;
  stopped_ = true;
  etcd_.StopStreams();
  lock_election_.StopWaits();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  etcd_.Stop();  // the completion queue's last completions, while the server they belong to still exists
}

}  // namespace detcd::net
