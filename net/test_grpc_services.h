// TestGrpcServices: a member's gRPC services (EtcdServices, Lock and Election) on a gRPC server with no port, reached
// in process — what the JSON gateway's tests put behind it, as cmd/detcd does. Test-only.
#ifndef DETCD_NET_TEST_GRPC_SERVICES_H_
#define DETCD_NET_TEST_GRPC_SERVICES_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "net/grpc_services.h"
#include "net/lock_election.h"
#include "net/member_runtime.h"

namespace detcd::net {

class TestGrpcServices {
 public:
  // Null, with a test failure recorded, if the server does not start. `runtime` must outlive it.
  static std::unique_ptr<TestGrpcServices> Start(MemberRuntime* runtime, GrpcServicesOptions options);
  ~TestGrpcServices();  // Stop()

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // Ends the streams and waits, then shuts the server down. Idempotent.
  void Stop();

 private:
  TestGrpcServices(MemberRuntime* runtime, GrpcServicesOptions options);

  EtcdServices etcd_;
  LockElectionServices lock_election_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  bool stopped_ = false;
};

}  // namespace detcd::net

#endif  // DETCD_NET_TEST_GRPC_SERVICES_H_
