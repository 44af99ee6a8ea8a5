// TestClientPort: a member's client port as detcd serves it, for tests — a ClientListener on 127.0.0.1 (a free port)
// whose HTTP/2 connections go to a GrpcFrontEnd over the member, which passes what it does not serve to the given
// gRPC server in-process. Test-only.
#ifndef DETCD_NET_TEST_CLIENT_PORT_H_
#define DETCD_NET_TEST_CLIENT_PORT_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "net/client_listener.h"
#include "net/grpc_front_end.h"
#include "net/grpc_services.h"
#include "net/member_runtime.h"

namespace detcd::net {

class TestClientPort {
 public:
  // The member's options for a front end: its drains are reply batches.
  static void UseFrontEnd(MemberRuntimeOptions* options);
  // Null, with a test failure recorded, if it cannot start.
  static std::unique_ptr<TestClientPort> Start(MemberRuntime* runtime, EtcdServices* services, grpc::Server* server,
                                               size_t max_message_bytes = 4 << 20,
                                               const KeepaliveOptions& keepalive = KeepaliveOptions());
  int port() const { return listener_->port(); }
  GrpcFrontEnd& front_end() { return *front_end_; }
  // detcd's order before the gRPC server's Shutdown: no new connections, the services' streams ended, the front end's
  // connections closed (and the calls it passed on ended). Idempotent.
  void Stop();

 private:
  EtcdServices* services_ = nullptr;
  std::unique_ptr<GrpcFrontEnd> front_end_;
  std::unique_ptr<ClientListener> listener_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_TEST_CLIENT_PORT_H_
