// LockElectionServices: etcd 3.4's v3lockpb.Lock and v3electionpb.Election gRPC services served over one member's
// MemberRuntime, with the key layout and behaviour etcd gets from etcdserver/api/v3lock and v3election on top of
// clientv3/concurrency. A lock holder or election candidate is the key `<name>/<lease id in hex>`, created bound to the
// caller's lease (a fresh 60 s lease if it gave none) only if absent, else reused; the holder (leader) is the key with
// the lowest create revision under `<name>/`; a waiter watches the deletion of the next-lower key until none is left.
// Every error reaches the client as etcd's embedded client hands it on: code UNKNOWN with etcd's message ("etcdserver:
// requested lease not found", "election: not leader", ...), except "etcdserver: server stopped" (UNAVAILABLE).
// Adapters only: it must never hold lock or election state of its own (the keyspace is the state), and never block
// the member's core thread (watch responses are only queued for the handler thread that waits on them).
#ifndef DETCD_NET_LOCK_ELECTION_H_
#define DETCD_NET_LOCK_ELECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/time/time.h"
#include "net/auth_credentials.h"
#include "net/member_runtime.h"

namespace detcd::net {

struct LockElectionOptions {
  // How long each request a handler sends to the member may wait (etcd's EtcdRequestTimeout); a client's shorter
  // deadline wins. A Lock or Campaign as a whole waits as long as its client lets it.
  absl::Duration request_timeout = absl::Seconds(7);
  // How often a waiting handler (Lock, Campaign, Observe) looks whether its client went away or the member stopped.
  absl::Duration poll_interval = absl::Milliseconds(50);
  // The member's way with clients' credentials: each request a handler sends goes as its client's (etcd's embedded
  // client runs on the client's context), so a lock or an election needs permission on its keys. Null: none sent.
  std::shared_ptr<const AuthCredentials> auth;
};

class LockElectionServices {
 public:
  // `runtime` must outlive this object and every call the server still runs.
  LockElectionServices(MemberRuntime* runtime, LockElectionOptions options);
  ~LockElectionServices();
  LockElectionServices(const LockElectionServices&) = delete;
  LockElectionServices& operator=(const LockElectionServices&) = delete;

  // Registers Lock and Election; the builder's server must be shut down before this object is destroyed.
  void RegisterOn(grpc::ServerBuilder& builder);

  // Ends every waiting Lock, Campaign and Observe with "etcdserver: server stopped" (within one poll interval), and
  // every later one once it would wait, so that grpc::Server::Shutdown does not wait on them. Call it before
  // Server::Shutdown. Idempotent.
  void StopWaits();

  struct Shared;  // what the two services share (defined in lock_election.cc)

 private:
  std::unique_ptr<Shared> shared_;
  std::unique_ptr<grpc::Service> lock_, election_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_LOCK_ELECTION_H_
