// EtcdServices: etcd 3.4's gRPC client API (KV, Watch, Lease, Maintenance, Cluster, Auth) served over one member's
// MemberRuntime, wire-compatible with stock etcdctl and clientv3. Adapters only: every KV and Lease request (and
// Alarm) goes to the member as a kvpb::ClientRequest and its reply goes back as it came, header included; watch
// streams are forwarded both ways. KV, Lease and Watch run on gRPC's asynchronous API on one completion queue and
// one thread of their own (CqServer): a call or stream in flight holds no thread, and whichever thread holds the
// member's core finishes a unary call itself. It must never hold KV, lease or Raft state of
// its own, and never block the member's core thread: watch responses the core hands over are only queued for gRPC
// to write.
#ifndef DETCD_NET_GRPC_SERVICES_H_
#define DETCD_NET_GRPC_SERVICES_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kv/node_core.h"
#include "net/auth_credentials.h"
#include "net/member_list.h"
#include "net/member_runtime.h"

namespace detcd::net {

class CqServer;

struct GrpcServicesOptions {
  std::string version = "3.4.23";        // what Maintenance.Status reports as the server's version
  std::string member_name;               // --name
  std::vector<std::string> peer_urls;    // --initial-advertise-peer-urls
  std::vector<std::string> client_urls;  // --advertise-client-urls
  // How long a unary request (and each keep-alive) may wait for the member before "etcdserver: request timed out";
  // a client's shorter deadline wins. etcd: 5 s + 2 election timeouts (EtcdRequestTimeout).
  absl::Duration request_timeout = absl::Seconds(7);
  // What the member does with clients' credentials (--auth-token, --bcrypt-cost). Null: simple tokens, cost 10.
  std::shared_ptr<const AuthCredentials> auth;
};

// etcd's request timeout for a member with this configuration: 5 s + 2 × election timeout.
absl::Duration EtcdRequestTimeout(const kv::NodeCoreConfig& core);

// absl::Status codes in kv/ equal gRPC's, and messages are etcd's: a status maps over unchanged.
grpc::Status ToGrpcStatus(const absl::Status& status);

class EtcdServices {
 public:
  // `runtime` must outlive this object and every call the server still runs.
  EtcdServices(MemberRuntime* runtime, GrpcServicesOptions options);
  ~EtcdServices();
  EtcdServices(const EtcdServices&) = delete;
  EtcdServices& operator=(const EtcdServices&) = delete;

  // Registers all six services; the builder's server must be shut down before this object is destroyed.
  void RegisterOn(grpc::ServerBuilder& builder);
  // Once the builder's server is started: takes calls (KV, Lease and Watch on this object's own completion queue
  // thread).
  void Serve();
  // After the server's Shutdown, before the server is destroyed: lets the completion queue deliver its last
  // completions and ends its thread; calls answered later are dropped. Idempotent; the destructor does it too.
  void Stop();

  // Ends every open stream (watch, keep-alive) with "etcdserver: server stopped" and refuses new ones, so that
  // grpc::Server::Shutdown does not wait on clients that never hang up. Call it before Server::Shutdown.
  // Idempotent.
  void StopStreams();

  struct Shared;  // what the services share (defined in grpc_services_shared.h)
  // For the client front end's own streams (GrpcFrontEnd), which StopStreams ends too.
  Shared* shared() const { return shared_.get(); }

 private:
  std::unique_ptr<Shared> shared_;
  std::unique_ptr<CqServer> cq_server_;
  std::unique_ptr<grpc::Service> kv_, watch_, lease_, maintenance_, cluster_, auth_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_SERVICES_H_
